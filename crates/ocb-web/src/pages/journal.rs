//! Journal export (SPEC §10, §12.3): the export form with every format described and the
//! period's figures, the export itself (the same `ocb_journal::export_journal` call as the CLI,
//! with the web file name; the file comes back as a download and is also stored and logged),
//! and the export log (§10.11) with downloads of the stored files.

use super::statements::file_response;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::security::form_field;
use crate::state::AppState;
use crate::view::{page_of, pager, param, parse_period, query_string};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use ocb_journal::{ExportRequest, Format, JournalError, OutputTarget};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What each format is for, shown beside its choice.
fn describe(f: Format) -> &'static str {
    match f {
        Format::Default => "One row per PI, project, fund/org and service: the statements' service rows (upstream CLI format).",
        Format::Standard => "One row per charge with its rounded billed and list cost, source, dates and references.",
        Format::Summary => "One row per PI, project and fund/org with the subtotal and charge count.",
        Format::Gl => "Balanced general-ledger entries: a debit per charged fund/org, source and account, and a credit offset per source.",
        Format::GlUpstream => "The Python web UI's GL columns (period, account, description, debit, credit): a debit per charged fund/org and a credit per credit fund/org (CLOUD-CLEARING when none is configured).",
        Format::Template => "The GL entries rendered through the configured journal template (journal.template).",
    }
}

/// `GET /journal`.
pub async fn form(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let template = st.config.journal.template.clone();
    st.page(u, "journal.html", "journal", move |s, ctx| {
        let period = param(&q, "period").or_else(|| ctx.period.clone());
        let periods: Vec<_> = s
            .list_periods()?
            .into_iter()
            .map(|p| json!({"period": p.period, "status": p.status}))
            .collect();
        let formats: Vec<_> = Format::ALL
            .iter()
            .map(|f| json!({"name": f.as_str(), "description": describe(*f)}))
            .collect();
        let mut figures = None;
        let mut recent = Vec::new();
        if let Some(p) = &period {
            if let Some(info) = s.get_period(parse_period(p)?)? {
                figures = Some(json!({
                    "status": info.status, "billable": ctx.money(info.billable_total),
                    "billable_count": info.billable_count, "flagged_count": info.flagged_count,
                    "flagged": ctx.money(info.flagged_total), "statements": info.statements,
                }));
                recent = s.journal_exports(Some(p), None, 0, 5)?.0;
            }
        }
        Ok(json!({
            "title": "Journal export", "period": period, "periods": periods, "formats": formats,
            "figures": figures, "template": template,
            "recent": recent.iter().map(|r| log_row(ctx, r)).collect::<Vec<_>>(),
        }))
    })
    .await
}

/// The user-facing text of a failed export (configuration and template errors are meant to be
/// read by the operator; database and file errors go to the log).
pub(crate) fn failure_text(e: &JournalError) -> String {
    match e {
        JournalError::Store(
            s @ (ocb_store::StoreError::Busy
            | ocb_store::StoreError::NotFound(_)
            | ocb_store::StoreError::AmountOutOfRange { .. }),
        ) => s.to_string(),
        JournalError::Store(_) | JournalError::Io { .. } => {
            tracing::error!(event = "export.failed", error = %e, "journal export failed");
            "The export failed on the server; the error was logged.".into()
        }
        other => other.to_string(),
    }
}

/// The content type of a journal file by its extension.
pub(crate) fn content_type(name: &str) -> &'static str {
    match name
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => "text/csv; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xml") => "application/xml",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// `POST /journal/export` (`period`, `format`, `include_flagged=1`): the file as a download;
/// a refusal is a flash error on the form. Warnings (open period, empty accounts) are queued as
/// flash messages for the next page, since the browser stays on the form.
pub async fn export(State(st): State<AppState>, Viewer(u): Viewer, body: Bytes) -> Response {
    let period = form_field(&body, "period").unwrap_or_default();
    let back = format!("/journal?period={}", period.trim());
    let format = form_field(&body, "format").unwrap_or_else(|| "standard".into());
    let include_flagged = form_field(&body, "include_flagged").as_deref() == Some("1");
    let (period, format) = match (parse_period(period.trim()), format.parse::<Format>()) {
        (Ok(p), Ok(f)) => (p, f),
        (Err(e), _) => return st.flash_redirect(&u, "error", e.message, &back).await,
        (_, Err(e)) => return st.flash_redirect(&u, "error", e, &back).await,
    };
    let req = ExportRequest {
        period,
        format,
        include_flagged,
        output: OutputTarget::Named,
        actor: u.actor(),
    };
    let hash = u.session.id_hash.clone();
    match run_export(&st, req, Some(hash)).await {
        Ok(Ok(o)) => export_response(o),
        Ok(Err(e)) => {
            st.flash_redirect(&u, "error", failure_text(&e), &back)
                .await
        }
        Err(e) => st.flash_redirect(&u, "error", e.message, &back).await,
    }
}

