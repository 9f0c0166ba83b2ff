//! The Python OpenChargeback's SQLite database (`shared/spec/UPSTREAM-DB.md`): recognising it,
//! reading it without changing a byte, and writing what it holds into our schema in one
//! transaction (`db import-upstream`, issue 17).
//!
//! The file is opened read-only and immutable (`file:PATH?mode=ro&immutable=1`): SQLite then
//! takes no locks, creates no `-wal`/`-shm` files and never switches the journal mode, so the
//! Python installation keeps working on an untouched file. Every column added after the first
//! released schema is looked up in `PRAGMA table_info` and read as NULL when absent.

mod detect;
mod money;
mod read;
mod sample;
mod write;
mod write_charges;

pub use detect::{foreign_database, Foreign};
pub use money::{decimal_of_text, is_overly_precise, MoneyError, REPORTED_DECIMALS};
pub use read::{
    UpstreamCharge, UpstreamEmail, UpstreamImport, UpstreamJournal, UpstreamPeriod,
    UpstreamReviewLog, UpstreamSource, UpstreamStatement, UpstreamUser,
};
pub use sample::create_python_database;
pub use write::{
    ImportedCharge, NewEmail, NewJournal, NewPeriod, NewReviewLog, NewStatement, NewUpstreamUser,
    UpstreamCounts, UpstreamWriter, IMPORT_KIND,
};

use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// An open Python OpenChargeback database.
pub struct UpstreamDb {
    conn: Connection,
    path: PathBuf,
    version: i64,
    /// Columns of each table present in the file.
    columns: HashMap<String, HashSet<String>>,
}

/// Opens `path` read-only and immutable: no lock, no journal, no side files.
pub(crate) fn open_immutable(path: &Path) -> Result<Connection> {
    let uri = format!("file:{}?mode=ro&immutable=1", uri_path(path));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Ok(Connection::open_with_flags(uri, flags)?)
}

/// A path as a URI path: `%`, `?` and `#` would otherwise end or escape it.
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// Names of the tables in an open file; fails on a file that is not SQLite.
pub(crate) fn table_names(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let names = stmt.query_map([], |r| r.get(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}

impl UpstreamDb {
    /// Opens a Python OpenChargeback database; anything else is refused with what it is.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(StoreError::NotFound(format!(
                "{} does not exist",
                path.display()
            )));
        }
        // Immutable reads ignore a WAL file: changes still in one would be missed.
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return Err(StoreError::Refused(format!(
                "{} exists: the Python OpenChargeback may still be running on this database; stop it (or copy the database with `sqlite3 {} \".backup copy.db\"` and import the copy)",
                wal.display(),
                path.display()
            )));
        }
        let conn = open_immutable(path)?;
        let tables =
            table_names(&conn).map_err(|_| not_upstream(path, "not an SQLite database"))?;
        if !detect::is_python_schema(&tables) {
            return Err(not_upstream(
                path,
                "it has no schema_version and billing_periods tables",
            ));
        }
        let version = conn.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?;
        let mut columns = HashMap::new();
        for t in tables {
            let cols = table_columns(&conn, &t)?;
            columns.insert(t, cols);
        }
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            version,
            columns,
        })
    }

    /// The schema version in force (the highest `schema_version` row).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file has `table` with `column`.
    pub fn has(&self, table: &str, column: &str) -> bool {
        self.columns.get(table).is_some_and(|c| c.contains(column))
    }

    /// Whether the file has `table`.
    pub fn has_table(&self, table: &str) -> bool {
        self.columns.contains_key(table)
    }
}

fn not_upstream(path: &Path, why: &str) -> StoreError {
    StoreError::Refused(format!(
        "{} is not a Python OpenChargeback database: {why}",
        path.display()
    ))
}

fn table_columns(conn: &Connection, table: &str) -> Result<HashSet<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |r| r.get(0))?;
    Ok(names.collect::<rusqlite::Result<_>>()?)
}
