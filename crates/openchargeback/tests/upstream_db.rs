//! `db import-upstream` and opening a foreign database (issue 17): a Python OpenChargeback
//! database built from the checked-in upstream schema (versions 10 and 8), imported through the
//! real binary and checked through the binary's own commands.

mod common;

use common::Instance;
use predicates::str::contains;
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const SCHEMA_V10: &str = include_str!("fixtures/upstream/schema_v10.sql");
const SCHEMA_V8: &str = include_str!("fixtures/upstream/schema_v8.sql");
const PASSWORD: &str = "Upstream-pass1!";

/// One charge of the fixture, as both the FOCUS file and the Python database hold it.
struct Row {
    id: i64,
    period_id: i64,
    resource: &'static str,
    day: &'static str,
    billed: f64,
    pi: &'static str,
    project: &'static str,
    fund: Option<&'static str>,
}

const ROWS: [Row; 5] = [
    Row {
        id: 1,
        period_id: 1,
        resource: "i-approved",
        day: "2025-01-03",
        billed: 12.34,
        pi: "ann@example.edu",
        project: "p1",
        fund: Some("123456-1234"),
    },
    Row {
        id: 2,
        period_id: 1,
        resource: "i-flagged",
        day: "2025-01-04",
        billed: 5.5,
        pi: "ann@example.edu",
        project: "p1",
        fund: None,
    },
    Row {
        id: 3,
        period_id: 1,
        resource: "i-rejected",
        day: "2025-01-05",
        billed: 7.0,
        pi: "bob@example.edu",
        project: "p2",
        fund: Some("123456-1234"),
    },
    Row {
        id: 4,
        period_id: 1,
        resource: "i-plain",
        day: "2025-01-06",
        billed: 0.1 + 0.2,
        pi: "bob@example.edu",
        project: "p2",
        fund: Some("123456-1234"),
    },
    Row {
        id: 5,
        period_id: 2,
        resource: "i-feb",
        day: "2025-02-02",
        billed: 1.0 / 3.0,
        pi: "ann@example.edu",
        project: "p1",
        fund: Some("123456-1234"),
    },
];

fn tags(r: &Row) -> String {
    match r.fund {
        Some(f) => format!(
            r#"{{"pi_email": "{}", "project_id": "{}", "fund_org": "{f}"}}"#,
            r.pi, r.project
        ),
        None => format!(
            r#"{{"pi_email": "{}", "project_id": "{}"}}"#,
            r.pi, r.project
        ),
    }
}

fn next_day(day: &str) -> String {
    let d: u32 = day[8..].parse().expect("day");
    format!("{}{:02}", &day[..8], d + 1)
}

/// The FOCUS file the Python project imported (January and February), amounts as SQLite prints them.
fn focus_csv(path: &Path) {
    let mut out = String::from("BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BilledCost,ListCost,ResourceId,ResourceName,ServiceName,Tags\n");
    for r in &ROWS {
        let (start, end) = if r.period_id == 1 {
            ("2025-01-01", "2025-02-01")
        } else {
            ("2025-02-01", "2025-03-01")
        };
        let billed = Connection::open_in_memory()
            .expect("db")
            .query_row("SELECT CAST(?1 AS TEXT)", [r.billed], |x| {
                x.get::<_, String>(0)
            })
            .expect("cast");
        out.push_str(&format!(
            "{start},{end},{},{},{billed},{billed},{},node {},Amazon EC2,\"{}\"\n",
            r.day,
            next_day(r.day),
            r.resource,
            r.resource,
            tags(r).replace('"', "\"\"")
        ));
    }
    std::fs::write(path, out).expect("write csv");
}

