//! Queries of the web UI's output pages (SPEC §12.3): one statement by id, the email log with
//! its match count, the audit log with filters, and the "one job per (period, kind)" claim of
//! background jobs (§12.1).

use crate::audit::StoredAuditEvent;
use crate::email_log::StoredEmailLog;
use crate::sessions::JobRecord;
use crate::statements::{select_statements, StoredStatement};
use crate::{map_busy, Result, Store};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension, TransactionBehavior};

/// Filters of the audit log page; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Event name, or its prefix before a dot (`export` matches `export.journal`).
    pub event: Option<String>,
    /// Actor (case-insensitive).
    pub actor: Option<String>,
    /// Period.
    pub period: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC), inclusive.
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, UTC), inclusive.
    pub to: Option<String>,
}

/// A `WHERE` clause built from optional conditions, numbering its parameters.
struct Where {
    sql: String,
    args: Vec<Value>,
}

impl Where {
    fn new() -> Self {
        Self {
            sql: "WHERE 1 = 1".into(),
            args: Vec::new(),
        }
    }

    /// Adds `cond` where every `?` stands for `v`.
    fn push(&mut self, cond: &str, v: Option<&str>) {
        if let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) {
            self.args.push(Value::Text(v.to_string()));
            let n = self.args.len();
            self.sql.push_str(&cond.replace('?', &format!("?{n}")));
        }
    }
}

impl Store {
    /// One statement by id.
    pub fn statement(&self, id: i64) -> Result<Option<StoredStatement>> {
        let period: Option<String> = self
            .conn
            .query_row("SELECT period FROM statements WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(period) = period else {
            return Ok(None);
        };
        Ok(select_statements(&self.conn, &period, None)?
            .into_iter()
            .find(|s| s.id == id))
    }

    /// One email log row (found through the listing query: its offset in the newest-first list
    /// of its period is the number of later rows).
    pub fn email_log_entry(&self, id: i64) -> Result<Option<StoredEmailLog>> {
        let period: Option<String> = self
            .conn
            .query_row("SELECT period FROM email_log WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(period) = period else {
            return Ok(None);
        };
        let before: i64 = self.conn.query_row(
            "SELECT count(*) FROM email_log WHERE period = ?1 AND id > ?2",
            params![period, id],
            |r| r.get(0),
        )?;
        Ok(self
            .email_log(Some(&period), None, None, 1, before as usize)?
            .into_iter()
            .find(|e| e.id == id))
    }

