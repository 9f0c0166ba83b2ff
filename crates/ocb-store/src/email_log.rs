//! The email log (SPEC §9.8): one row per send operation (per PI email), its audit events, and
//! marking the attached statements sent — all in one transaction.

use crate::audit::{self, AuditEvent};
use crate::publications::{self, Publication};
use crate::{map_busy, Actor, Result, Store};
use rusqlite::params;
use serde_json::{json, Value};

/// One send operation to record.
#[derive(Debug, Clone)]
pub struct EmailLogEntry {
    /// Period.
    pub period: String,
    /// Recipient (PI email).
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// `success`, `error` or `dev_mode`.
    pub status: &'static str,
    /// Last failure.
    pub error: Option<String>,
    /// Every attempt's error and other details.
    pub details: Value,
    /// Attempts made.
    pub attempts: u32,
    /// Attached statements with the content hash that was sent.
    pub statements: Vec<(i64, String)>,
    /// `Message-ID`.
    pub message_id: Option<String>,
    /// Dev-mode `.eml` path.
    pub file_path: Option<String>,
    /// PI total (exact decimal text) for the `statement.sent` audit.
    pub total: String,
}

/// A stored email log row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredEmailLog {
    /// Row id.
    pub id: i64,
    /// UTC time.
    pub occurred_at: String,
    /// Period.
    pub period: String,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Status.
    pub status: String,
    /// Last error.
    pub error: Option<String>,
    /// Attempts.
    pub attempts: i64,
    /// Statement ids attached.
    pub statement_ids: Vec<i64>,
    /// Message-ID.
    pub message_id: Option<String>,
    /// Dev-mode file.
    pub file_path: Option<String>,
    /// Actor.
    pub actor: String,
}

impl Store {
    /// Records a send operation; on `success`/`dev_mode` marks the attached statements sent
    /// (only those whose figures are still the ones that were sent). `files` are the dev-mode
    /// files to publish, recorded in the same transaction ([`crate::StoreError::NameTaken`]
    /// when a name is no longer free: nothing is recorded). Returns the log row id.
    pub fn record_email(
        &mut self,
        actor: &Actor,
        e: &EmailLogEntry,
        files: &[Publication],
    ) -> Result<i64> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        publications::insert(&tx, &at, files)?;
        let ids: Vec<i64> = e.statements.iter().map(|(id, _)| *id).collect();
        tx.execute(
            "INSERT INTO email_log (occurred_at, period, recipient, subject, status, error, details, attempts,
                 statement_ids, message_id, file_path, actor, channel)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![at, e.period, e.recipient, e.subject, e.status, e.error, e.details.to_string(),
                e.attempts, json!(ids).to_string(), e.message_id, e.file_path, actor.name, actor.channel],
        )?;
        let log_id = tx.last_insert_rowid();
        let event = match e.status {
            "success" => "email.success",
            "dev_mode" => "email.dev_mode",
            _ => "email.error",
        };
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event,
                target_type: Some("email"),
                target_id: Some(log_id.to_string()),
                period: Some(e.period.clone()),
                details: json!({"recipient": e.recipient, "subject": e.subject, "status": e.status,
                "attempts": e.attempts, "error": e.error}),
            },
        )?;
        if e.status != "error" {
            let mut stmt = tx.prepare_cached(
                "UPDATE statements SET sent_at = ?1 WHERE id = ?2 AND content_hash = ?3",
            )?;
            for (id, hash) in &e.statements {
                stmt.execute(params![at, id, hash])?;
            }
            drop(stmt);
            audit::insert(
                &tx,
                &at,
                actor,
                &AuditEvent {
                    event: "statement.sent",
                    target_type: Some("email"),
                    target_id: Some(log_id.to_string()),
                    period: Some(e.period.clone()),
                    details: json!({"pi_email": e.recipient, "total_cost": e.total, "statement_ids": ids}),
                },
            )?;
        }
        tx.commit()?;
        Ok(log_id)
    }

    /// Email log rows, newest first, filtered by period, status and recipient.
    pub fn email_log(
        &self,
        period: Option<&str>,
        status: Option<&str>,
        recipient: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<StoredEmailLog>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, occurred_at, period, recipient, subject, status, error, attempts, statement_ids,
                    message_id, file_path, actor
             FROM email_log
             WHERE (?1 IS NULL OR period = ?1) AND (?2 IS NULL OR status = ?2)
               AND (?3 IS NULL OR lower(recipient) = lower(?3))
             ORDER BY id DESC LIMIT ?4 OFFSET ?5",
        )?;
        let rows = stmt.query_map(
            params![period, status, recipient, limit as i64, offset as i64],
            |r| {
                let ids: String = r.get(8)?;
                Ok(StoredEmailLog {
                    id: r.get(0)?,
                    occurred_at: r.get(1)?,
                    period: r.get(2)?,
                    recipient: r.get(3)?,
                    subject: r.get(4)?,
                    status: r.get(5)?,
                    error: r.get(6)?,
                    attempts: r.get(7)?,
                    statement_ids: serde_json::from_str(&ids).unwrap_or_default(),
                    message_id: r.get(9)?,
                    file_path: r.get(10)?,
                    actor: r.get(11)?,
                })
            },
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;

    #[test]
    fn success_marks_unchanged_statements_sent_and_error_marks_nothing() {
        let mut s = store();
        let a = Actor::cli("alice");
        s.open_period(&a, "2025-01".parse().expect("p"), None)
            .expect("open");
        s.conn
            .execute_batch(
                "INSERT INTO statements (id, period, pi_email, project_id, kind, total, total_list, total_discount,
                     total_exact, total_list_exact, charge_count, content_hash, template_data, pdf_path, generated_at)
                 VALUES (1, '2025-01', 'pi@x.edu', 'p1', 'draft', '1', '1', '0', '1', '1', 1, 'h1', '{}', '/a.pdf', 't'),
                        (2, '2025-01', 'pi@x.edu', 'p2', 'draft', '1', '1', '0', '1', '1', 1, 'h2', '{}', '/b.pdf', 't');",
            )
            .expect("rows");
        let mut e = EmailLogEntry {
            period: "2025-01".into(),
            recipient: "pi@x.edu".into(),
            subject: "s".into(),
            status: "error",
            error: Some("connection refused".into()),
            details: json!({"errors": ["connection refused"]}),
            attempts: 4,
            statements: vec![(1, "h1".into()), (2, "stale-hash".into())],
            message_id: None,
            file_path: None,
            total: "2".into(),
        };
        s.record_email(&a, &e, &[]).expect("log");
        let sent: i64 = s
            .conn
            .query_row("SELECT count(sent_at) FROM statements", [], |r| r.get(0))
            .expect("q");
        assert_eq!(sent, 0);
        e.status = "success";
        e.error = None;
        s.record_email(&a, &e, &[]).expect("log");
        let sent: i64 = s
            .conn
            .query_row("SELECT count(sent_at) FROM statements", [], |r| r.get(0))
            .expect("q");
        assert_eq!(sent, 1, "a statement regenerated since is not marked");
        let log = s
            .email_log(Some("2025-01"), None, Some("PI@x.edu"), 25, 0)
            .expect("log");
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].status, "success");
        assert_eq!(log[1].error.as_deref(), Some("connection refused"));
        assert_eq!(log[1].statement_ids, vec![1, 2]);
        assert_eq!(s.audit_events(Some("email.error"), 5).expect("a").len(), 1);
        assert_eq!(
            s.audit_events(Some("statement.sent"), 5).expect("a").len(),
            1
        );
    }
}
