//! `aws-cur` reads Parquet CURs (INTEGRATIONS.md §3.2). The made-up CUR of golden example 4.7
//! (`fixtures/aws-cur/cur-2025-01.csv`) is written as Parquet in the two real layouts and must
//! convert to exactly the bytes of the CSV conversion (which is itself the golden file).
//!
//! - CUR 1 (legacy): normalised column names, TIMESTAMP(MILLIS) dates, DOUBLE costs, one
//!   `resource_tags_user_*` column per tag. This one is also checked in as
//!   `fixtures/aws-cur/cur-2025-01.parquet` (used by the CLI test); regenerate it with
//!   `OCB_WRITE_FIXTURE=1 cargo test -p ocb-convert --test cur_parquet write_fixture -- --ignored`.
//! - CUR 2.0: TIMESTAMP(MICROS) dates, DECIMAL(18,6) costs and a `resource_tags` MAP column.
#![cfg(feature = "parquet")]
mod common;

use common::*;
use ocb_convert::cloud::{parse_table, parse_table_or_parquet, Table};
use ocb_convert::kind::{ConvertContext, Kind};
use ocb_convert::{aws_cur, Conversion};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use rust_decimal::Decimal;
use std::path::Path;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Cur1,
    Cur2,
}

/// The CSV fixture: normalised column names and rows of cells.
fn csv_fixture() -> (Vec<String>, Vec<Vec<String>>) {
    let data = bytes("aws-cur/cur-2025-01.csv");
    let mut rdr = csv::Reader::from_reader(data.as_slice());
    let headers = rdr
        .headers()
        .expect("header")
        .iter()
        .map(aws_cur::normalize_column)
        .collect();
    let rows = rdr
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}

/// Writes the fixture as a Parquet CUR in `layout` and returns the file's bytes.
fn write_cur(path: &Path, layout: Layout) -> Vec<u8> {
    let (headers, rows) = csv_fixture();
    let is_tag = |h: &str| h.starts_with("resource_tags_");
    let scalar: Vec<usize> = (0..headers.len())
        .filter(|&i| layout == Layout::Cur1 || !is_tag(&headers[i]))
        .collect();
    let mut schema = String::from("message cur {\n");
    for &i in &scalar {
        let h = &headers[i];
        let ty = if h.ends_with("_date") {
            match layout {
                Layout::Cur1 => "INT64 {} (TIMESTAMP(MILLIS,true))",
                Layout::Cur2 => "INT64 {} (TIMESTAMP(MICROS,true))",
            }
        } else if h.ends_with("_cost") {
            match layout {
                Layout::Cur1 => "DOUBLE {}",
                Layout::Cur2 => "INT64 {} (DECIMAL(18,6))",
            }
        } else {
            "BYTE_ARRAY {} (UTF8)"
        };
        schema += &format!("  OPTIONAL {};\n", ty.replace("{}", h));
    }
    if layout == Layout::Cur2 {
        schema += "  OPTIONAL group resource_tags (MAP) {
            REPEATED group key_value {
                REQUIRED BYTE_ARRAY key (UTF8);
                OPTIONAL BYTE_ARRAY value (UTF8);
            }
        }\n";
    }
    schema += "}";
    let schema = Arc::new(parse_message_type(&schema).expect("schema"));
    let file = std::fs::File::create(path).expect("create");
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(file, schema, props).expect("writer");
    let mut rg = writer.next_row_group().expect("row group");
    let mut n = 0;
    while let Some(mut col) = rg.next_column().expect("column") {
        if n < scalar.len() {
            let h = &headers[scalar[n]];
            let cells: Vec<&str> = rows.iter().map(|r| r[scalar[n]].as_str()).collect();
            let def: Vec<i16> = cells.iter().map(|c| i16::from(!c.is_empty())).collect();
            let present = cells.iter().filter(|c| !c.is_empty());
            if h.ends_with("_date") {
                let unit = if layout == Layout::Cur1 {
                    1_000
                } else {
                    1_000_000
                };
                let v: Vec<i64> = present
                    .map(|c| {
                        let t = chrono::DateTime::parse_from_rfc3339(c).expect("date");
                        t.timestamp() * unit
                    })
                    .collect();
                col.typed::<Int64Type>()
                    .write_batch(&v, Some(&def), None)
                    .expect("write");
            } else if h.ends_with("_cost") && layout == Layout::Cur1 {
                let v: Vec<f64> = present.map(|c| c.parse().expect("double")).collect();
                col.typed::<DoubleType>()
                    .write_batch(&v, Some(&def), None)
                    .expect("write");
            } else if h.ends_with("_cost") {
                let v: Vec<i64> = present
                    .map(|c| {
                        let mut d: Decimal = c.parse().expect("decimal");
                        d.rescale(6);
                        i64::try_from(d.mantissa()).expect("fits")
                    })
                    .collect();
                col.typed::<Int64Type>()
                    .write_batch(&v, Some(&def), None)
                    .expect("write");
            } else {
                let v: Vec<ByteArray> = present.map(|c| ByteArray::from(*c)).collect();
                col.typed::<ByteArrayType>()
                    .write_batch(&v, Some(&def), None)
                    .expect("write");
            }
        } else {
            // The MAP's key (n = scalar.len()) and value columns: one entry per non-empty tag,
            // keys as CUR 2.0 writes them (`user_pi_email`); a row without tags is a null map.
            let (mut v, mut def, mut rep) = (Vec::new(), Vec::new(), Vec::new());
            for r in &rows {
                let tags: Vec<(String, &str)> = headers
                    .iter()
                    .zip(r)
                    .filter(|(h, c)| is_tag(h) && !c.is_empty())
                    .map(|(h, c)| (h["resource_tags_".len()..].to_string(), c.as_str()))
                    .collect();
                if tags.is_empty() {
                    def.push(0);
                    rep.push(0);
                }
                for (j, (k, c)) in tags.iter().enumerate() {
                    v.push(ByteArray::from(if n == scalar.len() {
                        k.as_str()
                    } else {
                        c
                    }));
                    def.push(if n == scalar.len() { 2 } else { 3 });
                    rep.push(i16::from(j > 0));
                }
            }
            col.typed::<ByteArrayType>()
                .write_batch(&v, Some(&def), Some(&rep))
                .expect("write");
        }
        col.close().expect("close column");
        n += 1;
    }
    rg.close().expect("close row group");
    writer.close().expect("close file");
    std::fs::read(path).expect("read back")
}

