//! Reader-side work for each row: attribution, flag reasons, identity and occurrence numbers.
//!
//! Runs on the reader thread so the writer thread only diffs and writes.

use crate::IngestSettings;
use ocb_core::attribution::{attribute, Attribution};
use ocb_core::charge::{Hash128, NewCharge, SharedText};
use ocb_core::fast_map::FastMap;
use ocb_core::flags::{compute_flags, FlagInput};
use ocb_core::period::Period;
use ocb_focus::{Code, Diagnostic, FocusRow};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Turns reader rows into charges ready to diff.
pub(crate) struct Preparer<'a> {
    settings: &'a IngestSettings,
    expected: Option<Period>,
    occurrences: HashMap<(Period, Hash128), u32, BuildHasherDefault<FirstBytes>>,
    /// Attribution by canonical tags JSON: tag sets repeat across rows (see the reader's tag
    /// cache), and the candidate-key lookups were the largest per-row cost of this stage.
    attributions: FastMap<SharedText, Attribution>,
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
        }
    }

    /// Builds the charge; appends tag-date warnings to the row's own warnings.
    pub fn prepare(&mut self, row: FocusRow) -> (NewCharge, Vec<Diagnostic>) {
        let FocusRow {
            line,
            fields,
            tags,
            period,
            charge_date,
            mut warnings,
        } = row;
        let attribution = match (&fields.tags_json, tags.object()) {
            (Some(json), Some(object)) => match self.attributions.get(&**json) {
                Some(a) => a.clone(),
                None => {
                    let a = attribute(Some(object), &self.settings.tag_mapping);
                    if self.attributions.len() >= ATTRIBUTION_CACHE_ENTRIES {
                        self.attributions.clear();
                    }
                    self.attributions.insert(json.clone(), a.clone());
                    a
                }
            },
            (_, object) => attribute(object, &self.settings.tag_mapping),
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
        };
        let reasons = compute_flags(&input, &self.settings.rules);
        let key_hash = fields.identity_hash();
        let occurrence = {
            let n = self.occurrences.entry((period, key_hash)).or_insert(0);
            *n += 1;
            *n
        };
        // The content hash is computed by the consuming thread (`Run::row`), which has time to
        // spare while this one is the pipeline's bottleneck.
        let content_hash = Hash128::default();
        let charge = NewCharge {
            line: line.n,
            period,
            fields,
            key_hash,
            occurrence,
            content_hash,
            attribution,
            reasons,
        };
        (charge, warnings)
    }
}
