//! Disk writeback while a large import runs.
//!
//! An import is one transaction: SQLite appends every page to the WAL as the rows arrive, and the
//! checkpoint that follows the commit syncs the WAL, copies the pages into the database file and
//! syncs that. With nothing written back during the import (the kernel holds dirty pages for up to
//! 30 s), those two syncs wait for the whole import's pages at the very end: about 0.4 s for a
//! million rows on this project's benchmark machine, while both cores sit idle. A helper thread
//! that asks the kernel to write both files back every few tens of milliseconds moves that disk
//! time under the import's CPU work; SQLite's own syncs then only wait for the last pages.
//!
//! This only starts writeback early: what is durable, and when SQLite syncs, does not change.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the files are written back. Short enough that the final syncs find little left
/// (the WAL grows by about 8 MB in 50 ms at full ingest speed), long enough that the syncs of a
/// small import cost nothing measurable.
const INTERVAL: Duration = Duration::from_millis(50);

/// The running writeback thread; stopping it (drop) waits for it to end.
pub(crate) struct Writeback {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Writeback {
    /// Starts writing back `db` and its `-wal` file. `None` for an in-memory database, or when
    /// the thread cannot be started (the import then runs exactly as without it).
    pub(crate) fn start(db: &Path) -> Option<Self> {
        if db.as_os_str() == ":memory:" || !db.is_file() {
            return None;
        }
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let files = [db.to_path_buf(), PathBuf::from(wal)];
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ocb-writeback".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    for path in &files {
                        // Opened each time: SQLite creates the WAL on its first write and may
                        // remove it after a checkpoint. A failure only means nothing to write.
                        if let Ok(file) = File::open(path) {
                            let _ = file.sync_data();
                        }
                    }
                }
            })
            .ok()?;
        Some(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Writeback {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_until_dropped_and_skips_memory_databases() {
        assert!(Writeback::start(Path::new(":memory:")).is_none());
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(Writeback::start(&dir.path().join("missing.db")).is_none());
        let db = dir.path().join("billing.db");
        std::fs::write(&db, b"x").expect("write");
        let w = Writeback::start(&db).expect("a file-backed database gets a writeback thread");
        std::thread::sleep(INTERVAL * 3);
        drop(w); // joins: would hang here if the thread did not see the stop
        assert_eq!(std::fs::read(&db).expect("read"), b"x");
    }
}
