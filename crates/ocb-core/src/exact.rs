//! Exact sums of amounts, whatever their number, magnitudes and scales.
//!
//! A single amount fits `rust_decimal::Decimal` (28 significant digits, SPEC §3.4), but a sum
//! of them may not: `10000000000000000 + 0.0050000000001` needs 31 digits, and `Decimal` rounds
//! it silently (the bill then lost a cent), while ten amounts of 28 nines overflow it (`+`
//! panics). An [`ExactSum`] keeps the integer part and the fraction apart: the integer part in
//! an `i128` (up to 1.7·10^38), the fraction in units of 10^-28, the finest scale an amount can
//! have. Adding amounts therefore never rounds; it could only overflow after some 10^24 amounts
//! of the largest accepted size ([`crate::amount::MAX_AMOUNT`]), far more than any database or
//! file holds, and even then it saturates instead of wrapping or panicking.
//!
//! Every exact total of the product is an `ExactSum`: import totals, billing lines, statement
//! totals, the `dec_sum()` aggregate of the store. Figures rounded to cents stay `Decimal`.

use crate::amount::{group_thousands_text, Rounding};
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The scale of the fraction: `Decimal` has at most 28 decimal places.
const FRAC_DIGITS: u32 = 28;
/// 10^28: one whole unit of the fraction.
const ONE: u128 = 10u128.pow(FRAC_DIGITS);

/// 10^0 … 10^28: ingest adds two amounts per row, and `pow` with a run-time exponent is a loop.
const POW10: [u128; 29] = {
    let mut t = [1u128; 29];
    let mut i = 1;
    while i < 29 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

fn pow10(n: u32) -> u128 {
    POW10[n as usize]
}

/// An exact decimal sum. Equality and order are by value (`1.5 == 1.50`); the scale is the
/// largest scale of the amounts summed, so the text reads as `Decimal`'s sum would have.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExactSum {
    /// ⌊value⌋.
    int: i128,
    /// value − ⌊value⌋ in units of 10^-28: `0 <= frac < 10^28`.
    frac: u128,
    /// Decimal places of the text form.
    scale: u32,
}

/// Text that is not a decimal number, or one with more than 28 decimal places.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an exact decimal: {0:?}")]
pub struct ExactSumError(pub String);

