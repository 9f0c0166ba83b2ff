//! Ingest acceptance: samples, the FOCUS 1.0 reference file, generated files, garbage input,
//! re-import semantics and crash safety — all through the real binary.

mod common;
use common::*;
use ocb_core::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

#[test]
fn upstream_samples_dry_run_then_import_with_exact_totals() {
    let inst = Instance::new();
    // Independent sums (Python decimal over the files): AWS 19086.75, Azure 735.25, HPC 0.00,
    // Storage 45.00, IT Storage 360.00 → 20227.00; rows 25 + 4 + 9 + 15 + 6.
    let expected = [
        ("aws_2025-01.csv", 25, "19086.75"),
        ("azure_2025-01.csv", 4, "735.25"),
        ("hpc_2025-01.csv", 9, "0.00"),
        ("storage_2025-01.csv", 15, "45.00"),
        ("it_storage_2025-01.csv", 6, "360.00"),
    ];
    for ((file, source), (_, rows, total)) in JAN_2025.iter().zip(expected) {
        let f = sample(file);
        let args = [
            "ingest",
            f.to_str().expect("utf8"),
            "--source",
            source,
            "--period",
            "2025-01",
        ];
        let (code, dry) = inst.json(&[&args[..], &["--dry-run"]].concat());
        assert_eq!(code, 0, "{dry}");
        let r = &dry["files"][0];
        assert_eq!(r["status"], "dry_run");
        assert_eq!(r["rows_read"], rows);
        assert_eq!(r["inserted"], rows);
        assert_eq!(d(r["total_cost"].as_str().expect("string")), d(total));
        if *file == "aws_2025-01.csv" {
            assert!(
                !inst.db().exists(),
                "a dry run must not create the database"
            );
        }
        let (code, real) = inst.json(&args);
        assert_eq!(code, 0, "{real}");
        let r = &real["files"][0];
        assert_eq!(r["status"], "committed");
        assert_eq!(r["rows_read"], rows);
        assert_eq!(r["inserted"], rows);
        assert_eq!(r["rejected"], 0);
        assert_eq!(d(r["total_cost"].as_str().expect("string")), d(total));
        assert_eq!(r["periods"][0]["period"], "2025-01");
    }
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 59);
    let total: String = rusqlite::Connection::open(inst.db())
        .expect("db")
        .query_row(
            "SELECT group_concat(billed_cost, '+') FROM charges",
            [],
            |r| r.get(0),
        )
        .expect("q");
    let sum: Decimal = total.split('+').map(d).sum();
    assert_eq!(sum, d("20227.00"));
}

#[test]
fn focus_reference_sample_keeps_every_line_item() {
    let inst = Instance::new();
    let f = sample("focus-1.0-sample.csv");
    let (code, v) = inst.json(&["ingest", f.to_str().expect("utf8"), "--source", "AWS"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["files"][0];
    assert_eq!(r["rows_read"], 1000);
    assert_eq!(r["inserted"], 1000);
    assert_eq!(r["flagged_rows"], 1000, "no row carries pi_email");
    // Exact sum of BilledCost over the 1,000 rows, computed independently with Python's decimal.
    assert_eq!(
        d(r["total_cost"].as_str().expect("string")),
        d("20.52022672899")
    );
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 1000);
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM charges WHERE flag_reasons LIKE '%missing_pi_email%'"),
        1000
    );
    let (code, again) = inst.json(&["ingest", f.to_str().expect("utf8"), "--source", "AWS"]);
    assert_eq!(code, 0);
    let r = &again["files"][0];
    assert_eq!(r["unchanged"], 1000);
    assert_eq!(r["inserted"], 0);
    assert_eq!(r["updated"], 0);
    assert_eq!(r["removed"], 0);
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 1000);
}

