//! Several processes on one database at once (issue 15, item 1; SPEC §5.10): imports run one
//! at a time, enforced by SQLite's locks; everyone else waits, saying for whom, and the database
//! holds exactly the imports that reported success.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Every process may wait for all the imports of a round, so a debug build never times out.
const CONFIG: &str = "  busy_timeout_ms: 120000\n";

fn instance() -> Instance {
    let inst = Instance::new();
    let path = inst.path("config.yaml");
    let text = std::fs::read_to_string(&path).expect("config");
    let text = text.replacen("database:\n", &format!("database:\n{CONFIG}"), 1);
    std::fs::write(&path, text).expect("config");
    inst
}

/// A lite FOCUS file of `rows` charges in `period`, costs 0.01 … so every total is distinct.
fn focus_file(path: &Path, period: &str, rows: usize, salt: &str) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(
        f,
        "BillingPeriodStart,BillingPeriodEnd,BilledCost,ResourceId,Tags"
    )
    .expect("w");
    for i in 0..rows {
        writeln!(
            f,
            "{period}-01,{period}-28,{}.{:02},{salt}-r{i},\"{{\"\"pi_email\"\":\"\"pi{}@example.edu\"\",\"\"project_id\"\":\"\"p{}\"\",\"\"fund_org\"\":\"\"F-{}\"\"}}\"",
            i % 97,
            i % 100,
            i % 7,
            i % 5,
            i % 3
        )
        .expect("w");
    }
    f.flush().expect("flush");
}

fn spawn(inst: &Instance, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("openchargeback"))
        .current_dir(inst.dir.path())
        .arg("-c")
        .arg(inst.path("config.yaml"))
        .args(args)
        .env_remove("OPENCHARGEBACK_CONFIG")
        .env_remove("FOCUS_BILLING_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary")
}

fn spawn_ingest(inst: &Instance, file: &Path, source: &str, period: &str) -> Child {
    let file = file.to_str().expect("utf8");
    spawn(
        inst,
        &[
            "ingest", file, "--source", source, "--period", period, "--json",
        ],
    )
}

struct Import {
    source: String,
    rows: u64,
    out: Output,
}

impl Import {
    /// The import's report: `ingest --json` prints `{"files": [report]}`.
    fn report(&self) -> serde_json::Value {
        let doc: serde_json::Value = serde_json::from_slice(&self.out.stdout).unwrap_or_else(|e| {
            panic!(
                "ingest printed no JSON report ({e}); stderr: {}",
                String::from_utf8_lossy(&self.out.stderr)
            )
        });
        doc["files"][0].clone()
    }
}

/// stderr lines other than the documented "waiting for …" notice.
fn unexpected_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("waiting for "))
        .map(str::to_string)
        .collect()
}

