//! Row and file diagnostics: codes, line references and messages (SPEC §3.7).

use serde::{Serialize, Serializer};
use std::fmt;

/// Longest value quoted in a diagnostic, in characters (SPEC §3.7).
pub const MAX_VALUE_CHARS: usize = 200;

/// A diagnostic code. Variants are the spec names in CamelCase; [`Code::as_str`] gives the spec
/// spelling (`E_RECORD`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Code {
    /// `E_RECORD`: malformed record (unterminated quote, field count ≠ header count).
    ERecord,
    /// `E_ENCODING`: the record is not valid UTF-8.
    EEncoding,
    /// `E_PERIOD_START`: `BillingPeriodStart` null or not an accepted date.
    EPeriodStart,
    /// `E_DATE`: another date column is non-null and not an accepted date.
    EDate,
    /// `E_NUMBER`: a cost is non-numeric or out of range, or `BilledCost` is null.
    ENumber,
    /// `W_NO_TAGS_COLUMN`: the input has no `Tags` column.
    WNoTagsColumn,
    /// `W_TAGS_INVALID`: a `Tags` cell is not a JSON object.
    WTagsInvalid,
    /// `W_TAG_DATE`: an `end_date` / `reconciliation_end` tag is not a date (raised by ingest).
    WTagDate,
    /// `W_PERIOD_END`: `BillingPeriodEnd` is before `BillingPeriodStart`.
    WPeriodEnd,
    /// `W_OFFSET`: a date carried a non-UTC offset and was converted.
    WOffset,
    /// `W_DUPLICATE_ROW`: the row is identical to an earlier row of the file; both are kept
    /// and flagged `possible_duplicate` (raised by ingest, issue 17).
    WDuplicateRow,
}

impl Code {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ERecord => "E_RECORD",
            Self::EEncoding => "E_ENCODING",
            Self::EPeriodStart => "E_PERIOD_START",
            Self::EDate => "E_DATE",
            Self::ENumber => "E_NUMBER",
            Self::WNoTagsColumn => "W_NO_TAGS_COLUMN",
            Self::WTagsInvalid => "W_TAGS_INVALID",
            Self::WTagDate => "W_TAG_DATE",
            Self::WPeriodEnd => "W_PERIOD_END",
            Self::WOffset => "W_OFFSET",
            Self::WDuplicateRow => "W_DUPLICATE_ROW",
        }
    }

    /// Parses the spec spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// Every code.
    pub const ALL: [Code; 11] = [
        Self::ERecord,
        Self::EEncoding,
        Self::EPeriodStart,
        Self::EDate,
        Self::ENumber,
        Self::WNoTagsColumn,
        Self::WTagsInvalid,
        Self::WTagDate,
        Self::WPeriodEnd,
        Self::WOffset,
        Self::WDuplicateRow,
    ];

    /// Is this a row error (as opposed to a warning)?
    pub fn is_error(self) -> bool {
        self.as_str().starts_with("E_")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where a record is: physical line of a CSV record (header = line 1), or 1-based Parquet row,
/// optionally inside a part file of an export directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineRef {
    /// Part file (relative path) when the input is an export directory.
    pub part: Option<String>,
    /// Line or row number, from 1.
    pub n: u64,
    /// True for Parquet rows (`row N`), false for CSV lines (`line N`).
    pub is_row: bool,
}

impl LineRef {
    /// A CSV line.
    pub fn line(n: u64) -> Self {
        Self {
            part: None,
            n,
            is_row: false,
        }
    }

    /// A Parquet row.
    pub fn row(n: u64) -> Self {
        Self {
            part: None,
            n,
            is_row: true,
        }
    }

    /// The same reference inside a part file.
    pub fn in_part(mut self, part: Option<&str>) -> Self {
        self.part = part.map(str::to_string);
        self
    }
}

impl fmt::Display for LineRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(part) = &self.part {
            write!(f, "{part}:")?;
        }
        let word = if self.is_row { "row" } else { "line" };
        write!(f, "{word} {}", self.n)
    }
}

impl Serialize for LineRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One problem found in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Where.
    pub line: LineRef,
    /// The column header as written, when the problem concerns one cell.
    pub column: Option<String>,
    /// The offending value, truncated to [`MAX_VALUE_CHARS`] characters.
    pub value: Option<String>,
    /// What kind of problem.
    pub code: Code,
    /// A reason sentence for people.
    pub message: String,
}

impl Diagnostic {
    /// Builds a diagnostic, truncating the value.
    pub fn new(
        line: LineRef,
        column: Option<&str>,
        value: Option<&str>,
        code: Code,
        message: impl Into<String>,
    ) -> Self {
        Self {
            line,
            column: column.map(str::to_string),
            value: value.map(truncate_value),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    /// `line 17, BilledCost, "12,50": not a number (E_NUMBER)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", {c}")?;
        }
        if let Some(v) = &self.value {
            write!(f, ", \"{v}\"")?;
        }
        write!(f, ": {} ({})", self.message, self.code)
    }
}

/// Truncates to [`MAX_VALUE_CHARS`] characters.
pub fn truncate_value(v: &str) -> String {
    match v.char_indices().nth(MAX_VALUE_CHARS) {
        Some((cut, _)) => v[..cut].to_string(),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(LineRef::line(17), "line 17")]
    #[case(LineRef::row(5), "row 5")]
    #[case(LineRef::line(17).in_part(Some("part.csv")), "part.csv:line 17")]
    #[case(LineRef::row(2).in_part(Some("p/1.parquet")), "p/1.parquet:row 2")]
    fn line_refs_display(#[case] r: LineRef, #[case] want: &str) {
        assert_eq!(r.to_string(), want);
    }

    #[test]
    fn codes_round_trip_and_classify() {
        for c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(c));
            assert_eq!(c.is_error(), c.as_str().starts_with('E'));
        }
        assert_eq!(Code::WNoTagsColumn.as_str(), "W_NO_TAGS_COLUMN");
    }

    #[test]
    fn values_are_truncated_to_200_chars() {
        let long = "é".repeat(300);
        let d = Diagnostic::new(LineRef::line(2), None, Some(&long), Code::EDate, "bad");
        assert_eq!(d.value.expect("value").chars().count(), 200);
    }

    #[test]
    fn display_reads_like_the_spec_example() {
        let d = Diagnostic::new(
            LineRef::line(17),
            Some("BilledCost"),
            Some("12,50"),
            Code::ENumber,
            "not a number",
        );
        assert_eq!(
            d.to_string(),
            "line 17, BilledCost, \"12,50\": not a number (E_NUMBER)"
        );
    }
}
