//! Exact money amounts: parsing FOCUS cost cells, rounding to cents and display.
//!
//! Amounts are `rust_decimal::Decimal` end to end (SPEC §3.4, §8.2). The scale written in a file is kept
//! (`0.00000080000` keeps 11 fractional digits); rounding happens only when a figure is presented.

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;

/// Largest number of significant digits a cost cell may carry (SPEC §3.4).
pub const MAX_SIGNIFICANT_DIGITS: usize = 28;

/// Amounts must be smaller than this in magnitude: 10^14, a hundred trillion in the billing
/// currency (SPEC §3.4).
///
/// Far above any real charge (even in currencies with small units), and low enough that every
/// figure rounded to cents fits a `Decimal` whatever the data: a total would need 7.9·10^12
/// amounts of this size, more charges than an SQLite database can hold. Exact (unrounded) sums
/// are [`crate::exact::ExactSum`]s, which hold any number of amounts.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0x107A_4000, 0x5AF3, 0, false, 0);

/// Whether `d` is within the accepted range (see [`MAX_AMOUNT`]).
pub fn in_range(d: Decimal) -> bool {
    d.abs() < MAX_AMOUNT
}

/// Why a cost cell is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The cell is empty or whitespace.
    #[error("empty value")]
    Empty,
    /// The text is not a plain decimal number.
    #[error("not a number")]
    Syntax,
    /// Too many digits, or too large (see [`MAX_AMOUNT`]).
    #[error("out of range (amounts must be below 100,000,000,000,000 in magnitude and have at most 28 significant digits)")]
    Range,
}

/// Parses a FOCUS cost cell: optional sign, digits, optional fraction, optional exponent.
///
/// Thousands separators, currency symbols, `NaN` and `Inf` are refused. Exponent forms are
/// returned as plain decimals (`1.5E-7` → `0.00000015`).
pub fn parse_amount(text: &str) -> Result<Decimal, AmountError> {
    let value = match parse_plain(text.as_bytes()) {
        Some(d) => d,
        None => parse_general(text)?,
    };
    if in_range(value) {
        Ok(value)
    } else {
        Err(AmountError::Range)
    }
}

fn parse_general(text: &str) -> Result<Decimal, AmountError> {
    let s = text.trim().as_bytes();
    if s.is_empty() {
        return Err(AmountError::Empty);
    }
    let mut i = 0;
    let negative = match s[0] {
        b'-' => {
            i += 1;
            true
        }
        b'+' => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut mantissa: u128 = 0;
    let mut significant = 0usize;
    let mut digits_seen = 0usize;
    let mut frac_digits: i64 = 0;
    let mut in_fraction = false;
    while i < s.len() {
        match s[i] {
            c @ b'0'..=b'9' => {
                digits_seen += 1;
                if in_fraction {
                    frac_digits += 1;
                }
                if significant > 0 || c != b'0' {
                    significant += 1;
                    if significant > MAX_SIGNIFICANT_DIGITS {
                        return Err(AmountError::Range);
                    }
                    mantissa = mantissa * 10 + u128::from(c - b'0');
                } else if in_fraction {
                    // leading zeros of the fraction only move the scale
                }
            }
            b'.' if !in_fraction => in_fraction = true,
            b'e' | b'E' => break,
            _ => return Err(AmountError::Syntax),
        }
        i += 1;
    }
    if digits_seen == 0 {
        return Err(AmountError::Syntax);
    }
    let exponent = if i < s.len() {
        parse_exponent(&s[i + 1..])?
    } else {
        0
    };
    let mut scale = frac_digits - exponent;
    if scale < 0 {
        // A positive exponent beyond the fraction: shift the mantissa left.
        while scale < 0 {
            mantissa = mantissa.checked_mul(10).ok_or(AmountError::Range)?;
            if mantissa != 0 {
                significant += 1;
            }
            scale += 1;
        }
        if significant > MAX_SIGNIFICANT_DIGITS {
            return Err(AmountError::Range);
        }
    }
    if scale > 28 {
        // Representable only if trailing zeros can be dropped; otherwise too precise.
        while scale > 28 && mantissa.is_multiple_of(10) && mantissa != 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if mantissa == 0 {
            scale = 28;
        }
        if scale > 28 {
            return Err(AmountError::Range);
        }
    }
    let signed = if negative {
        -(mantissa as i128)
    } else {
        mantissa as i128
    };
    let value =
        Decimal::try_from_i128_with_scale(signed, scale as u32).map_err(|_| AmountError::Range)?;
    if value.abs() >= ten_pow_28() {
        return Err(AmountError::Range);
    }
    Ok(value)
}

/// The common case, `-?[0-9]+(\.[0-9]+)?` with at most 18 digits, in 64-bit arithmetic: no
/// range checks are needed (it is below 10^18), and the general path's 128-bit arithmetic and
/// decimal comparison were most of ingest's cost per amount. Anything else returns `None` and
/// takes the general path, which gives the same result for these texts (a property test
/// checks it).
fn parse_plain(s: &[u8]) -> Option<Decimal> {
    let (negative, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut point = None;
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => mantissa = mantissa * 10 + u64::from(c - b'0'),
            b'.' if point.is_none() && i > 0 && i + 1 < digits.len() => point = Some(i),
            _ => return None,
        }
    }
    let n_digits = digits.len() - usize::from(point.is_some());
    if n_digits > 18 {
        return None;
    }
    let scale = point.map_or(0, |p| digits.len() - p - 1) as u32;
    // `-0.00` is zero, unsigned, as the general path makes it.
    let negative = negative && mantissa != 0;
    Some(Decimal::from_parts(
        mantissa as u32,
        (mantissa >> 32) as u32,
        0,
        negative,
        scale,
    ))
}

