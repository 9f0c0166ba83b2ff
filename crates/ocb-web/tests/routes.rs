//! Route × role matrix, CSRF refusal, escaping and login rules, in process (tower `oneshot`)
//! against a real SQLite instance holding the 2025-01 samples.

#[path = "common/api.rs"]
mod api_client;
mod common;
use api_client::{api, token_for};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Min {
    Viewer,
    Reviewer,
    Admin,
}

struct Fixture {
    inst: Instance,
    users: [(Min, i64); 3],
    charge: i64,
    flagged: i64,
    /// A database user the user-administration routes act on.
    target: i64,
}

fn fixture() -> Fixture {
    let inst = Instance::new();
    let users = [
        (
            Min::Viewer,
            inst.add_user("vera", "viewer", "Viewer-pass-1"),
        ),
        (
            Min::Reviewer,
            inst.add_user("rex", "reviewer", "Reviewer-pass-1"),
        ),
        (Min::Admin, inst.add_user("ada", "admin", "Admin-pass-1")),
    ];
    inst.import_january();
    let store = inst.store();
    let flagged = store
        .review_queue(&ocb_store::ChargeFilter::default(), Some(1))
        .expect("queue")
        .0[0]
        .id;
    let charge = store.charge(1).expect("charge").expect("exists").id;
    let target = inst.add_user("tess", "viewer", "Target-pass-1");
    Fixture {
        inst,
        users,
        charge,
        flagged,
        target,
    }
}

/// Every GET route with its minimum role.
fn get_routes(f: &Fixture) -> Vec<(String, Min)> {
    let c = f.charge;
    [
        ("/", Min::Viewer),
        ("/periods", Min::Viewer),
        ("/periods/2025-01", Min::Viewer),
        ("/periods/new", Min::Admin),
        ("/sources", Min::Viewer),
        ("/charges", Min::Viewer),
        (
            "/charges?status=all&sort=pi&dir=asc&q=genomics",
            Min::Viewer,
        ),
        ("/charges/export.csv", Min::Viewer),
        (&format!("/charges/{c}"), Min::Viewer),
        ("/projects", Min::Viewer),
        ("/projects/genomics-sequencing", Min::Viewer),
        ("/pis", Min::Viewer),
        ("/pis/zorp.blinkman%40example.edu", Min::Viewer),
        ("/review", Min::Viewer),
        ("/review/logs", Min::Viewer),
        ("/imports", Min::Viewer),
        ("/imports/1", Min::Viewer),
        ("/settings/users/change-password", Min::Viewer),
        ("/settings/users", Min::Admin),
        ("/settings/users/new", Min::Admin),
        (&format!("/settings/users/{}", f.target), Min::Admin),
        ("/settings", Min::Admin),
        (
            "/settings/test-patterns?flag_patterns=gpu%0A(bad&fund_org_patterns=%5E%5Cd%7B6%7D%24&period=2025-01",
            Min::Admin,
        ),
        ("/settings/reevaluate?period=2025-01", Min::Admin),
        ("/settings/reevaluate", Min::Admin),
        ("/account/tokens", Min::Viewer),
        // Output pages (statement 1, email log row 1 and export 1 exist: see `outputs`).
        ("/statements", Min::Viewer),
        (
            "/statements?period=2025-01&pi=zorp.blinkman%40example.edu",
            Min::Viewer,
        ),
        ("/statements/generate", Min::Reviewer),
        ("/statements/generate?period=2025-01", Min::Reviewer),
        ("/statements/1/preview", Min::Viewer),
        ("/statements/1/download", Min::Viewer),
        ("/journal", Min::Viewer),
        ("/journal/logs?period=2025-01&format=gl", Min::Viewer),
        ("/journal/logs/1/download", Min::Viewer),
        ("/emails", Min::Viewer),
        ("/emails?period=2025-01&status=dev_mode", Min::Viewer),
        ("/audit", Min::Admin),
        (
            "/audit?event=export&actor=ada&period=2025-01&from=2025-01-01&to=2099-12-31",
            Min::Admin,
        ),
        ("/help", Min::Viewer),
        ("/help/review", Min::Viewer),
    ]
    .into_iter()
    .map(|(p, m)| (p.to_string(), m))
    .collect()
}