#[test]
fn generated_100k_rows_with_100_missing_pi_are_all_stored() {
    let inst = Instance::new();
    let file = inst.path("gen_2025-01.csv");
    let total = generate(&file, 100_000, 100);
    let (code, v) = inst.json(&["ingest", file.to_str().expect("utf8"), "--source", "HPC"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["files"][0];
    assert_eq!(r["rows_read"], 100_000);
    assert_eq!(r["inserted"], 100_000);
    assert_eq!(r["flagged_rows"], 100);
    assert_eq!(
        d(r["total_cost"].as_str().expect("string")),
        Decimal::from_i128_with_scale(total, 4)
    );
    let (_, again) = inst.json(&["ingest", file.to_str().expect("utf8"), "--source", "HPC"]);
    assert_eq!(again["files"][0]["unchanged"], 100_000);
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 100_000);
}

#[test]
fn replace_mode_removes_and_review_survives_unchanged_rows() {
    let inst = Instance::new();
    let file = inst.path("hpc_2025-01.csv");
    generate(&file, 20, 2);
    inst.cmd(&["ingest", file.to_str().expect("utf8"), "--source", "HPC"])
        .assert()
        .success();
    let (_, q) = inst.json(&["review", "list", "--period", "2025-01"]);
    assert_eq!(q["total"], 2);
    let id = q["items"][0]["id"].as_i64().expect("id");
    inst.cmd(&[
        "review",
        "reject",
        "--id",
        &id.to_string(),
        "--note",
        "not ours",
    ])
    .assert()
    .success();
    // Re-import the same content minus the last 5 rows: 5 removed, rejection kept.
    let text = std::fs::read_to_string(&file).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&file, lines[..lines.len() - 5].join("\n")).expect("write");
    let (code, v) = inst.json(&["ingest", file.to_str().expect("utf8"), "--source", "hpc"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["files"][0]["unchanged"], 15);
    assert_eq!(v["files"][0]["removed"], 5);
    assert_eq!(
        v["files"][0]["source"], "HPC",
        "source names are case-insensitive"
    );
    assert_eq!(
        inst.sql_count(&format!(
            "SELECT count(*) FROM charges WHERE id = {id} AND review_state = 'rejected'"
        )),
        1
    );
}

#[test]
fn closed_period_refuses_imports() {
    let inst = Instance::new();
    let f = sample("azure_2025-01.csv");
    inst.cmd(&["ingest", f.to_str().expect("utf8"), "-s", "Azure"])
        .assert()
        .success();
    inst.cmd(&["periods", "close", "2025-01"])
        .assert()
        .success();
    let out = inst
        .cmd(&["ingest", f.to_str().expect("utf8"), "-s", "Azure"])
        .assert()
        .code(1)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("Period 2025-01 is closed; reopen it first"));
    inst.cmd(&["periods", "reopen", "2025-01", "--reason", "late credit"])
        .assert()
        .success();
    inst.cmd(&["ingest", f.to_str().expect("utf8"), "-s", "Azure"])
        .assert()
        .success();
}

fn garbage(inst: &Instance, name: &str, bytes: &[u8], expect: &str) {
    let p = inst.path(name);
    std::fs::write(&p, bytes).expect("write");
    let out = inst
        .cmd(&["ingest", p.to_str().expect("utf8"), "--source", "AWS"])
        .output()
        .expect("run");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{name}: {all}");
    assert!(!all.contains("panicked"), "{name}: {all}");
    assert!(
        all.contains(expect),
        "{name}: expected {expect:?} in:\n{all}"
    );
}

const HEAD: &str = "BillingPeriodStart,BillingPeriodEnd,ListCost,BilledCost,ResourceId,Tags\n";

#[test]
fn garbage_input_is_refused_with_clear_messages() {
    let inst = Instance::new();
    let ok = "2025-01-01,2025-01-31,1.00,1.00,r1,\"{\"\"pi_email\"\":\"\"a@b.edu\"\"}\"\n";
    garbage(
        &inst,
        "binary1.csv",
        &[0u8, 159, 146, 150, 0, 1, 2, 3, 255, 254],
        "binary1.csv",
    );
    garbage(
        &inst,
        "binary.csv",
        &(0..=255u8).cycle().take(4096).collect::<Vec<_>>(),
        "binary.csv",
    );
    garbage(
        &inst,
        "truncated.csv",
        format!("{HEAD}{ok}2025-01-01,2025-01-31,1.0").as_bytes(),
        "line 3",
    );
    garbage(
        &inst,
        "semicolon.csv",
        b"BillingPeriodStart;BilledCost;Tags\n2025-01-01;1.00;{}\n",
        "missing required",
    );
    garbage(
        &inst,
        "latin1.csv",
        [
            HEAD.as_bytes(),
            b"2025-01-01,2025-01-31,1.00,1.00,caf\xe9,{}\n",
        ]
        .concat()
        .as_slice(),
        "line 2",
    );
    garbage(
        &inst,
        "missing.csv",
        b"BillingPeriodEnd,BilledCost,Tags\n2025-01-31,1.00,{}\n",
        "BillingPeriodStart",
    );
    garbage(
        &inst,
        "month13.csv",
        format!("{HEAD}2025-13-01,2025-01-31,1.00,1.00,r1,{{}}\n").as_bytes(),
        "line 2",
    );
    garbage(
        &inst,
        "dollars.csv",
        format!("{HEAD}2025-01-01,2025-01-31,1.00,\"$1,234\",r1,{{}}\n").as_bytes(),
        "BilledCost",
    );
    let big = format!(
        "{HEAD}2025-01-01,2025-01-31,1.00,1.00,\"{}\",{{}}\n2025-01-01,2025-01-31,1.00,x,r2,{{}}\n",
        "x".repeat(10 * 1024 * 1024)
    );
    garbage(&inst, "bigfield.csv", big.as_bytes(), "line 3");
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM charges"),
        0,
        "refused files store nothing"
    );
    assert!(inst.sql_count("SELECT count(*) FROM imports WHERE status = 'failed'") >= 9);
}

