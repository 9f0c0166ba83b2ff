//! The output row, its Tags (fixed key order) and ResourceId encoding (INTEGRATIONS.md §1.3,
//! §1.5, §1.6).
//!
//! Every converter writes the 12 lite columns of §1.3 first, in their order, followed by the
//! other mandatory FOCUS 1.0–1.2 columns, with dates in FOCUS form (`2025-01-01T00:00:00Z`) and
//! exclusive ends (`BillingPeriodEnd` = first day of the next month, as FOCUS defines it), so
//! the output passes `validate --strict` (issue 15, item 8b; INTEGRATIONS §1.3 printed the
//! inclusive last day, which strict validation rejects). `docs/integrations/README.md` lists
//! the values.

use crate::kind::Kind;
use crate::money::r2;
use chrono::NaiveDate;
use ocb_core::period::Period;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// The header of every converter output, in order: the 12 lite columns (§1.3), then the other
/// mandatory FOCUS columns (SPEC §3.8 S1).
pub const HEADER: [&str; 24] = [
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
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "InvoiceIssuerName",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
];

/// The FOCUS columns beyond the lite twelve. An empty field takes the kind's default when the
/// conversion finishes ([`FocusColumns::for_kind`]); the cloud kinds set what their bill says.
/// `ChargeClass`, `ChargeDescription`, `PricingQuantity` and `PricingUnit` are written null:
/// FOCUS allows it, and `ChargeDescription` and `ChargeClass` are part of the ingest identity,
/// which should not change with wording.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FocusColumns {
    /// `BillingAccountId`: the account the bill is for (default: the source name).
    pub billing_account_id: String,
    /// `BillingAccountName`.
    pub billing_account_name: String,
    /// `BillingCurrency`: ISO 4217 code of every amount of the row (default `USD`).
    pub billing_currency: String,
    /// `ChargeCategory`: `Usage`, `Purchase`, `Tax`, `Credit` or `Adjustment` (default `Usage`).
    pub charge_category: String,
    /// `InvoiceIssuerName` (default: the provider).
    pub invoice_issuer_name: String,
    /// `ProviderName`.
    pub provider_name: String,
    /// `PublisherName` (default: the provider).
    pub publisher_name: String,
    /// `ServiceCategory` (a FOCUS value such as `Compute`, `Storage`, `Other`).
    pub service_category: String,
}

impl FocusColumns {
    /// The defaults of a kind: on-premises services are provided and invoiced by "Research
    /// Computing" and priced in USD (the rate cards of INTEGRATIONS §2 are dollar amounts).
    pub fn for_kind(kind: Kind, source: &str) -> Self {
        let (provider, account_name, category) = match kind {
            Kind::Slurm => ("Research Computing", "HPC cluster (Slurm)", "Compute"),
            Kind::Isilon => (
                "Research Computing",
                "Research storage (PowerScale)",
                "Storage",
            ),
            Kind::Qumulo => ("Research Computing", "Research storage (Qumulo)", "Storage"),
            Kind::AzureLocal => (
                "Research Computing",
                "Private cloud (Azure Local)",
                "Compute",
            ),
            Kind::OpenAi => ("OpenAI", "ChatGPT Edu", "AI and Machine Learning"),
            Kind::AwsCur => ("AWS", "AWS", "Other"),
            Kind::AzureEa => ("Microsoft", "Azure", "Other"),
        };
        let issuer = match kind {
            Kind::AwsCur => "Amazon Web Services",
            _ => provider,
        };
        Self {
            billing_account_id: source.to_string(),
            billing_account_name: account_name.to_string(),
            billing_currency: "USD".into(),
            charge_category: "Usage".into(),
            invoice_issuer_name: issuer.to_string(),
            provider_name: provider.to_string(),
            publisher_name: provider.to_string(),
            service_category: category.to_string(),
        }
    }

