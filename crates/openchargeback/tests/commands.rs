//! Periods, sources, review and show through the real binary.

mod common;
use common::*;
use predicates::str::contains;

fn import_january(inst: &Instance) {
    for (file, source) in JAN_2025 {
        inst.cmd(&[
            "ingest",
            sample(file).to_str().expect("utf8"),
            "--source",
            source,
            "--period",
            "2025-01",
        ])
        .assert()
        .success();
    }
}

#[test]
fn version_usage_and_exit_codes() {
    let inst = Instance::new();
    inst.cmd(&["version"])
        .assert()
        .success()
        .stdout(contains("openchargeback version"));
    let (code, v) = inst.json(&["version"]);
    assert_eq!((code, v["name"].as_str()), (0, Some("openchargeback")));
    inst.cmd(&["periods", "open", "2025-13"]).assert().code(2);
    inst.cmd(&["nonsense"]).assert().code(2);
    inst.cmd(&["review", "approve"])
        .assert()
        .code(2)
        .stderr(contains("Must specify --period or --id"));
    assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .assert()
        .code(2);
    // --config accepted after the command as well.
    assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .current_dir(inst.dir.path())
        .args(["periods", "list", "--config"])
        .arg(inst.path("config.yaml"))
        .assert()
        .success();
    assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .args(["-c", "/nonexistent/config.yaml", "periods", "list"])
        .assert()
        .code(1)
        .stderr(contains("config file not found"));
}

#[test]
fn period_lifecycle_with_messages() {
    let inst = Instance::new();
    inst.cmd(&["periods", "open", "2025-02", "--notes", "new month"])
        .assert()
        .success()
        .stdout(contains("Period 2025-02 created (open)"));
    inst.cmd(&["periods", "open", "2025-02"])
        .assert()
        .success()
        .stdout(contains("Period 2025-02 is already open"));
    inst.cmd(&["periods", "finalize", "2025-02", "--yes"])
        .assert()
        .code(1)
        .stderr(contains(
            "Cannot finalize period 2025-02: it is open (close it first)",
        ));
    inst.cmd(&["periods", "close", "2025-02"])
        .assert()
        .success()
        .stdout(contains("Period 2025-02 closed"));
    inst.cmd(&["periods", "close", "2025-02"])
        .assert()
        .success()
        .stdout(contains("already closed"));
    inst.cmd(&["periods", "open", "2025-02"])
        .assert()
        .code(1)
        .stderr(contains("periods reopen"));
    inst.cmd(&["periods", "reopen", "2025-02"]).assert().code(2);
    inst.cmd(&["periods", "reopen", "2025-02", "--reason", "late invoice"])
        .assert()
        .success();
    inst.cmd(&["periods", "note", "2025-02", "checked with finance"])
        .assert()
        .success();
    let (_, v) = inst.json(&["periods", "list"]);
    assert_eq!(v["items"][0]["period"], "2025-02");
    assert_eq!(v["items"][0]["status"], "open");
    assert_eq!(v["items"][0]["latest_note"], "checked with finance");
    inst.cmd(&["periods", "close", "2030-01"])
        .assert()
        .code(1)
        .stderr(contains("Billing period 2030-01 not found"));
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event LIKE 'period.%'"),
        4,
        "created, closed, reopened, note_added"
    );
}

#[test]
fn review_by_id_and_by_period_with_truthful_messages() {
    let inst = Instance::with_extra("review:\n  flag_patterns:\n    - gpu\n");
    import_january(&inst);
    let (_, q) = inst.json(&["review", "list", "--period", "2025-01"]);
    let n = q["total"].as_u64().expect("total");
    assert!(n >= 3, "{q}");
    let first = q["items"][0]["id"].as_i64().expect("id");
    inst.cmd(&[
        "review",
        "reject",
        "--id",
        &first.to_string(),
        "--note",
        "duplicate",
    ])
    .assert()
    .success()
    .stdout(contains(format!("Charge {first} rejected")));
    inst.cmd(&["review", "approve", "--id", &first.to_string()])
        .assert()
        .code(1)
        .stderr(contains("is not in the review queue"));
    inst.cmd(&["review", "restore", "--id", &first.to_string()])
        .assert()
        .success();
    inst.cmd(&[
        "review",
        "approve",
        "--period",
        "2025-01",
        "--reason",
        "pattern_match",
    ])
    .assert()
    .success()
    .stdout(contains(format!("Approved {n} charges")));
    inst.cmd(&["review", "list", "--period", "2025-01"])
        .assert()
        .success()
        .stdout(contains("No charges flagged for review"));
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM review_log WHERE action = 'approved'") as u64,
        n
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event = 'charge.bulk_approved'"),
        1
    );
}

