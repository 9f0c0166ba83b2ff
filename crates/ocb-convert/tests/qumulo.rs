//! Golden example 4.4 (qumulo) and its variants: orphan usage, missing usage, walk mode,
//! credits, the daily model and `--init`.
mod common;

use common::*;
use ocb_convert::kind::{ConvertContext, Kind};
use ocb_convert::qumulo::{self, Metadata, QumuloConfig, QumuloInput, Usage};
use ocb_convert::{qumulo_fs, ExitCode};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

fn ctx() -> ConvertContext {
    ConvertContext::new(Kind::Qumulo, "2025-01".parse().expect("period"))
}

fn cfg() -> QumuloConfig {
    QumuloConfig::from_merged_json(&config(&["qumulo/rates.json"]), &[], &mut Vec::new())
        .expect("config")
}

fn fixture_input(usage: Usage) -> QumuloInput {
    let root = fixture("qumulo/projects");
    QumuloInput {
        root: "projects".into(),
        directories: qumulo_fs::read_directories(&root).expect("dirs"),
        usage,
    }
}

fn usage_file(extra: &[(&str, u64)], drop: &[&str]) -> Usage {
    let mut m = qumulo::parse_usage_file(&bytes("qumulo/usage-2025-01.json")).expect("usage");
    for (k, v) in extra {
        m.insert((*k).into(), Decimal::from(*v));
    }
    for k in drop {
        m.remove(*k);
    }
    Usage::File(m)
}

#[test]
fn monthly_example_matches_the_golden_csv_and_report() {
    let conv =
        qumulo::convert(&fixture_input(usage_file(&[], &[])), &cfg(), &ctx()).expect("convert");
    check_invariants(&conv, true);
    assert_golden(&conv.csv(), "qumulo/expected/qumulo_2025-01.csv");
    assert_golden(
        report(
            &conv,
            &["qumulo/usage-2025-01.json"],
            &["qumulo/rates.json"],
            false,
            false,
        )
        .as_bytes(),
        "qumulo/expected/qumulo_2025-01_whatif.json",
    );
    assert_eq!(totals(&conv), ("921.60".into(), "738.25".into()));
    assert!(
        conv.buckets.warnings.is_empty(),
        "{:?}",
        conv.buckets.warnings
    );
}

#[test]
fn orphan_usage_is_emitted_unmapped_and_fails_strict() {
    let conv = qumulo::convert(
        &fixture_input(usage_file(&[("orphan-data", 107374182400)], &[])),
        &cfg(),
        &ctx(),
    )
    .expect("convert");
    check_invariants(&conv, true);
    let row = conv
        .rows
        .iter()
        .find(|r| r.resource_id == "qumulo:orphan-data")
        .expect("orphan row");
    assert_eq!(row.cells()[4..8], ["5.00", "5.00", "0.00", "0.00"]);
    assert_eq!(
        row.tags.to_json(),
        r#"{"pi_email":"","project_id":"orphan-data","fund_org":""}"#
    );
    assert_eq!(conv.buckets.unmapped[0].reason, "no_metadata_file");
    assert_eq!(totals(&conv), ("926.60".into(), "738.25".into()));
    assert_eq!(conv.exit_code(true), ExitCode::Strict);
}

#[test]
fn missing_usage_is_invalid_unless_skipped() {
    let input = fixture_input(usage_file(&[], &["pilot-project"]));
    let conv = qumulo::convert(&input, &cfg(), &ctx()).expect("convert");
    assert_eq!(conv.exit_code(false), ExitCode::Input);
    assert_eq!(conv.buckets.errors[0].code, "usage_unknown");
    let mut c = ctx();
    c.skip_invalid = true;
    let conv = qumulo::convert(&input, &cfg(), &c).expect("convert");
    assert_eq!(conv.rows.len(), 3);
    assert_eq!(
        skipped(&conv),
        [(
            "pilot-project".into(),
            "invalid_record:usage_unknown".into(),
            1
        )]
    );
    check_invariants(&conv, true);
}