    /// How many email log rows match the filters of [`Store::email_log`].
    pub fn email_log_count(
        &self,
        period: Option<&str>,
        status: Option<&str>,
        recipient: Option<&str>,
    ) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM email_log WHERE (?1 IS NULL OR period = ?1) AND (?2 IS NULL OR status = ?2)
               AND (?3 IS NULL OR lower(recipient) = lower(?3))",
            params![period, status, recipient],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Audit events, newest first, filtered and paginated; plus the match count.
    pub fn audit_page(
        &self,
        f: &AuditFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<StoredAuditEvent>, u64)> {
        let mut w = Where::new();
        w.push(
            " AND (event = ? OR event LIKE ? || '.%')",
            f.event.as_deref(),
        );
        w.push(" AND lower(actor) = lower(?)", f.actor.as_deref());
        w.push(" AND period = ?", f.period.as_deref());
        w.push(" AND substr(occurred_at, 1, 10) >= ?", f.from.as_deref());
        w.push(" AND substr(occurred_at, 1, 10) <= ?", f.to.as_deref());
        let count: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM audit_events {}", w.sql),
            params_from_iter(w.args.iter()),
            |r| r.get(0),
        )?;
        let n = w.args.len();
        let sql = format!(
            "SELECT id, occurred_at, event, actor, channel, period, details FROM audit_events {}
             ORDER BY id DESC LIMIT ?{} OFFSET ?{}",
            w.sql,
            n + 1,
            n + 2
        );
        let mut args = w.args;
        args.push(Value::Integer(limit as i64));
        args.push(Value::Integer(offset as i64));
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                let details: String = r.get(6)?;
                Ok(StoredAuditEvent {
                    id: r.get(0)?,
                    occurred_at: r.get(1)?,
                    event: r.get(2)?,
                    actor: r.get(3)?,
                    channel: r.get(4)?,
                    period: r.get(5)?,
                    details: serde_json::from_str(&details)
                        .unwrap_or(serde_json::Value::String(details)),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, count as u64))
    }

    /// The distinct event names recorded so far (the audit page's filter choices).
    pub fn audit_event_names(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT event FROM audit_events ORDER BY event")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Creates a `running` job unless one of the same kind and period is already running, in
    /// one write transaction so two requests cannot both pass the check. `Err(job)` returns the
    /// running job.
    pub fn claim_job(
        &mut self,
        kind: &str,
        period: &str,
        username: &str,
        label: &str,
    ) -> Result<std::result::Result<i64, JobRecord>> {
        let now = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let running: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE kind = ?1 AND period = ?2 AND status IN ('queued', 'running')
                 ORDER BY id LIMIT 1",
                params![kind, period],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = running {
            drop(tx);
            return Ok(Err(self.get_job(id)?.ok_or_else(|| {
                crate::StoreError::NotFound(format!("job {id} vanished"))
            })?));
        }
        tx.execute(
            "INSERT INTO jobs (kind, period, status, created_at, username, label) VALUES (?1, ?2, 'running', ?3, ?4, ?5)",
            params![kind, period, now, username, label],
        )
        .map_err(map_busy)?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(map_busy)?;
        Ok(Ok(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use crate::{Actor, AuditEvent};

    #[test]
    fn audit_page_filters_by_event_prefix_actor_period_and_dates() {
        let s = store();
        let ev = |event: &'static str, period: &str| AuditEvent {
            event,
            target_type: None,
            target_id: None,
            period: Some(period.into()),
            details: serde_json::json!({}),
        };
        s.audit(&Actor::cli("alice"), &ev("export.journal", "2025-01"))
            .expect("a");
        s.audit(&Actor::cli("Bob"), &ev("export.failed", "2025-02"))
            .expect("b");
        s.audit(&Actor::cli("alice"), &ev("period.closed", "2025-01"))
            .expect("c");
        let page = |f: AuditFilter| s.audit_page(&f, 0, 10).expect("page").1;
        assert_eq!(page(AuditFilter::default()), 3);
        let by_event = |e: &str| AuditFilter {
            event: Some(e.into()),
            ..Default::default()
        };
        assert_eq!(page(by_event("export")), 2);
        assert_eq!(page(by_event("export.failed")), 1);
        assert_eq!(page(by_event("exp")), 0, "prefixes end at a dot");
        let bob = AuditFilter {
            actor: Some("bob".into()),
            ..Default::default()
        };
        assert_eq!(page(bob), 1);
        let jan = AuditFilter {
            period: Some("2025-01".into()),
            ..Default::default()
        };
        assert_eq!(page(jan), 2);
        // The test clock says 2025-02-03.
        let day = |from: &str, to: &str| AuditFilter {
            from: Some(from.into()),
            to: Some(to.into()),
            ..Default::default()
        };
        assert_eq!(page(day("2025-02-03", "2025-02-03")), 3);
        assert_eq!(page(day("2025-02-04", "2025-03-01")), 0);
        let (rows, _) = s.audit_page(&AuditFilter::default(), 1, 1).expect("page");
        assert_eq!(rows[0].event, "export.failed", "newest first, offset 1");
        assert_eq!(
            s.audit_event_names().expect("names"),
            ["export.failed", "export.journal", "period.closed"]
        );
    }

    #[test]
    fn a_second_job_of_the_same_kind_and_period_is_refused_while_the_first_runs() {
        let mut s = store();
        let first = s
            .claim_job("statements", "2025-01", "alice", "Generate")
            .expect("claim")
            .expect("free");
        let busy = s
            .claim_job("statements", "2025-01", "bob", "Generate")
            .expect("claim")
            .expect_err("busy");
        assert_eq!((busy.id, busy.username.as_str()), (first, "alice"));
        assert!(s
            .claim_job("send", "2025-01", "bob", "Send")
            .expect("claim")
            .is_ok());
        s.finish_job(first, true, None, None).expect("finish");
        assert!(s
            .claim_job("statements", "2025-01", "bob", "Generate")
            .expect("claim")
            .is_ok());
    }
}
