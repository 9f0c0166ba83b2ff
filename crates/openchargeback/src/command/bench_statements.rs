//! `bench statements --pairs N --charges M [--scenario mixed|daily]`: ingests a generated month
//! with N PI/project pairs of M charges each into a fresh instance, then times the real binary's
//! `generate` (a first run creating every statement, then a regeneration) and reports statements
//! per second, the child's peak memory, the load average around each run (the machine may be
//! shared) and the size of the PDFs. A benchmark, not a test: figures go to BENCHMARKS.md.

use crate::cli::BenchScenario;
use crate::error::CliError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Writes `pairs × charges` lite rows for 2025-01: two projects per PI, two fund/orgs on every
/// tenth project, services with and without list prices (a 100% subsidised HPC service too).
fn write_month(path: &Path, pairs: u64, charges: u64) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags")?;
    let services = [
        "Amazon EC2",
        "Amazon S3",
        "HPC Cluster",
        "Research Storage",
        "Azure Virtual Machines",
    ];
    for pair in 0..pairs {
        for c in 0..charges {
            let i = pair * charges + c;
            let service = services[(c % 5) as usize];
            let list = (i * 7919) % 90_000 + 100;
            let billed = if service == "HPC Cluster" {
                0
            } else {
                list * 85 / 100
            };
            let list_cell = if c % 7 == 3 {
                String::new()
            } else {
                format!("{}.{:02}", list / 100, list % 100)
            };
            let fund = if pair % 10 == 0 && c % 2 == 1 {
                format!("FUND-B{pair:04}")
            } else {
                format!("FUND-{pair:04}")
            };
            writeln!(
                f,
                "2025-01-01,2025-01-31,2025-01-{day:02},2025-01-{day:02},{list_cell},{b},{b},{b},res-{i:08},node-{i},{service},\"{{\"\"pi_email\"\": \"\"pi{}@example.edu\"\", \"\"project_id\"\": \"\"project-{pair:04}\"\", \"\"fund_org\"\": \"\"{fund}\"\"}}\"",
                pair / 2,
                b = format!("{}.{:02}", billed / 100, billed % 100),
                day = c % 28 + 1,
            )?;
        }
    }
    f.flush()
}

/// Writes `pairs × charges` daily lines for 2025-01, as cloud cost exports give them: every
/// project runs a few resources, each billed once per day of the month (the last one for the days
/// the count leaves), at 15% off list; every tenth project has a second fund/org.
fn write_daily_month(path: &Path, pairs: u64, charges: u64) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags")?;
    let services = [
        ("Amazon EC2", "compute"),
        ("Amazon EBS", "volume"),
        ("Amazon S3", "bucket"),
        ("Amazon CloudWatch", "logs"),
        ("Azure Virtual Machines", "vm"),
        ("AWS Lambda", "function"),
    ];
    for pair in 0..pairs {
        for c in 0..charges {
            let (resource, day) = (c / 31, c % 31 + 1);
            let (service, kind) = services[((pair + resource) % 6) as usize];
            let list = (pair * 7919 + resource * 104_729 + day * 13) % 40_000 + 50;
            let billed = list * 85 / 100;
            let fund = if pair % 10 == 0 && resource % 2 == 1 {
                format!("FUND-B{pair:04}")
            } else {
                format!("FUND-{pair:04}")
            };
            let l = format!("{}.{:02}", list / 100, list % 100);
            let b = format!("{}.{:02}", billed / 100, billed % 100);
            writeln!(
                f,
                "2025-01-01,2025-01-31,2025-01-{day:02},2025-01-{day:02},{l},{b},{b},{b},arn:{kind}:{pair:04}{resource:02}{:08x},project-{pair:04}-{kind}-{resource:02},{service},\"{{\"\"pi_email\"\": \"\"pi{}@example.edu\"\", \"\"project_id\"\": \"\"project-{pair:04}\"\", \"\"fund_org\"\": \"\"{fund}\"\"}}\"",
                pair * 31 + resource,
                pair / 2,
            )?;
        }
    }
    f.flush()
}

