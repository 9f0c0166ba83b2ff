//! Tests of [`FocusReader`] over real inputs: fixtures, compressed and Parquet files, directories
//! and the garbage a reader must survive.

use super::*;
use crate::diag::{Code, LineRef};
use crate::error::FileErrorKind;
use crate::row::{FocusRow, RejectedRecord};
use flate2::write::GzEncoder;
use flate2::Compression;
use ocb_core::Decimal;
use rstest::rstest;
use sha2::{Digest, Sha256};
use std::io::{Cursor, Write};
use std::str::FromStr;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/sample"
);

fn fixture(name: &str) -> PathBuf {
    let local = Path::new(FIXTURES).join(name);
    if local.exists() {
        return local;
    }
    Path::new("/work/shared/fixtures/sample").join(name)
}

const LITE: &str = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,\
ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags";

const TAGS: &str = r#""{""pi_email"": ""a@x.edu""}""#;

struct Read {
    rows: Vec<FocusRow>,
    rejected: Vec<RejectedRecord>,
    stats: Result<InputStats, FileError>,
    kind: InputKind,
    warnings: Vec<Diagnostic>,
}

fn drain(mut reader: FocusReader) -> Read {
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    let kind = reader.kind();
    let warnings = reader.file_warnings().to_vec();
    while let Some(r) = reader.next_row() {
        match r {
            RowResult::Row(row) => rows.push(row),
            RowResult::Rejected(bad) => rejected.push(bad),
        }
    }
    Read {
        rows,
        rejected,
        stats: reader.finish(),
        kind,
        warnings,
    }
}

fn read_bytes(bytes: impl Into<Vec<u8>>) -> Result<Read, FileError> {
    FocusReader::from_reader("test.csv", Cursor::new(bytes.into())).map(drain)
}

fn read_ok(bytes: impl Into<Vec<u8>>) -> Read {
    read_bytes(bytes).expect("file opens")
}

fn file_error(bytes: impl Into<Vec<u8>>) -> FileError {
    match read_bytes(bytes) {
        Err(e) => e,
        Ok(r) => match r.stats {
            Err(e) => e,
            Ok(_) => panic!("expected a file error"),
        },
    }
}

fn lite_row(bps: &str, billed: &str) -> String {
    format!("{bps},,,,,,{billed},,r1,,svc,{TAGS}")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).expect("compress");
    enc.finish().expect("compress")
}

#[test]
fn reader_is_send() {
    fn send<T: Send>() {}
    send::<FocusReader>();
}

#[test]
fn lite_fixture_reads_completely_with_hash_and_size() {
    let path = fixture("aws_2025-01.csv");
    let read = drain(FocusReader::open(&path).expect("open"));
    let bytes = std::fs::read(&path).expect("fixture");
    assert!(read.rejected.is_empty());
    assert_eq!(read.kind, InputKind::Csv);
    let stats = read.stats.expect("stats");
    assert_eq!(stats.rows_read, read.rows.len() as u64);
    assert_eq!(stats.size_bytes, bytes.len() as u64);
    assert_eq!(stats.sha256, hex::encode(Sha256::digest(&bytes)));
    let first = &read.rows[0];
    assert_eq!(first.line, LineRef::line(2));
    assert_eq!(first.fields.billed_cost.to_string(), "1062.50");
    assert_eq!(
        first.fields.resource_id.as_deref(),
        Some("i-0abc123def456789a")
    );
    assert!(first
        .fields
        .tags_json
        .as_deref()
        .is_some_and(|t| t.contains("zorp")));
    assert_eq!(first.fields.extra_json, None);
}

#[test]
fn focus_sample_has_1000_rows_and_the_exact_billed_total() {
    let read = drain(FocusReader::open(&fixture("focus-1.0-sample.csv")).expect("open"));
    assert!(read.rejected.is_empty(), "{:?}", read.rejected.first());
    assert_eq!(read.rows.len(), 1000);
    let total: Decimal = read.rows.iter().map(|r| r.fields.billed_cost).sum();
    // Summed independently with Python's decimal module over the same file.
    assert_eq!(total.to_string(), "20.52022672899");
    let sep: Decimal = read
        .rows
        .iter()
        .filter(|r| r.period.to_string() == "2024-09")
        .map(|r| r.fields.billed_cost)
        .sum();
    assert_eq!(sep, Decimal::from_str("20.28022672899").expect("decimal"));
    let first = &read.rows[0];
    assert_eq!(first.fields.billed_cost.to_string(), "0.00000080000");
    assert_eq!(&*first.fields.billing_period_start, "2024-09-01T00:00:00Z");
    assert_eq!(first.fields.charge_class, None, "NULL is null");
    let extra: serde_json::Value =
        serde_json::from_str(first.fields.extra_json.as_deref().expect("extra")).expect("json");
    assert_eq!(extra["AvailabilityZone"], serde_json::Value::Null);
    assert_eq!(extra["BillingCurrency"], "USD");
    assert_eq!(extra["ConsumedQuantity"], "2.000000000000000");
    assert!(extra.get("Id").is_some());
    assert!(extra.get("BilledCost").is_none());
    assert!(read.warnings.is_empty());
    assert_eq!(
        read.stats.expect("stats").sha256,
        "e91e5ac7edf01ed2c9d926f37ef7dc1ae2aae97956fea8da6c9ee488b1c2839e"
    );
}

