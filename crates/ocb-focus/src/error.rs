//! File errors: the whole input is refused before (or instead of) its rows (SPEC §3.7).

use std::fmt;
use std::path::{Path, PathBuf};

/// What made the input unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileErrorKind {
    /// The file could not be opened or read (also: a read failure in the middle of the stream).
    Unreadable,
    /// The file has no bytes.
    Empty,
    /// No header line (only blank lines, or no line end within the header size limit).
    NoHeader,
    /// The header is not valid UTF-8.
    HeaderEncoding,
    /// A data line longer than the record limit: where the next record starts is unknown.
    LineTooLong,
    /// The content is binary, not CSV text.
    Binary,
    /// `BillingPeriodStart` and/or `BilledCost` is missing.
    MissingColumns,
    /// Two headers map to the same FOCUS column.
    DuplicateColumn,
    /// The compressed stream is corrupt or truncated.
    Compression,
    /// The Parquet file or its schema cannot be read.
    Parquet,
    /// Export directory or manifest problem.
    Directory,
    /// A kind of input this build cannot read.
    Unsupported,
}

impl FileErrorKind {
    /// Stable snake_case name (for reports).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "unreadable",
            Self::Empty => "empty",
            Self::NoHeader => "no_header",
            Self::HeaderEncoding => "header_encoding",
            Self::LineTooLong => "line_too_long",
            Self::Binary => "binary",
            Self::MissingColumns => "missing_columns",
            Self::DuplicateColumn => "duplicate_column",
            Self::Compression => "compression",
            Self::Parquet => "parquet",
            Self::Directory => "directory",
            Self::Unsupported => "unsupported",
        }
    }
}

impl fmt::Display for FileErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The input as a whole cannot be used. `Display`: `aws.csv: missing required column BilledCost`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct FileError {
    /// The input path (or the name given to [`crate::FocusReader::from_reader`]).
    pub path: PathBuf,
    /// Classification.
    pub kind: FileErrorKind,
    /// What is wrong, for people.
    pub message: String,
}

impl FileError {
    /// Builds a file error.
    pub fn new(path: &Path, kind: FileErrorKind, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            kind,
            message: message.into(),
        }
    }

    /// A read failure, worded by where it happened.
    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        Self::new(
            path,
            FileErrorKind::Unreadable,
            format!("cannot read: {err}"),
        )
    }
}

/// Result alias of this crate.
pub type Result<T, E = FileError> = std::result::Result<T, E>;
