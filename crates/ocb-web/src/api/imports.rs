//! `/api/v1/imports…` and `/api/v1/jobs/{id}` (SPEC §12.10). An upload is streamed to the
//! private staging area (never held in memory, never stored under the client's name), then runs
//! through the same request builder and import job as the web's import modal. Files larger than
//! [`BACKGROUND_BYTES`] run as a background job (`202 {"job_id"}`); smaller ones answer with
//! the import report directly.

use super::{ApiError, ApiReviewer, ApiUser, ApiViewer, Paging};
use crate::state::AppState;
use crate::upload::{self, FileMeta, PreparedJob, StageFailure};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use ocb_config::Role;
use ocb_ingest::Database;
use ocb_store::ImportFilter;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;

/// Uploads above this size are imported as a background job (a request should not hang for
/// the minutes a multi-gigabyte file can take).
pub const BACKGROUND_BYTES: u64 = 64 * 1024 * 1024;

/// The uploaded file, staged, and the other form fields.
struct Upload {
    path: PathBuf,
    filename: String,
    size: u64,
    fields: HashMap<String, String>,
    /// Set once an import job owns the file (it removes it when it ends).
    handed_over: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        // The import job removes the file when it runs; any other ending removes it here.
        if !self.handed_over {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn receive(st: &AppState, mut mp: Multipart) -> Result<Upload, ApiError> {
    let limit = st.config.web.max_upload_mb.saturating_mul(1024 * 1024);
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("Invalid multipart body: {e}"))
    };
    std::fs::create_dir_all(&st.staging.dir).map_err(|e| {
        ApiError::from(crate::error::AppError::internal(format!(
            "staging dir: {e}"
        )))
    })?;
    let mut upload: Option<Upload> = None;
    let mut fields = HashMap::new();
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(filename) = field.file_name().map(str::to_string) else {
            fields.insert(name, field.text().await.map_err(bad)?);
            continue;
        };
        if name != "file" {
            return Err(ApiError::bad_request(format!(
                "Unexpected file field '{name}': send the file as 'file'."
            )));
        }
        if upload.is_some() {
            return Err(ApiError::bad_request(
                "One file per request: send each file in its own request.",
            ));
        }
        let n = filename.to_lowercase();
        let Some(ext) = [".csv.gz", ".csv", ".parquet"]
            .into_iter()
            .find(|e| n.ends_with(e))
        else {
            return Err(
                ApiError::invalid("Unsupported file type: use .csv, .csv.gz or .parquet")
                    .with_details(json!({"filename": filename})),
            );
        };
        let name = format!("api-{}{ext}", &crate::security::random_token()[..32]);
        let (path, size) =
            match upload::stage_field(&st.staging.dir, &name, &mut field, limit).await {
                Ok(staged) => staged,
                Err(StageFailure::TooLarge) => {
                    let mb = st.config.web.max_upload_mb;
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("File too large: the limit is {mb} MB per file."),
                    ));
                }
                Err(StageFailure::Invalid(e)) => {
                    return Err(ApiError::bad_request(format!(
                        "Invalid multipart body: {e}"
                    )))
                }
                Err(StageFailure::Internal(e)) => {
                    return Err(ApiError::from(crate::error::AppError::internal(e)))
                }
            };
        let staged = Upload {
            path,
            filename,
            size,
            fields: HashMap::new(),
            handed_over: false,
        };
        upload = Some(staged);
    }
    let mut upload = upload
        .ok_or_else(|| ApiError::invalid("No file: send it as the multipart field 'file'."))?;
    upload.fields = fields;
    Ok(upload)
}

fn flag(fields: &HashMap<String, String>, k: &str) -> Result<Option<bool>, ApiError> {
    match fields.get(k).map(|v| v.trim().to_lowercase()).as_deref() {
        None | Some("") => Ok(None),
        Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
        Some("0" | "false" | "no" | "off") => Ok(Some(false)),
        Some(v) => Err(ApiError::bad_request(format!(
            "Invalid {k} '{v}': use true or false"
        ))),
    }
}