#[test]
fn bom_crlf_and_multiline_quoted_fields_keep_physical_lines() {
    let text = format!(
        "\u{feff}{LITE}\r\n{}\r\n2025-01-01,,,,,,1,,r2,\"multi\r\nline\r\nname\",svc,{TAGS}\r\n\r\n{}\r\n",
        lite_row("2025-01-01", "1"),
        lite_row("2025-13-01", "1"),
    );
    let read = read_ok(text);
    assert_eq!(read.rows.len(), 2);
    assert_eq!(read.rows[1].line, LineRef::line(3));
    assert_eq!(
        read.rows[1].fields.resource_name.as_deref(),
        Some("multi\r\nline\r\nname")
    );
    assert_eq!(read.rejected[0].line, LineRef::line(7));
    assert_eq!(read.rejected[0].errors[0].code, Code::EPeriodStart);
    let stats = read.stats.expect("stats");
    assert_eq!(stats.rows_read, 3);
    assert_eq!(stats.blank_lines, 1);
}

#[test]
fn blank_lines_are_skipped_and_not_counted() {
    let text = format!(
        "{LITE}\n\n{}\n   \n\n{}\n\n",
        lite_row("2025-01-01", "1"),
        lite_row("2025-01-01", "2")
    );
    let read = read_ok(text);
    assert_eq!(read.rows.len(), 2);
    assert_eq!(read.rows[1].line, LineRef::line(6));
    let stats = read.stats.expect("stats");
    assert_eq!((stats.rows_read, stats.blank_lines), (2, 4));
}

#[rstest]
#[case("x.csv.gz")]
#[case("disguised.csv")]
fn gzip_is_streamed_whatever_the_name(#[case] name: &str) {
    let plain = std::fs::read(fixture("aws_2025-01.csv")).expect("fixture");
    let packed = gzip(&plain);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join(name);
    std::fs::write(&path, &packed).expect("write");
    let read = drain(FocusReader::open(&path).expect("open"));
    assert_eq!(read.kind, InputKind::CsvGz);
    let expected = drain(FocusReader::open(&fixture("aws_2025-01.csv")).expect("open"));
    assert_eq!(read.rows, expected.rows);
    let stats = read.stats.expect("stats");
    assert_eq!(stats.size_bytes, packed.len() as u64);
    assert_eq!(stats.sha256, hex::encode(Sha256::digest(&packed)));
}

#[test]
fn truncated_gzip_is_a_file_error_at_finish() {
    let plain = std::fs::read(fixture("focus-1.0-sample.csv")).expect("fixture");
    let packed = gzip(&plain);
    let err = file_error(packed[..packed.len() / 2].to_vec());
    assert_eq!(err.kind, FileErrorKind::Compression, "{err}");
    assert!(err.to_string().contains("gzip"), "{err}");
}

#[rstest]
#[case(b"".to_vec(), FileErrorKind::Empty, "empty")]
#[case(b"\n\n  \n".to_vec(), FileErrorKind::NoHeader, "no header")]
#[case(b"\xEF\xBB\xBF".to_vec(), FileErrorKind::NoHeader, "no header")]
#[case(vec![0x00, 0x01, 0x02, 0xff, 0xfe, 0x10, 0x00, 0x7f, 0x80, 0x0a], FileErrorKind::Binary, "binary")]
#[case(b"Billing\xffPeriodStart,BilledCost\n".to_vec(), FileErrorKind::HeaderEncoding, "not valid UTF-8")]
#[case(b"BillingPeriodStart;BilledCost;Tags\n2025-01-01;1;\n".to_vec(), FileErrorKind::MissingColumns, "looks ';'-delimited; only comma is supported")]
#[case(b"BilledCost,Tags\n1,\n".to_vec(), FileErrorKind::MissingColumns, "missing required column BillingPeriodStart")]
#[case(b"BillingPeriodStart,BilledCost,billed_cost\n".to_vec(), FileErrorKind::DuplicateColumn, "duplicate column BilledCost")]
#[case(b"PAR1 this is not parquet at all".to_vec(), FileErrorKind::Parquet, "not a readable Parquet file")]
fn unusable_inputs_are_clear_file_errors(
    #[case] bytes: Vec<u8>,
    #[case] kind: FileErrorKind,
    #[case] want: &str,
) {
    if !cfg!(feature = "parquet") && kind == FileErrorKind::Parquet {
        return;
    }
    let err = file_error(bytes);
    assert_eq!(err.kind, kind, "{err}");
    assert!(err.to_string().starts_with("test.csv: "), "{err}");
    assert!(err.to_string().contains(want), "{err}");
}

