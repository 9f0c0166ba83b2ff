//! `GET /`: the selected period's status with its next steps, the cards, recent imports, top PIs
//! and recent periods (SPEC §12.3).

use crate::auth::Viewer;
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
        let mut v = build(s, ctx)?;
        if let Some(period) = ctx.period.as_deref() {
            v["charts"] =
                chart_data::dashboard(s, &st2.charts, period, months, &st2.config.currency)?;
        }
        Ok(v)
    })
    .await
}

fn build(s: &mut Store, ctx: &PageCtx) -> Result<Value, AppError> {
    let recent_periods: Vec<Value> = s
        .list_periods()?
        .into_iter()
        .take(5)
        .map(|p| json!({"period": p.period, "status": p.status, "billable": ctx.money(p.billable_total), "charges": p.billable_count, "flagged": p.flagged_count}))
        .collect();
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
    let info = s
        .get_period(crate::view::parse_period(&period)?)?
        .ok_or_else(|| AppError::not_found(format!("Billing period {period} not found")))?;
    let overview = s.period_overview(&period)?;
    let (pis, _) = s.pi_list(&period, 0, 5)?;
    let top: Vec<Value> = pis
        .into_iter()
        .map(|p| json!({"email": p.email, "name": p.name, "billable": ctx.money(p.billable), "charges": p.charges}))
        .collect();
    Ok(json!({
        "title": "Dashboard",
        "period": period,
        "period_status": info.status,
        "cards": {
            "billable": ctx.money(info.billable_total), "billable_count": info.billable_count,
            "active_pis": overview.active_pis, "projects": overview.projects,
            "pending_count": info.flagged_count, "pending": ctx.money(info.flagged_total),
            "rejected_count": overview.rejected_count, "rejected": ctx.money(overview.rejected_total),
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
