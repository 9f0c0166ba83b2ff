//! Parquet records through the `parquet` crate's row API (SPEC §3.2, Parquet specifics).
//!
//! Typed values keep their meaning: DECIMAL stays exact (its digits become decimal text with the
//! file's scale), DOUBLE/FLOAT become the shortest text that round-trips (Rust's float `Display`,
//! so `0.1`, never `0.1000000000000000055…`), TIMESTAMP is a UTC instant and DATE midnight UTC,
//! MAP/LIST/struct values become compact JSON, and a MAP `Tags` column is a tag object.
//!
//! The row API reports unsupported type combinations with `unimplemented!` and may panic on
//! corrupt files; those panics are caught here and turned into a file error so that a bad upload
//! can never take the process down.

use crate::build::RowBuilder;
use crate::cell::{Cell, RecordView};
use crate::columns::{Columns, FocusColumn};
use crate::diag::{Code, Diagnostic, LineRef};
use crate::error::{FileError, FileErrorKind};
use crate::row::{RejectedRecord, RowResult};
use chrono::{DateTime, Utc};
use parquet::basic::{LogicalType, TimeUnit};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};
use serde_json::{Map, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// One converted Parquet cell, owned.
#[derive(Debug, Clone)]
pub(crate) enum OwnedCell {
    Null,
    Text(String),
    Instant(DateTime<Utc>),
    Json(String),
    Map(Map<String, Value>),
    /// A BYTE_ARRAY without UTF-8 annotation that is not UTF-8 either.
    NotUtf8(String),
}

/// A Parquet input positioned before its first row.
pub(crate) struct ParquetSource {
    path: PathBuf,
    iter: RowIter<'static>,
    units: Vec<Option<TimeUnit>>,
    tags_pos: Option<usize>,
    headers: Vec<String>,
    part: Option<String>,
    row: u64,
    cells: Vec<OwnedCell>,
    last_built: bool,
}

impl ParquetSource {
    /// Opens a Parquet reader and recognises its top-level columns like a CSV header.
    pub(crate) fn open(
        path: &Path,
        reader: Box<dyn FileReader>,
        part: Option<String>,
    ) -> Result<(Self, Columns), FileError> {
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let fields = schema.root_schema().get_fields();
        let names: Vec<&str> = fields.iter().map(|f| f.name()).collect();
        let columns = Columns::recognise(path, &names)?;
        let units = fields
            .iter()
            .map(|f| match f.get_basic_info().logical_type_ref() {
                Some(LogicalType::Timestamp(t)) => Some(t.unit),
                _ => None,
            })
            .collect();
        let source = Self {
            path: path.to_path_buf(),
            iter: RowIter::from_file_into(reader),
            units,
            tags_pos: columns.position(FocusColumn::Tags),
            headers: columns.headers().to_vec(),
            part,
            row: 0,
            cells: Vec::new(),
            last_built: false,
        };
        Ok((source, columns))
    }

    /// The next row, `Ok(None)` at the end.
    pub(crate) fn next(
        &mut self,
        builder: &mut RowBuilder,
    ) -> Result<Option<RowResult>, FileError> {
        self.last_built = false;
        let next = catch_unwind(AssertUnwindSafe(|| self.iter.next()));
        let row = match next {
            Ok(None) => return Ok(None),
            Ok(Some(Ok(row))) => row,
            Ok(Some(Err(e))) => return Err(self.error(format!("cannot read row: {e}"))),
            Err(_) => {
                return Err(self.error(format!(
                    "cannot read row {}: unsupported or corrupt Parquet data",
                    self.row + 1
                )))
            }
        };
        self.row += 1;
        let line = LineRef::row(self.row).in_part(self.part.as_deref());
        self.convert(&row);
        if let Some(rejected) = self.encoding_error(&line) {
            return Ok(Some(RowResult::Rejected(rejected)));
        }
        self.last_built = true;
        let view = CellsView(&self.cells);
        Ok(Some(builder.build(line, &view)))
    }

    fn convert(&mut self, row: &Row) {
        self.cells.clear();
        for (i, (_, field)) in row.get_column_iter().enumerate() {
            let unit = self.units.get(i).copied().flatten();
            let cell = if Some(i) == self.tags_pos {
                tags_cell(field).unwrap_or_else(|| to_cell(field, unit))
            } else {
                to_cell(field, unit)
            };
            self.cells.push(cell);
        }
    }

    fn encoding_error(&self, line: &LineRef) -> Option<RejectedRecord> {
        let (i, lossy) = self.cells.iter().enumerate().find_map(|(i, c)| match c {
            OwnedCell::NotUtf8(l) => Some((i, l)),
            _ => None,
        })?;
        let error = Diagnostic::new(
            line.clone(),
            self.headers.get(i).map(String::as_str),
            Some(lossy),
            Code::EEncoding,
            "binary value is not valid UTF-8 text",
        );
        let fields = CellsView(&self.cells);
        let mut rejected = crate::build::rejected(line.clone(), vec![error], &fields, None);
        rejected.raw = Some(rejected.fields.join(","));
        rejected.fields.clear();
        Some(rejected)
    }

    fn error(&self, message: String) -> FileError {
        FileError::new(&self.path, FileErrorKind::Parquet, message)
    }

    /// The cells of the last row, when it was handed to the row builder.
    pub(crate) fn last_record(&self) -> Option<CellsView<'_>> {
        self.last_built.then_some(CellsView(&self.cells))
    }
}

