//! `GET /`: the selected period's status with its next steps, the cards, recent imports, top PIs
//! and recent periods (SPEC §12.3).

use crate::auth::Viewer;
use crate::browse_cache::BrowseCache;
use crate::chart_data::{self, RANGES};
use crate::error::AppError;
use crate::state::AppState;
use crate::view::PageCtx;
use axum::extract::{Query, State};
use axum::response::Response;
use ocb_store::{ImportFilter, Store};
use serde_json::{json, Value};
use std::collections::HashMap;

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
        let mut v = build(s, &st2.charts.browse, ctx)?;
        if let Some(period) = ctx.period.as_deref() {
            v["charts"] =
                chart_data::dashboard(s, &st2.charts, period, months, &st2.config.currency)?;
        }
        Ok(v)
    })
    .await
}

/// The figures come from the caches of [`crate::browse_cache`] (the selected period's index, the
/// other periods' sums), never from a scan of every charge per view.
fn build(s: &mut Store, cache: &BrowseCache, ctx: &PageCtx) -> Result<Value, AppError> {
    let mut recent_periods = Vec::new();
    let heads = s.period_heads()?;
    for p in heads.iter().take(5) {
        let (billable, count, flagged, _) = cache.figures(s, &p.period)?.unwrap_or_default();
        recent_periods.push(json!({"period": p.period, "status": p.status, "billable": ctx.money(billable), "charges": count, "flagged": flagged}));
    }
    let (imports, _) = s.import_log(&ImportFilter::default(), 0, 5)?;
    let imports: Vec<Value> = imports
        .iter()
        .map(|i| super::imports::row(ctx, i))
        .collect();
    let Some(period) = ctx.period.clone() else {
        return Ok(
            json!({"title": "Dashboard", "period": null, "recent_periods": recent_periods, "imports": imports, "can_import": ctx.can_review()}),
        );
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
    let top: Vec<Value> = fig
        .pis
        .iter()
        .take(5)
        .map(|p| json!({"email": p.email, "name": p.name, "billable": ctx.money(p.billable), "charges": p.charges}))
        .collect();
    Ok(json!({
        "title": "Dashboard",
        "period": period,
        "period_status": info.status,
        "cards": {
            "billable": ctx.money(fig.billable_total), "billable_count": fig.billable_count,
            "active_pis": fig.active_pis, "projects": fig.projects,
            "pending_count": fig.flagged_count, "pending": ctx.money(fig.flagged_total),
            "rejected_count": fig.rejected_count, "rejected": ctx.money(fig.rejected_total),
        },
        "statements": info.statements,
        "top_pis": top,
        "imports": imports,
        "recent_periods": recent_periods,
        "can_import": ctx.can_review() && info.status == "open",
        "can_review": ctx.can_review(),
        "is_admin": ctx.is_admin(),
    }))
}
