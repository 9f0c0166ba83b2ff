//! Reader-side work for each row: attribution, flag reasons, identity and occurrence numbers.
//!
//! Runs on the reader thread so the writer thread only diffs and writes.

use crate::IngestSettings;
use ocb_core::attribution::{attribute, Attribution};
use ocb_core::charge::{Hash128, NewCharge, SharedText};
use ocb_core::fast_map::FastMap;
use ocb_core::flags::{compute_flags, FlagInput};
use ocb_core::period::Period;
use ocb_focus::{duplicate_message, Code, Diagnostic, DuplicateRows, FocusRow};
use ocb_store::PreparedCharge;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Turns reader rows into charges ready to diff.
pub(crate) struct Preparer<'a> {
    settings: &'a IngestSettings,
    expected: Option<Period>,
    occurrences: HashMap<(Period, Hash128), u32, BuildHasherDefault<FirstBytes>>,
    /// Attribution by canonical tags JSON: tag sets repeat across rows (see the reader's tag
    /// cache), and the candidate-key lookups were the largest per-row cost of this stage.
    attributions: FastMap<SharedText, Arc<Attribution>>,
    /// Rows seen, to flag identical ones (issue 17).
    duplicates: DuplicateRows,
}

/// The first of identical rows, to be flagged `possible_duplicate` by the writer once the later
/// copy was read (the first was sent to the writer before anyone knew).
#[derive(Debug, Clone)]
pub(crate) struct FirstCopy {
    /// Identical rows share the period and identity of the later copy.
    pub period: Period,
    pub key_hash: Hash128,
    /// Line (or row) number of the first copy.
    pub line: u64,
    /// Its billed cost (the same as the later copy's), for the flagged totals.
    pub billed_cost: ocb_core::Decimal,
    /// `lines 12 and 57 are identical`.
    pub message: String,
}

const ATTRIBUTION_CACHE_ENTRIES: usize = 8192;

/// Upper bound of the identity table's reservation (about 100 MB at 4 million rows).
const MAX_RESERVED_ROWS: u64 = 4_000_000;

/// The keys are already 128-bit hashes: use their first bytes instead of SipHash.
#[derive(Default)]
struct FirstBytes(u64);

impl Hasher for FirstBytes {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
}

impl<'a> Preparer<'a> {
    /// `input_bytes`: the input's size on disk, to size the identity table once instead of
    /// doubling it (and copying it) twenty times over a million-row file.
    pub fn new(settings: &'a IngestSettings, expected: Option<Period>, input_bytes: u64) -> Self {
        // A lite row is rarely under 150 bytes: this rarely over-reserves, and a compressed
        // or wider file just grows the table as before.
        let rows = (input_bytes / 150).min(MAX_RESERVED_ROWS) as usize;
        Self {
            settings,
            expected,
            occurrences: HashMap::with_capacity_and_hasher(rows, Default::default()),
            attributions: FastMap::default(),
            duplicates: DuplicateRows::with_capacity(rows),
        }
    }

