//! Statement generation and email sending as background jobs (SPEC §12.1, §8.4, §9.6): the same
//! `ocb_statements::{generate, send}` calls as the CLI, on a blocking thread, with progress
//! published for `/jobs/{id}`. At most one job per (period, kind) runs; a second request is
//! refused with the running job's start time and user. When a job ends, its summary is queued
//! as a flash message for the user who started it, so the page that polls it can just reload.

use crate::error::AppError;
use crate::jobs::{JobResult, StepProgress};
use crate::security::CurrentUser;
use crate::state::AppState;
use axum::http::StatusCode;
use ocb_core::period::Period;
use ocb_statements::{GenerateOptions, GenerationReport, SendOptions, SendReport, StatementsError};
use ocb_store::{Actor, JobRecord, StoreError};

/// What a job does.
pub enum Work {
    /// Generate the period's statements, then (`true`) send the unsent ones.
    Generate(GenerateOptions, bool),
    /// Send (or resend) statements.
    Send(SendOptions),
}

impl Work {
    /// The period concerned.
    pub fn period(&self) -> Period {
        match self {
            Work::Generate(o, _) => o.period,
            Work::Send(o) => o.period,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Work::Generate(..) => "statements",
            Work::Send(_) => "send",
        }
    }

    fn label(&self) -> String {
        let dry = match self {
            Work::Generate(o, _) => o.dry_run,
            Work::Send(o) => o.dry_run,
        };
        let label = self.action_label();
        if dry {
            format!("{label} (dry run)")
        } else {
            label
        }
    }

    fn action_label(&self) -> String {
        match self {
            Work::Generate(_, false) => "Generate statements".into(),
            Work::Generate(_, true) => "Generate and send statements".into(),
            Work::Send(o) if o.pis.is_empty() => "Send unsent statements".into(),
            Work::Send(o) => format!(
                "{} statements to {}",
                if o.resend { "Resend" } else { "Send" },
                o.pis.join(", ")
            ),
        }
    }
}

/// `A statement run for 2025-01 is already in progress (started 10:42 by alice)`.
fn busy_message(st: &AppState, kind: &str, period: &str, job: &JobRecord) -> String {
    let what = if kind == "send" {
        "An email send"
    } else {
        "A statement run"
    };
    let started = chrono::DateTime::parse_from_rfc3339(&job.created_at)
        .map(|t| ocb_journal::export::display_time(st.config.timezone, t.to_utc(), "%H:%M"))
        .unwrap_or_else(|_| job.created_at.clone());
    format!(
        "{what} for {period} is already in progress (started {started} by {})",
        job.username
    )
}

/// Claims the job (refusing a busy (period, kind) or an unknown period) and starts it for a
/// browser session, which gets the job's summary as a flash message.
pub async fn start(st: &AppState, u: &CurrentUser, work: Work) -> Result<i64, AppError> {
    let flash = Some(u.session.id_hash.clone());
    start_as(st, u.actor(), &u.session.username, flash, work).await
}

/// [`start`] for any caller (the JSON API passes no session: its clients poll the job).
pub async fn start_as(
    st: &AppState,
    actor: Actor,
    username: &str,
    flash_session: Option<String>,
    work: Work,
) -> Result<i64, AppError> {
    let (kind, period, label) = (work.kind(), work.period(), work.label());
    let username = username.to_string();
    let st2 = st.clone();
    let job = st
        .db(move |s| {
            if s.period_status(period)?.is_none() {
                return Err(AppError::not_found(format!(
                    "Billing period {period} not found"
                )));
            }
            match s.claim_job(kind, &period.to_string(), &username, &label)? {
                Ok(id) => Ok(id),
                Err(running) => Err(AppError::new(
                    StatusCode::CONFLICT,
                    busy_message(&st2, kind, &period.to_string(), &running),
                )),
            }
        })
        .await?;
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || run(&st2, job, &actor, flash_session.as_deref(), work));
    Ok(job)
}

/// The user-facing text of a failure; internal details go to the log only.
fn describe(e: &StatementsError) -> String {
    match e {
        StatementsError::Store(
            s @ (StoreError::NotFound(_)
            | StoreError::Refused(_)
            | StoreError::Busy
            | StoreError::AmountOutOfRange { .. }),
        ) => s.to_string(),
        StatementsError::Store(_) | StatementsError::Io { .. } => {
            tracing::error!(event = "job.finished", error = %e, "statement job failed");
            "The job failed on the server; the error was logged.".into()
        }
        other => other.to_string(),
    }
}

