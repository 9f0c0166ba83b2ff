//! Waiting for the database's one writer (SPEC §5.10).
//!
//! SQLite lets one connection write at a time: its file locks, not timing, are what keep two
//! imports from interleaving. Every other writer waits for the lock, and so does every reader
//! while an import runs with the bulk rollback journal (`bulk_journal.rs`). This module decides
//! how a connection waits: it retries with short sleeps for up to `database.busy_timeout_ms` and
//! then gives up with "database is busy; try again". Once it has waited for a moment it says whom
//! it waits for, read from the writer's beacon file (`<db>-writer`, written by every import while
//! it holds the write lock): `waiting for import 42 (AWS, aws-2025-01.csv, process 1234) to
//! finish`. The beacon only informs; nothing depends on it being present or current.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a connection waits before it says so: short waits (a reader behind a small
/// commit) stay silent.
const NOTICE_AFTER: Duration = Duration::from_millis(300);

/// Receives the "waiting for …" line (the CLI prints it to stderr).
pub type Notice = Box<dyn FnMut(&str) + Send>;

/// How one connection waits for locks held by others.
pub(crate) struct Waiting {
    db: PathBuf,
    timeout: Duration,
    /// Set while trying something that must not wait at all (the bulk journal switch).
    refuse: AtomicBool,
    notice: Mutex<Option<Notice>>,
}

impl Waiting {
    pub(crate) fn new(db: &Path, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            db: db.to_path_buf(),
            timeout,
            refuse: AtomicBool::new(false),
            notice: Mutex::new(None),
        })
    }

    /// Makes `conn` wait this way (replaces SQLite's plain busy timeout).
    pub(crate) fn install(self: &Arc<Self>, conn: &mut Connection) -> rusqlite::Result<()> {
        let waiting = Arc::clone(self);
        let mut started = Instant::now();
        let mut announced = false;
        conn.busy_handler(Some(move |count: i32| {
            // SQLite counts the calls of one wait from zero.
            if count == 0 {
                started = Instant::now();
                announced = false;
            }
            waiting.wait_once(started.elapsed(), count, &mut announced)
        }))
    }

    /// Sends future "waiting for …" lines to `notice`.
    pub(crate) fn set_notice(&self, notice: Notice) {
        *self.notice.lock().unwrap_or_else(|p| p.into_inner()) = Some(notice);
    }

    /// While the returned guard lives, locks held by others fail at once instead of waiting.
    pub(crate) fn without_waiting(&self) -> NoWait<'_> {
        self.refuse.store(true, Ordering::SeqCst);
        NoWait(self)
    }

    /// One call of the busy handler, or one retry of something SQLite refused without calling
    /// it: `true` to try again after a short sleep, `false` once the timeout has passed.
    pub(crate) fn wait_once(&self, waited: Duration, count: i32, announced: &mut bool) -> bool {
        if self.refuse.load(Ordering::SeqCst) || waited >= self.timeout {
            return false;
        }
        if !*announced && waited >= NOTICE_AFTER {
            *announced = true;
            self.announce();
        }
        std::thread::sleep(backoff(count).min(self.timeout - waited));
        true
    }

    fn announce(&self) {
        let mut notice = self.notice.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(notice) = notice.as_mut() {
            notice(&waiting_line(&self.db));
        }
    }
}

/// Restores waiting when dropped (see [`Waiting::without_waiting`]).
pub(crate) struct NoWait<'a>(&'a Waiting);

impl Drop for NoWait<'_> {
    fn drop(&mut self) {
        self.0.refuse.store(false, Ordering::SeqCst);
    }
}

/// Sleeps of 1, 2, 4 … ms, at most 50 ms: a lock released quickly is taken quickly, and a long
/// import costs a waiting process twenty wake-ups a second.
fn backoff(count: i32) -> Duration {
    Duration::from_millis(1u64 << count.clamp(0, 5)).min(Duration::from_millis(50))
}

/// The line a waiting process shows, naming the import that holds the lock when it is known.
pub(crate) fn waiting_line(db: &Path) -> String {
    match Beacon::read(db).filter(Beacon::is_live) {
        Some(b) => format!(
            "waiting for import {} ({}, {}, process {}, started {}) to finish…",
            b.import_id, b.source, b.filename, b.pid, b.started_at
        ),
        None => "waiting for another process writing to the database to finish…".into(),
    }
}

/// What the writer's beacon file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Beacon {
    pub import_id: i64,
    pub uuid: String,
    pub source: String,
    pub filename: String,
    pub pid: u32,
    pub started_at: String,
}

/// `<db>-writer`, beside SQLite's own `-wal` and `-journal` files.
fn beacon_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-writer");
    PathBuf::from(name)
}

