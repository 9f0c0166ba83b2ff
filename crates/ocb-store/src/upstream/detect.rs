//! Recognising a database file that is not ours before anything writes to it (issue 17).
//!
//! Opening a file normally switches it to WAL mode and runs our migrations: on the Python
//! project's `billing.db` that failed half-way (`table sources already exists …`) after the
//! switch had already changed the file. So `Store::open` first reads an existing file's header,
//! and only for a file that is not ours looks at its tables through a read-only, immutable
//! connection, which cannot change it.

use super::{open_immutable, table_names};
use crate::Result;
use std::path::Path;

/// A database file `Store::open` must not touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Foreign {
    /// The Python OpenChargeback's database, with its schema version.
    PythonOpenChargeback(i64),
    /// Another application's SQLite database (it has tables, none of them ours).
    OtherSqlite,
    /// Not an SQLite database at all.
    NotSqlite,
}

/// The Python project's signature: its version table and its periods table.
pub(crate) fn is_python_schema(tables: &[String]) -> bool {
    let has = |n: &str| tables.iter().any(|t| t == n);
    has("schema_version") && has("billing_periods")
}

/// The 100-byte header every SQLite database file starts with: its magic string, and at
/// offset 60 the `user_version` our migrations stamp in the transaction that creates our tables.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What the existing, non-empty file at `path` is when it is not an OpenChargeback (Rust)
/// database; `None` for ours, an empty file or no file.
///
/// Our own files are told from the header alone, without SQLite: no lock is taken, so a
/// command opening the database while an import holds it is not slowed or confused.
pub fn foreign_database(path: &Path) -> Result<Option<Foreign>> {
    let mut header = [0u8; 100];
    let read = match std::fs::File::open(path) {
        Ok(mut f) => read_up_to(&mut f, &mut header),
        Err(_) => return Ok(None),
    };
    let read = read.map_err(|source| crate::StoreError::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    if read == 0 {
        return Ok(None);
    }
    if read < header.len() || &header[..16] != MAGIC {
        return Ok(Some(Foreign::NotSqlite));
    }
    if u32::from_be_bytes([header[60], header[61], header[62], header[63]]) > 0 {
        return Ok(None);
    }
    // `user_version` 0 with tables: not ours. Any read trouble is left to the normal open.
    let Ok(tables) = open_immutable(path).and_then(|c| table_names(&c).map(|t| (c, t))) else {
        return Ok(None);
    };
    let (conn, tables) = tables;
    if is_python_schema(&tables) {
        let v = conn
            .query_row(
                "SELECT coalesce(max(version), 0) FROM schema_version",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        return Ok(Some(Foreign::PythonOpenChargeback(v)));
    }
    Ok((!tables.is_empty()).then_some(Foreign::OtherSqlite))
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl Foreign {
    /// The one-line refusal for `database.path` pointing at this file.
    pub fn refusal(&self, path: &Path) -> String {
        let p = path.display();
        match self {
            Self::PythonOpenChargeback(v) => format!(
                "{p} is a Python OpenChargeback database (schema version {v}), which this program does not open in place; point database.path at a new file and run `openchargeback db import-upstream {p}`"
            ),
            Self::OtherSqlite => format!(
                "{p} is an SQLite database of another application (its tables are not OpenChargeback's); point database.path at a new file (to bring over a Python OpenChargeback database: `openchargeback db import-upstream PATH`)"
            ),
            Self::NotSqlite => format!(
                "{p} is not an SQLite database; point database.path at a new file or at an OpenChargeback database"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn file_with(sql: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        let conn = Connection::open(f.path()).expect("open");
        conn.execute_batch(sql).expect("schema");
        f
    }

    #[test]
    fn python_database_is_recognised_with_its_version() {
        let f = file_with(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at DATETIME);
             INSERT INTO schema_version VALUES (8, NULL), (10, NULL);
             CREATE TABLE billing_periods (id INTEGER PRIMARY KEY, period VARCHAR(7) NOT NULL);",
        );
        assert_eq!(
            foreign_database(f.path()).expect("read"),
            Some(Foreign::PythonOpenChargeback(10))
        );
    }

    #[test]
    fn other_sqlite_files_and_garbage_are_foreign() {
        let f = file_with("CREATE TABLE notes (id INTEGER PRIMARY KEY);");
        assert_eq!(
            foreign_database(f.path()).expect("read"),
            Some(Foreign::OtherSqlite)
        );
        let g = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(
            g.path(),
            b"this is not a database, just some text that is long enough",
        )
        .expect("write");
        assert_eq!(
            foreign_database(g.path()).expect("read"),
            Some(Foreign::NotSqlite)
        );
    }

    #[test]
    fn our_database_empty_file_and_missing_file_are_not_foreign() {
        let f =
            file_with("CREATE TABLE sources (id INTEGER PRIMARY KEY); PRAGMA user_version = 7;");
        assert_eq!(foreign_database(f.path()).expect("read"), None);
        let empty = tempfile::NamedTempFile::new().expect("temp file");
        assert_eq!(foreign_database(empty.path()).expect("read"), None);
        assert_eq!(
            foreign_database(Path::new("/nonexistent/billing.db")).expect("read"),
            None
        );
    }

    #[test]
    fn detection_leaves_no_side_files() {
        let f = file_with(
            "CREATE TABLE schema_version (version INTEGER); CREATE TABLE billing_periods (id INTEGER);",
        );
        let before = std::fs::read(f.path()).expect("read");
        foreign_database(f.path()).expect("read");
        assert_eq!(std::fs::read(f.path()).expect("read"), before);
        let wal = format!("{}-wal", f.path().display());
        assert!(!Path::new(&wal).exists());
    }
}