#[test]
fn skip_invalid_imports_good_rows_and_writes_rejects() {
    let inst = Instance::new();
    let p = inst.path("mixed.csv");
    std::fs::write(&p, format!("{HEAD}2025-01-01,2025-01-31,1.00,1.00,r1,{{}}\n2025-01-01,2025-01-31,1.00,\"$1,234\",r2,{{}}\n2025-01-01,2025-01-31,2.50,2.50,r3,{{}}\n")).expect("write");
    let (code, v) = inst.json(&[
        "ingest",
        p.to_str().expect("utf8"),
        "-s",
        "AWS",
        "--skip-invalid",
    ]);
    assert_eq!(code, 0, "{v}");
    let r = &v["files"][0];
    assert_eq!(r["rows_read"], 3);
    assert_eq!(r["inserted"], 2);
    assert_eq!(r["rejected"], 1);
    let rejects = std::fs::read_to_string(r["rejects_path"].as_str().expect("rejects path"))
        .expect("read rejects");
    assert!(
        rejects.starts_with(
            "BillingPeriodStart,BillingPeriodEnd,ListCost,BilledCost,ResourceId,Tags,_line,_reason"
        ),
        "{rejects}"
    );
    assert!(rejects.contains("\"$1,234\""), "{rejects}");
}

/// Issue 15, item 4: a line with an unterminated quote swallowed the next valid line into its
/// ResourceName; the merged record had the right field count, so `ingest` committed 2 of 3
/// rows with exit 0 and only a Tags warning, and the third charge was neither stored nor
/// reported. Now the broken line is a rejection naming line and column, the next line is a
/// charge, the counts reconcile, and `validate` agrees with `ingest`.
#[test]
fn issue_15_unterminated_quote_mid_file_loses_no_charge() {
    let inst = Instance::new();
    let p = inst.path("quote.csv");
    // On the old reader line 3's open quote ran on to the quote of "r3" on line 4: one record
    // of six fields (ResourceId `unterminated,{}\n2025-01-01,...,3.00,r3"`), and r3 vanished.
    std::fs::write(
        &p,
        format!(
            "{HEAD}2025-01-01,2025-01-31,1.00,1.00,r1,{{}}\n\
             2025-01-01,2025-01-31,2.00,2.00,\"unterminated,{{}}\n\
             2025-01-01,2025-01-31,3.00,3.00,\"r3\",{{}}\n"
        ),
    )
    .expect("write");
    let path = p.to_str().expect("utf8");
    // Without --skip-invalid the file is refused as a whole, and says where.
    let (code, v) = inst.json(&["ingest", path, "-s", "AWS", "--period", "2025-01"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 0);
    let (code, v) = inst.json(&[
        "ingest",
        path,
        "-s",
        "AWS",
        "--period",
        "2025-01",
        "--skip-invalid",
    ]);
    assert_eq!(code, 0, "{v}");
    let r = &v["files"][0];
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("{k} in {r}"));
    assert_eq!(n("rows_read"), 3, "{r}");
    assert_eq!(n("inserted"), 2, "{r}");
    assert_eq!(n("rejected"), 1, "{r}");
    assert_eq!(
        n("rows_read"),
        n("inserted") + n("updated") + n("unchanged") + n("rejected"),
        "{r}"
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM charges WHERE resource_id IN ('r1', 'r3')"),
        2
    );
    let errors = std::fs::read_to_string(r["errors_path"].as_str().expect("errors path"))
        .expect("read errors");
    assert!(errors.contains("line 3,ResourceId,"), "{errors}");
    assert!(errors.contains(",E_RECORD,"), "{errors}");
    // validate reports the same line as a malformed record.
    let (code, v) = inst.json(&["validate", path]);
    assert_eq!(code, 1, "{v}");
    let rules = v["files"][0]["rules"].as_array().expect("rules");
    let l2 = rules.iter().find(|r| r["id"] == "L2").expect("L2");
    assert_eq!(l2["status"], "fail", "{v}");
    assert_eq!(l2["count"], 1, "{v}");
    assert_eq!(l2["examples"][0]["line"], "line 3", "{v}");
    assert_eq!(l2["examples"][0]["column"], "ResourceId", "{v}");
    assert_eq!(v["files"][0]["rows"], 3, "{v}");
}

