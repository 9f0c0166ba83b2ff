//! Billing lines: the unit of rounding shared by statements and journals (SPEC §8.2, §10.2, §10.8).
//!
//! Billable charges are grouped by (PI, project, fund/org, source, service, resolved GL account);
//! each group is rounded once. Every presented total (statement, summary, `default` journal, GL)
//! is a sum of these rounded lines, so all of them reconcile to the cent.

use crate::amount::Rounding;
use crate::exact::ExactSum;
use crate::source::source_key;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};

/// Service name used for charges without `ServiceName` (SPEC §8.2).
pub const OTHER_SERVICE: &str = "Other";
/// Project label for charges without a project id (SPEC §8.1).
pub const NO_PROJECT: &str = "(no project)";

/// A billable charge with its effective attribution (overrides applied).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BillableCharge {
    /// Charge id.
    pub id: i64,
    /// Canonical source name.
    pub source: String,
    /// Effective PI email, lower-case.
    pub pi_email: Option<String>,
    /// Effective project id.
    pub project_id: Option<String>,
    /// Effective fund/org.
    pub fund_org: Option<String>,
    /// `ServiceName`.
    pub service_name: Option<String>,
    /// `ResourceId`.
    pub resource_id: Option<String>,
    /// `ResourceName`.
    pub resource_name: Option<String>,
    /// Exact `BilledCost`.
    pub billed_cost: Decimal,
    /// Exact `ListCost` (`None` when null).
    pub list_cost: Option<Decimal>,
    /// The charge's `account_code` tag value.
    pub account_code: Option<String>,
    /// `ChargePeriodStart`, canonical RFC 3339 UTC.
    pub charge_period_start: Option<String>,
    /// `ChargePeriodEnd`, canonical RFC 3339 UTC.
    pub charge_period_end: Option<String>,
    /// Cost center tag value.
    pub cost_center: Option<String>,
    /// Reference 1 tag value.
    pub reference_1: Option<String>,
    /// Reference 2 tag value.
    pub reference_2: Option<String>,
    /// PI display name tag value.
    pub pi_name: Option<String>,
    /// Project end date (lifecycle).
    pub end_date: Option<NaiveDate>,
    /// Last date for late charges (lifecycle).
    pub reconciliation_end: Option<NaiveDate>,
    /// A subsidy fund's payment for part of another charge of the same PI and project (tag
    /// `charge_type` = `subsidy`, INTEGRATIONS.md §2.5): billed to the subsidy's fund/org in the
    /// journal, while the PI's statement shows that part as the discount of the usage charge.
    pub subsidy_payment: bool,
}

impl BillableCharge {
    /// The service shown for this charge (`Other` when null).
    pub fn service(&self) -> &str {
        self.service_name.as_deref().unwrap_or(OTHER_SERVICE)
    }

    /// List cost, falling back to the billed cost when null (SPEC §8.2).
    pub fn list_or_billed(&self) -> Decimal {
        self.list_cost.unwrap_or(self.billed_cost)
    }
}

/// The GL account configuration needed to resolve accounts (SPEC §10.8), detached from the
/// config crate so that this module stays pure.
#[derive(Debug, Clone, Default)]
pub struct AccountRules {
    /// `known_sources[].account_code` by source key (lower-case name); empty values omitted.
    by_source: HashMap<String, String>,
    /// `journal.default_account` (may be empty).
    default_account: String,
}

impl AccountRules {
    /// Builds the rules from (source name, account code) pairs and the default account.
    pub fn new<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
        default_account: &str,
    ) -> Self {
        let by_source = sources
            .into_iter()
            .filter(|(_, account)| !account.is_empty())
            .map(|(name, account)| (source_key(name), account.to_string()))
            .collect();
        Self {
            by_source,
            default_account: default_account.to_string(),
        }
    }

    /// Debit-side account: charge tag → source account → default account → empty.
    pub fn debit_account<'a>(&'a self, tag: Option<&'a str>, source: &str) -> &'a str {
        match tag.filter(|t| !t.is_empty()) {
            Some(t) => t,
            None => self.offset_account(source),
        }
    }

    /// Offset-side account of a source: source account → default account → empty.
    pub fn offset_account(&self, source: &str) -> &str {
        // Source names of stored charges are canonical; the lookup is by case-folded key.
        let key = source_key(source);
        self.by_source
            .get(&key)
            .map_or(self.default_account.as_str(), String::as_str)
    }
}

