//! `export-journal` through the real binary on the upstream 2025-01 samples (issue 4).

mod common;
use common::*;
use ocb_core::Decimal;
use predicates::str::contains;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

const SOURCES: &str = "imports:
  known_sources:
    - {name: AWS, pattern: aws, fund_org: IT-CLOUD-AWS, account_code: \"54100\"}
    - {name: Azure, pattern: azure, fund_org: IT-CLOUD-AZURE, account_code: \"54110\"}
    - {name: HPC, pattern: hpc, fund_org: IT-HPC-SERVICES, account_code: \"54200\"}
    - {name: Storage, pattern: storage, fund_org: IT-STORAGE, account_code: \"54300\"}
    - {name: IT Storage, pattern: it_storage, fund_org: IT-SECURE-STORAGE}
journal:
  default_account: \"50000\"
";

fn stdout(inst: &Instance, args: &[&str]) -> String {
    let out = inst.cmd(args).output().expect("run");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|_| panic!("decimal {s:?}"))
}

/// The `default` rows computed straight from the input files: group by (PI, project, fund/org,
/// service), exact sum rounded half-even, distinct resource ids.
fn independent_default() -> Vec<String> {
    type Key = (String, String, String, String);
    let mut groups: BTreeMap<Key, (Decimal, BTreeSet<String>)> = BTreeMap::new();
    for (file, _) in JAN_2025 {
        let mut rdr = csv::Reader::from_path(sample(file)).expect("sample");
        let headers = rdr.headers().expect("headers").clone();
        let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
        for rec in rdr.records() {
            let rec = rec.expect("record");
            let tags: serde_json::Value = serde_json::from_str(&rec[col("Tags")]).expect("tags");
            let tag = |k: &str| {
                tags.get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            let project = Some(tag("project_id"))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "(no project)".into());
            let service = Some(rec[col("ServiceName")].to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Other".into());
            let key = (
                tag("pi_email").to_lowercase(),
                project,
                tag("fund_org"),
                service,
            );
            let g = groups.entry(key).or_default();
            g.0 += d(&rec[col("BilledCost")]);
            g.1.insert(rec[col("ResourceId")].to_string());
        }
    }
    groups
        .into_iter()
        .map(|((pi, project, fund, service), (sum, resources))| {
            let amount = ocb_core::amount::Rounding::HalfEven.cents(sum);
            format!(
                "2025-01,{pi},{project},{fund},{service},{amount:.2},{}",
                resources.len()
            )
        })
        .collect()
}

#[test]
fn default_format_equals_an_independent_group_by_of_the_inputs() {
    let inst = january("");
    let csv = stdout(&inst, &["export-journal", "-p", "2025-01", "-o", "-"]);
    let mut lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines.pop(), Some(""), "CRLF after the last row");
    assert_eq!(
        lines[0],
        "BillingPeriod,PIEmail,ProjectID,FundOrg,ServiceName,Amount,ResourceCount"
    );
    let expected = independent_default();
    assert_eq!(expected.len(), 45);
    assert_eq!(lines[1..].to_vec(), expected);
}

#[test]
fn gl_debits_equal_credits_equal_the_period_total() {
    let inst = january(SOURCES);
    let (code, rec) = inst.json(&["export-journal", "-p", "2025-01", "-f", "gl"]);
    assert_eq!(code, 0, "{rec}");
    assert_eq!(rec["debit_total"], "20227.00");
    assert_eq!(rec["credit_total"], "20227.00");
    assert_eq!(rec["total"], "20227.00");
    let path = rec["path"].as_str().expect("stored path");
    let name = rec["file_name"].as_str().expect("name");
    assert!(
        name.starts_with("journal_2025-01_") && name.ends_with(".csv"),
        "{name}"
    );
    let csv = std::fs::read_to_string(path).expect("journal file");
    let (mut dr, mut cr) = (Decimal::ZERO, Decimal::ZERO);
    for line in csv.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), 11, "{line}");
        if !cols[8].is_empty() {
            dr += d(cols[8]);
        }
        if !cols[9].is_empty() {
            cr += d(cols[9]);
        }
    }
    assert_eq!((dr, cr), (d("20227.00"), d("20227.00")));
    assert!(
        csv.contains(
            ",credit,IT-CLOUD-AWS,CLOUD-AWS,IT,54100,AWS,AWS 2025-01 Research Computing Charges,,"
        ),
        "{csv}"
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event = 'export.journal'"),
        1
    );
    // The export log (SPEC §10.11) has the row the web UI lists, with the stored path.
    let log_id = rec["log_id"].as_i64().expect("log id");
    assert_eq!(
        inst.sql_count(&format!(
            "SELECT count(*) FROM journal_exports WHERE id = {log_id} AND format = 'gl' AND channel = 'cli'
               AND debit_total = '20227.00' AND credit_total = '20227.00' AND row_count > 0
               AND stored_path = '{path}' AND sha256 != ''"
        )),
        1
    );
}

