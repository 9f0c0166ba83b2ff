//! Tests of [`super`]: the §7.7 table on a real (in-memory) store, batches and refusals.

use super::*;
use crate::testutil::store;
use crate::{ImportHeader, ImportRecord, PreparedCharge};
use ocb_core::attribution::Attribution;
use ocb_core::charge::{ChargeFields, NewCharge};
use ocb_core::source::ImportMode;
use std::str::FromStr;

fn charge(i: u32, period: &str, service: &str, reasons: Vec<FlagReason>) -> NewCharge {
    let fields = ChargeFields {
        billing_period_start: format!("{period}-01T00:00:00Z").into(),
        billed_cost: ocb_core::Decimal::from_str("1.25").expect("decimal"),
        resource_id: Some(format!("r{i}")),
        service_name: Some(service.into()),
        ..Default::default()
    };
    let attribution = Attribution {
        pi_email: Some("a@x.edu".into()),
        project_id: Some("p".into()),
        fund_org: Some("f".into()),
        ..Default::default()
    };
    crate::testutil::charge(u64::from(i), period, fields, attribution, reasons)
}

/// 2025-01: r1 clean GPU (none), r2 clean EC2 pending for an old pattern, r3 pending for a
/// period mismatch and an old pattern, r4 approved, r5 clean EC2 (none).
/// 2024-12 (finalized): r6 GPU (none).
fn seeded() -> Store {
    let mut s = store();
    let header = crate::testutil::header("u1", "HPC");
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