/// Opens a Parquet file reader over any chunk source, turning panics into errors.
pub(crate) fn open_reader<R>(path: &Path, chunks: R) -> Result<Box<dyn FileReader>, FileError>
where
    R: parquet::file::reader::ChunkReader + Clone + 'static,
{
    let guard = chunks.clone();
    let opened = catch_unwind(AssertUnwindSafe(|| SerializedFileReader::new(chunks)));
    let reader = match opened {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Err(FileError::new(
                path,
                FileErrorKind::Parquet,
                format!("not a readable Parquet file: {e}"),
            ))
        }
        Err(_) => {
            return Err(FileError::new(
                path,
                FileErrorKind::Parquet,
                "not a readable Parquet file: corrupt metadata",
            ))
        }
    };
    // Before any page is decoded: the parquet crate trusts page headers' sizes.
    crate::parquet_pages::check_page_sizes(reader.metadata(), &guard).map_err(|e| {
        FileError::new(
            path,
            FileErrorKind::Parquet,
            format!("not a usable Parquet file: {e}"),
        )
    })?;
    Ok(Box::new(reader))
}

/// A file shared by the row reader and the page-size check (`File` itself cannot be cloned).
#[derive(Clone)]
pub(crate) struct SharedFile(std::sync::Arc<std::fs::File>);

impl SharedFile {
    pub(crate) fn new(file: std::fs::File) -> Self {
        Self(std::sync::Arc::new(file))
    }
}

impl parquet::file::reader::Length for SharedFile {
    fn len(&self) -> u64 {
        parquet::file::reader::Length::len(&*self.0)
    }
}

impl parquet::file::reader::ChunkReader for SharedFile {
    type T = <std::fs::File as parquet::file::reader::ChunkReader>::T;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        self.0.get_read(start)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// Borrowed view of converted cells.
pub(crate) struct CellsView<'a>(pub(crate) &'a [OwnedCell]);

impl RecordView for CellsView<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn cell(&self, i: usize) -> Cell<'_> {
        match &self.0[i] {
            OwnedCell::Null => Cell::Null,
            OwnedCell::Text(t) | OwnedCell::NotUtf8(t) => Cell::Text(t),
            OwnedCell::Instant(t) => Cell::Instant(*t),
            OwnedCell::Json(j) => Cell::Json(j),
            OwnedCell::Map(m) => Cell::Map(m),
        }
    }
}

/// A MAP Tags column becomes a tag object; anything else goes the normal way.
fn tags_cell(field: &Field) -> Option<OwnedCell> {
    let Field::MapInternal(map) = field else {
        return None;
    };
    let mut obj = Map::new();
    for (k, v) in map.entries() {
        let key = match k {
            Field::Str(s) => s.clone(),
            other => json_of(other).to_string(),
        };
        let value = match v {
            Field::Str(s) => Value::String(s.clone()),
            other => json_of(other),
        };
        obj.insert(key, value);
    }
    Some(OwnedCell::Map(obj))
}

fn to_cell(field: &Field, unit: Option<TimeUnit>) -> OwnedCell {
    use OwnedCell::{Instant, Json, Null, Text};
    match field {
        Field::Null => Null,
        Field::Bool(b) => Text(b.to_string()),
        Field::Byte(n) => Text(n.to_string()),
        Field::Short(n) => Text(n.to_string()),
        Field::Int(n) => Text(n.to_string()),
        Field::Long(n) => match unit.and_then(|u| instant_of(*n, u)) {
            Some(t) => Instant(t),
            None => Text(n.to_string()),
        },
        Field::UByte(n) => Text(n.to_string()),
        Field::UShort(n) => Text(n.to_string()),
        Field::UInt(n) => Text(n.to_string()),
        Field::ULong(n) => Text(n.to_string()),
        Field::Float16(f) => Text(f32::from(*f).to_string()),
        Field::Float(f) => Text(f.to_string()),
        Field::Double(f) => Text(f.to_string()),
        Field::Decimal(d) => Text(decimal_text(d.data(), d.scale())),
        Field::Str(s) => Text(s.clone()),
        Field::Bytes(b) => match std::str::from_utf8(b.data()) {
            Ok(s) => Text(s.to_string()),
            Err(_) => OwnedCell::NotUtf8(String::from_utf8_lossy(b.data()).into_owned()),
        },
        Field::Date(days) => match DateTime::from_timestamp(i64::from(*days) * 86_400, 0) {
            Some(t) => Instant(t),
            None => Text(days.to_string()),
        },
        Field::TimeMillis(n) => Text(n.to_string()),
        Field::TimeMicros(n) => Text(n.to_string()),
        Field::TimestampMillis(n) => {
            instant_of(*n, TimeUnit::MILLIS).map_or_else(|| Text(n.to_string()), Instant)
        }
        Field::TimestampMicros(n) => {
            instant_of(*n, TimeUnit::MICROS).map_or_else(|| Text(n.to_string()), Instant)
        }
        Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => {
            Json(json_of(field).to_string())
        }
    }
}