#[test]
fn template_format_uses_the_embedded_default_and_an_instance_template() {
    let inst = january(SOURCES);
    let out = stdout(
        &inst,
        &[
            "export-journal",
            "-p",
            "2025-01",
            "-f",
            "template",
            "-o",
            "-",
            "--include-flagged",
        ],
    );
    assert!(out.starts_with("Fund,Orgn,Account,Program,Activity,Location,Debit,Credit,Description (35 Characters maximum),Reference ID\n"));
    assert!(out.contains(",IT,54100,,,,,"), "{out}");
    std::fs::create_dir_all(inst.path("templates")).expect("dir");
    std::fs::write(
        inst.path("templates/journal_gl.csv"),
        "{% for e in entries %}{{ e.reference_id }};{{ \"%.2f\"|format(e.amount) }}\n{% endfor %}",
    )
    .expect("template");
    let custom = stdout(
        &inst,
        &[
            "export-journal",
            "-p",
            "2025-01",
            "-f",
            "template",
            "-o",
            "-",
        ],
    );
    assert!(custom.starts_with("2025-01-0001;"), "{custom}");
}

#[test]
fn errors_unknown_format_and_missing_period() {
    let inst = january(SOURCES);
    inst.cmd(&["export-journal", "-p", "2025-01", "-f", "banner"])
        .assert()
        .code(2);
    inst.cmd(&["export-journal", "-p", "2025-13"])
        .assert()
        .code(2);
    inst.cmd(&["export-journal", "-p", "2024-12"])
        .assert()
        .code(1)
        .stderr(contains("Billing period 2024-12 not found"));
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event = 'export.failed'"),
        1
    );
    assert!(
        !inst.path("out/journals").exists()
            || std::fs::read_dir(inst.path("out/journals"))
                .expect("dir")
                .next()
                .is_none()
    );
}

