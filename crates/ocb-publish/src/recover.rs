//! Crash recovery of staged files. A writer killed before its record committed leaves a staged
//! file nobody will publish: it is deleted. A writer killed after the commit but before the
//! rename leaves a staged file its record promises: the move is finished. Files of live writers
//! (locked, see `lock.rs`) are left alone.

use crate::lock::{take, Found};
use crate::staged::{is_staged_name, sync_parent};
use std::io;
use std::path::{Path, PathBuf};

/// What happened to one committed publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The staged file was renamed to its final name now.
    Published,
    /// The staged file is no longer there: its writer published it (or it was removed).
    Gone,
    /// Its writer is still running and will publish it itself.
    Live,
}

/// Finishes a publication whose record committed: renames `staged` to `target` and syncs the
/// folder, unless its writer is still at work.
pub fn finish_publication(staged: &Path, target: &Path) -> io::Result<Finished> {
    match take(staged)? {
        Found::Missing => Ok(Finished::Gone),
        Found::Live => Ok(Finished::Live),
        Found::Abandoned(lock) => {
            std::fs::rename(staged, target)?;
            sync_parent(target)?;
            drop(lock);
            Ok(Finished::Published)
        }
    }
}

/// What a sweep of one folder did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Abandoned staged files deleted (their records never committed).
    pub discarded: Vec<PathBuf>,
    /// Abandoned staged files kept because a committed record names them.
    pub recorded: Vec<PathBuf>,
    /// Staged files of live writers.
    pub live: usize,
}

/// Deletes the abandoned staged files of `dir` that no committed record names. `is_recorded`
/// is asked while the sweeper holds the file's lock, so its writer cannot commit meanwhile; the
/// recorded ones are left for [`finish_publication`]. A missing folder has nothing to sweep.
pub fn sweep_staged(
    dir: &Path,
    mut is_recorded: impl FnMut(&Path) -> io::Result<bool>,
) -> io::Result<Sweep> {
    let mut sweep = Sweep::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(sweep),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !is_staged_name(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        match take(&path)? {
            Found::Missing => {}
            Found::Live => sweep.live += 1,
            Found::Abandoned(_lock) if is_recorded(&path)? => sweep.recorded.push(path),
            Found::Abandoned(lock) => {
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                drop(lock);
                sweep.discarded.push(path);
            }
        }
    }
    if !sweep.discarded.is_empty() {
        crate::staged::sync_dir(dir)?;
    }
    Ok(sweep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StagedFile;
    use std::io::Write;

    fn staged(dir: &Path, name: &str, body: &[u8]) -> StagedFile {
        let mut f = StagedFile::new(dir, name).expect("stage");
        f.write_all(body).expect("write");
        f.sync().expect("sync");
        f
    }

    /// A writer that died: its staged file stays on disk without its lock. (Dropping a
    /// `StagedFile` would delete it, as an error path does; a killed process does not.)
    fn killed(f: StagedFile) -> PathBuf {
        let (_file, path) = f.into_parts_for_tests();
        path.keep().expect("keep")
    }

    #[test]
    fn live_writers_are_left_alone_and_dead_ones_swept() {
        let dir = tempfile::tempdir().expect("tmp");
        let live = staged(dir.path(), "a.csv", b"a");
        let dead = killed(staged(dir.path(), "b.csv", b"b"));
        let recorded = killed(staged(dir.path(), "c.csv", b"c"));
        std::fs::write(dir.path().join("d.csv"), b"d").expect("an ordinary file");
        let sweep = sweep_staged(dir.path(), |p| Ok(p == recorded)).expect("sweep");
        assert_eq!(sweep.discarded, std::slice::from_ref(&dead));
        assert_eq!(sweep.recorded, std::slice::from_ref(&recorded));
        assert_eq!(sweep.live, 1);
        assert!(live.path().exists() && !dead.exists() && recorded.exists());
        let target = dir.path().join("c.csv");
        assert_eq!(
            finish_publication(&recorded, &target).expect("finish"),
            Finished::Published
        );
        assert_eq!(std::fs::read(&target).expect("read"), b"c");
        assert_eq!(
            finish_publication(&recorded, &target).expect("again"),
            Finished::Gone
        );
        assert_eq!(
            finish_publication(live.path(), &dir.path().join("a.csv")).expect("live"),
            Finished::Live
        );
        live.publish("a.csv").expect("publish");
        assert!(sweep_staged(&dir.path().join("missing"), |_| Ok(false))
            .expect("missing folder")
            .discarded
            .is_empty());
    }
}
