//! Review actions: approve, reject, restore — single, selected or by filter (SPEC §7.2).
//!
//! Each request is one transaction. Every affected charge gets a review-log row and a history
//! event; every touched period's change counter advances; audit events are written per charge
//! (single actions) or once per request (bulk).

use crate::audit::{self, AuditEvent};
use crate::charges::{filter_sql, ChargeFilter, EFFECTIVE_PI};
use crate::decimal::dec;
use crate::{map_busy, periods, Actor, Result, Store, StoreError};
use ocb_core::attribution::is_valid_email;
use ocb_core::exact::ExactSum;
use rusqlite::{params, params_from_iter, Transaction};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;

/// The review action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewAction {
    /// Approve queued charges.
    Approve,
    /// Reject queued charges.
    Reject,
    /// Return rejected charges to the queue.
    Restore,
}

impl ReviewAction {
    fn past(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Reject => "rejected",
            Self::Restore => "restored",
        }
    }
}

/// Which charges.
#[derive(Debug, Clone)]
pub enum ReviewScope {
    /// Explicit ids (one id = a single action).
    Ids(Vec<i64>),
    /// Every queued charge matching a filter (period required).
    Filter(ChargeFilter),
}

/// An attribution override supplied on single approval (already validated by the caller).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Override {
    /// New PI email.
    pub pi_email: Option<String>,
    /// New project.
    pub project_id: Option<String>,
    /// New fund/org.
    pub fund_org: Option<String>,
}

/// A review request.
#[derive(Debug, Clone)]
pub struct ReviewRequest {
    /// What to do.
    pub action: ReviewAction,
    /// To which charges.
    pub scope: ReviewScope,
    /// Optional note (trimmed, ≤ 2,000 characters).
    pub note: Option<String>,
    /// Override (single approval only).
    pub override_: Option<Override>,
    /// The count the user saw (filter scope): refused when the queue changed.
    pub expected_count: Option<u64>,
}

/// What happened to one requested charge.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewOutcome {
    /// Charge id.
    pub id: i64,
    /// True when acted on.
    pub done: bool,
    /// Message (`Charge 12 approved`, `Charge 13 is not in the review queue`).
    pub message: String,
}

/// Result of a request.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewSummary {
    /// Charges acted on.
    pub acted: u64,
    /// Charges skipped.
    pub skipped: u64,
    /// Exact billed total of the charges acted on.
    pub total_amount: ExactSum,
    /// Per charge.
    pub outcomes: Vec<ReviewOutcome>,
}

struct Target {
    id: i64,
    period: String,
    period_status: String,
    state: String,
    removed: bool,
    pi_email: Option<String>,
    resource_id: Option<String>,
    service: Option<String>,
    amount: String,
    reasons: Option<String>,
}

fn load_targets(tx: &Transaction<'_>, scope: &ReviewScope) -> Result<Vec<Result<Target, i64>>> {
    let select = format!(
        "SELECT c.id, c.period, p.status, c.review_state, c.removed_at IS NOT NULL, {EFFECTIVE_PI}, c.resource_id,
                c.service_name, c.billed_cost, c.flag_reasons
         FROM charges c JOIN periods p ON p.period = c.period JOIN sources s ON s.id = c.source_id"
    );
    let map = |r: &rusqlite::Row<'_>| {
        Ok(Target {
            id: r.get(0)?,
            period: r.get(1)?,
            period_status: r.get(2)?,
            state: r.get(3)?,
            removed: r.get(4)?,
            pi_email: r.get(5)?,
            resource_id: r.get(6)?,
            service: r.get(7)?,
            amount: r.get(8)?,
            reasons: r.get(9)?,
        })
    };
    match scope {
        ReviewScope::Ids(ids) => {
            let mut stmt = tx.prepare(&format!("{select} WHERE c.id = ?1"))?;
            let mut out = Vec::new();
            for id in ids {
                let mut rows = stmt.query_map([id], map)?;
                out.push(match rows.next() {
                    Some(t) => Ok(t?),
                    None => Err(*id),
                });
            }
            Ok(out)
        }
        ReviewScope::Filter(f) => {
            let (sql, args) = filter_sql(
                f,
                &format!("{select} WHERE c.removed_at IS NULL AND c.review_state = 'pending'"),
            );
            let mut stmt = tx.prepare(&format!("{sql} ORDER BY c.id"))?;
            let rows = stmt.query_map(params_from_iter(args.iter()), map)?;
            Ok(rows.map(|r| r.map(Ok)).collect::<rusqlite::Result<_>>()?)
        }
    }
}

