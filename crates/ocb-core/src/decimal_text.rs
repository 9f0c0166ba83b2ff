//! Exact decimal text without allocating: the import writer formats four amounts per row, and
//! `Decimal::to_string` (a heap string each) was a visible share of the writer thread.

use rust_decimal::Decimal;

/// Writes the digits of `$m` right-aligned into `$buf` with a point before the last `$scale`
/// digits and at least one integer digit; evaluates to the start index.
macro_rules! write_digits {
    ($m:expr, $scale:expr, $buf:expr) => {{
        let (mut m, mut i, mut written) = ($m, $buf.len(), 0usize);
        while m > 0 || written <= $scale {
            if written == $scale && $scale > 0 {
                i -= 1;
                $buf[i] = b'.';
            }
            i -= 1;
            $buf[i] = b'0' + (m % 10) as u8;
            m /= 10;
            written += 1;
        }
        i
    }};
}

/// The text of a decimal exactly as `Decimal`'s `Display` writes it (scale kept, `-` for
/// negatives), in a stack buffer.
/// 32 bytes hold the longest text: 29 digits, a point, a leading `0` and a sign.
#[derive(Clone, Copy)]
pub struct DecimalText {
    buf: [u8; 32],
    start: usize,
}

impl DecimalText {
    /// Formats `d`.
    pub fn new(d: Decimal) -> Self {
        let mut buf = [b'0'; 32];
        let scale = d.scale() as usize;
        let m = d.mantissa().unsigned_abs();
        // Nearly every amount fits 64 bits, where division by 10 is a multiply; u128 division
        // is a library call per digit.
        let mut i = match u64::try_from(m) {
            Ok(m) => write_digits!(m, scale, buf),
            Err(_) => write_digits!(m, scale, buf),
        };
        if d.is_sign_negative() && !d.is_zero() {
            i -= 1;
            buf[i] = b'-';
        }
        Self { buf, start: i }
    }

    /// The text as bytes (ASCII), for writers that take bytes and need no UTF-8 check.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits, '.' and '-' are ever written.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    #[test]
    fn matches_display_on_edge_cases() {
        for s in [
            "0",
            "0.00",
            "-0.00",
            "1",
            "-1",
            "0.5",
            "-0.05",
            "10",
            "100.000",
            "1234.56",
            "0.00000000001",
            "-20.52022672899",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "0.0000000000000000000000000001",
        ] {
            let d = Decimal::from_str(s).expect("decimal");
            assert_eq!(DecimalText::new(d).as_str(), d.to_string(), "{s}");
        }
    }

    proptest! {
        #[test]
        fn matches_display(m in any::<i64>(), scale in 0u32..=28) {
            let d = Decimal::new(m, scale.min(28));
            let t = DecimalText::new(d);
            prop_assert_eq!(t.as_str(), d.to_string());
        }

        #[test]
        fn matches_display_wide(lo in any::<u32>(), mid in any::<u32>(), hi in any::<u32>(), neg: bool, scale in 0u32..=28) {
            let d = Decimal::from_parts(lo, mid, hi, neg, scale);
            let t = DecimalText::new(d);
            prop_assert_eq!(t.as_str(), d.to_string());
        }
    }
}
