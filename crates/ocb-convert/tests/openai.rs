//! Golden example 4.6 (openai): the four subsidy configurations, the ledger, idempotence,
//! cross-month re-runs and unmapped users.
mod common;

use common::*;
use ocb_convert::kind::{ConvertContext, Kind};
use ocb_convert::openai::{self, Ledger, OpenAiConfig, OpenAiOutcome};
use ocb_convert::report::FileRef;
use rust_decimal::Decimal;

const USAGE: &str = "openai/edu-usage-2026-01.csv";

fn cfg(subsidies: &str) -> OpenAiConfig {
    OpenAiConfig::from_merged_json(
        &config(&["openai/pricing.json", "openai/projects.json", subsidies]),
        &mut Vec::new(),
    )
    .expect("config")
}

fn run(input: &[u8], subsidies: &str, period: &str, ledger: &Ledger) -> OpenAiOutcome {
    let lines = openai::parse_openai_input(input).expect("parse");
    let ctx = ConvertContext::new(Kind::OpenAi, period.parse().expect("period"));
    let sha = FileRef::new("x", input).sha256;
    let out = openai::convert(&lines, &cfg(subsidies), ledger, &ctx, &sha).expect("convert");
    check_invariants(&out.conversion, false);
    out
}

fn consumption(l: &Ledger, month: &str) -> Vec<(String, String, String, String)> {
    l.months[&month.parse().expect("p")]
        .consumption
        .iter()
        .map(|((_, scope, pk), c)| {
            (
                scope.clone(),
                pk.clone(),
                c.usage.to_string(),
                c.subsidized.to_string(),
            )
        })
        .collect()
}

fn subsidy_sum(out: &OpenAiOutcome) -> Decimal {
    out.conversion
        .rows
        .iter()
        .filter(|r| r.tags.get("charge_type") == Some("subsidy"))
        .map(|r| r.billed_cost)
        .sum()
}

#[test]
fn fixture_config_matches_the_golden_csv_report_and_ledger() {
    let out = run(
        &bytes(USAGE),
        "openai/subsidies.json",
        "2026-01",
        &Ledger::default(),
    );
    let conv = &out.conversion;
    assert_golden(&conv.csv(), "openai/expected/openai-tokens_2026-01.csv");
    assert_golden(
        report(
            conv,
            &[USAGE],
            &[
                "openai/pricing.json",
                "openai/projects.json",
                "openai/subsidies.json",
            ],
            false,
            false,
        )
        .as_bytes(),
        "openai/expected/openai-tokens_2026-01_whatif.json",
    );
    assert_eq!(conv.rows.len(), 12);
    assert_eq!(subsidy_sum(&out).to_string(), "18.71");
    assert_eq!(
        consumption(&out.ledger, "2026-01"),
        [(
            "project:ai-strategy".into(),
            "FY2026".into(),
            "18.71".into(),
            "18.71".into()
        )]
    );
    assert_eq!(out.action, "create");
    assert!(conv.buckets.warnings.is_empty());
}

fn cap12() -> OpenAiOutcome {
    run(
        &bytes(USAGE),
        "openai/subsidies-cap12.json",
        "2026-01",
        &Ledger::default(),
    )
}

