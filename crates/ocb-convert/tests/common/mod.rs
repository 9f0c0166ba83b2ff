//! Shared helpers for the golden tests: fixtures, config merge, golden comparison and the
//! invariants every conversion must hold (INTEGRATIONS.md §5 step 3).
#![allow(dead_code)]

use ocb_convert::config::{merge, ConfigFile};
use ocb_convert::report::{render_report, FileRef, Mode, RunInfo};
use ocb_convert::Conversion;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn read(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Parses and merges config fixtures.
pub fn config(files: &[&str]) -> Map<String, Value> {
    let parsed: Vec<ConfigFile> = files
        .iter()
        .map(|f| ConfigFile::parse(f, &bytes(f)).expect("config parses"))
        .collect();
    merge(&parsed).expect("config merges")
}

/// Compares with a checked-in golden file; `UPDATE_GOLDEN=1` rewrites it instead.
pub fn assert_golden(actual: &[u8], rel: &str) {
    let path = fixture(rel);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    if expected != actual {
        panic!(
            "golden {rel} differs\n--- expected\n{}\n--- actual\n{}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual)
        );
    }
}

/// The invariants of §1.4, §1.6 and §1.7 (`billed_le_list` for the section-2 kinds).
pub fn check_invariants(conv: &Conversion, billed_le_list: bool) {
    assert!(
        conv.reconciles(),
        "itemsRead {} != charged {} + skipped {} + errors {}",
        conv.items_read,
        conv.items_charged,
        conv.buckets.skipped_count(),
        conv.buckets.errors.len()
    );
    let mut keys = std::collections::HashSet::new();
    for r in &conv.rows {
        assert!(
            keys.insert((r.resource_id.clone(), r.charge_period_start)),
            "duplicate {}",
            r.resource_id
        );
        if billed_le_list {
            assert!(
                r.billed_cost <= r.list_cost,
                "{}: billed > list",
                r.resource_id
            );
        }
        assert_eq!(
            r.list_cost.scale(),
            2,
            "{} list not rounded once to cents",
            r.resource_id
        );
    }
    let mut sorted = conv.rows.clone();
    sorted.sort_by(|a, b| {
        (a.resource_id.as_bytes(), a.charge_period_start)
            .cmp(&(b.resource_id.as_bytes(), b.charge_period_start))
    });
    assert_eq!(sorted, conv.rows, "rows not in ResourceId order");
}

/// A deterministic report for golden comparison (generatedAt masked, fixture paths relative).
pub fn report(
    conv: &Conversion,
    inputs: &[&str],
    configs: &[&str],
    strict: bool,
    skip_invalid: bool,
) -> String {
    let refs = |l: &[&str]| l.iter().map(|f| FileRef::new(f, &bytes(f))).collect();
    let run = RunInfo {
        mode: Mode::Convert,
        inputs: refs(inputs),
        config_files: refs(configs),
        output_file: Some(format!("{}_{}.csv", conv.source, conv.period)),
        strict,
        skip_invalid,
        generated_at: "<masked>".into(),
    };
    render_report(conv, &run)
}

/// `(item, reason, count)` of the skipped entries.
pub fn skipped(conv: &Conversion) -> Vec<(String, String, u64)> {
    conv.buckets
        .skipped
        .iter()
        .map(|((i, r), e)| (i.clone(), r.clone(), e.count))
        .collect()
}

pub fn totals(conv: &Conversion) -> (String, String) {
    let t = conv.totals();
    (
        ocb_convert::money::fmt2(t.list),
        ocb_convert::money::fmt2(t.billed),
    )
}