/// A Python OpenChargeback database of `schema` with the fixture's rows (see `ROWS`).
fn python_db(dir: &Path, schema: &str) -> PathBuf {
    let path = dir.join("instance").join("billing.db");
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let conn = Connection::open(&path).expect("create");
    conn.execute_batch(schema).expect("schema");
    let v10 = schema.contains("rejection_note");
    conn.execute_batch(
        "INSERT INTO sources (id, name, display_name, source_type, enabled, created_at) VALUES (1, 'AWS', 'Amazon Web Services', 'file', 1, '2025-01-02 09:00:00');
         INSERT INTO billing_periods (id, period, status, opened_at, closed_at, closed_by, notes)
              VALUES (1, '2025-01', 'closed', '2025-01-02 09:00:00', '2025-02-05 10:00:00.123456', 'alice', 'January checked');
         INSERT INTO billing_periods (id, period, status, opened_at) VALUES (2, '2025-02', 'open', '2025-02-01 08:00:00');
         INSERT INTO imports (id, filename, source_id, billing_period_id, row_count, total_cost, flagged_rows, flagged_cost, imported_at)
              VALUES (1, 'aws_2025-01.csv', 1, 1, 4, 25.14, 1, 5.5, '2025-02-01 12:00:00');",
    )
    .expect("rows");
    for r in &ROWS {
        charge(&conn, r, v10);
    }
    conn.execute_batch(
        "INSERT INTO review_logs (billing_period_id, charge_id, action, pi_email, resource_id, amount, performed_at, performed_by)
              VALUES (1, 1, 'approved', 'ann@example.edu', 'i-approved', 12.34, '2025-02-03 10:00:00', 'alice');
         INSERT INTO review_logs (billing_period_id, charge_id, action, pi_email, resource_id, amount, note, performed_at, performed_by)
              VALUES (1, 3, 'rejected', 'bob@example.edu', 'i-rejected', 7.0, 'not ours', '2025-02-03 10:05:00', 'alice');
         INSERT INTO journal_exports (billing_period_id, format, include_flagged, row_count, total_cost, exported_at, exported_by, filename)
              VALUES (1, 'gl', 0, 4, 12.64, '2025-02-06 09:00:00', 'alice', 'journal_2025-01.csv');",
    )
    .expect("logs");
    statements(&conn, dir, v10);
    let hash = bcrypt::hash(PASSWORD, 4).expect("hash");
    conn.execute(
        "INSERT INTO users (username, email, display_name, password_hash, role, is_config_user, created_at)
         VALUES ('alice', 'alice@example.edu', 'Alice', ?1, 'admin', 0, '2025-01-01 00:00:00'),
                ('cfgadmin', 'cfg@example.edu', 'Config', ?1, 'admin', 1, '2025-01-01 00:00:00')",
        [hash],
    )
    .expect("users");
    path
}

fn charge(conn: &Connection, r: &Row, v10: bool) {
    let (needs, reviewed_at, rejected) = match r.id {
        1 => (0, Some("2025-02-03 10:00:00"), false),
        2 => (1, None, false),
        3 => (0, None, true),
        _ => (0, None, false),
    };
    if rejected && !v10 {
        return; // before schema 9 a rejected charge was deleted
    }
    conn.execute(
        "INSERT INTO charges (id, billing_period_id, source_id, charge_period_start, charge_period_end, list_cost, billed_cost,
                              resource_id, resource_name, service_name, pi_email, project_id, fund_org, raw_tags, needs_review,
                              review_reason, reviewed_at, reviewed_by, imported_at)
         VALUES (?1, ?2, 1, ?3, ?4, ?5, ?5, ?6, ?7, 'Amazon EC2', ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, '2025-02-01 12:00:00')",
        params![r.id, r.period_id, r.day, next_day(r.day), r.billed, r.resource, format!("node {}", r.resource), r.pi, r.project,
            r.fund, tags(r), needs, (needs == 1).then_some("Missing fund_org"), reviewed_at, reviewed_at.map(|_| "alice"), ],
    )
    .expect("charge");
    if rejected {
        conn.execute(
            "UPDATE charges SET rejected_at = '2025-02-03 10:05:00', rejected_by = 'alice', rejection_note = 'not ours' WHERE id = ?1",
            [r.id],
        )
        .expect("reject");
    }
}

/// Ann's statement has its PDF on disk (instance-relative path); Bob's file is gone.
fn statements(conn: &Connection, dir: &Path, v10: bool) {
    let pdfs = dir.join("instance").join("statements");
    std::fs::create_dir_all(&pdfs).expect("mkdir");
    std::fs::write(pdfs.join("ann.pdf"), b"%PDF-1.4 ann").expect("pdf");
    let (cols, vals) = if v10 {
        (", project_id, fund_org", ", 'p1', '123456-1234'")
    } else {
        ("", "")
    };
    conn.execute_batch(&format!(
        "INSERT INTO statements (id, billing_period_id, pi_email{cols}, total_cost, project_count, generated_at, sent_at, pdf_path)
              VALUES (1, 1, 'ann@example.edu'{vals}, 12.34, 1, '2025-02-05 11:00:00', '2025-02-05 12:00:00', 'statements/ann.pdf');
         INSERT INTO statements (id, billing_period_id, pi_email{cols}, total_cost, project_count, generated_at, pdf_path)
              VALUES (2, 1, 'bob@example.edu'{}, 0.3, 1, '2025-02-05 11:00:00', '/nonexistent/bob.pdf');
         INSERT INTO email_logs (statement_id, recipient, subject, sent_at, sent_by, status)
              VALUES (1, 'ann@example.edu', 'Statement 2025-01', '2025-02-05 12:00:00', 'alice', 'success');",
        if v10 { ", 'p2', '123456-1234'" } else { "" }
    ))
    .expect("statements");
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

fn side_files(path: &Path) -> Vec<String> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| format!("{}{s}", path.display()))
        .filter(|p| Path::new(p).exists())
        .collect()
}

