//! A charge as ingest produces it: identity, content and attribution (SPEC §5.7, §5.8).
//!
//! Identity and content are compared through 128-bit hashes so that re-import diffing keeps only
//! two small hashes per existing charge in memory.

use crate::attribution::Attribution;
use crate::flags::FlagReason;
use crate::period::Period;
use rust_decimal::Decimal;
use xxhash_rust::xxh3::xxh3_128;

/// A 128-bit hash (identity or content).
pub type Hash128 = [u8; 16];

pub use crate::shared_text::SharedText;

/// The stored FOCUS fields of one row. Dates are canonical RFC 3339 UTC strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChargeFields {
    /// BillingPeriodStart (canonical).
    pub billing_period_start: SharedText,
    /// BillingPeriodEnd (canonical).
    pub billing_period_end: Option<SharedText>,
    /// ChargePeriodStart (canonical).
    pub charge_period_start: Option<SharedText>,
    /// ChargePeriodEnd (canonical).
    pub charge_period_end: Option<SharedText>,
    /// ListCost.
    pub list_cost: Option<Decimal>,
    /// ContractedCost.
    pub contracted_cost: Option<Decimal>,
    /// BilledCost.
    pub billed_cost: Decimal,
    /// EffectiveCost.
    pub effective_cost: Option<Decimal>,
    /// ResourceId.
    pub resource_id: Option<String>,
    /// ResourceName.
    pub resource_name: Option<String>,
    /// ServiceName.
    pub service_name: Option<String>,
    /// ChargeCategory.
    pub charge_category: Option<String>,
    /// ChargeClass.
    pub charge_class: Option<String>,
    /// ChargeDescription.
    pub charge_description: Option<String>,
    /// SkuId.
    pub sku_id: Option<String>,
    /// SkuPriceId.
    pub sku_price_id: Option<String>,
    /// Canonical tags JSON (object), when the cell held one.
    pub tags_json: Option<SharedText>,
    /// The verbatim cell when `Tags` was not a JSON object.
    pub tags_raw: Option<String>,
    /// Every other column as a JSON object `{header: value-or-null}`, `None` when there were none.
    pub extra_json: Option<String>,
}

impl ChargeFields {
    /// Identity hash of the row within its (source, period): the tuple of SPEC §5.7 without
    /// source and period, nulls as empty strings.
    pub fn identity_hash(&self) -> Hash128 {
        let sku = self.sku_price_id.as_deref().or(self.sku_id.as_deref());
        let mut h = Buf::take();
        for part in [
            self.resource_id.as_deref(),
            self.charge_period_start.as_deref(),
            self.charge_period_end.as_deref(),
            self.charge_category.as_deref(),
            self.charge_class.as_deref(),
            sku,
            self.charge_description.as_deref(),
        ] {
            h.feed(part);
        }
        h.digest()
    }

    /// Content hash: everything derived from the row except the identity key. Costs compare as
    /// numbers (`1.50` = `1.5`); flags and review state are not content.
    pub fn content_hash(&self) -> Hash128 {
        let mut h = Buf::take();
        let strings = [
            Some(&*self.billing_period_start),
            self.billing_period_end.as_deref(),
            self.resource_name.as_deref(),
            self.service_name.as_deref(),
            self.sku_id.as_deref(),
            self.sku_price_id.as_deref(),
            self.tags_json.as_deref(),
            self.tags_raw.as_deref(),
            self.extra_json.as_deref(),
        ];
        for s in strings {
            h.feed(s);
        }
        for cost in [
            self.list_cost,
            self.contracted_cost,
            Some(self.billed_cost),
            self.effective_cost,
        ] {
            match cost {
                None => h.0.push(0),
                Some(c) => {
                    h.0.push(1);
                    h.0.extend_from_slice(&normalized(c).serialize());
                }
            }
        }
        h.digest()
    }
}

/// `d.normalize()`, skipping its division loop when there is no trailing zero to strip (the
/// common case; the loop was a third of the content hash's cost). Zero always takes
/// `normalize`, which also clears a negative zero's sign.
fn normalized(d: Decimal) -> Decimal {
    match i64::try_from(d.mantissa()) {
        Ok(m) if d.scale() == 0 || m % 10 != 0 => d,
        _ => d.normalize(),
    }
}