/// One billing line (SPEC §8.2).
#[derive(Debug, Clone, PartialEq)]
pub struct BillingLine {
    /// Effective PI email (lower-case).
    pub pi_email: Option<String>,
    /// Project id (`None` = no project).
    pub project_id: Option<String>,
    /// Fund/org (`None` = none).
    pub fund_org: Option<String>,
    /// Canonical source name.
    pub source: String,
    /// Service (`Other` for null).
    pub service: String,
    /// Resolved GL account (may be empty).
    pub account: String,
    /// Rounded Σ BilledCost.
    pub amount: Decimal,
    /// Rounded Σ (ListCost, else BilledCost).
    pub list: Decimal,
    /// Exact Σ BilledCost.
    pub amount_exact: ExactSum,
    /// Exact Σ (ListCost, else BilledCost).
    pub list_exact: ExactSum,
    /// Ids of the charges in the line, ascending.
    pub charge_ids: Vec<i64>,
    /// Distinct non-null resource ids.
    pub resource_ids: BTreeSet<String>,
    /// Charges without a resource id.
    pub unresourced: u64,
}

impl BillingLine {
    /// The project label (`(no project)` when none).
    pub fn project_label(&self) -> &str {
        self.project_id.as_deref().unwrap_or(NO_PROJECT)
    }

    /// Number of charges.
    pub fn charge_count(&self) -> usize {
        self.charge_ids.len()
    }

    /// `ResourceCount` of SPEC §10.2 for this line alone.
    pub fn resource_count(&self) -> u64 {
        self.resource_ids.len() as u64 + self.unresourced
    }
}

/// `ResourceCount` of several lines together: distinct resource ids across all of them plus one
/// per charge without a resource id (SPEC §10.2).
pub fn resource_count<'a>(lines: impl IntoIterator<Item = &'a BillingLine>) -> u64 {
    let mut ids: BTreeSet<&str> = BTreeSet::new();
    let mut unresourced = 0;
    for line in lines {
        ids.extend(line.resource_ids.iter().map(String::as_str));
        unresourced += line.unresourced;
    }
    ids.len() as u64 + unresourced
}

type LineKey<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    &'a str,
    &'a str,
);

/// Groups billable charges into billing lines, ordered by (PI, project, fund/org, source,
/// service, account) with absent values first and text in byte order.
pub fn billing_lines<'a>(
    charges: impl IntoIterator<Item = &'a BillableCharge>,
    accounts: &'a AccountRules,
    rounding: Rounding,
) -> Vec<BillingLine> {
    let mut index: HashMap<LineKey<'a>, usize> = HashMap::new();
    let mut lines: Vec<(LineKey<'a>, BillingLine)> = Vec::new();
    for c in charges {
        let account = accounts.debit_account(c.account_code.as_deref(), &c.source);
        let key: LineKey<'a> = (
            c.pi_email.as_deref(),
            c.project_id.as_deref(),
            c.fund_org.as_deref(),
            c.source.as_str(),
            c.service(),
            account,
        );
        let at = *index.entry(key).or_insert_with(|| {
            lines.push((key, new_line(c, account)));
            lines.len() - 1
        });
        let line = &mut lines[at].1;
        line.amount_exact += c.billed_cost;
        line.list_exact += c.list_or_billed();
        line.charge_ids.push(c.id);
        match &c.resource_id {
            Some(r) => {
                if !line.resource_ids.contains(r) {
                    line.resource_ids.insert(r.clone());
                }
            }
            None => line.unresourced += 1,
        }
    }
    lines.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    lines
        .into_iter()
        .map(|(_, mut line)| {
            line.amount = line.amount_exact.cents(rounding);
            line.list = line.list_exact.cents(rounding);
            line.charge_ids.sort_unstable();
            line
        })
        .collect()
}