#[test]
fn random_binary_never_panics() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for len in [1, 3, 4, 100, 5000, 70_000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let _ = read_bytes(bytes);
    }
}

#[test]
fn truncated_record_inside_a_quote_is_unsplittable() {
    let text = format!(
        "{LITE}\n{}\n2025-01-01,,,,,,1,,r2,\"cut he",
        lite_row("2025-01-01", "1")
    );
    let read = read_ok(text);
    assert_eq!(read.rows.len(), 1);
    let bad = &read.rejected[0];
    assert_eq!(bad.line, LineRef::line(3));
    assert_eq!(bad.errors[0].code, Code::ERecord);
    assert!(
        bad.errors[0].message.contains("unterminated"),
        "{:?}",
        bad.errors
    );
    assert_eq!(bad.raw.as_deref(), Some("2025-01-01,,,,,,1,,r2,\"cut he"));
    assert!(bad.fields.is_empty());
}

/// Issue 15, item 4: a line with an unterminated quote absorbed the next line into its
/// ResourceName; the merged record had the right field count, so two of three charges were read
/// and the third vanished. Now the broken line is an E_RECORD naming line and column, and the
/// next line is its own (good) row: every line is a row or a rejection.
#[test]
fn issue_15_unterminated_quote_mid_file_swallows_no_row() {
    // On the old reader line 3's open quote ran on to the quote of "three": one record of 12
    // fields, and the charge of line 4 was gone.
    let text = format!(
        "{LITE}\n{}\n2025-01-01,,,,,,2,,r2,\"unterminated,svc,{{}}\n\
         2025-01-01,,,,,,3,,r3,\"three\",svc,{{}}\n",
        lite_row("2025-01-01", "1")
    );
    let read = read_ok(text);
    let stats = read.stats.expect("stats");
    assert_eq!(stats.rows_read, 3);
    assert_eq!(read.rows.len() + read.rejected.len(), 3);
    let billed: Vec<String> = read
        .rows
        .iter()
        .map(|r| r.fields.billed_cost.to_string())
        .collect();
    assert_eq!(billed, ["1", "3"]);
    assert_eq!(read.rows[1].line, LineRef::line(4));
    let bad = &read.rejected[0];
    assert_eq!(bad.line, LineRef::line(3));
    assert_eq!(bad.errors[0].code, Code::ERecord);
    assert_eq!(bad.errors[0].column.as_deref(), Some("ResourceName"));
    assert!(
        bad.errors[0].message.contains("not closed properly"),
        "{:?}",
        bad.errors
    );
    assert_eq!(
        bad.raw.as_deref(),
        Some("2025-01-01,,,,,,2,,r2,\"unterminated,svc,{}")
    );
}

/// Found by the `csv` fuzz target: records ended by a lone `\r` (classic Mac line ends) all
/// reported the same line, so errors could not be told apart.
#[test]
fn fuzz_csv_records_after_lone_cr_get_their_own_lines() {
    let read = read_ok(&b"\"BilledCost\",\"BillingPeriodStart\"\na\rd,"[..]);
    let lines: Vec<u64> = read.rejected.iter().map(|r| r.line.n).collect();
    assert_eq!(lines, [2, 3]);
}

/// Legitimate multi-line quoted fields (FOCUS descriptions) keep working next to the fix.
#[test]
fn multi_line_quoted_fields_are_still_one_record() {
    let text = format!(
        "{LITE}\n2025-01-01,,,,,,1,,r1,\"two\nlines, with \"\"quotes\"\"\",svc,{TAGS}\n{}\n",
        lite_row("2025-01-01", "2")
    );
    let read = read_ok(text);
    assert!(read.rejected.is_empty(), "{:?}", read.rejected);
    assert_eq!(
        read.rows[0].fields.resource_name.as_deref(),
        Some("two\nlines, with \"quotes\"")
    );
    assert_eq!(read.rows[1].line, LineRef::line(4));
}

#[test]
fn text_after_a_closing_quote_is_e_record_with_its_column() {
    let text = format!(
        "{LITE}\n2025-01-01,,,,,,1,,r1,\"24\" monitor,svc,{TAGS}\n{}\n",
        lite_row("2025-01-01", "2")
    );
    let read = read_ok(text);
    assert_eq!(read.rows.len(), 1);
    let bad = &read.rejected[0];
    assert_eq!(bad.line, LineRef::line(2));
    assert_eq!(bad.errors[0].column.as_deref(), Some("ResourceName"));
    assert!(
        bad.errors[0].message.contains("doubled"),
        "{:?}",
        bad.errors
    );
}

