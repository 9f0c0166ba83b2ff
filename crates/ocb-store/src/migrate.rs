//! Versioned, forward-only schema migrations (plain `.sql` files embedded in the binary).

use crate::{map_busy, Result, StoreError};
use rusqlite::Connection;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (2, "web", include_str!("../migrations/sqlite/0002_web.sql")),
    (
        3,
        "statements",
        include_str!("../migrations/sqlite/0003_statements.sql"),
    ),
    (
        4,
        "admin",
        include_str!("../migrations/sqlite/0004_admin.sql"),
    ),
    (
        5,
        "tag_sets",
        include_str!("../migrations/sqlite/0005_tag_sets.sql"),
    ),
    (
        6,
        "failed_import_counts",
        include_str!("../migrations/sqlite/0006_failed_import_counts.sql"),
    ),
    (
        7,
        "file_publications",
        include_str!("../migrations/sqlite/0007_file_publications.sql"),
    ),
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = 7;

fn current_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Applies pending migrations, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let found = current_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > found) {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        // Another process may have migrated while we waited for the lock.
        if current_version(&tx)? >= *version {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tracing::info!(event = "db.migrated", to = version, name, "schema migrated");
        tx.commit()?;
    }
    Ok(())
}

/// A read-only open refuses a schema it cannot read.
pub(crate) fn check_readable(conn: &Connection) -> Result<()> {
    let found = current_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions run 1, 2, 3 … with no gap: a database at version N skips every migration ≤ N,
    /// so a gap filled later would never be applied.
    #[test]
    fn versions_are_contiguous_and_end_at_schema_version() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|(v, _, _)| *v).collect();
        let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
        assert_eq!(versions, expected);
    }
}
