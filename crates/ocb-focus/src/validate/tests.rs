//! Tests of the validate rules and report shapes.

use super::*;
use ocb_core::exact::ExactSum;
use rstest::rstest;
use std::path::PathBuf;

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn rule<'a>(r: &'a FileReport, id: &str) -> &'a RuleReport {
    r.rules.iter().find(|x| x.id == id).expect("rule listed")
}

fn strict() -> ValidateOptions {
    ValidateOptions {
        strict: true,
        ..Default::default()
    }
}

const HEADER: &str =
    "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,BilledCost,ListCost,Tags";
const TAGS: &str =
    r#""{""pi_email"": ""a@x.edu"", ""project_id"": ""p"", ""fund_org"": ""123456-1234""}""#;

fn lite_file(rows: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let text = format!("{HEADER}\n{}\n", rows.join("\n"));
    let path = write(&dir, "in.csv", &text);
    (dir, path)
}

#[test]
fn upstream_samples_pass_lite_with_period_totals() {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/sample/aws_2025-01.csv"
    ));
    let path = if path.exists() {
        path
    } else {
        PathBuf::from("/work/shared/fixtures/sample/aws_2025-01.csv")
    };
    let r = validate_path(&path, &ValidateOptions::default());
    assert!(r.passed(), "{}", render_human(&r, "$"));
    assert_eq!(r.profile, "lite");
    assert_eq!(r.periods.len(), 1);
    assert_eq!(r.periods[0].period, "2025-01");
    assert_eq!(r.periods[0].rows, r.rows);
    assert!(r.rules.iter().all(|x| !x.id.starts_with('S')));
}

#[test]
fn focus_sample_strict_reports_tags_and_format_findings() {
    let path = PathBuf::from("/work/shared/fixtures/sample/focus-1.0-sample.csv");
    let alt = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/sample/focus-1.0-sample.csv"
    ));
    let path = if alt.exists() { alt } else { path };
    let r = validate_path(&path, &strict());
    assert_eq!(r.rows, 1000);
    assert_eq!(rule(&r, "L2").status, "pass");
    assert_eq!(rule(&r, "L4").status, "pass");
    assert_eq!(rule(&r, "S1").status, "pass");
    assert_eq!(
        rule(&r, "S2").status,
        "pass",
        "{:?}",
        rule(&r, "S2").examples
    );
    assert_eq!(rule(&r, "W5").count, 1, "the Id column");
    assert_eq!(rule(&r, "L6").count, 289, "NULL tags");
    let total: ExactSum = r
        .periods
        .iter()
        .map(|p| p.billed_total.parse::<ExactSum>().expect("decimal"))
        .sum();
    assert_eq!(total.to_string(), "20.52022672899");
    assert_eq!(r.periods[1].billed_total, "0.24000000000");
}

#[rstest]
#[case("2025-13-01,,,1,,x", "L3")]
#[case("2025-01-01,,,\"12,50\",,x", "L4")]
#[case("2025-01-01,,,1,abc,x", "L4")]
#[case("2025-01-01,2025-02-30,,1,,x", "L5")]
#[case("2025-01-01,,,1", "L2")]
#[case("2025-01-01,,,1,,{oops", "L6")]
#[case("2025-01-01,,,1,,", "L6")]
fn each_lite_rule_fails_on_its_violation(#[case] row: &str, #[case] id: &str) {
    let (_dir, path) = lite_file(&[&format!("2025-01-01,,,1,,{TAGS}"), row]);
    let r = validate_path(&path, &ValidateOptions::default());
    assert_eq!(rule(&r, id).status, "fail", "{}", render_human(&r, "$"));
    assert_eq!(rule(&r, id).count, 1);
    assert_eq!(rule(&r, id).examples[0].line.as_deref(), Some("line 3"));
    assert!(!r.passed());
}

