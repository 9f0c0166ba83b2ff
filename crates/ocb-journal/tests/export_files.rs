//! The journal file of an export (issue 15): staged, recorded with its audit event, then
//! renamed; collisions get `-2`, `-3`; a refused record leaves no file behind.

use chrono::{DateTime, Utc};
use ocb_journal::{export_journal, ExportRequest, Format, OutputTarget};
use ocb_store::{Actor, OpenMode, Store};
use std::path::{Path, PathBuf};

struct Setup {
    dir: tempfile::TempDir,
    config: ocb_config::Config,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tmp");
    let yaml = format!(
        "database:\n  path: {d}/billing.db\noutput:\n  journal_dir: {d}/journals\n",
        d = dir.path().display()
    );
    let path = dir.path().join("config.yaml");
    let config = ocb_config::load_str(&yaml, Some(&path), &|_| None, dir.path())
        .expect("config")
        .config;
    let mut store = Store::open(&config.database.path, OpenMode::Create, 5000).expect("store");
    store
        .open_period(
            &Actor::cli("alice"),
            "2025-01".parse().expect("period"),
            None,
        )
        .expect("period");
    Setup { dir, config }
}

impl Setup {
    fn store(&self) -> Store {
        Store::open(&self.config.database.path, OpenMode::Create, 5000).expect("store")
    }

    fn journals(&self) -> PathBuf {
        self.dir.path().join("journals")
    }
}

fn request(output: OutputTarget) -> ExportRequest {
    ExportRequest {
        period: "2025-01".parse().expect("period"),
        format: Format::Summary,
        include_flagged: false,
        output,
        actor: Actor::cli("alice"),
    }
}

fn at() -> DateTime<Utc> {
    "2025-02-03T04:05:06Z".parse().expect("time")
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn exports_in_the_same_second_get_numbered_names_each_with_its_record() {
    let s = setup();
    let store = s.store();
    let paths: Vec<PathBuf> = (0..3)
        .map(|_| {
            let out = export_journal(&store, &s.config, &request(OutputTarget::CliDefault), at())
                .expect("export");
            out.record.path.expect("stored")
        })
        .collect();
    assert_eq!(
        names(&s.journals()),
        [
            "journal_2025-01_20250203_040506-2.csv",
            "journal_2025-01_20250203_040506-3.csv",
            "journal_2025-01_20250203_040506.csv",
        ]
    );
    let (rows, _) = store.journal_exports(None, None, 0, 10).expect("log");
    let mut recorded: Vec<PathBuf> = rows.iter().map(|r| PathBuf::from(&r.stored_path)).collect();
    recorded.reverse();
    assert_eq!(recorded, paths);
    let audited = store
        .audit_events(Some("export.journal"), 10)
        .expect("audit");
    assert_eq!(audited.len(), 3);
    assert_eq!(
        audited[0].details["filename"],
        "journal_2025-01_20250203_040506-3.csv"
    );
}

#[test]
fn an_explicit_output_replaces_the_file_there() {
    let s = setup();
    let store = s.store();
    let target = s.dir.path().join("out/finance.csv");
    std::fs::create_dir_all(target.parent().expect("dir")).expect("mkdir");
    std::fs::write(&target, b"old").expect("write");
    let out = export_journal(
        &store,
        &s.config,
        &request(OutputTarget::File(target.clone())),
        at(),
    )
    .expect("export");
    assert_eq!(std::fs::read_to_string(&target).expect("read"), out.content);
    assert_eq!(names(target.parent().expect("dir")), ["finance.csv"]);
}

#[test]
fn an_explicit_output_naming_a_directory_is_refused_before_anything_is_recorded() {
    let s = setup();
    let store = s.store();
    let target = s.dir.path().join("out");
    std::fs::create_dir_all(&target).expect("mkdir");
    let err = export_journal(
        &store,
        &s.config,
        &request(OutputTarget::File(target.clone())),
        at(),
    )
    .expect_err("refused");
    assert!(
        err.to_string().contains(&target.display().to_string()),
        "{err}"
    );
    assert_eq!(store.journal_exports(None, None, 0, 10).expect("log").1, 0);
    let staged: Vec<String> = names(s.dir.path())
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert_eq!(staged, Vec::<String>::new());
    assert_eq!(names(&target), Vec::<String>::new());
}

#[test]
fn a_record_that_cannot_be_written_leaves_no_journal() {
    let s = setup();
    // Read-only: the period is readable, the export record cannot be written.
    let store = Store::open(&s.config.database.path, OpenMode::ReadOnly, 5000).expect("store");
    let err = export_journal(&store, &s.config, &request(OutputTarget::CliDefault), at());
    assert!(err.is_err());
    assert_eq!(names(&s.journals()), Vec::<String>::new());
}

#[test]
fn a_journal_folder_that_cannot_be_created_is_named_in_the_error() {
    let s = setup();
    std::fs::write(s.journals(), b"a file where the folder should be").expect("write");
    let store = s.store();
    let err = export_journal(&store, &s.config, &request(OutputTarget::CliDefault), at())
        .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains(&s.journals().display().to_string()), "{text}");
    assert_eq!(
        s.store().journal_exports(None, None, 0, 10).expect("log").1,
        0
    );
}
