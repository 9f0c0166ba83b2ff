//! `validate`, `config check` and the application log through the real binary.

mod common;
use common::*;
use predicates::prelude::PredicateBooleanExt;
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
        .env("WEB_SECRET_KEY", "s".repeat(40))
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

/// Issue 15, item 5: `database.path: ${NOPE}/a.db` passed `config check` and wrote to `/a.db`.
/// Every command that loads the config refuses it, naming file, line and key.
#[test]
fn issue_15_unset_environment_variable_is_a_config_error_everywhere() {
    let inst = Instance::with_extra("journal:\n  default_account: ${OCB_TEST_NOPE}\n");
    let cfg = inst.path("config.yaml");
    let line = std::fs::read_to_string(&cfg)
        .expect("read")
        .lines()
        .position(|l| l.contains("OCB_TEST_NOPE"))
        .expect("line")
        + 1;
    let want = format!(
        "config error: {}:{line}: journal.default_account: environment variable OCB_TEST_NOPE is not set",
        cfg.display()
    );
    for args in [
        &["config", "check"][..],
        &["periods", "list"],
        &["validate", "x.csv"],
    ] {
        inst.cmd(args)
            .env_remove("OCB_TEST_NOPE")
            .env("WEB_SECRET_KEY", "s".repeat(40))
            .assert()
            .code(1)
            .stderr(contains(want.as_str()));
    }
    inst.cmd(&["config", "check"])
        .env("OCB_TEST_NOPE", "4000")
        .env("WEB_SECRET_KEY", "s".repeat(40))
        .assert()
        .success();
}

/// An unset credential stays empty (upstream's "not configured"), and `config check` says so.
#[test]
fn unset_credential_is_a_warning_shown_by_config_check() {
    let inst =
        Instance::with_extra("smtp:\n  host: mail.example.edu\n  password: ${OCB_TEST_SMTP_PW}\n");
    inst.cmd(&["config", "check"])
        .env_remove("OCB_TEST_SMTP_PW")
        .env("WEB_SECRET_KEY", "s".repeat(40))
        .assert()
        .success()
        .stderr(contains("config warning: "))
        .stderr(contains(
            "smtp.password: environment variable OCB_TEST_SMTP_PW is not set; using an empty value",
        ));
    // Other commands stay quiet about it (cron runs).
    inst.cmd(&["periods", "list"])
        .env_remove("OCB_TEST_SMTP_PW")
        .assert()
        .success()
        .stderr(predicates::str::contains("OCB_TEST_SMTP_PW").not());
}

/// Issue 15, item 8f: `config check` accepted an empty secret that `serve` then refused; both
/// now apply the same check from ocb-config.
#[test]
fn issue_15_config_check_refuses_the_secret_serve_refuses() {
    for secret in ["''", "changeme-in-production"] {
        let inst = Instance::with_extra(&format!("web:\n  secret_key: {secret}\n"));
        let cfg = inst.path("config.yaml");
        let want = format!(
            "config error: {}:{}: web.secret_key: a strong random secret is required outside dev_mode (set WEB_SECRET_KEY)",
            cfg.display(),
            std::fs::read_to_string(&cfg)
                .expect("read")
                .lines()
                .position(|l| l.contains("secret_key"))
                .expect("line")
                + 1
        );
        inst.cmd(&["config", "check"])
            .env_remove("WEB_SECRET_KEY")
            .assert()
            .code(1)
            .stderr(contains(want.as_str()));
        // serve refuses the same config with the same words.
        inst.cmd(&["serve", "--port", "0"])
            .env_remove("WEB_SECRET_KEY")
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(1)
            .stderr(contains(
                "web.secret_key: a strong random secret is required outside dev_mode",
            ));
    }
    // In dev mode neither needs one.
    let inst = Instance::with_extra("dev_mode: true\n");
    inst.cmd(&["config", "check"])
        .env_remove("WEB_SECRET_KEY")
        .assert()
        .success();
}

/// Issue 15, item 8a: a nine-line alias bomb grew `config check` to 23.5 GB; it is now refused
/// at once with the line where it exceeds the limit.
#[test]
fn issue_15_yaml_alias_bomb_is_refused_quickly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config.yaml");
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        text.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
    }
    std::fs::write(&cfg, text).expect("write");
    let started = std::time::Instant::now();
    assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .args(["-c", cfg.to_str().expect("utf8"), "config", "check"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains(format!("config error: {}:6: ", cfg.display())))
        .stderr(contains("alias bomb"));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

/// A device or an endless file given as the config is refused, not read forever.
#[test]
fn config_that_is_a_device_is_refused() {
    assert_cmd::Command::cargo_bin("openchargeback")
        .expect("bin")
        .args(["-c", "/dev/zero", "config", "check"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(1)
        .stderr(contains("cannot read config file: not a regular file"));
}
