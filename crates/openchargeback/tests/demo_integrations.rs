//! `demo` converts raw exports too (issue 5): the demo month holds Slurm, Isilon, Qumulo, Azure
//! Local and OpenAI charges made by the built-in converters, ingested as their own sources.
//!
//! The expected figures are NOT taken from the program. The converter totals are the golden
//! figures of INTEGRATIONS.md §4 (4.1 slurm 21.72 / 13.72, 4.3 isilon 78.91 / 60.36, 4.4 qumulo
//! 921.60 / 738.25, 4.5 azure-local 1709.68 / 979.84) — the demo converts those fixtures — and
//! for the demo's own OpenAI month (demo/integrations/openai) this Python, with $0.05 per credit,
//! half-even cents and a $25 per-project fiscal-year cap applied in date order:
//!
//! ```text
//! from decimal import Decimal as D, ROUND_HALF_EVEN as H
//! cost = [(p, (D(c) / 20).quantize(D('0.01'), H)) for p, c in [('g','120'), ('g','310.5'),
//!         ('g','150'), ('q','64.3'), ('q','412'), ('g','95'), ('q','200')]]
//! # Σ cost = 67.59 (the billed total: usage + subsidy rows), Σ subsidy = 25 + 25 = 50.00
//! # (list = 67.59 + 50.00); 7 usage rows + 6 subsidy rows (the 1/27 item is past the cap)
//! ```
//!
//! The unmapped rows of the fixtures (slurm mysteryPrj 0.06, isilon unknown-lab 5.12, azure-local
//! student-sandbox 100.00) ingest flagged `missing_pi_email` and stay out of the billable total:
//! 20,177.00 (the five FOCUS samples) + (13.72 − 0.06) + (60.36 − 5.12) + 738.25 +
//! (979.84 − 100.00) + 67.59 = 21,931.58.
mod common;

use ocb_core::Decimal;
use std::path::Path;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

/// (ListCost, BilledCost, rows, Σ BilledCost of rows with an empty pi_email) of a lite CSV.
fn csv_totals(path: &Path) -> (Decimal, Decimal, usize, Decimal) {
    let mut rdr = csv::Reader::from_path(path).expect("csv");
    let h = rdr.headers().expect("header").clone();
    let col = |n: &str| h.iter().position(|c| c == n).expect("column");
    let (list, billed, tags) = (col("ListCost"), col("BilledCost"), col("Tags"));
    let mut t = (Decimal::ZERO, Decimal::ZERO, 0, Decimal::ZERO);
    for r in rdr.records() {
        let r = r.expect("record");
        t.0 += d(&r[list]);
        t.1 += d(&r[billed]);
        t.2 += 1;
        let tags: serde_json::Value = serde_json::from_str(&r[tags]).expect("tags");
        if tags["pi_email"] == "" {
            t.3 += d(&r[billed]);
        }
    }
    t
}

