//! OpenChargeback web UI (SPEC §12): an axum server rendering minijinja templates, with htmx and
//! a small script for interactivity. Everything it shows comes from `ocb-store`; imports go
//! through `ocb-ingest`, exactly as on the command line.
//!
//! Security lives in [`security`] (sessions, CSRF, headers) and [`auth`] (roles, login). Every
//! route is listed in [`router`] and names its minimum role in its handler's signature.
//!
//! Must not be depended on by any other crate except the binary.
//!
//! ```no_run
//! # async fn run(config: ocb_config::Config) -> Result<(), ocb_web::ServeError> {
//! let state = ocb_web::prepare(config)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await.expect("bind");
//! ocb_web::serve(state, listener, std::future::pending()).await
//! # }
//! ```
#![warn(clippy::unwrap_used, clippy::print_stdout)]
// Rejections are axum `Response`s (the type axum's own extractors reject with); boxing them
// everywhere would only add noise to every handler.
#![allow(clippy::result_large_err)]

pub mod api;
mod assets;
pub mod auth;
mod browse_cache;
mod chart_data;
pub mod charts;
mod details;
mod error;
mod jobs;
mod pages;
pub mod password;
pub mod security;
mod server;
mod services;
mod state;
mod templates;
mod throttle;
mod upload;
mod view;

pub use error::AppError;
pub use pages::router;
/// The account rules shared with the CLI's `users` commands (the rest of the service layer is
/// the web's own).
pub use services::users as user_admin;
pub use state::AppState;
pub use templates::EMBEDDED as EMBEDDED_TEMPLATES;

use ocb_store::{OpenMode, Store};
use std::future::Future;

/// Startup and serving failures.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Configuration refused by `serve` (e.g. no secret outside dev mode).
    #[error("{0}")]
    Config(String),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] ocb_store::StoreError),
    /// Templates or assets could not be loaded.
    #[error("{0}")]
    Setup(String),
    /// The listener failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Everything `serve` does before listening (SPEC §12.1): checks the secret rule, migrates the
/// database, syncs config users, marks interrupted jobs, recovers output files (orphan import
/// artefacts, statement runs, journals and e-mails of interrupted runs).
pub fn prepare(config: ocb_config::Config) -> Result<AppState, ServeError> {
    config
        .check_serve_secret()
        .map_err(|d| ServeError::Config(format!("{}: {}", d.key, d.message)))?;
    let mut store = Store::open(
        &config.database.path,
        OpenMode::Create,
        config.database.busy_timeout_ms,
    )?;
    for w in auth::sync_config_users(&mut store, &config)? {
        tracing::warn!(event = "config.warning", "{w}");
    }
    let interrupted = store.interrupt_stale_jobs()?;
    if interrupted > 0 {
        tracing::warn!(
            event = "job.finished",
            interrupted,
            "jobs of the previous run were interrupted"
        );
    }
    ocb_ingest::clean_orphan_artefacts(&store, &config.output.import_dir)
        .map_err(|e| ServeError::Setup(e.to_string()))?;
    // A statement run cut short by a crash: finish its committed file moves or discard its
    // temporary files (SPEC §8.4 step 7), so every statement row matches its PDF.
    ocb_statements::recover(&store, &config.output.pdf_dir)
        .map_err(|e| ServeError::Setup(e.to_string()))?;
    // Journals and dev-mode e-mails of interrupted exports and sends: finish those whose record
    // committed, delete the others (issue 15).
    store
        .recover_outputs(&[&config.output.journal_dir, &config.output.email_dir])
        .map_err(|e| ServeError::Setup(e.to_string()))?;
    drop(store);
    AppState::new(config).map_err(|e| ServeError::Setup(e.message))
}

/// Serves until `shutdown` completes, then gives in-flight requests `web.shutdown_timeout_seconds`
/// to finish; every connection has the limits of `web.*_timeout_seconds` (see `server`).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let limits = server::Limits::of(&state.config.web);
    server::run(listener, router(state), limits, shutdown).await?;
    Ok(())
}
