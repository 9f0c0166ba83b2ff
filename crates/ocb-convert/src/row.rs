//! The 12-column lite-FOCUS row, its Tags (fixed key order) and ResourceId encoding
//! (INTEGRATIONS.md §1.3, §1.5, §1.6).

use crate::money::r2;
use chrono::NaiveDate;
use ocb_core::period::Period;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// The header of every converter output, in order.
pub const HEADER: [&str; 12] = [
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ListCost",
    "ContractedCost",
    "BilledCost",
    "EffectiveCost",
    "ResourceId",
    "ResourceName",
    "ServiceName",
    "Tags",
];

/// Tags in a fixed key order: the three core keys always, other keys only when non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    /// `pi_email`, `project_id`, `fund_org` (always present, `""` when unknown).
    pub fn core(pi_email: &str, project_id: &str, fund_org: &str) -> Self {
        Self::core_named(
            ["pi_email", "project_id", "fund_org"],
            [pi_email, project_id, fund_org],
        )
    }

    /// The three core keys under configured names (Azure Local `focusTags`).
    pub fn core_named(keys: [&str; 3], values: [&str; 3]) -> Self {
        Self(
            keys.iter()
                .zip(values)
                .map(|(k, v)| ((*k).to_string(), v.trim().to_string()))
                .collect(),
        )
    }

    /// Appends `key` when `value` is non-empty after trimming.
    pub fn opt(mut self, key: &str, value: Option<&str>) -> Self {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            self.0.push((key.to_string(), v.to_string()));
        }
        self
    }

    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The pairs in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// As a JSON object in key order.
    pub fn to_value(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect::<Map<String, Value>>(),
        )
    }

    /// Compact JSON (`serde_json::to_string` style).
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

/// `<prefix>:<c1>:…:<last>`: every component but the last has `%` → `%25` and `:` → `%3A`.
pub fn resource_id(prefix: &str, parts: &[&str]) -> String {
    let mut out = prefix.to_string();
    for (i, p) in parts.iter().enumerate() {
        out.push(':');
        if i + 1 == parts.len() {
            out.push_str(p);
        } else {
            out.push_str(&p.replace('%', "%25").replace(':', "%3A"));
        }
    }
    out
}

/// One output row. Amounts are stored rounded (2 places, half-even), each rounded once.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusLiteRow {
    /// First day of the billing period.
    pub billing_period_start: NaiveDate,
    /// Last day of the billing period (inclusive).
    pub billing_period_end: NaiveDate,
    /// Start of the charge window.
    pub charge_period_start: NaiveDate,
    /// End of the charge window.
    pub charge_period_end: NaiveDate,
    /// Full-rate price.
    pub list_cost: Decimal,
    /// Contracted price.
    pub contracted_cost: Decimal,
    /// What the fund pays.
    pub billed_cost: Decimal,
    /// = billed.
    pub effective_cost: Decimal,
    /// Unique with the charge start.
    pub resource_id: String,
    /// Human-readable name.
    pub resource_name: String,
    /// Service name.
    pub service_name: String,
    /// Tags.
    pub tags: Tags,
    /// Kind-specific working values for the report `_meta` (never in the CSV).
    pub meta: Map<String, Value>,
}

impl FocusLiteRow {
    /// A whole-period row from exact list and billed values (ContractedCost = list,
    /// EffectiveCost = billed).
    pub fn new(
        period: Period,
        resource_id: String,
        resource_name: String,
        service_name: String,
        list_exact: Decimal,
        billed_exact: Decimal,
        tags: Tags,
    ) -> Self {
        let list = r2(list_exact);
        let billed = r2(billed_exact);
        Self {
            billing_period_start: period.first_day(),
            billing_period_end: period.last_day(),
            charge_period_start: period.first_day(),
            charge_period_end: period.last_day(),
            list_cost: list,
            contracted_cost: list,
            billed_cost: billed,
            effective_cost: billed,
            resource_id,
            resource_name,
            service_name,
            tags,
            meta: Map::new(),
        }
    }

    /// Sets the charge window.
    pub fn charge_period(mut self, start: NaiveDate, end: NaiveDate) -> Self {
        self.charge_period_start = start;
        self.charge_period_end = end;
        self
    }

    /// Cloud kinds: ContractedCost and EffectiveCost = BilledCost (§3.2, §3.3).
    pub fn contracted_is_billed(mut self) -> Self {
        self.contracted_cost = self.billed_cost;
        self
    }

    /// Attaches `_meta`.
    pub fn with_meta(mut self, meta: Map<String, Value>) -> Self {
        self.meta = meta;
        self
    }

    /// The 12 cells as printed.
    pub fn cells(&self) -> [String; 12] {
        let d = |x: NaiveDate| x.format("%Y-%m-%d").to_string();
        let m = crate::money::fmt2;
        [
            d(self.billing_period_start),
            d(self.billing_period_end),
            d(self.charge_period_start),
            d(self.charge_period_end),
            m(self.list_cost),
            m(self.contracted_cost),
            m(self.billed_cost),
            m(self.effective_cost),
            self.resource_id.clone(),
            self.resource_name.clone(),
            self.service_name.clone(),
            self.tags.to_json(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_id_escapes_all_but_the_last_component() {
        assert_eq!(resource_id("slurm", &["a:b%", "c:d"]), "slurm:a%3Ab%25:c:d");
        assert_eq!(resource_id("isilon", &["/ifs/x"]), "isilon:/ifs/x");
    }

    #[test]
    fn optional_tags_only_when_non_empty_and_in_order() {
        let t = Tags::core("a@x.edu", "p", "")
            .opt("cost_center", Some("  "))
            .opt("end_date", Some("2025-01-01"))
            .opt("z", None);
        assert_eq!(
            t.to_json(),
            r#"{"pi_email":"a@x.edu","project_id":"p","fund_org":"","end_date":"2025-01-01"}"#
        );
    }

    #[test]
    fn tags_are_compact_utf8_without_slash_escapes() {
        let t = Tags::core("ü@x.edu", "a/b", "q\"");
        assert_eq!(
            t.to_json(),
            r#"{"pi_email":"ü@x.edu","project_id":"a/b","fund_org":"q\""}"#
        );
    }
}