/// Every state-changing route: (path, form body, minimum role).
fn post_routes(f: &Fixture) -> Vec<(String, String, Min)> {
    let (c, q, t) = (f.charge, f.flagged, f.target);
    [
        ("/logout", String::new(), Min::Viewer),
        ("/set-period", "period=2025-01".into(), Min::Viewer),
        (
            "/settings/users/change-password",
            "current_password=x&new_password=y&confirm_password=y".into(),
            Min::Viewer,
        ),
        ("/review/approve", format!("id={q}"), Min::Reviewer),
        ("/review/reject", format!("id={q}&note=no"), Min::Reviewer),
        ("/review/restore", format!("id={c}"), Min::Reviewer),
        (
            "/review/selected",
            format!("action=approve&ids={q}"),
            Min::Reviewer,
        ),
        (
            "/review/by-filter",
            "action=approve&period=2025-01&reason=missing_pi_email&expected_count=999".into(),
            Min::Reviewer,
        ),
        (
            "/review/approve-all",
            "period=2025-01&expected_count=999".into(),
            Min::Reviewer,
        ),
        // Upstream's URLs (issue 17): aliases with the same role and CSRF checks.
        (&format!("/review/{q}/approve"), String::new(), Min::Reviewer),
        (&format!("/review/{q}/reject"), "note=no".into(), Min::Reviewer),
        ("/statements/generate", "period=2025-01".into(), Min::Reviewer),
        ("/statements/send-unsent", "period=2025-01".into(), Min::Reviewer),
        ("/statements/1/send", String::new(), Min::Reviewer),
        ("/statements/1/resend", String::new(), Min::Reviewer),
        (
            "/pis/zorp.blinkman%40example.edu/resend",
            "period=2025-01".into(),
            Min::Reviewer,
        ),
        ("/emails/1/resend", String::new(), Min::Reviewer),
        ("/journal/export", "period=2025-01&format=gl".into(), Min::Viewer),
        ("/imports/upload", String::new(), Min::Reviewer),
        ("/imports/commit", String::new(), Min::Reviewer),
        ("/periods", "period=2031-02".into(), Min::Admin),
        ("/periods/2025-01/notes", "note=hello".into(), Min::Admin),
        ("/periods/2025-01/close", String::new(), Min::Admin),
        (
            "/periods/2025-01/reopen",
            "reason=late%20credit".into(),
            Min::Admin,
        ),
        ("/periods/2025-01/finalize", "confirm=1".into(), Min::Admin),
        ("/settings/patterns", "flag_patterns=gpu&fund_org_patterns=".into(), Min::Admin),
        ("/settings/review-patterns", "flag_patterns=gpu&fund_org_patterns=".into(), Min::Admin),
        ("/settings/revert", String::new(), Min::Admin),
        ("/settings/reevaluate", "period=2025-01".into(), Min::Admin),
        // Without the confirmation box: refused with a message, nothing deleted.
        ("/settings/reset", String::new(), Min::Admin),
        ("/account/tokens", "name=ci&read_only=1".into(), Min::Viewer),
        ("/account/tokens/1/revoke", String::new(), Min::Viewer),
        ("/account/unlock", String::new(), Min::Viewer),
        (
            "/settings/users",
            "username=newbie&email=newbie%40example.edu&role=viewer&password=Newbie-pass-1&confirm_password=Newbie-pass-1".into(),
            Min::Admin,
        ),
        (
            &format!("/settings/users/{t}"),
            "email=tess2%40example.edu&display_name=Tess&role=reviewer".into(),
            Min::Admin,
        ),
        (
            &format!("/settings/users/{t}/password"),
            "password=Target-pass-2&confirm_password=Target-pass-2".into(),
            Min::Admin,
        ),
        (&format!("/settings/users/{t}/disable"), String::new(), Min::Admin),
        (&format!("/settings/users/{t}/enable"), String::new(), Min::Admin),
        (&format!("/settings/users/{t}/revoke-sessions"), String::new(), Min::Admin),
        (&format!("/settings/users/{t}/unlock"), String::new(), Min::Admin),
        // Last: the target is gone afterwards.
        (&format!("/settings/users/{t}/delete"), String::new(), Min::Admin),
    ]
    .into_iter()
    .map(|(p, b, m)| (p.to_string(), b, m))
    .collect()
}

