//! Output files appear complete with their record, or not at all (issue 15): `export-journal` on
//! a full disk and killed at random points, interrupted `generate` runs and their staging
//! folders, and an import's artefacts while another import starts.

mod common;
use common::*;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("openchargeback")
}

/// `openchargeback -c CONFIG args…` as a child process (to be killed).
fn spawn(inst: &Instance, args: &[&str]) -> Child {
    Command::new(bin())
        .current_dir(inst.dir.path())
        .arg("-c")
        .arg(inst.path("config.yaml"))
        .args(args)
        .env_remove("OPENCHARGEBACK_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

fn ingest(inst: &Instance, file: &Path, source: &str) {
    inst.cmd(&["ingest", file.to_str().expect("utf8"), "-s", source])
        .assert()
        .success();
}

/// A 2025-01 period of `rows` generated charges (HPC), and a one-charge 2025-02 (AWS); `extra`
/// is added to the configuration.
fn instance_with_charges(rows: usize, extra: &str) -> Instance {
    let inst = Instance::with_extra(extra);
    let big = inst.path("hpc_2025-01.csv");
    generate(&big, rows, 0);
    ingest(&inst, &big, "HPC");
    let small = inst.path("aws_2025-02.csv");
    std::fs::write(
        &small,
        "BillingPeriodStart,BillingPeriodEnd,BilledCost,ResourceId,Tags\n\
         2025-02-01,2025-02-28,12.34,r1,\"{\"\"pi_email\"\": \"\"pi1@example.edu\"\", \"\"project_id\"\": \"\"p1\"\", \"\"fund_org\"\": \"\"F-1\"\"}\"\n",
    )
    .expect("write");
    ingest(&inst, &small, "AWS");
    inst
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn sha256_hex(bytes: &[u8]) -> String {
    // sha256sum is in coreutils on every machine this runs on; no hashing crate needed here.
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("pipe");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_string()
}

const STANDARD_2025_01: [&str; 5] = [
    "export-journal",
    "--period",
    "2025-01",
    "--format",
    "standard",
];

/// The journal an uninterrupted export writes, via standard output.
fn reference_journal(inst: &Instance) -> Vec<u8> {
    let out = inst
        .cmd(&STANDARD_2025_01)
        .args(["--output", "-"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct ExportRow {
    id: i64,
    period: String,
    stored_path: String,
    sha256: String,
}

fn export_rows(inst: &Instance) -> Vec<ExportRow> {
    let conn = rusqlite::Connection::open(inst.db()).expect("open");
    let mut stmt = conn
        .prepare("SELECT id, period, stored_path, sha256 FROM journal_exports ORDER BY id")
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| {
            Ok(ExportRow {
                id: r.get(0)?,
                period: r.get(1)?,
                stored_path: r.get(2)?,
                sha256: r.get(3)?,
            })
        })
        .expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

fn audited_exports(inst: &Instance) -> BTreeSet<i64> {
    let conn = rusqlite::Connection::open(inst.db()).expect("open");
    let mut stmt = conn
        .prepare("SELECT target_id FROM audit_events WHERE event = 'export.journal'")
        .expect("prepare");
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query");
    ids.map(|id| id.expect("id").parse().expect("numeric id"))
        .collect()
}

/// The folder and the database agree: every journal on disk is complete (the recorded SHA-256;
/// 2025-01 ones byte-identical to `reference`) and has its export record and audit event.
/// After recovery also: no staged file is left and every record's file is there.
fn check_journals(inst: &Instance, reference: &[u8], recovered: bool) {
    let dir = inst.path("out/journals");
    let rows = export_rows(inst);
    let ids: BTreeSet<i64> = rows.iter().map(|r| r.id).collect();
    assert_eq!(
        audited_exports(inst),
        ids,
        "every export record has its audit event"
    );
    for name in entries(&dir).iter().filter(|n| !n.starts_with('.')) {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).expect("read journal");
        let row = rows
            .iter()
            .find(|r| Path::new(&r.stored_path) == path)
            .unwrap_or_else(|| {
                panic!(
                    "{name} ({} bytes) is on disk without an export record",
                    bytes.len()
                )
            });
        assert_eq!(
            sha256_hex(&bytes),
            row.sha256,
            "{name} ({} bytes) is not the content its record describes",
            bytes.len()
        );
        if row.period == "2025-01" {
            assert!(
                bytes == reference,
                "{name}: {} bytes, not the {} of an uninterrupted export",
                bytes.len(),
                reference.len()
            );
        }
    }
    if recovered {
        let hidden: Vec<String> = entries(&dir)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "left after recovery: {hidden:?}");
        for r in rows.iter().filter(|r| !r.stored_path.is_empty()) {
            assert!(
                Path::new(&r.stored_path).is_file(),
                "export {} is recorded but {} is missing",
                r.id,
                r.stored_path
            );
        }
    }
}

#[test]
fn issue15_export_journal_on_a_full_disk_leaves_no_journal_and_no_record() {
    let inst = instance_with_charges(20_000, "");
    let reference = reference_journal(&inst);
    // The file system fills half-way through the journal: RLIMIT_FSIZE (`ulimit -f`, KiB in
    // bash) makes every write past that size fail with EFBIG, as a full disk fails with ENOSPC.
    // SIGXFSZ is ignored so the write returns the error instead of killing the process.
    let limit_kib = reference.len() / 1024 / 2;
    assert!(
        limit_kib >= 512,
        "journal too small: {} bytes",
        reference.len()
    );
    let out = Command::new("bash")
        .current_dir(inst.dir.path())
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f \"$1\"; shift; exec \"$@\"",
            "bash",
        ])
        .arg(limit_kib.to_string())
        .arg(bin())
        .arg("-c")
        .arg(inst.path("config.yaml"))
        .args(STANDARD_2025_01)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let dir = inst.path("out/journals");
    assert!(
        stderr.contains("error: writing journal") && stderr.contains(&dir.display().to_string()),
        "the error names the journal: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        entries(&dir),
        Vec::<String>::new(),
        "nothing is left in {}",
        dir.display()
    );
    // (The reference export to standard output is recorded too, without a file.)
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM journal_exports WHERE stored_path != ''"),
        0
    );
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM audit_events WHERE event = 'export.failed'"),
        1
    );
    // With room again, the same export succeeds and is the only one.
    inst.cmd(&STANDARD_2025_01).assert().success();
    check_journals(&inst, &reference, true);
    assert_eq!(entries(&dir).len(), 1);
}