fn parse_exponent(s: &[u8]) -> Result<i64, AmountError> {
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 4 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(if digits.len() > 4 {
            AmountError::Range
        } else {
            AmountError::Syntax
        });
    }
    let v: i64 = digits
        .iter()
        .fold(0, |acc, d| acc * 10 + i64::from(d - b'0'));
    Ok(if negative { -v } else { v })
}

fn ten_pow_28() -> Decimal {
    Decimal::from_i128_with_scale(10_000_000_000_000_000_000_000_000_000, 0)
}

/// How an amount is rounded to cents (config `rounding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    /// Banker's rounding: ties to the even cent (default).
    #[default]
    HalfEven,
    /// Ties away from zero.
    HalfUp,
}

impl Rounding {
    /// Parses the config value `half_even` / `half_up`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "half_even" => Some(Self::HalfEven),
            "half_up" => Some(Self::HalfUp),
            _ => None,
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HalfEven => "half_even",
            Self::HalfUp => "half_up",
        }
    }

    /// Rounds to `dp` decimal places with this mode.
    pub fn round_dp(self, value: Decimal, dp: u32) -> Decimal {
        let strategy = match self {
            Self::HalfEven => RoundingStrategy::MidpointNearestEven,
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        };
        let mut r = value.round_dp_with_strategy(dp, strategy);
        r.rescale(dp);
        if r.is_zero() {
            r.set_sign_positive(true);
        }
        r
    }

    /// Rounds to cents (two decimals, scale fixed at 2).
    pub fn cents(self, value: Decimal) -> Decimal {
        self.round_dp(value, 2)
    }
}

/// A rounded amount displayed with a currency symbol and thousands separators: `-$1,234.50`.
pub struct MoneyDisplay<'a> {
    /// The amount; it is rounded half-even to cents if it has more decimals.
    pub amount: Decimal,
    /// The currency symbol (config `currency`).
    pub currency: &'a str,
}

impl fmt::Display for MoneyDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rounded = Rounding::HalfEven.cents(self.amount);
        let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
            "-"
        } else {
            ""
        };
        write!(
            f,
            "{sign}{}{}",
            self.currency,
            group_thousands(rounded.abs())
        )
    }
}

/// Formats a non-negative, already rounded amount with `,` thousands separators and two decimals.
pub fn group_thousands(value: Decimal) -> String {
    let mut v = value;
    v.rescale(2);
    group_thousands_text(&v.to_string())
}

