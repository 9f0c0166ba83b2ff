//! Native cloud FOCUS exports ingest without a preprocessor (INTEGRATIONS.md §3.1): an AWS Data
//! Exports folder (manifest in `metadata/`, gzip parts in `data/`, a stale unlisted part) and an
//! Azure FocusCost folder with two runs of one month (only the latest counts). Tags use the
//! providers' spellings: AWS `user:pi_email`, Azure `PI Email` / `PIEmail`.

mod common;
use common::*;
use std::path::Path;

fn native(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/native")
        .join(rel)
        .display()
        .to_string()
}

fn pi_of(inst: &Instance, resource_like: &str) -> String {
    let conn = rusqlite::Connection::open(inst.db()).expect("db");
    conn.query_row(
        "SELECT COALESCE(pi_email, '') FROM charges WHERE resource_id LIKE ?1 LIMIT 1",
        [resource_like],
        |r| r.get(0),
    )
    .expect("charge")
}

#[test]
fn aws_data_exports_focus_folder_ingests_with_user_tags() {
    let inst = Instance::new();
    let dir = native("aws-focus");
    let (code, v) = inst.json(&["ingest", &dir, "--source", "AWS", "--period", "2025-01"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["files"][0];
    assert_eq!(r["status"], "committed", "{v}");
    assert_eq!(
        r["rows_read"], 5,
        "the manifest's two parts, not the stale one: {v}"
    );
    assert_eq!(r["rejected"], 0);
    assert_eq!(r["flagged_rows"], 1, "only the untagged volume: {v}");
    assert_eq!(r["total_cost"], "18.0124");
    assert_eq!(
        pi_of(&inst, "%i-0abc123def456789a"),
        "zorp.blinkman@example.edu"
    );
    assert_eq!(pi_of(&inst, "%i-0fed987"), "tarn.voxley@example.edu");
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges WHERE project_id = 'genomics-sequencing' AND fund_org = 'BIO-2024-001'"), 3);
}

#[test]
fn azure_focus_cost_folder_ingests_the_latest_run_with_spaced_tag_keys() {
    let inst = Instance::new();
    let dir = native("azure-focus");
    let (code, v) = inst.json(&["ingest", &dir, "--source", "Azure", "--period", "2025-01"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["files"][0];
    assert_eq!(r["rows_read"], 4, "the run of 2025-02-01 only: {v}");
    assert_eq!(r["rejected"], 0);
    assert_eq!(r["flagged_rows"], 1, "only the untagged scratch VM: {v}");
    assert_eq!(r["total_cost"], "22.293");
    assert_eq!(
        pi_of(&inst, "%vm-physics-sim-01"),
        "tarn.voxley@example.edu"
    );
    assert_eq!(pi_of(&inst, "%neurodata01"), "grix.mottershaw@example.edu");
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges WHERE fund_org = 'DOE-SC-2024' AND project_id = 'quantum-materials'"), 2);
}

#[test]
fn validate_reads_export_folders() {
    let inst = Instance::new();
    for dir in [native("aws-focus"), native("azure-focus")] {
        let (code, v) = inst.json(&["validate", &dir]);
        let rules = v["files"][0]["rules"].as_array().expect("rules");
        for rule in rules
            .iter()
            .filter(|r| r["id"].as_str().is_some_and(|id| id.starts_with('L')))
        {
            assert_eq!(rule["status"], "pass", "{dir}: {v}");
        }
        // A row without pi_email is warning W0 (SPEC §3.8; formerly the failing rule L7).
        let w0 = rules.iter().find(|r| r["id"] == "W0").expect("W0");
        assert_eq!(w0["status"], "warn", "{dir}: {v}");
        assert_eq!(w0["count"], 1, "one untagged row per export: {v}");
        assert_eq!(code, 0, "{dir}: {v}");
    }
}