fn convert(t: Table) -> Conversion {
    let cfg = aws_cur::AwsCurConfig::from_merged_json(&Default::default(), &mut Vec::new())
        .expect("config");
    let ctx = ConvertContext::new(Kind::AwsCur, "2025-01".parse().expect("period"));
    let conv = aws_cur::convert(&[t], &cfg, &ctx).expect("convert");
    check_invariants(&conv, false);
    conv
}

fn csv_conversion() -> Vec<u8> {
    let t = parse_table("cur-2025-01.csv", &bytes("aws-cur/cur-2025-01.csv")).expect("table");
    let out = convert(t).csv();
    // The reference is the golden file of example 4.7, so both sides are pinned.
    assert_eq!(out, bytes("aws-cur/expected/aws_2025-01.csv"));
    out
}

#[test]
fn both_parquet_layouts_convert_to_the_csv_bytes() {
    let want = csv_conversion();
    let dir = tempfile::tempdir().expect("tempdir");
    for (layout, name) in [
        (Layout::Cur1, "cur1.parquet"),
        (Layout::Cur2, "cur2.parquet"),
    ] {
        let data = write_cur(&dir.path().join(name), layout);
        assert!(data.starts_with(b"PAR1"));
        let t = parse_table_or_parquet(name, &data).expect("parquet table");
        assert_eq!(t.rows.len(), 7, "{name}");
        let conv = convert(t);
        assert_eq!(
            String::from_utf8_lossy(&conv.csv()),
            String::from_utf8_lossy(&want),
            "{name}"
        );
        assert_eq!(conv.items_read, 7);
        assert_eq!(totals(&conv), ("29.62".into(), "26.24".into()));
    }
}

#[test]
fn the_checked_in_parquet_fixture_converts_to_the_golden_csv() {
    let data = bytes("aws-cur/cur-2025-01.parquet");
    let conv = convert(parse_table_or_parquet("cur-2025-01.parquet", &data).expect("table"));
    assert_eq!(conv.csv(), csv_conversion());
}

#[test]
fn azure_ea_stays_csv_only_and_a_broken_parquet_is_an_input_error() {
    let data = bytes("aws-cur/cur-2025-01.parquet");
    let e = parse_table("usage.parquet", &data).expect_err("azure-ea refuses Parquet");
    assert!(e.to_string().contains("export the report as CSV"), "{e}");
    let cut = &data[..data.len() / 2];
    let e = parse_table_or_parquet("cut.parquet", cut).expect_err("truncated");
    assert_eq!(e.exit_code(), ocb_convert::ExitCode::Input);
    assert!(e.to_string().contains("cut.parquet"), "{e}");
}

/// Regenerates the checked-in fixture (see the module comment).
#[test]
#[ignore = "writes the checked-in Parquet fixture on request"]
fn write_fixture() {
    if std::env::var("OCB_WRITE_FIXTURE").as_deref() == Ok("1") {
        write_cur(&fixture("aws-cur/cur-2025-01.parquet"), Layout::Cur1);
    }
}

/// A Parquet file whose page headers declare huge uncompressed sizes (found by the `parquet`
/// fuzz target) is refused before the parquet crate allocates them: an input error, at once.
#[test]
fn parquet_with_huge_declared_pages_is_an_input_error() {
    let started = std::time::Instant::now();
    let e = ocb_convert::cloud::parse_table_or_parquet(
        "cur.parquet",
        &bytes("aws-cur/fuzz-huge-page.parquet"),
    )
    .expect_err("refused");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(e.exit_code(), ocb_convert::ExitCode::Input);
    assert!(e.to_string().contains("not a usable Parquet file"), "{e}");
}