impl Beacon {
    fn read(db: &Path) -> Option<Self> {
        let text = std::fs::read(beacon_path(db)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// A beacon left by a killed process names a process that is gone.
    fn is_live(&self) -> bool {
        if self.pid == std::process::id() {
            return false;
        }
        #[cfg(target_os = "linux")]
        {
            Path::new("/proc").join(self.pid.to_string()).exists()
        }
        #[cfg(not(target_os = "linux"))]
        {
            true
        }
    }
}

/// The beacon of the running import; removed when dropped.
pub(crate) struct BeaconFile {
    path: PathBuf,
    uuid: String,
}

impl BeaconFile {
    /// Publishes `beacon` for the database `db` (written whole under a temporary name, then
    /// renamed, so a reader never sees half of it). `None` when it cannot be written: the
    /// import runs the same, waiting processes just cannot name it.
    pub(crate) fn publish(db: &Path, beacon: &Beacon) -> Option<Self> {
        if db.as_os_str() == ":memory:" {
            return None;
        }
        let path = beacon_path(db);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{}", beacon.pid));
        let tmp = PathBuf::from(tmp);
        let json = serde_json::to_vec(beacon).ok()?;
        std::fs::write(&tmp, json).ok()?;
        if std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return None;
        }
        Some(Self {
            path,
            uuid: beacon.uuid.clone(),
        })
    }
}

impl Drop for BeaconFile {
    fn drop(&mut self) {
        // Only our own: the next writer may already have published its beacon.
        let ours = std::fs::read(&self.path)
            .ok()
            .and_then(|t| serde_json::from_slice::<Beacon>(&t).ok())
            .is_some_and(|b| b.uuid == self.uuid);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beacon(pid: u32, uuid: &str) -> Beacon {
        Beacon {
            import_id: 42,
            uuid: uuid.into(),
            source: "AWS".into(),
            filename: "aws.csv".into(),
            pid,
            started_at: "2025-02-03T04:05:06Z".into(),
        }
    }

    #[test]
    fn backoff_grows_to_fifty_milliseconds() {
        let steps: Vec<u64> = (0..8).map(|c| backoff(c).as_millis() as u64).collect();
        assert_eq!(steps, [1, 2, 4, 8, 16, 32, 32, 32]);
        assert!(backoff(i32::MAX) <= Duration::from_millis(50));
    }

    #[test]
    fn the_waiting_line_names_a_live_importer_only() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("billing.db");
        assert!(waiting_line(&db).starts_with("waiting for another process"));
        // PID 1 is always alive; our own PID cannot be the one we wait for.
        let file = BeaconFile::publish(&db, &beacon(1, "u1")).expect("written");
        assert_eq!(
            waiting_line(&db),
            "waiting for import 42 (AWS, aws.csv, process 1, started 2025-02-03T04:05:06Z) to finish…"
        );
        drop(file);
        assert!(!beacon_path(&db).exists(), "removed when the import ends");
        let _own = BeaconFile::publish(&db, &beacon(std::process::id(), "u2")).expect("written");
        assert!(waiting_line(&db).starts_with("waiting for another process"));
    }

    #[test]
    fn an_ending_import_leaves_the_next_writers_beacon_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("billing.db");
        let first = BeaconFile::publish(&db, &beacon(1, "first")).expect("written");
        let _second = BeaconFile::publish(&db, &beacon(1, "second")).expect("written");
        drop(first);
        assert_eq!(Beacon::read(&db).expect("kept").uuid, "second");
    }

    #[test]
    fn waits_up_to_the_timeout_and_announces_once() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("t.db");
        let holder = Connection::open(&db).expect("open");
        holder
            .execute_batch("CREATE TABLE t(x); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
            .expect("lock held");
        let mut waiter = Connection::open(&db).expect("open");
        let waiting = Waiting::new(&db, Duration::from_millis(700));
        waiting.install(&mut waiter).expect("handler");
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&lines);
        waiting.set_notice(Box::new(move |l| sink.lock().expect("lock").push(l.into())));
        let started = Instant::now();
        let err = waiter
            .execute_batch("BEGIN IMMEDIATE")
            .expect_err("the lock is held throughout");
        assert!(started.elapsed() >= Duration::from_millis(700));
        assert_eq!(
            err.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy)
        );
        assert_eq!(lines.lock().expect("lock").len(), 1, "one line per wait");
        {
            let _now = waiting.without_waiting();
            let started = Instant::now();
            assert!(waiter.execute_batch("BEGIN IMMEDIATE").is_err());
            assert!(started.elapsed() < Duration::from_millis(200), "no wait");
        }
        holder.execute_batch("COMMIT").expect("release");
        waiter
            .execute_batch("BEGIN IMMEDIATE; COMMIT")
            .expect("free again");
    }
}
