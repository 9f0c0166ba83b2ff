//! `bench import-upstream --charges N`: builds a Python OpenChargeback database of N charges and
//! a FOCUS CSV of the same rows (`bench ingest`'s generator), then times the real binary's
//! `db import-upstream` and `ingest` on fresh databases. Budget (issue 17): the import takes at
//! most twice the ingest's time. A benchmark, not a test: its figures go to BENCHMARKS.md.

use crate::error::CliError;
use ocb_store::upstream::{create_python_database, UpstreamCharge};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The upstream DDL the tests use (version 10).
const SCHEMA: &str = include_str!("../../tests/fixtures/upstream/schema_v10.sql");

const SERVICES: [&str; 5] = [
    "Amazon EC2",
    "Amazon S3",
    "HPC Cluster",
    "Research Storage - Scratch",
    "Azure Virtual Machines",
];

/// Row `i` of `super::bench::generate`, as the Python project would have stored it.
fn row(i: u64) -> UpstreamCharge {
    let project = i % 1200;
    let list = (i * 7919) % 500_000;
    let billed = list * 85 / 100;
    let cents = |c: u64| Some(format!("{}.{:02}", c / 100, c % 100));
    let day = format!("2025-01-{:02}", i % 28 + 1);
    let (pi, proj, fund) = (
        format!("pi{}@example.edu", project % 600),
        format!("project-{project}"),
        format!("FUND-{:04}", project % 97),
    );
    UpstreamCharge {
        charge_period_start: Some(day.clone()),
        charge_period_end: Some(day),
        costs: [cents(list), cents(list), cents(billed), cents(billed)],
        resource_id: Some(format!("i-{i:012x}")),
        resource_name: Some(format!("compute-node-{i}")),
        service_name: Some(SERVICES[(i % 5) as usize].into()),
        raw_tags: Some(format!(
            r#"{{"pi_email": "{pi}", "project_id": "{proj}", "fund_org": "{fund}"}}"#
        )),
        pi_email: Some(pi),
        project_id: Some(proj),
        fund_org: Some(fund),
        ..Default::default()
    }
}

fn fresh(work: &Path, name: &str) -> std::io::Result<PathBuf> {
    let dir = work.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "database:\n  path: {}\noutput:\n  import_dir: {}\n  pdf_dir: {}\n",
            dir.join("billing.db").display(),
            dir.join("imports").display(),
            dir.join("pdfs").display()
        ),
    )?;
    Ok(config)
}

/// Runs the binary with `args` on `config`; wall seconds and the child's peak RSS in MiB.
fn timed(config: &Path, args: &[&str]) -> Result<(f64, f64), CliError> {
    let (secs, kib) = super::bench::timed_child(config, args)?;
    Ok((secs, kib as f64 / 1024.0))
}

pub fn run(charges: u64, dir: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let work = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ocb-bench-upstream-{}", std::process::id()))
    });
    std::fs::create_dir_all(&work)?;
    let csv = work.join("bench_2025-01.csv");
    let upstream = work.join("python-billing.db");
    let _ = std::fs::remove_file(&upstream);
    eprintln!("generating {charges} rows (FOCUS CSV and Python database) …");
    super::bench::generate(&csv, charges)?;
    create_python_database(&upstream, SCHEMA, "2025-01", (0..charges).map(row))?;
    let ingest = timed(
        &fresh(&work, "ingest")?,
        &["ingest", &csv.display().to_string(), "-s", "AWS"],
    )?;
    let import = timed(
        &fresh(&work, "import")?,
        &["db", "import-upstream", &upstream.display().to_string()],
    )?;
    for (label, (secs, mib)) in [
        ("ingest (FOCUS CSV)", ingest),
        ("db import-upstream", import),
    ] {
        println!("{label:<22} {charges} charges  {secs:>6.2} s  {:>10.0} charges/s  peak RSS {mib:.0} MiB", charges as f64 / secs);
    }
    let ratio = import.0 / ingest.0;
    println!(
        "import-upstream / ingest = {ratio:.2} (budget ≤ 2.00: {})",
        if ratio <= 2.0 { "met" } else { "NOT met" }
    );
    Ok(ExitCode::SUCCESS)
}
