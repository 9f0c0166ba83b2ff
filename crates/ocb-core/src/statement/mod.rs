//! Statements (SPEC §8): one per (PI, project) per period, built from the period's billing lines
//! (§8.2) so that statements, journals and PI totals reconcile to the cent.
//!
//! - [`figures`]: fund/org groups, service rows and totals, every total the sum of the rounded
//!   rows it totals;
//! - [`content_hash`]: SHA-256 of the canonical figures (§8.6);
//! - [`lifecycle`]: the project end-date notice (§8.9);
//! - [`template_data`]: the JSON object handed to the Typst template (§8.10);
//! - [`pdf_file_names`]: portable, collision-free file names (§8.7).

mod data;
mod figures;
mod filename;
mod hash;
mod lifecycle;

pub use data::{
    money_json, reference, template_data, DataSettings, StatementMeta, ROUNDING_FOOTNOTE,
};
pub use figures::{statements_from_lines, Figures, FundGroup, ServiceRow, StatementFigures};
pub use filename::{pdf_file_names, sanitize_component};
pub use hash::content_hash;
pub use lifecycle::{lifecycle, Lifecycle, LifecycleLevel};

use crate::amount::Rounding;
use crate::billing::BillableCharge;
use rust_decimal::Decimal;

/// The charges that PI statements are made of: every billable charge except subsidy payments.
///
/// A subsidy payment is the part of a usage charge that a subsidy fund pays (the OpenAI converter
/// writes it as a row of its own, INTEGRATIONS.md §2.5). The usage charge already shows that part
/// as its discount (list = the full cost, billed = what the PI's fund pays), so counting the
/// payment on the statement as well added it to both the list price and the amount due (issue 16,
/// item 8). Journals still take every charge, so the subsidy fund is charged.
pub fn statement_charges(charges: &[BillableCharge]) -> impl Iterator<Item = &BillableCharge> {
    charges.iter().filter(|c| !c.subsidy_payment)
}

/// Discount percent = rounded discount ÷ rounded list × 100; `None` when the list is 0 (§8.2).
pub fn discount_percent(discount: Decimal, list: Decimal) -> Option<Decimal> {
    if list.is_zero() {
        return None;
    }
    discount
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|d| d.checked_div(list))
}

/// Displays a percentage with no decimals, except that a value that would show as `0%` or
/// `100%` without being exactly 0 or 100 gets one decimal (`99.6%`) (§8.2). Ties go to even.
pub fn percent_display(value: Decimal) -> String {
    let whole = Rounding::HalfEven.round_dp(value, 0);
    let exact_edge = value == Decimal::ZERO || value == Decimal::ONE_HUNDRED;
    if (whole.is_zero() || whole == Decimal::ONE_HUNDRED) && !exact_edge {
        format!("{}%", Rounding::HalfEven.round_dp(value, 1))
    } else {
        format!("{whole}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{billing_lines, AccountRules};
    use rstest::rstest;
    use std::str::FromStr;

    fn openai_pair() -> Vec<BillableCharge> {
        let row =
            |id: i64, fund: &str, list: &str, billed: &str, subsidy_payment: bool| BillableCharge {
                id,
                source: "OpenAI".into(),
                pi_email: Some("zorp.blinkman@example.edu".into()),
                project_id: Some("genomics-sequencing".into()),
                fund_org: Some(fund.into()),
                service_name: Some("OpenAI".into()),
                list_cost: Some(Decimal::from_str(list).expect("decimal")),
                billed_cost: Decimal::from_str(billed).expect("decimal"),
                subsidy_payment,
                ..Default::default()
            };
        // INTEGRATIONS.md §2.5: a $31.05 item, $25.00 of it paid by the provost's fund.
        vec![
            row(1, "BIO-2024-001", "31.05", "6.05", false),
            row(2, "PROVOST-AI-2025", "25.00", "25.00", true),
        ]
    }

    #[test]
    fn a_subsidy_payment_is_a_discount_on_the_statement_and_a_charge_in_the_journal() {
        let charges = openai_pair();
        let rules = AccountRules::default();
        let lines = billing_lines(statement_charges(&charges), &rules, Rounding::HalfEven);
        let (statements, _) = statements_from_lines(&lines);
        assert_eq!(statements.len(), 1);
        let totals = statements[0].totals;
        assert_eq!(totals.list.to_string(), "31.05", "true list price");
        assert_eq!(totals.discount().to_string(), "25.00", "the subsidy");
        assert_eq!(totals.amount.to_string(), "6.05", "what the PI's fund pays");
        assert_eq!(statements[0].charge_ids, [1]);
        assert_eq!(statements[0].fund_orgs(), ["BIO-2024-001"]);

        let journal = billing_lines(&charges, &rules, Rounding::HalfEven);
        let provost: Vec<_> = journal
            .iter()
            .filter(|l| l.fund_org.as_deref() == Some("PROVOST-AI-2025"))
            .collect();
        assert_eq!(provost.len(), 1);
        assert_eq!(provost[0].amount.to_string(), "25.00");
    }

    #[rstest]
    #[case("15.156", "15%")]
    #[case("100", "100%")]
    #[case("99.6", "99.6%")]
    #[case("99.96", "100.0%")]
    #[case("0", "0%")]
    #[case("0.3", "0.3%")]
    #[case("50.5", "50%")]
    #[case("-12.4", "-12%")]
    fn percent_display_rule(#[case] value: &str, #[case] shown: &str) {
        assert_eq!(
            percent_display(Decimal::from_str(value).expect("decimal")),
            shown
        );
    }

    #[test]
    fn no_percent_without_list() {
        assert_eq!(discount_percent(Decimal::ONE, Decimal::ZERO), None);
        assert_eq!(
            discount_percent(Decimal::from(800), Decimal::from(800)),
            Some(Decimal::ONE_HUNDRED)
        );
    }
}
