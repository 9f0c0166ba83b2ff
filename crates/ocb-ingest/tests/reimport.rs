//! Re-import semantics (SPEC §5.7, §5.8) through the real ingest service and an in-memory store.

use ocb_core::period::Period;
use ocb_core::source::ImportMode;
use ocb_ingest::{ingest, Database, ImportReport, IngestRequest, IngestSettings, NoProgress};
use ocb_store::{Actor, ChargeFilter, ReviewAction, ReviewRequest, ReviewScope, Store};
use std::path::Path;

const HEAD: &str =
    "BillingPeriodStart,ChargePeriodStart,BilledCost,ListCost,ResourceId,ServiceName,Tags\n";
const TAGS: &str = "\"{\"\"pi_email\"\":\"\"a@x.edu\"\",\"\"project_id\"\":\"\"p\"\",\"\"fund_org\"\":\"\"F\"\"}\"";

struct Env {
    dir: tempfile::TempDir,
    store: Store,
    settings: IngestSettings,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = IngestSettings {
            import_dir: dir.path().join("imports"),
            ..Default::default()
        };
        Self {
            dir,
            store: Store::open_in_memory().expect("store"),
            settings,
        }
    }

    fn import_with(
        &mut self,
        body: &str,
        mode: Option<ImportMode>,
        period: Option<&str>,
        skip: bool,
    ) -> ImportReport {
        let path = self.dir.path().join("in.csv");
        std::fs::write(&path, format!("{HEAD}{body}")).expect("write");
        let req = IngestRequest {
            path: path.clone(),
            filename: None,
            source: "HPC".into(),
            expected_period: period.map(|p| p.parse::<Period>().expect("period")),
            mode,
            dry_run: false,
            skip_invalid: skip,
            actor: Actor::cli("tester"),
        };
        let r = ingest(
            Database::Write(&mut self.store),
            &self.settings,
            &req,
            &mut NoProgress,
        )
        .expect("ingest runs");
        let t = &r.totals;
        assert!(t.reconciles(), "counts reconcile: {r:?}");
        r
    }

    fn import(&mut self, body: &str) -> ImportReport {
        self.import_with(body, None, None, false)
    }

    fn queue(&self) -> Vec<ocb_store::ChargeRow> {
        self.store
            .review_queue(
                &ChargeFilter {
                    period: Some("2025-01".into()),
                    ..Default::default()
                },
                None,
            )
            .expect("queue")
            .0
    }

    fn review(&mut self, action: ReviewAction, id: i64) {
        let req = ReviewRequest {
            action,
            scope: ReviewScope::Ids(vec![id]),
            note: None,
            override_: None,
            expected_count: None,
        };
        let s = self
            .store
            .review(&Actor::cli("tester"), &req)
            .expect("review");
        assert_eq!(s.acted, 1, "{s:?}");
    }
}

fn row(date: &str, cost: &str, resource: &str, tags: &str) -> String {
    format!("2025-01-01,{date},{cost},{cost},{resource},HPC,{tags}\n")
}

#[test]
fn identical_rows_get_occurrence_numbers_and_reimport_is_idempotent() {
    let mut e = Env::new();
    let body = [
        row("2025-01-02", "1.00", "r1", TAGS),
        row("2025-01-02", "1.00", "r1", TAGS),
        row("", "2.00", "", TAGS),
    ]
    .concat();
    let r = e.import(&body);
    assert_eq!(r.totals.inserted, 3);
    let r = e.import(&body);
    assert_eq!(
        (r.totals.unchanged, r.totals.inserted, r.totals.removed),
        (3, 0, 0)
    );
}

#[test]
fn same_instant_in_two_spellings_is_the_same_charge() {
    let mut e = Env::new();
    e.import(&row("2025-01-01", "1.00", "r1", TAGS));
    let r = e.import(&row("2025-01-01T00:00:00Z", "1.0", "r1", TAGS));
    assert_eq!(
        r.totals.unchanged, 1,
        "1.0 = 1.00 and the dates are one instant: {r:?}"
    );
}

#[test]
fn changed_content_after_approval_returns_to_the_queue() {
    let mut e = Env::new();
    let no_project = "\"{\"\"pi_email\"\":\"\"a@x.edu\"\",\"\"fund_org\"\":\"\"F\"\"}\"";
    e.import(&row("2025-01-02", "5.00", "r1", no_project));
    let id = e.queue()[0].id;
    e.review(ReviewAction::Approve, id);
    assert!(e.queue().is_empty());
    let r = e.import(&row("2025-01-02", "5.00", "r1", no_project));
    assert_eq!(r.totals.unchanged, 1, "unchanged rows keep the decision");
    assert!(e.queue().is_empty());
    let r = e.import(&row("2025-01-02", "6.00", "r1", no_project));
    assert_eq!(r.totals.updated, 1);
    let q = e.queue();
    assert_eq!(q.len(), 1);
    assert_eq!(
        q[0].reasons,
        vec!["changed_after_review", "missing_project_id"]
    );
}