#[test]
fn warnings_do_not_fail() {
    let (_dir, path) = lite_file(&[
        "2025-01-01,2024-12-01,2025-01-01T05:00:00+02:00,1,,\"{\"\"pi_email\"\": \"\"not-an-email\"\", \"\"fund_org\"\": \"\"bad\"\"}\"",
    ]);
    let options = ValidateOptions {
        review: ocb_core::flags::ReviewRules::compile(&[], &[r"^\d{6}-\d{4}$".to_string()])
            .expect("patterns"),
        ..Default::default()
    };
    let r = validate_path(&path, &options);
    for id in ["W1", "W3", "W4", "W6", "W_PERIOD_END"] {
        assert_eq!(
            rule(&r, id).status,
            "warn",
            "{id}: {}",
            render_human(&r, "$")
        );
    }
    assert_eq!(rule(&r, "W2").status, "pass");
    assert!(r.passed());
    let text = render_human(&r, "$");
    assert!(text.ends_with("Result: PASS (5 warnings)\n"), "{text}");
}

/// SPEC §3.8 (decided 2026-12-07): a row without a `pi_email` tag is warning W0, not the
/// failure L7 it was: ingest keeps such rows flagged, and converters emit unmapped items so.
#[test]
fn missing_pi_email_is_warning_w0() {
    let (_dir, path) = lite_file(&[
        &format!("2025-01-01,,,1,,{TAGS}"),
        "2025-01-01,,,1,,\"{\"\"project_id\"\": \"\"p\"\"}\"",
    ]);
    let r = validate_path(&path, &ValidateOptions::default());
    assert_eq!(rule(&r, "W0").status, "warn", "{}", render_human(&r, "$"));
    assert_eq!(rule(&r, "W0").count, 1);
    assert_eq!(rule(&r, "W0").examples[0].line.as_deref(), Some("line 3"));
    assert!(r.rules.iter().all(|x| x.id != "L7"));
    assert!(r.passed());
}

#[test]
fn missing_tags_column_fails_l1_but_rows_are_checked() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(
        &dir,
        "t.csv",
        "BillingPeriodStart,BilledCost\n2025-01-01,5\n",
    );
    let r = validate_path(&path, &ValidateOptions::default());
    assert_eq!(rule(&r, "L1").status, "fail");
    assert_eq!(rule(&r, "L1").examples[0].message, "missing column Tags");
    assert_eq!(r.periods[0].billed_total, "5");
}

#[rstest]
#[case("BilledCost,Tags\n1,\n", "missing required column BillingPeriodStart")]
#[case("", "the file is empty")]
#[case("\u{0}\u{1}\u{2}binary", "binary content")]
fn file_errors_fail_l1_without_panicking(#[case] text: &str, #[case] want: &str) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(&dir, "bad.csv", text);
    let r = validate_path(&path, &ValidateOptions::default());
    assert_eq!(r.result, "fail");
    assert_eq!(rule(&r, "L1").status, "fail");
    assert!(
        rule(&r, "L1").examples[0].message.contains(want),
        "{:?}",
        rule(&r, "L1")
    );
    assert_eq!(r.rows, 0);
}

#[test]
fn unreadable_path_is_a_report_not_a_panic() {
    let r = validate_path(
        Path::new("/nonexistent/x.parquet"),
        &ValidateOptions::default(),
    );
    assert_eq!(r.kind, "parquet");
    assert_eq!(rule(&r, "L1").status, "fail");
}

/// Issue 16, item 11: a missing file showed PASS for the twelve rules that never ran.
#[rstest]
#[case::missing(None)]
#[case::no_header(Some(""))]
#[case::no_required_column(Some("BilledCost,Tags\n1,\n"))]
fn rules_that_never_ran_are_skipped_not_passed(#[case] text: Option<&str>) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = match text {
        Some(t) => write(&dir, "bad.csv", t),
        None => dir.path().join("missing.csv"),
    };
    let r = validate_path(&path, &strict());
    assert_eq!(rule(&r, "L1").status, "fail");
    let others: Vec<_> = r.rules.iter().filter(|x| x.id != "L1").collect();
    assert!(others.len() > 12, "{others:?}");
    assert!(others.iter().all(|x| x.status == "skipped"), "{others:?}");
    let human = crate::validate::render_human(&r, "$");
    assert!(!human.contains("PASS"), "{human}");
    assert!(
        human.contains("SKIP  L2 well-formed records  not run"),
        "{human}"
    );
    assert!(
        human.contains("Result: FAIL (1 rules failed, 0 warnings)"),
        "{human}"
    );
}

