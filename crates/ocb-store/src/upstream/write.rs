//! Writing a Python OpenChargeback database into ours: ONE transaction for everything
//! (SPEC §5.10's rule for imports, applied to the whole migration), committed last, so a killed
//! `db import-upstream` leaves the destination as it was. Callers hand over rows already mapped
//! to our meanings (`ocb_ingest::upstream`); this file only stores them.

use super::write_charges::ChargeWriters;
use crate::audit::{self, AuditEvent};
use crate::bulk_journal::BulkJournal;
use crate::imports::{insert_import_row, write_record, ForeignKeysOff};
use crate::publications::{self, Publication};
use crate::writeback::Writeback;
use crate::{map_busy, periods, sources, Actor, ImportHeader, ImportRecord, Result, Store};
use rusqlite::{params, Transaction};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

pub use super::write_charges::ImportedCharge;

/// `imports.kind` of the records `db import-upstream` writes.
pub const IMPORT_KIND: &str = "upstream-db";

/// Rows written per table, for the report and the audit event.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpstreamCounts(pub BTreeMap<String, u64>);

impl UpstreamCounts {
    /// Counts one more row of `table`.
    pub fn add(&mut self, table: &str, n: u64) {
        *self.0.entry(table.to_string()).or_default() += n;
    }
}

/// A period as our schema holds it (timestamps RFC 3339 UTC).
#[derive(Debug, Clone, Default)]
pub struct NewPeriod {
    pub period: String,
    pub status: String,
    pub created_at: String,
    pub created_by: String,
    pub closed: Option<(String, String)>,
    pub reopened: Option<(String, String, Option<String>)>,
    pub finalized: Option<(String, String)>,
    pub notes: Option<String>,
}

/// A statement record brought over (figures as the Python project computed them).
#[derive(Debug, Clone, Default)]
pub struct NewStatement {
    pub period: String,
    pub pi_email: String,
    pub project_id: String,
    pub kind: &'static str,
    pub fund_orgs: Vec<String>,
    pub total: String,
    pub pdf_path: String,
    pub generated_at: String,
    pub sent_at: Option<String>,
    pub template_data: serde_json::Value,
}

/// An e-mail log row.
#[derive(Debug, Clone, Default)]
pub struct NewEmail {
    pub occurred_at: String,
    pub period: String,
    pub recipient: String,
    pub subject: String,
    pub status: String,
    pub error: Option<String>,
    pub statement_id: Option<i64>,
    pub actor: String,
}

/// A journal export log row (the Python project kept no copy of the file).
#[derive(Debug, Clone, Default)]
pub struct NewJournal {
    pub exported_at: String,
    pub period: String,
    pub period_status: String,
    pub format: String,
    pub include_flagged: bool,
    pub row_count: i64,
    pub total: String,
    pub actor: String,
    pub file_name: String,
}

/// A database user (bcrypt hash kept as stored).
#[derive(Debug, Clone, Default)]
pub struct NewUpstreamUser {
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
}

/// A review decision of the Python web UI.
#[derive(Debug, Clone, Default)]
pub struct NewReviewLog {
    pub occurred_at: String,
    pub period: String,
    pub charge_id: i64,
    pub action: String,
    pub actor: String,
    pub pi_email: Option<String>,
    pub resource_id: Option<String>,
    pub service: Option<String>,
    pub amount: String,
    pub note: Option<String>,
}

impl Store {
    /// Whether the database holds nothing an import could collide with: no source, period,
    /// charge, import or statement (users synced from the config do not count).
    pub fn is_empty_for_upstream(&self) -> Result<bool> {
        let n: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM sources) + (SELECT count(*) FROM periods)
                  + (SELECT count(*) FROM charges) + (SELECT count(*) FROM imports)
                  + (SELECT count(*) FROM statements)",
            [],
            |r| r.get(0),
        )?;
        Ok(n == 0)
    }

    /// Starts the one write transaction of `db import-upstream`.
    pub fn begin_upstream(&mut self, actor: &Actor) -> Result<UpstreamWriter<'_>> {
        let at = self.now();
        // As for an ingest (`Store::begin_import`): every parent row is written by this
        // transaction, `db check` runs `foreign_key_check` afterwards.
        let fk_guard = ForeignKeysOff::new(&self.conn)?;
        let solo = self.solo_imports && self.path.as_os_str() != ":memory:";
        let journal = BulkJournal::enter(&self.conn, solo, &self.waiting);
        let tx = Transaction::new_unchecked(&self.conn, rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        Ok(UpstreamWriter {
            tx,
            charges: ChargeWriters::new(&self.conn),
            at,
            actor: actor.clone(),
            counts: UpstreamCounts::default(),
            _fk_guard: fk_guard,
            _journal: journal,
            _writeback: Writeback::start(&self.path),
        })
    }
}

/// The open transaction of `db import-upstream`; dropped without [`Self::commit`] it rolls back.
pub struct UpstreamWriter<'a> {
    tx: Transaction<'a>,
    pub(super) charges: ChargeWriters<'a>,
    pub(super) at: String,
    pub(super) actor: Actor,
    counts: UpstreamCounts,
    // Dropped after `tx`, in this order (see `ImportWriter`).
    _fk_guard: ForeignKeysOff<'a>,
    _journal: BulkJournal<'a>,
    _writeback: Option<Writeback>,
}