#[test]
fn approval_needs_a_valid_pi_and_override_supplies_it() {
    let inst = Instance::new();
    inst.cmd(&[
        "ingest",
        sample("focus-1.0-sample.csv").to_str().expect("utf8"),
        "-s",
        "AWS",
    ])
    .assert()
    .success();
    let (_, q) = inst.json(&["review", "list", "--limit", "1"]);
    let id = q["items"][0]["id"].as_i64().expect("id").to_string();
    inst.cmd(&["review", "approve", "--id", &id])
        .assert()
        .code(1)
        .stderr(contains("has no valid PI email"));
    inst.cmd(&[
        "review",
        "approve",
        "--id",
        &id,
        "--pi-email",
        "not-an-email",
    ])
    .assert()
    .code(1);
    inst.cmd(&[
        "review",
        "approve",
        "--id",
        &id,
        "--pi-email",
        "Owner@Example.EDU",
        "--project-id",
        "cloud-pilot",
    ])
    .assert()
    .success();
    assert_eq!(inst.sql_count(&format!("SELECT count(*) FROM charges WHERE id = {id} AND ovr_pi_email = 'owner@example.edu' AND review_state = 'approved'")), 1);
}

#[test]
fn show_and_sources() {
    let inst = Instance::new();
    import_january(&inst);
    inst.cmd(&["show", "Zorp.Blinkman@example.edu", "--period", "2025-01"])
        .assert()
        .success()
        .stdout(contains("genomics-sequencing"))
        .stdout(contains("Total:"));
    inst.cmd(&["show", "nobody@example.edu", "--period", "2025-01"])
        .assert()
        .success()
        .stdout(contains(
            "No charges found for nobody@example.edu in 2025-01",
        ));
    inst.cmd(&["show", "a@b.edu", "--period", "2031-01"])
        .assert()
        .code(1);
    let (_, s) = inst.json(&["sources", "list"]);
    assert_eq!(s["items"].as_array().expect("list").len(), 5);
    inst.cmd(&["sources", "add", "aws"])
        .assert()
        .success()
        .stdout(contains("Source 'AWS' already exists"));
    inst.cmd(&["sources", "add", "OpenAI", "--display-name", "OpenAI EDU"])
        .assert()
        .success()
        .stdout(contains("created"));
}

#[test]
fn demo_runs_in_a_fresh_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .current_dir(dir.path())
        .arg("demo")
        .assert()
        .success()
        // 20,177.00 from the five FOCUS samples + 1,754.58 from the converted sources (see
        // tests/demo_integrations.rs for how that figure was computed independently).
        .stdout(contains("billable total $21,931.58"));
    assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .current_dir(dir.path())
        .arg("demo")
        .assert()
        .code(1)
        .stderr(contains("--force"));
}

/// Issue 16, item 12: the demo's hints work when copied, it points at the web UI, and the closed
/// month has no pending flag.
#[test]
fn demo_hints_run_when_copied_and_nothing_is_left_pending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .current_dir(dir.path())
        .env("PATH", "/usr/bin:/bin")
        .arg("demo")
        .output()
        .expect("demo");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let hint = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} line in {stdout}"))
            .trim()
            .to_string()
    };
    let try_line = hint("Try:");
    let shown = std::process::Command::new("sh")
        .args(["-c", &try_line])
        .current_dir("/")
        .output()
        .expect("sh");
    assert!(
        shown.status.success(),
        "{try_line}: {}",
        String::from_utf8_lossy(&shown.stderr)
    );
    assert!(String::from_utf8_lossy(&shown.stdout).contains("zorp.blinkman@example.edu"));
    let web = hint("Web UI:");
    assert!(
        web.contains(" demo --dir ") && web.contains("--serve"),
        "{web}"
    );
    assert!(
        stdout.contains("rejected 3 charges without a PI"),
        "{stdout}"
    );
    // The same binary (not a bare name that is not on PATH) answers `review list`.
    let bin = try_line.split(" -c ").next().expect("binary");
    let config = dir.path().join("openchargeback-demo/config.yaml");
    let listed = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "{bin} -c '{}' --json review list --period 2025-01",
                config.display()
            ),
        ])
        .output()
        .expect("review list");
    let v: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(v["total"], 0, "pending flags left: {v}");
}

/// `demo --serve` creates its login before serving: no "no one can log in" warning.
#[test]
fn demo_serve_does_not_warn_that_no_one_can_log_in() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = assert_cmd::cargo::cargo_bin("openchargeback");
    let mut child = std::process::Command::new(bin)
        .current_dir(dir.path())
        .args(["demo", "--serve", "--host", "127.0.0.1", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let login = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.contains("Log in as user `demo`"));
    let _ = child.kill();
    let out = child.wait_with_output().expect("wait");
    assert!(login.is_some(), "no login line");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("no one can log in"), "{stderr}");
}
