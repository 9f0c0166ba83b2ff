//! Sources: where charges come from. Names are unique case-insensitively (SPEC §5.13).

use crate::audit::{self, AuditEvent};
use crate::{Actor, Result, Store};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

/// A stored source with its activity.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceInfo {
    /// Row id.
    pub id: i64,
    /// Stored spelling.
    pub name: String,
    /// Display name (None = the name).
    pub display_name: Option<String>,
    /// `file` or `api`.
    pub source_type: String,
    /// Live (not removed) charges.
    pub charges: i64,
    /// Time of the latest import.
    pub last_import_at: Option<String>,
    /// Status of the latest import.
    pub last_import_status: Option<String>,
    /// Rows read by the latest import.
    pub last_import_rows: Option<i64>,
    /// Row errors of the latest import.
    pub last_import_errors: Option<i64>,
}

pub(crate) fn find_id(conn: &Connection, name: &str) -> Result<Option<(i64, String)>> {
    Ok(conn
        .prepare_cached("SELECT id, name FROM sources WHERE name_key = ?1")?
        .query_row([ocb_core::source::source_key(name)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

pub(crate) fn create(
    conn: &Connection,
    at: &str,
    actor: &Actor,
    name: &str,
    display_name: Option<&str>,
    source_type: &str,
    via: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO sources (name, name_key, display_name, type, created_at, created_by, created_via)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![name, ocb_core::source::source_key(name), display_name, source_type, at, actor.name, via],
    )?;
    let id = conn.last_insert_rowid();
    audit::insert(
        conn,
        at,
        actor,
        &AuditEvent {
            event: "source.created",
            target_type: Some("source"),
            target_id: Some(name.to_string()),
            period: None,
            details: json!({"source": name, "via": via}),
        },
    )?;
    Ok(id)
}

impl Store {
    /// The stored spelling of a source, if it exists (case-insensitive).
    pub fn find_source(&self, name: &str) -> Result<Option<(i64, String)>> {
        find_id(&self.conn, name)
    }

    /// Creates a source; `Ok(false)` when it already exists (case-insensitive).
    pub fn add_source(
        &mut self,
        actor: &Actor,
        name: &str,
        display_name: Option<&str>,
        source_type: &str,
    ) -> Result<bool> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(crate::map_busy)?;
        if find_id(&tx, name)?.is_some() {
            return Ok(false);
        }
        create(
            &tx,
            &at,
            actor,
            name,
            display_name,
            source_type,
            &actor.channel,
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Every source with its live charge count and latest import.
    pub fn list_sources(&self) -> Result<Vec<SourceInfo>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.id, s.name, s.display_name, s.type,
                    (SELECT count(*) FROM charges c WHERE c.source_id = s.id AND c.removed_at IS NULL),
                    i.created_at, i.status, i.rows_read, i.error_count
             FROM sources s
             LEFT JOIN imports i ON i.id = (SELECT max(id) FROM imports WHERE source_id = s.id)
             ORDER BY s.name_key",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SourceInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                display_name: r.get(2)?,
                source_type: r.get(3)?,
                charges: r.get(4)?,
                last_import_at: r.get(5)?,
                last_import_status: r.get(6)?,
                last_import_rows: r.get(7)?,
                last_import_errors: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::store;
    use crate::Actor;

    #[test]
    fn sources_are_case_insensitive() {
        let mut s = store();
        assert!(s
            .add_source(&Actor::cli("a"), "AWS", None, "file")
            .expect("add"));
        assert!(!s
            .add_source(&Actor::cli("a"), "aws", None, "file")
            .expect("add"));
        assert_eq!(
            s.find_source("Aws").expect("find").map(|x| x.1).as_deref(),
            Some("AWS")
        );
        assert_eq!(s.list_sources().expect("list").len(), 1);
    }
}