#[test]
fn the_demo_month_includes_the_converted_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .current_dir(dir.path())
        .args(["--json", "demo"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let data = dir.path().join("openchargeback-demo/data");
    // (file, source, list, billed, rows, unmapped billed) — figures from the module comment.
    let expected = [
        ("slurm_2025-01.csv", "Slurm", "21.72", "13.72", 6, "0.06"),
        ("isilon_2025-01.csv", "Isilon", "78.91", "60.36", 4, "5.12"),
        ("qumulo_2025-01.csv", "Qumulo", "921.60", "738.25", 4, "0"),
        (
            "azure-local_2025-01.csv",
            "Azure Local",
            "1709.68",
            "979.84",
            6,
            "100.00",
        ),
        (
            "openai-tokens_2025-01.csv",
            "OpenAI",
            "117.59",
            "67.59",
            13,
            "0",
        ),
    ];
    let imports = json["imports"].as_array().expect("imports");
    for (file, source, list, billed, rows, unmapped) in expected {
        let got = csv_totals(&data.join(file));
        assert_eq!(got, (d(list), d(billed), rows, d(unmapped)), "{file}");
        let import = imports
            .iter()
            .find(|i| i["filename"] == file)
            .unwrap_or_else(|| panic!("{file} not imported: {json}"));
        assert_eq!(import["source"], source, "{file}");
        assert_eq!(import["rows_read"], rows, "{file}");
        assert_eq!(import["rejected"], 0, "{file}");
        assert_eq!(d(import["total_cost"].as_str().expect("total")), d(billed));
    }
    assert_eq!(imports.len(), 10);
    assert_eq!(
        json["period"]["billable_total"], "21931.58",
        "{}",
        json["period"]
    );

    // Exactly the unmapped rows are stored flagged missing_pi_email; the demo's review rejects
    // them back to their service team, so the closed month has no pending flag (issue 16, 12).
    let db = dir.path().join("openchargeback-demo/billing.db");
    let conn = rusqlite::Connection::open(db).expect("db");
    let mut stmt = conn
        .prepare(
            "SELECT c.resource_id FROM charges c JOIN sources s ON s.id = c.source_id
             WHERE c.flag_reasons LIKE '%missing_pi_email%' AND c.review_state = 'rejected'
             ORDER BY c.resource_id",
        )
        .expect("prepare");
    let held: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    assert_eq!(
        held,
        [
            "azure-local:student-sandbox",
            "isilon:/ifs/research/unknown-lab",
            "slurm:mysteryPrj:def"
        ]
    );
    // The OpenAI subsidy ledger of the demo month, for re-running `convert openai` by hand.
    let ledger = std::fs::read_to_string(data.join("integrations/openai-subsidy-ledger.json"))
        .expect("ledger");
    assert!(ledger.contains(r#""subsidized": "25.00""#), "{ledger}");
}

/// Issue 16, item 8: the OpenAI converter bills the provost's $25 subsidy of genomics-sequencing as
/// a row of its own (charged to PROVOST-AI-2025), while the usage rows carry the full list price
/// with that $25 as their discount. The statement counted both: list price $2,778.77 against
/// $2,753.77 of usage, and $25 the provost pays in the amount due. Expected figures, from the
/// statement before the fix: list 2,778.77 − 25.00 = 2,753.77; amount due 2,341.52 − 25.00 =
/// 2,316.52. The journal still debits PROVOST-AI-2025 with both projects' subsidies (2 × 25.00).
#[test]
fn issue16_subsidised_openai_usage_is_on_the_statement_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .current_dir(dir.path())
        .args(["--json", "demo"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let demo = dir.path().join("openchargeback-demo");
    let conn = rusqlite::Connection::open(demo.join("billing.db")).expect("db");
    let (total, list, data): (String, String, String) = conn
        .query_row(
            "SELECT total, total_list, template_data FROM statements
             WHERE pi_email = 'zorp.blinkman@example.edu' AND project_id = 'genomics-sequencing'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("statement");
    assert_eq!((d(&list), d(&total)), (d("2753.77"), d("2316.52")));
    let data: serde_json::Value = serde_json::from_str(&data).expect("data");
    assert_eq!(data["totals"]["discount"]["amount"], "437.25");
    assert_eq!(data["fund_orgs"], serde_json::json!(["BIO-2024-001"]));
    assert!(
        data["charges"]
            .as_array()
            .expect("charges")
            .iter()
            .all(|c| c["fund_org"] != "PROVOST-AI-2025"),
        "no subsidy payment among the charge details"
    );
    if common::have_poppler() {
        let pdf = demo.join("output/pdfs/2025-01_zorp.blinkman_genomics-sequencing.pdf");
        let text = std::process::Command::new("pdftotext")
            .args(["-layout"])
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("Amount due: $2,316.52"), "{text}");
        assert!(!text.contains("$2,778.77"), "{text}");
        assert!(!text.contains("PROVOST"), "{text}");
    }
    let journals = std::fs::read_dir(demo.join("output/journals"))
        .expect("journals")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().contains("_gl_"))
        .expect("a GL journal");
    let journal = std::fs::read_to_string(journals).expect("journal");
    assert!(
        journal
            .lines()
            .any(|l| l.contains("debit,PROVOST-AI-2025,") && l.contains(",50.00,")),
        "{journal}"
    );
}