/// Issue 15, item 8g: input that is not a FOCUS file ends quickly with a file error.
#[rstest]
#[case::nul_in_a_record(b"BillingPeriodStart,BilledCost,Tags\n2025-01-01,1,{}\n\0\0\0\n".to_vec(), FileErrorKind::Binary, "line 3: NUL byte")]
#[case::nul_tail_without_line_end(
    [&b"BillingPeriodStart,BilledCost,Tags\n"[..], &[0u8; 5000]].concat(),
    FileErrorKind::Binary,
    "NUL byte"
)]
fn nul_bytes_in_the_data_are_a_file_error(
    #[case] bytes: Vec<u8>,
    #[case] kind: FileErrorKind,
    #[case] want: &str,
) {
    let err = file_error(bytes);
    assert_eq!(err.kind, kind, "{err}");
    assert!(err.to_string().contains(want), "{err}");
}

/// `/dev/zero` (or any endless stream without line ends) used to be read forever: the header
/// limit now ends it after about a megabyte with a file error.
#[rstest]
#[case::zeros(0u8, FileErrorKind::Binary)]
#[case::letters(b'x', FileErrorKind::NoHeader)]
fn endless_input_without_line_ends_is_refused_quickly(
    #[case] byte: u8,
    #[case] kind: FileErrorKind,
) {
    struct Endless(u8, u64);
    impl std::io::Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(self.0);
            self.1 += buf.len() as u64;
            Ok(buf.len())
        }
    }
    let err = FocusReader::from_reader("endless", Endless(byte, 0)).expect_err("refused");
    assert_eq!(err.kind, kind, "{err}");
}

/// Devices and FIFOs are refused before they are opened (`/dev/zero` was read forever, and
/// opening a FIFO blocks until a writer comes).
#[cfg(unix)]
#[test]
fn character_devices_and_fifos_are_refused() {
    let err = FocusReader::open(Path::new("/dev/zero")).expect_err("refused");
    assert_eq!(err.kind, FileErrorKind::Unreadable);
    assert_eq!(
        err.to_string(),
        "/dev/zero: not a regular file (a character device); save the data to a file and give \
         its path"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let err = FocusReader::open(&fifo).expect_err("refused");
        assert!(err.message.contains("a named pipe"), "{err}");
    }
}

/// A data line longer than the record limit without a line end stops the read with a file
/// error (and bounded memory) instead of skipping on to a line end that may never come.
#[test]
fn endless_data_line_after_a_good_header_is_a_file_error() {
    struct HeaderThenEndless(usize);
    impl std::io::Read for HeaderThenEndless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let header = b"BillingPeriodStart,BilledCost,Tags\n2025-01-01,1,{}\n";
            if self.0 < header.len() {
                let n = (header.len() - self.0).min(buf.len());
                buf[..n].copy_from_slice(&header[self.0..self.0 + n]);
                self.0 += n;
                return Ok(n);
            }
            buf.fill(b'7');
            self.0 += buf.len();
            Ok(buf.len())
        }
    }
    let mut reader = FocusReader::from_reader("endless", HeaderThenEndless(0)).expect("header");
    assert!(matches!(reader.next_row(), Some(RowResult::Row(_))));
    assert!(reader.next_row().is_none());
    let err = reader.finish().expect_err("file error");
    assert_eq!(err.kind, FileErrorKind::LineTooLong, "{err}");
    assert!(
        err.message.starts_with("line 3: a line longer than 64 MiB"),
        "{err}"
    );
}

#[test]
fn truncated_last_record_says_so() {
    let text = format!("{LITE}\n{}\n2025-01-01,,,,,", lite_row("2025-01-01", "1"));
    let read = read_ok(text);
    let bad = &read.rejected[0];
    assert_eq!(bad.errors[0].code, Code::ERecord);
    assert_eq!(
        bad.errors[0].message,
        "record has 6 fields but the header has 12 (the last record may be truncated)"
    );
    assert_eq!(bad.fields.len(), 6);
    assert_eq!(read.stats.expect("stats").rows_read, 2);
}

#[test]
fn extra_fields_in_a_middle_record_are_e_record() {
    let text = format!(
        "{LITE}\n{},oops\n{}\n",
        lite_row("2025-01-01", "1"),
        lite_row("2025-01-01", "2")
    );
    let read = read_ok(text);
    assert_eq!(
        read.rejected[0].errors[0].message,
        "record has 13 fields but the header has 12"
    );
    assert_eq!(read.rows.len(), 1);
}

#[test]
fn invalid_utf8_in_a_row_is_e_encoding_with_raw_text() {
    let mut text = format!("{LITE}\n").into_bytes();
    text.extend(b"2025-01-01,,,,,,1,,r1,caf\xe9,svc,\n");
    text.extend(format!("{}\n", lite_row("2025-01-01", "2")).as_bytes());
    let read = read_ok(text);
    assert_eq!(read.rows.len(), 1);
    let bad = &read.rejected[0];
    assert_eq!(bad.errors[0].code, Code::EEncoding);
    assert_eq!(bad.errors[0].column.as_deref(), Some("ResourceName"));
    assert_eq!(bad.errors[0].value.as_deref(), Some("caf\u{fffd}"));
    assert_eq!(
        bad.raw.as_deref(),
        Some("2025-01-01,,,,,,1,,r1,caf\u{fffd},svc,")
    );
}

