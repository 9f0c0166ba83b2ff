//! `bench ingest --rows N`: generates a lite FOCUS CSV of realistic shape, then runs the real
//! binary's `ingest` on it in a fresh instance and reports rows/s and the child's peak memory.
//! This is a benchmark, not a test: its figures go to BENCHMARKS.md.

use crate::cli::BenchCommand;
use crate::error::CliError;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Writes `rows` lite rows for 2025-01 (~300 bytes each); returns the bytes written.
pub fn generate(path: &Path, rows: u64) -> std::io::Result<u64> {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let header = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags\n";
    f.write_all(header.as_bytes())?;
    let services = [
        "Amazon EC2",
        "Amazon S3",
        "HPC Cluster",
        "Research Storage - Scratch",
        "Azure Virtual Machines",
    ];
    for i in 0..rows {
        // 1,200 projects, each with one PI (600 PIs with two projects each) and one fund/org:
        // the shape of a real month, where a tag set repeats on every row of every resource.
        let project = i % 1200;
        let list = (i * 7919) % 500_000;
        let billed = list * 85 / 100;
        writeln!(
            f,
            "2025-01-01,2025-01-31,2025-01-{day:02},2025-01-{day:02},{}.{:02},{}.{:02},{}.{:02},{}.{:02},i-{i:012x},compute-node-{i},{},\"{{\"\"pi_email\"\": \"\"pi{}@example.edu\"\", \"\"project_id\"\": \"\"project-{}\"\", \"\"fund_org\"\": \"\"FUND-{:04}\"\"}}\"",
            list / 100, list % 100, list / 100, list % 100, billed / 100, billed % 100, billed / 100, billed % 100,
            services[(i % 5) as usize],
            project % 600,
            project,
            project % 97,
            day = i % 28 + 1,
        )?;
    }
    f.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

pub fn run(cmd: BenchCommand) -> Result<ExitCode, CliError> {
    let (rows, dir) = match cmd {
        BenchCommand::Ingest { rows, dir } => (rows, dir),
        BenchCommand::ImportUpstream { charges, dir } => {
            return super::bench_upstream::run(charges, dir)
        }
        BenchCommand::Statements {
            pairs,
            charges,
            scenario,
            workers,
            dir,
        } => return super::bench_statements::run(pairs, charges, scenario, workers, dir),
        BenchCommand::Web {
            rows,
            clients,
            seconds,
            dir,
            reuse,
        } => return super::bench_web::run(rows, clients, seconds, dir, reuse),
    };
    let work = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            d
        }
        None => std::env::temp_dir().join(format!("ocb-bench-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work)?;
    let csv = work.join("bench_2025-01.csv");
    let db = work.join("billing.db");
    for f in ["billing.db", "billing.db-wal", "billing.db-shm"] {
        let _ = std::fs::remove_file(work.join(f));
    }
    eprintln!("generating {rows} rows …");
    let bytes = generate(&csv, rows)?;
    let config = work.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "database:\n  path: {}\noutput:\n  import_dir: {}\n",
            db.display(),
            work.join("imports").display()
        ),
    )?;
    let mut results = Vec::new();
    let csv_arg = csv.display().to_string();
    for label in ["empty period", "re-import (all unchanged)", "dry run"] {
        let mut args = vec!["ingest", csv_arg.as_str(), "-s", "AWS"];
        if label == "dry run" {
            args.push("--dry-run");
        }
        let (secs, peak_kib) = timed_child(&config, &args)?;
        let rate = rows as f64 / secs;
        println!(
            "{label:<28} {rows} rows  {secs:>6.2} s  {rate:>10.0} rows/s  peak RSS {:.0} MiB",
            peak_kib as f64 / 1024.0
        );
        results.push((label, secs, rate, peak_kib));
    }
    println!("input: {} MiB at {}", bytes / (1 << 20), csv.display());
    Ok(ExitCode::SUCCESS)
}

/// Runs this binary with `args` on `config` (quiet, no progress bars) in a child process, so
/// each run starts cold and its own peak memory is measured; returns the wall seconds and the
/// child's peak RSS in KiB. A failed run is an error carrying the child's stderr.
pub(super) fn timed_child(config: &Path, args: &[&str]) -> Result<(f64, u64), CliError> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(["-c", &config.display().to_string(), "--no-progress", "-q"])
        .args(args)
        .env("OCB_REPORT_PEAK_RSS", "1");
    let start = Instant::now();
    let out = cmd.output()?;
    let secs = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let message = format!("benchmark run failed: {stderr}");
        return Err(CliError::fail("internal", message));
    }
    let peak_kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Ok((secs, peak_kib))
}

/// Peak resident set size of this process (Linux `VmHWM`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