#[test]
fn rejected_then_changed_lifts_the_rejection_and_pending_clears_when_fixed() {
    let mut e = Env::new();
    let no_pi = "\"{\"\"project_id\"\":\"\"p\"\",\"\"fund_org\"\":\"\"F\"\"}\"";
    e.import(
        &[
            row("2025-01-02", "5.00", "r1", no_pi),
            row("2025-01-02", "7.00", "r2", no_pi),
        ]
        .concat(),
    );
    let r1 = e
        .queue()
        .iter()
        .find(|c| c.resource_id.as_deref() == Some("r1"))
        .expect("r1 queued")
        .id;
    e.review(ReviewAction::Reject, r1);
    // r1 (rejected) changes; r2 (pending) gets its PI tag and clears.
    let r = e.import(
        &[
            row("2025-01-02", "5.50", "r1", no_pi),
            row("2025-01-02", "7.00", "r2", TAGS),
        ]
        .concat(),
    );
    assert_eq!(r.totals.updated, 2);
    let q = e.queue();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].reasons[0], "changed_after_review");
}

#[test]
fn replace_removes_vanished_charges_and_restores_them_later() {
    let mut e = Env::new();
    let both = [
        row("2025-01-02", "1.00", "r1", TAGS),
        row("2025-01-02", "2.00", "r2", TAGS),
    ]
    .concat();
    e.import(&both);
    let r = e.import(&row("2025-01-02", "1.00", "r1", TAGS));
    assert_eq!(r.totals.removed, 1);
    let (live, total, _, _) = e.store.period_totals("2025-01").expect("totals");
    assert_eq!((live, total.to_string()), (1, "1.00".into()));
    let r = e.import(&both);
    assert_eq!(
        (r.totals.inserted, r.totals.unchanged),
        (1, 1),
        "the removed charge is restored"
    );
}

#[test]
fn upsert_never_removes() {
    let mut e = Env::new();
    e.import(
        &[
            row("2025-01-02", "1.00", "r1", TAGS),
            row("2025-01-02", "2.00", "r2", TAGS),
        ]
        .concat(),
    );
    let r = e.import_with(
        &row("2025-01-03", "3.00", "r3", TAGS),
        Some(ImportMode::Upsert),
        None,
        false,
    );
    assert_eq!((r.totals.inserted, r.totals.removed), (1, 0));
}

#[test]
fn rejected_records_suppress_removals() {
    let mut e = Env::new();
    e.import(
        &[
            row("2025-01-02", "1.00", "r1", TAGS),
            row("2025-01-02", "2.00", "r2", TAGS),
        ]
        .concat(),
    );
    let r = e.import_with(
        &[
            row("2025-01-02", "1.00", "r1", TAGS),
            row("2025-01-02", "abc", "r2", TAGS),
        ]
        .concat(),
        None,
        None,
        true,
    );
    assert_eq!((r.totals.rejected, r.totals.removed), (1, 0));
    assert!(
        r.warnings.iter().any(|w| w.code == "W_REMOVALS_SUPPRESSED"),
        "{:?}",
        r.warnings
    );
}

#[test]
fn rows_of_another_period_are_flagged_period_mismatch() {
    let mut e = Env::new();
    let body = "2025-02-01,2025-02-03,1.00,1.00,r1,HPC,".to_string() + TAGS + "\n";
    let r = e.import_with(&body, None, Some("2025-01"), false);
    assert_eq!(r.totals.flagged_rows, 1);
    assert_eq!(r.periods[0].period, "2025-02");
    let q = e
        .store
        .review_queue(
            &ChargeFilter {
                period: Some("2025-02".into()),
                ..Default::default()
            },
            None,
        )
        .expect("queue")
        .0;
    assert_eq!(q[0].reasons, vec!["period_mismatch"]);
}