impl ExactSum {
    /// Zero.
    pub const ZERO: Self = Self {
        int: 0,
        frac: 0,
        scale: 0,
    };

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.int == 0 && self.frac == 0
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.int < 0
    }

    /// Decimal places of the text form.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// The magnitude.
    pub fn abs(self) -> Self {
        if self.is_negative() {
            -self
        } else {
            self
        }
    }

    /// `self + other`, or `None` if the integer part would leave `i128`.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let mut frac = self.frac + other.frac; // both < 10^28: no overflow
        let mut carry = 0;
        if frac >= ONE {
            frac -= ONE;
            carry = 1;
        }
        let int = self.int.checked_add(other.int)?.checked_add(carry)?;
        Some(Self {
            int,
            frac,
            scale: self.scale.max(other.scale),
        })
    }

    /// The value with the opposite sign (`None` only for the most negative integer part).
    pub fn checked_neg(self) -> Option<Self> {
        let (int, frac) = match self.frac {
            0 => (self.int.checked_neg()?, 0),
            f => (self.int.checked_neg()?.checked_sub(1)?, ONE - f),
        };
        Some(Self {
            int,
            frac,
            scale: self.scale,
        })
    }

    /// Absolute value as (integer part, fraction in 10^-28 units), with the sign.
    fn magnitude(self) -> (bool, u128, u128) {
        match self.int {
            i if i >= 0 => (false, i as u128, self.frac),
            i if self.frac == 0 => (true, i.unsigned_abs(), 0),
            i => (true, i.unsigned_abs() - 1, ONE - self.frac),
        }
    }

    fn from_magnitude(negative: bool, int: u128, frac: u128, scale: u32) -> Option<Self> {
        let positive = Self {
            int: i128::try_from(int).ok()?,
            frac,
            scale,
        };
        if negative {
            positive.checked_neg()
        } else {
            Some(positive)
        }
    }

    /// Rounded exactly to `dp` decimal places (at most 28) with `rounding`; the text form then
    /// has exactly `dp` places (`1.00`).
    pub fn round_dp(self, dp: u32, rounding: Rounding) -> Self {
        let dp = dp.min(FRAC_DIGITS);
        let (negative, mut int, frac) = self.magnitude();
        let unit = pow10(FRAC_DIGITS - dp);
        let (mut q, r) = (frac / unit, frac % unit);
        let half = unit / 2;
        let odd = if dp == 0 { int % 2 == 1 } else { q % 2 == 1 };
        // At 28 places there is nothing below the last digit to round.
        let up = unit > 1
            && match rounding {
                Rounding::HalfEven => r > half || (r == half && odd),
                Rounding::HalfUp => r >= half,
            };
        if up {
            q += 1;
            if q == pow10(dp) {
                q = 0;
                int += 1;
            }
        }
        let negative = negative && (int != 0 || q != 0);
        Self::from_magnitude(negative, int, q * unit, dp).unwrap_or(self.saturated(negative))
    }

    /// The same value at the smallest scale that holds it (`1.500` → `1.5`, `2.00` → `2`), as
    /// `Decimal::normalize` writes it.
    pub fn normalize(self) -> Self {
        let mut scale = self.scale;
        while scale > 0 && (self.frac / pow10(FRAC_DIGITS - scale)).is_multiple_of(10) {
            scale -= 1;
        }
        Self { scale, ..self }
    }

    /// The value as a `Decimal` at its scale, when it fits (28 significant digits).
    pub fn to_decimal(self) -> Option<Decimal> {
        let (negative, int, frac) = self.magnitude();
        let m = int
            .checked_mul(pow10(self.scale))?
            .checked_add(frac / pow10(FRAC_DIGITS - self.scale))?;
        let m = i128::try_from(m).ok()?;
        Decimal::try_from_i128_with_scale(if negative { -m } else { m }, self.scale).ok()
    }

    /// Rounded to cents as a `Decimal` (two places), the form every presented figure has.
    ///
    /// Exact for any sum below 7.9·10^26, that is any sum of fewer than 7.9·10^12 accepted
    /// amounts; the store refuses to load larger amounts (kept by versions before the range
    /// check), so a bigger sum cannot be formed. Beyond it the figure would saturate at
    /// `Decimal`'s bound rather than panic.
    pub fn cents(self, rounding: Rounding) -> Decimal {
        let rounded = self.round_dp(2, rounding);
        rounded.to_decimal().unwrap_or_else(|| {
            if rounded.is_negative() {
                Decimal::MIN
            } else {
                Decimal::MAX
            }
        })
    }

    /// Plain two-decimal text for CSV and JSON, exact at any magnitude (`-12.50`).
    pub fn cents_text(self, rounding: Rounding) -> String {
        self.round_dp(2, rounding).to_string()
    }

    /// Rounded half-even to cents with the currency symbol and thousands separators
    /// (`-$1,234.50`), as [`crate::amount::MoneyDisplay`] shows a `Decimal`.
    pub fn money(self, currency: &str) -> String {
        let text = self.cents_text(Rounding::HalfEven);
        let (sign, digits) = text.strip_prefix('-').map_or(("", &*text), |d| ("-", d));
        format!("{sign}{currency}{}", group_thousands_text(digits))
    }

    fn saturated(self, negative: bool) -> Self {
        let int = if negative { i128::MIN } else { i128::MAX };
        Self {
            int,
            frac: 0,
            scale: self.scale,
        }
    }
}

impl ExactSum {
    /// `m · 10^-scale` exactly (`scale` at most 28; larger scales are clamped to 28).
    pub fn from_scaled(m: i128, scale: u32) -> Self {
        let scale = scale.min(FRAC_DIGITS);
        let p = pow10(scale) as i128;
        Self {
            int: m.div_euclid(p),
            frac: m.rem_euclid(p) as u128 * pow10(FRAC_DIGITS - scale),
            scale,
        }
    }
}

