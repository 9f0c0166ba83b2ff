//! OpenChargeback journal export (SPEC §10): the built-in CSV formats `default`, `standard`,
//! `summary`, `gl` and `gl-upstream` (the Python web UI's GL columns), and `template` (a
//! Jinja2-compatible template over the GL entries).
//!
//! Every format is built from the billing lines of `ocb_core::billing`, so journals reconcile
//! with statements to the cent; the GL algorithm balances by construction and an unbalanced
//! journal is never written. [`export::export_journal`] reads the period's charges from the store,
//! renders, writes the file and records the export (audit `export.journal`).
//!
//! Must not depend on: web, PDF, mail.
//!
//! ```
//! use ocb_journal::Format;
//! assert_eq!("gl".parse::<Format>().unwrap(), Format::Gl);
//! assert!("banner".parse::<Format>().is_err());
//! ```
#![warn(clippy::unwrap_used, clippy::print_stdout)]

pub mod csv_out;
pub mod description;
pub mod export;
pub mod formats;
pub mod fund_org;
pub mod gl;
pub mod jinja;
pub mod template;

pub use export::{export_journal, ExportOutcome, ExportRecord, ExportRequest, OutputTarget};
pub use gl::{build_gl, CreditFundOrgs, EntryKind, GlEntry, GlJournal, Side, CLEARING_FUND_ORG};

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// Journal formats (SPEC §10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Upstream CLI format: per (PI, project, fund/org, service).
    Default,
    /// One row per charge.
    Standard,
    /// Per (PI, project, fund/org).
    Summary,
    /// Built-in balanced ledger.
    Gl,
    /// The Python web UI's GL export: `period,account,description,debit,credit`.
    GlUpstream,
    /// The operator's template over the GL entries.
    Template,
}

impl Format {
    /// All formats, in documentation order.
    pub const ALL: [Format; 6] = [
        Format::Default,
        Format::Standard,
        Format::Summary,
        Format::Gl,
        Format::GlUpstream,
        Format::Template,
    ];

    /// The CLI/API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Default => "default",
            Format::Standard => "standard",
            Format::Summary => "summary",
            Format::Gl => "gl",
            Format::GlUpstream => "gl-upstream",
            Format::Template => "template",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown journal format '{s}' (use default, standard, summary, gl, gl-upstream or template)"
                )
            })
    }
}

/// Why an export failed. Nothing is written in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The period does not exist.
    #[error("Billing period {0} not found")]
    PeriodNotFound(String),
    /// Accounts that do not fully match `journal.account_code_regex` (SPEC §10.8).
    #[error("GL accounts do not match journal.account_code_regex '{pattern}': {}", .offending.join("; "))]
    InvalidAccounts {
        /// The configured pattern.
        pattern: String,
        /// `account 'X' (fund/org F, source S)` per offending entry.
        offending: Vec<String>,
    },
    /// Debits and credits differ (a bug: the algorithm balances by construction).
    #[error("journal does not balance: debits {debit}, credits {credit}; nothing written")]
    Unbalanced {
        /// Σ debits.
        debit: Decimal,
        /// Σ credits.
        credit: Decimal,
    },
    /// The configured template file does not exist.
    #[error("journal template '{name}' not found in {dir}")]
    TemplateNotFound {
        /// Template file name.
        name: String,
        /// Directory searched.
        dir: String,
    },
    /// A template syntax or render error.
    #[error("journal template '{name}'{}: {message}", .line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Template {
        /// Template file name.
        name: String,
        /// Line of the error.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// Reading charges or recording the export failed.
    #[error(transparent)]
    Store(#[from] ocb_store::StoreError),
    /// Writing the file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl JournalError {
    /// The `--json` error code of the CLI.
    pub fn code(&self) -> &'static str {
        match self {
            JournalError::PeriodNotFound(_) | JournalError::TemplateNotFound { .. } => "not_found",
            JournalError::InvalidAccounts { .. } => "not_configured",
            JournalError::Template { .. } => "validation_failed",
            JournalError::Store(ocb_store::StoreError::Busy) => "busy",
            _ => "internal",
        }
    }
}
