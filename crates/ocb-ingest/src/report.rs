//! The import report: what the CLI prints, the API returns and the import record stores (§5.12).

use ocb_store::{ImportTotals, PeriodCounts, StoredDiagnostic};
use serde::Serialize;

/// Why an import was refused.
#[derive(Debug, Clone, Serialize)]
pub struct FailureInfo {
    /// `file_error`, `row_errors`, `period_closed`, `period_finalized`, `conflict`, `internal`.
    pub kind: &'static str,
    /// What happened.
    pub message: String,
}

/// The report of one import (or dry run).
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Import id (None for dry runs).
    pub id: Option<i64>,
    /// Artefact directory name.
    pub uuid: String,
    /// `committed`, `failed`, or `dry_run`.
    pub status: String,
    /// True for dry runs.
    pub dry_run: bool,
    /// UTC start time.
    pub created_at: String,
    /// Actor.
    pub actor: String,
    /// Channel.
    pub channel: String,
    /// Canonical source.
    pub source: String,
    /// File name recorded.
    pub filename: String,
    /// Full path.
    pub path: Option<String>,
    /// Input kind.
    pub kind: Option<String>,
    /// Input size.
    pub size_bytes: Option<u64>,
    /// SHA-256 hex.
    pub sha256: Option<String>,
    /// Mode used.
    pub mode: String,
    /// Expected period.
    pub expected_period: Option<String>,
    /// `--skip-invalid`.
    pub skip_invalid: bool,
    /// Counters.
    #[serde(flatten)]
    pub totals: ImportTotals,
    /// Per-period counters.
    pub periods: Vec<PeriodCounts>,
    /// Warnings.
    pub warnings: Vec<StoredDiagnostic>,
    /// Row and file errors (capped at 10,000; `error_count` is exact).
    pub errors: Vec<StoredDiagnostic>,
    /// Exact number of errors.
    pub error_count: u64,
    /// Failure, for refused imports.
    pub failure: Option<FailureInfo>,
    /// Rejects file.
    pub rejects_path: Option<String>,
    /// Error report.
    pub errors_path: Option<String>,
    /// Wall time.
    pub duration_ms: u64,
}

impl ImportReport {
    /// True when nothing went wrong (committed or a dry run that would commit).
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }
}
