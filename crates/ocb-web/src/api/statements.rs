//! `/api/v1/statements…` (SPEC §12.10, §8.11): a period's statements with their state (draft,
//! final, out of date) and sent state, one statement's PDF, and generation and sending as
//! background jobs (`202 {"job_id"}`) — the same library calls, job bookkeeping and per-(period,
//! kind) exclusion as the statements pages (see `pages::output_jobs`).

use super::{body, ApiError, ApiReviewer, ApiViewer, Paging};
use crate::pages::output_jobs::{start_as, Work};
use crate::pages::statements::{file_response, kind_label, load_pdf, PdfFailure};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use ocb_core::period::Period;
use ocb_statements::{GenerateOptions, SendOptions};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

fn parse_period(p: &str) -> Result<Period, ApiError> {
    p.trim()
        .parse()
        .map_err(|_| ApiError::invalid(format!("Invalid period '{p}': use YYYY-MM")))
}

fn required_period(p: Option<&String>) -> Result<Period, ApiError> {
    match p.map(|p| p.trim()).filter(|p| !p.is_empty()) {
        Some(p) => parse_period(p),
        None => Err(ApiError::invalid("period is required (YYYY-MM)")),
    }
}

/// `GET /api/v1/statements?period=&pi=`: the period's statements, by PI and project, with the
/// period's counts (`count`, `sent`, `unsent`) and exact `total` in the envelope.
pub async fn list(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let paging = Paging::of(&q)?;
    let p = required_period(q.get("period"))?;
    let pi = q
        .get("pi")
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty());
    let (info, rows) = st
        .db(move |s| Ok((s.get_period(p)?, s.list_statements(p, pi.as_deref())?)))
        .await?;
    let info = info.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("Billing period {p} not found"),
        )
    })?;
    let sent = rows.iter().filter(|r| r.sent_at.is_some()).count();
    let total: ocb_core::Decimal = rows.iter().map(|r| r.total).sum();
    let items: Vec<Value> = rows
        .iter()
        .skip(paging.offset() as usize)
        .take(paging.per_page as usize)
        .map(|r| {
            json!({
                "id": r.id, "period": r.period, "pi_email": r.pi_email, "pi_name": r.pi_name,
                "project_id": r.project_id, "fund_orgs": r.fund_orgs,
                "kind": r.kind, "state": kind_label(&r.kind),
                "total": r.total.to_string(), "total_list": r.total_list.to_string(),
                "total_discount": r.total_discount.to_string(), "total_exact": r.total_exact.to_string(),
                "charge_count": r.charge_count, "generated_at": r.generated_at,
                "sent": r.sent_at.is_some(), "sent_at": r.sent_at,
                "file_name": r.pdf_path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "pdf_url": format!("/api/v1/statements/{}/pdf", r.id),
            })
        })
        .collect();
    let Json(mut v) = paging.wrap(items, rows.len() as u64);
    v["period"] = json!(info.period);
    v["period_status"] = json!(info.status);
    v["statements"] = json!(info.statements);
    v["count"] = json!(rows.len());
    v["sent"] = json!(sent);
    v["unsent"] = json!(rows.len() - sent);
    v["total_amount"] = json!(total.to_string());
    Ok(Json(v))
}

/// `GET /api/v1/statements/{id}/pdf`: the PDF as an attachment named like the file on disk.
pub async fn pdf(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    match load_pdf(&st, id).await {
        Ok((bytes, name)) => Ok(file_response(bytes, "application/pdf", &name, false)),
        Err(PdfFailure::NotFound(text) | PdfFailure::Missing(text, _)) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, text))
        }
        Err(PdfFailure::Internal(e)) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateBody {
    period: Option<String>,
    #[serde(default)]
    send: bool,
    #[serde(default)]
    dry_run: bool,
}

fn accepted(job: i64) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({"job_id": job, "job_url": format!("/api/v1/jobs/{job}")})),
    )
        .into_response()
}

/// `POST /api/v1/statements/generate` `{period, send?, dry_run?}` → `202 {"job_id"}`. A dry run
/// renders into a temporary directory, writes nothing and sends nothing. A run already going
/// for the period is `409`.
pub async fn generate(
    State(st): State<AppState>,
    ApiReviewer(u): ApiReviewer,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: GenerateBody = body(&bytes)?;
    let mut opts = GenerateOptions::new(required_period(b.period.as_ref())?);
    opts.dry_run = b.dry_run;
    let job = start_as(
        &st,
        u.actor(),
        &u.token.username,
        None,
        Work::Generate(opts, b.send),
    )
    .await?;
    Ok(accepted(job))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    period: Option<String>,
    pi: Option<String>,
    statement_id: Option<i64>,
    #[serde(default)]
    resend: bool,
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/statements/send` `{period, pi?, resend?, dry_run?}` or `{statement_id,
/// resend?}` → `202 {"job_id"}`. Without `pi`: every PI with an unsent statement. With `pi` or
/// `statement_id` (that statement's PI): that PI, if unsent, or again with `resend`.
pub async fn send(
    State(st): State<AppState>,
    ApiReviewer(u): ApiReviewer,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: SendBody = body(&bytes)?;
    let (period, pis) = match b.statement_id {
        Some(id) => {
            if b.pi.is_some() {
                return Err(ApiError::invalid(
                    "Give either pi or statement_id, not both.",
                ));
            }
            let s = st.db(move |s| Ok(s.statement(id)?)).await?.ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!(
                        "Statement {id} not found (it may have been removed by a regeneration)."
                    ),
                )
            })?;
            let p = parse_period(&s.period)?;
            if let Some(asked) = b.period.as_ref().filter(|p| !p.trim().is_empty()) {
                if parse_period(asked)? != p {
                    return Err(ApiError::invalid(format!(
                        "Statement {id} belongs to period {}, not {asked}.",
                        s.period
                    )));
                }
            }
            (p, vec![s.pi_email])
        }
        None => {
            let p = required_period(b.period.as_ref())?;
            let pis =
                b.pi.map(|p| p.trim().to_lowercase())
                    .filter(|p| !p.is_empty())
                    .into_iter()
                    .collect();
            (p, pis)
        }
    };
    let opts = SendOptions {
        period,
        pis,
        resend: b.resend,
        dry_run: b.dry_run,
    };
    let job = start_as(&st, u.actor(), &u.token.username, None, Work::Send(opts)).await?;
    Ok(accepted(job))
}
