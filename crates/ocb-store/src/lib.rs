//! OpenChargeback storage. Every SQL statement of the product lives in this crate, behind
//! domain-level methods (`Store::create_period`, `ImportWriter::insert_charge`, …), so that a
//! PostgreSQL backend can be added later without touching callers.
//!
//! SQLite is bundled and opened in WAL mode with foreign keys and a busy timeout. Money is stored
//! as exact decimal text and summed with the `dec_sum()` aggregate this crate registers; it is
//! never a REAL.
//!
//! Must not depend on: templates, web, PDF, mail.
//!
//! ```no_run
//! use ocb_store::{Store, OpenMode};
//! let store = Store::open(std::path::Path::new("billing.db"), OpenMode::Create, 5000).unwrap();
//! println!("{} periods", store.list_periods().unwrap().len());
//! ```
#![warn(clippy::unwrap_used, clippy::print_stdout)]

mod api_tokens;
mod audit;
mod billing;
mod browse;
mod browse_index;
mod browse_index_browse;
mod browse_index_postings;
mod browse_index_query;
#[cfg(test)]
mod browse_index_tests;
mod browse_logs;
mod bulk_journal;
mod busy;
mod charge_insert;
mod charges;
mod charts;
mod decimal;
mod email_log;
mod imports;
mod journal_exports;
#[cfg(test)]
mod lock_tests;
mod migrate;
mod pattern_test;
mod periods;
mod publications;
mod reevaluate;
mod review;
mod sessions;
mod settings;
mod sources;
mod statements;
pub mod upstream;
mod user_admin;
mod users;
mod web_logs;
mod writeback;

pub use api_tokens::{ApiTokenRecord, NewApiToken, TokenUser};
pub use audit::{AuditEvent, StoredAuditEvent};
pub use browse::{
    BrowseFilter, BrowsePage, BrowseRow, ChargeColumns, ChargeEvent, PeriodOverview, PiRow,
    ProjectRow, SortKey, StatusFilter, Unattributed,
};
pub use browse_index::{BrowseIndex, PeriodKey};
pub use browse_index_query::IndexFigures;
pub use browse_logs::{ImportDetail, ImportFilter, ReviewLogFilter, ReviewLogRow};
pub use busy::Notice as WaitNotice;
pub use charge_insert::{PreparedCharge, Written};
pub use charges::{ChargeFilter, ChargeRow, PiProjectSummary};
pub use charts::{SourceSpend, SpendScope};
pub use decimal::{dec, exact};
pub use email_log::{EmailLogEntry, StoredEmailLog};
pub use imports::{
    ExistingCharge, FailedImport, ImportHeader, ImportRecord, ImportSummary, ImportTotals,
    ImportWriter, PeriodCounts, StoredDiagnostic,
};
pub use journal_exports::{NewJournalExport, StoredJournalExport};
pub use migrate::SCHEMA_VERSION;
pub use ocb_core::billing::BillableCharge;
pub use pattern_test::PatternSubject;
pub use periods::{HistoryEntry, PeriodInfo, PeriodNote, PeriodTransition};
pub use publications::{Publication, RecoveredOutputs};
pub use reevaluate::{PeriodReevaluation, ReevaluationReport};
pub use review::{
    Override, ReviewAction, ReviewOutcome, ReviewRequest, ReviewScope, ReviewSummary,
};
pub use sessions::{Flash, JobRecord, SessionLookup, SessionUser};
pub use settings::ResetCounts;
pub use sources::SourceInfo;
pub use statements::{
    GenerationCommit, GenerationSnapshot, PendingRun, RunOutcome, StatementUpsert, StoredStatement,
};
pub use user_admin::{UserEdit, CONFIG_MANAGED};
pub use users::{NewUser, UserRecord};
pub use web_logs::AuditFilter;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Storage errors, worded for the person at the keyboard.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer held the database longer than the busy timeout.
    #[error("database is busy; try again")]
    Busy,
    /// The database file was written by a newer version of OpenChargeback.
    #[error("database schema v{found} is newer than this program (v{supported}); upgrade openchargeback")]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Version this binary knows.
        supported: i64,
    },
    /// A named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A rule refused the operation (period state, queue state …).
    #[error("{0}")]
    Refused(String),
    /// An output file's final name is already taken (by a file, or by another export about to
    /// be moved there); the caller tries the next name (`-2`, `-3` …).
    #[error("output file {} already exists", .0.display())]
    NameTaken(PathBuf),
    /// `database.path` names a file that is not an OpenChargeback (Rust) database: the
    /// Python project's, another application's, or not SQLite at all (issue 17).
    #[error("{0}")]
    ForeignDatabase(String),
    /// A database failure.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Filesystem trouble around the database file.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Stored data that cannot be read back (a bug or manual edit).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A stored amount beyond the range ingest accepts, kept by a version before the check.
    #[error("charge {charge_id} of {period} has the amount {value}, beyond the accepted range (below 100,000,000,000,000); reject it in review, or correct the file and re-import it (`db check` lists every such charge)")]
    AmountOutOfRange {
        /// The charge.
        charge_id: i64,
        /// Its period.
        period: String,
        /// The amount as stored.
        value: String,
    },
}