/// Statements (drafts), their dev-mode emails and a `gl` journal of 2025-01, made with the
/// library calls the pages use, so the output routes have a statement, an email log row and an
/// export to act on.
fn outputs(inst: &Instance) {
    let mut store = inst.store();
    let config = &inst.state.config;
    let actor = ocb_store::Actor::cli("test");
    let period = "2025-01".parse().expect("period");
    let opts = ocb_statements::GenerateOptions::new(period);
    ocb_statements::generate(
        &mut store,
        config,
        &actor,
        &opts,
        &ocb_statements::NoProgress,
    )
    .expect("generate");
    let send = ocb_statements::SendOptions {
        period,
        pis: vec![],
        resend: false,
        dry_run: false,
    };
    ocb_statements::send(
        &mut store,
        config,
        &actor,
        &send,
        &ocb_statements::NoProgress,
    )
    .expect("send");
    let req = ocb_journal::ExportRequest {
        period,
        format: ocb_journal::Format::Gl,
        include_flagged: false,
        output: ocb_journal::OutputTarget::Named,
        actor,
    };
    ocb_journal::export_journal(&store, config, &req, chrono::Utc::now()).expect("journal");
}

/// Waits until the background jobs started by the requests have ended (their outcome is
/// tested in `output_pages.rs`; here period transitions may race them on purpose).
async fn jobs_finished(inst: &Instance) {
    let start = std::time::Instant::now();
    loop {
        let conn = rusqlite_open(&inst.state.config.database.path);
        let running: i64 = conn
            .query_row(
                "SELECT count(*) FROM jobs WHERE status = 'running'",
                [],
                |r| r.get(0),
            )
            .expect("jobs");
        if running == 0 {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "jobs still running"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn redirects_to_login(status: StatusCode, h: &axum::http::HeaderMap) -> bool {
    status == StatusCode::SEE_OTHER && h.get(header::LOCATION).is_some_and(|l| l == "/login")
}

fn allowed_status(s: StatusCode) -> bool {
    !matches!(s.as_u16(), 401 | 403 | 500..=599)
}

#[tokio::test]
async fn every_route_enforces_its_role() {
    let f = fixture();
    outputs(&f.inst);
    for (path, min) in get_routes(&f) {
        let (s, h, _) = f.inst.get(&path, None).await;
        assert!(redirects_to_login(s, &h), "anonymous GET {path}: {s}");
        for (role, id) in f.users {
            let sess = f.inst.session(id);
            let (s, h, body) = f.inst.get(&path, Some(&sess)).await;
            if role >= min {
                assert!(
                    allowed_status(s) && !redirects_to_login(s, &h),
                    "{role:?} GET {path}: {s}\n{body}"
                );
                assert_eq!(s, StatusCode::OK, "{role:?} GET {path}: {body}");
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{role:?} GET {path}");
            }
        }
    }
    for (path, body, min) in post_routes(&f) {
        let (s, h, _) = f.inst.post(&path, None, &body, None).await;
        assert!(redirects_to_login(s, &h), "anonymous POST {path}: {s}");
        for (role, id) in f.users {
            let sess = f.inst.session(id);
            let (s, h, text) = f
                .inst
                .post(&path, Some(&sess), &body, Some(&sess.csrf))
                .await;
            if path == "/logout" {
                // Logging out lands on /login, and the session is gone.
                assert!(redirects_to_login(s, &h), "{role:?} POST /logout: {s}");
                let (s, h, _) = f.inst.get("/help", Some(&sess)).await;
                assert!(
                    redirects_to_login(s, &h),
                    "{role:?} session after logout: {s}"
                );
            } else if role >= min {
                assert!(
                    allowed_status(s) && !redirects_to_login(s, &h),
                    "{role:?} POST {path}: {s}\n{text}"
                );
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{role:?} POST {path}: {text}");
            }
        }
    }
    for path in ["/login", "/health"] {
        let (s, _, _) = f.inst.get(path, None).await;
        assert_eq!(s, StatusCode::OK, "public {path}");
    }
    jobs_finished(&f.inst).await;
}

/// Every JSON API route (SPEC §12.10): (method, path, content type, body, minimum role). The
/// job route is owner-or-admin on top of its role (see `api.rs`); an unknown job id is asked
/// here.
fn api_routes(f: &Fixture) -> Vec<(Method, String, &'static str, String, Min)> {
    let (c, q) = (f.charge, f.flagged);
    let json = "application/json";
    let get = |p: &str, m: Min| (Method::GET, p.to_string(), "", String::new(), m);
    let post = |p: &str, b: String, m: Min| (Method::POST, p.to_string(), json, b, m);
    vec![
        get("/api/v1/me", Min::Viewer),
        get("/api/v1/periods", Min::Viewer),
        get("/api/v1/periods/2025-01", Min::Viewer),
        get("/api/v1/charges?period=2025-01&status=all", Min::Viewer),
        get(&format!("/api/v1/charges/{c}"), Min::Viewer),
        get("/api/v1/review?period=2025-01", Min::Viewer),
        get("/api/v1/imports", Min::Viewer),
        get("/api/v1/imports/1", Min::Viewer),
        get("/api/v1/imports/1/errors.csv", Min::Viewer),
        get("/api/v1/imports/1/rejects.csv", Min::Viewer),
        get("/api/v1/jobs/999999", Min::Viewer),
        get("/api/v1/statements?period=2025-01", Min::Viewer),
        get("/api/v1/statements/1/pdf", Min::Viewer),
        get("/api/v1/journal?period=2025-01", Min::Viewer),
        get("/api/v1/journal/1/download", Min::Viewer),
        post(
            "/api/v1/journal",
            r#"{"period":"2025-01","format":"gl"}"#.into(),
            Min::Viewer,
        ),
        post(
            "/api/v1/review/approve",
            format!(r#"{{"ids":[{q}]}}"#),
            Min::Reviewer,
        ),
        post(
            "/api/v1/review/reject",
            format!(r#"{{"ids":[{q}],"note":"no"}}"#),
            Min::Reviewer,
        ),
        post(
            "/api/v1/review/restore",
            format!(r#"{{"ids":[{c}]}}"#),
            Min::Reviewer,
        ),
        (
            Method::POST,
            "/api/v1/imports".into(),
            "multipart/form-data; boundary=x",
            "--x--\r\n".into(),
            Min::Reviewer,
        ),
        post(
            "/api/v1/statements/generate",
            r#"{"period":"2025-01","dry_run":true}"#.into(),
            Min::Reviewer,
        ),
        post(
            "/api/v1/statements/send",
            r#"{"period":"2025-01","dry_run":true}"#.into(),
            Min::Reviewer,
        ),
        post(
            "/api/v1/reevaluate",
            r#"{"period":"2025-01","dry_run":true}"#.into(),
            Min::Admin,
        ),
        post(
            "/api/v1/periods",
            r#"{"period":"2031-02"}"#.into(),
            Min::Admin,
        ),
        post("/api/v1/periods/2025-01/close", String::new(), Min::Admin),
        post(
            "/api/v1/periods/2025-01/reopen",
            r#"{"reason":"late credit"}"#.into(),
            Min::Admin,
        ),
        post(
            "/api/v1/periods/2025-01/finalize",
            String::new(),
            Min::Admin,
        ),
    ]
}

#[tokio::test]
async fn every_api_route_enforces_its_role_by_token() {
    let f = fixture();
    outputs(&f.inst);
    let tokens: Vec<(Min, String)> = f
        .users
        .iter()
        .map(|(m, id)| (*m, token_for(&f.inst, *id, false, None)))
        .collect();
    let read_only = token_for(&f.inst, f.users[2].1, true, None);
    for (method, path, ctype, body, min) in api_routes(&f) {
        let ctype = (!ctype.is_empty()).then_some(ctype);
        // No token: 401 in the JSON error format, never the login redirect.
        let (s, _, text) = api(&f.inst, "")
            .call(method.clone(), &path, ctype, body.clone().into_bytes())
            .await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "anonymous {method} {path}: {text}"
        );
        assert!(text.contains("\"unauthorized\""), "{method} {path}: {text}");
        for (role, tok) in &tokens {
            let (s, _, text) = api(&f.inst, tok)
                .call(method.clone(), &path, ctype, body.clone().into_bytes())
                .await;
            if *role >= min {
                assert!(allowed_status(s), "{role:?} {method} {path}: {s}\n{text}");
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{role:?} {method} {path}: {text}");
                assert!(text.contains("\"forbidden\""), "{method} {path}: {text}");
            }
        }
        // A read-only token reads, and nothing else (even an admin's).
        let (s, _, text) = api(&f.inst, &read_only)
            .call(method.clone(), &path, ctype, body.clone().into_bytes())
            .await;
        if method == Method::GET {
            assert!(allowed_status(s), "read-only GET {path}: {s}\n{text}");
        } else {
            assert_eq!(
                s,
                StatusCode::FORBIDDEN,
                "read-only {method} {path}: {text}"
            );
        }
    }
    jobs_finished(&f.inst).await;
}

/// The API authenticates by bearer token only: a browser session (even with its CSRF token) is
/// not a credential there, so a cross-site form can never act through the API, and token
/// requests need no CSRF token (the role test above sends none).
#[tokio::test]
async fn api_routes_ignore_the_session_cookie_and_change_nothing_without_a_token() {
    let f = fixture();
    let admin = f.inst.session(f.users[2].1);
    let before = fingerprint(&f.inst);
    for (method, path, ctype, body, _) in api_routes(&f) {
        let mut b = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header(header::HOST, "localhost")
            .header(header::COOKIE, &admin.cookie)
            .header("x-csrf-token", &admin.csrf);
        if !ctype.is_empty() {
            b = b.header(header::CONTENT_TYPE, ctype);
        }
        let (s, _, text) = f
            .inst
            .send(b.body(Body::from(body)).expect("request"))
            .await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "cookie-only {method} {path}: {text}"
        );
    }
    assert_eq!(fingerprint(&f.inst), before);
}

#[tokio::test]
async fn admin_only_controls_are_not_rendered_for_other_roles() {
    let f = fixture();
    for (role, id) in f.users {
        let sess = f.inst.session(id);
        let (_, _, detail) = f.inst.get("/periods/2025-01", Some(&sess)).await;
        assert_eq!(
            detail.contains("/periods/2025-01/close"),
            role == Min::Admin,
            "{role:?}"
        );
        let (_, _, review) = f.inst.get("/review", Some(&sess)).await;
        assert_eq!(
            review.contains("/review/approve"),
            role >= Min::Reviewer,
            "{role:?}"
        );
        assert_eq!(
            review.contains("id=\"import-modal\""),
            role >= Min::Reviewer,
            "{role:?}"
        );
    }
}

/// Rows that a refused request must not change.
fn fingerprint(inst: &Instance) -> String {
    let path = inst.state.config.database.path.clone();
    let conn = rusqlite_open(&path);
    conn.query_row(
        "SELECT (SELECT count(*) FROM audit_events) || '|' || (SELECT coalesce(group_concat(period || status), '') FROM periods) || '|' ||
                (SELECT count(*) FROM period_notes) || '|' ||
                (SELECT coalesce(group_concat(review_state || coalesce(removed_at, '') || coalesce(review_note, ''), ','), '') FROM charges) || '|' ||
                (SELECT count(*) FROM imports) || '|' || (SELECT count(*) FROM jobs) || '|' || (SELECT count(*) FROM review_log) || '|' ||
                (SELECT coalesce(group_concat(coalesce(selected_period, '-') || password_hash), '') FROM sessions JOIN users u ON u.id = user_id)",
        [],
        |r| r.get(0),
    )
    .expect("fingerprint")
}

fn rusqlite_open(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("db")
}

#[tokio::test]
async fn state_changing_requests_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    let f = fixture();
    let admin = f.users[2].1;
    let before = fingerprint(&f.inst);
    for (path, body, _) in post_routes(&f) {
        for token in [None, Some("0".repeat(64))] {
            let sess = f.inst.session(admin);
            let (s, _, text) = f
                .inst
                .post(&path, Some(&sess), &body, token.as_deref())
                .await;
            assert_eq!(
                s,
                StatusCode::FORBIDDEN,
                "POST {path} with token {token:?}: {text}"
            );
            // The session survived (logout refused) and nothing else changed.
            let (s, _, _) = f.inst.get("/help", Some(&sess)).await;
            assert_eq!(
                s,
                StatusCode::OK,
                "session still valid after refused POST {path}"
            );
        }
        // The header form of the token is checked too, and a foreign Origin is refused.
        let sess = f.inst.session(admin);
        let req = Request::builder()
            .method(Method::POST)
            .uri(&path)
            .header(header::HOST, "localhost")
            .header(header::COOKIE, &sess.cookie)
            .header("x-csrf-token", &sess.csrf)
            .header(header::ORIGIN, "http://evil.example")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.clone()))
            .expect("request");
        let (s, _, _) = f.inst.send(req).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "POST {path} from another origin");
    }
    // Multipart and JSON bodies carry the token only in the header.
    let sess = f.inst.session(admin);
    for (path, ctype) in [
        ("/imports/upload", "multipart/form-data; boundary=x"),
        ("/imports/commit", "application/json"),
    ] {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, "localhost")
            .header(header::COOKIE, &sess.cookie)
            .header(header::CONTENT_TYPE, ctype)
            .body(Body::from("--x--\r\n"))
            .expect("request");
        let (s, _, _) = f.inst.send(req).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "POST {path} without header token");
    }
    let sessions_hashes_only = |fp: String| {
        fp.rsplit_once('|')
            .map(|(a, _)| a.to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        sessions_hashes_only(fingerprint(&f.inst)),
        sessions_hashes_only(before.clone())
    );
    // No session picked a period and no password changed.
    assert!(!fingerprint(&f.inst)
        .rsplit('|')
        .next()
        .unwrap_or_default()
        .contains("2025-01"));
}

