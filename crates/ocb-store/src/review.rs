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
use ocb_core::Decimal;
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
    #[serde(serialize_with = "as_text")]
    pub total_amount: Decimal,
    /// Per charge.
    pub outcomes: Vec<ReviewOutcome>,
}

fn as_text<S: serde::Serializer>(d: &Decimal, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
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
            total_amount: Decimal::ZERO,
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
