//! The CSV dialect of every built-in journal (SPEC §10.1): UTF-8 without BOM, comma, CRLF, fields
//! quoted only when they contain a comma, quote, CR or LF, and text cells neutralised against
//! spreadsheet formulas. Amount and count cells are numeric and written untouched.

use ocb_core::spreadsheet::neutralize_formula;
use std::borrow::Cow;

/// One cell: text (neutralised and quoted as needed) or a number (written as is).
#[derive(Debug, Clone)]
pub enum Cell<'a> {
    /// A text value.
    Text(Cow<'a, str>),
    /// A numeric value already formatted (`12.50`, `-3.00`, `7`).
    Number(String),
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(s: &'a str) -> Self {
        Cell::Text(Cow::Borrowed(s))
    }
}

impl From<String> for Cell<'_> {
    fn from(s: String) -> Self {
        Cell::Text(Cow::Owned(s))
    }
}

/// Quotes a field when it contains a comma, quote, CR or LF (quotes doubled).
pub fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

/// A text cell as written: neutralised, then quoted.
pub fn text_cell(value: &str) -> String {
    quote(&neutralize_formula(value)).into_owned()
}

/// Accumulates CSV rows in memory (journals are written in one piece after balancing).
#[derive(Debug, Default)]
pub struct CsvWriter {
    out: String,
    rows: usize,
}

impl CsvWriter {
    /// A writer with the header row already written (headers are plain text).
    pub fn with_header(header: &[&str]) -> Self {
        let mut w = Self::default();
        w.out.push_str(&header.join(","));
        w.out.push_str("\r\n");
        w
    }

    /// Writes one data row.
    pub fn row(&mut self, cells: &[Cell<'_>]) {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            match cell {
                Cell::Text(t) => self.out.push_str(&quote(&neutralize_formula(t))),
                Cell::Number(n) => self.out.push_str(n),
            }
        }
        self.out.push_str("\r\n");
        self.rows += 1;
    }

    /// Data rows written (header excluded).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The finished document.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed_and_neutralises_text_not_numbers() {
        let mut w = CsvWriter::with_header(&["a", "b", "c", "d"]);
        w.row(&[
            "plain".into(),
            "x,y \"q\"".into(),
            "=SUM(A1)".into(),
            Cell::Number("-12.50".into()),
        ]);
        w.row(&[
            "-5".into(),
            "line\nbreak".into(),
            "".into(),
            Cell::Number("0.00".into()),
        ]);
        assert_eq!(w.rows(), 2);
        assert_eq!(
            w.finish(),
            "a,b,c,d\r\nplain,\"x,y \"\"q\"\"\",'=SUM(A1),-12.50\r\n'-5,\"line\nbreak\",,0.00\r\n"
        );
    }
}