/// Issue 15, item 8g: `/dev/zero` was read forever by `validate` and `ingest`. Devices, FIFOs
/// and binary data are refused at once with a file error.
#[test]
fn issue_15_dev_zero_and_other_non_files_are_refused_quickly() {
    let inst = Instance::new();
    for args in [
        &["validate", "/dev/zero"][..],
        &["ingest", "/dev/zero", "-s", "AWS", "--period", "2025-01"],
        &[
            "ingest",
            "/dev/zero",
            "-s",
            "AWS",
            "--period",
            "2025-01",
            "--dry-run",
        ],
    ] {
        let out = inst
            .cmd(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("run");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(all.contains("/dev/zero"), "{args:?}: {all}");
        assert!(all.contains("not a regular file"), "{args:?}: {all}");
    }
    // A regular file of NUL bytes after a good header is binary data, refused as a whole.
    let p = inst.path("zeros.csv");
    std::fs::write(&p, [HEAD.as_bytes(), &vec![0u8; 1 << 20]].concat()).expect("write");
    garbage(
        &inst,
        "zeros.csv",
        &std::fs::read(&p).expect("read"),
        "NUL byte",
    );
}

#[test]
fn sigkill_mid_import_leaves_nothing_and_next_run_imports_everything() {
    let inst = Instance::new();
    let file = inst.path("big_2025-01.csv");
    generate(&file, 400_000, 0);
    inst.cmd(&["periods", "open", "2025-01"]).assert().success();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("openchargeback"))
        .current_dir(inst.dir.path())
        .args([
            "-c",
            inst.path("config.yaml").to_str().expect("utf8"),
            "ingest",
            file.to_str().expect("utf8"),
            "-s",
            "HPC",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the import is visibly writing, then kill -9. Alone with the database, the CLI
    // imports with a rollback journal (pages written into the database file, originals in
    // `-journal`); otherwise the WAL grows.
    let size = |suffix: &str| {
        std::fs::metadata(inst.path(&format!("billing.db{suffix}")))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let before = size("");
    let started = std::time::Instant::now();
    while size("-wal").max(size("").saturating_sub(before)) < 4 * 1024 * 1024 {
        assert!(
            started.elapsed().as_secs() < 60,
            "import never started writing"
        );
        assert!(
            child.try_wait().expect("poll").is_none(),
            "import finished before it could be killed; make the file larger"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(
        size("-journal") > 0 || size("-wal") > 0,
        "the killed import left its journal behind"
    );
    let conn = rusqlite::Connection::open(inst.db()).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 0);
    assert_eq!(inst.sql_count("SELECT count(*) FROM imports"), 0);
    let (code, v) = inst.json(&["ingest", file.to_str().expect("utf8"), "-s", "HPC"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["files"][0]["inserted"], 400_000);
    let mode: String = rusqlite::Connection::open(inst.db())
        .expect("open")
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal", "WAL mode is back after the import");
}

/// Issue 17: rows identical in every column. `validate` warns (W7) naming the lines; ingest keeps
/// both, reports the lines on stderr and flags both `possible_duplicate` (review list, `show`);
/// re-importing the file changes nothing.
#[test]
fn issue_17_identical_rows_are_flagged_and_named() {
    let inst = Instance::new();
    let tags = r#""{""pi_email"":""dup@example.edu"",""project_id"":""p1"",""fund_org"":""F-1""}""#;
    let row = format!("2025-01-01,2025-01-02,3.25,r-9,EC2,{tags}\n");
    let other = format!("2025-01-01,2025-01-03,1.00,r-8,EC2,{tags}\n");
    let file = inst.path("aws_2025-01.csv");
    std::fs::write(
        &file,
        format!("BillingPeriodStart,ChargePeriodStart,BilledCost,ResourceId,ServiceName,Tags\n{row}{other}{row}"),
    )
    .expect("write");
    let f = file.to_str().expect("utf8");
    inst.cmd(&["validate", f])
        .assert()
        .success()
        .stdout(predicates::str::contains("WARN  W7"))
        .stdout(predicates::str::contains("lines 2 and 4 are identical"));
    inst.cmd(&["ingest", f, "--source", "AWS"])
        .assert()
        .success()
        .stderr(predicates::str::contains("lines 2 and 4 are identical"));
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM charges WHERE flag_reasons = '[\"possible_duplicate\"]' AND review_state = 'pending'"),
        2
    );
    inst.cmd(&["review", "list", "--period", "2025-01"])
        .assert()
        .success()
        .stdout(predicates::str::contains("possible_duplicate"));
    inst.cmd(&["show", "dup@example.edu", "--period", "2025-01"])
        .assert()
        .success()
        .stdout(predicates::str::contains("2 flagged"));
    let (code, again) = inst.json(&["ingest", f, "--source", "AWS"]);
    assert_eq!(code, 0, "{again}");
    let r = &again["files"][0];
    assert_eq!(
        (
            r["unchanged"].as_u64(),
            r["inserted"].as_u64(),
            r["updated"].as_u64()
        ),
        (Some(3), Some(0), Some(0))
    );
    assert_eq!(inst.sql_count("SELECT count(*) FROM charges"), 3);
}
