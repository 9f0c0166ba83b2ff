//! Statements and generation runs (SPEC §8.3–§8.6): the consistent snapshot a run computes from,
//! the single transaction that publishes a run (change-counter check, upserts that keep ids,
//! removals, run record, audit), stale marking on reopen, and the listings used for sending.

use crate::audit::{self, AuditEvent};
use crate::decimal::{dec, exact as exact_sum};
use crate::periods::{status_of, QUEUED};
use crate::{map_busy, Actor, Result, Store, StoreError};
use ocb_core::billing::BillableCharge;
use ocb_core::exact::ExactSum;
use ocb_core::period::{Period, PeriodStatus};
use ocb_core::Decimal;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;

/// A stored statement (without its template data).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredStatement {
    /// Stable id.
    pub id: i64,
    /// Period.
    pub period: String,
    /// PI email.
    pub pi_email: String,
    /// Project label.
    pub project_id: String,
    /// `draft`, `final` or `stale`.
    pub kind: String,
    /// Fund/orgs shown.
    pub fund_orgs: Vec<String>,
    /// PI display name.
    pub pi_name: Option<String>,
    /// Amount due (rounded).
    #[serde(serialize_with = "as_text")]
    pub total: Decimal,
    /// List total (rounded).
    #[serde(serialize_with = "as_text")]
    pub total_list: Decimal,
    /// Discount (rounded).
    #[serde(serialize_with = "as_text")]
    pub total_discount: Decimal,
    /// Exact Σ BilledCost.
    pub total_exact: ExactSum,
    /// Charges in the statement.
    pub charge_count: i64,
    /// Content hash.
    pub content_hash: String,
    /// Absolute PDF path.
    pub pdf_path: PathBuf,
    /// Last generation time.
    pub generated_at: String,
    /// Last successful send, cleared when the figures change.
    pub sent_at: Option<String>,
}

fn as_text<S: serde::Serializer>(d: &Decimal, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// Everything a generation run computes from, read in one read transaction.
#[derive(Debug)]
pub struct GenerationSnapshot {
    /// Period status at the snapshot.
    pub status: PeriodStatus,
    /// Change counter at the snapshot.
    pub counter: i64,
    /// Billable charges.
    pub charges: Vec<BillableCharge>,
    /// Statements stored for the period.
    pub existing: Vec<StoredStatement>,
    /// Queued (flagged) charges excluded: count and exact sum.
    pub excluded: (i64, ExactSum),
    /// First id free for new statements.
    pub next_id: i64,
}

/// One statement to write.
#[derive(Debug, Clone)]
pub struct StatementUpsert {
    /// Reserved id (existing id, or a new one from [`GenerationSnapshot::next_id`]).
    pub id: i64,
    /// PI email.
    pub pi_email: String,
    /// Project label.
    pub project_id: String,
    /// Fund/orgs shown.
    pub fund_orgs: Vec<String>,
    /// PI display name.
    pub pi_name: Option<String>,
    /// Amount due.
    pub total: Decimal,
    /// List total.
    pub total_list: Decimal,
    /// Exact amount.
    pub total_exact: ExactSum,
    /// Exact list.
    pub total_list_exact: ExactSum,
    /// Charges.
    pub charge_count: i64,
    /// Content hash.
    pub content_hash: String,
    /// Template data (JSON text).
    pub template_data: String,
    /// Absolute PDF path.
    pub pdf_path: PathBuf,
}

/// A run ready to be published.
#[derive(Debug, Clone)]
pub struct GenerationCommit {
    /// Period.
    pub period: Period,
    /// Kind of every statement: `draft` (open) or `final` (closed).
    pub kind: &'static str,
    /// Counter the figures were computed from.
    pub counter: i64,
    /// Run start (RFC 3339 UTC).
    pub started_at: String,
    /// Statements.
    pub statements: Vec<StatementUpsert>,
    /// Directory holding the rendered PDFs under their final names.
    pub staging_dir: PathBuf,
}

/// What a committed run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunOutcome {
    /// Run id.
    pub run_id: i64,
    /// New statements.
    pub new: usize,
    /// Statements whose figures or kind changed.
    pub updated: usize,
    /// Statements with the same figures and kind.
    pub unchanged: usize,
    /// Statements removed (no billable charges any more).
    pub removed: usize,
    /// PDFs no longer current, deleted after the moves: those of removed statements and the
    /// old names of statements whose file name changed (issue 17: names use the email's local
    /// part now; a PI with a clashing local part renames files too).
    pub removed_pdfs: Vec<PathBuf>,
}

