//! Background jobs (SPEC §12.1). Each job has a database row (so a job cut short by a restart is
//! reported `interrupted`) and live progress kept here in memory: while an import holds the
//! write lock, progress cannot be written to the database, and other requests must not wait.

use crate::auth::Viewer;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use ocb_config::Role;
use ocb_statements::{GenerationReport, SendReport};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::Mutex;

/// Live progress of running jobs.
#[derive(Default)]
pub struct Jobs {
    rows: Mutex<HashMap<i64, u64>>,
    /// Units to do, for jobs that know it (statements to render, PIs to email).
    totals: Mutex<HashMap<i64, u64>>,
}

impl Jobs {
    /// Records the rows processed so far.
    pub fn set(&self, id: i64, rows: u64) {
        if let Ok(mut m) = self.rows.lock() {
            m.insert(id, rows);
        }
    }

    /// Rows processed so far.
    pub fn get(&self, id: i64) -> Option<u64> {
        self.rows.lock().ok().and_then(|m| m.get(&id).copied())
    }

    /// Forgets a finished job.
    pub fn done(&self, id: i64) {
        if let Ok(mut m) = self.rows.lock() {
            m.remove(&id);
        }
        if let Ok(mut m) = self.totals.lock() {
            m.remove(&id);
        }
    }

    /// Starts a counted step: `total` units, none done yet.
    pub fn begin(&self, id: i64, total: u64) {
        if let Ok(mut m) = self.totals.lock() {
            m.insert(id, total);
        }
        self.set(id, 0);
    }

    /// `n` more units are done.
    pub fn advance(&self, id: i64, n: u64) {
        if let Ok(mut m) = self.rows.lock() {
            *m.entry(id).or_default() += n;
        }
    }

    /// Units of the current step, when known.
    pub fn total(&self, id: i64) -> Option<u64> {
        self.totals.lock().ok().and_then(|m| m.get(&id).copied())
    }
}

/// A statements/email progress sink that publishes to [`Jobs`] (called from render workers).
pub struct StepProgress {
    /// State.
    pub st: AppState,
    /// Job id.
    pub id: i64,
}

impl ocb_statements::Progress for StepProgress {
    fn begin(&self, total: u64) {
        self.st.jobs.begin(self.id, total);
    }
    fn advance(&self, n: u64) {
        self.st.jobs.advance(self.id, n);
    }
    fn finish(&self) {}
}

/// An ingest progress sink that publishes to [`Jobs`].
pub struct JobProgress {
    /// State.
    pub st: AppState,
    /// Job id.
    pub id: i64,
}

impl ocb_ingest::Progress for JobProgress {
    fn rows(&mut self, rows: u64) {
        self.st.jobs.set(self.id, rows);
    }
}

/// `GET /jobs/{id}`: status, progress and result (own jobs; admins all).
pub async fn status(
    State(st): State<AppState>,
    Viewer(u): Viewer,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let job = st
        .db(move |s| Ok(s.get_job(id)?))
        .await?
        .ok_or_else(|| AppError::not_found(format!("Job {id} not found")))?;
    if !job.username.eq_ignore_ascii_case(&u.session.username) && u.role < Role::Admin {
        return Err(AppError::forbidden());
    }
    let rows = st.jobs.get(id).unwrap_or(0);
    Ok(Json(serde_json::json!({
        "id": job.id, "kind": job.kind, "status": job.status, "label": job.label, "period": job.period,
        "progress": {"rows": rows, "done": rows, "total": st.jobs.total(id)}, "result": job.result.map(shown_result), "error": job.error,
        "created_at": job.created_at, "finished_at": job.finished_at,
    }))
    .into_response())
}

/// A job's result as stored and shown: file names and URLs, never server paths (docs/api.md,
/// issue 16, item 4). The statement and e-mail reports are made for the CLI, which prints
/// where files went; a web user must not learn the server's directories from them.
pub struct JobResult(Value);

impl JobResult {
    /// A statement run, and the sending that followed it when asked for.
    pub fn generation(g: &GenerationReport, emails: Option<&SendReport>) -> Self {
        let mut generation = json!(g);
        remove_key(&mut generation, "pdf_dir");
        let emails = emails.map(|r| Self::emails(r).0["emails"].take());
        Self(json!({"generation": generation, "emails": emails}))
    }

    /// A sending run: each dev-mode `.eml` file by its name.
    pub fn emails(r: &SendReport) -> Self {
        let mut v = json!(r);
        remove_key(&mut v, "email_dir");
        if let Some(results) = v.get_mut("results").and_then(Value::as_array_mut) {
            for (shown, result) in results.iter_mut().zip(&r.results) {
                remove_key(shown, "file");
                shown["file_name"] = json!(result.file.as_deref().and_then(file_name));
            }
        }
        Self(json!({"emails": v}))
    }

    /// A failure: its message only.
    pub fn failure(message: &str) -> Self {
        Self(json!({"error": message}))
    }

    /// The stored JSON.
    pub fn value(&self) -> &Value {
        &self.0
    }
}

fn remove_key(v: &mut Value, key: &str) {
    if let Some(o) = v.as_object_mut() {
        o.remove(key);
    }
}

fn file_name(p: &FsPath) -> Option<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// A stored result as shown: results written by versions before issue 16 may still name
/// server paths (`pdf_dir`, `email_dir`, `file`), so they are taken out when read too.
pub fn shown_result(mut v: Value) -> Value {
    strip_paths(&mut v);
    v
}

fn strip_paths(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(f)) = o.remove("file") {
                o.insert("file_name".into(), json!(file_name(FsPath::new(&f))));
            }
            o.retain(|k, _| !(k.ends_with("_dir") || k == "path" || k.ends_with("_path")));
            o.values_mut().for_each(strip_paths);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_paths),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_results_lose_their_paths_when_shown() {
        let stored = json!({"emails": {"email_dir": "/srv/ocb/out/emails", "results": [
            {"recipient": "a@b.edu", "file": "/srv/ocb/out/emails/2025-01_a@b.edu.eml"}
        ]}, "generation": {"pdf_dir": "/srv/ocb/pdfs", "statements": [{"filename": "x.pdf"}]}});
        let shown = shown_result(stored).to_string();
        assert!(!shown.contains("/srv/"), "{shown}");
        assert!(
            shown.contains(r#""file_name":"2025-01_a@b.edu.eml""#),
            "{shown}"
        );
        assert!(shown.contains(r#""filename":"x.pdf""#), "{shown}");
    }
}