impl<'a> UpstreamWriter<'a> {
    pub(super) fn tx(&self) -> &Transaction<'a> {
        &self.tx
    }

    /// Rows written so far, per table.
    pub fn counts(&self) -> &UpstreamCounts {
        &self.counts
    }

    /// Counts `n` rows of `table` written by the caller's own loop (charges).
    pub fn count(&mut self, table: &str, n: u64) {
        self.counts.add(table, n);
    }

    /// The periods that already exist (a `--merge` leaves them alone).
    pub fn existing_periods(&self) -> Result<HashSet<String>> {
        let mut stmt = self.tx.prepare("SELECT period FROM periods")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The id of a source, created when absent; `true` when it was created.
    pub fn source(&mut self, name: &str, display: Option<&str>, kind: &str) -> Result<(i64, bool)> {
        if let Some((id, _)) = sources::find_id(&self.tx, name)? {
            return Ok((id, false));
        }
        let kind = if kind == "api" { "api" } else { "file" };
        let id = sources::create(
            &self.tx,
            &self.at,
            &self.actor,
            name,
            display,
            kind,
            "upstream",
        )?;
        self.counts.add("sources", 1);
        Ok((id, true))
    }

    /// A period with its transitions as history rows, in time order, and its notes.
    pub fn period(&mut self, p: &NewPeriod) -> Result<()> {
        self.tx.execute(
            "INSERT INTO periods (period, status, created_at, created_by, closed_at, closed_by, reopened_at,
                                  reopened_by, reopen_reason, finalized_at, finalized_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![p.period, p.status, p.created_at, p.created_by,
                p.closed.as_ref().map(|c| &c.0), p.closed.as_ref().map(|c| &c.1),
                p.reopened.as_ref().map(|r| &r.0), p.reopened.as_ref().map(|r| &r.1),
                p.reopened.as_ref().and_then(|r| r.2.as_ref()),
                p.finalized.as_ref().map(|f| &f.0), p.finalized.as_ref().map(|f| &f.1)],
        )?;
        for (at, by, from, to, note) in period_history(p) {
            let actor = Actor {
                name: by,
                channel: "web".into(),
                role: None,
            };
            periods::history(&self.tx, &at, &actor, &p.period, from, to, note.as_deref())?;
        }
        if let Some(n) = p.notes.as_deref().filter(|n| !n.trim().is_empty()) {
            let actor = Actor {
                name: "upstream".into(),
                ..self.actor.clone()
            };
            periods::add_note(&self.tx, &p.created_at, &actor, &p.period, n)?;
        }
        self.counts.add("periods", 1);
        Ok(())
    }

    /// The import record that owns the charges of one source (what `db check` reconciles).
    pub fn begin_charges(&mut self, header: &ImportHeader) -> Result<i64> {
        insert_import_row(&self.tx, header, &self.actor, &self.at, None, None)
    }

    /// Completes an import record begun with [`Self::begin_charges`].
    pub fn finish_charges(
        &mut self,
        import_id: i64,
        source_id: i64,
        rec: &ImportRecord,
    ) -> Result<()> {
        self.charges.flush(import_id, source_id)?;
        write_record(&self.tx, import_id, rec)?;
        self.tx.execute(
            "UPDATE imports SET source_id = ?2 WHERE id = ?1",
            params![import_id, source_id],
        )?;
        for p in &rec.periods {
            periods::bump_counter(&self.tx, &p.period)?;
        }
        self.counts.add("imports", 1);
        Ok(())
    }

    /// One of the Python project's import history rows, as a record that wrote nothing here
    /// (its charges came with [`Self::begin_charges`]); its own figures are in `warnings`.
    pub fn history_import(
        &mut self,
        header: &ImportHeader,
        created_at: &str,
        summary: &str,
    ) -> Result<()> {
        let id = insert_import_row(&self.tx, header, &self.actor, created_at, None, None)?;
        let note = serde_json::json!([{
            "code": "I_UPSTREAM_IMPORT", "line": "", "column": null, "value": null, "message": summary,
        }]);
        self.tx.execute(
            "UPDATE imports SET kind = ?2, warnings = ?3, source_id = (SELECT id FROM sources WHERE name_key = ?4)
             WHERE id = ?1",
            params![id, IMPORT_KIND, note.to_string(), ocb_core::source::source_key(&header.source)],
        )?;
        self.counts.add("import history", 1);
        Ok(())
    }

    /// A review log row.
    pub fn review_log(&mut self, r: &NewReviewLog) -> Result<()> {
        self.tx.prepare_cached(
            "INSERT INTO review_log (occurred_at, period, charge_id, action, actor, channel, pi_email, resource_id,
                                     service, amount, note)
             VALUES (?1, ?2, ?3, ?4, ?5, 'web', ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![r.occurred_at, r.period, r.charge_id, r.action, r.actor, r.pi_email, r.resource_id,
            r.service, r.amount, r.note])?;
        self.counts.add("review log", 1);
        Ok(())
    }

    /// A statement; returns its id.
    pub fn statement(&mut self, s: &NewStatement) -> Result<i64> {
        let funds = serde_json::to_string(&s.fund_orgs).expect("strings serialise");
        self.tx.prepare_cached(
            "INSERT INTO statements (period, pi_email, project_id, kind, fund_orgs, total, total_list, total_discount,
                                     total_exact, total_list_exact, charge_count, content_hash, template_data,
                                     pdf_path, generated_at, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, '0', ?6, ?6, 0, 'upstream', ?7, ?8, ?9, ?10)",
        )?
        .execute(params![s.period, s.pi_email, s.project_id, s.kind, funds, s.total,
            s.template_data.to_string(), s.pdf_path, s.generated_at, s.sent_at])?;
        self.counts.add("statements", 1);
        Ok(self.tx.last_insert_rowid())
    }

    /// An e-mail log row.
    pub fn email(&mut self, e: &NewEmail) -> Result<()> {
        let ids = serde_json::json!(e.statement_id.into_iter().collect::<Vec<_>>());
        self.tx.prepare_cached(
            "INSERT INTO email_log (occurred_at, period, recipient, subject, status, error, attempts, statement_ids,
                                    actor, channel)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, 'web')",
        )?
        .execute(params![e.occurred_at, e.period, e.recipient, e.subject, e.status, e.error, ids.to_string(), e.actor])?;
        self.counts.add("email log", 1);
        Ok(())
    }

    /// A journal export log row, without a stored file (`stored_path` and `sha256` empty).
    pub fn journal(&mut self, j: &NewJournal) -> Result<()> {
        self.tx.prepare_cached(
            "INSERT INTO journal_exports (exported_at, period, period_status, format, include_flagged, row_count,
                                          charge_count, total, actor, channel, file_name, stored_path, sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, 'web', ?9, '', '')",
        )?
        .execute(params![j.exported_at, j.period, j.period_status, j.format, j.include_flagged, j.row_count,
            j.total, j.actor, j.file_name])?;
        self.counts.add("journal exports", 1);
        Ok(())
    }

    /// A database user; `false` when the username is taken (case-insensitive).
    pub fn user(&mut self, u: &NewUpstreamUser) -> Result<bool> {
        let n = self.tx.execute(
            "INSERT INTO users (username, username_key, email, display_name, password_hash, role, created_at,
                                created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (username_key) DO NOTHING",
            params![u.username, u.username.to_lowercase(), u.email, u.display_name, u.password_hash, u.role,
                u.created_at, u.created_by, u.updated_at],
        )?;
        self.counts.add("users", n as u64);
        Ok(n == 1)
    }

    /// Commits: statement charge counts, pending PDF publications, the audit event.
    pub fn commit(
        self,
        files: &[Publication],
        details: serde_json::Value,
    ) -> Result<UpstreamCounts> {
        self.tx.execute(
            "UPDATE statements SET charge_count = (
                 SELECT count(*) FROM charges c
                  WHERE c.period = statements.period AND lower(coalesce(c.pi_email, '')) = statements.pi_email
                    AND (statements.project_id = '(all projects)' OR coalesce(c.project_id, '(no project)') = statements.project_id)
                    AND c.removed_at IS NULL AND c.review_state IN ('none', 'approved'))
             WHERE content_hash = 'upstream'",
            [],
        )?;
        publications::insert(&self.tx, &self.at, files)?;
        let event = AuditEvent {
            event: "db.imported_upstream",
            target_type: Some("database"),
            target_id: None,
            period: None,
            details,
        };
        audit::insert(&self.tx, &self.at, &self.actor, &event)?;
        let counts = self.counts.clone();
        self.tx.commit().map_err(map_busy)?;
        Ok(counts)
    }
}

type HistoryRow = (
    String,
    String,
    Option<&'static str>,
    &'static str,
    Option<String>,
);

/// The transitions a period's timestamps tell of, in time order (the Python project kept only
/// the latest of each, so earlier close/reopen cycles are not known).
fn period_history(p: &NewPeriod) -> Vec<HistoryRow> {
    let mut rows: Vec<HistoryRow> = vec![(
        p.created_at.clone(),
        p.created_by.clone(),
        None,
        "open",
        None,
    )];
    let mut events: Vec<(String, String, &'static str, Option<String>)> = Vec::new();
    if let Some((at, by)) = &p.closed {
        events.push((at.clone(), by.clone(), "closed", None));
    }
    if let Some((at, by, reason)) = &p.reopened {
        events.push((at.clone(), by.clone(), "open", reason.clone()));
    }
    if let Some((at, by)) = &p.finalized {
        events.push((at.clone(), by.clone(), "finalized", None));
    }
    events.sort_by(|a, b| a.0.cmp(&b.0));
    let mut from = "open";
    for (at, by, to, note) in events {
        rows.push((at, by, Some(from), to, note));
        from = to;
    }
    rows
}