#[test]
fn cap_12_splits_in_processing_order() {
    let out = cap12();
    let csv = String::from_utf8(out.conversion.csv()).expect("utf8");
    assert_eq!(out.conversion.rows.len(), 10);
    assert_eq!(subsidy_sum(&out).to_string(), "12.00");
    assert!(csv.contains("2026-01-01T00:00:00Z,2026-02-01T00:00:00Z,2026-01-08T00:00:00Z,2026-01-09T00:00:00Z,0.40,0.40,0.40,0.40,openai:chat.completion.5.reasoning:ah@northwinds.edu:2026-01-08:subsidy,OpenAI chat.completion.5.reasoning (user: ah@northwinds.edu),OpenAI,\"{\"\"pi_email\"\":\"\"alex.ham@northwinds.edu\"\",\"\"project_id\"\":\"\"ai-strategy\"\",\"\"fund_org\"\":\"\"PROVOST-AI-2026\"\",\"\"usage_user\"\":\"\"ah@northwinds.edu\"\",\"\"charge_type\"\":\"\"subsidy\"\",\"\"subsidy_name\"\":\"\"provost_ai_initiative\"\",\"\"subsidy_period\"\":\"\"FY2026\"\"}\",openai-tokens,ChatGPT Edu,USD,Usage,,,OpenAI,,,OpenAI,OpenAI,AI and Machine Learning\n"), "{csv}");
    assert!(csv.contains("2026-01-01T00:00:00Z,2026-02-01T00:00:00Z,2026-01-08T00:00:00Z,2026-01-09T00:00:00Z,0.50,0.50,0.10,0.10,openai:chat.completion.5.reasoning:ah@northwinds.edu:2026-01-08:usage,OpenAI chat.completion.5.reasoning (user: ah@northwinds.edu),OpenAI,\"{\"\"pi_email\"\":\"\"alex.ham@northwinds.edu\"\",\"\"project_id\"\":\"\"ai-strategy\"\",\"\"fund_org\"\":\"\"DEPT-XYZ\"\",\"\"usage_user\"\":\"\"ah@northwinds.edu\"\",\"\"charge_type\"\":\"\"usage\"\",\"\"subsidy_name\"\":\"\"provost_ai_initiative\"\",\"\"subsidy_period\"\":\"\"FY2026\"\"}\",openai-tokens,ChatGPT Edu,USD,Usage,,,OpenAI,,,OpenAI,OpenAI,AI and Machine Learning\n"), "{csv}");
    let item5 = out
        .conversion
        .rows
        .iter()
        .find(|r| r.resource_id.contains("imagegen"))
        .expect("item 5");
    assert_eq!(
        item5.tags.to_json(),
        r#"{"pi_email":"alex.ham@northwinds.edu","project_id":"ai-strategy","fund_org":"DEPT-XYZ","usage_user":"ab@northwinds.edu","charge_type":"usage"}"#
    );
    assert!(!out
        .conversion
        .rows
        .iter()
        .any(|r| r.resource_id.contains("imagegen") && r.resource_id.ends_with("subsidy")));
    assert_eq!(
        consumption(&out.ledger, "2026-01"),
        [(
            "project:ai-strategy".into(),
            "FY2026".into(),
            "18.71".into(),
            "12.00".into()
        )]
    );
    let billed: Decimal = out.conversion.rows.iter().map(|r| r.billed_cost).sum();
    let list: Decimal = out.conversion.rows.iter().map(|r| r.list_cost).sum();
    assert_eq!(
        (billed.to_string(), list.to_string()),
        ("18.71".into(), "30.71".into())
    );
}

#[test]
fn weekly_cap_resets_each_iso_week() {
    let out = run(
        &bytes(USAGE),
        "openai/subsidies-week12.json",
        "2026-01",
        &Ledger::default(),
    );
    assert_eq!(out.conversion.rows.len(), 11);
    assert_eq!(subsidy_sum(&out).to_string(), "12.36");
    assert_eq!(
        consumption(&out.ledger, "2026-01"),
        [
            (
                "project:ai-strategy".into(),
                "W2026-02".into(),
                "18.35".into(),
                "12.00".into()
            ),
            (
                "project:ai-strategy".into(),
                "W2026-03".into(),
                "0.36".into(),
                "0.36".into()
            )
        ]
    );
}

#[test]
fn tiered_subsidy_differences_rounded_cumulative_values() {
    let out = run(
        &bytes(USAGE),
        "openai/subsidies-tiered.json",
        "2026-01",
        &Ledger::default(),
    );
    assert_eq!(out.conversion.rows.len(), 11);
    assert_eq!(subsidy_sum(&out).to_string(), "10.02");
    let billed: Decimal = out.conversion.rows.iter().map(|r| r.billed_cost).sum();
    assert_eq!(billed.to_string(), "18.71");
    assert_eq!(
        consumption(&out.ledger, "2026-01"),
        [(
            "project:ai-strategy".into(),
            "FY2026".into(),
            "18.71".into(),
            "10.02".into()
        )]
    );
}

