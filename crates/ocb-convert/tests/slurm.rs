//! Golden examples 4.1 and 4.2 (slurm) and the bad-input cases.
mod common;

use common::*;
use ocb_convert::kind::{ConvertContext, Kind};
use ocb_convert::slurm::{self, SlurmConfig};
use ocb_convert::ExitCode;

fn ctx() -> ConvertContext {
    ConvertContext::new(Kind::Slurm, "2025-01".parse().expect("period"))
}

fn cfg(files: &[&str]) -> SlurmConfig {
    SlurmConfig::from_merged_json(&config(files), &mut Vec::new()).expect("config")
}

#[test]
fn example_a_matches_the_golden_csv_and_report() {
    let files = ["slurm/tiers.json", "slurm/accounts.json"];
    let items = slurm::parse_slurm_input(&read("slurm/sacct-2025-01.txt")).expect("parse");
    let conv = slurm::convert(&items, &cfg(&files), &ctx()).expect("convert");
    check_invariants(&conv, true);
    assert_golden(&conv.csv(), "slurm/expected/slurm_2025-01.csv");
    assert_golden(
        report(&conv, &["slurm/sacct-2025-01.txt"], &files, false, false).as_bytes(),
        "slurm/expected/slurm_2025-01_whatif.json",
    );
    assert_eq!(totals(&conv), ("21.72".into(), "13.72".into()));
    assert_eq!((conv.items_read, conv.items_charged), (8, 7));
    assert_eq!(
        skipped(&conv),
        [("root".into(), "excluded_account".into(), 1)]
    );
    assert_eq!(conv.buckets.unmapped.len(), 1);
    assert_eq!(conv.buckets.unmapped[0].reason, "account_not_mapped");
    let codes: Vec<&str> = conv
        .buckets
        .warnings
        .iter()
        .map(|w| w.code.as_str())
        .collect();
    assert_eq!(codes, ["unknown_partition"]);
    assert_eq!(conv.exit_code(false), ExitCode::Ok);
    assert_eq!(conv.exit_code(true), ExitCode::Strict);
    let audit: Vec<String> = conv
        .audit_extras
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    assert!(
        audit.contains(&"cpuHours=Dec(\"521.07\")".to_string()),
        "{audit:?}"
    );
    assert!(
        audit.contains(&"serviceUnits=Dec(\"2171.67\")".to_string()),
        "{audit:?}"
    );
}

#[test]
fn example_b_gpu_rate_fractional_subsidy_and_filters() {
    let files = ["slurm/tiers-b.json", "slurm/accounts.json"];
    let items = slurm::parse_slurm_input(&read("slurm/sacct-b-2025-01.txt")).expect("parse");
    let conv = slurm::convert(&items, &cfg(&files), &ctx()).expect("convert");
    check_invariants(&conv, true);
    assert_golden(&conv.csv(), "slurm/expected/slurm-b_2025-01.csv");
    assert_eq!(totals(&conv), ("42.20".into(), "42.12".into()));
    assert_eq!(
        skipped(&conv),
        [
            ("2024-12".into(), "ended_outside_period".into(), 1),
            ("FAILED".into(), "state_not_billable".into(), 1)
        ]
    );
}

#[test]
fn bad_lines_fail_with_all_errors_or_are_skipped_on_request() {
    let files = ["slurm/tiers.json", "slurm/accounts.json"];
    let items = slurm::parse_slurm_input(&read("slurm/sacct-bad-2025-01.txt")).expect("parse");
    let conv = slurm::convert(&items, &cfg(&files), &ctx()).expect("convert");
    assert_eq!(conv.exit_code(false), ExitCode::Input);
    let errs: Vec<(String, Option<u64>, String)> = conv
        .buckets
        .errors
        .iter()
        .map(|e| (e.item.clone(), e.line, e.code.clone()))
        .collect();
    assert_eq!(
        errs,
        [
            ("1002".into(), Some(2), "bad_elapsed".into()),
            ("1003".into(), Some(3), "bad_field_count".into()),
            ("1004".into(), Some(4), "bad_alloc_cpus".into()),
        ]
    );
    check_invariants(&conv, true);
    let mut c = ctx();
    c.skip_invalid = true;
    let conv = slurm::convert(&items, &cfg(&files), &c).expect("convert");
    assert_eq!(conv.exit_code(false), ExitCode::Ok);
    assert_eq!(conv.rows.len(), 1);
    assert_eq!(conv.buckets.skipped_count(), 3);
    assert!(conv
        .buckets
        .skipped
        .keys()
        .any(|(_, r)| r == "invalid_record:bad_field_count"));
    check_invariants(&conv, true);
}

#[test]
fn rerun_is_byte_identical_and_accounts_are_case_insensitive() {
    let files = ["slurm/tiers.json", "slurm/accounts.json"];
    let text = read("slurm/sacct-2025-01.txt").replace("bumberlyPrj|gpu-sm", "BUMBERLYPRJ|GPU-SM");
    let items = slurm::parse_slurm_input(&text).expect("parse");
    let a = slurm::convert(&items, &cfg(&files), &ctx()).expect("convert");
    let b = slurm::convert(&items, &cfg(&files), &ctx()).expect("convert");
    assert_eq!(a.csv(), b.csv());
    let row = a
        .rows
        .iter()
        .find(|r| r.resource_id == "slurm:BUMBERLYPRJ:GPU-SM")
        .expect("row");
    assert_eq!(row.tags.get("pi_email"), Some("frin.bumberly@example.edu"));
    assert_eq!(row.billed_cost.to_string(), "0.00");
}

#[test]
fn config_errors_name_the_key() {
    let bad = serde_json::json!({"partitions": {"def": {"subsidyPercent": 120}}});
    let e =
        SlurmConfig::from_merged_json(bad.as_object().expect("obj"), &mut Vec::new()).unwrap_err();
    assert!(
        e.to_string().contains("partitions.def.subsidyPercent"),
        "{e}"
    );
    let dup = serde_json::json!({"accounts": {"a": {}, "A": {}}});
    assert!(SlurmConfig::from_merged_json(dup.as_object().expect("obj"), &mut Vec::new()).is_err());
    let mut w = Vec::new();
    SlurmConfig::from_merged_json(
        serde_json::json!({"bogus": 1}).as_object().expect("obj"),
        &mut w,
    )
    .expect("ok");
    assert_eq!(w[0].code, "unknown_config_key");
}
