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
mod tests {
    use super::*;
    use crate::testutil::store;
    use crate::{ImportHeader, ImportRecord, PreparedCharge};
    use ocb_core::attribution::Attribution;
    use ocb_core::charge::{ChargeFields, NewCharge};
    use ocb_core::source::ImportMode;
    use std::str::FromStr;

    fn charge(i: u32, period: &str, service: &str, reasons: Vec<FlagReason>) -> NewCharge {
        let fields = ChargeFields {
            billing_period_start: format!("{period}-01T00:00:00Z"),
            billed_cost: ocb_core::Decimal::from_str("1.25").expect("decimal"),
            resource_id: Some(format!("r{i}")),
            service_name: Some(service.into()),
            ..Default::default()
        };
        NewCharge {
            line: u64::from(i),
            period: period.parse().expect("period"),
            key_hash: fields.identity_hash(),
            occurrence: 1,
            content_hash: fields.content_hash(),
            fields,
            attribution: Attribution {
                pi_email: Some("a@x.edu".into()),
                project_id: Some("p".into()),
                fund_org: Some("f".into()),
                ..Default::default()
            },
            reasons,
        }
    }

    /// 2025-01: r1 clean GPU (none), r2 clean EC2 pending for an old pattern, r3 pending for a
    /// period mismatch and an old pattern, r4 approved, r5 clean EC2 (none).
    /// 2024-12 (finalized): r6 GPU (none).
    fn seeded() -> Store {
        let mut s = store();
        let header = ImportHeader {
            uuid: "u1".into(),
            source: "HPC".into(),
            display_name: None,
            filename: "f.csv".into(),
            path: None,
            mode: ImportMode::Replace,
            expected_period: None,
            skip_invalid: false,
        };
        let old = FlagReason::PatternMatch("old".into());
        let mut w = s.begin_import(&Actor::cli("t"), &header).expect("begin");
        for p in ["2024-12", "2025-01"] {
            w.create_period(p.parse().expect("period")).expect("period");
        }
        let rows = [
            (1, "2025-01", "GPU node", vec![], ReviewState::None),
            (2, "2025-01", "EC2", vec![old.clone()], ReviewState::Pending),
            (
                3,
                "2025-01",
                "EC2",
                vec![FlagReason::PeriodMismatch, old.clone()],
                ReviewState::Pending,
            ),
            (4, "2025-01", "EC2", vec![old], ReviewState::Pending),
            (5, "2025-01", "EC2", vec![], ReviewState::None),
            (6, "2024-12", "GPU", vec![], ReviewState::None),
        ];
        for (i, p, service, reasons, state) in rows {
            w.insert(PreparedCharge::new(charge(i, p, service, reasons)), state)
                .expect("insert");
        }
        w.commit(&ImportRecord::default()).expect("commit");
        s.conn
            .execute_batch(
                "UPDATE charges SET review_state = 'approved' WHERE resource_id = 'r4';
                 UPDATE periods SET status = 'finalized' WHERE period = '2024-12';",
            )
            .expect("setup");
        s
    }

