//! Parquet cloud bills (INTEGRATIONS.md §3.2: an AWS CUR may be delivered as Parquet) read into
//! the same [`Table`] of text cells as a CSV, so that `aws-cur` has one code path and a Parquet
//! report converts to the same bytes as the CSV export of the same data.
//!
//! Each typed value becomes the text the CSV export would hold: DECIMAL exactly (its unscaled
//! digits at the file's scale), DOUBLE/FLOAT the shortest text that round-trips (Rust's float
//! `Display`: `1.005`, never `1.00499999…`; CUR Parquet stores costs as DOUBLE, and the shortest
//! text is the value AWS wrote), TIMESTAMP an RFC 3339 UTC instant, DATE `YYYY-MM-DD`, NULL an
//! empty cell, and MAP/LIST/struct values compact JSON (so the CUR 2.0 `resource_tags` map reads
//! like its CSV form). Records are numbered from 1 (a Parquet file has no header line).
//!
//! The `parquet` crate's row API reports some type combinations with `unimplemented!` and can
//! panic on corrupt files; those panics are caught and reported as an input error, because a
//! file a user hands us must never take the process down (the same policy as `ocb-focus`).

use crate::cloud::{Record, Table};
use crate::error::{ConvertError, Result};
use chrono::DateTime;
use parquet::basic::{LogicalType, TimeUnit};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::Field;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Reads a whole Parquet file into a table of text cells.
pub fn parse_parquet_table(name: &str, bytes: &[u8]) -> Result<Table> {
    let data = bytes::Bytes::copy_from_slice(bytes);
    let guard = data.clone();
    let reader = match catch_unwind(AssertUnwindSafe(|| SerializedFileReader::new(data))) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Err(ConvertError::input(format!(
                "{name}: not a readable Parquet file: {e}"
            )))
        }
        Err(_) => {
            return Err(ConvertError::input(format!(
                "{name}: not a readable Parquet file: corrupt metadata"
            )))
        }
    };
    // The parquet crate allocates what page headers declare; a corrupt file is refused first.
    ocb_focus::parquet_pages::check_page_sizes(reader.metadata(), &guard)
        .map_err(|e| ConvertError::input(format!("{name}: not a usable Parquet file: {e}")))?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let fields = schema.root_schema().get_fields();
    let headers: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
    // INT64 columns annotated TIMESTAMP may surface as plain longs; the unit turns them back.
    let units: Vec<Option<TimeUnit>> = fields
        .iter()
        .map(|f| match f.get_basic_info().logical_type_ref() {
            Some(LogicalType::Timestamp(t)) => Some(t.unit),
            _ => None,
        })
        .collect();
    if headers.is_empty() {
        return Err(ConvertError::input(format!("{name}: no columns")));
    }
    let mut iter = RowIter::from_file_into(Box::new(reader));
    let mut rows: Vec<Record> = Vec::new();
    loop {
        let line = rows.len() as u64 + 1;
        let next = match catch_unwind(AssertUnwindSafe(|| iter.next())) {
            Ok(n) => n,
            Err(_) => {
                return Err(ConvertError::input(format!(
                    "{name}: cannot read row {line}: unsupported or corrupt Parquet data"
                )))
            }
        };
        let row = match next {
            None => break,
            Some(Ok(row)) => row,
            Some(Err(e)) => {
                return Err(ConvertError::input(format!(
                    "{name}: cannot read row {line}: {e}"
                )))
            }
        };
        let cells: std::result::Result<Vec<String>, String> = row
            .get_column_iter()
            .enumerate()
            .map(|(i, (col, field))| {
                cell_text(field, units.get(i).copied().flatten())
                    .map_err(|why| format!("column {col}: {why}"))
            })
            .collect();
        rows.push((line, cells));
    }
    Ok(Table {
        name: name.to_string(),
        headers,
        rows,
    })
}

