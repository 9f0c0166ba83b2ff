//! A rollback journal for one import into a database nothing else has open.
//!
//! In WAL mode every page of an import is written twice: appended to the WAL as the rows
//! arrive, then copied into the database file by the checkpoint after the commit, which also
//! syncs both files and finally frees the WAL's pages. For a million-row import that tail is
//! about half a second in which only one core works. With a rollback journal, pages appended to
//! the database (nearly all of an import's) are written once, in place, and only the few
//! existing pages the import modifies are journaled first; a crash or SIGKILL still rolls the
//! whole import back (the journal restores those pages and the file's original size).
//!
//! Leaving WAL mode needs the database to be open nowhere else, so this only happens when the
//! import is alone, and only for stores that allow it (`Store::allow_solo_imports`: the CLI, not
//! the server, whose own requests would wait); otherwise the import runs in WAL mode as before.
//! Other commands started during such an import wait for it (busy timeout) instead of reading
//! alongside. WAL mode is restored right after the transaction ends, and by the next open should
//! the process die first.

use crate::busy::Waiting;
use rusqlite::Connection;

/// Rollback-journal mode for the lifetime of the guard; WAL mode again when dropped.
pub(crate) struct BulkJournal<'a> {
    conn: Option<&'a Connection>,
}

impl<'a> BulkJournal<'a> {
    /// Switches `conn` to a rollback journal when `allowed` and nothing else has the database
    /// open; a no-op guard otherwise (never waits for other connections).
    ///
    /// Whether another process has the database open is decided by SQLite's locks (every
    /// connection in WAL mode holds a shared lock on the file while it is open), so a process
    /// that opens the database a moment later simply waits for this import, or switches the file
    /// back to WAL before the import's transaction begins, in which case the import runs in WAL
    /// mode. Neither depends on timing.
    pub(crate) fn enter(conn: &'a Connection, allowed: bool, waiting: &Waiting) -> Self {
        if !allowed {
            return Self { conn: None };
        }
        let mode: rusqlite::Result<String> = {
            let _now = waiting.without_waiting();
            conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        };
        match mode {
            // FULL: with a rollback journal, NORMAL can corrupt the file on power loss.
            Ok(m)
                if m.eq_ignore_ascii_case("delete")
                    && conn.pragma_update(None, "synchronous", "FULL").is_ok() =>
            {
                Self { conn: Some(conn) }
            }
            _ => Self { conn: None },
        }
    }

    /// Whether the import runs with the rollback journal.
    #[cfg(test)]
    pub(crate) fn active(&self) -> bool {
        self.conn.is_some()
    }
}

impl Drop for BulkJournal<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn else { return };
        // Waits like any writer would: a reader that started meanwhile holds its lock briefly.
        let restored = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            .and_then(|_| conn.pragma_update(None, "synchronous", "NORMAL"));
        if let Err(e) = restored {
            tracing::warn!(event = "db.journal", error = %e, "WAL mode is restored at the next open");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn waiting(dir: &tempfile::TempDir, conn: &mut Connection) -> Arc<Waiting> {
        let w = Waiting::new(&dir.path().join("t.db"), Duration::from_secs(5));
        w.install(conn).expect("busy handler");
        w
    }

    fn mode(conn: &Connection) -> String {
        conn.pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("journal mode")
    }

    fn wal_db(dir: &tempfile::TempDir) -> Connection {
        let conn = Connection::open(dir.path().join("t.db")).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.execute_batch("CREATE TABLE t (x)").expect("table");
        conn
    }

    #[test]
    fn alone_the_import_uses_a_rollback_journal_and_wal_comes_back() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = wal_db(&dir);
        let w = waiting(&dir, &mut conn);
        let guard = BulkJournal::enter(&conn, true, &w);
        assert!(guard.active());
        assert_eq!(mode(&conn), "delete");
        conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1); COMMIT")
            .expect("write");
        drop(guard);
        assert_eq!(mode(&conn), "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("synchronous");
        assert_eq!(sync, 1, "NORMAL again");
    }

    #[test]
    fn with_another_connection_open_it_stays_in_wal_without_waiting() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = wal_db(&dir);
        let w = waiting(&dir, &mut conn);
        let other = Connection::open(dir.path().join("t.db")).expect("second connection");
        let _: i64 = other
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("read");
        let started = Instant::now();
        let guard = BulkJournal::enter(&conn, true, &w);
        assert!(started.elapsed() < Duration::from_secs(1), "no busy wait");
        assert!(!guard.active());
        assert_eq!(mode(&conn), "wal");
        drop(guard);
        assert_eq!(mode(&other), "wal");
    }

    #[test]
    fn stores_that_do_not_allow_it_stay_in_wal() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = wal_db(&dir);
        let w = waiting(&dir, &mut conn);
        assert!(!BulkJournal::enter(&conn, false, &w).active());
        assert_eq!(mode(&conn), "wal");
    }
}