fn money(st: &AppState, s: &str) -> String {
    st.money(s.parse::<ocb_core::exact::ExactSum>().unwrap_or_default())
}

fn generation_text(st: &AppState, r: &GenerationReport) -> String {
    let mut t = format!(
        "Generated {} {} statements for {} ({} PIs, total {}): {} new, {} updated, {} unchanged, {} removed.",
        r.projects,
        r.kind,
        r.period,
        r.pis,
        money(st, &r.total),
        r.new,
        r.updated,
        r.unchanged,
        r.removed
    );
    if r.excluded_count > 0 {
        t.push_str(&format!(
            " Note: {} excluded ({} charges flagged for review).",
            money(st, &r.excluded_amount),
            r.excluded_count
        ));
    }
    t
}

fn send_text(r: &SendReport) -> String {
    let mut t = format!(
        "Emails for {}: {} sent, {} failed, {} skipped{}.",
        r.period,
        r.sent,
        r.failed,
        r.skipped,
        if r.dev_mode {
            " (dev mode: written to files)"
        } else {
            ""
        }
    );
    for x in r.results.iter().filter(|x| x.result == "failed") {
        t.push_str(&format!(
            " {}: {}.",
            x.recipient,
            x.error.as_deref().unwrap_or("failed")
        ));
    }
    t
}

/// Runs the work; returns (succeeded, flash level, flash text, result).
fn execute(
    st: &AppState,
    store: &mut ocb_store::Store,
    job: i64,
    actor: &Actor,
    work: &Work,
) -> Result<(bool, &'static str, String, JobResult), StatementsError> {
    let progress = StepProgress {
        st: st.clone(),
        id: job,
    };
    let config = &st.config;
    match work {
        Work::Generate(opts, send) => {
            let g = ocb_statements::generate(store, config, actor, opts, &progress)?;
            let mut text = generation_text(st, &g);
            if g.dry_run {
                text.insert_str(0, "Dry run, nothing written: ");
            }
            let mut level = "success";
            // A dry run sends nothing either (as `generate --dry-run --send` on the CLI).
            let emails = if *send && !opts.dry_run {
                let opts = SendOptions {
                    period: opts.period,
                    pis: vec![],
                    resend: false,
                    dry_run: false,
                };
                let r = ocb_statements::send(store, config, actor, &opts, &progress)?;
                text.push(' ');
                text.push_str(&send_text(&r));
                if r.failed > 0 {
                    level = "error";
                }
                Some(r)
            } else {
                None
            };
            Ok((
                true,
                level,
                text,
                JobResult::generation(&g, emails.as_ref()),
            ))
        }
        Work::Send(opts) => {
            let r = ocb_statements::send(store, config, actor, opts, &progress)?;
            let level = if r.failed > 0 { "error" } else { "success" };
            let mut text = send_text(&r);
            if opts.dry_run {
                text.insert_str(0, "Dry run, nothing sent: ");
            }
            Ok((r.failed == 0, level, text, JobResult::emails(&r)))
        }
    }
}

/// The job body (blocking thread): run, record the end, tell the user.
fn run(st: &AppState, job: i64, actor: &Actor, session: Option<&str>, work: Work) {
    let recorded = st
        .open_store()
        .map_err(|e| e.message)
        .and_then(|mut store| {
            let (ok, level, text, result) = match execute(st, &mut store, job, actor, &work) {
                Ok(v) => v,
                Err(e) => {
                    let text = describe(&e);
                    let result = JobResult::failure(&text);
                    (false, "error", text, result)
                }
            };
            tracing::info!(
                event = "job.finished",
                job,
                kind = work.kind(),
                ok,
                "{text}"
            );
            let error = (!ok).then_some(text.as_str());
            // The flash first: the polling page reloads as soon as the job is no longer running.
            let flashed = match session {
                Some(session) => store.push_flash(session, level, &text),
                None => Ok(()),
            };
            let done = flashed
                .and_then(|()| store.finish_job(job, ok, Some(result.value()), error))
                .map_err(|e| e.to_string());
            st.give_back(store);
            done
        });
    if let Err(e) = recorded {
        tracing::error!(event = "job.finished", job, error = %e, "could not record the job's end");
    }
    st.jobs.done(job);
}
