//! Cell values as the row builder sees them, whatever the file format (SPEC §3.4).
//!
//! CSV cells are always text; Parquet cells may already be typed (exact decimals, instants, maps,
//! nested values). The row builder works on [`Cell`] so both formats follow the same rules.

use chrono::{DateTime, Utc};
use ocb_core::date::canonical_instant;
use serde_json::{Map, Value};
use std::borrow::Cow;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// One cell of a record.
// Only Parquet produces the typed variants.
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    /// A Parquet null (CSV nulls are text and recognised by [`is_null_text`]).
    Null,
    /// Text exactly as written.
    Text(&'a str),
    /// A typed instant (Parquet TIMESTAMP / DATE).
    Instant(DateTime<Utc>),
    /// A nested value (Parquet group, list or map) as compact JSON.
    Json(&'a str),
    /// A Parquet MAP of tags.
    Map(&'a Map<String, Value>),
}

impl<'a> Cell<'a> {
    /// Is the cell null (SPEC §3.4: empty, whitespace only, or `NULL` in any case)?
    pub(crate) fn is_null(&self) -> bool {
        match self {
            Cell::Null => true,
            Cell::Text(t) => is_null_text(t),
            _ => false,
        }
    }

    /// The cell as text, as written for CSV, canonical for typed Parquet values. `None` only for
    /// a Parquet null.
    pub(crate) fn as_text(&self) -> Option<Cow<'a, str>> {
        Some(match self {
            Cell::Null => return None,
            Cell::Text(t) | Cell::Json(t) => Cow::Borrowed(*t),
            Cell::Instant(i) => Cow::Owned(canonical_instant(i)),
            Cell::Map(m) => Cow::Owned(Value::Object((*m).clone()).to_string()),
        })
    }
}

/// SPEC §3.4 null rule for text. `NA`, `None`, `nan` are ordinary strings.
pub(crate) fn is_null_text(text: &str) -> bool {
    let b = text.as_bytes();
    // Fast path for the common cell: no surrounding ASCII-or-Unicode whitespace is possible when
    // both ends are printable ASCII, so only the exact length-4 `NULL` check remains.
    if let (Some(first), Some(last)) = (b.first(), b.last()) {
        if first.is_ascii_graphic() && last.is_ascii_graphic() {
            return b.len() == 4 && text.eq_ignore_ascii_case("NULL");
        }
    }
    let t = text.trim();
    t.is_empty() || t.eq_ignore_ascii_case("NULL")
}

/// A record of cells, in header order.
pub(crate) trait RecordView {
    /// Number of cells.
    fn len(&self) -> usize;
    /// Cell `i` (`i < len()`).
    fn cell(&self, i: usize) -> Cell<'_>;

    /// A 64-bit hash of every cell's value, for finding identical rows (`duplicates.rs`). Each
    /// cell is hashed with the previous hash as seed, so cell boundaries count (`a,bc` and
    /// `ab,c` differ).
    fn raw_hash(&self) -> u64 {
        let mut h = self.len() as u64;
        for i in 0..self.len() {
            h = match self.cell(i) {
                Cell::Null => h.rotate_left(17) ^ 0x6e75_6c6c,
                Cell::Instant(t) => xxh3_64_with_seed(
                    &t.timestamp_nanos_opt().unwrap_or(i64::MIN).to_le_bytes(),
                    h,
                ),
                Cell::Text(t) | Cell::Json(t) => xxh3_64_with_seed(t.as_bytes(), h),
                Cell::Map(m) => xxh3_64_with_seed(
                    serde_json::Value::Object(m.clone()).to_string().as_bytes(),
                    h,
                ),
            };
        }
        h
    }
}

/// A CSV record whose field bytes were validated as UTF-8 once, as a whole.
pub(crate) struct TextRecord<'a> {
    pub(crate) text: &'a str,
    pub(crate) ends: &'a [usize],
}

impl RecordView for TextRecord<'_> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The record's text in one pass, then its field boundaries: cheaper than cell by cell.
    fn raw_hash(&self) -> u64 {
        let mut h = xxh3_64_with_seed(self.text.as_bytes(), self.ends.len() as u64);
        for &end in self.ends {
            h = (h ^ end as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        h
    }

    fn cell(&self, i: usize) -> Cell<'_> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        // Field boundaries are byte offsets from csv_core; a multi-byte character is never split
        // by a comma or quote byte, so every boundary is a char boundary. `get` keeps that a
        // checked assumption rather than a possible panic.
        Cell::Text(self.text.get(start..self.ends[i]).unwrap_or(""))
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[run..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => out.push_str(&format!("\\u{b:04x}")),
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("", true)]
    #[case("   ", true)]
    #[case("NULL", true)]
    #[case(" null ", true)]
    #[case("Null", true)]
    #[case("NA", false)]
    #[case("N/A", false)]
    #[case("None", false)]
    #[case("nan", false)]
    #[case("0", false)]
    fn only_empty_and_null_are_null(#[case] text: &str, #[case] null: bool) {
        assert_eq!(is_null_text(text), null);
    }

    #[rstest]
    #[case("plain", "\"plain\"")]
    #[case("q\"b\\s", "\"q\\\"b\\\\s\"")]
    #[case("l1\nl2\r\t\u{1}", "\"l1\\nl2\\r\\t\\u0001\"")]
    #[case("é€", "\"é€\"")]
    fn json_strings_are_escaped_like_serde(#[case] s: &str, #[case] want: &str) {
        let mut out = String::new();
        push_json_str(&mut out, s);
        assert_eq!(out, want);
        assert_eq!(serde_json::from_str::<String>(&out).expect("valid JSON"), s);
    }
}
