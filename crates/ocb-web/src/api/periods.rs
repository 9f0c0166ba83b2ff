//! `/api/v1/periods…` (SPEC §12.10): list with figures, detail with notes and history, and the
//! admin actions create, close, reopen (reason required) and finalize, through the same store
//! methods as the period pages and the CLI.

use super::{body, ApiAdmin, ApiError, ApiViewer, Paging};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use ocb_core::period::{Period, PeriodAction};
use ocb_store::{PeriodInfo, PeriodTransition, Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

fn parse(p: &str) -> Result<Period, ApiError> {
    p.parse()
        .map_err(|_| ApiError::invalid(format!("Invalid period '{p}': use YYYY-MM")))
}

fn not_found(p: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("Billing period {p} not found"),
    )
}

/// A period with its figures (amounts as exact decimal strings).
fn summary(s: &Store, info: &PeriodInfo) -> Result<Value, ApiError> {
    let o = s.period_overview(&info.period)?;
    let mut v = serde_json::to_value(info)
        .map_err(|e| ApiError::from(crate::error::AppError::internal(e)))?;
    v["active_pis"] = json!(o.active_pis);
    v["projects"] = json!(o.projects);
    v["rejected_count"] = json!(o.rejected_count);
    v["rejected_total"] = json!(o.rejected_total.to_string());
    Ok(v)
}

fn detail_of(s: &Store, p: Period) -> Result<Value, ApiError> {
    let label = p.to_string();
    let info = s.get_period(p)?.ok_or_else(|| not_found(&label))?;
    let mut v = summary(s, &info)?;
    v["notes"] = json!(s.period_notes(p)?);
    v["history"] = json!(s.period_history(p)?);
    Ok(v)
}

/// `GET /api/v1/periods`: newest first.
pub async fn list(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let paging = Paging::of(&q)?;
    let status = q.get("status").cloned().filter(|s| !s.is_empty());
    let (items, total) = st
        .db(move |s| {
            let all: Vec<PeriodInfo> = s
                .list_periods()?
                .into_iter()
                .filter(|p| status.as_ref().is_none_or(|st| &p.status == st))
                .collect();
            let total = all.len() as u64;
            let page = all
                .iter()
                .skip(paging.offset() as usize)
                .take(paging.per_page as usize);
            let items = page.map(|p| summary(s, p)).collect::<Result<Vec<_>, _>>();
            Ok((items, total))
        })
        .await?;
    Ok(paging.wrap(items?, total))
}

/// `GET /api/v1/periods/{period}`.
pub async fn detail(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Path(period): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = parse(&period)?;
    Ok(Json(st.db(move |s| Ok(detail_of(s, p))).await??))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    period: Option<String>,
    notes: Option<String>,
}

/// `POST /api/v1/periods` `{period, notes?}` → 201 with the period; 409 when it exists.
pub async fn create(
    State(st): State<AppState>,
    ApiAdmin(u): ApiAdmin,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: CreateBody = body(&bytes)?;
    let label = b
        .period
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("period is required (YYYY-MM)"))?;
    let p = parse(&label)?;
    let notes = b.notes.filter(|n| !n.trim().is_empty());
    let actor = u.actor();
    let v = st
        .db(move |s| {
            if s.period_status(p)?.is_some() {
                return Ok(Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!("Period {label} already exists"),
                )));
            }
            s.open_period(&actor, p, notes.as_deref())?;
            Ok(detail_of(s, p))
        })
        .await??;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    notes: Option<String>,
    reason: Option<String>,
}

async fn transition(
    st: AppState,
    u: super::ApiUser,
    period: String,
    action: PeriodAction,
    note: Option<String>,
) -> Result<Json<Value>, ApiError> {
    let p = parse(&period)?;
    let actor = u.actor();
    st.db(move |s| {
        let (changed, message) = match s.transition_period(&actor, p, action, note.as_deref()) {
            Ok(PeriodTransition::Done(m)) => (true, m),
            Ok(PeriodTransition::AlreadyThere(m)) => (false, m),
            // Period state and guard failures (e.g. finalize without current statements).
            Err(StoreError::Refused(m)) => return Ok(Err(ApiError::new(StatusCode::CONFLICT, m))),
            Err(StoreError::NotFound(_)) => return Ok(Err(not_found(&period))),
            Err(e) => return Err(e.into()),
        };
        let mut v = match detail_of(s, p) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        v["changed"] = json!(changed);
        v["message"] = json!(message);
        Ok(Ok(Json(v)))
    })
    .await?
}

/// `POST /api/v1/periods/{period}/close` `{notes?}`.
pub async fn close(
    State(st): State<AppState>,
    ApiAdmin(u): ApiAdmin,
    Path(period): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: TransitionBody = body(&bytes)?;
    transition(st, u, period, PeriodAction::Close, b.notes).await
}

/// `POST /api/v1/periods/{period}/reopen` `{reason}` (required).
pub async fn reopen(
    State(st): State<AppState>,
    ApiAdmin(u): ApiAdmin,
    Path(period): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: TransitionBody = body(&bytes)?;
    let reason = b
        .reason
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("A reason is required to reopen a period."))?;
    transition(st, u, period, PeriodAction::Reopen, Some(reason)).await
}

/// `POST /api/v1/periods/{period}/finalize` `{notes?}`: irreversible; guard failures are 409.
pub async fn finalize(
    State(st): State<AppState>,
    ApiAdmin(u): ApiAdmin,
    Path(period): Path<String>,
    bytes: Bytes,
) -> Result<Json<Value>, ApiError> {
    let b: TransitionBody = body(&bytes)?;
    transition(st, u, period, PeriodAction::Finalize, b.notes).await
}
