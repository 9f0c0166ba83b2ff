//! `reevaluate` (SPEC §7.7) and the effective review settings (§4.5) through the real binary:
//! a database override saved by the web UI drives ingest, `config check` and re-evaluation.

mod common;

use common::{january, sample, Instance, JAN_2025};
use predicates::str::contains;

/// What the web UI's "Save patterns" writes (the settings store is tested in ocb-store).
fn override_flag_patterns(inst: &Instance, patterns: &str) {
    let conn = rusqlite::Connection::open(inst.db()).expect("open db");
    conn.execute(
        "INSERT INTO settings_overrides (key, value, updated_at, updated_by)
         VALUES ('review.flag_patterns', ?1, '2025-02-01T09:00:00Z', 'alice')",
        [patterns],
    )
    .expect("insert override");
}

fn drop_override(inst: &Instance) {
    let conn = rusqlite::Connection::open(inst.db()).expect("open db");
    conn.execute("DELETE FROM settings_overrides", [])
        .expect("delete override");
}

fn queued(inst: &Instance) -> i64 {
    inst.sql_count(
        "SELECT count(*) FROM charges WHERE review_state = 'pending' AND removed_at IS NULL",
    )
}

#[test]
fn reevaluate_applies_a_database_override_and_reverting_it_undoes_the_flags() {
    // `config check` applies the serve secret rule (issue 15, item 8f).
    let inst = january("web:\n  secret_key: 0123456789abcdef0123456789abcdef\n");
    let before = queued(&inst);
    override_flag_patterns(&inst, r#"["gpu"]"#);

    let (code, check) = inst.json(&["config", "check"]);
    assert_eq!(code, 0);
    let flag = &check["effective_review"]["flag_patterns"];
    assert_eq!(flag["patterns"], serde_json::json!(["gpu"]));
    assert_eq!(flag["origin"], "database");
    assert_eq!(flag["updated_by"], "alice");
    assert_eq!(
        check["effective_review"]["fund_org_patterns"]["origin"],
        "config_file"
    );
    inst.cmd(&["config", "check"])
        .assert()
        .success()
        .stdout(contains("database override (saved by alice"));

    let (code, dry) = inst.json(&["reevaluate", "--dry-run"]);
    assert_eq!(code, 0, "{dry}");
    assert_eq!(dry["dry_run"], true);
    let newly = dry["totals"]["newly_flagged"].as_u64().expect("count");
    let changed = dry["totals"]["changed"].as_u64().expect("count");
    assert!(
        newly + changed >= 3,
        "the samples hold five GPU rows: {dry}"
    );
    assert_eq!(dry["periods"][0]["period"], "2025-01");
    assert_eq!(queued(&inst), before, "a dry run writes nothing");

    let (code, done) = inst.json(&["reevaluate"]);
    assert_eq!(code, 0, "{done}");
    assert_eq!(
        done["totals"], dry["totals"],
        "the run does what the dry run showed"
    );
    assert_eq!(queued(&inst), before + newly as i64);
    assert_eq!(
        inst.sql_count(
            "SELECT count(*) FROM review_log WHERE action = 'reflagged' AND actor = 'system'"
        ),
        newly as i64
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event = 'flags.reevaluated' AND period = '2025-01'"),
        1
    );
    let gpu_reasons = inst
        .sql_count("SELECT count(*) FROM charges WHERE flag_reasons LIKE '%pattern_match:gpu%'");
    assert_eq!(gpu_reasons as u64, newly + changed);

    // Nothing left to do: a second run changes nothing.
    let (_, again) = inst.json(&["reevaluate", "-p", "2025-01"]);
    assert_eq!(again["totals"]["newly_flagged"], 0);
    assert_eq!(again["totals"]["changed"], 0);

    drop_override(&inst);
    let (_, undone) = inst.json(&["reevaluate"]);
    assert_eq!(undone["totals"]["cleared"].as_u64(), Some(newly));
    assert_eq!(undone["totals"]["changed"].as_u64(), Some(changed));
    assert_eq!(queued(&inst), before);
}

#[test]
fn human_output_and_refusals() {
    let inst = january("review:\n  flag_patterns: [gpu]\n");
    inst.cmd(&["reevaluate", "-p", "2025-01", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("Flag re-evaluation (dry run — nothing written)"))
        .stdout(contains("Newly flagged"))
        .stdout(contains("2025-01"));
    inst.cmd(&["reevaluate", "-p", "2030-01"])
        .assert()
        .code(1)
        .stderr(contains("Billing period 2030-01 not found"));
    inst.cmd(&["reevaluate", "-p", "2025-13"]).assert().code(2);
    // A dry run on an instance without a database neither fails nor creates one.
    let empty = Instance::new();
    empty
        .cmd(&["reevaluate", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("no open or closed periods"));
    assert!(!empty.db().exists());
}

/// Ingest flags with the database override, not the config file's (empty) list.
#[test]
fn ingest_uses_the_database_override() {
    let inst = Instance::new();
    inst.cmd(&["periods", "open", "2025-01"]).assert().success();
    override_flag_patterns(&inst, r#"["gpu"]"#);
    for (file, source) in JAN_2025 {
        inst.cmd(&[
            "ingest",
            sample(file).to_str().expect("utf8"),
            "-s",
            source,
            "-p",
            "2025-01",
        ])
        .assert()
        .success();
    }
    let flagged = inst
        .sql_count("SELECT count(*) FROM charges WHERE flag_reasons LIKE '%pattern_match:gpu%'");
    assert!(flagged >= 3, "{flagged}");
}