#[test]
fn dry_run_against_nothing_writes_nothing() {
    let e = Env::new();
    let path = e.dir.path().join("x.csv");
    std::fs::write(
        &path,
        format!("{HEAD}{}", row("2025-01-02", "1.00", "r1", TAGS)),
    )
    .expect("write");
    let req = IngestRequest {
        path,
        filename: None,
        source: "HPC".into(),
        expected_period: None,
        mode: None,
        dry_run: true,
        skip_invalid: false,
        actor: Actor::cli("t"),
    };
    let r = ingest(Database::Empty, &e.settings, &req, &mut NoProgress).expect("dry run");
    assert_eq!((r.status.as_str(), r.totals.inserted), ("dry_run", 1));
    assert!(!Path::new(&e.settings.import_dir).exists(), "no artefacts");
}

/// Tag sets are stored once (schema v5): the charge shows its tags, and an update that changes
/// only the cost records the cost in the history, not a spurious change of tags.
#[test]
fn tag_sets_are_shared_and_read_back_through_the_charge() {
    let mut e = Env::new();
    let other = TAGS.replace("a@x.edu", "b@x.edu");
    let body = [
        row("2025-01-02", "1.00", "r1", TAGS),
        row("2025-01-03", "2.00", "r2", TAGS),
        row("2025-01-04", "3.00", "r3", &other),
    ]
    .concat();
    assert_eq!(e.import(&body).totals.inserted, 3);
    let by_resource = |e: &Env, r: &str| {
        (1..=3)
            .filter_map(|id| e.store.charge(id).expect("charge"))
            .find(|c| c.resource_id.as_deref() == Some(r))
            .expect("charge of the resource")
    };
    let id = by_resource(&e, "r1").id;
    let columns = e
        .store
        .charge_columns(id)
        .expect("columns")
        .expect("charge");
    let tags = columns
        .iter()
        .find(|(n, _)| n == "tags")
        .and_then(|(_, v)| v.clone());
    assert!(
        tags.as_deref().is_some_and(|t| t.contains("pi_email")),
        "{columns:?}"
    );
    assert!(columns
        .iter()
        .all(|(n, _)| n != "tag_set_id" && n != "set_tags"));

    let changed = body.replace("2025-01-02,1.00,1.00", "2025-01-02,1.50,1.50");
    let r = e.import_with(&changed, Some(ImportMode::Upsert), None, false);
    assert_eq!((r.totals.updated, r.totals.unchanged), (1, 2));
    let r1 = by_resource(&e, "r1");
    let history = e.store.charge_history(r1.id).expect("history");
    let update = history
        .iter()
        .find(|h| h.kind == "updated")
        .expect("update event");
    let fields = update.details["changed"].as_object().expect("changed");
    assert!(fields.contains_key("billed_cost"), "{fields:?}");
    assert!(!fields.contains_key("tags"), "{fields:?}");
    // The rewritten charge keeps the same tags, now inline.
    let columns = e
        .store
        .charge_columns(r1.id)
        .expect("columns")
        .expect("charge");
    let after = columns
        .iter()
        .find(|(n, _)| n == "tags")
        .and_then(|(_, v)| v.clone());
    assert_eq!(after, tags);
}

/// The stored review state of each charge, by id.
fn states(e: &Env, ids: &[i64]) -> Vec<String> {
    ids.iter()
        .map(|id| {
            let c = e.store.charge(*id).expect("read").expect("exists");
            format!("{} {}", c.billed_cost, c.review_state)
        })
        .collect()
}

/// Issue 15, item 8: rows the identity columns cannot tell apart, re-imported in another order,
/// were matched by position: content moved between the charges and a rejection was lifted.
#[test]
fn rows_of_one_identity_in_another_order_keep_their_review_decisions() {
    let mut e = Env::new();
    // No project: every row is flagged, so each charge carries a review decision.
    let tags = "\"{\"\"pi_email\"\":\"\"a@x.edu\"\"}\"";
    let first = [
        row("2025-01-02", "1.00", "r1", tags),
        row("2025-01-02", "2.00", "r1", tags),
        row("2025-01-02", "3.00", "r1", tags),
    ]
    .concat();
    assert_eq!(e.import(&first).totals.inserted, 3);
    e.review(ReviewAction::Reject, 2);
    e.review(ReviewAction::Approve, 3);
    let before = states(&e, &[1, 2, 3]);
    assert_eq!(before, ["1.00 pending", "2.00 rejected", "3.00 approved"]);
    let reordered = [
        row("2025-01-02", "3.00", "r1", tags),
        row("2025-01-02", "1.00", "r1", tags),
        row("2025-01-02", "2.00", "r1", tags),
    ]
    .concat();
    let r = e.import(&reordered);
    assert_eq!(
        (
            r.totals.unchanged,
            r.totals.updated,
            r.totals.inserted,
            r.totals.removed
        ),
        (3, 0, 0, 0)
    );
    assert_eq!(
        states(&e, &[1, 2, 3]),
        before,
        "every decision stays with its charge"
    );
}

