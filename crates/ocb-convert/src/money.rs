//! Exact money: one half-to-even rounding to cents and the fixed two-decimal printed form
//! (INTEGRATIONS.md §1.4). No f64 anywhere.

use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// Rounds an exact value once, to 2 places, half to even (0.125 → 0.12, 0.135 → 0.14).
pub fn r2(value: Decimal) -> Decimal {
    let mut r = value.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    if r.is_zero() {
        r = Decimal::ZERO;
    }
    r.rescale(2);
    r
}

/// The printed form: exactly two decimals, `.` separator, no grouping, `-` for negatives, and
/// never `-0.00`.
pub fn fmt2(value: Decimal) -> String {
    r2(value).to_string()
}

/// Half-to-even to 2 places as text, for quantities such as hours and GiB.
pub fn fmt_qty2(value: Decimal) -> String {
    fmt2(value)
}

/// Parses a decimal literal as written (`12.5`, `-3.375`, `1e3`), exactly.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.contains(['e', 'E']) {
        return Decimal::from_scientific(t).ok();
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    Decimal::from_str_exact(t)
        .ok()
        .or_else(|| Decimal::from_str(t).ok())
}

/// A cost cell of a bill: empty is `None`; text that is not a number, or an amount beyond the
/// range `ingest` accepts (`ocb_core::amount::MAX_AMOUNT`), is the reason as `Err`, so such a
/// line becomes an invalid record with its line number instead of an output row that `ingest`
/// would reject (or an overflow when amounts are multiplied or summed).
pub fn amount_cell(text: &str) -> Result<Option<Decimal>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match parse_decimal(text) {
        Some(d) if ocb_core::amount::in_range(d) => Ok(Some(d)),
        Some(_) => Err(format!(
            "'{text}' is {}",
            ocb_core::amount::AmountError::Range
        )),
        None => Err(format!("'{text}' is not a number")),
    }
}

/// `x` with trailing zeros removed, as text (exact working values in `_meta`).
pub fn exact_text(value: Decimal) -> String {
    let n = value.normalize();
    if n.is_zero() {
        "0".into()
    } else {
        n.to_string()
    }
}

/// Bytes per GiB (1024^3).
pub fn gib() -> Decimal {
    Decimal::from(1_073_741_824u64)
}

/// Bytes per TiB (1024^4).
pub fn tib() -> Decimal {
    Decimal::from(1_099_511_627_776u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn d(s: &str) -> Decimal {
        parse_decimal(s).expect("decimal")
    }

    #[rstest]
    #[case("0.125", "0.12")]
    #[case("0.135", "0.14")]
    #[case("19.125", "19.12")]
    #[case("1.005", "1.00")]
    #[case("-0.001", "0.00")]
    #[case("-3.375", "-3.38")]
    #[case("8", "8.00")]
    #[case("309.677419354838709677419", "309.68")]
    fn rounds_half_even_and_prints_two_decimals(#[case] input: &str, #[case] out: &str) {
        assert_eq!(fmt2(d(input)), out);
    }

    #[test]
    fn parses_scientific_and_plus() {
        assert_eq!(d("1e3"), Decimal::from(1000));
        assert_eq!(d("+2.50").to_string(), "2.50");
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal(""), None);
    }

    proptest::proptest! {
        #[test]
        fn rounding_matches_integer_reference(units in -10_000_000i64..10_000_000) {
            // units are thousandths; reference: half-even on integers.
            let exact = Decimal::new(units, 3);
            let q = units.div_euclid(10);
            let rem = units.rem_euclid(10);
            let cents = if rem > 5 || (rem == 5 && q % 2 != 0) { q + 1 } else { q };
            proptest::prop_assert_eq!(r2(exact), Decimal::new(cents, 2));
        }
    }
}
