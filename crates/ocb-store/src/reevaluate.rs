//! Re-evaluation of flags (SPEC §7.7): recomputes every charge's reasons from stored content and
//! the current review settings, one transaction per period.
//!
//! Built for a million charges: one scan per period reads the content (borrowed, no per-row
//! allocation for clean charges), the pure decision runs in Rust, and only the changed charges
//! are written — staged into a temporary table by multi-row INSERTs, then applied with one
//! UPDATE … FROM and one INSERT … SELECT each for the review log and the charge history.

use crate::audit::{self, AuditEvent};
use crate::{map_busy, periods, Actor, Result, Store, StoreError};
use chrono::NaiveDate;
use ocb_core::charge::ReviewState;
use ocb_core::date::parse_focus_date;
use ocb_core::flags::{FlagInput, FlagReason, ReviewRules};
use ocb_core::period::{Period, PeriodStatus};
use ocb_core::reevaluate::{reevaluate, Counts, Outcome};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, ToSql};
use serde::Serialize;
use serde_json::json;

/// Counts of one period.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodReevaluation {
    /// The period.
    pub period: String,
    /// Its status (open or closed).
    pub status: String,
    /// What happened (or would happen).
    #[serde(flatten)]
    pub counts: Counts,
}

/// The result of a re-evaluation run.
#[derive(Debug, Clone, Serialize)]
pub struct ReevaluationReport {
    /// True when nothing was written.
    pub dry_run: bool,
    /// Re-evaluated periods, oldest first.
    pub periods: Vec<PeriodReevaluation>,
    /// Finalized periods in scope, left untouched.
    pub skipped_finalized: Vec<String>,
    /// Sum over the periods.
    pub totals: Counts,
}

/// One charge whose flags change.
struct Change {
    id: i64,
    reasons: Option<String>,
    state: &'static str,
    /// Review-log action (`reflagged`, `cleared`), none for replaced reasons.
    log: Option<&'static str>,
    log_reasons: String,
    event: &'static str,
    details: String,
}

fn reasons_text(r: &[FlagReason]) -> String {
    serde_json::to_string(&r.iter().map(FlagReason::as_string).collect::<Vec<_>>())
        .expect("strings serialise")
}

fn text(v: ValueRef<'_>) -> Result<Option<&str>> {
    v.as_str_or_null()
        .map_err(|e| StoreError::Corrupt(format!("charge column: {e}")))
}

fn parse_reasons(id: i64, s: Option<&str>) -> Result<Vec<FlagReason>> {
    let Some(s) = s else { return Ok(vec![]) };
    let names: Vec<String> = serde_json::from_str(s)
        .map_err(|e| StoreError::Corrupt(format!("charge {id} flag_reasons: {e}")))?;
    names
        .iter()
        .map(|n| {
            FlagReason::parse(n)
                .ok_or_else(|| StoreError::Corrupt(format!("charge {id}: unknown reason {n}")))
        })
        .collect()
}

/// Scans a period and decides every charge.
fn decide(conn: &Connection, period: &str, rules: &ReviewRules) -> Result<(Counts, Vec<Change>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, review_state, removed_at IS NOT NULL, coalesce(ovr_pi_email, pi_email),
                coalesce(ovr_project_id, project_id), coalesce(ovr_fund_org, fund_org),
                coalesce(charge_period_start, billing_period_start), end_date, reconciliation_end,
                service_name, resource_id, resource_name, flag_reasons
         FROM charges WHERE period = ?1",
    )?;
    let mut rows = stmt.query([period])?;
    let mut counts = Counts::default();
    let mut changes = Vec::new();
    let date = |v: Option<&str>| v.and_then(|s| s.parse::<NaiveDate>().ok());
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let state_text = text(r.get_ref(1)?)?.unwrap_or("none");
        let state = ReviewState::parse(state_text)
            .ok_or_else(|| StoreError::Corrupt(format!("charge {id} review_state {state_text}")))?;
        let removed: bool = r.get(2)?;
        let stored_text = text(r.get_ref(12)?)?;
        let stored = if state == ReviewState::Pending {
            parse_reasons(id, stored_text)?
        } else {
            vec![]
        };
        let input = FlagInput {
            pi_email: text(r.get_ref(3)?)?,
            project_id: text(r.get_ref(4)?)?,
            fund_org: text(r.get_ref(5)?)?,
            charge_date: text(r.get_ref(6)?)?
                .and_then(|s| parse_focus_date(s, false))
                .map(|d| d.utc.date_naive()),
            end_date: date(text(r.get_ref(7)?)?),
            reconciliation_end: date(text(r.get_ref(8)?)?),
            service_name: text(r.get_ref(9)?)?,
            resource_id: text(r.get_ref(10)?)?,
            resource_name: text(r.get_ref(11)?)?,
            period_mismatch: false,
            changed_after_review: false,
            possible_duplicate: false,
        };
        let outcome = reevaluate(state, removed, &stored, input, rules);
        counts.count(&outcome);
        let old = reasons_text(&stored);
        let change = match outcome {
            Outcome::Unchanged | Outcome::SkippedReviewed => continue,
            Outcome::NewlyFlagged(new) => {
                let t = reasons_text(&new);
                Change {
                    id,
                    reasons: Some(t.clone()),
                    state: "pending",
                    log: Some("reflagged"),
                    log_reasons: t.clone(),
                    event: "reflagged",
                    details: json!({"reasons": new.iter().map(FlagReason::as_string).collect::<Vec<_>>(), "message": "flagged by re-evaluation"}).to_string(),
                }
            }
            Outcome::Cleared => Change {
                id,
                reasons: None,
                state: "none",
                log: Some("cleared"),
                log_reasons: old.clone(),
                event: "cleared",
                details: json!({"old_reasons": stored.iter().map(FlagReason::as_string).collect::<Vec<_>>(), "message": "cleared by re-evaluation"}).to_string(),
            },
            Outcome::ReasonsChanged(new) => {
                let t = reasons_text(&new);
                Change {
                    id,
                    reasons: Some(t.clone()),
                    state: "pending",
                    log: None,
                    log_reasons: t,
                    event: "flagged",
                    details: json!({"old_reasons": stored.iter().map(FlagReason::as_string).collect::<Vec<_>>(), "reasons": new.iter().map(FlagReason::as_string).collect::<Vec<_>>(), "message": "reasons changed by re-evaluation"}).to_string(),
                }
            }
        };
        changes.push(change);
    }
    Ok((counts, changes))
}