fn check_reader(what: &str, out: &Output) {
    assert!(
        out.status.success() && unexpected_lines(out).is_empty(),
        "{what}: exit {:?}, stderr {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check_readers(readers: Vec<(&str, Child)>) {
    for (what, child) in readers {
        let out = child.wait_with_output().expect("reader ends");
        check_reader(what, &out);
        if what == "periods list" {
            let v: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("one JSON document");
            assert!(v.is_array() || v.is_object(), "{v}");
        }
    }
}

fn spawn_readers(inst: &Instance) -> Vec<(&'static str, Child)> {
    vec![
        ("db check", spawn(inst, &["db", "check"])),
        ("periods list", spawn(inst, &["periods", "list", "--json"])),
    ]
}

/// The database against what the processes reported: every import that exited 0 is committed
/// with its rows, none other is, and each (source, period) holds the rows of its last import.
fn check_database(inst: &Instance, imports: &[Import], period: &str) {
    let conn = rusqlite::Connection::open(inst.db()).expect("open");
    for imp in imports {
        let report = imp.report();
        let uuid = report["uuid"].as_str().expect("uuid");
        let committed: i64 = conn
            .query_row(
                "SELECT count(*) FROM imports WHERE uuid = ?1 AND status = 'committed'",
                [uuid],
                |r| r.get(0),
            )
            .expect("query");
        assert_eq!(
            committed,
            i64::from(imp.out.status.success()),
            "import {uuid} of {} exited {:?}",
            imp.source,
            imp.out.status.code()
        );
        assert!(
            imp.out.status.success(),
            "with a long busy timeout every import waits its turn: {}",
            String::from_utf8_lossy(&imp.out.stderr)
        );
        assert_eq!(report["inserted"].as_u64(), Some(imp.rows), "{report}");
    }
    for imp in imports {
        let (last_rows,): (i64,) = conn
            .query_row(
                "SELECT rows_read FROM imports WHERE source = ?1 AND status = 'committed'
                 ORDER BY id DESC LIMIT 1",
                [&imp.source],
                |r| Ok((r.get(0)?,)),
            )
            .expect("last import");
        let live: i64 = conn
            .query_row(
                "SELECT count(*) FROM charges c JOIN sources s ON s.id = c.source_id
                 WHERE s.name = ?1 AND c.period = ?2 AND c.removed_at IS NULL",
                [&imp.source, period],
                |r| r.get(0),
            )
            .expect("charges");
        assert_eq!(live, last_rows, "live charges of {}", imp.source);
    }
}

fn file(inst: &Instance, name: &str, period: &str, rows: usize) -> PathBuf {
    let path = inst.path(name);
    focus_file(&path, period, rows, name);
    path
}

/// The reported failure: a long import, and a short one started while it runs. Before the fix
/// the short one reported success, the long one failed, and the database held neither.
#[test]
fn a_second_import_waits_for_the_first_and_both_are_kept() {
    let inst = instance();
    let big = file(&inst, "big.csv", "2025-01", 150_000);
    let small = file(&inst, "small.csv", "2025-01", 1_000);
    let first = spawn_ingest(&inst, &big, "AWS", "2025-01");
    // The first import is writing once its source and period exist … in its transaction, which
    // nobody else can see; so wait until its beacon names it instead.
    let beacon = inst.path("billing.db-writer");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !beacon.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the import never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = spawn_ingest(&inst, &small, "Azure", "2025-01");
    let readers = spawn_readers(&inst);
    let imports = [
        Import {
            source: "AWS".into(),
            rows: 150_000,
            out: first.wait_with_output().expect("first ends"),
        },
        Import {
            source: "Azure".into(),
            rows: 1_000,
            out: second.wait_with_output().expect("second ends"),
        },
    ];
    check_readers(readers);
    check_database(&inst, &imports, "2025-01");
    let waited = String::from_utf8_lossy(&imports[1].out.stderr);
    let first_id = imports[0].report()["id"].as_i64().expect("id");
    assert!(
        waited.contains(&format!(
            "waiting for import {first_id} (AWS, big.csv, process "
        )),
        "the second import says whom it waits for: {waited:?}"
    );
    inst.cmd(&["db", "check"]).assert().success();
}

/// 20 rounds of two to four simultaneous imports plus readers (issue 15 acceptance).
#[test]
fn stress_rounds_of_parallel_imports_and_readers() {
    let inst = instance();
    let mut all = Vec::new();
    for round in 0..20usize {
        let period = format!("2024-{:02}", round % 12 + 1);
        let k = 2 + round % 3;
        let mut running = Vec::new();
        for i in 0..k {
            // In even rounds the first two importers share a source: the later one's file
            // replaces the earlier one's charges.
            let source = match (round % 2, i) {
                (0, 0 | 1) => format!("R{round}-shared"),
                _ => format!("R{round}-{i}"),
            };
            let rows = 400 + (round * 7919 + i * 104_729) % 3_000;
            let f = file(&inst, &format!("r{round}-{i}.csv"), &period, rows);
            running.push((
                source.clone(),
                rows as u64,
                spawn_ingest(&inst, &f, &source, &period),
            ));
        }
        let readers = spawn_readers(&inst);
        let mut imports: Vec<Import> = running
            .into_iter()
            .map(|(source, rows, child)| Import {
                source,
                rows,
                out: child.wait_with_output().expect("import ends"),
            })
            .collect();
        check_readers(readers);
        check_database(&inst, &imports, &period);
        all.append(&mut imports);
    }
    let committed = inst.sql_count("SELECT count(*) FROM imports WHERE status = 'committed'");
    assert_eq!(committed as usize, all.len());
    inst.cmd(&["db", "check"]).assert().success();
}

/// Reading the database file as an import would open and close it inside the import's
/// transaction, dropping the process's locks on it: it is refused before it is opened.
#[test]
fn the_database_itself_is_refused_as_input() {
    let inst = instance();
    let f = file(&inst, "one.csv", "2025-01", 3);
    inst.cmd(&["ingest", f.to_str().expect("utf8"), "--source", "AWS"])
        .assert()
        .success();
    let db = inst.db();
    for input in [db.clone(), PathBuf::from(format!("{}-wal", db.display()))] {
        if !input.exists() {
            continue;
        }
        let out = inst
            .cmd(&["ingest", input.to_str().expect("utf8"), "--source", "AWS"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            text.contains("the OpenChargeback database itself"),
            "{text}"
        );
    }
    inst.cmd(&["db", "check"]).assert().success();
    assert_eq!(
        inst.sql_count("SELECT count(*) FROM charges WHERE removed_at IS NULL"),
        3
    );
}