#[test]
fn walk_mode_on_the_fixture_tree_gives_zero_rows() {
    let root = fixture("qumulo/projects");
    let dirs = qumulo_fs::read_directories(&root).expect("dirs");
    let usage = Usage::Walk(qumulo_fs::walk_all(&root, &dirs, &cfg()));
    let conv = qumulo::convert(
        &QumuloInput {
            root: "projects".into(),
            directories: dirs,
            usage,
        },
        &cfg(),
        &ctx(),
    )
    .expect("convert");
    assert_eq!(conv.rows.len(), 4);
    assert!(conv
        .rows
        .iter()
        .all(|r| r.cells()[4] == "0.00" && r.cells()[6] == "0.00"));
}

fn one_project(meta: &str, usage: Usage) -> QumuloInput {
    let mut dirs = BTreeMap::new();
    dirs.insert("lab".to_string(), Metadata::parse(meta.as_bytes()));
    QumuloInput {
        root: "tmp".into(),
        directories: dirs,
        usage,
    }
}

fn gib(n: u64) -> Decimal {
    Decimal::from(n) * Decimal::from(1_073_741_824u64)
}

#[test]
fn credits_apply_after_subsidy_and_floor_at_zero() {
    let meta = r#"{"pi_email":"a@example.edu","project_id":"lab","fund_org":"F","free_gb":500,"daily_credit":0.10}"#;
    let usage = Usage::File([("lab".to_string(), gib(2048))].into());
    let conv = qumulo::convert(&one_project(meta, usage), &cfg(), &ctx()).expect("convert");
    assert_eq!(conv.rows[0].cells()[4..7], ["102.40", "102.40", "74.30"]);
    let meta = r#"{"pi_email":"a@example.edu","project_id":"lab","fund_org":"F","free_gb":500,"daily_credit":1.00}"#;
    let usage = Usage::File([("lab".to_string(), gib(300))].into());
    let conv = qumulo::convert(&one_project(meta, usage), &cfg(), &ctx()).expect("convert");
    assert_eq!(conv.rows[0].cells()[4..7], ["15.00", "15.00", "0.00"]);
}

#[test]
fn daily_model_rows_per_day() {
    let climate = std::fs::read_to_string(fixture(
        "qumulo/projects/climate-modeling/.openchargeback.json",
    ))
    .expect("meta");
    let mut input = one_project(&climate, Usage::Daily(Default::default()));
    input.directories = [(
        "climate-modeling".to_string(),
        Metadata::parse(climate.as_bytes()),
    )]
    .into();
    let daily = br#"{"2025-01-01": {"climate-modeling": 2748779069440}, "2025-01-02": {"climate-modeling": 2791728742400}, "2024-12-31": {"climate-modeling": 1}}"#;
    input.usage = Usage::Daily(qumulo::parse_daily_usage_file(daily).expect("daily"));
    let conv = qumulo::convert(&input, &cfg(), &ctx()).expect("convert");
    check_invariants(&conv, true);
    let cells: Vec<[String; 24]> = conv.rows.iter().map(|r| r.cells()).collect();
    // One day: from its midnight to the next (FOCUS ends are exclusive).
    assert_eq!(
        cells[0][2..7],
        [
            "2025-01-01T00:00:00Z",
            "2025-01-02T00:00:00Z",
            "4.21",
            "4.21",
            "3.39"
        ]
    );
    assert_eq!(
        cells[1][2..7],
        [
            "2025-01-02T00:00:00Z",
            "2025-01-03T00:00:00Z",
            "4.27",
            "4.27",
            "3.45"
        ]
    );
    assert_eq!(
        skipped(&conv),
        [("2024-12-31".into(), "outside_period".into(), 1)]
    );
    // Guide checks: 2000 GiB / 500 free; 500 GiB pilot (free 0, 100 %); 2500 GiB, credit 2.00.
    for (meta, g, want) in [
        (
            r#"{"pi_email":"a@x.edu","project_id":"lab","fund_org":"F"}"#,
            2000,
            ["3.29", "2.47"],
        ),
        (
            r#"{"pi_email":"a@x.edu","project_id":"lab","fund_org":"F","free_gb":0,"subsidy_percent":100}"#,
            500,
            ["0.82", "0.00"],
        ),
        (
            r#"{"pi_email":"a@x.edu","project_id":"lab","fund_org":"F","free_gb":0,"daily_credit":2.00}"#,
            2500,
            ["4.11", "2.11"],
        ),
    ] {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 5).expect("date");
        let usage = Usage::Daily([(day, [("lab".to_string(), gib(g))].into())].into());
        let conv = qumulo::convert(&one_project(meta, usage), &cfg(), &ctx()).expect("convert");
        assert_eq!(
            [
                conv.rows[0].cells()[4].clone(),
                conv.rows[0].cells()[6].clone()
            ],
            want,
            "{g} GiB"
        );
    }
}