/// A small deterministic generator (xorshift64*), seeded per run and printed for replays.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("OCB_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_nanos() as u64
            });
        eprintln!("kill test seed: OCB_KILL_SEED={seed}");
        Self(seed | 1)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Where an export was when it was killed, judged from its folder just before the kill.
#[derive(Debug, Default)]
struct Phases {
    before_any_file: usize,
    staged_file: usize,
    final_file: usize,
    already_done: usize,
    /// Kills after which the record had committed but the rename was not confirmed (recovery
    /// finished the move).
    committed_before_rename: usize,
    /// Kills that left a staged file whose record never committed (recovery deleted it).
    uncommitted_staged: usize,
}

/// Counts what a kill left for recovery: pending publications and unrecorded staged files.
fn left_for_recovery(inst: &Instance, dir: &Path, phases: &mut Phases) {
    let pending = inst.sql_count("SELECT count(*) FROM file_publications") as usize;
    let staged = entries(dir).iter().filter(|e| e.starts_with('.')).count();
    phases.committed_before_rename += pending;
    phases.uncommitted_staged += staged.saturating_sub(pending);
}

/// Waits until `dir` holds an entry not in `before` (or `limit` passes).
fn wait_for_new_entry(dir: &Path, before: &[String], child: &mut Child, limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit && child.try_wait().expect("poll").is_none() {
        if entries(dir).iter().any(|e| !before.contains(e)) {
            return;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn phase_of(dir: &Path, before: &[String], child: &mut Child, phases: &mut Phases) {
    let new: Vec<String> = entries(dir)
        .into_iter()
        .filter(|e| !before.contains(e))
        .collect();
    if child.try_wait().expect("poll").is_some() {
        phases.already_done += 1;
    } else if new.iter().any(|e| !e.starts_with('.')) {
        phases.final_file += 1;
    } else if new.is_empty() {
        phases.before_any_file += 1;
    } else {
        phases.staged_file += 1;
    }
}

#[test]
fn issue15_sigkill_during_export_journal_leaves_the_complete_journal_with_its_record_or_nothing() {
    let inst = instance_with_charges(40_000, "");
    let reference = reference_journal(&inst);
    let dir = inst.path("out/journals");
    let started = Instant::now();
    inst.cmd(&STANDARD_2025_01).assert().success();
    let full = started.elapsed();
    check_journals(&inst, &reference, true);
    let rounds: usize = std::env::var("OCB_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut rng = Rng::new();
    let mut phases = Phases::default();
    for round in 0..rounds {
        let before = entries(&dir);
        let mut child = spawn(&inst, &STANDARD_2025_01);
        if round % 2 == 0 {
            // Anywhere in the run: reading, rendering, writing, recording, renaming.
            std::thread::sleep(full.mul_f64(1.1 * rng.unit()));
        } else {
            // Aimed at the file: once something appears in the folder, within 60 ms (writing,
            // syncing, recording and renaming a 5 MB journal).
            wait_for_new_entry(&dir, &before, &mut child, full * 3);
            std::thread::sleep(Duration::from_micros((rng.unit() * 60_000.0) as u64));
        }
        phase_of(&dir, &before, &mut child, &mut phases);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        check_journals(&inst, &reference, false);
        left_for_recovery(&inst, &dir, &mut phases);
        // The next export (of the small period) recovers the folder first.
        inst.cmd(&[
            "export-journal",
            "--period",
            "2025-02",
            "--format",
            "standard",
        ])
        .assert()
        .success();
        check_journals(&inst, &reference, true);
    }
    eprintln!(
        "{rounds} kills of export-journal (uninterrupted run {full:?}): {phases:?}; journals recorded: {}",
        export_rows(&inst).iter().filter(|r| r.period == "2025-01").count()
    );
    assert!(
        phases.staged_file + phases.final_file > 0,
        "no kill landed while the journal was being written: {phases:?}"
    );
}

/// `count` statements for 2025-01: one PI and project each, a few charges apiece.
fn instance_with_statements(count: usize, extra: &str) -> Instance {
    let inst = instance_with_charges(0, extra);
    let path = inst.path("hpc_statements_2025-01.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    writeln!(
        f,
        "BillingPeriodStart,BillingPeriodEnd,BilledCost,ResourceId,ServiceName,Tags"
    )
    .expect("write");
    for i in 0..count * 3 {
        let k = i % count;
        writeln!(f, "2025-01-01,2025-01-31,{}.{:02},r{i},Compute,\"{{\"\"pi_email\"\": \"\"pi{k}@example.edu\"\", \"\"project_id\"\": \"\"p{k}\"\", \"\"fund_org\"\": \"\"F-{k}\"\"}}\"", 10 + i % 90, i % 100)
            .expect("write");
    }
    f.flush().expect("flush");
    drop(f);
    ingest(&inst, &path, "HPC");
    inst
}

/// The staging folders (and their lock files) of generation runs in `pdf_dir`.
fn staging_entries(pdf_dir: &Path) -> Vec<String> {
    entries(pdf_dir)
        .into_iter()
        .filter(|e| e.starts_with(".staging-"))
        .collect()
}

/// Polls `found` every half millisecond until it gives something, while `child` still runs.
fn wait_while_running<T>(child: &mut Child, what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(t) = found() {
            return t;
        }
        assert!(
            child.try_wait().expect("poll").is_none(),
            "{what}: the process ended first"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{what}: not within 120 s"
        );
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// Waits until a run's staging folder holds a rendered PDF; returns the folder.
fn wait_for_rendering(pdf_dir: &Path, child: &mut Child) -> PathBuf {
    wait_while_running(child, "a PDF rendered in a staging folder", || {
        staging_entries(pdf_dir)
            .into_iter()
            .map(|e| pdf_dir.join(e))
            .find(|d| d.is_dir() && !entries(d).is_empty())
    })
}

fn pdfs(pdf_dir: &Path) -> usize {
    entries(pdf_dir)
        .iter()
        .filter(|e| e.ends_with(".pdf"))
        .count()
}

#[test]
fn issue15_8e_a_killed_generate_leaves_no_staging_folder_after_the_next_run() {
    let inst = instance_with_statements(40, "");
    let pdf_dir = inst.path("out/pdfs");
    let mut child = spawn(&inst, &["generate", "--period", "2025-01"]);
    let staging = wait_for_rendering(&pdf_dir, &mut child);
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(staging.is_dir(), "the killed run left its staging folder");
    inst.cmd(&["generate", "--period", "2025-01"])
        .assert()
        .success();
    assert_eq!(staging_entries(&pdf_dir), Vec::<String>::new());
    assert_eq!(pdfs(&pdf_dir), 40);
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM statements WHERE period = '2025-01'"),
        40
    );
    // A PDF restored on its own is staged beside its final name too; nothing else is left.
    let first = pdf_dir.join(entries(&pdf_dir).into_iter().next().expect("a PDF"));
    let before = std::fs::read(&first).expect("read");
    std::fs::remove_file(&first).expect("delete");
    inst.cmd(&["generate", "--period", "2025-01", "--restore-missing"])
        .assert()
        .success();
    assert_eq!(std::fs::read(&first).expect("restored").len(), before.len());
    assert_eq!(
        pdfs(&pdf_dir),
        entries(&pdf_dir).len(),
        "only PDFs are left"
    );
}

#[test]
fn issue15_8e_recovery_leaves_the_staging_folder_of_a_running_generate_alone() {
    let inst = instance_with_statements(40, "");
    let pdf_dir = inst.path("out/pdfs");
    let mut running = spawn(&inst, &["generate", "--period", "2025-01"]);
    let staging = wait_for_rendering(&pdf_dir, &mut running);
    // Another generate starts meanwhile and recovers what interrupted runs left in the folder
    // (restoring missing PDFs of another period: a run that creates no statements, which would
    // make the running one refuse to commit).
    inst.cmd(&["generate", "--period", "2025-02", "--restore-missing"])
        .assert()
        .success();
    if running.try_wait().expect("poll").is_none() {
        assert!(
            staging.is_dir(),
            "the running generate's staging folder was deleted"
        );
    }
    let out = running.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(pdfs(&pdf_dir), 40, "every statement of the run has its PDF");
    assert_eq!(staging_entries(&pdf_dir), Vec::<String>::new());
}

/// Every dev-mode e-mail file is whole and has its log row; after recovery also no staged file
/// is left and every logged message has both files.
fn check_emails(inst: &Instance, recovered: bool) {
    let dir = inst.path("out/emails");
    let conn = rusqlite::Connection::open(inst.db()).expect("open");
    let mut stmt = conn
        .prepare("SELECT file_path FROM email_log WHERE file_path IS NOT NULL")
        .expect("prepare");
    let logged: BTreeSet<PathBuf> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .map(|p| PathBuf::from(p.expect("path")))
        .collect();
    for name in entries(&dir).iter().filter(|n| !n.starts_with('.')) {
        let path = dir.join(name);
        assert!(
            logged.contains(&path.with_extension("eml")),
            "{name} is on disk without its e-mail log row"
        );
        let text = std::fs::read_to_string(&path).expect("read");
        let end = if name.ends_with(".eml") {
            "--"
        } else {
            "</html>"
        };
        assert!(text.trim_end().ends_with(end), "{name} is cut short");
    }
    if recovered {
        let hidden: Vec<String> = entries(&dir)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "left after recovery: {hidden:?}");
        for eml in &logged {
            assert!(
                eml.is_file() && eml.with_extension("html").is_file(),
                "{} is logged but missing",
                eml.display()
            );
        }
    }
}

#[test]
fn issue15_sigkill_during_a_dev_mode_send_leaves_each_email_whole_with_its_log_row() {
    let inst = instance_with_statements(40, "dev_mode: true\n");
    inst.cmd(&["generate", "--period", "2025-01"])
        .assert()
        .success();
    let send = ["send", "--period", "2025-01", "--resend"];
    let started = Instant::now();
    inst.cmd(&send).assert().success();
    let full = started.elapsed();
    check_emails(&inst, true);
    let mut rng = Rng::new();
    let rounds = 16;
    let dir = inst.path("out/emails");
    for round in 0..rounds {
        let before = entries(&dir);
        let mut child = spawn(&inst, &send);
        if round % 2 == 0 {
            std::thread::sleep(full.mul_f64(rng.unit()));
        } else {
            // Aimed at the files: as soon as something new appears in the folder.
            wait_for_new_entry(&dir, &before, &mut child, full * 3);
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        check_emails(&inst, false);
        // The next send recovers the folder first (2025-02 has no statements to send).
        inst.cmd(&["send", "--period", "2025-02"])
            .assert()
            .success();
        check_emails(&inst, true);
    }
    eprintln!(
        "{rounds} kills of a dev-mode send (uninterrupted run {full:?}): {} messages logged",
        inst.sql_count("SELECT count(*) FROM email_log")
    );
}

#[test]
fn issue15_an_import_starting_leaves_the_artefacts_of_a_running_import_alone() {
    let inst = Instance::new();
    let big = inst.path("hpc_2025-01.csv");
    generate(&big, 300_000, 0);
    // A bad row near the top: the artefact folder (errors.csv, rejects.csv) exists early on.
    let text = std::fs::read_to_string(&big).expect("read");
    let (head, rows) = text.split_once('\n').expect("header");
    std::fs::write(
        &big,
        format!("{head}\n2025-01-01,2025-01-31,2025-01-01,2025-01-31,1.00,1.00,\"$1,234\",1.00,bad,bad,Compute,{{}}\n{rows}"),
    )
    .expect("write");
    let small = inst.path("aws_2025-01.csv");
    std::fs::write(&small, "BillingPeriodStart,BillingPeriodEnd,BilledCost,ResourceId,Tags\n2025-01-01,2025-01-31,1.00,r1,{}\n").expect("write");
    inst.cmd(&["periods", "open", "2025-01"]).assert().success();
    // The database is open elsewhere (as when the server runs), so the import uses the WAL and
    // other commands read alongside it.
    let elsewhere = rusqlite::Connection::open(inst.db()).expect("open");
    // A connection only takes its share of the WAL once it reads.
    let _: i64 = elsewhere
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .expect("read");
    let import_dir = inst.path("out/imports");
    let mut running = spawn(
        &inst,
        &[
            "--json",
            "ingest",
            big.to_str().expect("utf8"),
            "-s",
            "HPC",
            "--skip-invalid",
        ],
    );
    wait_while_running(&mut running, "an artefact folder", || {
        entries(&import_dir)
            .iter()
            .any(|e| !e.starts_with('.'))
            .then_some(())
    });
    // Another import starts (and cleans up artefacts of interrupted imports first); its own
    // result does not matter here.
    let _ = inst
        .cmd(&["ingest", small.to_str().expect("utf8"), "-s", "AWS"])
        .output()
        .expect("run");
    let out = running.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let report = &v["files"][0];
    assert_eq!(report["rejected"], 1, "{report}");
    for key in ["rejects_path", "errors_path"] {
        let path = report[key].as_str().expect("path");
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{key} {path} of the committed import: {e}"));
        assert!(text.contains("1,234"), "{key}: {text}");
    }
}

#[test]
fn ingest_errors_file_is_written_whole_beside_nothing_else() {
    let inst = Instance::new();
    let bad = inst.path("aws_2025-01.csv");
    std::fs::write(
        &bad,
        "BillingPeriodStart,BillingPeriodEnd,BilledCost,ResourceId,Tags\n2025-01-01,2025-01-31,\"$1,234\",r1,{}\n",
    )
    .expect("write");
    let reports = inst.path("reports");
    std::fs::create_dir(&reports).expect("mkdir");
    let dest = reports.join("errors.csv");
    let out = inst
        .cmd(&["ingest", bad.to_str().expect("utf8"), "-s", "AWS"])
        .arg("--errors-file")
        .arg(&dest)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a file with a bad row is refused"
    );
    let text = std::fs::read_to_string(&dest).expect("errors file");
    assert!(
        text.starts_with("line,column,value,code,reason") && text.contains("1,234"),
        "{text}"
    );
    assert_eq!(entries(&reports), ["errors.csv"]);
}