fn new_line(c: &BillableCharge, account: &str) -> BillingLine {
    BillingLine {
        pi_email: c.pi_email.clone(),
        project_id: c.project_id.clone(),
        fund_org: c.fund_org.clone(),
        source: c.source.clone(),
        service: c.service().to_string(),
        account: account.to_string(),
        amount: Decimal::ZERO,
        list: Decimal::ZERO,
        amount_exact: ExactSum::ZERO,
        list_exact: ExactSum::ZERO,
        charge_ids: Vec::new(),
        resource_ids: BTreeSet::new(),
        unresourced: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test decimal")
    }

    fn charge(
        id: i64,
        source: &str,
        fund: &str,
        service: Option<&str>,
        cost: &str,
    ) -> BillableCharge {
        BillableCharge {
            id,
            source: source.into(),
            pi_email: Some("pi@example.edu".into()),
            project_id: Some("p1".into()),
            fund_org: Some(fund.into()),
            service_name: service.map(Into::into),
            resource_id: Some(format!("r{id}")),
            billed_cost: d(cost),
            ..Default::default()
        }
    }

    fn rules() -> AccountRules {
        AccountRules::new([("AWS", "54100"), ("HPC", "")], "50000")
    }

    #[test]
    fn spec_rounding_example_rounds_the_line_not_the_charges() {
        let charges: Vec<_> = (1..=3)
            .map(|i| charge(i, "AWS", "F-1", Some("EC2"), "0.335"))
            .collect();
        let even = billing_lines(&charges, &rules(), Rounding::HalfEven);
        assert_eq!(even.len(), 1);
        assert_eq!(even[0].amount_exact, d("1.005"));
        assert_eq!(even[0].amount.to_string(), "1.00");
        let up = billing_lines(&charges, &rules(), Rounding::HalfUp);
        assert_eq!(up[0].amount.to_string(), "1.01");
    }

    #[test]
    fn spec_example_2_665() {
        let charges = vec![charge(1, "AWS", "F-1", Some("EC2"), "2.665")];
        assert_eq!(
            billing_lines(&charges, &rules(), Rounding::HalfEven)[0]
                .amount
                .to_string(),
            "2.66"
        );
        assert_eq!(
            billing_lines(&charges, &rules(), Rounding::HalfUp)[0]
                .amount
                .to_string(),
            "2.67"
        );
    }

    #[test]
    fn null_service_is_other_and_list_falls_back_to_billed() {
        let mut c = charge(1, "AWS", "F-1", None, "10");
        c.list_cost = None;
        let mut c2 = charge(2, "AWS", "F-1", None, "5");
        c2.list_cost = Some(d("7.005"));
        let lines = billing_lines(&[c, c2], &rules(), Rounding::HalfEven);
        assert_eq!(lines[0].service, "Other");
        assert_eq!(lines[0].list_exact, d("17.005"));
        assert_eq!(lines[0].list.to_string(), "17.00");
    }

    #[test]
    fn account_precedence_tag_then_source_then_default() {
        let r = rules();
        assert_eq!(r.debit_account(Some("99999"), "AWS"), "99999");
        assert_eq!(r.debit_account(Some(""), "aws"), "54100");
        assert_eq!(r.debit_account(None, "HPC"), "50000");
        assert_eq!(r.offset_account("Unknown"), "50000");
        assert_eq!(AccountRules::default().debit_account(None, "AWS"), "");
    }

    #[test]
    fn different_accounts_are_never_merged() {
        let a = charge(1, "AWS", "F-1", Some("EC2"), "1");
        let mut b = charge(2, "AWS", "F-1", Some("EC2"), "2");
        b.account_code = Some("77777".into());
        let lines = billing_lines(&[a, b], &rules(), Rounding::HalfEven);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].account, "54100");
        assert_eq!(lines[1].account, "77777");
    }

    #[test]
    fn lines_are_sorted_with_absent_values_first() {
        let mut a = charge(1, "HPC", "Z-1", Some("Compute"), "1");
        a.pi_email = None;
        let b = charge(2, "AWS", "B-1", Some("S3"), "1");
        let c = charge(3, "AWS", "A-1", Some("S3"), "1");
        let lines = billing_lines(&[b, a, c], &rules(), Rounding::HalfEven);
        let order: Vec<_> = lines.iter().map(|l| l.charge_ids[0]).collect();
        assert_eq!(order, vec![1, 3, 2]);
    }

    #[test]
    fn resource_count_counts_distinct_ids_and_each_unresourced_charge() {
        let mut a = charge(1, "AWS", "F-1", Some("EC2"), "1");
        a.resource_id = Some("i-1".into());
        let mut b = charge(2, "AWS", "F-1", Some("EC2"), "1");
        b.resource_id = Some("i-1".into());
        let mut c = charge(3, "AWS", "F-1", Some("EC2"), "1");
        c.resource_id = None;
        let mut e = charge(4, "HPC", "F-1", Some("EC2"), "1");
        e.resource_id = Some("i-1".into());
        let mut f = charge(5, "HPC", "F-1", Some("EC2"), "1");
        f.resource_id = None;
        let lines = billing_lines(&[a, b, c, e, f], &rules(), Rounding::HalfEven);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].resource_count(), 2);
        assert_eq!(resource_count(&lines), 3);
    }

    #[test]
    fn negative_lines_round_symmetrically() {
        let charges = vec![charge(1, "AWS", "F-1", Some("EC2"), "-2.665")];
        let l = billing_lines(&charges, &rules(), Rounding::HalfUp);
        assert_eq!(l[0].amount.to_string(), "-2.67");
    }
}
