//! The import log and the import report (SPEC §5.12, §12.3), with the `errors.csv` and
//! `rejects.csv` downloads. Artefact files are served only from the configured import directory.

use crate::auth::Viewer;
use crate::error::AppError;
use crate::state::AppState;
use crate::view::{page_of, pager, param, query_string, PageCtx};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use ocb_store::{BrowseFilter, ImportFilter, ImportSummary, SortKey, StatusFilter};
use serde_json::{json, Value};
use std::collections::HashMap;

/// An import log row for templates.
pub fn row(ctx: &PageCtx, i: &ImportSummary) -> Value {
    let t = &i.totals;
    json!({
        "id": i.id, "filename": i.filename, "source": i.source, "status": i.status, "actor": i.actor, "channel": i.channel,
        "created_at": i.created_at, "mode": i.mode,
        "periods": i.periods.iter().map(|p| p.period.clone()).collect::<Vec<_>>(),
        "rows_read": t.rows_read, "inserted": t.inserted, "updated": t.updated, "unchanged": t.unchanged,
        "removed": t.removed, "rejected": t.rejected, "flagged": t.flagged_rows, "flagged_cost": ctx.money(t.flagged_cost),
        "total": ctx.money(t.total_cost), "failure": i.failure_message,
    })
}

pub async fn list(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let known: Vec<String> = st
        .config
        .imports
        .known_sources
        .iter()
        .map(|k| k.name.clone())
        .collect();
    st.page(u, "imports.html", "imports", move |s, ctx| {
        let f = ImportFilter {
            source: param(&q, "source"),
            status: param(&q, "status"),
            period: param(&q, "period"),
        };
        let page = page_of(&q);
        let (rows, total) = s.import_log(&f, (page - 1) * 50, 50)?;
        let keep = [
            ("source", f.source.as_deref()),
            ("status", f.status.as_deref()),
            ("period", f.period.as_deref()),
        ];
        let mut sources: Vec<String> = s.list_sources()?.into_iter().map(|x| x.name).collect();
        for k in known {
            if !sources.iter().any(|s| s.eq_ignore_ascii_case(&k)) {
                sources.push(k);
            }
        }
        let open: Vec<String> = s
            .list_periods()?
            .into_iter()
            .filter(|p| p.status == "open")
            .map(|p| p.period)
            .collect();
        Ok(json!({
            "title": "Imports", "rows": rows.iter().map(|i| row(ctx, i)).collect::<Vec<_>>(),
            "pager": pager(page, 50, total), "query": query_string(&keep),
            "f": {"source": f.source, "status": f.status, "period": f.period},
            "can_import": ctx.can_review(), "sources": sources, "open_periods": open,
        }))
    })
    .await
}

pub async fn detail(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    st.page(u, "import_detail.html", "imports", move |s, ctx| {
        let d = s.import_detail(id)?.ok_or_else(|| AppError::not_found(format!("Import {id} not found")))?;
        let removed = s.browse_charges(
            &BrowseFilter { import_id: Some(id), status: StatusFilter::Removed, ..Default::default() },
            SortKey::Billed,
            true,
            0,
            100,
        )?;
        let periods: Vec<Value> = d
            .summary
            .periods
            .iter()
            .map(|p| json!({"period": p.period, "rows_read": p.totals.rows_read, "inserted": p.totals.inserted, "updated": p.totals.updated,
                            "unchanged": p.totals.unchanged, "removed": p.totals.removed, "rejected": p.totals.rejected,
                            "flagged": p.totals.flagged_rows, "total": ctx.money(p.totals.total_cost)}))
            .collect();
        Ok(json!({
            "title": format!("Import {id}"),
            "import": row(ctx, &d.summary),
            "detail": {"path": d.path, "kind": d.kind, "size_bytes": d.size_bytes, "sha256": d.sha256, "expected_period": d.expected_period,
                       "skip_invalid": d.skip_invalid, "duration_ms": d.duration_ms, "error_count": d.summary.error_count,
                       "failure_kind": d.summary.failure_kind},
            "periods": periods,
            "warnings": d.warnings,
            "errors": d.errors.iter().take(100).collect::<Vec<_>>(),
            "has_errors_csv": d.errors_path.is_some(),
            "has_rejects": d.rejects_path.is_some(),
            "removed": removed.rows.iter().map(|r| super::charges::ChargeRowView::new(ctx, r)).collect::<Vec<_>>(),
        }))
    })
    .await
}

/// Serves an import's `errors.csv` or `rejects.csv` (the JSON API serves the same files).
pub(crate) async fn artefact(st: AppState, id: i64, rejects: bool) -> Result<Response, AppError> {
    let import_dir = st.config.output.import_dir.clone();
    let (path, name) = st
        .db(move |s| {
            let d = s
                .import_detail(id)?
                .ok_or_else(|| AppError::not_found(format!("Import {id} not found")))?;
            let p = if rejects {
                d.rejects_path
            } else {
                d.errors_path
            };
            Ok((
                p,
                format!(
                    "import-{id}-{}.csv",
                    if rejects { "rejects" } else { "errors" }
                ),
            ))
        })
        .await?;
    let path = path.ok_or_else(|| AppError::not_found("This import has no such file."))?;
    let path = std::path::PathBuf::from(path);
    // Only files inside the import directory are served.
    let inside = std::fs::canonicalize(&path)
        .ok()
        .zip(std::fs::canonicalize(&import_dir).ok())
        .is_some_and(|(p, d)| p.starts_with(d));
    if !inside {
        return Err(AppError::not_found("The file is no longer available."));
    }
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(&path))
        .await
        .map_err(AppError::internal)?
        .map_err(|_| AppError::not_found("The file is no longer available."))?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

pub async fn errors_csv(
    State(st): State<AppState>,
    Viewer(_u): Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    artefact(st, id, false).await
}

pub async fn rejects_csv(
    State(st): State<AppState>,
    Viewer(_u): Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    artefact(st, id, true).await
}
