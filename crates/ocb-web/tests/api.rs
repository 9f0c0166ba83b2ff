//! The JSON API (SPEC §12.10) in process against a real SQLite instance: the token rules (roles,
//! read-only, revoked, expired, disabled and deleted users, the session cookie ignored), the list
//! and error conventions, and override checks. The whole month through the API is in
//! `api_month.rs`.

#[path = "common/api.rs"]
mod api_client;
mod common;
use api_client::{api, parse, token_for};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use ocb_store::Actor;
use serde_json::json;

#[tokio::test]
async fn tokens_act_with_their_users_current_role_and_die_with_the_user() {
    let inst = Instance::new();
    inst.import_january();
    let (vera, rex, ada) = (
        inst.add_user("vera", "viewer", "Viewer-pass-1"),
        inst.add_user("rex", "reviewer", "Reviewer-pass-1"),
        inst.add_user("ada", "admin", "Admin-pass-1"),
    );
    let (v, r) = (
        token_for(&inst, vera, false, None),
        token_for(&inst, rex, false, None),
    );
    let flagged = inst
        .store()
        .review_queue(&ocb_store::ChargeFilter::default(), Some(1))
        .expect("queue")
        .0[0]
        .id;

    // No token, a malformed one, an unknown one: 401 in the JSON error format.
    for bad in ["", "ocb_nope", &ocb_web::api::token::generate()] {
        let (s, h, body) = api(&inst, bad)
            .call(Method::GET, "/api/v1/me", None, vec![])
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(
            h.get(header::WWW_AUTHENTICATE).expect("challenge"),
            "Bearer"
        );
        assert_eq!(parse(&body)["error"]["code"], "unauthorized", "{body}");
    }
    // The session cookie is not an API credential.
    let sess = inst.session(ada);
    let req = Request::builder()
        .uri("/api/v1/me")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, &sess.cookie)
        .body(Body::empty())
        .expect("req");
    assert_eq!(inst.send(req).await.0, StatusCode::UNAUTHORIZED);

    // Same role matrix as the web.
    let approve = json!({"ids": [flagged]});
    let (s, e) = api(&inst, &v)
        .post("/api/v1/review/approve", approve.clone())
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{e}"
    );
    assert_eq!(
        api(&inst, &v).get("/api/v1/charges?status=flagged").await.0,
        StatusCode::OK
    );
    assert_eq!(
        api(&inst, &r)
            .post("/api/v1/periods", json!({"period": "2030-01"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, sum) = api(&inst, &r)
        .post("/api/v1/review/approve", approve.clone())
        .await;
    assert_eq!(
        (s, sum["acted"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{sum}"
    );
    let (s, sum) = api(&inst, &r)
        .post(
            "/api/v1/review/reject",
            json!({"ids": [flagged], "note": "dup"}),
        )
        .await;
    assert_eq!(
        (s, sum["acted"].as_u64()),
        (StatusCode::OK, Some(0)),
        "approved charges are not in the queue: {sum}"
    );
    // The role is re-read at each request: promote vera, and the same token may approve.
    let edit = ocb_store::UserEdit {
        email: "vera@example.edu".into(),
        display_name: "vera".into(),
        role: "reviewer".into(),
    };
    inst.store()
        .update_user(&Actor::system(), vera, &edit)
        .expect("promote");
    assert_eq!(
        api(&inst, &v)
            .post("/api/v1/review/restore", approve.clone())
            .await
            .0,
        StatusCode::OK
    );

    // Read-only tokens: GET only.
    let ro = token_for(&inst, ada, true, None);
    assert_eq!(
        api(&inst, &ro).get("/api/v1/periods").await.0,
        StatusCode::OK
    );
    let (s, e) = api(&inst, &ro)
        .post("/api/v1/periods", json!({"period": "2030-01"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("read-only"),
        "{e}"
    );
    // Expired tokens are refused.
    let old = token_for(&inst, ada, false, Some("2020-01-01T00:00:00Z"));
    assert_eq!(
        api(&inst, &old).get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );

    // Revoked through the tokens page: refused at once.
    let rex_sess = inst.session(rex);
    let id = inst.store().list_api_tokens(rex).expect("list")[0].id;
    let (s, _, _) = inst
        .post(
            &format!("/account/tokens/{id}/revoke"),
            Some(&rex_sess),
            "",
            Some(&rex_sess.csrf),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        api(&inst, &r).get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        inst.store()
            .audit_events(Some("api_token.revoked"), 5)
            .expect("audit")
            .len(),
        1
    );

    // Disabled and deleted users' tokens stop working immediately; enabling restores them.
    let admin = inst.session(ada);
    let post = |path: String| {
        let admin = admin.clone();
        let inst = &inst;
        async move {
            inst.post(&path, Some(&admin), "", Some(&admin.csrf))
                .await
                .0
        }
    };
    assert_eq!(
        post(format!("/settings/users/{vera}/disable")).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        api(&inst, &v).get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(format!("/settings/users/{vera}/enable")).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(api(&inst, &v).get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(
        post(format!("/settings/users/{vera}/delete")).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        api(&inst, &v).get("/api/v1/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn lists_errors_and_jobs_follow_the_api_conventions() {
    let inst = Instance::new();
    inst.import_january();
    let (vera, rex) = (
        inst.add_user("vera", "viewer", "Viewer-pass-1"),
        inst.add_user("rex", "reviewer", "Reviewer-pass-1"),
    );
    let (v, r) = (
        token_for(&inst, vera, false, None),
        token_for(&inst, rex, false, None),
    );
    let (s, page) = api(&inst, &v)
        .get("/api/v1/charges?status=all&per_page=10&page=2&sort=pi&dir=asc")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            page["page"].as_u64(),
            page["per_page"].as_u64(),
            page["total"].as_u64()
        ),
        (Some(2), Some(10), Some(59))
    );
    assert_eq!(page["items"].as_array().expect("items").len(), 10);
    assert!(
        page["items"][0]["billed_cost"].is_string(),
        "amounts are decimal strings"
    );
    for bad in [
        "/api/v1/charges?per_page=501",
        "/api/v1/charges?page=0",
        "/api/v1/charges?status=flaged",
        "/api/v1/charges?sort=size",
    ] {
        let (s, e) = api(&inst, &v).get(bad).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{bad}: {e}"
        );
    }
    let (s, e) = api(&inst, &v).get("/api/v1/charges/999999").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert_eq!(
        api(&inst, &v).get("/api/v1/nothing-here").await.0,
        StatusCode::NOT_FOUND
    );
    let (s, _, body) = api(&inst, &r)
        .call(
            Method::POST,
            "/api/v1/review/approve",
            Some("application/json"),
            b"{ids: [1".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, e) = api(&inst, &r)
        .post(
            "/api/v1/review/approve",
            json!({"filter": {"period": "2025-01"}}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "expected_count is required: {e}"
    );
    let (s, e) = api(&inst, &r)
        .post(
            "/api/v1/review/approve",
            json!({"ids": [1, 2], "override": {"pi_email": "x@y.edu"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // An upload without a file, and one of the wrong type.
    let (s, e) = api(&inst, &r)
        .import("aws_2025-01.csv", &[("period", "2025-1x")])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // Jobs: the owner sees theirs, another viewer does not.
    let (s, rep) = api(&inst, &r)
        .import("aws_2025-12.csv", &[("source", "AWS")])
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rep}");
    let job = rep["job_id"].as_i64().expect("job");
    assert_eq!(
        api(&inst, &r).get(&format!("/api/v1/jobs/{job}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        api(&inst, &v).get(&format!("/api/v1/jobs/{job}")).await.0,
        StatusCode::FORBIDDEN
    );
    // An import with a bad row set aside (skip_invalid): its rejects.csv names the line.
    let good = std::fs::read_to_string(sample("aws_2025-01.csv")).expect("sample");
    let bad_row = good
        .lines()
        .nth(1)
        .expect("row")
        .replace("1062.50,1062.50,1062.50", "1062.50,oops,1062.50");
    let file = format!("{good}{bad_row}\n");
    let (s, rep) = api(&inst, &r)
        .upload(
            "aws_2025-01.csv",
            file.into_bytes(),
            &[("source", "AWS"), ("skip_invalid", "true")],
        )
        .await;
    assert_eq!(
        (s, rep["rejected_rows"].as_u64()),
        (StatusCode::CREATED, Some(1)),
        "{rep}"
    );
    let id = rep["import_id"].as_i64().expect("import id");
    let (s, d) = api(&inst, &v).get(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(
        d["rejects_url"],
        format!("/api/v1/imports/{id}/rejects.csv"),
        "{d}"
    );
    let (s2, h, csv) = api(&inst, &v)
        .call(
            Method::GET,
            &format!("/api/v1/imports/{id}/rejects.csv"),
            None,
            vec![],
        )
        .await;
    assert_eq!((s, s2), (StatusCode::OK, StatusCode::OK), "{csv}");
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .starts_with("text/csv"));
    assert!(csv.contains("oops"), "{csv}");
}

/// A fund/org override is checked against the effective patterns: a list saved on the settings
/// page (database override, SPEC §4.5) replaces the config file's, for the API as for the pages.
#[tokio::test]
async fn overrides_are_checked_against_the_effective_fund_org_patterns() {
    let inst = Instance::new();
    inst.import_january();
    let rex = inst.add_user("rex", "reviewer", "Reviewer-pass-1");
    let r = token_for(&inst, rex, false, None);
    let (_, queue) = api(&inst, &r).get("/api/v1/review?period=2025-01").await;
    let first = queue["items"][0]["id"].as_i64().expect("a queued charge");
    let approve =
        |fund: &str| json!({"ids": [first], "override": {"fund_org": fund}, "note": "moved"});
    inst.store()
        .save_review_override(
            &Actor::cli("alice"),
            ocb_core::review_settings::PatternKind::FundOrgPatterns,
            &[],
            &[r"^ZZ-\d{3}$".to_owned()],
        )
        .expect("save override");
    let (s, e) = api(&inst, &r)
        .post("/api/v1/review/approve", approve("12345-678"))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("12345-678")),
        "{e}"
    );
    let (s, done) = api(&inst, &r)
        .post("/api/v1/review/approve", approve("ZZ-123"))
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
}

/// Guessing tokens (SPEC §12.9, §12.10): after 4 × `web.login_max_attempts` (here 5) unknown
/// tokens from one address within `web.login_lockout_minutes` (15), that address gets 429 —
/// even with a valid token — until the window has passed. Missing or malformed tokens are not
/// guesses and do not count.
#[tokio::test]
async fn guessing_tokens_is_throttled_per_address_with_429() {
    let inst = Instance::new();
    let ada = inst.add_user("ada", "admin", "Admin-pass-1");
    let good = token_for(&inst, ada, false, None);
    for _ in 0..30 {
        assert_eq!(
            api(&inst, "ocb_short").get("/api/v1/me").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(api(&inst, &good).get("/api/v1/me").await.0, StatusCode::OK);
    for i in 0..20 {
        let (s, _) = api(&inst, &ocb_web::api::token::generate())
            .get("/api/v1/periods")
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let (s, h, body) = api(&inst, &good)
        .call(Method::GET, "/api/v1/me", None, vec![])
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(
        parse(&body)["error"]["message"],
        "Too many failed attempts. Try again in 15 minutes."
    );
    assert_eq!(parse(&body)["error"]["code"], "too_many_requests");
    assert_eq!(h[header::RETRY_AFTER], "900");
    // The web pages' login throttle is separate: a browser session still works.
    let (s, _, _) = inst.get("/help", Some(&inst.session(ada))).await;
    assert_eq!(s, StatusCode::OK);
}