/// A committed run whose file moves may not have finished.
#[derive(Debug, Clone)]
pub struct PendingRun {
    /// Run id.
    pub run_id: i64,
    /// Staging directory.
    pub staging_dir: PathBuf,
    /// PDFs to delete.
    pub removals: Vec<PathBuf>,
}

const STATEMENT_COLUMNS: &str = "id, period, pi_email, project_id, kind, fund_orgs, pi_name, total,
    total_list, total_discount, total_exact, charge_count, content_hash, pdf_path, generated_at, sent_at";

fn read_statement(r: &rusqlite::Row<'_>) -> rusqlite::Result<(StoredStatement, [String; 5])> {
    let fund_orgs: String = r.get(5)?;
    let pdf: String = r.get(13)?;
    Ok((
        StoredStatement {
            id: r.get(0)?,
            period: r.get(1)?,
            pi_email: r.get(2)?,
            project_id: r.get(3)?,
            kind: r.get(4)?,
            fund_orgs: serde_json::from_str(&fund_orgs).unwrap_or_default(),
            pi_name: r.get(6)?,
            total: Decimal::ZERO,
            total_list: Decimal::ZERO,
            total_discount: Decimal::ZERO,
            total_exact: ExactSum::ZERO,
            charge_count: r.get(11)?,
            content_hash: r.get(12)?,
            pdf_path: PathBuf::from(pdf),
            generated_at: r.get(14)?,
            sent_at: r.get(15)?,
        },
        [r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, fund_orgs],
    ))
}

pub(crate) fn select_statements(
    conn: &Connection,
    period: &str,
    pi: Option<&str>,
) -> Result<Vec<StoredStatement>> {
    let sql = format!(
        "SELECT {STATEMENT_COLUMNS} FROM statements WHERE period = ?1 AND (?2 IS NULL OR pi_email = ?2)
         ORDER BY pi_email, project_id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![period, pi], read_statement)?;
    rows.map(|row| {
        let (mut s, [total, list, discount, exact, _]) = row?;
        s.total = dec(&total)?;
        s.total_list = dec(&list)?;
        s.total_discount = dec(&discount)?;
        s.total_exact = exact_sum(&exact)?;
        Ok(s)
    })
    .collect()
}

/// A reopened period's final statements become `stale` (called inside the reopen transaction).
pub(crate) fn mark_stale(conn: &Connection, period: &str) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE statements SET kind = 'stale' WHERE period = ?1 AND kind = 'final'",
        [period],
    )?)
}

fn upsert(
    tx: &Connection,
    at: &str,
    kind: &str,
    run_id: i64,
    period: &str,
    s: &StatementUpsert,
    old: Option<&StoredStatement>,
) -> Result<bool> {
    let fund_orgs = serde_json::to_string(&s.fund_orgs).expect("strings serialise");
    let discount = (s.total_list - s.total).to_string();
    let pdf = s.pdf_path.display().to_string();
    let Some(old) = old else {
        tx.prepare_cached(
            "INSERT INTO statements (id, period, pi_email, project_id, kind, fund_orgs, pi_name, total,
                 total_list, total_discount, total_exact, total_list_exact, charge_count, content_hash,
                 template_data, pdf_path, generated_at, run_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?
        .execute(params![
            s.id, period, s.pi_email, s.project_id, kind, fund_orgs, s.pi_name,
            s.total.to_string(), s.total_list.to_string(), discount, s.total_exact.to_string(),
            s.total_list_exact.to_string(), s.charge_count, s.content_hash, s.template_data, pdf,
            at, run_id
        ])
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Refused(format!(
                "another generation run created statements meanwhile; run generate for {period} again"
            )),
            _ => e.into(),
        })?;
        return Ok(true);
    };
    // §8.6: sent_at is cleared when the figures change, and when a draft becomes final.
    let changed = old.content_hash != s.content_hash;
    let clear_sent = changed || (old.kind == "draft" && kind == "final");
    tx.prepare_cached(
        "UPDATE statements SET kind = ?2, fund_orgs = ?3, pi_name = ?4, total = ?5, total_list = ?6,
             total_discount = ?7, total_exact = ?8, total_list_exact = ?9, charge_count = ?10,
             content_hash = ?11, template_data = ?12, pdf_path = ?13, generated_at = ?14, run_id = ?15,
             sent_at = CASE WHEN ?16 THEN NULL ELSE sent_at END
         WHERE id = ?1",
    )?
    .execute(params![
        old.id, kind, fund_orgs, s.pi_name, s.total.to_string(), s.total_list.to_string(), discount,
        s.total_exact.to_string(), s.total_list_exact.to_string(), s.charge_count, s.content_hash,
        s.template_data, pdf, at, run_id, clear_sent
    ])?;
    Ok(changed || old.kind != kind)
}