#[test]
fn reruns_are_idempotent_and_later_months_are_protected() {
    let jan = bytes(USAGE);
    let feb = bytes("openai/edu-usage-2026-02.csv");
    let sub = "openai/subsidies-cap12.json";
    // 1. January twice: identical CSV and ledger bytes, no warnings.
    let a = run(&jan, sub, "2026-01", &Ledger::default());
    let b = run(&jan, sub, "2026-01", &a.ledger);
    assert_eq!(a.conversion.csv(), b.conversion.csv());
    assert_eq!(a.ledger.to_json(), b.ledger.to_json());
    assert_eq!(b.action, "unchanged");
    assert!(b.conversion.buckets.warnings.is_empty());
    // 2. February: the FY cap is used up in January.
    let f = run(&feb, sub, "2026-02", &b.ledger);
    assert_eq!(f.conversion.rows.len(), 1);
    assert_eq!(
        f.conversion.rows[0].cells()[4..8],
        ["2.00", "2.00", "2.00", "2.00"]
    );
    // 3. January again after February: unchanged, no warning, February untouched.
    let j2 = run(&jan, sub, "2026-01", &f.ledger);
    assert_eq!(j2.conversion.csv(), a.conversion.csv());
    assert!(j2.conversion.buckets.warnings.is_empty());
    assert_eq!(j2.ledger.to_json(), f.ledger.to_json());
    let f2 = run(&feb, sub, "2026-02", &j2.ledger);
    assert_eq!(f2.conversion.csv(), f.conversion.csv());
    // 4. January without the 2026-01-12 line: 9 rows, stale February, replaced entry.
    let text = String::from_utf8(jan.clone()).expect("utf8");
    let cut: String = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("1/12/2026"))
        .collect();
    let j3 = run(cut.as_bytes(), sub, "2026-01", &f.ledger);
    assert_eq!(j3.conversion.rows.len(), 9);
    assert_eq!(
        consumption(&j3.ledger, "2026-01"),
        [(
            "project:ai-strategy".into(),
            "FY2026".into(),
            "18.35".into(),
            "12.00".into()
        )]
    );
    let codes: Vec<&str> = j3
        .conversion
        .buckets
        .warnings
        .iter()
        .map(|w| w.code.as_str())
        .collect();
    assert_eq!(codes, ["later_months_stale", "ledger_entry_replaced"]);
    assert!(j3.conversion.buckets.warnings[0]
        .message
        .contains("2026-02"));
    assert_eq!(
        j3.conversion.kind_meta.as_ref().expect("meta")["ledger"]["staleLaterMonths"],
        serde_json::json!(["2026-02"])
    );
    // With a weekly period February would be fully subsidised (W2026-06).
    let w = run(
        &feb,
        "openai/subsidies-week12.json",
        "2026-02",
        &Ledger::default(),
    );
    assert_eq!(w.conversion.rows.len(), 2);
}

#[test]
fn unmapped_users_are_emitted_without_subsidy() {
    let mut text = String::from_utf8(bytes(USAGE)).expect("utf8");
    text.push_str("1/9/2026,test_account,test_user_9,zz@northwinds.edu,Zed Z,user-test_9,codex,20,400,counts\r\n");
    let out = run(
        text.as_bytes(),
        "openai/subsidies-cap12.json",
        "2026-01",
        &Ledger::default(),
    );
    let zz: Vec<_> = out
        .conversion
        .rows
        .iter()
        .filter(|r| r.tags.get("usage_user") == Some("zz@northwinds.edu"))
        .collect();
    assert_eq!(zz.len(), 1);
    assert_eq!(zz[0].cells()[4..8], ["1.00", "1.00", "1.00", "1.00"]);
    assert_eq!(
        zz[0].tags.to_json(),
        r#"{"pi_email":"","project_id":"","fund_org":"","usage_user":"zz@northwinds.edu","charge_type":"usage"}"#
    );
    assert_eq!(out.conversion.buckets.unmapped[0].reason, "user_not_mapped");
    assert_eq!(subsidy_sum(&out).to_string(), "12.00");
    assert_eq!(
        out.conversion.exit_code(true),
        ocb_convert::ExitCode::Strict
    );
}

