//! Billing periods: creation, transitions with their guards, notes and history (SPEC §6).

use crate::audit::{self, AuditEvent};
use crate::decimal::exact;
use crate::{map_busy, Actor, Result, Store, StoreError};
use ocb_core::exact::ExactSum;
use ocb_core::period::{check_transition, Period, PeriodAction, PeriodStatus, TransitionCheck};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

/// SQL condition for a billable charge (not flagged-pending, not rejected, not removed).
pub(crate) const BILLABLE: &str = "removed_at IS NULL AND review_state IN ('none', 'approved')";
/// SQL condition for a charge in the review queue.
pub(crate) const QUEUED: &str = "removed_at IS NULL AND review_state = 'pending'";

/// A period with its figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeriodInfo {
    /// `YYYY-MM`.
    pub period: String,
    /// Status.
    pub status: String,
    /// Creation time and user.
    pub created_at: String,
    /// Creator.
    pub created_by: String,
    /// Latest close.
    pub closed_at: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// Latest reopen.
    pub reopened_at: Option<String>,
    /// Reason of the latest reopen.
    pub reopen_reason: Option<String>,
    /// Finalization time.
    pub finalized_at: Option<String>,
    /// Who finalized it.
    pub finalized_by: Option<String>,
    /// Charge-change counter.
    pub change_counter: i64,
    /// Exact sum of billable charges.
    pub billable_total: ExactSum,
    /// Billable charges.
    pub billable_count: i64,
    /// Charges in the review queue.
    pub flagged_count: i64,
    /// Exact sum of queued charges.
    pub flagged_total: ExactSum,
    /// Statements state: `current`, `out of date` or `none`.
    pub statements: String,
    /// The newest note.
    pub latest_note: Option<String>,
}

/// A note on a period.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeriodNote {
    /// Text.
    pub text: String,
    /// Author.
    pub user: String,
    /// UTC time.
    pub time: String,
}

/// Result of a transition request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodTransition {
    /// Done; the message says what happened.
    Done(String),
    /// Already in that state (exit 0).
    AlreadyThere(String),
}

pub(crate) fn status_of(conn: &Connection, period: Period) -> Result<Option<PeriodStatus>> {
    let s: Option<String> = conn
        .prepare_cached("SELECT status FROM periods WHERE period = ?1")?
        .query_row([period.to_string()], |r| r.get(0))
        .optional()?;
    s.map(|s| {
        PeriodStatus::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("period status {s:?}")))
    })
    .transpose()
}

pub(crate) fn create(
    conn: &Connection,
    at: &str,
    actor: &Actor,
    period: Period,
    via: &str,
    note: Option<&str>,
) -> Result<()> {
    let p = period.to_string();
    conn.execute(
        "INSERT INTO periods (period, status, created_at, created_by) VALUES (?1, 'open', ?2, ?3)",
        params![p, at, actor.name],
    )?;
    history(conn, at, actor, &p, None, "open", note)?;
    if let Some(n) = note.filter(|n| !n.trim().is_empty()) {
        add_note(conn, at, actor, &p, n)?;
    }
    audit::insert(
        conn,
        at,
        actor,
        &AuditEvent {
            event: "period.created",
            target_type: Some("period"),
            target_id: Some(p.clone()),
            period: Some(p),
            details: json!({"via": via, "note": note}),
        },
    )
}

pub(crate) fn bump_counter(conn: &Connection, period: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE periods SET change_counter = change_counter + 1 WHERE period = ?1",
    )?
    .execute([period])?;
    Ok(())
}

pub(crate) fn history(
    conn: &Connection,
    at: &str,
    actor: &Actor,
    p: &str,
    from: Option<&str>,
    to: &str,
    note: Option<&str>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO period_history (period, from_status, to_status, actor, channel, occurred_at, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![p, from, to, actor.name, actor.channel, at, note],
    )?;
    Ok(())
}

pub(crate) fn add_note(
    conn: &Connection,
    at: &str,
    actor: &Actor,
    p: &str,
    text: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO period_notes (period, text, created_by, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![p, text.trim(), actor.name, at],
    )?;
    Ok(())
}

