//! Disk writeback while a large import runs.
//!
//! An import is one transaction: SQLite appends every page to the WAL (or, with the bulk rollback
//! journal, to the database file itself) as the rows arrive, and the commit syncs them. With
//! nothing written back during the import (the kernel holds dirty pages for up to 30 s), those
//! syncs wait for the whole import's pages at the very end: about 0.4 s for a million rows on
//! this project's benchmark machine, while both cores sit idle. A helper thread that asks the
//! kernel to write the files back every few tens of milliseconds moves that disk time under the
//! import's CPU work; SQLite's own syncs then only wait for the last pages.
//!
//! This only starts writeback early: what is durable, and when SQLite syncs, does not change.
//!
//! # Never close a descriptor of the database file
//!
//! SQLite's locks on the database file are POSIX advisory locks, and POSIX drops *all* of a
//! process's locks on a file when the process closes *any* descriptor of it. An earlier version
//! opened and closed `billing.db` every 50 ms here: each close silently released the import's
//! write lock, so a second process could write into the same transaction window (issue 15: a
//! committed import was lost and readers saw a malformed database). The database file is
//! therefore opened once per process and file ([`database_handle`]) and that descriptor is never
//! closed; there is no API to close it. The `-wal` file carries no SQLite locks (WAL locks live in
//! the `-shm` file and the database file), so it is opened afresh each time: SQLite deletes and
//! recreates it, and a kept descriptor would pin a deleted file's disk space.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the files are written back. Short enough that the final syncs find little left
/// (the WAL grows by about 8 MB in 50 ms at full ingest speed), long enough that the syncs of a
/// small import cost nothing measurable.
const INTERVAL: Duration = Duration::from_millis(50);

/// Descriptors of database files, one per file (device and inode) for the life of the process.
type Handles = Mutex<HashMap<(u64, u64), Arc<File>>>;

fn handles() -> &'static Handles {
    static HANDLES: OnceLock<Handles> = OnceLock::new();
    HANDLES.get_or_init(Handles::default)
}

/// This process's one descriptor of the database file at `path`, opened on first use and never
/// closed (see the module documentation). `None` when the file cannot be opened.
#[cfg(unix)]
pub(crate) fn database_handle(path: &Path) -> Option<Arc<File>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    let key = (meta.dev(), meta.ino());
    let mut map = handles().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(file) = map.get(&key) {
        return Some(Arc::clone(file));
    }
    let file = Arc::new(File::open(path).ok()?);
    if file.metadata().is_ok_and(|m| (m.dev(), m.ino()) == key) {
        map.insert(key, Arc::clone(&file));
        Some(file)
    } else {
        // The path named another file by the time it was opened (renamed meanwhile). Closing
        // this descriptor could still drop a lock on that file, so it is leaked instead.
        std::mem::forget(file);
        None
    }
}

/// Elsewhere SQLite's locks belong to the handle, not the process: nothing to keep.
#[cfg(not(unix))]
pub(crate) fn database_handle(path: &Path) -> Option<Arc<File>> {
    let _ = handles;
    File::open(path).ok().map(Arc::new)
}

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
        let database = database_handle(db)?;
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let (stop, stopped) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ocb-writeback".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    let _ = database.sync_data();
                    // Opened each time: SQLite creates the WAL on its first write and may
                    // remove it after a checkpoint. A failure only means nothing to write.
                    if let Ok(file) = File::open(&wal) {
                        let _ = file.sync_data();
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

    #[cfg(unix)]
    #[test]
    fn one_descriptor_per_database_file_for_the_whole_process() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("billing.db");
        std::fs::write(&db, b"x").expect("write");
        let a = database_handle(&db).expect("handle");
        let b = database_handle(&dir.path().join(".").join("billing.db")).expect("handle");
        assert!(
            Arc::ptr_eq(&a, &b),
            "the same file gets the same descriptor"
        );
        drop((a, b));
        let again = database_handle(&db).expect("handle");
        assert!(
            Arc::strong_count(&again) >= 2,
            "the registry still holds it: it is never closed"
        );
    }
}
