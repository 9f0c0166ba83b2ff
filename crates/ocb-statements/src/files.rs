//! PDF files of generation runs: staging directories inside `output.pdf_dir` (same filesystem, so
//! the final moves are atomic renames), owner-only permissions, and crash recovery (SPEC §8.4
//! step 7): a committed run's pending moves and removals are completed; the staging directory of
//! a run that never committed is discarded.
//!
//! Every PDF is synced before the run commits, and `pdf_dir` after the moves, so a committed run
//! never points at PDFs a power cut could lose. A staging directory is claimed by the process
//! rendering into it (`ocb_publish::DirClaim`, a lock the OS drops when the process dies): that
//! is how recovery tells a dead run's leftovers from a live run's work (issue 15, item 8e; an
//! age guess used to keep a killed run's folder for an hour, and would delete the folder of a
//! run slower than that).

use crate::{io_err, Result};
use ocb_publish::{dir_of_lock, sync_dir, DirClaim};
use ocb_store::{PendingRun, Store};
use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of staging directories in `pdf_dir`.
pub(crate) const STAGING_PREFIX: &str = ".staging-";

/// Writes a new PDF readable by the owner only (SPEC §15.3); `sync` makes it durable.
pub(crate) fn write_private(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    if sync {
        f.sync_all()?;
    }
    Ok(())
}

/// Creates a fresh staging directory in `pdf_dir`, claimed by this process.
pub(crate) fn new_staging(pdf_dir: &Path) -> Result<DirClaim> {
    std::fs::create_dir_all(pdf_dir).map_err(io_err(format!("creating {}", pdf_dir.display())))?;
    let dir = pdf_dir.join(format!("{STAGING_PREFIX}{}", uuid::Uuid::new_v4()));
    DirClaim::create(&dir).map_err(io_err(format!("creating {}", dir.display())))
}

/// Where a run renders its PDFs.
pub(crate) enum RenderDir {
    /// A real run: its claimed staging directory in `pdf_dir`.
    Staging(DirClaim),
    /// A dry run with `--preview-dir`: each PDF is published there as it is rendered.
    Preview(PathBuf),
    /// A dry run without: a scratch directory, deleted afterwards.
    Scratch(tempfile::TempDir),
}

impl RenderDir {
    /// Saves one rendered PDF under its final name (in the staging directory, synced).
    pub(crate) fn save(&self, name: &str, pdf: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Staging(claim) => write_private(&claim.path().join(name), pdf, true),
            Self::Preview(dir) => ocb_publish::write_file(&dir.join(name), pdf, None).map(drop),
            Self::Scratch(dir) => write_private(&dir.path().join(name), pdf, false),
        }
    }

    /// Deletes what a failed or dry run rendered (a preview directory is the user's: kept).
    pub(crate) fn discard(self) -> Result<()> {
        match self {
            Self::Staging(claim) => {
                let dir = claim.path().display().to_string();
                claim.remove().map_err(io_err(format!("removing {dir}")))
            }
            Self::Preview(_) => Ok(()),
            Self::Scratch(dir) => dir
                .close()
                .map_err(io_err("removing the scratch directory".to_string())),
        }
    }

    /// [`RenderDir::discard`] on the way out of a failed run, whose own error is the one to
    /// report; whatever stays behind is unclaimed and swept by the next run.
    pub(crate) fn discard_after_failure(self) {
        if let Err(e) = self.discard() {
            tracing::warn!(error = %e, "could not remove the PDFs of a failed generation run");
        }
    }
}

fn ignore_missing(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Moves every file of `staging` into its parent directory, deletes `removals` that are not
/// current PDFs, syncs the directory, then removes `staging`.
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
    sync_dir(target).map_err(io_err(format!("syncing {}", target.display())))?;
    ignore_missing(std::fs::remove_dir_all(staging))
        .map_err(io_err(format!("removing {}", staging.display())))
}