#[test]
fn ten_megabyte_field_is_just_a_big_field() {
    let big = "x".repeat(10 << 20);
    let text = format!(
        "{LITE}\n2025-01-01,,,,,,1,,r1,\"{big}\",svc,\n{}\n",
        lite_row("2025-01-01", "2")
    );
    let read = read_ok(text);
    assert_eq!(read.rows.len(), 2);
    assert_eq!(
        read.rows[0].fields.resource_name.as_ref().map(String::len),
        Some(10 << 20)
    );
    assert_eq!(read.rows[1].line, LineRef::line(3));
}

#[rstest]
#[case(
    "2025-13-01",
    "1",
    Code::EPeriodStart,
    "BillingPeriodStart",
    "not a valid calendar date"
)]
#[case(
    "NULL",
    "1",
    Code::EPeriodStart,
    "BillingPeriodStart",
    "BillingPeriodStart is empty"
)]
#[case(
    "2025-01-01",
    "\"$1,234\"",
    Code::ENumber,
    "BilledCost",
    "currency symbols"
)]
#[case("2025-01-01", "", Code::ENumber, "BilledCost", "BilledCost is empty")]
#[case("2025-01-01", "1e40", Code::ENumber, "BilledCost", "out of range")]
fn bad_cells_are_row_errors_with_reasons(
    #[case] bps: &str,
    #[case] billed: &str,
    #[case] code: Code,
    #[case] column: &str,
    #[case] reason: &str,
) {
    let read = read_ok(format!("{LITE}\n{}\n", lite_row(bps, billed)));
    let e = &read.rejected[0].errors[0];
    assert_eq!((e.code, e.column.as_deref()), (code, Some(column)));
    assert!(e.message.contains(reason), "{}", e.message);
    assert_eq!(e.line, LineRef::line(2));
}

#[test]
fn missing_tags_column_is_a_file_warning_not_an_error() {
    let read = read_ok("BillingPeriodStart,BilledCost\n2025-01-01,5\n");
    assert_eq!(read.warnings[0].code, Code::WNoTagsColumn);
    assert_eq!(*read.rows[0].tags, ocb_core::tags::TagsCell::NoColumn);
}

#[test]
fn snake_case_and_odd_case_headers_are_recognised() {
    let read = read_ok("billing_period_start, BILLEDCOST ,resource_id,Tags\n2025-01-01,5, 007 ,\n");
    let row = &read.rows[0];
    assert_eq!(row.fields.resource_id.as_deref(), Some(" 007 "));
    assert_eq!(*row.tags, ocb_core::tags::TagsCell::Null);
}

#[test]
fn io_error_in_the_middle_ends_the_stream_and_finish_reports_it() {
    struct Failing(Cursor<Vec<u8>>);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            if n == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            Ok(n)
        }
    }
    let text = format!("{LITE}\n{}\n", lite_row("2025-01-01", "1"));
    let reader =
        FocusReader::from_reader("t.csv", Failing(Cursor::new(text.into_bytes()))).expect("header");
    let read = drain(reader);
    let err = read.stats.expect_err("failure");
    assert_eq!(err.kind, FileErrorKind::Unreadable);
    assert!(err.to_string().contains("disk on fire"));
}

#[cfg(feature = "parquet")]
mod parquet_files {
    use super::*;
    use parquet::basic::Compression as PqCompression;
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;

