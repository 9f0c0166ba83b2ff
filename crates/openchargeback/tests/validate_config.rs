//! `validate`, `config check` and the application log through the real binary.

mod common;
use common::*;
use predicates::str::contains;

#[test]
fn validate_passes_samples_and_fails_garbage_with_json() {
    let inst = Instance::new();
    let (code, v) = inst.json(&[
        "validate",
        sample("aws_2025-01.csv").to_str().expect("utf8"),
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["result"], "pass");
    assert_eq!(v["files"][0]["rows"], 25);
    assert_eq!(v["files"][0]["periods"][0]["period"], "2025-01");
    let bad = inst.path("bad.csv");
    std::fs::write(
        &bad,
        "BillingPeriodStart,BilledCost,Tags\n2025-13-01,\"12,50\",{}\n",
    )
    .expect("write");
    let (code, v) = inst.json(&["validate", bad.to_str().expect("utf8")]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["result"], "fail");
    let rules = v["files"][0]["rules"].as_array().expect("rules");
    let l4 = rules.iter().find(|r| r["id"] == "L4").expect("L4");
    assert_eq!(l4["status"], "fail");
    assert_eq!(l4["examples"][0]["line"], "line 2");
    inst.cmd(&["validate", bad.to_str().expect("utf8")])
        .assert()
        .code(1)
        .stdout(contains("Result: FAIL"));
    inst.cmd(&["validate"]).assert().code(2);
    assert!(!inst.db().exists(), "validate never creates the database");
}

#[test]
fn config_errors_name_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config.yaml");
    std::fs::write(
        &cfg,
        "logging:\n  level: LOUD\nreview:\n  flag_patterns:\n    - \"(unclosed\"\n",
    )
    .expect("write");
    let out = assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .args(["-c", cfg.to_str().expect("utf8"), "periods", "list"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("config.yaml:2") && err.contains("logging.level"),
        "{err}"
    );
    assert!(err.contains("review.flag_patterns[0]"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn config_check_prints_resolved_paths() {
    let inst = Instance::new();
    inst.cmd(&["config", "check"])
        .assert()
        .success()
        .stdout(contains("Configuration is valid"))
        .stdout(contains("billing.db"));
    assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .args(["config", "example"])
        .assert()
        .success()
        .stdout(contains("known_sources"));
}

#[test]
fn application_log_uses_splunk_format_in_the_configured_file() {
    let inst = Instance::new();
    let log_path = inst.dir.path().join("logs/app.log");
    let mut cfg = std::fs::read_to_string(inst.path("config.yaml")).expect("read");
    cfg.push_str(&format!(
        "logging:\n  level: INFO\n  format: splunk\n  file: {}\n",
        log_path.display()
    ));
    std::fs::write(inst.path("config.yaml"), cfg).expect("write");
    inst.cmd(&["periods", "open", "2025-03"]).assert().success();
    let log = std::fs::read_to_string(&log_path).expect("log file written");
    let line = log
        .lines()
        .find(|l| l.contains("period.created"))
        .unwrap_or_else(|| panic!("no audit line in:\n{log}"));
    assert!(looks_like_splunk(line), "{line}");
}

/// `2026-01-08T12:15:02Z INFO  period.created actor=… channel=cli …`
fn looks_like_splunk(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 27
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'Z'
        && &line[20..27] == " INFO  "
        && line[27..].starts_with("period.created ")
        && line.contains(" channel=cli")
}
