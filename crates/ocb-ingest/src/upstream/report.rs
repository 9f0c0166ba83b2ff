//! The report of `db import-upstream`: what was brought over per table, and what could not be,
//! each with its reason (SPEC §15.2: nothing disappears without a word).

use serde::Serialize;
use std::collections::BTreeMap;

/// Converted amounts listed at most (the count stays exact).
const MAX_LISTED_AMOUNTS: usize = 100;

/// Something that was not brought over.
#[derive(Debug, Clone, Serialize)]
pub struct Loss {
    /// What (`charges`, `statement PDFs`, …).
    pub what: String,
    /// How many; `None` when nobody can know (rows the Python project never stored).
    pub count: Option<u64>,
    /// Why, and what to do about it.
    pub reason: String,
}

/// An amount with more than ten decimal places (a float sum the Python project stored).
#[derive(Debug, Clone, Serialize)]
pub struct PreciseAmount {
    /// `charges.billed_cost` …
    pub column: String,
    /// Upstream row id.
    pub id: i64,
    /// The exact decimal imported.
    pub value: String,
}

/// `db import-upstream`'s outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpstreamReport {
    /// The Python database.
    pub source: String,
    /// Its schema version.
    pub schema_version: i64,
    /// Rows written per table of ours.
    pub brought_over: BTreeMap<String, u64>,
    /// What was not, with reasons.
    pub not_brought_over: Vec<Loss>,
    /// Facts worth knowing that lose nothing.
    pub notes: Vec<String>,
    /// Amounts with more than ten decimal places (first 100).
    pub precise_amounts: Vec<PreciseAmount>,
    /// Their exact count.
    pub precise_amount_count: u64,
    /// Wall time.
    pub duration_ms: u64,
}

impl UpstreamReport {
    /// Adds `n` losses of one kind, merging with an earlier entry of the same kind and reason.
    pub(crate) fn lose(&mut self, what: &str, n: u64, reason: &str) {
        match self
            .not_brought_over
            .iter_mut()
            .find(|l| l.what == what && l.reason == reason)
        {
            Some(l) => l.count = l.count.map(|c| c + n),
            None => self.not_brought_over.push(Loss {
                what: what.into(),
                count: Some(n),
                reason: reason.into(),
            }),
        }
    }

    /// Records an amount with more than ten decimal places.
    pub(crate) fn precise(&mut self, column: &str, id: i64, value: String) {
        self.precise_amount_count += 1;
        if self.precise_amounts.len() < MAX_LISTED_AMOUNTS {
            self.precise_amounts.push(PreciseAmount {
                column: column.into(),
                id,
                value,
            });
        }
    }
}