#[test]
fn duplicate_keys_are_summed_and_bad_lines_are_invalid() {
    let mut text = String::from_utf8(bytes(USAGE)).expect("utf8");
    text.push_str(
        "1/5/2026,a,b,AB@northwinds.edu,Aaron B,p,chat.completion.5.reasoning,10,1,counts\r\n",
    );
    text.push_str("1/40/2026,a,b,ab@northwinds.edu,Aaron B,p,codex,1,1,counts\r\n");
    text.push_str("1/6/2026,a,b,ab@northwinds.edu,Aaron B,p,codex,lots,1,counts\r\n");
    let lines = openai::parse_openai_input(text.as_bytes()).expect("parse");
    let ctx = ConvertContext::new(Kind::OpenAi, "2026-01".parse().expect("p"));
    let out = openai::convert(
        &lines,
        &cfg("openai/subsidies.json"),
        &Ledger::default(),
        &ctx,
        "x",
    )
    .expect("convert");
    let codes: Vec<&str> = out
        .conversion
        .buckets
        .errors
        .iter()
        .map(|e| e.code.as_str())
        .collect();
    assert_eq!(codes, ["bad_date", "bad_credits"]);
    assert!(out
        .conversion
        .buckets
        .warnings
        .iter()
        .any(|w| w.code == "duplicate_key_aggregated"));
    let first = out
        .conversion
        .rows
        .iter()
        .find(|r| {
            r.resource_id
                .ends_with("ab@northwinds.edu:2026-01-05:usage")
        })
        .expect("row");
    assert_eq!(first.cells()[4], "1.00");
    assert_eq!(
        out.conversion.exit_code(false),
        ocb_convert::ExitCode::Input
    );
    let e = openai::parse_openai_input(b"date_partition,email\n1/1/2026,a@b.c\n")
        .expect_err("missing columns");
    assert!(
        e.to_string().contains("missing required column usage_type"),
        "{e}"
    );
}

#[test]
fn config_errors() {
    let mut m = config(&[
        "openai/pricing.json",
        "openai/projects.json",
        "openai/subsidies.json",
    ]);
    m["subsidies"][0]["period"] = "fortnight".into();
    let e = OpenAiConfig::from_merged_json(&m, &mut Vec::new()).expect_err("error");
    assert!(e.to_string().contains("subsidies[0].period"), "{e}");
    let mut m = config(&["openai/pricing.json", "openai/projects.json"]);
    m["projects"][0]["users"][1]["email"] = "AH@northwinds.edu".into();
    let mut second = m["projects"][0].clone();
    second["project_id"] = "other".into();
    m["projects"].as_array_mut().expect("arr").push(second);
    assert!(OpenAiConfig::from_merged_json(&m, &mut Vec::new()).is_err());
}

/// CI fuzzing (2026-12-07): usage_credits of 10^28 panicked with "Multiplication overflowed"
/// when priced. Credits beyond the amount range are an invalid line; credits in range whose
/// price is beyond it are an invalid item; neither panics.
#[test]
fn fuzz_convert_credits_beyond_the_range_are_invalid_records_not_panics() {
    let mut text = String::from_utf8(bytes(USAGE)).expect("utf8");
    text.push_str(
        "1/6/2026,a,b,ab@northwinds.edu,Aaron B,p,codex,9999999999999999999999999999,1,counts\r\n",
    );
    text.push_str("1/7/2026,a,b,ab@northwinds.edu,Aaron B,p,codex,99999999999999,1,counts\r\n");
    let lines = openai::parse_openai_input(text.as_bytes()).expect("parse");
    let ctx = ConvertContext::new(Kind::OpenAi, "2026-01".parse().expect("p"));
    let cfg = cfg("openai/subsidies.json");
    let out = openai::convert(&lines, &cfg, &Ledger::default(), &ctx, "x");
    let conv = match out {
        Ok(o) => o.conversion,
        Err(e) => panic!("{e}"),
    };
    check_invariants(&conv, false);
    let errors: Vec<_> = conv
        .buckets
        .errors
        .iter()
        .map(|e| e.code.as_str())
        .collect();
    assert!(errors.contains(&"bad_credits"), "{errors:?}");
    assert!(conv.buckets.errors.iter().all(|e| !e.message.is_empty()));
}