const XSS: &str = "<script>alert(1)</script>";

#[tokio::test]
async fn markup_in_data_is_escaped_on_every_page_that_lists_it() {
    let f = fixture();
    let file = f.inst.dir.path().join("xss_2025-01.csv");
    let tags = r#"{""pi_email"": ""<script>alert(1)</script>"", ""project_id"": ""<script>alert(1)</script>"", ""fund_org"": ""<script>alert(1)</script>"", ""note"": ""<script>alert(1)</script>""}"#;
    std::fs::write(
        &file,
        format!(
            "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags\n\
             2025-01-01,2025-01-31,2025-01-01,2025-01-31,9.00,9.00,9.00,9.00,{XSS},{XSS},{XSS},\"{tags}\"\n"
        ),
    )
    .expect("write");
    f.inst.import(&file, XSS);
    let id: i64 = rusqlite_open(&f.inst.state.config.database.path)
        .query_row("SELECT max(id) FROM charges", [], |r| r.get(0))
        .expect("id");
    let sess = f.inst.session(f.users[2].1);
    let pages = [
        "/".to_string(),
        "/charges".into(),
        "/charges?q=alert".into(),
        format!("/charges/{id}"),
        "/review".into(),
        "/pis".into(),
        "/projects".into(),
        "/sources".into(),
        "/imports".into(),
        "/periods/2025-01".into(),
        format!("/charges?source={}", "%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        format!("/imports/{}", 6),
    ];
    for page in pages {
        let (s, _, body) = f.inst.get(&page, Some(&sess)).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(!body.contains(XSS), "{page} contains raw markup");
        assert!(
            body.contains("&lt;script&gt;alert(1)&lt;"),
            "{page} does not show the escaped value"
        );
    }
}

/// A real login through the form: GET /login for the form token, then POST.
async fn login(
    inst: &Instance,
    user: &str,
    password: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let (_, h, _) = inst.get("/login", None).await;
    let set = h
        .get(header::SET_COOKIE)
        .expect("login cookie")
        .to_str()
        .expect("ascii")
        .to_string();
    let cookie = set.split(';').next().expect("pair").to_string();
    let token = cookie.split_once('=').expect("pair").1.to_string();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "username={user}&password={password}&csrf_token={token}"
        )))
        .expect("request");
    inst.send(req).await
}