/// Inserts `,` thousands separators into plain decimal text (`-1234.50` → `-1,234.50`).
pub fn group_thousands_text(text: &str) -> String {
    let (int_part, frac) = text.split_once('.').unwrap_or((text, "00"));
    let (sign, digits) = int_part
        .strip_prefix('-')
        .map_or(("", int_part), |d| ("-", d));
    let mut out = String::with_capacity(text.len() + digits.len() / 3);
    out.push_str(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push('.');
    out.push_str(frac);
    out
}

/// Plain two-decimal text for CSV and JSON (`-12.50`, never `-0.00`).
pub fn plain_cents(value: Decimal, rounding: Rounding) -> String {
    rounding.cents(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("test decimal")
    }

    #[rstest]
    #[case("-12.5", "-12.5")]
    #[case("+3", "3")]
    #[case("0.00000080000", "0.00000080000")]
    #[case("1.5E-7", "0.00000015")]
    #[case("1.5e2", "150")]
    #[case(" 42.10 ", "42.10")]
    #[case("0", "0")]
    #[case(".5", "0.5")]
    #[case("12345678901234.56789012345678", "12345678901234.56789012345678")]
    #[case("99999999999999.99", "99999999999999.99")]
    #[case("-99999999999999.99", "-99999999999999.99")]
    fn accepts_plain_decimals(#[case] input: &str, #[case] expected: &str) {
        assert_eq!(parse_amount(input).expect("valid").to_string(), expected);
    }

    #[rstest]
    #[case("$1,234", AmountError::Syntax)]
    #[case("1,234.00", AmountError::Syntax)]
    #[case("NaN", AmountError::Syntax)]
    #[case("Inf", AmountError::Syntax)]
    #[case("", AmountError::Empty)]
    #[case("  ", AmountError::Empty)]
    #[case("-", AmountError::Syntax)]
    #[case("1e", AmountError::Syntax)]
    #[case("12345678901234567890123456789", AmountError::Range)]
    #[case("1e28", AmountError::Range)]
    // Issue 15: single amounts this large made their sums overflow or round.
    #[case("9999999999999999999999999999", AmountError::Range)]
    #[case("100000000000000", AmountError::Range)]
    #[case("-100000000000000.00", AmountError::Range)]
    #[case("1e14", AmountError::Range)]
    #[case("10000000000000000", AmountError::Range)]
    #[case("1.2.3", AmountError::Syntax)]
    fn refuses_non_numbers(#[case] input: &str, #[case] expected: AmountError) {
        assert_eq!(parse_amount(input), Err(expected));
    }

    #[rstest]
    #[case("1.005", "1.00", "1.01")]
    #[case("2.665", "2.66", "2.67")]
    #[case("-2.665", "-2.66", "-2.67")]
    #[case("-0.001", "0.00", "0.00")]
    #[case("0.125", "0.12", "0.13")]
    fn rounds_by_mode(#[case] input: &str, #[case] even: &str, #[case] up: &str) {
        assert_eq!(Rounding::HalfEven.cents(d(input)).to_string(), even);
        assert_eq!(Rounding::HalfUp.cents(d(input)).to_string(), up);
    }

    #[rstest]
    #[case("1234.5", "$1,234.50")]
    #[case("-1234.5", "-$1,234.50")]
    #[case("0", "$0.00")]
    #[case("999", "$999.00")]
    #[case("1000000", "$1,000,000.00")]
    fn displays_money(#[case] input: &str, #[case] expected: &str) {
        let shown = MoneyDisplay {
            amount: d(input),
            currency: "$",
        }
        .to_string();
        assert_eq!(shown, expected);
    }

    proptest::proptest! {
        /// The fast path and the general one agree exactly (value, scale and sign) wherever the
        /// fast path answers.
        #[test]
        fn fast_path_matches_general(text in "-?[0-9]{1,20}(\\.[0-9]{0,20})?") {
            if let Some(fast) = parse_plain(text.as_bytes()) {
                let general = parse_general(&text).expect("plain decimals parse");
                proptest::prop_assert_eq!(fast.to_string(), general.to_string());
                proptest::prop_assert_eq!(fast.is_sign_negative(), general.is_sign_negative());
            }
        }

        #[test]
        fn parse_round_trips_display(m in -10_i64.pow(15)..10_i64.pow(15), scale in 0u32..12) {
            let value = Decimal::new(m, scale);
            let expected = if value.abs() < MAX_AMOUNT { Ok(value) } else { Err(AmountError::Range) };
            proptest::prop_assert_eq!(parse_amount(&value.to_string()), expected);
        }

        #[test]
        fn half_even_matches_reference(cents_times_ten in -1_000_000_i64..1_000_000) {
            // Reference: integer arithmetic on tenths of a cent.
            let value = Decimal::new(cents_times_ten, 3);
            let q = cents_times_ten.div_euclid(10);
            let r = cents_times_ten.rem_euclid(10);
            let expected = if r > 5 || (r == 5 && q % 2 != 0) { q + 1 } else { q };
            proptest::prop_assert_eq!(Rounding::HalfEven.cents(value), Decimal::new(expected, 2));
        }
    }
}