#[test]
fn bad_metadata_is_invalid_and_bad_json_is_unmapped() {
    let conv = qumulo::convert(
        &one_project(
            r#"{"pi_email":"a@x.edu","project_id":"lab","fund_org":"F","subsidy_percent":150}"#,
            Usage::File([("lab".to_string(), gib(1))].into()),
        ),
        &cfg(),
        &ctx(),
    )
    .expect("convert");
    assert_eq!(conv.buckets.errors[0].code, "bad_metadata");
    let conv = qumulo::convert(
        &one_project(
            "{oops",
            Usage::File([("lab".to_string(), gib(1000))].into()),
        ),
        &cfg(),
        &ctx(),
    )
    .expect("convert");
    assert_eq!(conv.buckets.unmapped[0].reason, "metadata_invalid_json");
    assert_eq!(conv.rows[0].cells()[6], "25.00");
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).expect("ls") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}

#[test]
fn init_creates_fills_and_never_overwrites_broken_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    copy_tree(&fixture("qumulo/projects"), tmp.path());
    std::fs::create_dir(tmp.path().join("new-lab")).expect("mkdir");
    std::fs::create_dir(tmp.path().join("broken")).expect("mkdir");
    std::fs::create_dir(tmp.path().join("_scratch")).expect("mkdir");
    std::fs::write(tmp.path().join("broken/.openchargeback.json"), "{oops").expect("write");
    let template: serde_json::Value =
        serde_json::from_slice(&bytes("qumulo/template.openchargeback.json")).expect("t");
    let t = template.as_object().expect("obj");
    let plan = qumulo_fs::init(tmp.path(), t, &cfg(), false, true).expect("init");
    let actions: Vec<(&str, &str)> = plan
        .iter()
        .map(|e| (e.directory.as_str(), e.action))
        .collect();
    assert!(actions.contains(&("new-lab", "created")));
    assert!(
        !tmp.path().join("new-lab/.openchargeback.json").exists(),
        "dry run wrote"
    );
    qumulo_fs::init(tmp.path(), t, &cfg(), false, false).expect("init");
    let created =
        std::fs::read_to_string(tmp.path().join("new-lab/.openchargeback.json")).expect("read");
    assert!(created.contains("\"project_id\": \"new-lab\""), "{created}");
    assert!(created.ends_with("}\n"));
    let filled = qumulo_fs::init(tmp.path(), t, &cfg(), true, false).expect("fill");
    let get = |d: &str| filled.iter().find(|e| e.directory == d).map(|e| e.action);
    assert_eq!(get("broken"), Some("error"));
    assert_eq!(get("new-lab"), Some("unchanged"));
    assert_eq!(get("bumberly-lab"), Some("unchanged"));
    assert_eq!(get("_scratch"), None);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("broken/.openchargeback.json")).expect("r"),
        "{oops"
    );
}
