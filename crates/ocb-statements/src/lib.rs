//! Statement generation and PI email batches (SPEC §8.4–§8.6, §9): the IO around the pure rules
//! of `ocb_core::statement`.
//!
//! A generation run reads a consistent snapshot (billable charges + change counter), computes all
//! statements from the billing lines, renders the PDFs in parallel into a staging directory inside
//! `output.pdf_dir` (each worker holds one PDF at a time), publishes everything in one database
//! transaction that re-checks the change counter, then moves the PDFs into place atomically and
//! deletes the PDFs of vanished statements. A failure anywhere before the commit changes nothing;
//! a crash after it is finished by [`recover`] at the start of the next run.
//!
//! Sending builds one message per PI from the stored statements (their template data), renders
//! the summary templates, and delivers over SMTP or writes dev-mode files, logging every attempt.
//!
//! Must not depend on: the CLI, the web layer.
//!
//! ```no_run
//! # fn demo(store: &mut ocb_store::Store, config: &ocb_config::Config) -> Result<(), ocb_statements::StatementsError> {
//! use ocb_statements::{generate, GenerateOptions, NoProgress};
//! let opts = GenerateOptions::new("2025-01".parse().unwrap());
//! let report = generate(store, config, &ocb_store::Actor::cli("alice"), &opts, &NoProgress)?;
//! println!("{} statements, total {}", report.statements.len(), report.total);
//! # Ok(()) }
//! ```
#![warn(clippy::unwrap_used, clippy::print_stdout)]

mod files;
mod generate;
mod restore;
mod send;
mod settings;
mod summary;

pub use files::recover;
pub use generate::{generate, GenerateOptions, GenerationReport, StatementLine};
pub use send::{send, RecipientResult, SendOptions, SendReport};

use std::path::PathBuf;

/// Errors of generation and sending, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StatementsError {
    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] ocb_store::StoreError),
    /// The statement template could not be loaded.
    #[error("{0}")]
    Renderer(ocb_render::RenderError),
    /// One statement failed to render; the whole run failed and nothing changed.
    #[error("cannot render the statement of {pi} / {project}: {source}")]
    Render {
        /// PI email.
        pi: String,
        /// Project.
        project: String,
        /// Typst's error (file, line, message).
        source: ocb_render::RenderError,
    },
    /// The operation is not possible in the period's state.
    #[error("{0}")]
    Refused(String),
    /// Sending is not configured.
    #[error("{0}")]
    NotConfigured(String),
    /// An email template failed.
    #[error(transparent)]
    Mail(#[from] ocb_mail::MailError),
    /// Filesystem trouble.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Crate result.
pub type Result<T, E = StatementsError> = std::result::Result<T, E>;

pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StatementsError {
    let context = context.into();
    move |source| StatementsError::Io { context, source }
}

/// Progress of a long step (statements rendered, PIs sent). Called from worker threads.
pub trait Progress: Sync {
    /// The step starts with `total` units.
    fn begin(&self, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The step is over.
    fn finish(&self);
}

/// No progress display.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Where a statement's PDF lives.
pub(crate) fn pdf_path(dir: &std::path::Path, name: &str) -> PathBuf {
    dir.join(name)
}