    const SCHEMA: &str = "message focus {
        REQUIRED BYTE_ARRAY BillingPeriodStart (UTF8);
        OPTIONAL INT32 BillingPeriodEnd (DATE);
        OPTIONAL INT64 ChargePeriodStart (TIMESTAMP(MILLIS,true));
        REQUIRED INT64 BilledCost (DECIMAL(18,4));
        OPTIONAL DOUBLE ListCost;
        OPTIONAL group Tags (MAP) {
            REPEATED group key_value {
                REQUIRED BYTE_ARRAY key (UTF8);
                OPTIONAL BYTE_ARRAY value (UTF8);
            }
        }
        OPTIONAL group x_Labels (LIST) {
            REPEATED group list { OPTIONAL BYTE_ARRAY element (UTF8); }
        }
    }";

    fn bytes(v: &[&str]) -> Vec<ByteArray> {
        v.iter().map(|s| ByteArray::from(*s)).collect()
    }

    /// Two rows: full values with map tags, then nulls and a bad period start.
    pub(super) fn write_parquet(path: &Path, compression: PqCompression) {
        let schema = Arc::new(parse_message_type(SCHEMA).expect("schema"));
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(compression)
                .build(),
        );
        let file = std::fs::File::create(path).expect("create");
        let mut writer = SerializedFileWriter::new(file, schema, props).expect("writer");
        let mut rg = writer.next_row_group().expect("row group");
        let mut n = 0;
        while let Some(mut col) = rg.next_column().expect("column") {
            match n {
                0 => {
                    col.typed::<ByteArrayType>()
                        .write_batch(&bytes(&["2025-01-01", "2025-13-01"]), None, None)
                        .expect("write");
                }
                1 => {
                    col.typed::<Int32Type>()
                        .write_batch(&[20_120], Some(&[1, 0]), None)
                        .expect("write");
                }
                2 => {
                    col.typed::<Int64Type>()
                        .write_batch(&[1_736_078_400_000], Some(&[1, 0]), None)
                        .expect("write");
                }
                3 => {
                    col.typed::<Int64Type>()
                        .write_batch(&[125_000, -5], None, None)
                        .expect("write");
                }
                4 => {
                    col.typed::<DoubleType>()
                        .write_batch(&[0.1], Some(&[1, 0]), None)
                        .expect("write");
                }
                5 => {
                    col.typed::<ByteArrayType>()
                        .write_batch(
                            &bytes(&["pi_email", "project_id"]),
                            Some(&[2, 2, 0]),
                            Some(&[0, 1, 0]),
                        )
                        .expect("write");
                }
                6 => {
                    col.typed::<ByteArrayType>()
                        .write_batch(
                            &bytes(&["a@x.edu", "p1"]),
                            Some(&[3, 3, 0]),
                            Some(&[0, 1, 0]),
                        )
                        .expect("write");
                }
                _ => {
                    col.typed::<ByteArrayType>()
                        .write_batch(&bytes(&["gpu", "lab"]), Some(&[3, 3, 0]), Some(&[0, 1, 0]))
                        .expect("write");
                }
            }
            col.close().expect("close column");
            n += 1;
        }
        rg.close().expect("close row group");
        writer.close().expect("close file");
    }

    fn check(read: Read) {
        assert_eq!(read.kind, InputKind::Parquet);
        let row = &read.rows[0];
        assert_eq!(row.line, LineRef::row(1));
        assert_eq!(
            row.fields.billing_period_end.as_deref(),
            Some("2025-02-01T00:00:00Z")
        );
        assert_eq!(
            row.fields.charge_period_start.as_deref(),
            Some("2025-01-05T12:00:00Z")
        );
        assert_eq!(row.fields.billed_cost.to_string(), "12.5000");
        assert_eq!(
            row.fields.list_cost.map(|d| d.to_string()).as_deref(),
            Some("0.1")
        );
        assert_eq!(
            row.fields.tags_json.as_deref(),
            Some(r#"{"pi_email":"a@x.edu","project_id":"p1"}"#)
        );
        assert_eq!(
            row.fields.extra_json.as_deref(),
            Some(r#"{"x_Labels":["gpu","lab"]}"#)
        );
        let bad = &read.rejected[0];
        assert_eq!(bad.line, LineRef::row(2));
        assert_eq!(bad.errors[0].code, Code::EPeriodStart);
        assert_eq!(bad.fields[3], "-0.0005");
        assert_eq!(read.stats.expect("stats").rows_read, 2);
    }

    /// Writes the Parquet fuzz seed: `OCB_SEED_DIR=fuzz/seeds/parquet cargo test -p ocb-focus
    /// write_parquet_fuzz_seed -- --ignored`.
    #[test]
    #[ignore = "writes a fuzz seed on request"]
    fn write_parquet_fuzz_seed() {
        if let Some(dir) = std::env::var_os("OCB_SEED_DIR") {
            write_parquet(
                &Path::new(&dir).join("typed.parquet"),
                PqCompression::SNAPPY,
            );
        }
    }

    /// Found by the former `reader` fuzz target: corrupt column metadata makes the parquet crate
    /// panic ("column start and length should not be negative"); the reader reports a file error
    /// (now from the page check, which reads the same offsets without panicking; other panics of
    /// the crate are still contained by `catch_unwind`).
    #[test]
    fn parquet_crate_panics_become_file_errors() {
        let bytes = include_bytes!("../testdata/fuzz-parquet-negative-column-start.parquet");
        let err = file_error(bytes.to_vec());
        assert_eq!(err.kind, FileErrorKind::Parquet, "{err}");
        assert!(
            err.message
                .contains("negative offset or size: corrupt file"),
            "{err}"
        );
    }

    /// Found by the `parquet` fuzz target (issue 15): a 1.9 KB file whose page headers declare
    /// huge uncompressed sizes; the parquet crate allocated and filled them (800 MB, 28 s under
    /// the fuzzer, out of memory in CI). Page headers are now checked before any page is read.
    #[test]
    fn fuzz_parquet_huge_page_sizes_are_refused_before_reading() {
        let bytes = include_bytes!("../testdata/fuzz-parquet-huge-page.parquet");
        let started = std::time::Instant::now();
        let err = file_error(bytes.to_vec());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(err.kind, FileErrorKind::Parquet, "{err}");
        assert!(
            err.message.starts_with("not a usable Parquet file: "),
            "{err}"
        );
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("huge.parquet");
        std::fs::write(&path, bytes).expect("write");
        let err = FocusReader::open(&path).expect_err("refused");
        assert!(
            err.message.starts_with("not a usable Parquet file: "),
            "{err}"
        );
    }

    #[rstest]
    #[case(PqCompression::SNAPPY)]
    #[case(PqCompression::GZIP(Default::default()))]
    #[case(PqCompression::UNCOMPRESSED)]
    fn parquet_files_are_read_with_exact_types(#[case] compression: PqCompression) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("export.parquet");
        write_parquet(&path, compression);
        check(drain(FocusReader::open(&path).expect("open")));
        let bytes = std::fs::read(&path).expect("read");
        let from_stream =
            drain(FocusReader::from_reader("upload", Cursor::new(bytes.clone())).expect("open"));
        let stats = from_stream.stats.as_ref().expect("stats");
        assert_eq!(stats.sha256, hex::encode(Sha256::digest(&bytes)));
        check(from_stream);
        let named_csv = dir.path().join("actually.csv");
        std::fs::write(&named_csv, &bytes).expect("write");
        let read = drain(FocusReader::open(&named_csv).expect("open"));
        assert_eq!(read.stats.expect("stats").size_bytes, bytes.len() as u64);
    }
}

mod directories {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn parts_without_manifest_are_one_stream_in_path_order() {
        let dir = tempfile::tempdir().expect("tmp");
        write(
            dir.path(),
            "b/2.csv",
            &format!("{LITE}\n{}\n", lite_row("2025-01-01", "2")),
        );
        write(
            dir.path(),
            "a/1.csv",
            &format!(
                "{LITE}\n{}\n{}\n",
                lite_row("2025-01-01", "1"),
                lite_row("bad", "1")
            ),
        );
        write(dir.path(), "notes.txt", "ignored");
        let read = drain(FocusReader::open(dir.path()).expect("open"));
        assert_eq!(read.kind, InputKind::Directory);
        assert_eq!(read.rows.len(), 2);
        assert_eq!(read.rows[0].line.to_string(), "a/1.csv:line 2");
        assert_eq!(read.rows[1].line.to_string(), "b/2.csv:line 2");
        assert_eq!(read.rejected[0].line.to_string(), "a/1.csv:line 3");
        let a = std::fs::read(dir.path().join("a/1.csv")).expect("a");
        let b = std::fs::read(dir.path().join("b/2.csv")).expect("b");
        let stats = read.stats.expect("stats");
        assert_eq!(stats.size_bytes, (a.len() + b.len()) as u64);
        assert_eq!(stats.sha256, hex::encode(Sha256::digest([a, b].concat())));
    }

    #[test]
    fn parts_with_reordered_columns_are_unified() {
        let dir = tempfile::tempdir().expect("tmp");
        write(
            dir.path(),
            "1.csv",
            "BillingPeriodStart,BilledCost,x_a\n2025-01-01,1,A\n",
        );
        write(
            dir.path(),
            "2.csv",
            "x_a,billed_cost,BillingPeriodStart\nB,2,2025-02-01\n",
        );
        let read = drain(FocusReader::open(dir.path()).expect("open"));
        assert_eq!(read.rows[1].fields.billed_cost.to_string(), "2");
        assert_eq!(read.rows[1].period.to_string(), "2025-02");
        assert_eq!(
            read.rows[1].fields.extra_json.as_deref(),
            Some(r#"{"x_a":"B"}"#)
        );
    }

    #[test]
    fn parts_with_other_columns_are_refused_up_front() {
        let dir = tempfile::tempdir().expect("tmp");
        write(
            dir.path(),
            "1.csv",
            "BillingPeriodStart,BilledCost,x_a\n2025-01-01,1,A\n",
        );
        write(
            dir.path(),
            "2.csv",
            "BillingPeriodStart,BilledCost,x_b\n2025-01-01,1,A\n",
        );
        let err = FocusReader::open(dir.path()).expect_err("refused");
        assert_eq!(err.kind, FileErrorKind::Directory);
        assert!(
            err.message
                .contains("part 2.csv has different columns: missing x_a; extra x_b"),
            "{err}"
        );
    }

    #[test]
    fn azure_manifest_defines_parts_and_row_counts() {
        let dir = tempfile::tempdir().expect("tmp");
        let body = format!(
            "{LITE}\n{}\n{}\n",
            lite_row("2025-01-01", "1"),
            lite_row("2025-01-01", "2")
        );
        write(dir.path(), "run/part_1.csv", &body);
        write(dir.path(), "run/unlisted.csv", &body);
        write(
            dir.path(),
            "run/manifest.json",
            r#"{"blobs":[{"blobName":"exports/focus/run/part_1.csv","dataRowCount":2}]}"#,
        );
        let read = drain(FocusReader::open(dir.path()).expect("open"));
        assert_eq!(read.rows.len(), 2);
        assert!(read.stats.is_ok());
        write(
            dir.path(),
            "run/manifest.json",
            r#"{"blobs":[{"blobName":"part_1.csv","dataRowCount":3}]}"#,
        );
        let err = drain(FocusReader::open(dir.path()).expect("open"))
            .stats
            .expect_err("count");
        assert!(
            err.message
                .contains("has 2 data rows but the manifest declares 3"),
            "{err}"
        );
    }

    #[test]
    fn aws_manifest_locates_parts_and_reports_missing_ones() {
        let dir = tempfile::tempdir().expect("tmp");
        let body = format!("{LITE}\n{}\n", lite_row("2025-01-01", "1"));
        write(dir.path(), "data/BILLING_PERIOD=2025-01/x-00001.csv.gz", "");
        std::fs::write(
            dir.path()
                .join("data/BILLING_PERIOD=2025-01/x-00001.csv.gz"),
            gzip(body.as_bytes()),
        )
        .expect("write");
        write(
            dir.path(),
            "metadata/BILLING_PERIOD=2025-01/x-Manifest.json",
            r#"{"dataFiles":["s3://bucket/prefix/x/data/BILLING_PERIOD=2025-01/x-00001.csv.gz"]}"#,
        );
        let read = drain(FocusReader::open(dir.path()).expect("open"));
        assert_eq!(read.rows.len(), 1);
        assert_eq!(
            read.rows[0].line.to_string(),
            "data/BILLING_PERIOD=2025-01/x-00001.csv.gz:line 2"
        );
        write(
            dir.path(),
            "metadata/BILLING_PERIOD=2025-01/x-Manifest.json",
            r#"{"dataFiles":["s3://bucket/x/data/x-00002.csv.gz"]}"#,
        );
        let err = FocusReader::open(dir.path()).expect_err("missing");
        assert!(
            err.message
                .contains("x-00002.csv.gz listed in the manifest is missing"),
            "{err}"
        );
    }

    #[test]
    fn aws_parts_of_several_periods_share_base_names() {
        let dir = tempfile::tempdir().expect("tmp");
        for (month, cost) in [("2025-01", "1"), ("2025-02", "2")] {
            let body = format!("{LITE}\n{}\n", lite_row(&format!("{month}-01"), cost));
            let part = format!("x/data/BILLING_PERIOD={month}/x-00001.csv.gz");
            write(dir.path(), &part, "");
            std::fs::write(dir.path().join(&part), gzip(body.as_bytes())).expect("write");
            write(
                dir.path(),
                &format!("x/metadata/BILLING_PERIOD={month}/x-Manifest.json"),
                &format!(
                    r#"{{"dataFiles":["s3://bucket/prefix/x/data/BILLING_PERIOD={month}/x-00001.csv.gz"]}}"#
                ),
            );
        }
        let read = drain(FocusReader::open(dir.path()).expect("open"));
        assert_eq!(read.rows.len(), 2);
        assert!(read.stats.is_ok());
    }

    #[test]
    fn azure_reads_only_the_latest_run_of_an_export_period() {
        let dir = tempfile::tempdir().expect("tmp");
        let manifest = |run: &str, at: &str, rows: u32| {
            format!(
                r#"{{"exportConfig":{{"exportName":"focus","resourceId":"/subscriptions/s/providers/Microsoft.CostManagement/exports/focus"}},
                   "runInfo":{{"submittedTime":"{at}","runId":"{run}","startDate":"2025-01-01T00:00:00"}},
                   "blobs":[{{"blobName":"c/focus/20250101-20250131/{run}/part_0_0001.csv","dataRowCount":{rows}}}]}}"#
            )
        };
        let one = format!("{LITE}\n{}\n", lite_row("2025-01-01", "1"));
        let two = format!(
            "{LITE}\n{}\n{}\n",
            lite_row("2025-01-01", "1"),
            lite_row("2025-01-02", "2")
        );
        write(
            dir.path(),
            "focus/20250101-20250131/r1/part_0_0001.csv",
            &one,
        );
        write(
            dir.path(),
            "focus/20250101-20250131/r1/manifest.json",
            &manifest("r1", "2025-01-02T06:00:00.1Z", 1),
        );
        write(
            dir.path(),
            "focus/20250101-20250131/r2/part_0_0001.csv",
            &two,
        );
        write(
            dir.path(),
            "focus/20250101-20250131/r2/manifest.json",
            &manifest("r2", "2025-02-01T06:00:00.1Z", 2),
        );
        let read = drain(FocusReader::open(dir.path()).expect("open"));
        assert_eq!(read.rows.len(), 2, "only run r2 is read");
        assert!(read.rows[0].line.to_string().contains("r2/"));
    }

    #[test]
    fn empty_directory_is_a_file_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let err = FocusReader::open(dir.path()).expect_err("empty");
        assert_eq!(err.kind, FileErrorKind::Directory);
    }
}
