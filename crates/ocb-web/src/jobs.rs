//! Background jobs (SPEC §12.1). Each job has a database row (so a job cut short by a restart is
//! reported `interrupted`) and live progress kept here in memory: while an import holds the
//! write lock, progress cannot be written to the database, and other requests must not wait.

use crate::auth::Viewer;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Json, Response};
use ocb_config::Role;
use std::collections::HashMap;
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
        "progress": {"rows": rows, "done": rows, "total": st.jobs.total(id)}, "result": job.result, "error": job.error,
        "created_at": job.created_at, "finished_at": job.finished_at,
    }))
    .into_response())
}