/// Runs one export (the page and the JSON API): the file is written, stored and logged by the
/// library. With a browser session the warnings (open period, empty accounts) are queued for
/// it as flash messages.
pub(crate) async fn run_export(
    st: &AppState,
    req: ExportRequest,
    flash_session: Option<String>,
) -> Result<Result<ocb_journal::ExportOutcome, JournalError>, AppError> {
    let st2 = st.clone();
    st.db(move |s| {
        let out = ocb_journal::export_journal(s, &st2.config, &req, chrono::Utc::now());
        if let (Ok(o), Some(hash)) = (&out, &flash_session) {
            for w in &o.record.warnings {
                s.push_flash(
                    hash,
                    "warning",
                    &format!("Journal {}: {w}", o.record.file_name),
                )?;
            }
        }
        Ok(out)
    })
    .await
}

/// The exported file as a download, with its export-log id in `X-Export-Id`.
pub(crate) fn export_response(o: ocb_journal::ExportOutcome) -> Response {
    let name = o.record.file_name.clone();
    let mut resp = file_response(o.content.into_bytes(), content_type(&name), &name, false);
    if let Ok(v) = HeaderValue::from_str(&o.record.log_id.to_string()) {
        resp.headers_mut().insert("x-export-id", v);
    }
    resp
}

fn log_row(ctx: &crate::view::PageCtx, r: &ocb_store::StoredJournalExport) -> serde_json::Value {
    let money = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| v.parse::<ocb_core::exact::ExactSum>().ok())
            .map(|d| ctx.money(d))
    };
    json!({
        "id": r.id, "exported_at": r.exported_at, "period": r.period, "period_status": r.period_status,
        "format": r.format, "template": r.template_name, "include_flagged": r.include_flagged,
        "rows": r.row_count, "charges": r.charge_count, "total": money(&Some(r.total.clone())),
        "debit": money(&r.debit_total), "credit": money(&r.credit_total),
        "actor": r.actor, "channel": r.channel, "file_name": r.file_name,
        "stored": !r.stored_path.is_empty(), "sha256": r.sha256,
    })
}

const PER_PAGE: u64 = 25;

/// `GET /journal/logs` (`period`, `format`, `page`).
pub async fn logs(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    st.page(u, "journal_logs.html", "journal_logs", move |s, ctx| {
        let period = param(&q, "period");
        let format = param(&q, "format").filter(|f| f.parse::<Format>().is_ok());
        let page = page_of(&q);
        let (rows, total) = s.journal_exports(
            period.as_deref(),
            format.as_deref(),
            (page - 1) * PER_PAGE,
            PER_PAGE,
        )?;
        Ok(json!({
            "title": "Export log",
            "f": {"period": period, "format": format},
            "formats": Format::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "rows": rows.iter().map(|r| log_row(ctx, r)).collect::<Vec<_>>(),
            "pager": pager(page, PER_PAGE, total),
            "query": query_string(&[("period", period.as_deref()), ("format", format.as_deref())]),
        }))
    })
    .await
}

/// Why a stored journal file is not served.
pub(crate) enum StoredFailure {
    /// No such export, or one without a stored file.
    NotFound(String),
    /// The file was changed after the export.
    Changed(String),
    /// The file is gone.
    Gone(String),
    /// Database failure.
    Internal(AppError),
}

/// The stored file of export `id` and its name, served only while its content still has the
/// SHA-256 recorded at export time (so the log never hands out a file that was replaced).
pub(crate) async fn stored_file(
    st: &AppState,
    id: i64,
) -> Result<(Vec<u8>, String), StoredFailure> {
    let row = match st.db(move |s| Ok(s.journal_export(id)?)).await {
        Ok(Some(r)) if !r.stored_path.is_empty() => r,
        Ok(Some(_)) => {
            return Err(StoredFailure::NotFound(format!(
                "Export {id} has no stored file."
            )))
        }
        Ok(None) => return Err(StoredFailure::NotFound(format!("Export {id} not found."))),
        Err(e) => return Err(StoredFailure::Internal(e)),
    };
    let path = std::path::PathBuf::from(&row.stored_path);
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
    match read {
        Ok(Ok(bytes)) if hex::encode(Sha256::digest(&bytes)) == row.sha256 => {
            Ok((bytes, row.file_name))
        }
        Ok(Ok(_)) => Err(StoredFailure::Changed(format!(
            "The stored file of export {id} ({}) was changed after the export; it is not served.",
            row.file_name
        ))),
        _ => Err(StoredFailure::Gone(format!(
            "The stored file of export {id} ({}) is no longer available.",
            row.file_name
        ))),
    }
}

/// `GET /journal/logs/{id}/download`.
pub async fn download(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(id): Path<i64>,
) -> Response {
    match stored_file(&st, id).await {
        Ok((bytes, name)) => file_response(bytes, content_type(&name), &name, false),
        Err(StoredFailure::Internal(e)) => e.into_response(),
        Err(
            StoredFailure::NotFound(text)
            | StoredFailure::Changed(text)
            | StoredFailure::Gone(text),
        ) => st.flash_redirect(&u, "error", text, "/journal/logs").await,
    }
}