fn import(inst: &Instance, src: &Path) -> serde_json::Value {
    let (code, report) = inst.json(&["db", "import-upstream", &src.display().to_string()]);
    assert_eq!(code, 0, "{report}");
    report
}

#[test]
fn import_upstream_v10_carries_periods_reviews_statements_and_users() {
    let inst = Instance::new();
    let src = python_db(inst.dir.path(), SCHEMA_V10);
    let before = sha256(&src);
    let report = import(&inst, &src);
    assert_eq!(sha256(&src), before, "the Python database must not change");
    assert!(side_files(&src).is_empty(), "{:?}", side_files(&src));
    assert_eq!(report["schema_version"], 10);
    assert_eq!(report["brought_over"]["charges"], 5, "{report}");
    assert_eq!(report["brought_over"]["statement PDFs"], 1, "{report}");
    let lost = report["not_brought_over"].to_string();
    assert!(lost.contains("no longer on disk"), "{lost}");
    assert!(lost.contains("managed in config.yaml"), "{lost}");
    assert!(lost.contains("dropped or collapsed"), "{lost}");
    // SQLite's text of 0.1 + 0.2 and of 1/3 (list and billed cost each): 17 significant digits.
    assert_eq!(report["precise_amount_count"], 4, "{report}");

    let (_, periods) = inst.json(&["periods", "list"]);
    let items = periods["items"].as_array().expect("items");
    let jan = items
        .iter()
        .find(|p| p["period"] == "2025-01")
        .expect("2025-01");
    let feb = items
        .iter()
        .find(|p| p["period"] == "2025-02")
        .expect("2025-02");
    assert_eq!(jan["status"], "closed");
    assert_eq!(jan["closed_by"], "alice");
    assert_eq!(jan["closed_at"], "2025-02-05T10:00:00Z");
    assert_eq!(jan["latest_note"], "January checked");
    assert_eq!(feb["status"], "open");
    // Billable: the approved 12.34 and the plain 0.30000000000000004 (SQLite's text of 0.1 + 0.2).
    assert_eq!(jan["billable_count"], 2, "{jan}");
    assert_eq!(jan["billable_total"], "12.64000000000000004", "{jan}");
    assert_eq!(jan["flagged_count"], 1, "{jan}");
    assert_eq!(feb["billable_total"], "0.33333333333333332", "{feb}");

    let (_, show) = inst.json(&["show", "bob@example.edu", "--period", "2025-01"]);
    assert_eq!(
        show["total"], "0.30000000000000004",
        "the rejected 7.00 is not billable: {show}"
    );
    let (_, queue) = inst.json(&["review", "list", "--period", "2025-01"]);
    assert_eq!(queue["total"], 1, "{queue}");
    assert_eq!(queue["items"][0]["resource_id"], "i-flagged", "{queue}");
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges WHERE review_state = 'rejected' AND review_note = 'not ours' AND reviewed_by = 'alice'"), 1);
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges WHERE review_state = 'approved' AND reviewed_by = 'alice'"), 1);
    assert_eq!(inst.sql_count("SELECT count(*) FROM review_log"), 2);

    assert_eq!(
        inst.sql_count(
            "SELECT count(*) FROM statements WHERE period = '2025-01' AND kind = 'final'"
        ),
        2
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM statements WHERE sent_at IS NOT NULL"),
        1
    );
    assert_eq!(inst.sql_count("SELECT count(*) FROM email_log"), 1);
    assert_eq!(inst.sql_count("SELECT count(*) FROM journal_exports"), 1);
    let pdf = inst.path("out/pdfs/2025-01_ann_p1.pdf");
    assert_eq!(std::fs::read(&pdf).expect("copied PDF"), b"%PDF-1.4 ann");

    // No `users list` command yet: the table itself.
    assert_eq!(inst.sql_count("SELECT count(*) FROM users WHERE username = 'alice' AND role = 'admin' AND config_managed = 0"), 1);
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM users WHERE username = 'cfgadmin'"),
        0,
        "config users stay from config"
    );
    let conn = Connection::open(inst.db()).expect("open");
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM users WHERE username = 'alice'",
            [],
            |r| r.get(0),
        )
        .expect("hash");
    assert!(
        bcrypt::verify(PASSWORD, &hash).expect("bcrypt"),
        "the password keeps working"
    );

    inst.cmd(&["db", "check"]).assert().success();
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event = 'db.imported_upstream'"),
        1
    );
}