/// The status of a finished import: committed 201, dry run 200, refusals by kind.
fn status_of(report: &ocb_ingest::ImportReport) -> StatusCode {
    match report.failure.as_ref().map(|f| f.kind) {
        None if report.dry_run => StatusCode::OK,
        None => StatusCode::CREATED,
        Some("period_closed" | "period_finalized" | "conflict") => StatusCode::CONFLICT,
        Some("internal") => StatusCode::INTERNAL_SERVER_ERROR,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// `POST /api/v1/imports` (multipart `file`, `source?`, `period?`, `mode?`, `dry_run?`,
/// `skip_invalid?`) → the import report (SPEC §5.12, the modal's field names).
pub async fn create(
    State(st): State<AppState>,
    ApiReviewer(u): ApiReviewer,
    mp: Multipart,
) -> Result<Response, ApiError> {
    let mut up = receive(&st, mp).await?;
    let f = &up.fields;
    let meta = FileMeta {
        source: f.get("source").cloned(),
        period: f.get("period").cloned(),
        mode: f.get("mode").cloned(),
        skip_invalid: flag(f, "skip_invalid")?,
    };
    let dry_run = flag(f, "dry_run")?.unwrap_or(false);
    let (req, info) = upload::request(
        &st,
        u.actor(),
        up.path.clone(),
        &up.filename,
        &meta,
        dry_run,
    )
    .map_err(|e| {
        // Missing source, bad period or mode: the request is understood but not acceptable.
        if e.status == StatusCode::BAD_REQUEST {
            ApiError::invalid(e.message)
        } else {
            e.into()
        }
    })?;
    if dry_run {
        let settings = upload::ingest_settings(&st.config);
        let report = st
            .db(move |s| {
                ocb_ingest::ingest(
                    Database::Read(s),
                    &settings,
                    &req,
                    &mut ocb_ingest::NoProgress,
                )
                .map_err(|e| crate::error::AppError::internal(format!("dry run: {e}")))
            })
            .await?;
        return Ok((
            status_of(&report),
            Json(upload::result_json(&st, &report, info)),
        )
            .into_response());
    }
    let (username, period, filename) = (
        u.token.username.clone(),
        info["period"].as_str().map(str::to_string),
        up.filename.clone(),
    );
    let job = st
        .db(move |s| Ok(s.create_job("import", period.as_deref(), &username, &filename)?))
        .await?;
    let background = up.size > BACKGROUND_BYTES;
    let prepared = PreparedJob {
        job,
        filename: up.filename.clone(),
        path: up.path.clone(),
        req,
        info,
    };
    up.handed_over = true;
    drop(up);
    let st2 = st.clone();
    let run = tokio::task::spawn_blocking(move || upload::run_job(&st2, prepared));
    if background {
        return Ok((StatusCode::ACCEPTED, Json(json!({"job_id": job}))).into_response());
    }
    let report = run.await.map_err(|e| {
        ApiError::from(crate::error::AppError::internal(format!("import job: {e}")))
    })?;
    let rec = st.db(move |s| Ok(s.get_job(job)?)).await?;
    let mut v = rec
        .and_then(|r| r.result)
        .unwrap_or_else(|| json!({"success": false, "error": "import failed; see the server log"}));
    v["job_id"] = json!(job);
    let status = report
        .as_ref()
        .map_or(StatusCode::INTERNAL_SERVER_ERROR, status_of);
    Ok((status, Json(v)).into_response())
}

/// `GET /api/v1/imports` with `source`, `status`, `period` filters.
pub async fn list(
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
    let f = ImportFilter {
        source: get("source"),
        status: get("status"),
        period: get("period"),
    };
    let (rows, total) = st
        .db(move |s| Ok(s.import_log(&f, paging.offset(), paging.per_page)?))
        .await?;
    Ok(paging.wrap(rows, total))
}

/// `GET /api/v1/imports/{id}`: the full report; artefacts as URLs, never server paths.
pub async fn detail(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let d = st
        .db(move |s| Ok(s.import_detail(id)?))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Import {id} not found")))?;
    let (errors, rejects) = (d.errors_path.is_some(), d.rejects_path.is_some());
    let mut v = json!(d);
    if let Some(o) = v.as_object_mut() {
        for k in ["path", "errors_path", "rejects_path"] {
            o.remove(k);
        }
        o.insert(
            "errors_url".into(),
            json!(errors.then(|| format!("/api/v1/imports/{id}/errors.csv"))),
        );
        o.insert(
            "rejects_url".into(),
            json!(rejects.then(|| format!("/api/v1/imports/{id}/rejects.csv"))),
        );
    }
    Ok(Json(v))
}

/// `GET /api/v1/imports/{id}/errors.csv`.
pub async fn errors_csv(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(crate::pages::imports::artefact(st, id, false).await?)
}

/// `GET /api/v1/imports/{id}/rejects.csv`.
pub async fn rejects_csv(
    State(st): State<AppState>,
    ApiViewer(_u): ApiViewer,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(crate::pages::imports::artefact(st, id, true).await?)
}

/// `GET /api/v1/jobs/{id}`: the job owner's or an admin's.
pub async fn job(
    State(st): State<AppState>,
    ApiViewer(u): ApiViewer,
    Path(id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    let job = st
        .db(move |s| Ok(s.get_job(id)?))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Job {id} not found")))?;
    if !owner_or_admin(&u, &job.username) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "This job belongs to another user.",
        ));
    }
    let rows = st.jobs.get(id).unwrap_or(0);
    let result = job.result.map(crate::jobs::shown_result);
    Ok(Json(json!({
        "id": job.id, "kind": job.kind, "status": job.status, "label": job.label, "period": job.period, "user": job.username,
        "progress": {"rows": rows, "done": rows, "total": st.jobs.total(id)}, "result": result, "error": job.error,
        "created_at": job.created_at, "finished_at": job.finished_at,
    })))
}

fn owner_or_admin(u: &ApiUser, owner: &str) -> bool {
    u.role >= Role::Admin || owner.eq_ignore_ascii_case(&u.token.username)
}