/// Billable total/count and queue count/total of one period.
pub(crate) fn figures(conn: &Connection, p: &str) -> Result<(ExactSum, i64, i64, ExactSum)> {
    let sql = format!(
        "SELECT dec_sum(CASE WHEN {BILLABLE} THEN billed_cost END),
                count(CASE WHEN {BILLABLE} THEN 1 END),
                count(CASE WHEN {QUEUED} THEN 1 END),
                dec_sum(CASE WHEN {QUEUED} THEN billed_cost END)
         FROM charges WHERE period = ?1"
    );
    let (bt, bc, fc, ft): (String, i64, i64, String) = conn
        .prepare_cached(&sql)?
        .query_row([p], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok((exact(&bt)?, bc, fc, exact(&ft)?))
}

pub(crate) fn statements_state(conn: &Connection, p: &str, counter: i64) -> Result<String> {
    let latest: Option<(i64, String)> = conn
        .query_row(
            "SELECT change_counter, kind FROM statement_runs WHERE period = ?1 ORDER BY id DESC LIMIT 1",
            [p],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(match latest {
        None => "none".into(),
        Some((c, _)) if c == counter => "current".into(),
        Some(_) => "out of date".into(),
    })
}

impl Store {
    /// Status of a period, `None` when it does not exist.
    pub fn period_status(&self, period: Period) -> Result<Option<PeriodStatus>> {
        status_of(&self.conn, period)
    }

    /// One period with figures.
    pub fn get_period(&self, period: Period) -> Result<Option<PeriodInfo>> {
        Ok(self
            .query_periods(Some(&period.to_string()), None)?
            .into_iter()
            .next())
    }

    /// Periods, newest first, optionally of one status.
    pub fn list_periods(&self) -> Result<Vec<PeriodInfo>> {
        self.query_periods(None, None)
    }

    /// Periods of one status, newest first.
    pub fn list_periods_with_status(&self, status: PeriodStatus) -> Result<Vec<PeriodInfo>> {
        self.query_periods(None, Some(status.as_str()))
    }

    /// Periods with their status, counter and statements state; the figures are zero.
    pub(crate) fn period_rows(
        &self,
        one: Option<&str>,
        status: Option<&str>,
    ) -> Result<Vec<PeriodInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT period, status, created_at, created_by, closed_at, closed_by, reopened_at, reopen_reason,
                    finalized_at, finalized_by, change_counter,
                    (SELECT text FROM period_notes n WHERE n.period = p.period ORDER BY id DESC LIMIT 1)
             FROM periods p WHERE (?1 IS NULL OR period = ?1) AND (?2 IS NULL OR status = ?2)
             ORDER BY period DESC",
        )?;
        let rows = stmt
            .query_map(params![one, status], |r| {
                Ok(PeriodInfo {
                    period: r.get(0)?,
                    status: r.get(1)?,
                    created_at: r.get(2)?,
                    created_by: r.get(3)?,
                    closed_at: r.get(4)?,
                    closed_by: r.get(5)?,
                    reopened_at: r.get(6)?,
                    reopen_reason: r.get(7)?,
                    finalized_at: r.get(8)?,
                    finalized_by: r.get(9)?,
                    change_counter: r.get(10)?,
                    latest_note: r.get(11)?,
                    billable_total: ExactSum::ZERO,
                    billable_count: 0,
                    flagged_count: 0,
                    flagged_total: ExactSum::ZERO,
                    statements: String::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|mut p| {
                p.statements = statements_state(&self.conn, &p.period, p.change_counter)?;
                Ok(p)
            })
            .collect()
    }

    fn query_periods(&self, one: Option<&str>, status: Option<&str>) -> Result<Vec<PeriodInfo>> {
        self.period_rows(one, status)?
            .into_iter()
            .map(|mut p| {
                (
                    p.billable_total,
                    p.billable_count,
                    p.flagged_count,
                    p.flagged_total,
                ) = figures(&self.conn, &p.period)?;
                Ok(p)
            })
            .collect()
    }

    /// `periods open P`: creates the period, or reports that it is already open, or refuses.
    pub fn open_period(
        &mut self,
        actor: &Actor,
        period: Period,
        note: Option<&str>,
    ) -> Result<PeriodTransition> {
        let at = self.now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let outcome = match status_of(&tx, period)? {
            None => {
                create(&tx, &at, actor, period, &actor.channel, note)?;
                PeriodTransition::Done(format!("Period {period} created (open)"))
            }
            Some(PeriodStatus::Open) => {
                if let Some(n) = note.filter(|n| !n.trim().is_empty()) {
                    add_note(&tx, &at, actor, &period.to_string(), n)?;
                }
                PeriodTransition::AlreadyThere(format!("Period {period} is already open"))
            }
            Some(PeriodStatus::Closed) => {
                return Err(StoreError::Refused(format!(
                "Period {period} is closed; use `periods reopen {period} --reason …` to reopen it"
            )))
            }
            Some(PeriodStatus::Finalized) => {
                return Err(StoreError::Refused(format!(
                    "Period {period} is finalized and cannot be reopened"
                )))
            }
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Close, reopen or finalize a period, with the guards of SPEC §6.2.
    pub fn transition_period(
        &mut self,
        actor: &Actor,
        period: Period,
        action: PeriodAction,
        note: Option<&str>,
    ) -> Result<PeriodTransition> {
        let at = self.now();
        let p = period.to_string();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let from = status_of(&tx, period)?
            .ok_or_else(|| StoreError::NotFound(format!("Billing period {p} not found")))?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        match check_transition(period, from, action) {
            TransitionCheck::Refused(m) => return Err(StoreError::Refused(m)),
            TransitionCheck::AlreadyThere(m) => {
                if let Some(n) = note {
                    add_note(&tx, &at, actor, &p, n)?;
                    tx.commit()?;
                }
                return Ok(PeriodTransition::AlreadyThere(m));
            }
            TransitionCheck::Allowed => {}
        }
        let (total, count, flagged, flagged_total) = figures(&tx, &p)?;
        let counter: i64 = tx.query_row(
            "SELECT change_counter FROM periods WHERE period = ?1",
            [&p],
            |r| r.get(0),
        )?;
        let mut details = json!({"total_cost": total.to_string(), "charge_count": count, "flagged_count": flagged, "via": actor.channel});
        let message = match action {
            PeriodAction::Close => {
                tx.execute("UPDATE periods SET status = 'closed', closed_at = ?2, closed_by = ?3 WHERE period = ?1", params![p, at, actor.name])?;
                format!("Period {p} closed")
            }
            PeriodAction::Reopen => {
                let reason = note.ok_or_else(|| {
                    StoreError::Refused("a reason is required to reopen a period".into())
                })?;
                tx.execute(
                    "UPDATE periods SET status = 'open', reopened_at = ?2, reopened_by = ?3, reopen_reason = ?4 WHERE period = ?1",
                    params![p, at, actor.name, reason],
                )?;
                details["reason"] = json!(reason);
                // SPEC 8.3: the final statements of a reopened period are out of date.
                details["stale_statements"] = json!(crate::statements::mark_stale(&tx, &p)?);
                format!("Period {p} reopened")
            }
            PeriodAction::Finalize => {
                if flagged > 0 {
                    let amount = flagged_total.money("$");
                    return Err(StoreError::Refused(format!(
                        "Cannot finalize {p}: {flagged} charges still flagged for review ({amount})"
                    )));
                }
                let closed_at: String = tx.query_row(
                    "SELECT closed_at FROM periods WHERE period = ?1",
                    [&p],
                    |r| r.get(0),
                )?;
                let current: Option<i64> = tx
                    .query_row(
                        "SELECT count(*) FROM statement_runs WHERE period = ?1 AND kind = 'final'
                         AND change_counter = ?2 AND finished_at >= ?3",
                        params![p, counter, closed_at],
                        |r| r.get(0),
                    )
                    .optional()?;
                if current.unwrap_or(0) == 0 {
                    return Err(StoreError::Refused(format!(
                        "Cannot finalize {p}: statements are out of date; run generate first"
                    )));
                }
                tx.execute(
                    "UPDATE periods SET status = 'finalized', finalized_at = ?2, finalized_by = ?3 WHERE period = ?1",
                    params![p, at, actor.name],
                )?;
                format!("Period {p} finalized")
            }
        };
        if let (Some(n), false) = (note, action == PeriodAction::Reopen) {
            add_note(&tx, &at, actor, &p, n)?;
            details["note"] = json!(n);
        }
        history(
            &tx,
            &at,
            actor,
            &p,
            Some(from.as_str()),
            action.target().as_str(),
            note,
        )?;
        let event = match action {
            PeriodAction::Close => "period.closed",
            PeriodAction::Reopen => "period.reopened",
            PeriodAction::Finalize => "period.finalized",
        };
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event,
                target_type: Some("period"),
                target_id: Some(p.clone()),
                period: Some(p),
                details,
            },
        )?;
        tx.commit()?;
        Ok(PeriodTransition::Done(message))
    }

    /// Adds a note (allowed in every status).
    pub fn add_period_note(&mut self, actor: &Actor, period: Period, text: &str) -> Result<()> {
        let at = self.now();
        let p = period.to_string();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        status_of(&tx, period)?
            .ok_or_else(|| StoreError::NotFound(format!("Billing period {p} not found")))?;
        add_note(&tx, &at, actor, &p, text)?;
        audit::insert(
            &tx,
            &at,
            actor,
            &AuditEvent {
                event: "period.note_added",
                target_type: Some("period"),
                target_id: Some(p.clone()),
                period: Some(p),
                details: json!({"note": text.trim()}),
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Notes of a period, oldest first.
    pub fn period_notes(&self, period: Period) -> Result<Vec<PeriodNote>> {
        let mut stmt = self.conn.prepare(
            "SELECT text, created_by, created_at FROM period_notes WHERE period = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([period.to_string()], |r| {
            Ok(PeriodNote {
                text: r.get(0)?,
                user: r.get(1)?,
                time: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Transition history, oldest first.
    pub fn period_history(&self, period: Period) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT from_status, to_status, actor, channel, occurred_at, note FROM period_history WHERE period = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([period.to_string()], |r| {
            Ok(HistoryEntry {
                from: r.get(0)?,
                to: r.get(1)?,
                actor: r.get(2)?,
                channel: r.get(3)?,
                time: r.get(4)?,
                note: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// One period transition.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryEntry {
    /// Previous status (None at creation).
    pub from: Option<String>,
    /// New status.
    pub to: String,
    /// Who.
    pub actor: String,
    /// Channel.
    pub channel: String,
    /// UTC time.
    pub time: String,
    /// Note or reason.
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;

    fn p(s: &str) -> Period {
        s.parse().expect("period")
    }

    #[test]
    fn open_close_reopen_keeps_history_and_notes() {
        let mut s = store();
        let a = Actor::cli("alice");
        assert_eq!(
            s.open_period(&a, p("2025-01"), Some("first"))
                .expect("open"),
            PeriodTransition::Done("Period 2025-01 created (open)".into())
        );
        assert!(matches!(
            s.open_period(&a, p("2025-01"), None).expect("open"),
            PeriodTransition::AlreadyThere(_)
        ));
        s.transition_period(&a, p("2025-01"), PeriodAction::Close, Some("closing"))
            .expect("close");
        assert!(s.open_period(&a, p("2025-01"), None).is_err());
        assert!(s
            .transition_period(&a, p("2025-01"), PeriodAction::Reopen, None)
            .is_err());
        s.transition_period(
            &a,
            p("2025-01"),
            PeriodAction::Reopen,
            Some("late AWS credit"),
        )
        .expect("reopen");
        s.transition_period(&a, p("2025-01"), PeriodAction::Close, None)
            .expect("close again");
        assert_eq!(s.period_history(p("2025-01")).expect("history").len(), 4);
        assert_eq!(s.period_notes(p("2025-01")).expect("notes").len(), 2);
        let info = s.get_period(p("2025-01")).expect("get").expect("exists");
        assert_eq!(info.status, "closed");
        assert_eq!(info.reopen_reason.as_deref(), Some("late AWS credit"));
    }

    #[test]
    fn finalize_needs_current_final_statements() {
        let mut s = store();
        let a = Actor::cli("alice");
        s.open_period(&a, p("2025-01"), None).expect("open");
        let err = s
            .transition_period(&a, p("2025-01"), PeriodAction::Finalize, None)
            .expect_err("open period");
        assert_eq!(
            err.to_string(),
            "Cannot finalize period 2025-01: it is open (close it first)"
        );
        s.transition_period(&a, p("2025-01"), PeriodAction::Close, None)
            .expect("close");
        let err = s
            .transition_period(&a, p("2025-01"), PeriodAction::Finalize, None)
            .expect_err("no statements");
        assert_eq!(
            err.to_string(),
            "Cannot finalize 2025-01: statements are out of date; run generate first"
        );
    }

    #[test]
    fn unknown_period_is_not_found() {
        let mut s = store();
        let err = s
            .transition_period(&Actor::cli("a"), p("2030-01"), PeriodAction::Close, None)
            .expect_err("missing");
        assert!(matches!(err, StoreError::NotFound(_)));
    }
}
