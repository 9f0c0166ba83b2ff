//! Projects and PIs of the selected period (SPEC §12.3), with their detail pages.

use crate::auth::Viewer;
use crate::error::AppError;
use crate::state::AppState;
use crate::view::{page_of, pager, PageCtx};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use ocb_store::{BrowseFilter, ChargeFilter, SortKey, SpendScope, Store};
use serde_json::{json, Value};
use std::collections::HashMap;

fn period_or_empty(ctx: &PageCtx) -> Option<String> {
    ctx.period.clone()
}

pub async fn projects(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    st.page(u, "projects.html", "projects", move |s, ctx| {
        let page = page_of(&q);
        let (rows, total) = match period_or_empty(ctx) {
            Some(p) => s.project_list(&p, (page - 1) * 25, 25)?,
            None => (vec![], 0),
        };
        let rows: Vec<Value> = rows
            .iter()
            .map(|r| json!({"project_id": r.project_id, "pis": r.pi_emails, "fund_orgs": r.fund_orgs, "charges": r.charges, "billable": ctx.money(r.billable)}))
            .collect();
        Ok(json!({"title": "Projects", "period": ctx.period, "rows": rows, "pager": pager(page, 25, total)}))
    })
    .await
}

fn charges_of(s: &Store, ctx: &PageCtx, base: ChargeFilter) -> Result<Value, AppError> {
    let f = BrowseFilter {
        base,
        ..Default::default()
    };
    let page = s.browse_charges(&f, SortKey::Billed, true, 0, 100)?;
    Ok(json!({
        "rows": page.rows.iter().map(|r| super::charges::ChargeRowView::new(ctx, r)).collect::<Vec<_>>(),
        "count": page.total_count, "sum": ctx.money(page.total_billed),
    }))
}

pub async fn project(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(project_id): Path<String>,
) -> Result<Response, AppError> {
    let st2 = st.clone();
    st.page(u, "project_detail.html", "projects", move |s, ctx| {
        let period = period_or_empty(ctx).unwrap_or_default();
        let totals = |by_service| -> Result<Vec<Value>, AppError> {
            Ok(s.project_breakdown(&period, &project_id, by_service)?
                .into_iter()
                .map(|(k, n, t)| json!({"key": k, "charges": n, "total": ctx.money(t)}))
                .collect())
        };
        let (by_fund, by_service) = (totals(false)?, totals(true)?);
        let charges = charges_of(s, ctx, ChargeFilter { period: Some(period.clone()), project_id: Some(project_id.clone()), ..Default::default() })?;
        let trend = trend_of(&st2, s, &period, SpendScope::Project(project_id.clone()))?;
        Ok(json!({"title": format!("Project {project_id}"), "project_id": project_id, "period": period,
                  "by_fund": by_fund, "by_service": by_service, "charges": charges, "trend": trend}))
    })
    .await
}

pub async fn pis(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    st.page(u, "pis.html", "pis", move |s, ctx| {
        let page = page_of(&q);
        let (rows, total) = match period_or_empty(ctx) {
            Some(p) => s.pi_list(&p, (page - 1) * 50, 50)?,
            None => (vec![], 0),
        };
        let rows: Vec<Value> = rows
            .iter()
            .map(|r| json!({"email": r.email, "name": r.name, "projects": r.projects, "charges": r.charges, "billable": ctx.money(r.billable), "flagged": r.flagged}))
            .collect();
        Ok(json!({"title": "PIs", "period": ctx.period, "rows": rows, "pager": pager(page, 50, total)}))
    })
    .await
}

pub async fn pi(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(email): Path<String>,
) -> Result<Response, AppError> {
    let st2 = st.clone();
    st.page(u, "pi_detail.html", "pis", move |s, ctx| {
        let period = period_or_empty(ctx).unwrap_or_default();
        let projects: Vec<Value> = s
            .pi_summary(&email, &period)?
            .into_iter()
            .map(|p| json!({"project_id": p.project_id, "fund_org": p.fund_org, "charges": p.charges, "billable": ctx.money(p.billable), "flagged": p.flagged}))
            .collect();
        let charges = charges_of(s, ctx, ChargeFilter { period: Some(period.clone()), pi_email: Some(email.clone()), ..Default::default() })?;
        let trend = trend_of(&st2, s, &period, SpendScope::Pi(email.clone()))?;
        Ok(json!({"title": format!("PI {email}"), "email": email, "period": period, "projects": projects, "charges": charges, "trend": trend}))
    })
    .await
}

/// The monthly trend chart (SPEC §12.7) of the 12 periods up to the selected one; none without
/// a period.
fn trend_of(st: &AppState, s: &Store, period: &str, scope: SpendScope) -> Result<Value, AppError> {
    if period.is_empty() {
        return Ok(Value::Null);
    }
    crate::chart_data::trend(s, &st.charts, period, scope, &st.config.currency)
}