impl From<Decimal> for ExactSum {
    fn from(d: Decimal) -> Self {
        let scale = d.scale();
        // The common case (up to 18 digits, scale up to 18) in 64-bit arithmetic: ingest adds
        // two amounts per row, and 128-bit division is a library call.
        match i64::try_from(d.mantissa()) {
            Ok(m) if scale <= 18 => {
                let p = pow10(scale) as i64;
                Self {
                    int: i128::from(m.div_euclid(p)),
                    frac: m.rem_euclid(p) as u128 * pow10(FRAC_DIGITS - scale),
                    scale,
                }
            }
            _ => Self::from_scaled(d.mantissa(), scale),
        }
    }
}

impl std::ops::Add for ExactSum {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        self.checked_add(other)
            .unwrap_or_else(|| self.saturated(other.is_negative()))
    }
}

impl std::ops::AddAssign for ExactSum {
    fn add_assign(&mut self, other: Self) {
        *self = *self + other;
    }
}

impl std::ops::AddAssign<Decimal> for ExactSum {
    fn add_assign(&mut self, other: Decimal) {
        *self = *self + Self::from(other);
    }
}

impl std::ops::Neg for ExactSum {
    type Output = Self;
    fn neg(self) -> Self {
        self.checked_neg().unwrap_or(self.saturated(false))
    }
}

impl std::ops::Sub for ExactSum {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        self + -other
    }
}

impl std::iter::Sum for ExactSum {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, |a, b| a + b)
    }
}

impl std::iter::Sum<Decimal> for ExactSum {
    fn sum<I: Iterator<Item = Decimal>>(iter: I) -> Self {
        iter.fold(Self::ZERO, |mut a, b| {
            a += b;
            a
        })
    }
}

impl PartialEq for ExactSum {
    fn eq(&self, other: &Self) -> bool {
        (self.int, self.frac) == (other.int, other.frac)
    }
}

impl Eq for ExactSum {}

impl PartialOrd for ExactSum {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ExactSum {
    fn cmp(&self, other: &Self) -> Ordering {
        // The floor representation orders like the numbers themselves.
        (self.int, self.frac).cmp(&(other.int, other.frac))
    }
}

impl Hash for ExactSum {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.int, self.frac).hash(state);
    }
}

impl PartialEq<Decimal> for ExactSum {
    fn eq(&self, other: &Decimal) -> bool {
        *self == Self::from(*other)
    }
}

impl fmt::Display for ExactSum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (negative, int, frac) = self.magnitude();
        let sign = if negative { "-" } else { "" };
        if self.scale == 0 {
            return write!(f, "{sign}{int}");
        }
        let digits = frac / pow10(FRAC_DIGITS - self.scale);
        write!(
            f,
            "{sign}{int}.{digits:0width$}",
            width = self.scale as usize
        )
    }
}

impl FromStr for ExactSum {
    type Err = ExactSumError;

    /// Plain decimal text of any length (`-12.50`, `123456789012345678901234567890.1`), as
    /// [`fmt::Display`] writes it; at most 28 decimal places.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ExactSumError(s.chars().take(80).collect());
        let (negative, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (int_text, frac_text) = body.split_once('.').unwrap_or((body, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        let frac_text = frac_text.trim_end_matches('0');
        if int_text.is_empty() || !digits(int_text) || !digits(frac_text) {
            return Err(bad());
        }
        let scale = body.split_once('.').map_or(0, |(_, f)| f.len()) as u32;
        if frac_text.len() > FRAC_DIGITS as usize {
            return Err(bad());
        }
        let int: u128 = int_text.parse().map_err(|_| bad())?;
        let frac = match frac_text {
            "" => 0,
            t => t.parse::<u128>().map_err(|_| bad())? * pow10(FRAC_DIGITS - t.len() as u32),
        };
        Self::from_magnitude(negative, int, frac, scale.min(FRAC_DIGITS)).ok_or_else(bad)
    }
}

impl serde::Serialize for ExactSum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ExactSum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
