//! What the reader yields per record: a storable row or a rejected record (SPEC §3.7, §5.5).

use crate::diag::{Diagnostic, LineRef};
use chrono::NaiveDate;
use ocb_core::charge::ChargeFields;
use ocb_core::period::Period;
use ocb_core::tags::TagsCell;
use std::sync::Arc;

/// One record of the input.
// Good rows are the common case on the ingest hot path; boxing them would add an allocation per
// row to save moving a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RowResult {
    /// The record can be stored.
    Row(FocusRow),
    /// The record has row errors.
    Rejected(RejectedRecord),
}

/// A good record, fully parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusRow {
    /// Where the record starts.
    pub line: LineRef,
    /// The stored FOCUS fields: canonical UTC dates, exact costs, strings as written, tags JSON
    /// (canonical) or raw text (invalid), `extra` JSON of every other column.
    pub fields: ChargeFields,
    /// The parsed `Tags` cell (shared: identical cells are parsed once per file).
    pub tags: Arc<TagsCell>,
    /// `YYYY-MM` of `BillingPeriodStart` in UTC.
    pub period: Period,
    /// UTC date of `ChargePeriodStart`, else of `BillingPeriodStart` (SPEC §5.3).
    pub charge_date: NaiveDate,
    /// `W_TAGS_INVALID`, `W_PERIOD_END`, `W_OFFSET`; at most one per code.
    pub warnings: Vec<Diagnostic>,
    /// 64-bit hash of the record's cells as read, to find identical rows ([`crate::DuplicateRows`]).
    pub raw_hash: u64,
}

/// A record with row errors, with what rejects.csv needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRecord {
    /// Where the record starts.
    pub line: LineRef,
    /// Every problem found (at least one).
    pub errors: Vec<Diagnostic>,
    /// The fields exactly as read (empty when the record could not be split, see `raw`).
    pub fields: Vec<String>,
    /// The raw record text when it could not be split into fields (unterminated quote, invalid
    /// UTF-8, oversize record); invalid bytes are replaced by U+FFFD.
    pub raw: Option<String>,
    /// The period, when `BillingPeriodStart` still parsed (for per-period counts).
    pub period: Option<Period>,
}

impl RejectedRecord {
    /// All error messages joined by `; ` (the `_reason` column of rejects.csv).
    pub fn reason(&self) -> String {
        self.errors
            .iter()
            .map(|e| match &e.column {
                Some(c) => format!("{c}: {} ({})", e.message, e.code),
                None => format!("{} ({})", e.message, e.code),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl RowResult {
    /// Where the record starts.
    pub fn line(&self) -> &LineRef {
        match self {
            Self::Row(r) => &r.line,
            Self::Rejected(r) => &r.line,
        }
    }

    /// The period, when known.
    pub fn period(&self) -> Option<Period> {
        match self {
            Self::Row(r) => Some(r.period),
            Self::Rejected(r) => r.period,
        }
    }
}