/// The CSV text of one value; `Err` for a value that has no truthful text.
fn cell_text(field: &Field, unit: Option<TimeUnit>) -> std::result::Result<String, String> {
    Ok(match field {
        Field::Null => String::new(),
        Field::Bool(b) => b.to_string(),
        Field::Byte(n) => n.to_string(),
        Field::Short(n) => n.to_string(),
        Field::Int(n) => n.to_string(),
        Field::Long(n) => match unit {
            Some(u) => instant(*n, u)?,
            None => n.to_string(),
        },
        Field::UByte(n) => n.to_string(),
        Field::UShort(n) => n.to_string(),
        Field::UInt(n) => n.to_string(),
        Field::ULong(n) => n.to_string(),
        Field::Float16(f) => f32::from(*f).to_string(),
        Field::Float(f) => f.to_string(),
        Field::Double(f) => f.to_string(),
        Field::Decimal(d) => decimal_text(d.data(), d.scale())?,
        Field::Str(s) => s.clone(),
        Field::Bytes(b) => std::str::from_utf8(b.data())
            .map_err(|_| "binary value is not valid UTF-8 text".to_string())?
            .to_string(),
        Field::Date(days) => DateTime::from_timestamp(i64::from(*days) * 86_400, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .ok_or_else(|| format!("date {days} days after 1970-01-01 is out of range"))?,
        Field::TimeMillis(n) => n.to_string(),
        Field::TimeMicros(n) => n.to_string(),
        Field::TimestampMillis(n) => instant(*n, TimeUnit::MILLIS)?,
        Field::TimestampMicros(n) => instant(*n, TimeUnit::MICROS)?,
        Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => {
            json_of(field)?.to_string()
        }
    })
}

/// An epoch count as an RFC 3339 UTC instant (`2025-01-01T00:00:00Z`, fractions only if any).
fn instant(n: i64, unit: TimeUnit) -> std::result::Result<String, String> {
    let t = match unit {
        TimeUnit::MILLIS => DateTime::from_timestamp_millis(n),
        TimeUnit::MICROS => DateTime::from_timestamp_micros(n),
        TimeUnit::NANOS => Some(DateTime::from_timestamp_nanos(n)),
    };
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .ok_or_else(|| format!("timestamp {n} is out of range"))
}

/// Exact text of a big-endian two's-complement unscaled DECIMAL.
fn decimal_text(be: &[u8], scale: i32) -> std::result::Result<String, String> {
    let out_of_range = || "decimal value is out of range".to_string();
    let unscaled = be_i128(be).ok_or_else(out_of_range)?;
    let d = if scale >= 0 {
        Decimal::try_from_i128_with_scale(unscaled, scale.unsigned_abs())
            .map_err(|_| out_of_range())?
    } else {
        let factor = Decimal::from_i128_with_scale(10i128.pow(scale.unsigned_abs().min(28)), 0);
        Decimal::try_from_i128_with_scale(unscaled, 0)
            .ok()
            .and_then(|v| v.checked_mul(factor))
            .ok_or_else(out_of_range)?
    };
    Ok(d.to_string())
}

fn be_i128(be: &[u8]) -> Option<i128> {
    if be.is_empty() {
        return Some(0);
    }
    let fill = if be[0] & 0x80 != 0 { 0xff } else { 0 };
    // Leading sign-extension bytes beyond 16 carry no value.
    let skip = be.len().saturating_sub(16);
    if be[..skip].iter().any(|&b| b != fill) {
        return None;
    }
    let mut buf = [fill; 16];
    let tail = &be[skip..];
    buf[16 - tail.len()..].copy_from_slice(tail);
    Some(i128::from_be_bytes(buf))
}

/// A nested value as JSON; scalars inside keep the text rules above (as JSON strings, which is
/// how a CSV export writes tag values).
fn json_of(field: &Field) -> std::result::Result<Value, String> {
    let key = |k: &Field| -> std::result::Result<String, String> {
        match k {
            Field::Str(s) => Ok(s.clone()),
            other => cell_text(other, None),
        }
    };
    Ok(match field {
        Field::Null => Value::Null,
        Field::Group(row) => Value::Object(
            row.get_column_iter()
                .map(|(k, v)| Ok((k.clone(), json_of(v)?)))
                .collect::<std::result::Result<Map<_, _>, String>>()?,
        ),
        Field::ListInternal(list) => Value::Array(
            list.elements()
                .iter()
                .map(json_of)
                .collect::<std::result::Result<_, _>>()?,
        ),
        Field::MapInternal(map) => Value::Object(
            map.entries()
                .iter()
                .map(|(k, v)| Ok((key(k)?, json_of(v)?)))
                .collect::<std::result::Result<Map<_, _>, String>>()?,
        ),
        other => Value::String(cell_text(other, None)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact_text() {
        assert_eq!(decimal_text(&[0x04, 0xD2], 2).as_deref(), Ok("12.34"));
        assert_eq!(decimal_text(&[0xFB, 0x2E], 2).as_deref(), Ok("-12.34"));
        assert_eq!(decimal_text(&[0x05], 3).as_deref(), Ok("0.005"));
        assert_eq!(decimal_text(&[0x0F], -2).as_deref(), Ok("1500"));
        assert_eq!(decimal_text(&[], 0).as_deref(), Ok("0"));
        assert!(decimal_text(&[1; 20], 0).is_err());
    }

    #[test]
    fn typed_values_read_like_their_csv_text() {
        assert_eq!(
            cell_text(&Field::Double(1.005), None).as_deref(),
            Ok("1.005")
        );
        assert_eq!(
            cell_text(&Field::Double(-3.375), None).as_deref(),
            Ok("-3.375")
        );
        assert_eq!(
            cell_text(&Field::Date(20089), None).as_deref(),
            Ok("2025-01-01")
        );
        assert_eq!(
            cell_text(&Field::TimestampMillis(1_735_689_600_000), None).as_deref(),
            Ok("2025-01-01T00:00:00Z")
        );
        assert_eq!(
            cell_text(&Field::Long(1_735_689_600_000_000), Some(TimeUnit::MICROS)).as_deref(),
            Ok("2025-01-01T00:00:00Z")
        );
        assert_eq!(cell_text(&Field::Null, None).as_deref(), Ok(""));
    }

    #[test]
    fn garbage_is_an_input_error_not_a_panic() {
        for bytes in [&b"PAR1 not parquet at all PAR1"[..], b"PAR1", b""] {
            let e = parse_parquet_table("x.parquet", bytes).expect_err("garbage");
            assert!(e.to_string().contains("not a readable Parquet file"), "{e}");
        }
    }
}
