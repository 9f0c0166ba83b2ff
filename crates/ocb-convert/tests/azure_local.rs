//! Golden example 4.5 (azure-local), its variants and the proration table.
mod common;

use common::*;
use ocb_convert::azure_local::{self, AzureLocalConfig};
use ocb_convert::kind::{ConvertContext, Kind};
use ocb_convert::ExitCode;

fn ctx(period: &str) -> ConvertContext {
    ConvertContext::new(Kind::AzureLocal, period.parse().expect("period"))
}

fn cfg_from(map: &serde_json::Map<String, serde_json::Value>) -> AzureLocalConfig {
    AzureLocalConfig::from_merged_json(map, &[], &mut Vec::new()).expect("config")
}

fn cfg() -> AzureLocalConfig {
    cfg_from(&config(&["azure-local/tiers.json"]))
}

#[test]
fn example_matches_the_golden_csv_and_report() {
    let inv = azure_local::parse_azure_local_input(&bytes("azure-local/inventory-2025-01.json"))
        .expect("parse");
    let conv = azure_local::convert(&inv, &cfg(), &ctx("2025-01")).expect("convert");
    check_invariants(&conv, true);
    assert_golden(&conv.csv(), "azure-local/expected/azure-local_2025-01.csv");
    assert_golden(
        report(
            &conv,
            &["azure-local/inventory-2025-01.json"],
            &["azure-local/tiers.json"],
            false,
            false,
        )
        .as_bytes(),
        "azure-local/expected/azure-local_2025-01_whatif.json",
    );
    assert_eq!(totals(&conv), ("1709.68".into(), "979.84".into()));
    assert_eq!((conv.items_read, conv.items_charged), (10, 6));
    assert_eq!(
        skipped(&conv),
        [
            ("future-vm-01".into(), "created_after_period".into(), 1),
            ("infra-dc-01".into(), "excluded_pattern".into(), 1),
            ("legacy-app-01".into(), "inactive".into(), 1),
            ("test-vm-01".into(), "not_running".into(), 1),
        ]
    );
    let u = &conv.buckets.unmapped[0];
    assert_eq!(
        (u.item.as_str(), u.reason.as_str()),
        ("student-sandbox", "notes_missing_fields")
    );
    assert_eq!(u.detail, "FinOpsPiEmail, FinOpsProjectId, FinOpsFundOrg");
}

#[test]
fn utf16_powershell_output_is_accepted() {
    let text =
        std::fs::read_to_string(fixture("azure-local/inventory-2025-01.json")).expect("read");
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let a = azure_local::parse_azure_local_input(&utf16).expect("utf-16 parses");
    let b = azure_local::parse_azure_local_input(text.as_bytes()).expect("utf-8 parses");
    assert_eq!(a, b);
    // Without a BOM it is refused with an explanation, never a panic.
    let e = azure_local::parse_azure_local_input(&utf16[2..]).expect_err("no BOM");
    assert_eq!(e.exit_code(), ExitCode::Input);
    assert!(e.to_string().contains("UTF-16"), "{e}");
}

fn sandbox_notes_empty() -> azure_local::Inventory {
    let mut inv =
        azure_local::parse_azure_local_input(&bytes("azure-local/inventory-2025-01.json"))
            .expect("parse");
    let vm = inv
        .vms
        .iter_mut()
        .find(|v| v.name.as_deref() == Some("student-sandbox"))
        .expect("vm");
    vm.notes = azure_local::Notes::Empty;
    inv
}

#[test]
fn empty_notes_need_a_default_tier() {
    let conv =
        azure_local::convert(&sandbox_notes_empty(), &cfg(), &ctx("2025-01")).expect("convert");
    assert_eq!(conv.exit_code(false), ExitCode::Input);
    assert_eq!(conv.buckets.errors[0].code, "no_tier");
    let mut map = config(&["azure-local/tiers.json"]);
    map["defaults"]["tier"] = "standard".into();
    let conv = azure_local::convert(&sandbox_notes_empty(), &cfg_from(&map), &ctx("2025-01"))
        .expect("convert");
    assert_eq!(conv.exit_code(false), ExitCode::Ok);
    assert_golden(&conv.csv(), "azure-local/expected/azure-local_2025-01.csv");
    assert_eq!(conv.buckets.unmapped[0].reason, "notes_empty");
    assert!(conv
        .buckets
        .warnings
        .iter()
        .any(|w| w.code == "tier_defaulted"));
}

