//! Invariant checks shared by the fuzz targets. Each check panics (which libFuzzer reports as a
//! crash) when a parser breaks a promise of SPEC §3 / INTEGRATIONS.md §1.7: every record is a row
//! or a rejection with a line and a reason, counts reconcile, nothing panics.

use ocb_focus::{FocusReader, RowResult};
use std::io::Cursor;
use std::sync::Once;

static HOOK: Once = Once::new();

/// The parquet crate panics on some corrupt files; `ocb-focus` and `ocb-convert` catch those
/// panics and report a file error (see `parquet_crate_panics_become_file_errors`). libFuzzer's
/// panic hook would abort before the catch, so panics raised inside the parquet crate are let
/// through to the `catch_unwind`; every other panic still aborts and is reported.
pub fn tolerate_contained_parquet_panics() {
    HOOK.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parquet = info
                .location()
                .is_some_and(|l| l.file().contains("/parquet-"));
            if !in_parquet {
                fuzzer_hook(info);
            }
        }));
    });
}

/// What [`read_all`] saw.
#[derive(Debug, Default)]
pub struct ReadSummary {
    /// Good rows.
    pub rows: u64,
    /// Rejected records.
    pub rejected: u64,
    /// The file error that refused the input, if any.
    pub file_error: Option<String>,
}

/// Streams `data` through [`FocusReader`] and checks the stream invariants:
/// - every stored row's `tags_json` / `extra_json` is a JSON object;
/// - every rejection has at least one error, each with a reason and the record's line;
/// - records come in input order (line / row numbers strictly increase);
/// - `finish` counts every record and every byte, or gives a file error with a message.
pub fn read_all(name: &str, data: &[u8]) -> ReadSummary {
    let mut summary = ReadSummary::default();
    let mut reader = match FocusReader::from_reader(name, Cursor::new(data.to_vec())) {
        Ok(r) => r,
        Err(e) => {
            assert!(!e.message.is_empty(), "file error without a message");
            summary.file_error = Some(e.message);
            return summary;
        }
    };
    let mut last_line = 0u64;
    while let Some(result) = reader.next_row() {
        let line = match &result {
            RowResult::Row(row) => {
                check_row_json(row);
                summary.rows += 1;
                row.line.n
            }
            RowResult::Rejected(bad) => {
                assert!(!bad.errors.is_empty(), "rejection without a reason");
                for e in &bad.errors {
                    assert!(!e.message.is_empty(), "empty reason at {}", bad.line);
                    assert_eq!(e.line, bad.line, "diagnostic on another line");
                }
                summary.rejected += 1;
                bad.line.n
            }
        };
        assert!(line > last_line, "record at {line} after {last_line}");
        last_line = line;
    }
    match reader.finish() {
        Ok(stats) => {
            assert_eq!(stats.rows_read, summary.rows + summary.rejected);
            assert_eq!(stats.size_bytes, data.len() as u64);
        }
        Err(e) => {
            assert!(!e.message.is_empty(), "file error without a message");
            summary.file_error = Some(e.message);
        }
    }
    summary
}

fn check_row_json(row: &ocb_focus::FocusRow) {
    let extra = row.fields.extra_json.as_deref();
    let tags = row.fields.tags_json.as_deref();
    for json in [extra, tags].into_iter().flatten() {
        assert!(
            matches!(
                serde_json::from_str::<serde_json::Value>(json),
                Ok(serde_json::Value::Object(_))
            ),
            "not a JSON object: {json}"
        );
    }
}
