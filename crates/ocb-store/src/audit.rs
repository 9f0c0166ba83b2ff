//! Append-only audit events (SPEC §13.1). The table refuses UPDATE and DELETE by trigger.
//!
//! Each event is also emitted as a `tracing` event with target `audit`, so the application log
//! carries it unless `logging.enabled` is false (the binary filters that target then).

use crate::{Actor, Result, Store};
use rusqlite::{params, Connection};
use serde_json::Value;

/// One audit event.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Event name, e.g. `import.completed`.
    pub event: &'static str,
    /// Target type (`import`, `period`, `charge`, …).
    pub target_type: Option<&'static str>,
    /// Target id.
    pub target_id: Option<String>,
    /// Period concerned.
    pub period: Option<String>,
    /// Details (JSON object; amounts as exact decimal strings).
    pub details: Value,
}

pub(crate) fn insert(conn: &Connection, at: &str, actor: &Actor, e: &AuditEvent) -> Result<()> {
    insert_with_ip(conn, at, actor, e, None)
}

pub(crate) fn insert_with_ip(
    conn: &Connection,
    at: &str,
    actor: &Actor,
    e: &AuditEvent,
    client_ip: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events (occurred_at, event, actor, actor_role, channel, target_type, target_id, period, details, client_ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        at,
        e.event,
        actor.name,
        actor.role,
        actor.channel,
        e.target_type,
        e.target_id,
        e.period,
        e.details.to_string(),
        client_ip
    ])?;
    tracing::info!(
        target: "audit",
        event = e.event,
        actor = %actor.name,
        channel = %actor.channel,
        period = e.period.as_deref().unwrap_or(""),
        details = %e.details,
    );
    Ok(())
}

/// A stored audit event (for listings and tests).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredAuditEvent {
    /// Row id.
    pub id: i64,
    /// UTC time.
    pub occurred_at: String,
    /// Event name.
    pub event: String,
    /// Actor.
    pub actor: String,
    /// Channel.
    pub channel: String,
    /// Period.
    pub period: Option<String>,
    /// Details JSON.
    pub details: Value,
}

impl Store {
    /// Records an audit event now.
    pub fn audit(&self, actor: &Actor, e: &AuditEvent) -> Result<()> {
        insert(&self.conn, &self.now(), actor, e)
    }

    /// Records an audit event of a web or API request, with the client address.
    pub fn audit_request(
        &self,
        actor: &Actor,
        e: &AuditEvent,
        client_ip: Option<&str>,
    ) -> Result<()> {
        insert_with_ip(&self.conn, &self.now(), actor, e, client_ip)
    }

    /// Audit events, newest first, optionally only one event name.
    pub fn audit_events(&self, event: Option<&str>, limit: usize) -> Result<Vec<StoredAuditEvent>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, occurred_at, event, actor, channel, period, details FROM audit_events
             WHERE (?1 IS NULL OR event = ?1) ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![event, limit as i64], |r| {
            let details: String = r.get(6)?;
            Ok(StoredAuditEvent {
                id: r.get(0)?,
                occurred_at: r.get(1)?,
                event: r.get(2)?,
                actor: r.get(3)?,
                channel: r.get(4)?,
                period: r.get(5)?,
                details: serde_json::from_str(&details).unwrap_or(Value::String(details)),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;

    #[test]
    fn audit_rows_cannot_be_changed_or_deleted() {
        let s = store();
        let e = AuditEvent {
            event: "period.created",
            target_type: Some("period"),
            target_id: Some("2025-01".into()),
            period: Some("2025-01".into()),
            details: serde_json::json!({"via": "cli"}),
        };
        s.audit(&Actor::cli("alice"), &e).expect("insert");
        assert!(s
            .conn
            .execute("UPDATE audit_events SET actor = 'mallory'", [])
            .is_err());
        assert!(s.conn.execute("DELETE FROM audit_events", []).is_err());
        assert_eq!(s.audit_events(None, 10).expect("list").len(), 1);
    }
}
