//! The journal export log (SPEC §10.11): one row per successful export, written together with
//! its `export.journal` audit event so the log and the audit trail never disagree. The web
//! export log lists the rows (filters period and format, paginated) and serves the stored files.

use crate::audit::{insert as insert_audit, AuditEvent};
use crate::publications::{self, Publication};
use crate::{map_busy, Actor, Result, Store};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension};
use serde::Serialize;

/// What an export records (the journal crate fills it from its export record).
#[derive(Debug, Clone)]
pub struct NewJournalExport {
    /// UTC time (RFC 3339).
    pub exported_at: String,
    /// Period.
    pub period: String,
    /// Period status at the time.
    pub period_status: String,
    /// Format (`default`, `standard`, `summary`, `gl`, `template`).
    pub format: String,
    /// Template file name (`template` format).
    pub template_name: Option<String>,
    /// Pending flagged charges included.
    pub include_flagged: bool,
    /// Data lines of the file.
    pub row_count: i64,
    /// Charges exported.
    pub charge_count: i64,
    /// Net charge (exact decimal text).
    pub total: String,
    /// Σ debits (gl/template).
    pub debit_total: Option<String>,
    /// Σ credits (gl/template).
    pub credit_total: Option<String>,
    /// File name (`-` for standard output).
    pub file_name: String,
    /// Absolute stored path; empty when nothing was stored (standard output).
    pub stored_path: String,
    /// SHA-256 of the content.
    pub sha256: String,
}

/// A stored export log row.
#[derive(Debug, Clone, Serialize)]
pub struct StoredJournalExport {
    /// Row id (the export id shown to users).
    pub id: i64,
    /// UTC time.
    pub exported_at: String,
    /// Period.
    pub period: String,
    /// Period status at the time.
    pub period_status: String,
    /// Format.
    pub format: String,
    /// Template file name.
    pub template_name: Option<String>,
    /// Flagged charges included.
    pub include_flagged: bool,
    /// Data lines.
    pub row_count: i64,
    /// Charges.
    pub charge_count: i64,
    /// Net charge (exact decimal text).
    pub total: String,
    /// Σ debits.
    pub debit_total: Option<String>,
    /// Σ credits.
    pub credit_total: Option<String>,
    /// Actor.
    pub actor: String,
    /// Channel.
    pub channel: String,
    /// File name.
    pub file_name: String,
    /// Stored path (empty when nothing was stored).
    pub stored_path: String,
    /// SHA-256.
    pub sha256: String,
}

/// The table accepts only the four channels of SPEC §13.1; anything else (e.g. an older `demo`
/// actor) is unattended work.
fn channel_of(actor: &Actor) -> &str {
    match actor.channel.as_str() {
        c @ ("web" | "api" | "cli" | "system") => c,
        _ => "system",
    }
}

const COLUMNS: &str = "id, exported_at, period, period_status, format, template_name, include_flagged,
    row_count, charge_count, total, debit_total, credit_total, actor, channel, file_name, stored_path, sha256";

fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredJournalExport> {
    Ok(StoredJournalExport {
        id: r.get(0)?,
        exported_at: r.get(1)?,
        period: r.get(2)?,
        period_status: r.get(3)?,
        format: r.get(4)?,
        template_name: r.get(5)?,
        include_flagged: r.get(6)?,
        row_count: r.get(7)?,
        charge_count: r.get(8)?,
        total: r.get(9)?,
        debit_total: r.get(10)?,
        credit_total: r.get(11)?,
        actor: r.get(12)?,
        channel: r.get(13)?,
        file_name: r.get(14)?,
        stored_path: r.get(15)?,
        sha256: r.get(16)?,
    })
}

impl Store {
    /// Records a successful export, its audit event `export.journal` and the publication of its
    /// staged file (none for standard output) in one transaction; `details` gets `export_id`
    /// (the new row id). Returns the row id. [`crate::StoreError::NameTaken`] when the file's
    /// final name is no longer free (nothing is recorded; try the next name).
    pub fn record_journal_export(
        &self,
        actor: &Actor,
        e: &NewJournalExport,
        mut details: serde_json::Value,
        file: Option<&Publication>,
    ) -> Result<i64> {
        // Immediate: the free-name check and the insert must not interleave with another export.
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )
        .map_err(map_busy)?;
        let at = self.now();
        publications::insert(&tx, &at, file.map_or(&[], std::slice::from_ref))?;
        tx.prepare_cached(
            "INSERT INTO journal_exports (exported_at, period, period_status, format, template_name,
                 include_flagged, row_count, charge_count, total, debit_total, credit_total, actor,
                 channel, file_name, stored_path, sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?
        .execute(params![
            e.exported_at,
            e.period,
            e.period_status,
            e.format,
            e.template_name,
            e.include_flagged,
            e.row_count,
            e.charge_count,
            e.total,
            e.debit_total,
            e.credit_total,
            actor.name,
            channel_of(actor),
            e.file_name,
            e.stored_path,
            e.sha256
        ])
        .map_err(map_busy)?;
        let id = tx.last_insert_rowid();
        if let Some(map) = details.as_object_mut() {
            map.insert("export_id".into(), id.into());
        }
        let event = AuditEvent {
            event: "export.journal",
            target_type: Some("journal"),
            target_id: Some(id.to_string()),
            period: Some(e.period.clone()),
            details,
        };
        insert_audit(&tx, &at, actor, &event)?;
        tx.commit().map_err(map_busy)?;
        Ok(id)
    }

