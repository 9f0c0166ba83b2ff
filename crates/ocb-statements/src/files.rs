//! PDF files of generation runs: staging directories inside `output.pdf_dir` (same filesystem, so
//! the final moves are atomic renames), owner-only permissions, and crash recovery (SPEC §8.4
//! step 7): a committed run's pending moves and removals are completed; the staging directory of
//! a run that never committed is discarded.

use crate::{io_err, Result};
use ocb_store::Store;
use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Prefix of staging directories in `pdf_dir`.
pub(crate) const STAGING_PREFIX: &str = ".staging-";

/// A staging directory older than this without a committed run belongs to a crashed process (a
/// younger one may be another process still rendering).
const ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Writes a file readable by the owner only (SPEC §15.3).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)
}

/// Creates a fresh staging directory in `pdf_dir`.
pub(crate) fn new_staging(pdf_dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(pdf_dir).map_err(io_err(format!("creating {}", pdf_dir.display())))?;
    let dir = pdf_dir.join(format!("{STAGING_PREFIX}{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
    Ok(dir)
}

fn ignore_missing(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Moves every file of `staging` into its parent directory, deletes `removals` that are not
/// current PDFs, then removes `staging`.
pub(crate) fn publish(staging: &Path, removals: &[PathBuf], keep: &HashSet<PathBuf>) -> Result<()> {
    let target = staging.parent().unwrap_or(staging);
    if staging.is_dir() {
        let entries =
            std::fs::read_dir(staging).map_err(io_err(format!("reading {}", staging.display())))?;
        for entry in entries {
            let entry = entry.map_err(io_err(format!("reading {}", staging.display())))?;
            let to = target.join(entry.file_name());
            ignore_missing(std::fs::rename(entry.path(), &to))
                .map_err(io_err(format!("moving {} into place", to.display())))?;
        }
    }
    for old in removals.iter().filter(|p| !keep.contains(*p)) {
        ignore_missing(std::fs::remove_file(old))
            .map_err(io_err(format!("deleting {}", old.display())))?;
    }
    ignore_missing(std::fs::remove_dir_all(staging))
        .map_err(io_err(format!("removing {}", staging.display())))
}

/// Completes the file work of committed runs and discards staging directories of runs that
/// never committed. Returns the number of runs completed.
pub fn recover(store: &Store, pdf_dir: &Path) -> Result<usize> {
    let pending = store.pending_generation_runs()?;
    let mut known: HashSet<PathBuf> = HashSet::new();
    for run in &pending {
        // Current statements may reuse a removed statement's file name: keep those.
        let keep: HashSet<PathBuf> = run
            .removals
            .iter()
            .filter(|p| store.statement_with_pdf(p).unwrap_or(true))
            .cloned()
            .collect();
        publish(&run.staging_dir, &run.removals, &keep)?;
        store.finish_generation_run(run.run_id)?;
        tracing::warn!(run_id = run.run_id, dir = %run.staging_dir.display(), "completed the file moves of an interrupted generation run");
        known.insert(run.staging_dir.clone());
    }
    let Ok(entries) = std::fs::read_dir(pdf_dir) else {
        return Ok(pending.len());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_staging = entry
            .file_name()
            .to_string_lossy()
            .starts_with(STAGING_PREFIX);
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > ORPHAN_AGE);
        if is_staging && old && !known.contains(&path) {
            tracing::warn!(dir = %path.display(), "discarding PDFs of a generation run that never committed");
            ignore_missing(std::fs::remove_dir_all(&path))
                .map_err(io_err(format!("removing {}", path.display())))?;
        }
    }
    Ok(pending.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_moves_files_and_deletes_only_vanished_pdfs() {
        let dir = tempfile::tempdir().expect("tmp");
        let staging = new_staging(dir.path()).expect("staging");
        write_private(&staging.join("a.pdf"), b"new a").expect("write");
        std::fs::write(dir.path().join("a.pdf"), b"old a").expect("write");
        std::fs::write(dir.path().join("gone.pdf"), b"old").expect("write");
        let removals = vec![dir.path().join("gone.pdf"), dir.path().join("a.pdf")];
        let keep = HashSet::from([dir.path().join("a.pdf")]);
        publish(&staging, &removals, &keep).expect("publish");
        assert_eq!(
            std::fs::read(dir.path().join("a.pdf")).expect("a"),
            b"new a"
        );
        assert!(!dir.path().join("gone.pdf").exists());
        assert!(!staging.exists());
        // Publishing again (a recovery after a crash mid-way) is harmless.
        publish(&staging, &removals, &keep).expect("again");
    }
}
