//! Golden example 4.3 (isilon) and its variants.
mod common;

use common::*;
use ocb_convert::isilon::{self, IsilonConfig};
use ocb_convert::kind::{ConvertContext, Kind};
use ocb_convert::ExitCode;

const FILES: [&str; 2] = ["isilon/rates.json", "isilon/projects.json"];

fn ctx() -> ConvertContext {
    ConvertContext::new(Kind::Isilon, "2025-01".parse().expect("period"))
}

fn cfg() -> IsilonConfig {
    IsilonConfig::from_merged_json(&config(&FILES), &mut Vec::new()).expect("config")
}

#[test]
fn example_matches_the_golden_csv_and_report() {
    let quotas = isilon::parse_isilon_input(&bytes("isilon/quotas-2025-01.json")).expect("parse");
    let conv = isilon::convert(&quotas, &cfg(), &ctx()).expect("convert");
    check_invariants(&conv, true);
    assert_golden(&conv.csv(), "isilon/expected/isilon_2025-01.csv");
    assert_golden(
        report(&conv, &["isilon/quotas-2025-01.json"], &FILES, false, false).as_bytes(),
        "isilon/expected/isilon_2025-01_whatif.json",
    );
    assert_eq!(totals(&conv), ("78.91".into(), "60.36".into()));
    assert_eq!(
        skipped(&conv),
        [
            (
                "/ifs/research/climate-modeling".into(),
                "quota_type_not_directory".into(),
                1
            ),
            ("/ifs/research/empty".into(), "unmapped_zero_cost".into(), 1),
        ]
    );
    let un: Vec<(&str, &str, bool)> = conv
        .buckets
        .unmapped
        .iter()
        .map(|u| (u.item.as_str(), u.reason.as_str(), u.emitted))
        .collect();
    assert_eq!(
        un,
        [
            ("/ifs/research/empty", "path_not_mapped", false),
            ("/ifs/research/unknown-lab", "path_not_mapped", true)
        ]
    );
    assert_eq!(conv.exit_code(true), ExitCode::Strict);
}

#[test]
fn mapped_zero_usage_is_a_zero_row_and_missing_usage_is_invalid() {
    let q = br#"[{"path": "/ifs/research/bumberly-lab", "usage": 0},
                 {"path": "/ifs/research/climate-modeling", "type": "directory", "usage": {"quux": 1}},
                 {"path": "/ifs/research/climate-modeling/", "type": "directory", "usage": 5},
                 {"path": "/ifs/research/climate-modeling", "type": "directory", "usage": 6}]"#;
    let quotas = isilon::parse_isilon_input(q).expect("parse");
    let conv = isilon::convert(&quotas, &cfg(), &ctx()).expect("convert");
    let codes: Vec<&str> = conv
        .buckets
        .errors
        .iter()
        .map(|e| e.code.as_str())
        .collect();
    assert_eq!(codes, ["duplicate_path", "usage_missing"]);
    assert_eq!(conv.exit_code(false), ExitCode::Input);
    assert_eq!(conv.rows[0].cells()[4..8], ["0.00", "0.00", "0.00", "0.00"]);
    check_invariants(&conv, true);
}

#[test]
fn malformed_json_is_an_input_error_and_incomplete_mappings_are_unmapped() {
    let e = isilon::parse_isilon_input(b"{\"quotas\": [").expect_err("bad json");
    assert_eq!(e.exit_code(), ExitCode::Input);
    assert!(e.to_string().contains("not valid JSON"), "{e}");
    let mut merged = config(&FILES);
    merged["projects"]["/ifs/research/x"] = serde_json::json!({"projectId": "xproj", "freeGB": 0});
    let cfg = IsilonConfig::from_merged_json(&merged, &mut Vec::new()).expect("config");
    let quotas =
        isilon::parse_isilon_input(br#"[{"path": "/ifs/research/x", "usage": 1099511627776}]"#)
            .expect("parse");
    let conv = isilon::convert(&quotas, &cfg, &ctx()).expect("convert");
    assert_eq!(conv.buckets.unmapped[0].reason, "mapping_incomplete");
    assert_eq!(
        conv.rows[0].tags.to_json(),
        r#"{"pi_email":"","project_id":"xproj","fund_org":""}"#
    );
    assert_eq!(conv.rows[0].cells()[6], "10.00");
}
