//! Import artefacts (`errors.csv`, `rejects.csv`) and their clean-up (SPEC §5.5, §5.10, issue
//! 15): complete files under a committed import, nothing for an import that never committed,
//! and the folder of an import still running is never taken for a crash's leftovers.

use ocb_ingest::{clean_orphan_artefacts, ingest, Database, IngestRequest, IngestSettings};
use ocb_publish::DirClaim;
use ocb_store::{Actor, Store};
use std::path::Path;

const ROWS: &str = "BillingPeriodStart,ChargePeriodStart,BilledCost,ResourceId,Tags\n\
    2025-01-01,2025-01-01,1.00,r1,{}\n\
    2025-01-01,2025-01-01,\"$1,234\",r2,{}\n";

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn only_artefacts_of_dead_uncommitted_imports_are_cleaned_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let import_dir = dir.path().join("imports");
    let settings = IngestSettings {
        import_dir: import_dir.clone(),
        ..Default::default()
    };
    let mut store = Store::open_in_memory().expect("store");
    let input = dir.path().join("in.csv");
    std::fs::write(&input, ROWS).expect("write");
    let req = IngestRequest {
        path: input,
        filename: None,
        source: "HPC".into(),
        expected_period: None,
        mode: None,
        dry_run: false,
        skip_invalid: true,
        actor: Actor::cli("tester"),
    };
    let report = ingest(
        Database::Write(&mut store),
        &settings,
        &req,
        &mut ocb_ingest::NoProgress,
    )
    .expect("ingest");
    let committed = report.uuid.clone();
    assert_eq!(
        names(&import_dir.join(&committed)),
        ["errors.csv", "rejects.csv"]
    );
    // A crash's leftovers: a folder nobody holds, and one whose process died holding it.
    let dead = "0b9f3c52-6b7e-4a8e-9d0c-5f1e2a3b4c5d";
    std::fs::create_dir(import_dir.join(dead)).expect("mkdir");
    std::fs::write(
        import_dir.join(dead).join(".ocb-staged-x-errors.csv"),
        b"li",
    )
    .expect("w");
    let died =
        DirClaim::create(&import_dir.join("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f")).expect("claim");
    drop(died);
    // An import running right now.
    let running =
        DirClaim::create(&import_dir.join("2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a")).expect("claim");
    assert_eq!(
        clean_orphan_artefacts(&store, &import_dir).expect("clean"),
        2
    );
    let mut expected = vec![
        ".2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a.lock".to_string(),
        committed.clone(),
        "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a".to_string(),
    ];
    expected.sort();
    assert_eq!(names(&import_dir), expected);
    running.remove().expect("done");
    assert_eq!(names(&import_dir), [committed]);
}
