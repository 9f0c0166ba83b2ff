//! Upstream money: the Python project stored amounts as binary floats (`FLOAT`). They come over
//! as the decimal text SQLite prints for the stored double (`CAST(x AS TEXT)`, read in the SQL
//! of `read.rs`), never a float computed here. The bundled SQLite prints 15 significant digits
//! when they read back as the same double (`12.34`, `1.0e-07`), else 17 (`0.30000000000000004`
//! for 0.1 + 0.2, `0.33333333333333332` for 1/3): the exact value of every stored double is
//! kept, and the report lists those with more than ten decimal places.

use rust_decimal::Decimal;

/// Decimal places above which a converted amount is listed in the report: a sign that the
/// Python project summed floats and stored the unrounded result.
pub const REPORTED_DECIMALS: u32 = 10;

/// Why an upstream amount cannot become a decimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a number at all (`Inf`, text, …).
    NotANumber(String),
    /// Beyond the range ingest accepts (`ocb_core::amount::MAX_AMOUNT`).
    OutOfRange(String),
}

impl std::fmt::Display for MoneyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotANumber(t) => write!(f, "amount {t:?} is not a number"),
            Self::OutOfRange(t) => write!(f, "amount {t} is beyond the accepted range"),
        }
    }
}

/// The exact decimal of SQLite's text for a stored number: plain (`12.34`), integer (`100`)
/// or exponent form (`1.0e-07`, `-2.5e+20`).
pub fn decimal_of_text(text: &str) -> Result<Decimal, MoneyError> {
    let t = text.trim();
    let parsed = if t.contains(['e', 'E']) {
        Decimal::from_scientific(t)
    } else {
        t.parse::<Decimal>()
    };
    let d = parsed.map_err(|_| MoneyError::NotANumber(t.to_string()))?;
    if !ocb_core::amount::in_range(d) {
        return Err(MoneyError::OutOfRange(t.to_string()));
    }
    // `100.0` and `100` are one amount; the trailing zero SQLite adds to a whole REAL says nothing.
    Ok(d.normalize())
}

/// Whether an amount has more than [`REPORTED_DECIMALS`] decimal places.
pub fn is_overly_precise(d: Decimal) -> bool {
    d.normalize().scale() > REPORTED_DECIMALS
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("12.34", "12.34")]
    #[case("100.0", "100")]
    #[case("-5.5", "-5.5")]
    #[case("0.3", "0.3")]
    #[case("1.0e-07", "0.0000001")]
    #[case("2.5e+3", "2500")]
    #[case("0.333333333333333", "0.333333333333333")]
    #[case("0", "0")]
    fn sqlite_text_becomes_exact_decimal(#[case] text: &str, #[case] want: &str) {
        assert_eq!(decimal_of_text(text).expect("number").to_string(), want);
    }

    #[rstest]
    #[case("Inf")]
    #[case("-Inf")]
    #[case("abc")]
    #[case("")]
    fn non_numbers_are_refused(#[case] text: &str) {
        assert!(matches!(
            decimal_of_text(text),
            Err(MoneyError::NotANumber(_))
        ));
    }

    #[test]
    fn huge_amounts_are_out_of_range() {
        assert!(matches!(
            decimal_of_text("1.0e+20"),
            Err(MoneyError::OutOfRange(_))
        ));
    }

    #[test]
    fn precision_report_threshold() {
        let d = |t: &str| decimal_of_text(t).expect("number");
        assert!(!is_overly_precise(d("0.1234567891")));
        assert!(is_overly_precise(d("0.12345678912")));
        assert!(is_overly_precise(d("0.333333333333333")));
    }

    /// What the bundled SQLite prints for doubles (the conversion relies on it, see the module
    /// documentation): 15 significant digits when they round-trip, else 17; exponent form for
    /// small and large magnitudes.
    #[test]
    fn bundled_sqlite_prints_round_trip_text() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory db");
        let text = |v: f64| -> String {
            conn.query_row("SELECT CAST(?1 AS TEXT)", [v], |r| r.get(0))
                .expect("cast")
        };
        assert_eq!(text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(text(12.34), "12.34");
        assert_eq!(text(100.0), "100.0");
        assert_eq!(text(1.0 / 3.0), "0.33333333333333332");
        assert_eq!(
            decimal_of_text(&text(0.1 + 0.2)).map(is_overly_precise),
            Ok(true)
        );
        assert_eq!(text(1e-7), "1.0e-07");
    }
}