    /// Fills every empty field from `defaults`.
    pub fn or(mut self, defaults: &FocusColumns) -> Self {
        let pairs = [
            (&mut self.billing_account_id, &defaults.billing_account_id),
            (
                &mut self.billing_account_name,
                &defaults.billing_account_name,
            ),
            (&mut self.billing_currency, &defaults.billing_currency),
            (&mut self.charge_category, &defaults.charge_category),
            (&mut self.invoice_issuer_name, &defaults.invoice_issuer_name),
            (&mut self.provider_name, &defaults.provider_name),
            (&mut self.publisher_name, &defaults.publisher_name),
            (&mut self.service_category, &defaults.service_category),
        ];
        for (field, default) in pairs {
            if field.trim().is_empty() {
                field.clone_from(default);
            }
        }
        self
    }
}

/// A billing currency as written in a bill or config: an ISO 4217 code (three letters, any
/// case, upper-cased); `None` when it is not one.
pub fn currency_code(text: &str) -> Option<String> {
    let t = text.trim();
    (t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic())).then(|| t.to_ascii_uppercase())
}

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
    /// Last day of the billing period (inclusive; printed as the exclusive FOCUS end, the
    /// next day).
    pub billing_period_end: NaiveDate,
    /// Start of the charge window.
    pub charge_period_start: NaiveDate,
    /// Last day of the charge window (inclusive; printed as the exclusive FOCUS end).
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
    /// The other FOCUS columns.
    pub focus: FocusColumns,
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
            focus: FocusColumns::default(),
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

    /// Sets the FOCUS columns a bill states (empty fields keep the kind's defaults).
    pub fn with_focus(mut self, focus: FocusColumns) -> Self {
        self.focus = focus;
        self
    }

    /// The cells as printed, in [`HEADER`] order.
    pub fn cells(&self) -> [String; 24] {
        let m = crate::money::fmt2;
        let f = &self.focus;
        [
            focus_start(self.billing_period_start),
            focus_end(self.billing_period_end),
            focus_start(self.charge_period_start),
            focus_end(self.charge_period_end),
            m(self.list_cost),
            m(self.contracted_cost),
            m(self.billed_cost),
            m(self.effective_cost),
            self.resource_id.clone(),
            self.resource_name.clone(),
            self.service_name.clone(),
            self.tags.to_json(),
            f.billing_account_id.clone(),
            f.billing_account_name.clone(),
            f.billing_currency.clone(),
            f.charge_category.clone(),
            String::new(),
            String::new(),
            f.invoice_issuer_name.clone(),
            String::new(),
            String::new(),
            f.provider_name.clone(),
            f.publisher_name.clone(),
            f.service_category.clone(),
        ]
    }
}

/// A start date as a FOCUS UTC timestamp.
fn focus_start(day: NaiveDate) -> String {
    day.format("%Y-%m-%dT00:00:00Z").to_string()
}

/// The exclusive FOCUS end of an inclusive last day: midnight UTC of the next day.
fn focus_end(last_day: NaiveDate) -> String {
    focus_start(last_day.succ_opt().unwrap_or(last_day))
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
    fn dates_are_focus_timestamps_with_exclusive_ends() {
        let row = FocusLiteRow::new(
            "2024-12".parse().expect("period"),
            "id".into(),
            "n".into(),
            "S".into(),
            Decimal::ONE,
            Decimal::ONE,
            Tags::core("", "", ""),
        );
        let c = row.cells();
        assert_eq!(
            c[..4],
            [
                "2024-12-01T00:00:00Z",
                "2025-01-01T00:00:00Z",
                "2024-12-01T00:00:00Z",
                "2025-01-01T00:00:00Z"
            ]
        );
    }

    #[test]
    fn empty_focus_fields_take_the_defaults() {
        let set = FocusColumns {
            billing_currency: "EUR".into(),
            ..FocusColumns::default()
        };
        let f = set.or(&FocusColumns::for_kind(Kind::AzureEa, "azure"));
        assert_eq!(f.billing_currency, "EUR");
        assert_eq!(f.billing_account_id, "azure");
        assert_eq!(f.provider_name, "Microsoft");
        assert_eq!(currency_code(" eur "), Some("EUR".into()));
        assert_eq!(currency_code("€"), None);
        assert_eq!(currency_code("EURO"), None);
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