#[test]
fn unknown_tier_is_invalid_never_a_fallback() {
    let text =
        std::fs::read_to_string(fixture("azure-local/inventory-2025-01.json")).expect("read");
    let inv =
        azure_local::parse_azure_local_input(text.replacen("highmem", "hihgmem", 1).as_bytes())
            .expect("parse");
    let conv = azure_local::convert(&inv, &cfg(), &ctx("2025-01")).expect("convert");
    assert_eq!(conv.buckets.errors[0].code, "unknown_tier");
    assert_eq!(conv.buckets.errors[0].item, "genomics-analysis");
    assert_eq!(conv.exit_code(false), ExitCode::Input);
}

#[test]
fn proration_table() {
    for (tier, created, period, list, subsidy, billed, start) in [
        (
            "standard",
            "2025-01-15",
            "2025-01",
            "54.84",
            0,
            "54.84",
            "2025-01-15",
        ),
        (
            "highmem",
            "2024-02-10",
            "2024-02",
            "206.90",
            25,
            "155.17",
            "2024-02-10",
        ),
        (
            "large",
            "2025-01-31",
            "2025-01",
            "6.45",
            0,
            "6.45",
            "2025-01-31",
        ),
        (
            "standard",
            "2025-01-01",
            "2025-01",
            "100.00",
            0,
            "100.00",
            "2025-01-01",
        ),
    ] {
        let inv = format!(
            r#"{{"Name": "vm", "State": "Running", "CreationTime": "{created}T00:00:00Z",
            "Notes": {{"FinOpsPiEmail": "a@example.edu", "FinOpsProjectId": "p", "FinOpsFundOrg": "F", "FinOpsVmTier": "{tier}", "FinOpsSubsidyPercent": {subsidy}}}}}"#
        );
        let inv = azure_local::parse_azure_local_input(inv.as_bytes()).expect("parse");
        let conv = azure_local::convert(&inv, &cfg(), &ctx(period)).expect("convert");
        let c = conv.rows[0].cells();
        assert_eq!(
            (c[2].as_str(), c[4].as_str(), c[6].as_str()),
            (format!("{start}T00:00:00Z").as_str(), list, billed),
            "{tier} {created}"
        );
    }
    let inv = azure_local::parse_azure_local_input(br#"{"Name": "vm", "State": "Running", "CreationTime": "2025-02-01T00:00:00Z", "Notes": {"FinOpsVmTier": "standard"}}"#).expect("parse");
    let conv = azure_local::convert(&inv, &cfg(), &ctx("2025-01")).expect("convert");
    assert_eq!(
        skipped(&conv),
        [("vm".into(), "created_after_period".into(), 1)]
    );
}

#[test]
fn malformed_inventory_is_an_input_error() {
    for bad in [&b"[{\"Name\": "[..], b"42", b""] {
        let e = azure_local::parse_azure_local_input(bad).expect_err("bad");
        assert_eq!(e.exit_code(), ExitCode::Input);
    }
    let inv = azure_local::parse_azure_local_input(br#"[{"Name": "a", "State": "Running", "CreationTime": "soon", "Notes": ""}, {"State": "Running"}]"#).expect("parse");
    let conv = azure_local::convert(&inv, &cfg(), &ctx("2025-01")).expect("convert");
    let codes: Vec<&str> = conv
        .buckets
        .errors
        .iter()
        .map(|e| e.code.as_str())
        .collect();
    assert_eq!(codes, ["bad_creation_time", "missing_name"]);
    check_invariants(&conv, true);
}