/// Count, total and largest size (bytes) of the PDFs in `dir`.
fn pdf_sizes(dir: &Path) -> std::io::Result<(u64, u64, u64)> {
    let mut sizes = (0, 0, 0);
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "pdf") {
            let len = std::fs::metadata(&path)?.len();
            sizes = (sizes.0 + 1, sizes.1 + len, sizes.2.max(len));
        }
    }
    Ok(sizes)
}

/// The 1-minute load average, to say how busy a shared machine was (`?` where there is none).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn child(exe: &Path, config: &Path, args: &[&str]) -> Result<(f64, String, String), CliError> {
    let start = Instant::now();
    let out = std::process::Command::new(exe)
        .args(["-c", &config.display().to_string(), "--no-progress"])
        .args(args)
        .env("OCB_REPORT_PEAK_RSS", "1")
        .output()?;
    let secs = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() {
        return Err(CliError::fail(
            "internal",
            format!("benchmark step {args:?} failed: {stderr}{stdout}"),
        ));
    }
    Ok((secs, stdout, stderr))
}

pub fn run(
    pairs: u64,
    charges: u64,
    scenario: BenchScenario,
    workers: Option<usize>,
    dir: Option<PathBuf>,
) -> Result<ExitCode, CliError> {
    let work = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("ocb-bench-statements-{}", std::process::id()))
    });
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let csv = work.join("bench_2025-01.csv");
    eprintln!("generating {pairs} PI/project pairs × {charges} charges ({scenario:?}) …");
    match scenario {
        BenchScenario::Mixed => write_month(&csv, pairs, charges)?,
        BenchScenario::Daily => write_daily_month(&csv, pairs, charges)?,
    }
    let config = work.join("config.yaml");
    let d = work.display();
    std::fs::write(
        &config,
        format!("database:\n  path: {d}/billing.db\noutput:\n  pdf_dir: {d}/pdfs\n  import_dir: {d}/imports\n  email_dir: {d}/emails\n"),
    )?;
    let exe = std::env::current_exe()?;
    child(
        &exe,
        &config,
        &["-q", "ingest", &csv.display().to_string(), "-s", "AWS"],
    )?;
    let mut generate = vec![
        "--json".to_string(),
        "generate".into(),
        "--period".into(),
        "2025-01".into(),
    ];
    if let Some(w) = workers {
        generate.extend(["--workers".into(), w.to_string()]);
    }
    let args: Vec<&str> = generate.iter().map(String::as_str).collect();
    for label in ["first run (all new)", "regeneration (unchanged)"] {
        let load_before = load_average();
        let (secs, stdout, stderr) = child(&exe, &config, &args)?;
        let report: serde_json::Value =
            serde_json::from_str(&stdout).map_err(anyhow::Error::from)?;
        let n = report["projects"].as_u64().unwrap_or(0);
        let peak_kib: u64 = stderr
            .lines()
            .find_map(|l| l.strip_prefix("peak_rss_kib="))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        println!(
            "{label:<26} {n} statements  {secs:>6.2} s  {:>7.1} statements/s  (in-process {} ms, {} workers)  peak RSS {:.0} MiB  load {load_before} → {}",
            n as f64 / secs,
            report["duration_ms"],
            report["workers"],
            peak_kib as f64 / 1024.0,
            load_average(),
        );
    }
    let (count, total, largest) = pdf_sizes(&work.join("pdfs"))?;
    println!(
        "PDFs: {count}, {:.1} KiB on average, largest {:.1} KiB",
        total as f64 / count.max(1) as f64 / 1024.0,
        largest as f64 / 1024.0
    );
    println!("instance: {}", work.display());
    Ok(ExitCode::SUCCESS)
}
