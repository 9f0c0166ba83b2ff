//! The output CSV: RFC 4180, UTF-8 without BOM, LF, minimal quoting, sorted rows and the
//! (ResourceId, ChargePeriodStart) uniqueness re-check (INTEGRATIONS.md §1.3, §1.6).

use crate::error::{ConvertError, Result};
use crate::row::{FocusLiteRow, HEADER};
use std::io::Write;

/// Sorts rows by ResourceId (UTF-8 byte order), then ChargePeriodStart, and refuses duplicates
/// and cells that no reader would take back.
pub fn finalize(rows: &mut [FocusLiteRow]) -> Result<()> {
    for row in rows.iter() {
        refuse_nul(row)?;
    }
    rows.sort_by(|a, b| {
        a.resource_id
            .as_bytes()
            .cmp(b.resource_id.as_bytes())
            .then(a.charge_period_start.cmp(&b.charge_period_start))
    });
    for w in rows.windows(2) {
        if w[0].resource_id == w[1].resource_id
            && w[0].charge_period_start == w[1].charge_period_start
        {
            return Err(ConvertError::Internal(format!(
                "duplicate (ResourceId, ChargePeriodStart) ({}, {}) in the output",
                w[0].resource_id, w[0].charge_period_start
            )));
        }
    }
    Ok(())
}

/// A NUL character (from a JSON `\u0000` or a text input with binary bytes) would make the CSV
/// binary data, which `ingest` refuses as a whole (docs/reading-inputs.md): the run fails with
/// an input error naming the row and column instead of writing a file nobody can import. Found
/// by the `convert` fuzz target.
fn refuse_nul(row: &FocusLiteRow) -> Result<()> {
    let cells = row.cells();
    match cells.iter().position(|c| c.contains('\0')) {
        None => Ok(()),
        Some(i) => Err(ConvertError::input(format!(
            "{:?}: {} contains a NUL character (binary data in the input?); fix the input",
            row.resource_id, HEADER[i]
        ))),
    }
}

fn field(out: &mut Vec<u8>, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        out.push(b'"');
        out.extend_from_slice(value.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(value.as_bytes());
    }
}

/// The CSV bytes of `rows` (header first), in the given order.
pub fn to_csv_bytes(rows: &[FocusLiteRow]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 * (rows.len() + 1));
    out.extend_from_slice(HEADER.join(",").as_bytes());
    out.push(b'\n');
    for r in rows {
        for (i, c) in r.cells().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            field(&mut out, c);
        }
        out.push(b'\n');
    }
    out
}

/// Writes `rows` as CSV.
pub fn write_csv(rows: &[FocusLiteRow], mut w: impl Write) -> std::io::Result<()> {
    w.write_all(&to_csv_bytes(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::Tags;
    use rust_decimal::Decimal;

    fn row(id: &str) -> FocusLiteRow {
        FocusLiteRow::new(
            "2025-01".parse().expect("period"),
            id.into(),
            "n, \"x\"".into(),
            "S".into(),
            Decimal::new(8800, 3),
            Decimal::new(125, 3),
            Tags::core("a@x.edu", "p", "f"),
        )
    }

    #[test]
    fn quotes_only_when_needed_and_sorts_by_bytes() {
        let mut rows = vec![row("b"), row("B"), row("a")];
        finalize(&mut rows).expect("unique");
        let text = String::from_utf8(to_csv_bytes(&rows)).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert!(lines[1].contains(",B,"));
        assert_eq!(
            lines[2],
            r#"2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,2025-01-01T00:00:00Z,2025-02-01T00:00:00Z,8.80,8.80,0.12,0.12,a,"n, ""x""",S,"{""pi_email"":""a@x.edu"",""project_id"":""p"",""fund_org"":""f""}",,,,,,,,,,,,"#
        );
        assert!(!text.contains('\r'));
    }

    /// Found by the `convert` fuzz target: a Slurm account with NUL bytes went into the CSV,
    /// which `ingest` then refused as binary data.
    #[test]
    fn fuzz_convert_nul_in_a_cell_is_an_input_error() {
        let mut rows = vec![row("acct\0x")];
        let e = finalize(&mut rows).expect_err("refused");
        assert!(matches!(e, ConvertError::Input(_)), "{e:?}");
        assert!(
            e.to_string()
                .contains("ResourceId contains a NUL character"),
            "{e}"
        );
    }

    #[test]
    fn duplicates_are_internal_errors() {
        let mut rows = vec![row("a"), row("a")];
        assert!(matches!(
            finalize(&mut rows),
            Err(ConvertError::Internal(_))
        ));
    }
}
