//! Run-level failures of a conversion and their exit codes (INTEGRATIONS.md §1.10).
//!
//! Per-item problems are not errors of this type: they land in the report buckets (§1.7) and the
//! exit code is derived from the buckets by [`crate::report::WhatIfReport::exit_code`].

/// Exit codes of `convert` (§1.10). When several apply, the lowest non-zero one wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitCode {
    /// Success.
    Ok = 0,
    /// Internal or output I/O error, uniqueness violation.
    Internal = 1,
    /// Bad arguments.
    Usage = 2,
    /// Bad configuration.
    Config = 3,
    /// Unreadable input or invalid records.
    Input = 4,
    /// `--strict` with unmapped items.
    Strict = 5,
}

impl ExitCode {
    /// The numeric process exit status.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A conversion that cannot produce a truthful result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// Arguments that do not fit together (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Missing or invalid configuration; the message names the file and key (exit 3).
    #[error("configuration error: {0}")]
    Config(String),
    /// The input cannot be read at all (exit 4); per-record problems are report entries instead.
    #[error("input error: {0}")]
    Input(String),
    /// A bug or an output failure (exit 1).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ConvertError {
    /// The exit code of §1.10.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) => ExitCode::Usage,
            Self::Config(_) => ExitCode::Config,
            Self::Input(_) => ExitCode::Input,
            Self::Internal(_) => ExitCode::Internal,
        }
    }

    /// A configuration error.
    pub fn config(msg: impl Into<String>) -> Self {
        Self::Config(msg.into())
    }

    /// An input error.
    pub fn input(msg: impl Into<String>) -> Self {
        Self::Input(msg.into())
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ConvertError>;