/// Issue 17: an unchanged upstream config (no credit fund/orgs) exports `gl` and `template`
/// journals crediting CLOUD-CLEARING, balanced, with a warning on stderr naming the sources;
/// `gl-upstream` has the Python web export's columns and a single clearing credit.
#[test]
fn issue_17_unconfigured_sources_are_credited_to_cloud_clearing() {
    let inst = january("");
    let warning = "Sources 'AWS', 'Azure', 'HPC', 'IT Storage', 'Storage' have no credit fund/org: credited to CLOUD-CLEARING";
    for format in ["gl", "template", "gl-upstream"] {
        let out = inst
            .cmd(&["export-journal", "-p", "2025-01", "-f", format, "-o", "-"])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{format}: {stderr}");
        assert!(stderr.contains(warning), "{format}: {stderr}");
        let csv = String::from_utf8(out.stdout).expect("utf8");
        // The template splits a fund/org into its Orgn (before the first '-') and Fund.
        let credit = match format {
            "template" => "CLEARING,CLOUD,",
            _ => "CLOUD-CLEARING",
        };
        assert!(csv.contains(credit), "{format}: {csv}");
    }
    let upstream = stdout(
        &inst,
        &[
            "export-journal",
            "-p",
            "2025-01",
            "-f",
            "gl-upstream",
            "-o",
            "-",
        ],
    );
    let rows: Vec<&str> = upstream.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(rows[0], "period,account,description,debit,credit");
    let credits: Vec<&&str> = rows[1..]
        .iter()
        .filter(|r| r.split(',').nth(3) == Some(""))
        .collect();
    assert_eq!(credits.len(), 1, "{upstream}");
    assert!(credits[0].starts_with("2025-01,CLOUD-CLEARING,Cloud computing charges - 2025-01,,"));
    let sum = |col: usize| -> Decimal {
        rows[1..]
            .iter()
            .map(|r| r.split(',').nth(col).unwrap_or(""))
            .filter(|v| !v.is_empty())
            .map(d)
            .sum()
    };
    assert_eq!(sum(3), sum(4), "{upstream}");
    let (_, gl) = inst.json(&["export-journal", "-p", "2025-01", "-f", "gl", "-o", "g.csv"]);
    assert_eq!(gl["debit_total"], gl["credit_total"]);
}

#[test]
fn standard_and_summary_formats_flagged_charges_and_open_period_warning() {
    let inst = january("review:\n  flag_patterns: [\"gpu\"]\n");
    let (_, billable) = inst.json(&[
        "export-journal",
        "-p",
        "2025-01",
        "-f",
        "summary",
        "-o",
        "b.csv",
    ]);
    let held = d(billable["total"].as_str().expect("total"));
    assert!(
        held < d("20227.00"),
        "GPU charges are held for review: {held}"
    );
    let out = inst
        .cmd(&[
            "export-journal",
            "-p",
            "2025-01",
            "-f",
            "standard",
            "-o",
            "std.csv",
            "--include-flagged",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("period is open; figures may change"));
    let std_csv = std::fs::read_to_string(inst.path("std.csv")).expect("file");
    assert!(std_csv.starts_with("period,pi_email,project_id,fund_org,service_name,resource_id,resource_name,billed_cost,list_cost,discount_amount,source,charge_period_start,charge_period_end,cost_center,reference_1,reference_2,charge_id\r\n"));
    assert_eq!(
        std_csv.split("\r\n").filter(|l| !l.is_empty()).count() - 1,
        inst.sql_count("SELECT count(*) FROM charges") as usize
    );
    let summary = stdout(
        &inst,
        &[
            "export-journal",
            "-p",
            "2025-01",
            "-f",
            "summary",
            "-o",
            "-",
            "--include-flagged",
        ],
    );
    let total: Decimal = summary
        .split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| d(l.split(',').nth(4).expect("total_cost")))
        .sum();
    assert_eq!(total, d("20227.00"));
}

#[test]
fn demo_exports_balanced_gl_and_template_journals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .current_dir(dir.path())
        .arg("demo")
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let journals: Vec<&str> = text.lines().filter(|l| l.starts_with("Journal:")).collect();
    assert_eq!(journals.len(), 2, "{text}");
    assert!(
        journals[0].contains("_gl_") && journals[1].contains("_template_"),
        "{text}"
    );
    for j in journals {
        // The demo's billable total (tests/demo_integrations.rs derives 21,931.58).
        assert!(j.contains("debits = credits = $21,931.58"), "{j}");
        let path = j
            .trim_start_matches("Journal:")
            .trim()
            .split(" (")
            .next()
            .expect("path");
        assert!(std::path::Path::new(path).is_file(), "{path}");
        // Recorded in the export log, so `demo --serve` shows it on /journal/logs.
        let db = dir.path().join("openchargeback-demo/billing.db");
        let conn = rusqlite::Connection::open(db).expect("db");
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM journal_exports WHERE stored_path = ?1",
                [path],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(n, 1, "{path}");
    }
}
