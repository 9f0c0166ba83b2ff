//! The import modal's server side (SPEC §12.6): uploads are streamed to a private staging area
//! under random names (complete files only, see [`stage_field`]), previewed with a dry run of
//! the real ingest service, then committed as one background job per file.

use crate::auth::Reviewer;
use crate::error::AppError;
use crate::jobs::JobProgress;
use crate::security::CurrentUser;
use crate::state::AppState;
use axum::extract::multipart::Field;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use ocb_config::Config;
use ocb_core::source::ImportMode;
use ocb_ingest::{Database, ImportReport, IngestRequest, IngestSettings, KnownSource};
use ocb_publish::StagedFile;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Files per request.
const MAX_FILES: usize = 20;
/// Staged files not committed within this time are deleted.
const STAGING_TTL: Duration = Duration::from_secs(3600);

struct Staged {
    path: PathBuf,
    filename: String,
    owner: String,
    at: Instant,
}

/// The staging area: files on disk, their original names in memory.
pub struct Staging {
    pub(crate) dir: PathBuf,
    files: Mutex<HashMap<String, Staged>>,
}

impl Staging {
    /// A staging area in `dir` (emptied at startup).
    pub fn new(dir: PathBuf) -> Self {
        let _ = std::fs::remove_dir_all(&dir);
        Self {
            dir,
            files: Mutex::new(HashMap::new()),
        }
    }

    fn expire(&self) {
        if let Ok(mut m) = self.files.lock() {
            m.retain(|_, f| {
                let keep = f.at.elapsed() < STAGING_TTL;
                if !keep {
                    let _ = std::fs::remove_file(&f.path);
                }
                keep
            });
        }
    }

    fn take(&self, id: &str, owner: &str) -> Option<Staged> {
        let mut m = self.files.lock().ok()?;
        match m.get(id) {
            Some(f) if f.owner.eq_ignore_ascii_case(owner) => m.remove(id),
            _ => None,
        }
    }
}

/// The ingest settings of the configuration (as the CLI builds them).
pub fn ingest_settings(c: &Config) -> IngestSettings {
    IngestSettings {
        tag_mapping: c.tag_mapping.clone(),
        rules: c.review.rules.clone(),
        known_sources: c
            .imports
            .known_sources
            .iter()
            .map(|k| KnownSource {
                name: k.name.clone(),
                display_name: Some(k.display_name.clone()),
                import_mode: Some(k.import_mode),
            })
            .collect(),
        default_mode: c.imports.default_mode,
        import_dir: c.output.import_dir.clone(),
    }
}

/// Accepted upload names (case-insensitive).
fn extension(name: &str) -> Option<&'static str> {
    let n = name.to_lowercase();
    [".csv.gz", ".csv", ".parquet"]
        .into_iter()
        .find(|e| n.ends_with(e))
        .map(|e| &e[1..])
}

/// Why an upload could not be staged.
pub(crate) enum StageFailure {
    /// Over `web.max_upload_mb`.
    TooLarge,
    /// The multipart body broke off or was malformed.
    Invalid(String),
    /// The server could not write it.
    Internal(String),
}

/// Streams one multipart file field into the staging area as `dir/{name}`: written to a hidden
/// staged file, synced and renamed only once complete (`ocb_publish`, issue 15), so an upload
/// cut short (a broken connection, a file over the limit, a killed server) never appears under
/// a staged name; its staged file is deleted. Returns the path and the size.
pub(crate) async fn stage_field(
    dir: &Path,
    name: &str,
    field: &mut Field<'_>,
    limit: u64,
) -> Result<(PathBuf, u64), StageFailure> {
    let internal = |e: std::io::Error| StageFailure::Internal(format!("staging {name}: {e}"));
    let mut out = StagedFile::new(dir, name).map_err(internal)?;
    let mut size: u64 = 0;
    while let Some(bytes) = field
        .chunk()
        .await
        .map_err(|e| StageFailure::Invalid(e.to_string()))?
    {
        size += bytes.len() as u64;
        if size > limit {
            return Err(StageFailure::TooLarge);
        }
        out.write_all(&bytes).map_err(internal)?;
    }
    let owned = name.to_string();
    let path = tokio::task::spawn_blocking(move || out.publish(&owned))
        .await
        .map_err(|e| StageFailure::Internal(format!("staging {name}: {e}")))?
        .map_err(internal)?;
    Ok((path, size))
}

/// Per-file choices of the modal.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FileMeta {
    /// Source (empty = detect).
    #[serde(default)]
    pub source: Option<String>,
    /// Period (`auto` or empty = detect).
    #[serde(default)]
    pub period: Option<String>,
    /// `replace` / `upsert` (empty = the source's mode).
    #[serde(default)]
    pub mode: Option<String>,
    /// Import valid rows and set bad rows aside.
    #[serde(default)]
    pub skip_invalid: Option<bool>,
}