/// Rows of a repeated identity whose content no stored charge has take the charges no row
/// matched, in order; any beyond them are new charges, and the next import recognises them.
#[test]
fn changed_rows_of_one_identity_take_the_charges_left_over() {
    let mut e = Env::new();
    let first = [
        row("2025-01-02", "1.00", "r1", TAGS),
        row("2025-01-02", "2.00", "r1", TAGS),
    ]
    .concat();
    e.import(&first);
    let second = [
        row("2025-01-02", "5.00", "r1", TAGS),
        row("2025-01-02", "2.00", "r1", TAGS),
        row("2025-01-02", "7.00", "r1", TAGS),
    ]
    .concat();
    let r = e.import(&second);
    assert_eq!(
        (
            r.totals.unchanged,
            r.totals.updated,
            r.totals.inserted,
            r.totals.removed
        ),
        (1, 1, 1, 0),
        "2.00 kept, 5.00 replaces 1.00, 7.00 is new"
    );
    let costs: Vec<String> = states(&e, &[1, 2, 3]);
    assert_eq!(costs, ["5.00 none", "2.00 none", "7.00 none"]);
    let again = e.import(&second);
    assert_eq!((again.totals.unchanged, again.totals.inserted), (3, 0));
}

/// Issue 15, item 8: the record of a refused import showed the counts it would have written.
#[test]
fn a_refused_import_counts_nothing_as_written() {
    let mut e = Env::new();
    let body = [
        row("2025-01-02", "1.00", "r1", TAGS),
        row("2025-01-02", "abc", "r2", TAGS),
        row("2025-01-03", "2.00", "r3", ""),
    ]
    .concat();
    let r = e.import(&body);
    assert_eq!(r.status, "failed");
    let counts = |t: &ocb_store::ImportTotals| {
        (
            t.rows_read,
            t.inserted,
            t.unchanged,
            t.flagged_rows,
            t.rejected,
            t.refused,
        )
    };
    assert_eq!(counts(&r.totals), (3, 0, 0, 0, 1, 2));
    assert_eq!(r.totals.total_cost.to_string(), "0");
    let stored = &e.store.list_imports(1).expect("imports")[0];
    assert_eq!(stored.status, "failed");
    assert_eq!(counts(&stored.totals), (3, 0, 0, 0, 1, 2));
    assert_eq!(counts(&stored.periods[0].totals), (3, 0, 0, 0, 1, 2));
    assert_eq!(
        e.store.period_totals("2025-01").expect("totals").0,
        0,
        "nothing stored"
    );
}

/// Issue 17: two rows identical in every column are both stored (occurrences 1 and 2) and both
/// flagged `possible_duplicate`; the report names their lines. Re-importing the same file
/// changes nothing: the flags, and a reviewer's approval of one copy, stay as they are.
#[test]
fn identical_rows_are_both_kept_flagged_and_reimport_changes_nothing() {
    let mut e = Env::new();
    let body = [
        row("2025-01-02", "1.00", "r1", TAGS),
        row("2025-01-03", "2.00", "r2", TAGS),
        row("2025-01-02", "1.00", "r1", TAGS),
    ]
    .concat();
    let r = e.import(&body);
    assert_eq!((r.totals.inserted, r.totals.flagged_rows), (3, 2), "{r:?}");
    assert_eq!(r.totals.flagged_cost.to_string(), "2.00");
    let dup: Vec<&str> = r
        .warnings
        .iter()
        .filter(|w| w.code == "W_DUPLICATE_ROW")
        .map(|w| w.message.as_str())
        .collect();
    assert_eq!(
        dup,
        ["lines 2 and 4 are identical; both are kept and flagged possible_duplicate"]
    );
    let q = e.queue();
    assert_eq!(q.len(), 2);
    assert!(
        q.iter().all(|c| c.reasons == ["possible_duplicate"]),
        "{q:?}"
    );
    e.review(ReviewAction::Approve, q[0].id);

    let r = e.import(&body);
    assert_eq!(
        (r.totals.unchanged, r.totals.inserted, r.totals.updated),
        (3, 0, 0),
        "{r:?}"
    );
    let q2 = e.queue();
    assert_eq!(q2.len(), 1, "the approval stands");
    assert_eq!(q2[0].id, q[1].id);
    assert_eq!(q2[0].reasons, ["possible_duplicate"]);
}
