//! `/api/v1/journal…` (SPEC §12.10, §10): the export itself, synchronous as the spec says (the
//! file in the response, its export-log id in `X-Export-Id`), the export log (§10.11) and the
//! stored files — through the same functions as the journal pages.

use super::{body, ApiError, ApiViewer, Paging};
use crate::pages::journal::{
    content_type, export_response, run_export, stored_file, StoredFailure,
};
use crate::pages::statements::file_response;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{Json, Response};
use ocb_journal::{ExportRequest, Format, JournalError, OutputTarget};
use ocb_store::StoreError;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportBody {
    period: Option<String>,
    format: Option<String>,
    #[serde(default)]
    include_flagged: bool,
}

/// The status of a refused export: the period is unknown (404), the configuration or the
/// journal template is at fault (422), the database is busy (503), else a server error.
fn refusal(e: &JournalError) -> ApiError {
    let text = crate::pages::journal::failure_text(e);
    let status = match e {
        JournalError::PeriodNotFound(_) | JournalError::Store(StoreError::NotFound(_)) => {
            StatusCode::NOT_FOUND
        }
        JournalError::InvalidAccounts { .. }
        | JournalError::TemplateNotFound { .. }
        | JournalError::Template { .. }
        | JournalError::Store(StoreError::AmountOutOfRange { .. }) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        JournalError::Store(StoreError::Busy) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, text)
}

/// `POST /api/v1/journal` `{period, format?, include_flagged?}` (format `default`, `standard`,
/// `summary`, `gl`, `gl-upstream` or `template`; default `default` as on the CLI) → the file, with
/// `X-Export-Id` and one `X-Export-Warning` header per warning (e.g. an open period).
pub async fn export(
    State(st): State<AppState>,
    ApiViewer(u): ApiViewer,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let b: ExportBody = body(&bytes)?;
    let raw = b
        .period
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid("period is required (YYYY-MM)"))?;
    let period = raw
        .parse()
        .map_err(|_| ApiError::invalid(format!("Invalid period '{raw}': use YYYY-MM")))?;
    let format: Format = b
        .format
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or("default")
        .parse()
        .map_err(ApiError::invalid)?;
    let req = ExportRequest {
        period,
        format,
        include_flagged: b.include_flagged,
        output: OutputTarget::Named,
        actor: u.actor(),
    };
    let out = run_export(&st, req, None).await?.map_err(|e| refusal(&e))?;
    let warnings = out.record.warnings.clone();
    let mut resp = export_response(out);
    let name = HeaderName::from_static("x-export-warning");
    for w in warnings {
        // Header values are ASCII; anything else is replaced rather than dropped.
        let ascii: String = w
            .chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        if let Ok(v) = HeaderValue::from_str(&ascii) {
            resp.headers_mut().append(name.clone(), v);
        }
    }
    Ok(resp)
}

/// `GET /api/v1/journal?period=&format=`: the export log, newest first; stored files as
/// `download_url`, never server paths.
pub async fn log(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let paging = Paging::of(&q)?;
    let get = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let period = get("period");
    if let Some(p) = &period {
        p.parse::<ocb_core::period::Period>()
            .map_err(|_| ApiError::bad_request(format!("Invalid period '{p}': use YYYY-MM")))?;
    }
    let format = get("format");
    if let Some(f) = &format {
        f.parse::<Format>().map_err(ApiError::bad_request)?;
    }
    let (rows, total) = st
        .db(move |s| {
            Ok(s.journal_exports(
                period.as_deref(),
                format.as_deref(),
                paging.offset(),
                paging.per_page,
            )?)
        })
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = json!(r);
            if let Some(o) = v.as_object_mut() {
                o.remove("stored_path");
                o.insert(
                    "download_url".into(),
                    json!((!r.stored_path.is_empty())
                        .then(|| format!("/api/v1/journal/{}/download", r.id))),
                );
            }
            v
        })
        .collect();
    Ok(paging.wrap(items, total))
}

/// `GET /api/v1/journal/{id}/download`: the stored file of an export, only while it is
/// unchanged since the export (its SHA-256 is checked; a changed file is `409`).
pub async fn download(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    match stored_file(&st, id).await {
        Ok((bytes, name)) => Ok(file_response(bytes, content_type(&name), &name, false)),
        Err(StoredFailure::NotFound(t) | StoredFailure::Gone(t)) => {
            Err(ApiError::new(StatusCode::NOT_FOUND, t))
        }
        Err(StoredFailure::Changed(t)) => Err(ApiError::new(StatusCode::CONFLICT, t)),
        Err(StoredFailure::Internal(e)) => Err(e.into()),
    }
}