    fn state_of(s: &Store, rid: &str) -> (String, Option<String>) {
        s.conn
            .query_row(
                "SELECT review_state, flag_reasons FROM charges WHERE resource_id = ?1",
                [rid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("charge")
    }

    #[test]
    fn reevaluation_follows_the_spec_table_and_skips_finalized_periods() {
        let mut s = seeded();
        let rules = ReviewRules::compile(&["gpu".to_string()], &[]).expect("valid");
        let alice = Actor::cli("alice");
        let dry = s
            .reevaluate_flags(&alice, None, &rules, true)
            .expect("dry run");
        assert_eq!(dry.skipped_finalized, ["2024-12"]);
        let c = &dry.totals;
        assert_eq!(
            (
                c.newly_flagged,
                c.cleared,
                c.changed,
                c.unchanged,
                c.skipped
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(state_of(&s, "r1").0, "none", "dry run writes nothing");

        let counter = |s: &Store| -> i64 {
            s.conn
                .query_row(
                    "SELECT change_counter FROM periods WHERE period = '2025-01'",
                    [],
                    |r| r.get(0),
                )
                .expect("counter")
        };
        let before = counter(&s);
        let done = s
            .reevaluate_flags(&alice, None, &rules, false)
            .expect("run");
        assert_eq!(done.totals, dry.totals);
        assert_eq!(counter(&s), before + 1);
        assert_eq!(
            state_of(&s, "r1"),
            ("pending".into(), Some(r#"["pattern_match:gpu"]"#.into()))
        );
        assert_eq!(state_of(&s, "r2"), ("none".into(), None));
        assert_eq!(
            state_of(&s, "r3"),
            ("pending".into(), Some(r#"["period_mismatch"]"#.into()))
        );
        assert_eq!(state_of(&s, "r4").0, "approved");
        assert_eq!(
            state_of(&s, "r6"),
            ("none".into(), None),
            "finalized period untouched"
        );

        let log: Vec<(String, String, String)> = s
            .conn
            .prepare("SELECT action, actor, reasons FROM review_log ORDER BY charge_id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            log,
            [
                (
                    "reflagged".into(),
                    "system".into(),
                    r#"["pattern_match:gpu"]"#.into()
                ),
                (
                    "cleared".into(),
                    "system".into(),
                    r#"["pattern_match:old"]"#.into()
                ),
            ]
        );
        let events: i64 = s
            .conn
            .query_row(
                "SELECT count(*) FROM charge_events WHERE actor = 'system'",
                [],
                |r| r.get(0),
            )
            .expect("events");
        assert_eq!(events, 3);
        let audit: String = s
            .conn
            .query_row(
                "SELECT details FROM audit_events WHERE event = 'flags.reevaluated'",
                [],
                |r| r.get(0),
            )
            .expect("audit");
        let d: serde_json::Value = serde_json::from_str(&audit).expect("json");
        assert_eq!(d["newly_flagged"], 1);
        assert_eq!(d["periods"], json!(["2025-01"]));

        // Nothing left to change: a second run only counts.
        let again = s
            .reevaluate_flags(&alice, None, &rules, false)
            .expect("again");
        assert_eq!(again.totals.changes(), 0);
        assert_eq!(counter(&s), before + 1);
    }

    #[test]
    fn an_unknown_period_is_not_found_and_a_finalized_one_is_listed() {
        let mut s = seeded();
        let rules = ReviewRules::default();
        let actor = Actor::cli("a");
        let err = s
            .reevaluate_flags(&actor, Some("2030-01".parse().expect("p")), &rules, true)
            .expect_err("unknown");
        assert!(err.to_string().contains("2030-01 not found"));
        let r = s
            .reevaluate_flags(&actor, Some("2024-12".parse().expect("p")), &rules, false)
            .expect("finalized");
        assert!(r.periods.is_empty());
        assert_eq!(r.skipped_finalized, ["2024-12"]);
    }

    /// More changes than one staging batch holds: every one is applied exactly once.
    #[test]
    fn changes_beyond_one_staging_batch_are_all_applied() {
        let mut s = seeded();
        let mut w = s
            .begin_import(
                &Actor::cli("t"),
                &ImportHeader {
                    uuid: "u2".into(),
                    source: "AWS".into(),
                    display_name: None,
                    filename: "g.csv".into(),
                    path: None,
                    mode: ImportMode::Replace,
                    expected_period: None,
                    skip_invalid: false,
                },
            )
            .expect("begin");
        let n = STAGE_BATCH as u32 * 2 + 3;
        for i in 100..100 + n {
            w.insert(
                PreparedCharge::new(charge(i, "2025-01", "gpu", vec![])),
                ReviewState::None,
            )
            .expect("insert");
        }
        w.commit(&ImportRecord::default()).expect("commit");
        let rules = ReviewRules::compile(&["gpu".to_string()], &[]).expect("valid");
        let r = s
            .reevaluate_flags(&Actor::cli("a"), None, &rules, false)
            .expect("run");
        assert_eq!(r.totals.newly_flagged, u64::from(n) + 1);
        let logged: i64 = s
            .conn
            .query_row(
                "SELECT count(*) FROM review_log WHERE action = 'reflagged'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(logged, i64::from(n) + 1);
    }
}