/// Crate result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Turns SQLITE_BUSY into [`StoreError::Busy`] so callers get the spec's message.
pub(crate) fn map_busy(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Busy
        }
        _ => StoreError::Sqlite(e),
    }
}

/// How to open the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its directory) when missing, migrate when older.
    Create,
    /// Open an existing file read-only; never create or migrate (dry runs, validate).
    ReadOnly,
}

/// Who does something, and through which channel (recorded in audit and history rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Username, OS user, `--as` value or `system`.
    pub name: String,
    /// `cli`, `web`, `api`, `demo`, `system`.
    pub channel: String,
    /// Role for web/API actors.
    pub role: Option<String>,
}

impl Actor {
    /// A CLI actor.
    pub fn cli(name: &str) -> Self {
        Self {
            name: name.to_string(),
            channel: "cli".into(),
            role: None,
        }
    }

    /// Automatic work.
    pub fn system() -> Self {
        Self {
            name: "system".into(),
            channel: "system".into(),
            role: None,
        }
    }
}

/// An open database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    clock: fn() -> DateTime<Utc>,
    /// How this connection waits for other writers (`busy.rs`).
    waiting: std::sync::Arc<busy::Waiting>,
    /// See [`Store::allow_solo_imports`].
    solo_imports: bool,
}

impl Store {
    /// Opens (and in [`OpenMode::Create`] creates and migrates) the database at `path`.
    pub fn open(path: &Path, mode: OpenMode, busy_timeout_ms: u64) -> Result<Self> {
        Self::open_announcing(path, mode, busy_timeout_ms, None)
    }