fn instant_of(n: i64, unit: TimeUnit) -> Option<DateTime<Utc>> {
    match unit {
        TimeUnit::MILLIS => DateTime::from_timestamp_millis(n),
        TimeUnit::MICROS => DateTime::from_timestamp_micros(n),
        TimeUnit::NANOS => Some(DateTime::from_timestamp_nanos(n)),
    }
}

/// Exact decimal text of a big-endian two's-complement unscaled value.
fn decimal_text(be: &[u8], scale: i32) -> String {
    let Some(unscaled) = be_i128(be) else {
        // Wider than 128 bits: far beyond the 28-digit limit; the amount parser reports range.
        return "9".repeat(40);
    };
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    if scale <= 0 {
        let zeros = "0".repeat(usize::try_from(-scale).unwrap_or(0));
        return format!("{sign}{digits}{zeros}");
    }
    let scale = usize::try_from(scale).unwrap_or(0);
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

fn be_i128(be: &[u8]) -> Option<i128> {
    if be.is_empty() {
        return Some(0);
    }
    let negative = be[0] & 0x80 != 0;
    let fill = if negative { 0xff } else { 0 };
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

/// A Parquet value as JSON (nested values in `extra`, SPEC §3.6).
fn json_of(field: &Field) -> Value {
    match field {
        Field::Null => Value::Null,
        Field::Bool(b) => Value::Bool(*b),
        Field::Str(s) => Value::String(s.clone()),
        Field::Group(row) => Value::Object(
            row.get_column_iter()
                .map(|(k, v)| (k.clone(), json_of(v)))
                .collect(),
        ),
        Field::ListInternal(list) => Value::Array(list.elements().iter().map(json_of).collect()),
        Field::MapInternal(map) => Value::Object(
            map.entries()
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Field::Str(s) => s.clone(),
                        other => json_of(other).to_string(),
                    };
                    (key, json_of(v))
                })
                .collect(),
        ),
        other => match to_cell(other, None) {
            OwnedCell::Text(t) if is_json_number(other) => {
                // arbitrary_precision keeps the exact digits of decimals and floats.
                serde_json::from_str::<Value>(&t).unwrap_or(Value::String(t))
            }
            OwnedCell::Text(t) | OwnedCell::NotUtf8(t) | OwnedCell::Json(t) => Value::String(t),
            OwnedCell::Instant(i) => Value::String(ocb_core::date::canonical_instant(&i)),
            OwnedCell::Null => Value::Null,
            OwnedCell::Map(m) => Value::Object(m),
        },
    }
}

fn is_json_number(field: &Field) -> bool {
    matches!(
        field,
        Field::Byte(_)
            | Field::Short(_)
            | Field::Int(_)
            | Field::Long(_)
            | Field::UByte(_)
            | Field::UShort(_)
            | Field::UInt(_)
            | Field::ULong(_)
            | Field::Float16(_)
            | Field::Float(_)
            | Field::Double(_)
            | Field::Decimal(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(&[0x04, 0xD2], 2, "12.34")]
    #[case(&[0xFB, 0x2E], 2, "-12.34")]
    #[case(&[0x05], 3, "0.005")]
    #[case(&[0x00, 0x96], 0, "150")]
    #[case(&[0x0F], -2, "1500")]
    #[case(&[], 0, "0")]
    fn decimals_are_exact_text(#[case] be: &[u8], #[case] scale: i32, #[case] want: &str) {
        assert_eq!(decimal_text(be, scale), want);
    }

    #[test]
    fn wide_decimals_are_sign_extended_or_out_of_range() {
        let mut neg = vec![0xff; 20];
        neg[19] = 0xfe;
        assert_eq!(be_i128(&neg), Some(-2));
        assert_eq!(be_i128(&[1; 20]), None);
    }

    #[rstest]
    #[case(Field::Double(0.1), "0.1")]
    #[case(Field::Float(0.1), "0.1")]
    #[case(Field::Double(1e-7), "0.0000001")]
    #[case(Field::Double(12.5), "12.5")]
    fn floats_use_the_shortest_round_trip_text(#[case] f: Field, #[case] want: &str) {
        match to_cell(&f, None) {
            OwnedCell::Text(t) => assert_eq!(t, want),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dates_and_timestamps_are_utc_instants() {
        let at = |f: Field, unit| match to_cell(&f, unit) {
            OwnedCell::Instant(t) => ocb_core::date::canonical_instant(&t),
            other => panic!("{other:?}"),
        };
        assert_eq!(at(Field::Date(20089), None), "2025-01-01T00:00:00Z");
        assert_eq!(
            at(Field::TimestampMillis(1_735_689_600_000), None),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(
            at(
                Field::Long(1_735_689_600_000_000_001),
                Some(TimeUnit::NANOS)
            ),
            "2025-01-01T00:00:00.000000001Z"
        );
    }
}