/// Rows per multi-row INSERT into the staging table (7 parameters each, far below SQLite's
/// parameter limit; large enough that statement overhead disappears).
const STAGE_BATCH: usize = 256;

fn stage_sql(n: usize) -> String {
    let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; n].join(", ");
    format!("INSERT INTO temp.reevaluation (id, reasons, state, log, log_reasons, event, details) VALUES {values}")
}

/// Writes the changes of one period (inside its transaction).
fn apply(conn: &Connection, at: &str, actor: &Actor, changes: &[Change]) -> Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS reevaluation (id INTEGER PRIMARY KEY, reasons TEXT,
             state TEXT NOT NULL, log TEXT, log_reasons TEXT NOT NULL, event TEXT NOT NULL,
             details TEXT NOT NULL);
         DELETE FROM temp.reevaluation;",
    )?;
    for chunk in changes.chunks(STAGE_BATCH) {
        let mut stmt = conn.prepare_cached(&stage_sql(chunk.len()))?;
        let args: Vec<&dyn ToSql> = chunk
            .iter()
            .flat_map(|c| {
                [
                    &c.id as &dyn ToSql,
                    &c.reasons,
                    &c.state,
                    &c.log,
                    &c.log_reasons,
                    &c.event,
                    &c.details,
                ]
            })
            .collect();
        stmt.execute(args.as_slice())?;
    }
    conn.execute(
        "UPDATE charges SET flag_reasons = r.reasons, review_state = r.state
         FROM temp.reevaluation r WHERE charges.id = r.id",
        [],
    )?;
    let note = format!("re-evaluation by {}", actor.name);
    conn.execute(
        "INSERT INTO review_log (occurred_at, period, charge_id, action, actor, channel, pi_email,
                                 resource_id, service, amount, reasons, note)
         SELECT ?1, c.period, c.id, r.log, 'system', ?2, coalesce(c.ovr_pi_email, c.pi_email),
                c.resource_id, c.service_name, c.billed_cost, r.log_reasons, ?3
         FROM temp.reevaluation r JOIN charges c ON c.id = r.id
         WHERE r.log IS NOT NULL ORDER BY r.id",
        params![at, actor.channel, note],
    )?;
    conn.execute(
        "INSERT INTO charge_events (charge_id, occurred_at, kind, actor, channel, details)
         SELECT id, ?1, event, 'system', ?2, details FROM temp.reevaluation ORDER BY id",
        params![at, actor.channel],
    )?;
    conn.execute("DELETE FROM temp.reevaluation", [])?;
    Ok(())
}

impl Store {
    /// Re-evaluates the flags of `period`, else of every open and closed period. Finalized
    /// periods are skipped and listed. With `dry_run` nothing is written (a read-only store
    /// will do).
    pub fn reevaluate_flags(
        &mut self,
        actor: &Actor,
        period: Option<Period>,
        rules: &ReviewRules,
        dry_run: bool,
    ) -> Result<ReevaluationReport> {
        // Only the names: the status is re-read inside each period's transaction.
        let scope: Vec<String> = match period {
            Some(p) => match periods::status_of(&self.conn, p)? {
                Some(_) => vec![p.to_string()],
                None => {
                    return Err(StoreError::NotFound(format!(
                        "Billing period {p} not found"
                    )))
                }
            },
            None => self
                .conn
                .prepare("SELECT period FROM periods ORDER BY period")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
        };
        let mut report = ReevaluationReport {
            dry_run,
            periods: vec![],
            skipped_finalized: vec![],
            totals: Counts::default(),
        };
        for p in scope {
            let at = self.now();
            let tx = if dry_run {
                self.conn.transaction()?
            } else {
                self.conn
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(map_busy)?
            };
            // Re-read inside the transaction: the period may have been finalized meanwhile.
            let period: Period = p
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("period {p}")))?;
            let status = periods::status_of(&tx, period)?
                .ok_or_else(|| StoreError::NotFound(format!("Billing period {p} not found")))?;
            if status == PeriodStatus::Finalized {
                report.skipped_finalized.push(p);
                continue;
            }
            let (counts, changes) = decide(&tx, &p, rules)?;
            if !dry_run {
                if !changes.is_empty() {
                    apply(&tx, &at, actor, &changes)?;
                    periods::bump_counter(&tx, &p)?;
                }
                let mut details = serde_json::to_value(&counts).expect("counts serialise");
                details["periods"] = json!([p]);
                audit::insert(
                    &tx,
                    &at,
                    actor,
                    &AuditEvent {
                        event: "flags.reevaluated",
                        target_type: Some("period"),
                        target_id: Some(p.clone()),
                        period: Some(p.clone()),
                        details,
                    },
                )?;
                tx.commit().map_err(map_busy)?;
            }
            report.totals.add(&counts);
            report.periods.push(PeriodReevaluation {
                period: p,
                status: status.as_str().to_string(),
                counts,
            });
        }
        Ok(report)
    }
}

#[cfg(test)]
#[path = "reevaluate_tests.rs"]
mod tests;
