//! The write lock of an import holds against other *processes* (issue 15, item 1).
//!
//! Threads of one process share its POSIX locks, so only a second process can tell whether the
//! lock is really held. The test binary runs itself as that process: the `child_*` test, ignored
//! in normal runs, tries to take the lock and panics if it gets it.

use crate::testutil::header;
use crate::{Actor, OpenMode, Store};
use rusqlite::Connection;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const CHILD_DB: &str = "OCB_LOCK_TEST_DB";

/// Runs `child_cannot_take_the_database` in a new process against `db`; true if it could not.
fn another_process_is_locked_out(db: &Path) -> bool {
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            "lock_tests::child_cannot_take_the_database",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_DB, db)
        .output()
        .expect("child process runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 passed") || text.contains("1 failed"),
        "child ran: {text}"
    );
    out.status.success()
}

#[test]
#[ignore = "run by the tests below in a second process"]
fn child_cannot_take_the_database() {
    let Some(db) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let conn = Connection::open(db).expect("open");
    conn.busy_timeout(Duration::ZERO).expect("no waiting");
    // A writer lock (WAL mode) or the rollback journal's RESERVED lock refuses this...
    let write = conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK");
    assert!(write.is_err(), "took the write lock of a running import");
    // ...and in WAL mode, any open connection's shared lock refuses leaving WAL mode.
    let before: Result<String, _> = conn.pragma_query_value(None, "journal_mode", |r| r.get(0));
    if before.as_deref() == Ok("wal") {
        let mode: Result<String, _> =
            conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0));
        assert!(
            !matches!(mode.as_deref(), Ok("delete")),
            "switched the journal under a running import"
        );
    }
}

fn import_holds_its_lock(solo: bool) {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("billing.db");
    let mut store = Store::open(&db, OpenMode::Create, 5000).expect("open");
    if solo {
        store.allow_solo_imports();
    }
    let writer = store
        .begin_import(&Actor::cli("t"), &header("u-1", "AWS"))
        .expect("begin");
    // Long enough for the writeback thread to run several times (every 50 ms).
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        another_process_is_locked_out(&db),
        "another process got in while the import held the database"
    );
    drop(writer);
}

#[test]
fn an_import_in_wal_mode_keeps_its_locks_while_writeback_runs() {
    import_holds_its_lock(false);
}

#[test]
fn an_import_with_the_bulk_journal_keeps_its_locks_while_writeback_runs() {
    import_holds_its_lock(true);
}
