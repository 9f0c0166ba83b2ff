//! Imports one lite FOCUS file into a fresh database with default settings, for profiling the
//! ingest path alone (`valgrind --tool=callgrind`, `perf`) without building the whole CLI.
//! The benchmark figures come from `openchargeback bench ingest`; this is a development tool.
//!
//! `cargo run --release -p ocb-ingest --example ingest_profile -- FILE DB [PERIOD]`; DB `-` is a
//! dry run against no database (the reader and the diff alone).

use ocb_ingest::{ingest, Database, IngestRequest, IngestSettings, NoProgress};
use ocb_store::{Actor, OpenMode, Store};
use std::path::PathBuf;
use std::time::Instant;

// The CLI's allocator, so profiles match the real binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(db)) = (args.first(), args.get(1)) else {
        return Err("usage: ingest_profile FILE DB [PERIOD]".into());
    };
    let period = args.get(2).map_or("2025-01", String::as_str).parse()?;
    let actor = Actor::cli("profile");
    let dry_run = db == "-";
    let mut store = if dry_run {
        None
    } else {
        let mut store = Store::open(&PathBuf::from(db), OpenMode::Create, 5000)?;
        store.allow_solo_imports(); // as the CLI does
        store.open_period(&actor, period, None)?;
        Some(store)
    };
    let settings = IngestSettings {
        import_dir: std::env::temp_dir().join("ocb-ingest-profile"),
        ..IngestSettings::default()
    };
    let request = IngestRequest {
        path: PathBuf::from(file),
        filename: None,
        source: "bench".into(),
        expected_period: Some(period),
        mode: None,
        dry_run,
        skip_invalid: false,
        actor,
    };
    let started = Instant::now();
    let database = match store.as_mut() {
        Some(store) => Database::Write(store),
        None => Database::Empty,
    };
    let report = ingest(database, &settings, &request, &mut NoProgress)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}: {} rows read, {} inserted in {seconds:.2} s ({:.0} rows/s)",
        report.status,
        report.totals.rows_read,
        report.totals.inserted,
        report.totals.rows_read as f64 / seconds
    );
    Ok(())
}