fn too_large(st: &AppState) -> Response {
    let mb = st.config.web.max_upload_mb;
    let msg = format!("File too large: the limit is {mb} MB per file.");
    (StatusCode::PAYLOAD_TOO_LARGE, Json(json!({"error": msg}))).into_response()
}

fn bad(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response()
}

/// `POST /imports/upload`: stage, preview (dry run) and, without `dry_run`, commit at once.
pub async fn upload(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    mut mp: Multipart,
) -> Response {
    st.staging.expire();
    let limit = st.config.web.max_upload_mb.saturating_mul(1024 * 1024);
    let mut staged: Vec<(String, String, Option<String>)> = Vec::new(); // (id, filename, refusal)
    let mut fields: HashMap<String, String> = HashMap::new();
    if let Err(e) = std::fs::create_dir_all(&st.staging.dir) {
        return AppError::internal(format!("staging dir: {e}")).into_response();
    }
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return bad(&format!("Invalid upload: {e}")),
        };
        let name = field.name().unwrap_or_default().to_string();
        let Some(filename) = field.file_name().map(str::to_string) else {
            match field.text().await {
                Ok(t) => fields.insert(name, t),
                Err(e) => return bad(&format!("Invalid upload: {e}")),
            };
            continue;
        };
        if name != "files[]" && name != "files" && name != "file" {
            continue;
        }
        if staged.iter().any(|(_, f, _)| *f == filename) {
            continue; // duplicates by name are ignored
        }
        if staged.len() >= MAX_FILES {
            return bad(&format!("At most {MAX_FILES} files per upload."));
        }
        let Some(ext) = extension(&filename) else {
            staged.push((
                String::new(),
                filename,
                Some("Unsupported file type: use .csv, .csv.gz or .parquet".into()),
            ));
            continue;
        };
        let id = crate::security::random_token()[..32].to_string();
        let path =
            match stage_field(&st.staging.dir, &format!("{id}.{ext}"), &mut field, limit).await {
                Ok((path, _)) => path,
                Err(StageFailure::TooLarge) => return too_large(&st),
                Err(StageFailure::Invalid(e)) => return bad(&format!("Invalid upload: {e}")),
                Err(StageFailure::Internal(e)) => return AppError::internal(e).into_response(),
            };
        if let Ok(mut m) = st.staging.files.lock() {
            m.insert(
                id.clone(),
                Staged {
                    path,
                    filename: filename.clone(),
                    owner: u.session.username.clone(),
                    at: Instant::now(),
                },
            );
        }
        staged.push((id, filename, None));
    }
    let metas: Vec<FileMeta> = match fields
        .get("files_metadata")
        .filter(|s| !s.trim().is_empty())
    {
        Some(j) => match serde_json::from_str(j) {
            Ok(v) => v,
            Err(_) => return bad("Invalid files_metadata JSON"),
        },
        None => vec![],
    };
    let single = FileMeta {
        source: fields.get("source").cloned(),
        period: fields.get("period").cloned(),
        mode: fields.get("mode").cloned(),
        skip_invalid: fields
            .get("skip_invalid")
            .map(|v| v == "1" || v == "true" || v == "on"),
    };
    let dry_run = fields
        .get("dry_run")
        .is_some_and(|v| v == "1" || v == "true");
    let mut results = Vec::new();
    for (i, (id, filename, refusal)) in staged.into_iter().enumerate() {
        let meta = metas.get(i).cloned().unwrap_or_else(|| single.clone());
        if let Some(msg) = refusal {
            results.push(
                json!({"filename": filename, "staged_id": null, "success": false, "error": msg}),
            );
            continue;
        }
        let preview = preview(&st, &u, &id, &filename, &meta).await;
        results.push(match preview {
            Ok(v) => v,
            Err(e) => {
                json!({"filename": filename, "staged_id": id, "success": false, "error": e.message})
            }
        });
    }
    if dry_run {
        return Json(json!({"results": results})).into_response();
    }
    // Compatibility: without dry_run the files that would succeed are committed at once.
    let mut committed = Vec::new();
    for r in results {
        let ok = r["success"].as_bool().unwrap_or(false);
        let id = r["staged_id"].as_str().map(str::to_string);
        match (ok, id) {
            (true, Some(id)) => {
                let meta = meta_of(&r);
                committed.push(commit_now(&st, &u, &id, &meta).await.unwrap_or_else(
                    |e| json!({"filename": r["filename"], "success": false, "error": e.message}),
                ));
            }
            _ => committed.push(r),
        }
    }
    Json(json!({"results": committed})).into_response()
}

