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

pub use data::{money_json, template_data, DataSettings, StatementMeta, ROUNDING_FOOTNOTE};
pub use figures::{statements_from_lines, Figures, FundGroup, ServiceRow, StatementFigures};
pub use filename::{pdf_file_names, sanitize_component};
pub use hash::content_hash;
pub use lifecycle::{lifecycle, Lifecycle, LifecycleLevel};

use crate::amount::Rounding;
use rust_decimal::Decimal;

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
    use rstest::rstest;
    use std::str::FromStr;

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
