//! `GET /`: the selected period's status with its next steps, the cards, recent imports, top PIs
//! and recent periods (SPEC §12.3).

use crate::auth::Viewer;
use crate::browse_cache::BrowseCache;
use crate::chart_data::{self, DashboardCharts, RANGES};
use crate::error::AppError;
use crate::state::AppState;
use crate::view::PageCtx;
use axum::extract::{Query, State};
use axum::response::Response;
use ocb_store::{ImportFilter, Store};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// A row of "Recent periods".
#[derive(Debug, Serialize)]
struct RecentPeriod {
    period: String,
    status: String,
    billable: String,
    charges: i64,
    flagged: i64,
}

/// A row of "Top PIs by spend".
#[derive(Debug, Serialize)]
struct TopPi {
    /// Empty when the charges have no PI.
    email: String,
    name: Option<String>,
    billable: String,
    charges: i64,
}

/// The figure cards of the selected period.
#[derive(Debug, Serialize)]
struct Cards {
    billable: String,
    billable_count: i64,
    active_pis: i64,
    projects: i64,
    pending_count: i64,
    pending: String,
    rejected_count: i64,
    rejected: String,
    /// The selected period's bar in the spend chart: billable plus pending review. Shown under
    /// the Billable card so the two figures never disagree without saying why (issue 16, item
    /// 14). `None` when nothing is pending (then both are the same).
    charted: Option<String>,
}

/// `/`.
#[derive(Debug, Serialize)]
struct DashboardPage {
    title: &'static str,
    period: Option<String>,
    period_status: Option<String>,
    statements: Option<String>,
    cards: Option<Cards>,
    top_pis: Vec<TopPi>,
    imports: Vec<Value>,
    recent_periods: Vec<RecentPeriod>,
    charts: Option<DashboardCharts>,
    can_import: bool,
    can_review: bool,
    is_admin: bool,
}

/// `GET /?months=N`: N is the chart range (6, 12 or 24 periods; default 12).
pub async fn show(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let months = q
        .get("months")
        .and_then(|m| m.parse().ok())
        .filter(|m| RANGES.contains(m))
        .unwrap_or(12);
    let st2 = st.clone();
    st.page(u, "dashboard.html", "dashboard", move |s, ctx| {
        let charts = match ctx.period.as_deref() {
            Some(period) => Some(chart_data::dashboard(
                s,
                &st2.charts,
                period,
                months,
                &st2.config.currency,
            )?),
            None => None,
        };
        build(s, &st2.charts.browse, ctx, charts)
    })
    .await
}

/// The figures come from the caches of [`crate::browse_cache`] (the selected period's index, the
/// other periods' sums), never from a scan of every charge per view.
fn build(
    s: &mut Store,
    cache: &BrowseCache,
    ctx: &PageCtx,
    charts: Option<DashboardCharts>,
) -> Result<DashboardPage, AppError> {
    let mut recent_periods = Vec::new();
    let heads = s.period_heads()?;
    for p in heads.iter().take(5) {
        let (billable, count, flagged, _) = cache.figures(s, &p.period)?.unwrap_or_default();
        recent_periods.push(RecentPeriod {
            period: p.period.clone(),
            status: p.status.clone(),
            billable: ctx.money(billable),
            charges: count,
            flagged,
        });
    }
    let (imports, _) = s.import_log(&ImportFilter::default(), 0, 5)?;
    let imports: Vec<Value> = imports
        .iter()
        .map(|i| super::imports::row(ctx, i))
        .collect();
    let mut page = DashboardPage {
        title: "Dashboard",
        period: None,
        period_status: None,
        statements: None,
        cards: None,
        top_pis: vec![],
        imports,
        recent_periods,
        charts: None,
        can_import: ctx.can_review(),
        can_review: ctx.can_review(),
        is_admin: ctx.is_admin(),
    };
    let Some(period) = ctx.period.clone() else {
        return Ok(page);
    };
    crate::view::parse_period(&period)?;
    let info = heads
        .iter()
        .find(|p| p.period == period)
        .ok_or_else(|| AppError::not_found(format!("Billing period {period} not found")))?;
    let idx = cache
        .index(s, &period)?
        .ok_or_else(|| AppError::not_found(format!("Billing period {period} not found")))?;
    let fig = idx.figures()?;
    // The bar of this period is billable plus pending review (SPEC §12.7); both figures are
    // exact, so the sentence under the card adds up to the cent.
    let charted = charts
        .as_ref()
        .and_then(|c| c.last_charted)
        .unwrap_or(fig.billable_total + fig.flagged_total);
    page.top_pis = fig
        .pis
        .iter()
        .take(5)
        .map(|p| TopPi {
            email: p.email.clone(),
            name: p.name.clone(),
            billable: ctx.money(p.billable),
            charges: p.charges,
        })
        .collect();
    page.cards = Some(Cards {
        billable: ctx.money(fig.billable_total),
        billable_count: fig.billable_count,
        active_pis: fig.active_pis,
        projects: fig.projects,
        pending_count: fig.flagged_count,
        pending: ctx.money(fig.flagged_total),
        rejected_count: fig.rejected_count,
        rejected: ctx.money(fig.rejected_total),
        charted: (fig.flagged_count > 0).then(|| ctx.money(charted)),
    });
    page.can_import = ctx.can_review() && info.status == "open";
    page.period_status = Some(info.status.clone());
    page.statements = Some(info.statements.clone());
    page.period = Some(period);
    page.charts = charts;
    Ok(page)
}
