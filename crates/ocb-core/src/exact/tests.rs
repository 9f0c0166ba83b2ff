use super::*;
use proptest::prelude::*;

fn d(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn e(s: &str) -> ExactSum {
    s.parse().expect("exact")
}

#[test]
fn max_amount_is_ten_to_the_fourteenth() {
    assert_eq!(crate::amount::MAX_AMOUNT, d("100000000000000"));
}

/// Issue 15, item 7: `Decimal` rounded this sum to 28 digits and billed a cent too little.
#[test]
fn large_and_fine_amounts_sum_without_rounding() {
    let sum: ExactSum = [d("10000000000000000"), d("0.0050000000001")]
        .into_iter()
        .sum();
    assert_eq!(sum.to_string(), "10000000000000000.0050000000001");
    assert_eq!(sum.cents_text(Rounding::HalfEven), "10000000000000000.01");
    let within: ExactSum = [d("99999999999999"), d("0.00500000000000001")]
        .into_iter()
        .sum();
    assert_eq!(within.to_string(), "99999999999999.00500000000000001");
    assert_eq!(within.cents(Rounding::HalfEven), d("99999999999999.01"));
}

/// Issue 15, items 2 and 3: ten amounts of 28 nines overflowed `Decimal` (a panic with `+`).
#[test]
fn sums_beyond_decimal_range_stay_exact() {
    let nines = d("9999999999999999999999999999");
    let sum: ExactSum = std::iter::repeat_n(nines, 10).sum();
    assert_eq!(sum.to_string(), "99999999999999999999999999990");
    assert_eq!(sum.to_decimal(), None);
    assert_eq!(sum.money("$"), "$99,999,999,999,999,999,999,999,999,990.00");
    let back: ExactSum = sum.to_string().parse().expect("reads back");
    assert_eq!(back, sum);
}

#[test]
fn text_keeps_the_largest_scale_like_decimal() {
    let sum: ExactSum = [d("0.1"), d("0.2"), d("0.00000080000")].into_iter().sum();
    assert_eq!(sum.to_string(), "0.30000080000");
    assert_eq!(ExactSum::ZERO.to_string(), "0");
    assert_eq!(e("-0.50").to_string(), "-0.50");
    assert_eq!(e("-3").to_string(), "-3");
    assert_eq!(e("1.50"), e("1.5"), "equal by value");
}

#[test]
fn rounding_modes_at_ties_and_signs() {
    for (text, even, up) in [
        ("1.005", "1.00", "1.01"),
        ("2.665", "2.66", "2.67"),
        ("-2.665", "-2.66", "-2.67"),
        ("-0.001", "0.00", "0.00"),
        ("0.125", "0.12", "0.13"),
        ("9.995", "10.00", "10.00"),
        ("-9.995", "-10.00", "-10.00"),
    ] {
        assert_eq!(e(text).cents_text(Rounding::HalfEven), even, "{text}");
        assert_eq!(e(text).cents_text(Rounding::HalfUp), up, "{text}");
    }
    assert_eq!(e("2.5").round_dp(0, Rounding::HalfEven).to_string(), "2");
    assert_eq!(e("3.5").round_dp(0, Rounding::HalfEven).to_string(), "4");
    let fine = e("0.0000000000000000000000000001");
    assert_eq!(
        fine.round_dp(28, Rounding::HalfEven),
        fine,
        "nothing to round"
    );
}

#[test]
fn refuses_text_that_is_not_a_plain_decimal() {
    for bad in [
        "",
        "-",
        "1.2.3",
        "1e5",
        " 1",
        "abc",
        ".5",
        "1.00000000000000000000000000001",
    ] {
        assert!(bad.parse::<ExactSum>().is_err(), "{bad:?}");
    }
    assert_eq!(
        e("1.10000000000000000000000000000000"),
        e("1.1"),
        "trailing zeros"
    );
}

#[test]
fn money_groups_thousands_at_any_size() {
    assert_eq!(e("-1234.5").money("$"), "-$1,234.50");
    assert_eq!(e("0").money("€"), "€0.00");
    assert_eq!(e("-0.001").money("$"), "$0.00");
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s))
}

fn wide_decimal() -> impl Strategy<Value = Decimal> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
        0u32..=28,
    )
        .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s))
}

proptest! {
    /// Wherever `Decimal` itself is exact (checked by subtracting back), both agree, text included.
    #[test]
    fn agrees_with_decimal_where_decimal_is_exact(values in proptest::collection::vec(decimal(), 0..20)) {
        let exact: ExactSum = values.iter().copied().sum();
        // `Decimal` was exact if no step lowered the scale (its sign of rounding).
        let mut acc = Some(Decimal::ZERO);
        for v in &values {
            acc = acc.and_then(|a| {
                a.checked_add(*v).filter(|s| s.scale() == a.scale().max(v.scale()))
            });
        }
        if let Some(sum) = acc {
            prop_assert_eq!(exact, sum);
            prop_assert_eq!(exact.to_decimal(), Some(sum));
        }
    }

    /// Adding in any order gives the same sum, and subtracting every value gives zero back.
    #[test]
    fn order_does_not_matter_and_nothing_is_lost(values in proptest::collection::vec(wide_decimal(), 0..40)) {
        let forward: ExactSum = values.iter().copied().sum();
        let backward: ExactSum = values.iter().rev().copied().sum();
        prop_assert_eq!(forward, backward);
        let mut rest = forward;
        for v in &values {
            rest = rest - ExactSum::from(*v);
        }
        prop_assert!(rest.is_zero());
    }

    #[test]
    fn text_round_trips(values in proptest::collection::vec(wide_decimal(), 1..10)) {
        let sum: ExactSum = values.iter().copied().sum();
        let back: ExactSum = sum.to_string().parse().expect("parses");
        prop_assert_eq!(back, sum);
        prop_assert_eq!(back.to_string(), sum.to_string());
    }

    /// Rounding to cents agrees with `Decimal`'s own rounding for single values.
    #[test]
    fn cents_agree_with_decimal_rounding(v in wide_decimal()) {
        for mode in [Rounding::HalfEven, Rounding::HalfUp] {
            let exact = ExactSum::from(v).round_dp(2, mode);
            let reference = mode.round_dp(v, 2);
            if reference.scale() == 2 {
                prop_assert_eq!(exact.to_string(), reference.to_string());
            } else {
                // `Decimal` cannot hold the value with two places: only the exact sum can.
                prop_assert_eq!(exact, ExactSum::from(reference));
            }
        }
    }
}