impl Store {
    /// Applies a review request in one transaction.
    pub fn review(&mut self, actor: &Actor, req: &ReviewRequest) -> Result<ReviewSummary> {
        let at = self.now();
        let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 2000) {
            return Err(StoreError::Refused(
                "notes are limited to 2,000 characters".into(),
            ));
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_busy)?;
        let targets = load_targets(&tx, &req.scope)?;
        if let (ReviewScope::Filter(_), Some(expected)) = (&req.scope, req.expected_count) {
            if targets.len() as u64 != expected {
                return Err(StoreError::Refused(format!(
                    "The review queue changed ({} charges now match); review again",
                    targets.len()
                )));
            }
        }
        let single = matches!(&req.scope, ReviewScope::Ids(ids) if ids.len() == 1);
        let mut summary = ReviewSummary {
            acted: 0,
            skipped: 0,
            total_amount: ExactSum::ZERO,
            outcomes: vec![],
        };
        let mut touched = BTreeSet::new();
        for t in targets {
            let t = match t {
                Ok(t) => t,
                Err(id) => {
                    summary.skipped += 1;
                    summary.outcomes.push(ReviewOutcome {
                        id,
                        done: false,
                        message: format!("Charge {id} not found"),
                    });
                    continue;
                }
            };
            if let Err(message) = check_target(&t, req) {
                summary.skipped += 1;
                summary.outcomes.push(ReviewOutcome {
                    id: t.id,
                    done: false,
                    message,
                });
                continue;
            }
            apply(&tx, &at, actor, &t, req, note, single)?;
            summary.acted += 1;
            summary.total_amount += dec(&t.amount)?;
            touched.insert(t.period.clone());
            summary.outcomes.push(ReviewOutcome {
                id: t.id,
                done: true,
                message: format!("Charge {} {}", t.id, req.action.past()),
            });
        }
        for p in &touched {
            periods::bump_counter(&tx, p)?;
        }
        if !single && summary.acted > 0 && req.action != ReviewAction::Restore {
            let event = if req.action == ReviewAction::Approve {
                "charge.bulk_approved"
            } else {
                "charge.bulk_rejected"
            };
            let scope = match &req.scope {
                ReviewScope::Ids(ids) => json!({"ids": ids}),
                ReviewScope::Filter(f) => {
                    json!({"period": f.period, "reason": f.reason, "source": f.source, "search": f.search})
                }
            };
            audit::insert(
                &tx,
                &at,
                actor,
                &AuditEvent {
                    event,
                    target_type: Some("charge"),
                    target_id: None,
                    period: touched.iter().next().cloned(),
                    details: json!({"count": summary.acted, "total_amount": summary.total_amount.to_string(), "scope": scope, "skipped": summary.skipped, "note": note}),
                },
            )?;
        }
        tx.commit().map_err(map_busy)?;
        Ok(summary)
    }
}

fn check_target(t: &Target, req: &ReviewRequest) -> Result<(), String> {
    if t.period_status == "finalized" {
        return Err(format!("Charge {}: period {} is finalized", t.id, t.period));
    }
    match req.action {
        ReviewAction::Approve | ReviewAction::Reject if t.removed || t.state != "pending" => {
            Err(format!("Charge {} is not in the review queue", t.id))
        }
        ReviewAction::Restore if t.removed || t.state != "rejected" => {
            Err(format!("Charge {} is not rejected", t.id))
        }
        ReviewAction::Approve => {
            let effective = req
                .override_
                .as_ref()
                .and_then(|o| o.pi_email.clone())
                .or_else(|| t.pi_email.clone());
            if effective.as_deref().is_some_and(is_valid_email) {
                Ok(())
            } else {
                Err(format!(
                    "charge {} has no valid PI email; set one or reject it",
                    t.id
                ))
            }
        }
        _ => Ok(()),
    }
}