impl Store {
    /// Reads the billable charges, the change counter and the stored statements of `period` in
    /// one read transaction (a consistent snapshot, SPEC §8.4 step 2).
    pub fn generation_snapshot(&self, period: Period) -> Result<GenerationSnapshot> {
        let p = period.to_string();
        let tx = self.conn.unchecked_transaction().map_err(map_busy)?;
        let status = status_of(&tx, period)?
            .ok_or_else(|| StoreError::NotFound(format!("Billing period {p} not found")))?;
        let counter: i64 = tx.query_row(
            "SELECT change_counter FROM periods WHERE period = ?1",
            [&p],
            |r| r.get(0),
        )?;
        let charges = self.billable_charges(&p, false)?;
        let existing = select_statements(&tx, &p, None)?;
        let (count, sum): (i64, String) = tx.query_row(
            &format!(
                "SELECT count(*), dec_sum(billed_cost) FROM charges WHERE period = ?1 AND {QUEUED}"
            ),
            [&p],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let next_id: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) + 1 FROM statements", [], |r| {
                r.get(0)
            })?;
        tx.finish()?;
        Ok(GenerationSnapshot {
            status,
            counter,
            charges,
            existing,
            excluded: (count, exact_sum(&sum)?),
            next_id,
        })
    }

    /// Publishes a run in one transaction: the period must still have the status and change
    /// counter the run was computed from; statements are upserted by (period, PI, project),
    /// vanished ones deleted, the run recorded with its staging directory, audit rows written.
    pub fn commit_generation(
        &mut self,
        actor: &Actor,
        run: &GenerationCommit,
    ) -> Result<RunOutcome> {
        let at = self.now();
        let p = run.period.to_string();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let expected = if run.kind == "final" {
            PeriodStatus::Closed
        } else {
            PeriodStatus::Open
        };
        let counter: Option<i64> = tx
            .query_row(
                "SELECT change_counter FROM periods WHERE period = ?1",
                [&p],
                |r| r.get(0),
            )
            .optional()?;
        if status_of(&tx, run.period)? != Some(expected) || counter != Some(run.counter) {
            return Err(StoreError::Refused(format!(
                "charges of {p} changed during generation; run generate again"
            )));
        }
        let existing = select_statements(&tx, &p, None)?;
        let mut by_key: HashMap<(&str, &str), &StoredStatement> = existing
            .iter()
            .map(|s| ((s.pi_email.as_str(), s.project_id.as_str()), s))
            .collect();
        let total: Decimal = run.statements.iter().map(|s| s.total).sum();
        let pis = {
            let mut v: Vec<&str> = run.statements.iter().map(|s| s.pi_email.as_str()).collect();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        tx.execute(
            "INSERT INTO statement_runs (period, kind, change_counter, started_at, finished_at, actor,
                 channel, statements, total, pis, staging_dir)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![p, run.kind, run.counter, run.started_at, at, actor.name, actor.channel,
                run.statements.len() as i64, total.to_string(), pis as i64,
                run.staging_dir.display().to_string()],
        )?;
        let run_id = tx.last_insert_rowid();
        let mut out = RunOutcome {
            run_id,
            ..Default::default()
        };
        for s in &run.statements {
            let old = by_key.remove(&(s.pi_email.as_str(), s.project_id.as_str()));
            // A renamed statement's old file would otherwise stay in pdf_dir forever, under a
            // name no statement points at; the caller keeps any path that is current again.
            if let Some(o) = old.filter(|o| o.pdf_path != s.pdf_path) {
                out.removed_pdfs.push(o.pdf_path.clone());
            }
            match (
                old.is_some(),
                upsert(&tx, &at, run.kind, run_id, &p, s, old)?,
            ) {
                (false, _) => out.new += 1,
                (true, true) => out.updated += 1,
                (true, false) => out.unchanged += 1,
            }
            audit::insert(
                &tx,
                &at,
                actor,
                &AuditEvent {
                    event: "statement.generated",
                    target_type: Some("statement"),
                    target_id: Some(s.id.to_string()),
                    period: Some(p.clone()),
                    details: json!({"pi_email": s.pi_email, "project_id": s.project_id, "total_cost": s.total.to_string(),
                    "charge_count": s.charge_count, "pdf_path": s.pdf_path, "kind": run.kind}),
                },
            )?;
        }
        let mut vanished: Vec<&StoredStatement> = by_key.into_values().collect();
        vanished.sort_by_key(|s| s.id);
        for s in vanished {
            tx.execute("DELETE FROM statements WHERE id = ?1", [s.id])?;
            out.removed += 1;
            out.removed_pdfs.push(s.pdf_path.clone());
            audit::insert(
                &tx,
                &at,
                actor,
                &AuditEvent {
                    event: "statement.removed",
                    target_type: Some("statement"),
                    target_id: Some(s.id.to_string()),
                    period: Some(p.clone()),
                    details: json!({"pi_email": s.pi_email, "project_id": s.project_id,
                    "total_cost": s.total.to_string(), "was_sent": s.sent_at.is_some()}),
                },
            )?;
        }
        let removals = serde_json::to_string(&out.removed_pdfs).expect("paths serialise");
        tx.execute(
            "UPDATE statement_runs SET new_count = ?2, updated_count = ?3, unchanged_count = ?4,
                 removed_count = ?5, pending_removals = ?6 WHERE id = ?1",
            params![
                run_id,
                out.new as i64,
                out.updated as i64,
                out.unchanged as i64,
                out.removed as i64,
                removals
            ],
        )?;
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event: "statements.generated",
                target_type: Some("statement_run"),
                target_id: Some(run_id.to_string()),
                period: Some(p.clone()),
                details: json!({"run_id": run_id, "kind": run.kind, "statements": run.statements.len(), "pis": pis,
                "new": out.new, "updated": out.updated, "unchanged": out.unchanged, "removed": out.removed,
                "total": total.to_string()}),
            },
        )?;
        tx.commit()?;
        Ok(out)
    }

    /// Marks a run's file moves as done.
    pub fn finish_generation_run(&self, run_id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE statement_runs SET staging_dir = NULL, pending_removals = NULL WHERE id = ?1",
            [run_id],
        )?;
        Ok(())
    }

    /// Committed runs whose file moves have not been confirmed (crash recovery).
    pub fn pending_generation_runs(&self) -> Result<Vec<PendingRun>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, staging_dir, pending_removals FROM statement_runs WHERE staging_dir IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            let removals: Option<String> = r.get(2)?;
            Ok(PendingRun {
                run_id: r.get(0)?,
                staging_dir: PathBuf::from(r.get::<_, String>(1)?),
                removals: removals
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Whether any statement's PDF is stored at `path`.
    pub fn statement_with_pdf(&self, path: &std::path::Path) -> Result<bool> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM statements WHERE pdf_path = ?1",
            [path.display().to_string()],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Statements of a period, optionally of one PI, ordered by PI and project.
    pub fn list_statements(
        &self,
        period: Period,
        pi: Option<&str>,
    ) -> Result<Vec<StoredStatement>> {
        select_statements(&self.conn, &period.to_string(), pi)
    }

    /// The template data a statement was rendered from.
    pub fn statement_template_data(&self, id: i64) -> Result<serde_json::Value> {
        let text: String = self
            .conn
            .query_row(
                "SELECT template_data FROM statements WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NotFound(format!("statement {id} not found")))?;
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("statement {id} data: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use ocb_core::period::PeriodAction;

    fn p() -> Period {
        "2025-01".parse().expect("period")
    }

    fn upsert_row(id: i64, project: &str, total: &str, hash: &str) -> StatementUpsert {
        StatementUpsert {
            id,
            pi_email: "pi@x.edu".into(),
            project_id: project.into(),
            fund_orgs: vec!["F-1".into()],
            pi_name: None,
            total: total.parse().expect("decimal"),
            total_list: total.parse().expect("decimal"),
            total_exact: total.parse().expect("decimal"),
            total_list_exact: total.parse().expect("decimal"),
            charge_count: 1,
            content_hash: hash.into(),
            template_data: "{}".into(),
            pdf_path: PathBuf::from(format!("/x/{project}.pdf")),
        }
    }

    fn commit(s: &mut Store, kind: &'static str, rows: Vec<StatementUpsert>) -> Result<RunOutcome> {
        let snap = s.generation_snapshot(p())?;
        s.commit_generation(
            &Actor::cli("alice"),
            &GenerationCommit {
                period: p(),
                kind,
                counter: snap.counter,
                started_at: "2025-02-03T04:05:06Z".into(),
                statements: rows,
                staging_dir: PathBuf::from("/x/.staging"),
            },
        )
    }

    #[test]
    fn regeneration_keeps_ids_clears_sent_on_change_and_removes_vanished() {
        let mut s = store();
        let a = Actor::cli("alice");
        s.open_period(&a, p(), None).expect("open");
        let out = commit(
            &mut s,
            "draft",
            vec![
                upsert_row(1, "p1", "10", "h1"),
                upsert_row(2, "p2", "5", "h2"),
            ],
        )
        .expect("run");
        assert_eq!(
            (out.new, out.updated, out.unchanged, out.removed),
            (2, 0, 0, 0)
        );
        s.conn
            .execute("UPDATE statements SET sent_at = 'x'", [])
            .expect("sent");
        // Same figures → unchanged, sent kept; p2 vanished → removed.
        let out = commit(&mut s, "draft", vec![upsert_row(9, "p1", "10", "h1")]).expect("run");
        assert_eq!(
            (out.new, out.updated, out.unchanged, out.removed),
            (0, 0, 1, 1)
        );
        assert_eq!(out.removed_pdfs, vec![PathBuf::from("/x/p2.pdf")]);
        let list = s.list_statements(p(), None).expect("list");
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].id, 1, "id stable across regenerations");
        assert_eq!(list[0].sent_at.as_deref(), Some("x"));
        // Draft → final clears sent_at although the figures are the same.
        s.transition_period(&a, p(), PeriodAction::Close, None)
            .expect("close");
        let out = commit(&mut s, "final", vec![upsert_row(1, "p1", "10", "h1")]).expect("run");
        assert_eq!(out.updated, 1);
        assert_eq!(s.list_statements(p(), None).expect("list")[0].sent_at, None);
        // Finalize works with a current final run; before that, reopen marks finals stale.
        s.transition_period(&a, p(), PeriodAction::Reopen, Some("late credit"))
            .expect("reopen");
        assert_eq!(s.list_statements(p(), None).expect("list")[0].kind, "stale");
        assert_eq!(
            s.audit_events(Some("statement.removed"), 10)
                .expect("audit")
                .len(),
            1
        );
        assert_eq!(s.pending_generation_runs().expect("pending").len(), 3);
        s.finish_generation_run(1).expect("finish");
        assert_eq!(s.pending_generation_runs().expect("pending").len(), 2);
    }

    #[test]
    fn a_changed_counter_refuses_the_run() {
        let mut s = store();
        s.open_period(&Actor::cli("a"), p(), None).expect("open");
        let snap = s.generation_snapshot(p()).expect("snap");
        s.conn
            .execute("UPDATE periods SET change_counter = change_counter + 1", [])
            .expect("bump");
        let err = s
            .commit_generation(
                &Actor::cli("a"),
                &GenerationCommit {
                    period: p(),
                    kind: "draft",
                    counter: snap.counter,
                    started_at: "t".into(),
                    statements: vec![upsert_row(1, "p1", "1", "h")],
                    staging_dir: PathBuf::from("/s"),
                },
            )
            .expect_err("refused");
        assert_eq!(
            err.to_string(),
            "charges of 2025-01 changed during generation; run generate again"
        );
        assert!(s.list_statements(p(), None).expect("list").is_empty());
    }
}
