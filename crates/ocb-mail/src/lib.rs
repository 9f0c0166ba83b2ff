//! OpenChargeback email (SPEC §9): the PI summary templates (Jinja2-compatible, minijinja), RFC 5322
//! messages with a text+HTML alternative and PDF attachments (lettre's builder), delivery over SMTP
//! (lettre's client over rustls with bundled webpki roots: no OpenSSL, no system store) with
//! connection reuse, timeouts and retries, and the dev-mode `.eml` + `.html` files.
//!
//! This crate takes view models and rendered messages; it knows nothing of the database, of
//! statements or of periods beyond the strings it is given.
//!
//! ```no_run
//! use ocb_mail::{build_message, Attachment, OutgoingEmail};
//! let email = OutgoingEmail {
//!     from_name: "Research Computing Billing".into(),
//!     from_address: "billing@example.edu".into(),
//!     to: "pi@example.edu".into(),
//!     subject: "Research Computing Charges - 2025-01".into(),
//!     text: "Your statements are attached.".into(),
//!     html: "<p>Your statements are attached.</p>".into(),
//!     attachments: vec![Attachment { filename: "a.pdf".into(), content: b"%PDF-1.7".to_vec() }],
//! };
//! let built = build_message(&email, chrono::Utc::now()).unwrap();
//! assert!(built.message_id.ends_with("@example.edu>"));
//! ```
#![warn(clippy::unwrap_used, clippy::print_stdout)]

mod devmode;
pub mod jinja;
mod message;
mod smtp;
mod summary;
mod templates;

pub use devmode::{recipient_slug, stage_dev_files, DevFiles, StagedDevFiles};
pub use message::{build_message, Attachment, BuiltMessage, OutgoingEmail};
pub use smtp::{Security, SendReport, SmtpMailer, SmtpSettings};
pub use summary::{ChargeSummary, EmailSummary, ProjectSummary, StatementRef};
pub use templates::{EmailTemplates, HTML_TEMPLATE, TEXT_TEMPLATE};

/// Email errors, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A template did not compile or failed to render (file, line, message).
    #[error("{name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Template {
        /// Template file name.
        name: String,
        /// Line, when known.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// An address or header could not be used.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// Filesystem trouble (dev-mode files, template files).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Crate result.
pub type Result<T, E = MailError> = std::result::Result<T, E>;