/// A file that opens keeps its passes: only an input that was never read skips rules.
#[test]
fn a_readable_file_has_no_skipped_rule() {
    let (_dir, path) = lite_file(&[]);
    let r = validate_path(&path, &ValidateOptions::default());
    assert!(
        r.rules.iter().all(|x| x.status != "skipped"),
        "{:?}",
        r.rules
    );
}

const STRICT_HEADER: &str = "BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,\
BillingPeriodEnd,BillingPeriodStart,ChargeCategory,ChargeClass,ChargeDescription,ChargePeriodEnd,\
ChargePeriodStart,ContractedCost,EffectiveCost,InvoiceIssuerName,ListCost,PricingQuantity,\
PricingUnit,ServiceProviderName,HostProviderName,ServiceCategory,ServiceName,Tags";

fn strict_row(over: &[(usize, &str)]) -> String {
    let mut cells = vec![
        "1.5",
        "acct",
        "Acct",
        "USD",
        "2025-02-01T00:00:00Z",
        "2025-01-01T00:00:00Z",
        "Usage",
        "",
        "desc",
        "2025-01-02 00:00:00",
        "2025-01-01 00:00:00",
        "1.5",
        "1.5",
        "AWS Inc",
        "2",
        "3",
        "Hours",
        "AWS",
        "AWS",
        "Compute",
        "EC2",
        TAGS,
    ];
    for (i, v) in over {
        cells[*i] = v;
    }
    cells.join(",")
}

#[rstest]
#[case(&[], None)]
#[case(&[(5, "2025-01-01")], Some("S2"))]
#[case(&[(5, "1/1/2025")], Some("S2"))]
#[case(&[(10, "2025-01-01T02:00:00+02:00")], Some("S2"))]
#[case(&[(4, "2025-01-31T00:00:00Z")], Some("S3"))]
#[case(&[(4, "2025-01-31T23:59:59Z")], Some("S3"))]
#[case(&[(9, "2024-12-31 00:00:00")], Some("S4"))]
#[case(&[(6, "usage")], Some("S5"))]
#[case(&[(6, "")], Some("S5"))]
#[case(&[(7, "Regular")], Some("S6"))]
#[case(&[(11, "")], Some("S7"))]
#[case(&[(15, "three")], Some("S7"))]
#[case(&[(3, "usd")], Some("S8"))]
#[case(&[(19, "Cloud")], Some("S9"))]
#[case(&[(1, "NULL")], Some("S10"))]
#[case(&[(17, "")], Some("S10"))]
fn strict_rules_fail_on_their_violation(
    #[case] over: &[(usize, &str)],
    #[case] want: Option<&str>,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let text = format!("{STRICT_HEADER}\n{}\n", strict_row(over));
    let path = write(&dir, "s.csv", &text);
    let r = validate_path(&path, &strict());
    let failed: Vec<&str> = r
        .rules
        .iter()
        .filter(|x| x.status == "fail")
        .map(|x| x.id.as_str())
        .collect();
    assert_eq!(
        failed,
        want.into_iter().collect::<Vec<_>>(),
        "{}",
        render_human(&r, "$")
    );
}

#[test]
fn strict_s1_names_missing_columns_and_w5_unknown_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(
        &dir,
        "lite.csv",
        &format!("BillingPeriodStart,BilledCost,Tags,Weird\n2025-01-01,1,{TAGS},x\n"),
    );
    let r = validate_path(&path, &strict());
    let s1 = rule(&r, "S1");
    assert_eq!(s1.count, 19);
    assert!(s1
        .examples
        .iter()
        .any(|e| e.message == "missing column ProviderName"));
    assert_eq!(rule(&r, "W5").examples[0].column.as_deref(), Some("Weird"));
}

#[test]
fn json_has_the_spec_shape_and_examples_are_capped() {
    let rows: Vec<String> = (0..30).map(|_| "2025-01-01,,,abc,,x".to_string()).collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let (_dir, path) = lite_file(&rows);
    let options = ValidateOptions {
        max_examples: 3,
        ..Default::default()
    };
    let r = validate_path(&path, &options);
    assert_eq!(rule(&r, "L4").count, 30);
    assert_eq!(rule(&r, "L4").examples.len(), 3);
    let json: serde_json::Value = serde_json::to_value(&r).expect("serialise");
    let keys: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["path", "kind", "rows", "profile", "result", "periods", "rules"]
    );
    let rule_keys: Vec<&str> = json["rules"][0]
        .as_object()
        .expect("rule")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(rule_keys, ["id", "name", "status", "count", "examples"]);
    let ex = &json["rules"][3]["examples"][0];
    assert_eq!(ex["line"], "line 2");
    assert_eq!(ex["column"], "BilledCost");
    assert_eq!(ex["value"], "abc");
    assert_eq!(ex["message"], "not a number");
}

