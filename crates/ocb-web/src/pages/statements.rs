//! Statements (SPEC §8.11, §12.3): the per-period list with Draft / Final / Out of date badges
//! and sent state, the generate form, inline preview and download of the PDFs, and the send
//! actions. Generation and sending run as background jobs (see [`super::output_jobs`]); the page
//! then polls `/jobs/{id}` and reloads with the result as a flash message.

use super::output_jobs::{start, Work};
use crate::auth::{Reviewer, Viewer};
use crate::error::AppError;
use crate::security::{form_field, CurrentUser};
use crate::state::AppState;
use crate::view::{param, parse_period, see_other};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use ocb_statements::{GenerateOptions, SendOptions};
use serde_json::json;
use std::collections::HashMap;

/// The badge text of a statement kind (§8.3).
pub(crate) fn kind_label(kind: &str) -> &'static str {
    match kind {
        "draft" => "Draft",
        "final" => "Final",
        _ => "Out of date",
    }
}

/// `GET /statements`: the statements of a period (`?period=`, else the selected one), optionally
/// of one PI (`?pi=`); `?job=` shows the progress of a running generation or send.
pub async fn list(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    // Issue 17: said here and at `config check`, not on every command. Without the server's
    // paths: every role sees this page.
    let template_notice = st.config.statement_html_notice().map(|_| {
        "The templates directory holds statement.html (the Python OpenChargeback's template), which is not used: \
         statements use the default template with the statements.branding settings (logo, colour, address, footer and contact text)."
    });
    st.page(u, "statements.html", "statements", move |s, ctx| {
        let period = param(&q, "period").or_else(|| ctx.period.clone());
        let pi = param(&q, "pi").map(|p| p.to_lowercase());
        let job = q.get("job").and_then(|j| j.parse::<i64>().ok());
        let Some(period) = period else {
            return Ok(json!({"title": "Statements", "period": null, "rows": [], "job": job, "template_notice": template_notice}));
        };
        let p = parse_period(&period)?;
        let info = s
            .get_period(p)?
            .ok_or_else(|| AppError::not_found(format!("Billing period {period} not found")))?;
        let rows = s.list_statements(p, pi.as_deref())?;
        let sent = rows.iter().filter(|r| r.sent_at.is_some()).count();
        let total: ocb_core::Decimal = rows.iter().map(|r| r.total).sum();
        let view: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "pi_email": r.pi_email, "pi_name": r.pi_name, "project_id": r.project_id,
                    "fund_orgs": if r.fund_orgs.is_empty() { "N/A".to_string() } else { r.fund_orgs.join(", ") },
                    "total": ctx.money(r.total), "kind": r.kind, "kind_label": kind_label(&r.kind),
                    "generated_at": r.generated_at, "sent_at": r.sent_at,
                    "file_name": r.pdf_path.file_name().map(|n| n.to_string_lossy().into_owned()),
                })
            })
            .collect();
        Ok(json!({
            "title": "Statements", "period": period, "status": info.status, "pi": pi, "job": job,
            "rows": view, "count": rows.len(), "sent": sent, "unsent": rows.len() - sent,
            "total": ctx.money(total),
            "can_review": ctx.can_review(),
            "template_notice": template_notice,
        }))
    })
    .await
}

/// `GET /statements/generate`: the form, with the warnings of §12.3 for the chosen period.
pub async fn generate_form(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    st.page(u, "statements_generate.html", "statements", move |s, ctx| {
        let period = param(&q, "period").or_else(|| ctx.period.clone());
        let periods: Vec<_> = s
            .list_periods()?
            .into_iter()
            .map(|p| json!({"period": p.period, "status": p.status}))
            .collect();
        let mut warnings = Vec::new();
        let mut status = None;
        if let Some(period) = &period {
            let info = s
                .get_period(parse_period(period)?)?
                .ok_or_else(|| AppError::not_found(format!("Billing period {period} not found")))?;
            match info.status.as_str() {
                "open" => warnings.push(format!(
                    "Period {period} is open: the statements will be drafts (watermarked) until it is closed."
                )),
                "finalized" => warnings.push(format!(
                    "Period {period} is finalized: its statements cannot be regenerated."
                )),
                _ => {}
            }
            if info.flagged_count > 0 {
                warnings.push(format!(
                    "{} flagged charges ({}) are excluded until they are reviewed.",
                    info.flagged_count,
                    ctx.money(info.flagged_total)
                ));
            }
            status = Some(info.status);
        }
        Ok(json!({
            "title": "Generate statements", "period": period, "status": status,
            "periods": periods, "warnings": warnings,
        }))
    })
    .await
}

/// The statements page of a period, optionally showing a job's progress.
fn statements_url(period: &str, job: Option<i64>) -> String {
    match job {
        Some(j) => format!("/statements?period={period}&job={j}"),
        None => format!("/statements?period={period}"),
    }
}

/// Starts a job and lands on the statements page that follows it; a refusal (busy, unknown
/// period) comes back as a flash error on `back`.
async fn start_and_follow(st: AppState, u: CurrentUser, work: Work, back: String) -> Response {
    let period = work.period().to_string();
    match start(&st, &u, work).await {
        Ok(job) => see_other(&statements_url(&period, Some(job))),
        Err(e) => st.flash_redirect(&u, "error", e.message, &back).await,
    }
}

/// `POST /statements/generate` (`period`, `send=1`).
pub async fn generate(State(st): State<AppState>, Reviewer(u): Reviewer, body: Bytes) -> Response {
    let raw = form_field(&body, "period").unwrap_or_default();
    let period = match parse_period(raw.trim()) {
        Ok(p) => p,
        Err(e) => {
            return st
                .flash_redirect(&u, "error", e.message, "/statements/generate")
                .await
        }
    };
    let send = form_field(&body, "send").as_deref() == Some("1");
    let back = format!("/statements/generate?period={period}");
    start_and_follow(
        st,
        u,
        Work::Generate(GenerateOptions::new(period), send),
        back,
    )
    .await
}

