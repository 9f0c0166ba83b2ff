//! CLI errors: a message for people, a code for `--json`, and an exit status.

use serde_json::json;
use std::process::ExitCode;

/// A failed command.
#[derive(Debug)]
pub struct CliError {
    /// Exit status: 1 (error or refusal) or 2 (usage).
    pub exit: u8,
    /// JSON error code (`usage`, `config`, `not_found`, `period_state`, `file_rejected`, …).
    pub code: &'static str,
    /// The message, whole cause chain included.
    pub message: String,
    /// Extra structured details for `--json`.
    pub details: serde_json::Value,
}

impl CliError {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: 2,
            code: "usage",
            message: message.into(),
            details: json!(null),
        }
    }

    /// An error with exit 1 and a JSON code.
    pub fn fail(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            exit: 1,
            code,
            message: message.into(),
            details: json!(null),
        }
    }

    /// Prints the error (JSON document on stdout with `--json`, else `error: …` on stderr).
    pub fn report(&self, json: bool) -> ExitCode {
        if json {
            let doc = json!({"error": {"code": self.code, "message": self.message, "details": self.details}});
            println!("{doc}");
        } else {
            eprintln!("error: {}", self.message);
        }
        ExitCode::from(self.exit)
    }
}

impl From<ocb_store::StoreError> for CliError {
    fn from(e: ocb_store::StoreError) -> Self {
        use ocb_store::StoreError as S;
        let code = match &e {
            S::Busy => "busy",
            S::NotFound(_) => "not_found",
            S::Refused(_) => "period_state",
            S::ForeignDatabase(_) => "config",
            _ => "internal",
        };
        Self::fail(code, e.to_string())
    }
}

impl From<ocb_ingest::IngestError> for CliError {
    fn from(e: ocb_ingest::IngestError) -> Self {
        match e {
            ocb_ingest::IngestError::Store(s) => s.into(),
            ocb_ingest::IngestError::SourceName { .. } => Self::usage(e.to_string()),
            other => Self::fail("internal", other.to_string()),
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        Self::fail("internal", format!("{e:#}"))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::fail("internal", e.to_string())
    }
}
