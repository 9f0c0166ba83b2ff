//! Issue 17, item 5: the form URLs of upstream's web UI are aliases of ours (table in
//! `docs/web.md`). Each alias does what our route does, for the same role, with the same CSRF
//! check; the role matrix and the CSRF refusals of every alias are in `routes.rs`.

mod common;
use axum::http::{header, StatusCode};
use common::*;
use ocb_core::review_settings::PatternKind;

/// The charges in the review queue whose PI email is set (approvable without an override).
fn queued_with_pi(inst: &Instance) -> Vec<i64> {
    let (rows, _, _) = inst
        .store()
        .review_queue(&ocb_store::ChargeFilter::default(), None)
        .expect("queue");
    rows.iter()
        .filter(|r| r.pi_email.as_deref().is_some_and(|e| e.contains('@')))
        .map(|r| r.id)
        .collect()
}

/// (action, actor, note) of the review log rows of one charge.
fn review_log(inst: &Instance, id: i64) -> Vec<(String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(&inst.state.config.database.path).expect("db");
    let mut stmt = conn
        .prepare("SELECT action, actor, note FROM review_log WHERE charge_id = ?1 ORDER BY id")
        .expect("prepare");
    let rows = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query");
    rows.collect::<Result<_, _>>().expect("rows")
}

#[tokio::test]
async fn upstream_review_urls_approve_and_reject_the_charge_named_in_the_path() {
    let inst = Instance::new();
    let rex = inst.add_user("rex", "reviewer", "Reviewer-pass-1");
    inst.import_january();
    let queued = queued_with_pi(&inst);
    assert!(
        queued.len() >= 2,
        "the sample has flagged charges with a PI"
    );
    let (a, b) = (queued[0], queued[1]);
    let s = inst.session(rex);

    let path = format!("/review/{a}/approve");
    let (status, h, _) = inst.post(&path, Some(&s), "note=ok", Some(&s.csrf)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "plain form: flash and redirect"
    );
    assert_eq!(h[header::LOCATION], "/review");
    assert_eq!(
        review_log(&inst, a),
        [("approved".into(), "rex".into(), Some("ok".into()))]
    );

    // htmx, as upstream's review rows post: the row's trigger, as for our own URL.
    let path = format!("/review/{b}/reject");
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(&path)
        .header(header::HOST, "localhost")
        .header(header::COOKIE, &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .header("hx-request", "true")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("note=duplicate"))
        .expect("request");
    let (status, h, _) = inst.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h["hx-trigger"], "chargeRejected");
    assert_eq!(
        review_log(&inst, b),
        [("rejected".into(), "rex".into(), Some("duplicate".into()))]
    );

    // The path names the charge: an `id` field in the body cannot redirect the action.
    let (status, _, _) = inst
        .post(&path, Some(&s), &format!("id={a}"), Some(&s.csrf))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(review_log(&inst, a).len(), 1, "charge {a} untouched");

    // Not a number: a clear client error, never a panic.
    let (status, _, _) = inst
        .post("/review/abc/approve", Some(&s), "", Some(&s.csrf))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn upstream_settings_url_saves_the_review_patterns_for_admins_only() {
    let inst = Instance::new();
    let ada = inst.add_user("ada", "admin", "Admin-pass-1");
    let rex = inst.add_user("rex", "reviewer", "Reviewer-pass-1");
    let body = "flag_patterns=gpu%0Atpu&fund_org_patterns=";
    let s = inst.session(rex);
    let (status, _, _) = inst
        .post("/settings/review-patterns", Some(&s), body, Some(&s.csrf))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "admins only, as /settings/patterns"
    );

    let s = inst.session(ada);
    let (status, _, _) = inst
        .post("/settings/review-patterns", Some(&s), body, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the CSRF token is required");
    let (status, h, _) = inst
        .post("/settings/review-patterns", Some(&s), body, Some(&s.csrf))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(h[header::LOCATION], "/settings");
    let saved = inst
        .store()
        .review_override(PatternKind::FlagPatterns)
        .expect("read")
        .expect("saved");
    assert_eq!(saved.patterns, ["gpu", "tpu"]);
}