#[test]
fn import_upstream_v8_without_later_columns() {
    let inst = Instance::new();
    let src = python_db(inst.dir.path(), SCHEMA_V8);
    let report = import(&inst, &src);
    assert_eq!(report["schema_version"], 8);
    assert_eq!(
        report["brought_over"]["charges"], 4,
        "the rejected charge was deleted upstream: {report}"
    );
    assert!(
        report["not_brought_over"]
            .to_string()
            .contains("deleted rejected charges"),
        "{report}"
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM statements WHERE project_id = '(all projects)'"),
        2
    );
    let (_, periods) = inst.json(&["periods", "list"]);
    assert!(periods.to_string().contains("closed"), "{periods}");
    inst.cmd(&["db", "check"]).assert().success();
}

/// The identity keys match our ingest's: the original FOCUS file, ingested after the import,
/// finds every charge unchanged (and the review decisions stay).
#[test]
fn reingesting_the_original_file_after_import_changes_nothing() {
    let plain = Instance::new();
    let csv = plain.path("aws_2025-01.csv");
    focus_csv(&csv);
    let (code, first) = plain.json(&["ingest", &csv.display().to_string(), "-s", "AWS"]);
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["files"][0]["inserted"], 5, "{first}");

    let inst = Instance::new();
    let src = python_db(inst.dir.path(), SCHEMA_V10);
    import(&inst, &src);
    // January is closed (as upstream): reopen it so the file may be ingested again.
    inst.cmd(&[
        "periods",
        "reopen",
        "2025-01",
        "--reason",
        "re-import check",
    ])
    .assert()
    .success();
    let (code, again) = inst.json(&["ingest", &csv.display().to_string(), "-s", "AWS"]);
    assert_eq!(code, 0, "{again}");
    let f = &again["files"][0];
    assert_eq!(
        (
            f["inserted"].as_u64(),
            f["updated"].as_u64(),
            f["removed"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(f["unchanged"], 5, "{again}");
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM charges WHERE review_state = 'approved'"),
        1
    );
    inst.cmd(&["db", "check"]).assert().success();
}

#[test]
fn import_refuses_a_non_empty_destination_without_merge() {
    let inst = Instance::new();
    let src = python_db(inst.dir.path(), SCHEMA_V10);
    inst.cmd(&["periods", "open", "2025-01"]).assert().success();
    inst.cmd(&["db", "import-upstream", &src.display().to_string()])
        .assert()
        .code(1)
        .stderr(contains("already holds OpenChargeback data"))
        .stderr(contains("--merge"));
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 0);
    // With --merge the existing 2025-01 stays as it is; 2025-02 comes over.
    let (code, report) = inst.json(&[
        "db",
        "import-upstream",
        &src.display().to_string(),
        "--merge",
    ]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["brought_over"]["charges"], 1, "{report}");
    assert!(
        report["not_brought_over"]
            .to_string()
            .contains("already exists in the destination"),
        "{report}"
    );
}

#[test]
fn import_refuses_a_file_that_is_not_sqlite() {
    let inst = Instance::new();
    let junk = inst.path("junk.db");
    std::fs::write(&junk, "name,amount\nann,1.00\n".repeat(50)).expect("write");
    let out = inst
        .cmd(&["db", "import-upstream", &junk.display().to_string()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("not a Python OpenChargeback database"),
        "{stderr}"
    );
    assert!(
        !inst.db().exists(),
        "a refused source creates no destination"
    );
}

/// `database.path` at the Python database: refused before any write, in one line.
#[test]
fn opening_a_python_database_in_place_is_refused_untouched() {
    let inst = Instance::new();
    let src = python_db(inst.dir.path(), SCHEMA_V10);
    let before = sha256(&src);
    std::fs::rename(&src, inst.db()).expect("move into place");
    let out = inst.cmd(&["periods", "list"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("is a Python OpenChargeback database (schema version 10)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("openchargeback db import-upstream"),
        "{stderr}"
    );
    assert!(!stderr.contains("CREATE TABLE"), "{stderr}");
    assert_eq!(sha256(&inst.db()), before);
    assert!(
        side_files(&inst.db()).is_empty(),
        "{:?}",
        side_files(&inst.db())
    );
}

#[test]
fn opening_another_applications_database_is_refused() {
    let inst = Instance::new();
    let conn = Connection::open(inst.db()).expect("create");
    conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'x');").expect("schema");
    drop(conn);
    let before = sha256(&inst.db());
    inst.cmd(&["periods", "list"])
        .assert()
        .code(1)
        .stderr(contains("another application"));
    assert_eq!(sha256(&inst.db()), before);
    assert!(side_files(&inst.db()).is_empty());
}