    /// [`Store::open`], sending a line to `notice` whenever it waits a moment for another
    /// process that holds the database (`waiting for import 42 (AWS, …) to finish…`), opening
    /// included: while an import runs alone with the bulk journal, nothing else can read. The
    /// CLI prints the line; without a notice the store waits silently.
    pub fn open_announcing(
        path: &Path,
        mode: OpenMode,
        busy_timeout_ms: u64,
        notice: Option<WaitNotice>,
    ) -> Result<Self> {
        // Before anything could write (the WAL switch, migrations): a file that is not ours is
        // refused untouched (issue 17).
        if let Some(foreign) = upstream::foreign_database(path)? {
            return Err(StoreError::ForeignDatabase(foreign.refusal(path)));
        }
        let mut conn = match mode {
            OpenMode::Create => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                        context: format!("creating database directory {}", dir.display()),
                        source,
                    })?;
                }
                Connection::open(path)?
            }
            OpenMode::ReadOnly => Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?,
        };
        let waiting = busy::Waiting::new(path, std::time::Duration::from_millis(busy_timeout_ms));
        if let Some(notice) = notice {
            waiting.set_notice(notice);
        }
        waiting.install(&mut conn)?;
        if mode == OpenMode::Create {
            // 16 KiB pages for a new database (ignored for an existing one): a million-row import
            // writes a quarter of the WAL frames, checksums and page splits of 4 KiB pages, and
            // spends a third less time in the kernel.
            conn.pragma_update(None, "page_size", 16384)?;
            ensure_wal(&conn, &waiting)?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -16384)?; // 16 MiB page cache: inserts are append-mostly
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        decimal::register(&conn)?;
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
            clock: Utc::now,
            waiting,
            solo_imports: false,
        };
        match mode {
            OpenMode::Create => migrate::migrate(&mut store.conn)?,
            OpenMode::ReadOnly => migrate::check_readable(&store.conn)?,
        }
        Ok(store)
    }

    /// Lets imports through this store use a rollback journal when they find the database open
    /// nowhere else (see `bulk_journal.rs`): for a process that runs one command, like the CLI.
    /// A long-running server must not: its own requests would then wait for the import.
    pub fn allow_solo_imports(&mut self) {
        self.solo_imports = true;
    }

    /// An in-memory database (tests, dry runs against a database that does not exist yet).
    pub fn open_in_memory() -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        decimal::register(&conn)?;
        migrate::migrate(&mut conn)?;
        Ok(Self {
            conn,
            path: PathBuf::from(":memory:"),
            clock: Utc::now,
            waiting: busy::Waiting::new(Path::new(":memory:"), std::time::Duration::ZERO),
            solo_imports: false,
        })
    }

    /// Replaces the clock (tests control time).
    pub fn set_clock(&mut self, clock: fn() -> DateTime<Utc>) {
        self.clock = clock;
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn now(&self) -> String {
        stamp((self.clock)())
    }

    /// Whether `path` is this database's file or one of SQLite's files beside it (`-wal`,
    /// `-shm`, `-journal`). Such a file must never be read as an import: closing a descriptor
    /// of it would drop this process's locks on the database (see `writeback.rs`).
    pub fn is_database_file(&self, path: &Path) -> bool {
        let Ok(input) = std::fs::metadata(path) else {
            return false;
        };
        ["", "-wal", "-shm", "-journal"].iter().any(|suffix| {
            let mut name = self.path.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(&name).is_ok_and(|m| same_file(&m, &input))
        })
    }

    /// `PRAGMA integrity_check` and `foreign_key_check`; returns the problems found.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let line = row?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let fk = stmt.query_map([], |r| {
            Ok(format!(
                "foreign key violation in {}",
                r.get::<_, String>(0)?
            ))
        })?;
        for row in fk {
            problems.push(row?);
        }
        problems.extend(self.out_of_range_amounts()?);
        Ok(problems)
    }

    /// Charges whose amounts are beyond the range ingest accepts: only a version before that
    /// check could store them, and statements and journals of their period refuse to run until
    /// they are rejected in review or corrected (see `ocb_core::amount::MAX_AMOUNT`).
    fn out_of_range_amounts(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, period, billed_cost, list_cost, contracted_cost, effective_cost FROM charges
             WHERE dec_out_of_range(billed_cost) OR dec_out_of_range(list_cost)
                OR dec_out_of_range(contracted_cost) OR dec_out_of_range(effective_cost)
             ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            let costs: Vec<Option<String>> = (2..6).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
            let shown = costs.into_iter().flatten().collect::<Vec<_>>().join(", ");
            Ok(format!(
                "charge {} of {} has amounts beyond the accepted range (below 100,000,000,000,000): {shown}; reject it in review or correct and re-import it",
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Puts the database in WAL mode unless it is already.
///
/// A database is in rollback-journal mode while a CLI import runs alone (`bulk_journal.rs`);
/// switching it back needs that import to end. SQLite reports such a lock conflict at once,
/// without its busy handler, when the switch would have to upgrade a read lock (a deadlock
/// guard), so the switch is retried here within the same timeout.
fn ensure_wal(conn: &Connection, waiting: &busy::Waiting) -> Result<()> {
    let started = std::time::Instant::now();
    let mut announced = false;
    let mut attempt = 0;
    loop {
        let mode = conn
            .pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0))
            .and_then(|m| match m.eq_ignore_ascii_case("wal") {
                true => Ok(m),
                false => conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)),
            });
        match mode.map_err(map_busy) {
            Err(StoreError::Busy)
                if waiting.wait_once(started.elapsed(), attempt, &mut announced) =>
            {
                attempt = attempt.saturating_add(1);
            }
            other => return other.map(drop),
        }
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// RFC 3339 UTC text as stored.
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    pub fn store() -> Store {
        let mut s = Store::open_in_memory().expect("in-memory store");
        s.set_clock(|| "2025-02-03T04:05:06Z".parse().expect("fixed time"));
        s
    }

    /// The header of a plain replace-mode import of `f.csv`.
    pub fn header(uuid: &str, source: &str) -> ImportHeader {
        ImportHeader {
            uuid: uuid.into(),
            source: source.into(),
            display_name: None,
            filename: "f.csv".into(),
            path: None,
            mode: ocb_core::source::ImportMode::Replace,
            expected_period: None,
            skip_invalid: false,
        }
    }

    /// A charge of `period` as ingest makes it: hashes from `fields`, first occurrence.
    pub fn charge(
        line: u64,
        period: &str,
        fields: ocb_core::charge::ChargeFields,
        attribution: ocb_core::attribution::Attribution,
        reasons: Vec<ocb_core::flags::FlagReason>,
    ) -> ocb_core::charge::NewCharge {
        ocb_core::charge::NewCharge {
            line,
            period: period.parse().expect("period"),
            key_hash: fields.identity_hash(),
            occurrence: 1,
            content_hash: fields.content_hash(),
            fields,
            attribution: attribution.into(),
            reasons,
        }
    }
}