fn apply(
    tx: &Transaction<'_>,
    at: &str,
    actor: &Actor,
    t: &Target,
    req: &ReviewRequest,
    note: Option<&str>,
    single: bool,
) -> Result<()> {
    let (state, log_action) = match req.action {
        ReviewAction::Approve => ("approved", "approved"),
        ReviewAction::Reject => ("rejected", "rejected"),
        ReviewAction::Restore => ("pending", "restored"),
    };
    tx.prepare_cached("UPDATE charges SET review_state = ?2, reviewed_by = ?3, reviewed_at = ?4, review_note = ?5 WHERE id = ?1")?
        .execute(params![t.id, state, actor.name, at, note])?;
    let ovr = req
        .override_
        .as_ref()
        .filter(|_| single && req.action == ReviewAction::Approve);
    if let Some(o) = ovr {
        tx.execute(
            "UPDATE charges SET ovr_pi_email = coalesce(?2, ovr_pi_email), ovr_project_id = coalesce(?3, ovr_project_id),
                    ovr_fund_org = coalesce(?4, ovr_fund_org), ovr_by = ?5, ovr_at = ?6 WHERE id = ?1",
            params![t.id, o.pi_email.as_deref().map(str::to_lowercase), o.project_id, o.fund_org, actor.name, at],
        )?;
    }
    let ovr_json = ovr.map(|o| serde_json::to_string(o).expect("override serialises"));
    tx.prepare_cached(
        "INSERT INTO review_log (occurred_at, period, charge_id, action, actor, channel, pi_email, resource_id, service, amount, reasons, note, override)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![at, t.period, t.id, log_action, actor.name, actor.channel, t.pi_email, t.resource_id, t.service, t.amount,
        t.reasons.clone().unwrap_or_else(|| "[]".into()), note, ovr_json])?;
    tx.prepare_cached("INSERT INTO charge_events (charge_id, occurred_at, kind, actor, channel, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![t.id, at, log_action, actor.name, actor.channel, json!({"note": note, "override": ovr}).to_string()])?;
    if single {
        let event = match req.action {
            ReviewAction::Approve => "charge.approved",
            ReviewAction::Reject => "charge.rejected",
            ReviewAction::Restore => "charge.restored",
        };
        let mut details = json!({"charge_id": t.id, "pi_email": t.pi_email, "amount": t.amount, "note": note, "override": ovr});
        if req.action == ReviewAction::Reject {
            details["reason"] = json!(note);
        }
        audit::insert(
            tx,
            at,
            actor,
            &AuditEvent {
                event,
                target_type: Some("charge"),
                target_id: Some(t.id.to_string()),
                period: Some(t.period.clone()),
                details,
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use crate::ImportRecord;
    use ocb_core::charge::{ChargeFields, NewCharge};
    use ocb_core::flags::FlagReason;
    use ocb_core::period::{Period, PeriodAction};
    use std::str::FromStr;

    fn charge(i: u32, pi: Option<&str>, cost: &str) -> NewCharge {
        let fields = ChargeFields {
            billing_period_start: "2025-01-01T00:00:00Z".into(),
            billed_cost: ocb_core::Decimal::from_str(cost).expect("decimal"),
            resource_id: Some(format!("r{i}")),
            ..Default::default()
        };
        let attribution = ocb_core::attribution::Attribution {
            pi_email: pi.map(str::to_string),
            ..Default::default()
        };
        let reasons = vec![FlagReason::MissingProjectId];
        crate::testutil::charge(u64::from(i) + 1, "2025-01", fields, attribution, reasons)
    }

    /// Three queued charges: two with a PI (1.10 and 2.20), one without (3.30).
    fn seeded() -> Store {
        let mut s = store();
        let header = crate::testutil::header("u1", "HPC");
        let mut w = s.begin_import(&Actor::cli("t"), &header).expect("begin");
        w.create_period(Period::from_str("2025-01").expect("period"))
            .expect("period");
        for (i, pi, cost) in [
            (1, Some("a@x.edu"), "1.10"),
            (2, Some("b@x.edu"), "2.20"),
            (3, None, "3.30"),
        ] {
            w.insert(
                crate::PreparedCharge::new(charge(i, pi, cost)),
                ocb_core::charge::ReviewState::Pending,
            )
            .expect("insert");
        }
        w.commit(&ImportRecord::default()).expect("commit");
        s
    }

    /// The import writer turns foreign-key enforcement off for its transaction only.
    #[test]
    fn import_leaves_foreign_keys_on_and_consistent() {
        let s = seeded();
        let on: i64 = s
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .expect("pragma");
        assert_eq!(on, 1);
        assert!(s.integrity_problems().expect("check").is_empty());
        let n: i64 = s
            .conn
            .query_row("SELECT count(*) FROM charges", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 3);
    }

    fn by_period(expected: Option<u64>) -> ReviewRequest {
        let f = ChargeFilter {
            period: Some("2025-01".into()),
            ..Default::default()
        };
        ReviewRequest {
            action: ReviewAction::Approve,
            scope: ReviewScope::Filter(f),
            note: None,
            override_: None,
            expected_count: expected,
        }
    }

    #[test]
    fn bulk_approval_skips_charges_without_a_valid_pi_and_sums_exactly() {
        let mut s = seeded();
        let out = s
            .review(&Actor::cli("t"), &by_period(None))
            .expect("review");
        assert_eq!((out.acted, out.skipped), (2, 1));
        assert_eq!(out.total_amount.to_string(), "3.30");
        let (_, _, billable, total) = s.period_totals("2025-01").expect("totals");
        assert_eq!((billable, total.to_string()), (2, "3.30".into()));
    }

    #[test]
    fn filter_actions_refuse_when_the_queue_changed() {
        let mut s = seeded();
        let err = s
            .review(&Actor::cli("t"), &by_period(Some(5)))
            .expect_err("count differs");
        assert_eq!(
            err.to_string(),
            "The review queue changed (3 charges now match); review again"
        );
    }

    #[test]
    fn finalized_periods_are_never_changed() {
        let mut s = seeded();
        let p = Period::from_str("2025-01").expect("period");
        s.transition_period(&Actor::cli("t"), p, PeriodAction::Close, None)
            .expect("close");
        s.conn
            .execute("UPDATE periods SET status = 'finalized'", [])
            .expect("force finalized");
        let out = s
            .review(&Actor::cli("t"), &by_period(None))
            .expect("review");
        assert_eq!(out.acted, 0);
        assert!(
            out.outcomes
                .iter()
                .all(|o| o.message.contains("is finalized")),
            "{:?}",
            out.outcomes
        );
    }

    #[test]
    fn pi_summary_is_case_insensitive_and_excludes_rejected() {
        let mut s = seeded();
        let id = s
            .review_queue(
                &ChargeFilter {
                    pi_email: Some("B@X.EDU".into()),
                    ..Default::default()
                },
                None,
            )
            .expect("queue")
            .0[0]
            .id;
        let req = ReviewRequest {
            action: ReviewAction::Reject,
            scope: ReviewScope::Ids(vec![id]),
            note: Some("no".into()),
            override_: None,
            expected_count: None,
        };
        s.review(&Actor::cli("t"), &req).expect("reject");
        assert!(s
            .pi_summary("B@x.edu", "2025-01")
            .expect("summary")
            .is_empty());
        let a = s.pi_summary("A@X.edu", "2025-01").expect("summary");
        assert_eq!(
            (a.len(), a[0].flagged, a[0].project_id.as_str()),
            (1, 1, "(no project)")
        );
    }
}
