//! Shared helpers for CLI integration tests: a temp instance and the real binary.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub struct Instance {
    pub dir: tempfile::TempDir,
}

impl Default for Instance {
    fn default() -> Self {
        Self::new()
    }
}

impl Instance {
    pub fn new() -> Self {
        Self::with_extra("")
    }

    /// An instance whose config.yaml gets `extra` appended.
    pub fn with_extra(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let config = format!(
            "database:\n  path: {d}/billing.db\noutput:\n  pdf_dir: {d}/out/pdfs\n  journal_dir: {d}/out/journals\n  email_dir: {d}/out/emails\n  import_dir: {d}/out/imports\n  backup_dir: {d}/backups\n{extra}"
        );
        std::fs::write(dir.path().join("config.yaml"), config).expect("write config");
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("billing.db")
    }

    /// `focus-billing -c CONFIG args…` (the upstream binary name).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("focus-billing").expect("binary built");
        c.current_dir(self.dir.path())
            .arg("-c")
            .arg(self.path("config.yaml"))
            .args(args)
            .env_remove("OPENCHARGEBACK_CONFIG")
            .env_remove("FOCUS_BILLING_CONFIG");
        c
    }

    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let out = self.cmd(args).arg("--json").output().expect("run");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), v)
    }

    pub fn sql_count(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.db()).expect("open db");
        conn.query_row(sql, [], |r| r.get(0)).expect("query")
    }
}

pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/sample")
        .join(name)
}

pub const JAN_2025: [(&str, &str); 5] = [
    ("aws_2025-01.csv", "AWS"),
    ("azure_2025-01.csv", "Azure"),
    ("hpc_2025-01.csv", "HPC"),
    ("storage_2025-01.csv", "Storage"),
    ("it_storage_2025-01.csv", "IT Storage"),
];

/// Writes a generated lite FOCUS CSV: `rows` rows, the first `missing_pi` without pi_email.
/// Returns the exact billed total in cents·10^4 (four extra decimals), computed independently.
pub fn generate(path: &Path, rows: usize, missing_pi: usize) -> i128 {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(f, "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags").expect("write");
    let mut total: i128 = 0;
    for i in 0..rows {
        let units = (i as i128 * 7919) % 1_000_000; // 0.000000 … 99.9999 with 4 decimals
        total += units;
        let billed = format!("{}.{:04}", units / 10_000, units % 10_000);
        let tags = if i < missing_pi {
            format!(
                "{{\"\"project_id\"\": \"\"p{}\"\", \"\"fund_org\"\": \"\"F-{}\"\"}}",
                i % 50,
                i % 7
            )
        } else {
            format!("{{\"\"pi_email\"\": \"\"pi{}@example.edu\"\", \"\"project_id\"\": \"\"p{}\"\", \"\"fund_org\"\": \"\"F-{}\"\"}}", i % 300, i % 50, i % 7)
        };
        writeln!(f, "2025-01-01,2025-01-31,2025-01-01,2025-01-31,{billed},{billed},{billed},{billed},res-{i},name-{i},Service {},\"{tags}\"", i % 9).expect("write");
    }
    f.flush().expect("flush");
    total
}

/// Whether poppler's `pdftotext` is installed. Without it PDF checks are skipped with a message
/// on a developer machine (the README's test command must pass with only the Rust toolchain) but
/// fail under `.ci/run`, which installs poppler and sets `OCB_REQUIRE_SYSTEM_TOOLS=1`.
pub fn have_poppler() -> bool {
    let found = std::process::Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok();
    let required = std::env::var_os("OCB_REQUIRE_SYSTEM_TOOLS").is_some_and(|v| v == "1");
    assert!(
        found || !required,
        "pdftotext is required under .ci/run (apt-get install poppler-utils)"
    );
    if !found {
        eprintln!("SKIPPED: pdftotext not found (apt-get install poppler-utils, or run .ci/run)");
    }
    found
}

/// Whether qpdf is installed, on the same terms as [`have_poppler`] (`.ci/run` installs it).
#[allow(dead_code)] // not every test binary that includes this module checks PDFs with qpdf
pub fn have_qpdf() -> bool {
    let found = std::process::Command::new("qpdf")
        .arg("--version")
        .output()
        .is_ok();
    let required = std::env::var_os("OCB_REQUIRE_SYSTEM_TOOLS").is_some_and(|v| v == "1");
    assert!(
        found || !required,
        "qpdf is required under .ci/run (apt-get install qpdf)"
    );
    if !found {
        eprintln!("SKIPPED: qpdf not found (apt-get install qpdf, or run .ci/run)");
    }
    found
}

/// `qpdf --check` of every PDF in `dir`: the names of the files it finds fault with, and why.
#[allow(dead_code)] // not every test binary that includes this module checks PDFs with qpdf
pub fn qpdf_failures(dir: &std::path::Path) -> Vec<String> {
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("pdf dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "pdf") {
            continue;
        }
        checked += 1;
        let out = std::process::Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .expect("run qpdf");
        // Exit 0: no problem; 3: warnings only (qpdf says the file may still be readable), which
        // counts as a failure here too.
        if out.status.code() != Some(0) {
            failures.push(format!(
                "{}: {}{}",
                path.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(checked > 0, "no PDF in {}", dir.display());
    failures
}

/// An instance (with `extra` config) holding the five 2025-01 sample files, ingested.
pub fn january(extra: &str) -> Instance {
    let inst = Instance::with_extra(extra);
    for (file, source) in JAN_2025 {
        let path = sample(file);
        inst.cmd(&[
            "ingest",
            path.to_str().expect("utf8"),
            "-s",
            source,
            "-p",
            "2025-01",
        ])
        .assert()
        .success();
    }
    inst
}