fn session_cookie(h: &axum::http::HeaderMap) -> Option<String> {
    h.get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("openchargeback_session=") && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().expect("pair").to_string())
}

#[tokio::test]
async fn login_rules_hold() {
    let inst = Instance::new();
    // The upstream example hash of "admin123" (config user) logs in; cookie flags are right.
    let (s, h, _) = login(&inst, "root", "admin123").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let set = h
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = session_cookie(&h).expect("session cookie");
    let sess = Session {
        cookie: cookie.clone(),
        csrf: String::new(),
    };
    let (s, _, body) = inst.get("/", Some(&sess)).await;
    assert_eq!(s, StatusCode::OK);
    let csrf = body
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .expect("meta")
        .split('"')
        .next()
        .expect("token")
        .to_string();
    // Logout ends the session: the same cookie no longer works.
    let sess = Session { cookie, csrf };
    let (s, _, _) = inst
        .post("/logout", Some(&sess), "", Some(&sess.csrf))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, h, _) = inst.get("/", Some(&sess)).await;
    assert!(redirects_to_login(s, &h), "old cookie after logout: {s}");
    // A wrong password is refused, without a session.
    inst.add_user("amy", "viewer", "Right-pass-1");
    let (s, h, body) = login(&inst, "amy", "wrong").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&h).is_none());
    assert!(body.contains("Invalid username or password."));
    // At once again, even with the right password: throttled for a second (issue 16, item 7;
    // the lockout itself is tested in issue16_security.rs).
    let (s, h, body) = login(&inst, "AMY", "Right-pass-1").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(session_cookie(&h).is_none());
    assert!(
        body.contains("Too many failed attempts. Try again in 1 seconds."),
        "{body}"
    );
    // The login form itself needs its token.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(header::HOST, "localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("username=root&password=admin123"))
        .expect("request");
    let (s, _, _) = inst.send(req).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let f = fixture();
    let sess = f.inst.session(f.users[0].1);
    for (path, s) in [
        ("/login", None),
        ("/health", None),
        ("/", Some(&sess)),
        ("/nope", Some(&sess)),
    ] {
        let (_, h, _) = f.inst.get(path, s).await;
        let csp = h
            .get("content-security-policy")
            .expect("csp")
            .to_str()
            .expect("ascii");
        assert!(
            csp.starts_with("default-src 'self'; script-src 'self'; style-src 'self'"),
            "{path}"
        );
        assert_eq!(h.get("x-frame-options").expect("xfo"), "DENY");
        assert_eq!(h.get("x-content-type-options").expect("nosniff"), "nosniff");
        assert_eq!(h.get("referrer-policy").expect("referrer"), "same-origin");
        if s.is_some() {
            assert_eq!(
                h.get(header::CACHE_CONTROL).expect("no-store"),
                "no-store",
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn csv_export_has_the_filtered_set_with_exact_amounts() {
    let f = fixture();
    let sess = f.inst.session(f.users[0].1);
    let (s, h, body) = f
        .inst
        .get("/charges/export.csv?period=2025-01&status=all", Some(&sess))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h
        .get(header::CONTENT_DISPOSITION)
        .expect("attachment")
        .to_str()
        .expect("ascii")
        .starts_with("attachment"));
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let header = rdr.headers().expect("header").clone();
    assert_eq!(&header[0], "charge_id");
    assert_eq!(&header[15], "billed_cost");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 59);
    let sum: ocb_core::Decimal = rows
        .iter()
        .map(|r| r[15].parse::<ocb_core::Decimal>().expect("dec"))
        .sum();
    assert_eq!(sum.to_string(), "20227.00");
    let (_, _, aws) = f
        .inst
        .get(
            "/charges/export.csv?period=2025-01&status=all&source=AWS",
            Some(&sess),
        )
        .await;
    assert_eq!(aws.lines().count(), 26);
}

/// Issue 15, item 3: with amounts an older version let in (28 nines), every page and API
/// endpoint answered 500 and a statements job stayed `running` forever. Now every page and read
/// endpoint answers (exact figures), and the job ends, refused with a message naming a charge.
#[tokio::test]
async fn every_page_and_endpoint_answers_with_amounts_beyond_the_range() {
    let f = fixture();
    outputs(&f.inst);
    let conn = rusqlite_open(&f.inst.state.config.database.path);
    conn.execute(
        "UPDATE charges SET billed_cost = '9999999999999999999999999999'",
        [],
    )
    .expect("legacy amounts");
    drop(conn);
    let admin = f.inst.session(f.users[2].1);
    for (path, _) in get_routes(&f) {
        let (s, _, body) = f.inst.get(&path, Some(&admin)).await;
        assert!(s.as_u16() < 500, "GET {path}: {s}\n{body}");
    }
    let token = token_for(&f.inst, f.users[2].1, true, None);
    for (method, path, ctype, body, _) in api_routes(&f) {
        if method != Method::GET {
            continue;
        }
        let ctype = (!ctype.is_empty()).then_some(ctype);
        let (s, _, text) = api(&f.inst, &token)
            .call(method, &path, ctype, body.into_bytes())
            .await;
        assert!(s.as_u16() < 500, "GET {path}: {s}\n{text}");
    }
    let admin_token = token_for(&f.inst, f.users[2].1, false, None);
    let (s, _, text) = api(&f.inst, &admin_token)
        .call(
            Method::POST,
            "/api/v1/journal",
            Some("application/json"),
            br#"{"period": "2025-01", "format": "gl"}"#.to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(text.contains("beyond the accepted range"), "{text}");
    let (s, _, body) = f
        .inst
        .post(
            "/statements/generate",
            Some(&admin),
            "period=2025-01",
            Some(&admin.csrf),
        )
        .await;
    assert!(s.as_u16() < 500, "{s}: {body}");
    jobs_finished(&f.inst).await;
    let conn = rusqlite_open(&f.inst.state.config.database.path);
    let (status, detail): (String, String) = conn
        .query_row(
            "SELECT status, coalesce(error, '') || coalesce(result, '') FROM jobs ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("job");
    assert_eq!(status, "failed", "{detail}");
    assert!(detail.contains("beyond the accepted range"), "{detail}");
}