fn meta_of(r: &Value) -> FileMeta {
    FileMeta {
        source: r["source"].as_str().map(str::to_string),
        period: r["period"].as_str().map(str::to_string),
        mode: r["mode"].as_str().map(str::to_string),
        skip_invalid: r["skip_invalid"].as_bool(),
    }
}

/// Resolves source, period and mode of one staged file into an ingest request (the JSON API
/// uses it too, with its own actor).
pub(crate) fn request(
    st: &AppState,
    actor: ocb_store::Actor,
    path: PathBuf,
    filename: &str,
    meta: &FileMeta,
    dry_run: bool,
) -> Result<(IngestRequest, Value), AppError> {
    let detected_source = st.config.detect_source(filename).map(|k| k.name.clone());
    let detected_period = ocb_config::detect_period(filename).map(|p| p.to_string());
    let given = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "auto")
    };
    let source = given(&meta.source)
        .or_else(|| detected_source.clone())
        .ok_or_else(|| AppError::bad_request("No data source specified"))?;
    let period = given(&meta.period).or_else(|| detected_period.clone());
    let expected_period = period
        .as_deref()
        .map(crate::view::parse_period)
        .transpose()?;
    let mode = match given(&meta.mode).as_deref() {
        None => None,
        Some("replace") => Some(ImportMode::Replace),
        Some("upsert") => Some(ImportMode::Upsert),
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "Invalid mode '{other}': use replace or upsert"
            )))
        }
    };
    let skip_invalid = meta.skip_invalid.unwrap_or(false);
    let req = IngestRequest {
        path,
        filename: Some(filename.to_string()),
        source: source.clone(),
        expected_period,
        mode,
        dry_run,
        skip_invalid,
        actor,
    };
    let info = json!({"detected_source": detected_source, "detected_period": detected_period, "source": source, "period": period, "skip_invalid": skip_invalid});
    Ok((req, info))
}

