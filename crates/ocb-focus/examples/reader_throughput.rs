//! Measures reader throughput on a generated lite CSV (SPEC §15.1 ingest budget).
//!
//! `cargo run --release -p ocb-focus --example reader_throughput [ROWS] [FILE]` (default
//! 1,000,000 rows of about 300 bytes with JSON tags, generated into a temporary file unless FILE
//! is given; an existing FILE is reused). Prints rows/s for the reader alone (generation is not
//! timed). Charge dates change on every row, the worst case for the reader's date cache.
//!
//! It uses mimalloc, the global allocator of the `openchargeback` binary, so the figure is the
//! reader as ingest runs it (with the system allocator it is about 10% slower).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use ocb_focus::{FocusReader, RowResult};
use std::io::{BufWriter, Write};
use std::time::Instant;

fn main() {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::args()
        .nth(2)
        .map_or_else(|| dir.path().join("lite.csv"), std::path::PathBuf::from);
    if !path.exists() {
        generate(&path, rows);
    }
    let size = std::fs::metadata(&path).unwrap().len();
    println!("input: {} bytes", size);
    for run in 1..=3 {
        let start = Instant::now();
        let mut reader = FocusReader::open(&path).unwrap();
        let (mut good, mut bad) = (0u64, 0u64);
        while let Some(r) = reader.next_row() {
            match r {
                RowResult::Row(_) => good += 1,
                RowResult::Rejected(_) => bad += 1,
            }
        }
        let stats = reader.finish().unwrap();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "run {run}: {good} rows, {bad} rejected in {secs:.3} s = {:.0} rows/s, {} bytes/row",
            stats.rows_read as f64 / secs,
            size / stats.rows_read.max(1)
        );
    }
}

fn generate(path: &std::path::Path, rows: u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        out,
        "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,\
         ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags"
    )
    .unwrap();
    for i in 0..rows {
        let day = i % 28 + 1;
        writeln!(
            out,
            "2025-01-01,2025-02-01,2025-01-{day:02}T00:00:00Z,2025-01-{day:02}T23:59:59Z,\
             {}.{:02},{}.{:02},{}.{:02},{}.{:02},arn:aws:ec2:us-east-1:123456789012:instance/i-{i:016x},node-{i},Amazon EC2,\
             \"{{\"\"pi_email\"\": \"\"pi{}@example.edu\"\", \"\"project_id\"\": \"\"proj-{}\"\", \
             \"\"fund_org\"\": \"\"FO-{:06}\"\"}}\"",
            i % 1000,
            i % 100,
            i % 900,
            i % 100,
            i % 800,
            i % 100,
            i % 800,
            i % 100,
            i % 500,
            i % 2000,
            i % 100_000,
        )
        .unwrap();
    }
    out.flush().unwrap();
}