thread_local! {
    /// The hash buffer, reused by every row of a thread (an allocation per hash otherwise).
    static BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Length-prefixed fields in one buffer, hashed in one call (streaming xxh3 over many tiny
/// slices cost 6% of ingest time).
struct Buf(Vec<u8>);

impl Buf {
    /// The thread's buffer, empty; given back when dropped.
    fn take() -> Buf {
        let mut v = BUF.take();
        v.clear();
        Buf(v)
    }

    fn feed(&mut self, part: Option<&str>) {
        match part {
            None => self.0.push(0),
            Some(s) => {
                self.0.push(1);
                self.0.extend_from_slice(&(s.len() as u64).to_le_bytes());
                self.0.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn digest(&self) -> Hash128 {
        xxh3_128(&self.0).to_le_bytes()
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        BUF.set(std::mem::take(&mut self.0));
    }
}

/// One ingested row, ready to store.
#[derive(Debug, Clone)]
pub struct NewCharge {
    /// Physical line (CSV) or row number (Parquet) where the record starts.
    pub line: u64,
    /// The row's billing period.
    pub period: Period,
    /// Stored FOCUS fields.
    pub fields: ChargeFields,
    /// Identity hash (without occurrence).
    pub key_hash: Hash128,
    /// Occurrence number of the identity tuple in this file, from 1.
    pub occurrence: u32,
    /// Content hash.
    pub content_hash: Hash128,
    /// Attributed values from tags (shared: rows with the same tags share one attribution).
    pub attribution: std::sync::Arc<Attribution>,
    /// Flag reasons computed at ingest (without `changed_after_review`, decided by the diff).
    pub reasons: Vec<FlagReason>,
}

/// Review state of a stored charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReviewState {
    /// Never flagged (or cleared).
    None,
    /// Flagged, awaiting review.
    Pending,
    /// Approved after being flagged.
    Approved,
    /// Rejected (soft exclusion).
    Rejected,
}

impl ReviewState {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn fields() -> ChargeFields {
        ChargeFields {
            billing_period_start: "2025-01-01T00:00:00Z".into(),
            billed_cost: Decimal::from_str("1.50").expect("decimal"),
            resource_id: Some("r1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn costs_compare_as_numbers() {
        let mut other = fields();
        other.billed_cost = Decimal::from_str("1.5").expect("decimal");
        assert_eq!(fields().content_hash(), other.content_hash());
        other.billed_cost = Decimal::from_str("1.51").expect("decimal");
        assert_ne!(fields().content_hash(), other.content_hash());
    }

    #[test]
    fn null_and_empty_resource_share_identity_but_fields_do_not_run_together() {
        let mut a = fields();
        a.resource_id = None;
        let mut b = fields();
        b.resource_id = Some("".into());
        // Null and empty are distinct inputs to the hash; the spec's tuple maps null to empty,
        // which the reader does before building fields (empty cells are null).
        assert_ne!(a.identity_hash(), b.identity_hash());
        let mut c = fields();
        c.resource_id = Some("ab".into());
        c.charge_period_start = Some("c".into());
        let mut d = fields();
        d.resource_id = Some("a".into());
        d.charge_period_start = Some("bc".into());
        assert_ne!(c.identity_hash(), d.identity_hash());
    }

    #[test]
    fn sku_price_id_wins_over_sku_id() {
        let mut a = fields();
        a.sku_id = Some("S".into());
        a.sku_price_id = Some("P".into());
        let mut b = fields();
        b.sku_price_id = Some("P".into());
        assert_eq!(a.identity_hash(), b.identity_hash());
    }

    proptest::proptest! {
        /// The shortcut normalises exactly as `normalize` does (stored content hashes of earlier
        /// imports must not change), zero and negative zero included.
        #[test]
        fn shortcut_normalises_like_normalize(m in -10_i64.pow(15)..10_i64.pow(15), scale in 0u32..12, negative_zero: bool) {
            let mut d = Decimal::new(m, scale);
            if negative_zero && m == 0 {
                d.set_sign_negative(true);
            }
            proptest::prop_assert_eq!(normalized(d).serialize(), d.normalize().serialize());
        }
    }

    const PINNED_CONTENT_HASH: &str = "90ecc5994e5145ce28f695807d62fa97";
    const PINNED_IDENTITY_HASH: &str = "4a1969d3a0499c23c880dfa221dd6de9";

    #[test]
    fn content_hash_is_stable() {
        // Pinned: the hash stored with every charge; a change here re-flags every re-import.
        let mut f = fields();
        f.list_cost = Some(Decimal::new(1050, 2));
        f.billed_cost = Decimal::new(1000, 2);
        assert_eq!(hex::encode(f.content_hash()), PINNED_CONTENT_HASH);
        assert_eq!(hex::encode(f.identity_hash()), PINNED_IDENTITY_HASH);
    }
}