    /// Export log rows, newest first, filtered by period and format; plus the match count.
    pub fn journal_exports(
        &self,
        period: Option<&str>,
        format: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<StoredJournalExport>, u64)> {
        let filter = "FROM journal_exports WHERE (?1 IS NULL OR period = ?1) AND (?2 IS NULL OR format = ?2)";
        let count: i64 = self.conn.query_row(
            &format!("SELECT count(*) {filter}"),
            params![period, format],
            |r| r.get(0),
        )?;
        let args = [
            period.map_or(Value::Null, |p| Value::Text(p.into())),
            format.map_or(Value::Null, |f| Value::Text(f.into())),
            Value::Integer(limit as i64),
            Value::Integer(offset as i64),
        ];
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} {filter} ORDER BY id DESC LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), read)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((rows, count as u64))
    }

    /// One export log row.
    pub fn journal_export(&self, id: i64) -> Result<Option<StoredJournalExport>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM journal_exports WHERE id = ?1"),
                [id],
                read,
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;

    fn export(period: &str, format: &str) -> NewJournalExport {
        NewJournalExport {
            exported_at: "2025-02-03T04:05:06Z".into(),
            period: period.into(),
            period_status: "closed".into(),
            format: format.into(),
            template_name: None,
            include_flagged: false,
            row_count: 3,
            charge_count: 7,
            total: "1.005".into(),
            debit_total: Some("1.00".into()),
            credit_total: Some("1.00".into()),
            file_name: "journal.csv".into(),
            stored_path: "/tmp/journal.csv".into(),
            sha256: "ab".into(),
        }
    }

    #[test]
    fn exports_are_logged_with_their_audit_event_and_filtered() {
        let s = store();
        let a = Actor::cli("alice");
        let id = s
            .record_journal_export(
                &a,
                &export("2025-01", "gl"),
                serde_json::json!({"format": "gl"}),
                None,
            )
            .expect("record");
        s.record_journal_export(
            &a,
            &export("2025-01", "summary"),
            serde_json::json!({}),
            None,
        )
        .expect("record");
        s.record_journal_export(&a, &export("2025-02", "gl"), serde_json::json!({}), None)
            .expect("record");
        let (rows, total) = s
            .journal_exports(Some("2025-01"), None, 0, 10)
            .expect("list");
        assert_eq!((rows.len(), total), (2, 2));
        assert_eq!(rows[0].format, "summary", "newest first");
        let (gl, total) = s.journal_exports(None, Some("gl"), 0, 1).expect("list");
        assert_eq!((gl.len(), total), (1, 2));
        let row = s.journal_export(id).expect("get").expect("exists");
        assert_eq!((row.total.as_str(), row.channel.as_str()), ("1.005", "cli"));
        let events = s.audit_events(Some("export.journal"), 10).expect("audit");
        assert_eq!(events.len(), 3);
        assert_eq!(events[2].details["export_id"], serde_json::json!(id));
    }

    #[test]
    fn an_export_whose_file_name_is_taken_records_nothing() {
        let s = store();
        let dir = tempfile::tempdir().expect("tmp");
        let taken = dir.path().join("journal.csv");
        std::fs::write(&taken, b"an earlier journal").expect("write");
        let file = Publication {
            staged: dir.path().join(".ocb-staged-x-journal.csv"),
            target: taken.clone(),
            replace: false,
        };
        let a = Actor::cli("alice");
        let e = export("2025-01", "gl");
        let err = s.record_journal_export(&a, &e, serde_json::json!({}), Some(&file));
        assert!(matches!(err, Err(crate::StoreError::NameTaken(p)) if p == taken));
        assert_eq!(s.journal_exports(None, None, 0, 10).expect("log").1, 0);
        assert!(s.audit_events(None, 10).expect("audit").is_empty());
        let free = Publication {
            target: dir.path().join("journal-2.csv"),
            ..file
        };
        let id = s
            .record_journal_export(&a, &e, serde_json::json!({}), Some(&free))
            .expect("record");
        assert_eq!(
            s.publication_target(&free.staged).expect("pending"),
            Some(free.target.clone()),
            "the file's publication commits with export {id}"
        );
    }

    #[test]
    fn unknown_channels_are_recorded_as_system() {
        let s = store();
        let demo = Actor {
            name: "system".into(),
            channel: "demo".into(),
            role: None,
        };
        let id = s
            .record_journal_export(&demo, &export("2025-01", "gl"), serde_json::json!({}), None)
            .expect("record");
        let row = s.journal_export(id).expect("get").expect("row");
        assert_eq!(row.channel, "system");
    }
}
