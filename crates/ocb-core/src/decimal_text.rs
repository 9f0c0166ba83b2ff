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

/// Powers of ten that fit a `u64` (10^0 ..= 10^19).
const POW10: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// "00" "01" … "99": two digits per step instead of one.
const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Writes the digits of `n` right-aligned ending before `end`, at least `min` of them
/// (zero-padded); returns the start index.
fn write_padded(mut n: u64, min: usize, buf: &mut [u8; 32], end: usize) -> usize {
    let mut i = end;
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else if n > 0 || i == end {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    // The buffer starts as '0's: padding is moving the start.
    i.min(end - min)
}

/// [`write_digits!`] for a 64-bit mantissa and a scale below 20: one division splits the
/// integer and fraction parts, each written two digits at a time.
fn write_u64(m: u64, scale: usize, buf: &mut [u8; 32]) -> usize {
    let end = buf.len();
    if scale == 0 {
        return write_padded(m, 1, buf, end);
    }
    let (int, frac) = (m / POW10[scale], m % POW10[scale]);
    let point = write_padded(frac, scale, buf, end) - 1;
    debug_assert_eq!(point, end - scale - 1);
    buf[point] = b'.';
    write_padded(int, 1, buf, point)
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
            Ok(m) if scale < POW10.len() => write_u64(m, scale, &mut buf),
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