#[test]
fn human_output_lists_rules_examples_periods_and_result() {
    let (_dir, path) = lite_file(&[
        &format!("2025-01-01,,,1234.565,,{TAGS}"),
        "2025-01-01,,,\"12,50\",,x",
    ]);
    let text = render_human(&validate_path(&path, &ValidateOptions::default()), "$");
    assert!(
        text.contains("in.csv: csv, 2 rows, lite profile\n"),
        "{text}"
    );
    assert!(
        text.contains("PASS  L1 readable file with header and required columns  0\n"),
        "{text}"
    );
    assert!(text.contains("FAIL  L4 costs are numbers  1\n"), "{text}");
    assert!(
        text.contains("      line 3, BilledCost, \"12,50\": not a number (thousands separators and currency symbols are not allowed)\n"),
        "{text}"
    );
    assert!(
        text.contains("Periods:\n  2025-01  1 rows  $1,234.56\n"),
        "{text}"
    );
    assert!(
        text.ends_with("Result: FAIL (1 rules failed, 0 warnings)\n"),
        "{text}"
    );
}

/// Issue 15, item 2: ten amounts of 28 nines, each accepted alone, overflowed the period sum
/// (`validate` and `validate --strict` exited 101 with a backtrace). Such amounts are now beyond
/// the accepted range: each is a row error naming its line and column, and nothing panics.
#[test]
fn amounts_whose_sums_could_overflow_are_row_errors() {
    let nines = "9999999999999999999999999999";
    let rows: Vec<String> = (0..10)
        .map(|_| format!("2025-01-01,,,{nines},,{TAGS}"))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let (_dir, path) = lite_file(&rows);
    for options in [ValidateOptions::default(), strict()] {
        let r = validate_path(&path, &options);
        let l4 = rule(&r, "L4");
        assert_eq!(
            (l4.status.as_str(), l4.count),
            ("fail", 10),
            "{}",
            render_human(&r, "$")
        );
        assert_eq!(l4.examples[0].line.as_deref(), Some("line 2"));
        assert_eq!(l4.examples[0].column.as_deref(), Some("BilledCost"));
        assert!(
            l4.examples[0].message.contains("out of range"),
            "{:?}",
            l4.examples[0]
        );
    }
}

/// The largest accepted amounts, many of them at fine scales, sum exactly.
#[test]
fn period_totals_of_the_largest_amounts_are_exact() {
    let big = "99999999999999.99999999999999";
    let mut rows: Vec<String> = (0..10)
        .map(|_| format!("2025-01-01,,,{big},,{TAGS}"))
        .collect();
    rows.push(format!("2025-01-01,,,0.0000000000001,,{TAGS}"));
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let (_dir, path) = lite_file(&rows);
    let r = validate_path(&path, &ValidateOptions::default());
    assert!(r.passed(), "{}", render_human(&r, "$"));
    assert_eq!(r.periods[0].billed_total, "1000000000000000.00000000000000");
    assert!(render_human(&r, "$").contains("$1,000,000,000,000,000.00"));
}

/// Issue 17: rows identical in every column are warning W7, naming both lines; the file still
/// passes (ingest keeps both, flagged). A row that differs in one cell is not a copy.
#[test]
fn w7_names_identical_rows() {
    let same = format!("2025-01-01,,,1.50,,{TAGS}");
    let (_dir, path) = lite_file(&[&same, &format!("2025-01-01,,,1.51,,{TAGS}"), &same, &same]);
    let r = validate_path(&path, &ValidateOptions::default());
    let w7 = rule(&r, "W7");
    assert_eq!((w7.status.as_str(), w7.count), ("warn", 2));
    let messages: Vec<&str> = w7.examples.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        ["lines 2 and 4 are identical", "lines 2 and 5 are identical"]
    );
    assert_eq!(w7.examples[0].line.as_deref(), Some("line 4"));
    assert!(r.passed());
}
