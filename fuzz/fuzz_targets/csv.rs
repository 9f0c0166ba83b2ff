//! Feeds arbitrary bytes through `FocusReader` (CSV, gzip and Parquet detection, header
//! recognition, splitting, row building) and checks the stream invariants. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocb_focus::{FocusReader, RowResult};
use std::io::Cursor;
use std::sync::Once;

static HOOK: Once = Once::new();

/// The parquet crate panics on some corrupt files; `ocb-focus` catches those panics and reports a
/// file error (see its test `parquet_crate_panics_become_file_errors`). libFuzzer's panic hook
/// would abort before the catch, so panics raised inside the parquet crate are let through to
/// the reader's `catch_unwind`; every other panic still aborts and is reported.
fn tolerate_contained_parquet_panics() {
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

fuzz_target!(|data: &[u8]| {
    tolerate_contained_parquet_panics();
    let Ok(mut reader) = FocusReader::from_reader("fuzz.csv", Cursor::new(data.to_vec())) else {
        return;
    };
    let mut rows = 0u64;
    while let Some(result) = reader.next_row() {
        rows += 1;
        match result {
            RowResult::Row(row) => {
                // Every stored row round-trips its JSON columns.
                if let Some(extra) = &row.fields.extra_json {
                    assert!(serde_json_valid(extra), "extra_json is not JSON: {extra}");
                }
                if let Some(tags) = &row.fields.tags_json {
                    assert!(serde_json_valid(tags), "tags_json is not JSON: {tags}");
                }
            }
            RowResult::Rejected(bad) => assert!(!bad.errors.is_empty()),
        }
    }
    if let Ok(stats) = reader.finish() {
        assert_eq!(stats.rows_read, rows);
        assert_eq!(stats.size_bytes, data.len() as u64);
    }
});

fn serde_json_valid(text: &str) -> bool {
    matches!(
        serde_json::from_str::<serde_json::Value>(text),
        Ok(serde_json::Value::Object(_))
    )
}
