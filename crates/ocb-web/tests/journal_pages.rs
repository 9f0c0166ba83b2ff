//! Journal export, export log and audit pages in process (tower `oneshot`) against a real
//! SQLite instance with the 2025-01 samples; journals are checked by summing the downloaded file.

mod common;
use axum::http::{header, StatusCode};
use common::*;
use ocb_core::Decimal;

/// Approves every flagged charge of 2025-01, so the month bills 20,227.00.
fn approve_all(inst: &Instance) {
    use ocb_store::{ChargeFilter, ReviewAction, ReviewRequest, ReviewScope};
    let req = ReviewRequest {
        action: ReviewAction::Approve,
        scope: ReviewScope::Filter(ChargeFilter {
            period: Some("2025-01".into()),
            ..Default::default()
        }),
        note: Some("checked".into()),
        override_: None,
        expected_count: None,
    };
    inst.store()
        .review(&ocb_store::Actor::cli("test"), &req)
        .expect("approve");
}

fn admin(inst: &Instance) -> Session {
    let id = inst.add_user("ada", "admin", "Admin-pass-1");
    inst.session(id)
}

fn count(inst: &Instance, sql: &str) -> i64 {
    rusqlite::Connection::open(&inst.state.config.database.path)
        .expect("db")
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

/// Sums the debit and credit columns of a `gl` journal.
fn gl_sums(csv: &str) -> (Decimal, Decimal) {
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let (mut dr, mut cr) = (Decimal::ZERO, Decimal::ZERO);
    for row in rdr.records() {
        let row = row.expect("row");
        if !row[8].is_empty() {
            dr += row[8].parse::<Decimal>().expect("debit");
        }
        if !row[9].is_empty() {
            cr += row[9].parse::<Decimal>().expect("credit");
        }
    }
    (dr, cr)
}

#[tokio::test]
async fn journal_exports_download_balanced_files_and_are_logged_and_audited() {
    let inst = Instance::new();
    inst.import_january();
    approve_all(&inst);
    let viewer = inst.session(inst.add_user("vera", "viewer", "Viewer-pass-1"));
    let (_, _, form) = inst.get("/journal?period=2025-01", Some(&viewer)).await;
    for f in ["default", "standard", "summary", "gl", "template"] {
        assert!(form.contains(&format!("id=\"format-{f}\"")), "{f}");
    }
    assert!(
        form.contains("$20,227.00") && form.contains("figures may change"),
        "{form}"
    );
    let (st, h, csv) = inst
        .post(
            "/journal/export",
            Some(&viewer),
            "period=2025-01&format=gl",
            Some(&viewer.csrf),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{csv}");
    let disposition = h[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"journal_2025-01_gl_"),
        "{disposition}"
    );
    let twenty = "20227.00".parse::<Decimal>().expect("dec");
    assert_eq!(gl_sums(&csv), (twenty, twenty));
    let export_id: i64 = h["x-export-id"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("id");
    assert_eq!(
        count(&inst, &format!(
            "SELECT count(*) FROM journal_exports WHERE id = {export_id} AND channel = 'web' AND actor = 'vera'
               AND debit_total = '20227.00' AND period_status = 'open'"
        )),
        1
    );
    // The export log lists it and serves the same bytes again; a changed file is refused.
    let (_, _, logs) = inst
        .get("/journal/logs?period=2025-01&format=gl", Some(&viewer))
        .await;
    assert!(
        logs.contains(&format!("/journal/logs/{export_id}/download")),
        "{logs}"
    );
    assert!(logs.contains("$20,227.00"), "{logs}");
    let (st, _, again) = inst
        .get(
            &format!("/journal/logs/{export_id}/download"),
            Some(&viewer),
        )
        .await;
    assert_eq!((st, again.as_str()), (StatusCode::OK, csv.as_str()));
    let (_, _, none) = inst
        .get("/journal/logs?format=summary", Some(&viewer))
        .await;
    assert!(none.contains("No exports yet."), "{none}");
    let stored = inst
        .store()
        .journal_export(export_id)
        .expect("get")
        .expect("row")
        .stored_path;
    std::fs::write(&stored, "tampered").expect("write");
    let (st, h, _) = inst
        .get(
            &format!("/journal/logs/{export_id}/download"),
            Some(&viewer),
        )
        .await;
    assert_eq!(
        (st, h[header::LOCATION].to_str().expect("ascii")),
        (StatusCode::SEE_OTHER, "/journal/logs")
    );
    let (_, _, page) = inst.get("/journal/logs", Some(&viewer)).await;
    assert!(page.contains("was changed after the export"), "{page}");
    // Every other format downloads; the open-period warning waits as a flash message.
    for f in ["default", "standard", "summary", "template"] {
        let (st, h, body) = inst
            .post(
                "/journal/export",
                Some(&viewer),
                &format!("period=2025-01&format={f}&include_flagged=1"),
                Some(&viewer.csrf),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{f}: {body}");
        assert!(h[header::CONTENT_DISPOSITION]
            .to_str()
            .expect("ascii")
            .contains(&format!("_{f}_")));
    }
    assert_eq!(
        count(
            &inst,
            "SELECT count(*) FROM journal_exports WHERE include_flagged = 1"
        ),
        4
    );
    let (_, _, page) = inst.get("/journal", Some(&viewer)).await;
    assert!(
        page.contains("period is open; figures may change"),
        "{page}"
    );
    // Bad requests are flash errors on the form, and nothing is logged for them.
    for body in ["period=2025-01&format=banner", "period=2024-12&format=gl"] {
        let (st, h, _) = inst
            .post("/journal/export", Some(&viewer), body, Some(&viewer.csrf))
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{body}");
        assert!(h[header::LOCATION]
            .to_str()
            .expect("ascii")
            .starts_with("/journal?period="));
    }
    let (_, _, page) = inst.get("/journal", Some(&viewer)).await;
    assert!(page.contains("unknown journal format"), "{page}");
    assert_eq!(count(&inst, "SELECT count(*) FROM journal_exports"), 5);
    assert_eq!(
        count(
            &inst,
            "SELECT count(*) FROM audit_events WHERE event = 'export.journal'"
        ),
        5
    );
}

#[tokio::test]
async fn the_audit_log_filters_by_event_actor_period_and_dates() {
    let inst = Instance::new();
    inst.import_january();
    let s = admin(&inst);
    let (st, _, _) = inst
        .post(
            "/journal/export",
            Some(&s),
            "period=2025-01&format=summary",
            Some(&s.csrf),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, page) = inst.get("/audit?event=export", Some(&s)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        page.contains("export.journal") && !page.contains("<code>import.completed</code>"),
        "{page}"
    );
    let (_, _, page) = inst.get("/audit?actor=test", Some(&s)).await;
    assert!(
        page.contains("<code>import.completed</code>")
            && !page.contains("<code>export.journal</code>"),
        "{page}"
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (_, _, page) = inst
        .get(
            &format!("/audit?period=2025-01&from={today}&to={today}"),
            Some(&s),
        )
        .await;
    assert!(page.contains("<code>export.journal</code>"), "{page}");
    let (_, _, page) = inst
        .get("/audit?from=2000-01-01&to=2000-01-02", Some(&s))
        .await;
    assert!(page.contains("No audit events match."), "{page}");
    let (st, _, page) = inst.get("/audit?from=yesterday", Some(&s)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(page.contains("Invalid date"), "{page}");
}