    /// Builds the charge; appends tag-date and duplicate warnings to the row's own warnings.
    /// For a row identical to an earlier one, also returns the earlier row to flag.
    ///
    /// The charge is built straight into its box: moving the ~1 KB structs through the return
    /// value, the wrapper and then the heap was a tenth of this thread's time (memory copies).
    pub fn prepare(
        &mut self,
        row: FocusRow,
    ) -> (Box<PreparedCharge>, Vec<Diagnostic>, Option<FirstCopy>) {
        let FocusRow {
            line,
            fields,
            tags,
            period,
            charge_date,
            mut warnings,
            raw_hash,
        } = row;
        let first = self.duplicates.check(raw_hash, &line);
        let attribution = match (&fields.tags_json, tags.object()) {
            (Some(json), Some(object)) => match self.attributions.get(&**json) {
                Some(a) => a.clone(),
                None => {
                    let a = Arc::new(attribute(Some(object), &self.settings.tag_mapping));
                    if self.attributions.len() >= ATTRIBUTION_CACHE_ENTRIES {
                        self.attributions.clear();
                    }
                    self.attributions.insert(json.clone(), a.clone());
                    a
                }
            },
            (_, object) => Arc::new(attribute(object, &self.settings.tag_mapping)),
        };
        for (field, value) in &attribution.bad_dates {
            warnings.push(Diagnostic::new(
                line.clone(),
                Some("Tags"),
                Some(value),
                Code::WTagDate,
                format!("{field} tag is not a date; the lifecycle check is skipped for this row"),
            ));
        }
        let input = FlagInput {
            pi_email: attribution.pi_email.as_deref(),
            project_id: attribution.project_id.as_deref(),
            fund_org: attribution.fund_org.as_deref(),
            charge_date: Some(charge_date),
            end_date: attribution.end_date,
            reconciliation_end: attribution.reconciliation_end,
            service_name: fields.service_name.as_deref(),
            resource_id: fields.resource_id.as_deref(),
            resource_name: fields.resource_name.as_deref(),
            period_mismatch: self.expected.is_some_and(|e| e != period),
            changed_after_review: false,
            possible_duplicate: first.is_some(),
        };
        let reasons = compute_flags(&input, &self.settings.rules);
        let key_hash = fields.identity_hash();
        let first = first.map(|first| {
            let message = duplicate_message(&first, &line);
            warnings.push(Diagnostic::new(
                line.clone(),
                None,
                None,
                Code::WDuplicateRow,
                format!("{message}; both are kept and flagged possible_duplicate"),
            ));
            FirstCopy {
                period,
                key_hash,
                line: first.n,
                billed_cost: fields.billed_cost,
                message,
            }
        });
        // Numbered by `number`, a batch at a time.
        let occurrence = 0;
        // The content hash is computed by whichever thread has time (see `apply::hash_contents`).
        let content_hash = Hash128::default();
        let charge = Box::new(PreparedCharge::new(NewCharge {
            line: line.n,
            period,
            fields,
            key_hash,
            occurrence,
            content_hash,
            attribution,
            reasons,
        }));
        (charge, warnings, first)
    }

    /// Numbers the occurrences of each identity, in file order.
    ///
    /// A separate pass over a batch of prepared charges: the identity table holds an entry per
    /// charge (tens of MB at a million rows), so nearly every lookup misses the caches. In a
    /// short loop with nothing else to do, the processor overlaps several of those misses; one
    /// lookup per row amid the row's other work waited for each miss in turn.
    pub fn number<'c>(&mut self, charges: impl Iterator<Item = &'c mut NewCharge>) {
        for c in charges {
            let n = self.occurrences.entry((c.period, c.key_hash)).or_insert(0);
            *n += 1;
            c.occurrence = *n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocb_core::charge::ChargeFields;

    fn charge(period: &str, resource: &str) -> NewCharge {
        let fields = ChargeFields {
            billing_period_start: format!("{period}-01T00:00:00Z").into(),
            resource_id: Some(resource.into()),
            ..Default::default()
        };
        NewCharge {
            line: 2,
            period: period.parse().expect("period"),
            key_hash: fields.identity_hash(),
            fields,
            occurrence: 0,
            content_hash: Hash128::default(),
            attribution: Arc::default(),
            reasons: Vec::new(),
        }
    }

    #[test]
    fn occurrences_count_per_identity_and_period_across_batches() {
        let settings = IngestSettings::default();
        let mut prep = Preparer::new(&settings, None, 0);
        let mut first = vec![
            charge("2025-01", "r1"),
            charge("2025-01", "r2"),
            charge("2025-01", "r1"),
        ];
        prep.number(first.iter_mut());
        let mut second = vec![charge("2025-01", "r1"), charge("2025-02", "r1")];
        prep.number(second.iter_mut());
        let numbers = |v: &[NewCharge]| v.iter().map(|c| c.occurrence).collect::<Vec<_>>();
        assert_eq!(numbers(&first), [1, 1, 2]);
        assert_eq!(numbers(&second), [3, 1]);
    }
}