/// The per-file result of SPEC §12.6 (upstream field names kept).
pub fn result_json(st: &AppState, r: &ImportReport, mut info: Value) -> Value {
    let t = &r.totals;
    let money = |d| st.money(d);
    let mut line = format!(
        "{} new, {} updated, {} unchanged, {} removed",
        t.inserted, t.updated, t.unchanged, t.removed
    );
    if t.flagged_rows > 0 {
        line.push_str(&format!(", {} flagged", t.flagged_rows));
    }
    if t.rejected > 0 {
        line.push_str(&format!(", {} rejected", t.rejected));
    }
    line.push_str(&format!(" — {}", money(t.total_cost)));
    let fields = json!({
        "filename": r.filename, "mode": r.mode, "success": r.succeeded(), "status": r.status,
        "row_count": t.rows_read, "rows_read": t.rows_read, "inserted_rows": t.inserted, "updated_rows": t.updated,
        "skipped_rows": t.unchanged, "unchanged_rows": t.unchanged, "removed_rows": t.removed, "rejected_rows": t.rejected,
        "flagged_rows": t.flagged_rows, "flagged_cost": t.flagged_cost.to_string(), "total_cost": t.total_cost.to_string(),
        "total_cost_display": money(t.total_cost), "summary_line": line,
        "periods": r.periods.iter().map(|p| p.period.clone()).collect::<Vec<_>>(),
        "warnings": r.warnings, "errors": r.errors.iter().take(100).collect::<Vec<_>>(), "error_count": r.error_count,
        "error": r.failure.as_ref().map(|f| f.message.clone()),
        "import_id": r.id,
        "rejects_url": r.id.filter(|_| r.rejects_path.is_some()).map(|id| format!("/imports/{id}/rejects.csv")),
        "errors_url": r.id.filter(|_| r.errors_path.is_some()).map(|id| format!("/imports/{id}/errors.csv")),
    });
    if let (Some(obj), Some(extra)) = (info.as_object_mut(), fields.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    info
}

async fn preview(
    st: &AppState,
    u: &CurrentUser,
    id: &str,
    filename: &str,
    meta: &FileMeta,
) -> Result<Value, AppError> {
    let path = st
        .staging
        .files
        .lock()
        .map_err(|_| AppError::internal("staging lock"))?
        .get(id)
        .map(|f| f.path.clone())
        .ok_or_else(|| AppError::not_found("staged file not found"))?;
    let (req, info) = request(st, u.actor(), path, filename, meta, true)?;
    let settings = ingest_settings(&st.config);
    let st2 = st.clone();
    let report = st
        .db(move |s| {
            ocb_ingest::ingest(
                Database::Read(s),
                &settings,
                &req,
                &mut ocb_ingest::NoProgress,
            )
            .map_err(|e| AppError::internal(format!("dry run: {e}")))
        })
        .await?;
    let mut v = result_json(&st2, &report, info);
    v["staged_id"] = json!(id);
    Ok(v)
}

/// Commit request body.
#[derive(Debug, Deserialize)]
pub struct CommitBody {
    /// The files with their final choices.
    pub files: Vec<CommitFile>,
}

/// One file to commit.
#[derive(Debug, Deserialize)]
pub struct CommitFile {
    /// From the preview.
    pub staged_id: String,
    /// Final choices.
    #[serde(flatten)]
    pub meta: FileMeta,
}

pub(crate) struct PreparedJob {
    pub(crate) job: i64,
    pub(crate) filename: String,
    pub(crate) path: PathBuf,
    pub(crate) req: IngestRequest,
    pub(crate) info: Value,
}

/// Claims a staged file and records its job (`running`).
fn prepare_job(
    st: &AppState,
    u: &CurrentUser,
    id: &str,
    meta: &FileMeta,
) -> Result<PreparedJob, AppError> {
    let staged = st.staging.take(id, &u.session.username).ok_or_else(|| {
        AppError::not_found("This upload expired or was already imported; upload the file again.")
    })?;
    let (req, info) = request(
        st,
        u.actor(),
        staged.path.clone(),
        &staged.filename,
        meta,
        false,
    )?;
    let store = st.open_store()?;
    let job = store.create_job(
        "import",
        info["period"].as_str(),
        &u.session.username,
        &staged.filename,
    )?;
    Ok(PreparedJob {
        job,
        filename: staged.filename,
        path: staged.path,
        req,
        info,
    })
}

/// Runs one import job to its end (on a blocking thread) and records the outcome; returns the
/// report when the ingest ran (the JSON API maps its failure kind to a status).
pub(crate) fn run_job(st: &AppState, p: PreparedJob) -> Option<ImportReport> {
    let job = p.job;
    let mut report = None;
    let finished = st
        .open_store()
        .map_err(|e| e.message)
        .and_then(|mut store| {
            let settings = ingest_settings(&st.config);
            let mut progress = JobProgress {
                st: st.clone(),
                id: job,
            };
            let outcome = ocb_ingest::ingest(
                Database::Write(&mut store),
                &settings,
                &p.req,
                &mut progress,
            );
            let _ = std::fs::remove_file(&p.path);
            let recorded = match outcome {
                Ok(r) => {
                    let v = result_json(st, &r, p.info);
                    let done = store.finish_job(
                        job,
                        r.succeeded(),
                        Some(&v),
                        r.failure.as_ref().map(|f| f.message.as_str()),
                    );
                    report = Some(r);
                    done
                }
                Err(e) => {
                    tracing::error!(event = "job.finished", job, error = %e, "import job failed");
                    store.finish_job(job, false, None, Some(&e.to_string()))
                }
            };
            recorded.map_err(|e| e.to_string())
        });
    if let Err(e) = finished {
        tracing::error!(event = "job.finished", job, error = %e, "could not record the job's end");
    }
    st.jobs.done(job);
    report
}

async fn commit_now(
    st: &AppState,
    u: &CurrentUser,
    id: &str,
    meta: &FileMeta,
) -> Result<Value, AppError> {
    let prepared = prepare_job(st, u, id, meta)?;
    let job = prepared.job;
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || run_job(&st2, prepared))
        .await
        .map_err(|e| AppError::internal(format!("import job: {e}")))?;
    let rec = st.db(move |s| Ok(s.get_job(job)?)).await?;
    Ok(rec
        .and_then(|r| r.result)
        .unwrap_or_else(|| json!({"success": false, "error": "import failed; see the server log"})))
}

/// `POST /imports/commit`: one background job per file, run one after the other (SQLite has
/// one writer); the modal polls `/jobs/{id}` for progress and results.
pub async fn commit(
    State(st): State<AppState>,
    Reviewer(u): Reviewer,
    Json(body): Json<CommitBody>,
) -> Response {
    let st2 = st.clone();
    // Claiming files writes job rows: off the async workers, like every database call.
    let prepared = tokio::task::spawn_blocking(move || {
        let mut jobs = Vec::new();
        let mut prepared = Vec::new();
        for f in &body.files {
            match prepare_job(&st2, &u, &f.staged_id, &f.meta) {
                Ok(p) => {
                    jobs.push(
                        json!({"staged_id": f.staged_id, "filename": p.filename, "job_id": p.job}),
                    );
                    prepared.push(p);
                }
                Err(e) => jobs
                    .push(json!({"staged_id": f.staged_id, "success": false, "error": e.message})),
            }
        }
        (jobs, prepared)
    })
    .await;
    let (jobs, prepared) = match prepared {
        Ok(v) => v,
        Err(e) => return AppError::internal(format!("commit: {e}")).into_response(),
    };
    tokio::task::spawn_blocking(move || {
        for p in prepared {
            run_job(&st, p);
        }
    });
    Json(json!({"jobs": jobs})).into_response()
}
