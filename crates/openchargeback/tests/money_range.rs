//! Issue 15, items 2, 3 and 7 through the real binary: amounts whose sums overflowed or were
//! rounded, and a database that older versions let such amounts into.

mod common;
use common::*;
use std::process::Output;

const NINES: &str = "9999999999999999999999999999";
const TAGS: &str =
    "\"{\"\"pi_email\"\":\"\"ann@example.edu\"\",\"\"project_id\"\":\"\"p1\"\",\"\"fund_org\"\":\"\"F-1\"\"}\"";

fn file(inst: &Instance, name: &str, costs: &[&str]) -> String {
    let mut text = String::from("BillingPeriodStart,BilledCost,ResourceId,ServiceName,Tags\n");
    for (i, c) in costs.iter().enumerate() {
        text.push_str(&format!("2025-01-01,{c},r{i},Compute,{TAGS}\n"));
    }
    let path = inst.path(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf8").to_string()
}

fn run(inst: &Instance, args: &[&str]) -> Output {
    inst.cmd(args).output().expect("runs")
}

/// Exit status `code`, and no panic or backtrace on either stream.
fn assert_clean(out: &Output, code: i32, what: &str) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(code), "{what}: {all}");
    assert!(
        !all.contains("panicked") && !all.contains("backtrace"),
        "{what}: {all}"
    );
}

/// Item 2: ten amounts of 28 nines made validate, validate --strict and ingest exit 101.
#[test]
fn amounts_beyond_the_range_are_row_errors_not_panics() {
    let inst = Instance::new();
    let f = file(&inst, "big.csv", &[NINES; 10]);
    for args in [vec!["validate", &f], vec!["validate", &f, "--strict"]] {
        let out = run(&inst, &args);
        assert_clean(&out, 1, "validate");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("line 2") && text.contains("out of range"),
            "{text}"
        );
    }
    let out = run(&inst, &["ingest", &f, "--source", "AWS"]);
    assert_clean(&out, 1, "ingest");
    let out = run(
        &inst,
        &["ingest", &f, "--source", "AWS", "--skip-invalid", "--json"],
    );
    assert_clean(&out, 0, "ingest --skip-invalid");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let r = &report["files"][0];
    assert_eq!(
        (r["rows_read"].as_u64(), r["rejected"].as_u64()),
        (Some(10), Some(10))
    );
    assert_eq!(r["errors"][0]["line"], "line 2");
    assert_eq!(r["errors"][0]["column"], "BilledCost");
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 0);
}

/// Item 3: two sources with four such rows each both committed, and then every total failed.
/// Now both are refused, and a database an older version filled with them still works: every
/// listing shows exact figures, `db check` names the charges, statements and journals refuse
/// with a message instead of panicking.
#[test]
fn a_database_with_amounts_beyond_the_range_stays_usable() {
    let inst = Instance::new();
    for source in ["AWS", "Azure"] {
        let f = file(&inst, &format!("{source}.csv"), &[NINES; 4]);
        assert_clean(
            &run(&inst, &["ingest", &f, "--source", source]),
            1,
            "ingest",
        );
        let ok = file(&inst, &format!("{source}-ok.csv"), &["1.00"; 4]);
        assert_clean(
            &run(&inst, &["ingest", &ok, "--source", source]),
            0,
            "ingest",
        );
    }
    // What an earlier version let in: eight charges of 28 nines.
    let conn = rusqlite::Connection::open(inst.db()).expect("open");
    conn.execute("UPDATE charges SET billed_cost = ?1", [NINES])
        .expect("legacy amounts");
    drop(conn);
    let out = run(&inst, &["periods", "list", "--json"]);
    assert_clean(&out, 0, "periods list");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("79999999999999999999999999992"),
        "exact total: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_clean(
        &run(&inst, &["show", "ann@example.edu", "--period", "2025-01"]),
        0,
        "show",
    );
    let check = run(&inst, &["db", "check"]);
    assert_clean(&check, 1, "db check");
    assert!(String::from_utf8_lossy(&check.stderr).contains("beyond the accepted range"));
    for args in [
        vec!["export-journal", "-p", "2025-01"],
        vec!["generate", "--period", "2025-01"],
    ] {
        let out = run(&inst, &args);
        assert_clean(&out, 1, args[0]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("beyond the accepted range"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Item 7: `Decimal` rounded this line's exact sum to 28 digits, losing the half cent that
/// makes it round up.
#[test]
fn a_billing_line_of_large_and_fine_amounts_rounds_from_its_exact_sum() {
    let inst = Instance::new();
    let f = file(
        &inst,
        "line.csv",
        &["99999999999999", "0.00500000000000001"],
    );
    assert_clean(&run(&inst, &["ingest", &f, "--source", "AWS"]), 0, "ingest");
    let out = run(&inst, &["export-journal", "-p", "2025-01", "--output", "-"]);
    assert_clean(&out, 0, "export-journal");
    let journal = String::from_utf8_lossy(&out.stdout);
    assert!(journal.contains("99999999999999.01"), "{journal}");
    let out = run(&inst, &["periods", "list", "--json"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("99999999999999.00500000000000001"),
        "the exact total is stored whole"
    );
}
