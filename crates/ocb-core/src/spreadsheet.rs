//! Spreadsheet-formula neutralisation for text cells of every CSV the product writes (SPEC §10.1).

use std::borrow::Cow;

/// Prefixes `'` to text that a spreadsheet would run as a formula (`= + - @`, TAB, CR first).
/// Numbers are never passed here: amount columns stay numeric.
pub fn neutralize_formula(text: &str) -> Cow<'_, str> {
    match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::neutralize_formula;

    #[test]
    fn formula_starts_are_neutralised() {
        for (input, expected) in [
            ("=SUM(A1)", "'=SUM(A1)"),
            ("+1", "'+1"),
            ("-x", "'-x"),
            ("@me", "'@me"),
            ("\tx", "'\tx"),
            ("ok", "ok"),
            ("", ""),
        ] {
            assert_eq!(neutralize_formula(input), expected);
        }
    }
}