/// Completes the file work of committed runs and discards staging directories of runs that
/// never committed, leaving those of running processes alone. Returns the number of runs
/// completed.
pub fn recover(store: &Store, pdf_dir: &Path) -> Result<usize> {
    let mut completed = 0;
    for run in store.pending_generation_runs()? {
        let claim = DirClaim::take_abandoned(&run.staging_dir)
            .map_err(io_err(format!("checking {}", run.staging_dir.display())))?;
        // None: its process is still moving the files itself.
        if let Some(claim) = claim {
            complete(store, &run, claim)?;
            completed += 1;
        }
    }
    completed += sweep_staging(store, pdf_dir)?;
    // PDFs re-rendered by `--restore-missing` or for an attachment are staged files.
    store.recover_outputs(&[pdf_dir])?;
    Ok(completed)
}

/// Finishes the moves and removals of a committed run whose process died.
fn complete(store: &Store, run: &PendingRun, claim: DirClaim) -> Result<()> {
    // Current statements may reuse a removed statement's file name: keep those.
    let mut keep = HashSet::new();
    for p in &run.removals {
        if store.statement_with_pdf(p)? {
            keep.insert(p.clone());
        }
    }
    publish(&run.staging_dir, &run.removals, &keep)?;
    store.finish_generation_run(run.run_id)?;
    tracing::warn!(run_id = run.run_id, dir = %run.staging_dir.display(), "completed the file moves of an interrupted generation run");
    claim
        .remove()
        .map_err(io_err(format!("removing {}", run.staging_dir.display())))
}

/// Discards the staging directories (and lone lock files) in `pdf_dir` that no live process
/// owns and no committed run names; completes those whose run committed after the pending runs
/// were listed. Returns the number of runs completed.
fn sweep_staging(store: &Store, pdf_dir: &Path) -> Result<usize> {
    let entries = match std::fs::read_dir(pdf_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err(format!("reading {}", pdf_dir.display()))(e)),
    };
    let is_staging = |name: &str| name.starts_with(STAGING_PREFIX) && !name.ends_with(".lock");
    let mut dirs = HashSet::new();
    for entry in entries {
        let path = entry
            .map_err(io_err(format!("reading {}", pdf_dir.display())))?
            .path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if is_staging(&name) {
            dirs.insert(path.clone());
        } else if let Some(dir) = dir_of_lock(&path, is_staging) {
            dirs.insert(dir);
        }
    }
    let mut completed = 0;
    for dir in dirs {
        let claim = DirClaim::take_abandoned(&dir)
            .map_err(io_err(format!("checking {}", dir.display())))?;
        let Some(claim) = claim else { continue };
        // Checked while holding the claim: a run that committed meanwhile is finished, not lost.
        let committed = store
            .pending_generation_runs()?
            .into_iter()
            .find(|r| r.staging_dir == dir);
        match committed {
            Some(run) => {
                complete(store, &run, claim)?;
                completed += 1;
            }
            None => {
                if dir.exists() {
                    tracing::warn!(dir = %dir.display(), "discarding PDFs of a generation run that never committed");
                }
                claim
                    .remove()
                    .map_err(io_err(format!("removing {}", dir.display())))?;
            }
        }
    }
    Ok(completed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_moves_files_and_deletes_only_vanished_pdfs() {
        let dir = tempfile::tempdir().expect("tmp");
        let claim = new_staging(dir.path()).expect("staging");
        let staging = claim.path().to_path_buf();
        write_private(&staging.join("a.pdf"), b"new a", true).expect("write");
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
        claim.remove().expect("release");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn recovery_discards_dead_staging_folders_at_once_and_keeps_live_ones() {
        let store = Store::open_in_memory().expect("store");
        let dir = tempfile::tempdir().expect("tmp");
        let live = new_staging(dir.path()).expect("live");
        write_private(&live.path().join("a.pdf"), b"a", false).expect("write");
        let dead = new_staging(dir.path()).expect("dead");
        let dead_dir = dead.path().to_path_buf();
        write_private(&dead_dir.join("b.pdf"), b"b", false).expect("write");
        drop(dead); // its process died: the folder and its lock file stay, the lock goes
                    // A folder from before staging folders were claimed: no lock file at all.
        std::fs::create_dir(dir.path().join(".staging-old")).expect("mkdir");
        recover(&store, dir.path()).expect("recover");
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let live_name = live.path().file_name().expect("name").to_string_lossy();
        assert_eq!(left, [live_name.to_string(), format!("{live_name}.lock")]);
        live.remove().expect("remove");
    }
}