/// Sends (`resend` = again, even if sent) the current statements of some PIs of a period.
fn send_work(period: ocb_core::period::Period, pis: Vec<String>, resend: bool) -> Work {
    Work::Send(SendOptions {
        period,
        pis,
        resend,
        dry_run: false,
    })
}

/// The statement of a path id, or a flash error on the statements page.
async fn statement_or_back(
    st: &AppState,
    u: &CurrentUser,
    id: i64,
) -> Result<ocb_store::StoredStatement, Response> {
    match st.db(move |s| Ok(s.statement(id)?)).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(st
            .flash_redirect(u, "error", not_found_text(id), "/statements")
            .await),
        Err(e) => Err(e.into_response()),
    }
}

/// `POST /statements/{id}/send`: the statement's PI, if not yet sent.
pub async fn send_one(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    Path(id): Path<i64>,
) -> Response {
    send_statement_pi(st, u, id, false).await
}

/// `POST /statements/{id}/resend`: the statement's PI again (their current statements).
pub async fn resend(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    Path(id): Path<i64>,
) -> Response {
    send_statement_pi(st, u, id, true).await
}

/// Sends to the PI of statement `id` as a background job, then back to the statements page.
async fn send_statement_pi(st: AppState, u: CurrentUser, id: i64, resend: bool) -> Response {
    let s = match statement_or_back(&st, &u, id).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(period) = s.period.parse() else {
        return AppError::internal("stored period").into_response();
    };
    let back = statements_url(&s.period, None);
    start_and_follow(st, u, send_work(period, vec![s.pi_email], resend), back).await
}

/// `POST /statements/send-unsent` (`period`): every PI with an unsent statement.
pub async fn send_unsent(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    body: Bytes,
) -> Response {
    let raw = form_field(&body, "period").unwrap_or_default();
    match parse_period(raw.trim()) {
        Ok(p) => {
            let back = statements_url(&p.to_string(), None);
            start_and_follow(st, u, send_work(p, vec![], false), back).await
        }
        Err(e) => {
            st.flash_redirect(&u, "error", e.message, "/statements")
                .await
        }
    }
}

/// `POST /pis/{email}/resend` (`period`, else the selected period): the PI's statements again.
pub async fn pi_resend(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    Path(email): Path<String>,
    body: Bytes,
) -> Response {
    let period = form_field(&body, "period")
        .filter(|p| !p.trim().is_empty())
        .or_else(|| u.session.selected_period.clone())
        .unwrap_or_default();
    let email = email.trim().to_lowercase();
    let back = format!("/statements?period={period}&pi={email}");
    match parse_period(period.trim()) {
        Ok(p) => start_and_follow(st, u, send_work(p, vec![email], true), back).await,
        Err(e) => {
            st.flash_redirect(&u, "error", e.message, "/statements")
                .await
        }
    }
}

/// Why a statement's PDF cannot be served.
pub(crate) enum PdfFailure {
    /// No such statement (or a regeneration removed it).
    NotFound(String),
    /// The row exists but its file is gone: the text, and the statement's period.
    Missing(String, String),
    /// Database failure.
    Internal(AppError),
}

fn not_found_text(id: i64) -> String {
    format!("Statement {id} not found (it may have been removed by a regeneration).")
}

/// A statement's PDF bytes and file name (shared by the pages and the JSON API).
pub(crate) async fn load_pdf(st: &AppState, id: i64) -> Result<(Vec<u8>, String), PdfFailure> {
    let s = match st.db(move |s| Ok(s.statement(id)?)).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(PdfFailure::NotFound(not_found_text(id))),
        Err(e) => return Err(PdfFailure::Internal(e)),
    };
    let path = s.pdf_path.clone();
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
    let Ok(Ok(bytes)) = read else {
        let text = format!(
            "The PDF of statement {id} ({}, {}) is missing on the server; generate the statements of {} again.",
            s.pi_email, s.project_id, s.period
        );
        return Err(PdfFailure::Missing(text, s.period));
    };
    let name = s
        .pdf_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("statement-{id}.pdf"));
    Ok((bytes, name))
}

/// Serves a statement's PDF inline (`preview`) or as an attachment. A missing file is a flash
/// error on the statements page, never a broken response (§12.3).
async fn pdf(st: AppState, u: CurrentUser, id: i64, inline: bool) -> Response {
    match load_pdf(&st, id).await {
        Ok((bytes, name)) => file_response(bytes, "application/pdf", &name, inline),
        Err(PdfFailure::NotFound(text)) => {
            st.flash_redirect(&u, "error", text, "/statements").await
        }
        Err(PdfFailure::Missing(text, period)) => {
            st.flash_redirect(&u, "error", text, &statements_url(&period, None))
                .await
        }
        Err(PdfFailure::Internal(e)) => e.into_response(),
    }
}

/// A file body with its type and `Content-Disposition` (the name is quoted; quotes and
/// non-ASCII characters are replaced so the header is always valid).
pub(crate) fn file_response(
    bytes: Vec<u8>,
    ctype: &'static str,
    name: &str,
    inline: bool,
) -> Response {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    let disposition = format!(
        "{}; filename=\"{safe}\"",
        if inline { "inline" } else { "attachment" }
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `GET /statements/{id}/preview`.
pub async fn preview(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(id): Path<i64>,
) -> Response {
    pdf(st, u, id, true).await
}

/// `GET /statements/{id}/download`.
pub async fn download(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(id): Path<i64>,
) -> Response {
    pdf(st, u, id, false).await
}
