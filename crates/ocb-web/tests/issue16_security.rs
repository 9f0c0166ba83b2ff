//! Regression tests for issue 16, items 1-7 (web security): each test failed before its fix.

#[path = "common/api.rs"]
mod api_client;
mod common;

use axum::http::{header, HeaderMap, StatusCode};
use common::Instance;

fn location(h: &HeaderMap) -> &str {
    h.get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Hostile `next` values: other sites written the ways browsers still read as a host.
const HOSTILE_NEXT: &[&str] = &[
    "/\\evil.example",
    "//evil.example",
    "/\\/evil.example",
    "/%09/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "https://evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "%0A//evil.example",
    "/%0D%0A/evil.example",
    "/%20/evil.example",
    "evil.example",
];

/// Issue 16, item 5: `/set-period` and every `/review/*` form ignore a `next` naming another
/// site (the form value is decoded once, as the server reads it).
#[tokio::test]
async fn redirect_targets_never_leave_the_site() {
    let inst = Instance::new();
    let admin = inst.add_user("ada", "admin", "Right-pass-1");
    let s = inst.session(admin);
    for next in HOSTILE_NEXT {
        let form = format!("period=2025-01&next={next}");
        let (st, h, _) = inst
            .post("/set-period", Some(&s), &form, Some(&s.csrf))
            .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&h), "/", "set-period with next={next}");
        for action in ["approve", "reject", "restore", "selected", "by-filter"] {
            let form = format!("ids=1&next={next}");
            let path = format!("/review/{action}");
            let (_, h, _) = inst.post(&path, Some(&s), &form, Some(&s.csrf)).await;
            let to = location(&h);
            assert!(
                to.starts_with("/review"),
                "{path} with next={next} went to {to}"
            );
        }
    }
    let form = "period=2025-01&next=/charges%3Fq%3Dx";
    let (_, h, _) = inst
        .post("/set-period", Some(&s), form, Some(&s.csrf))
        .await;
    assert_eq!(location(&h), "/charges?q=x", "a local next is kept");
}

/// The form token of `GET /login` as (cookie pair, token).
async fn login_form(inst: &Instance) -> (String, String) {
    let (_, h, _) = inst.get("/login", None).await;
    let set = h
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("login cookie");
    let cookie = set.split(';').next().expect("pair").to_string();
    let token = cookie.split_once('=').expect("pair").1.to_string();
    (cookie, token)
}

/// A real login through the form; `cookie` is sent along (e.g. a stale session), `from` is the
/// client address (`X-Forwarded-For`, for instances that trust it).
async fn login(
    inst: &Instance,
    user: &str,
    password: &str,
    cookie: Option<&str>,
    from: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let (form_cookie, token) = login_form(inst).await;
    let cookies = match cookie {
        Some(c) => format!("{c}; {form_cookie}"),
        None => form_cookie,
    };
    let mut b = axum::http::Request::builder()
        .method(axum::http::Method::POST)
        .uri("/login")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, cookies)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(ip) = from {
        b = b.header("x-forwarded-for", ip);
    }
    let body = format!("username={user}&password={password}&csrf_token={token}");
    inst.send(b.body(axum::body::Body::from(body)).expect("request"))
        .await
}

/// The `Set-Cookie` values for the session cookie.
fn session_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("openchargeback_session="))
        .map(str::to_string)
        .collect()
}

/// The new session's `name=value` pair of a successful login.
fn new_session(h: &HeaderMap) -> Option<String> {
    session_cookies(h)
        .into_iter()
        .find(|v| !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

/// Issue 16, item 3: logging in while the browser still holds an expired or unknown session
/// cookie works the first time: the response sets the new session and does not clear it.
#[tokio::test]
async fn login_with_a_stale_session_cookie_works_the_first_time() {
    let inst = Instance::new();
    inst.add_user("amy", "viewer", "Right-pass-1");
    let stale = format!("openchargeback_session={}", "0".repeat(64));
    let (st, h, _) = login(&inst, "amy", "Right-pass-1", Some(&stale), None).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let set = session_cookies(&h);
    assert_eq!(
        set.len(),
        1,
        "one session cookie, not also a clearing one: {set:?}"
    );
    let cookie = new_session(&h).expect("a new session");
    let s = common::Session {
        cookie,
        csrf: String::new(),
    };
    let (st, _, _) = inst.get("/", Some(&s)).await;
    assert_eq!(st, StatusCode::OK, "the new session works");
    // A stale cookie on an ordinary page is still cleared.
    let (_, h, _) = inst
        .get(
            "/login",
            Some(&common::Session {
                cookie: stale,
                csrf: String::new(),
            }),
        )
        .await;
    assert!(session_cookies(&h).iter().any(|c| c.contains("Max-Age=0")));
}

/// Every string in a JSON document.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out);
        }),
        _ => {}
    }
}

/// Issue 16, item 4: no API response names a server path, in particular the result of a
/// dev-mode send job (it named each `.eml` file by its full path), on the API and on `/jobs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_api_response_or_job_result_names_a_server_path() {
    let inst = Instance::new();
    inst.import_january();
    let rex = inst.add_user("rex", "reviewer", "Reviewer-pass-1");
    let r = api_client::api(&inst, &api_client::token_for(&inst, rex, false, None));
    let root = inst.dir.path().to_string_lossy().into_owned();
    // The January imports were read from the shared fixtures: their directory is a server path too.
    let fixtures = common::sample("").to_string_lossy().into_owned();
    let mut seen = vec![];
    let (_, imported) = r
        .import("aws_2025-01.csv", &[("source", "AWS"), ("mode", "upsert")])
        .await;
    seen.push(("POST /api/v1/imports".to_string(), imported));
    let body = serde_json::json!({"period": "2025-01", "send": true});
    let (st, started) = r.post("/api/v1/statements/generate", body).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{started}");
    let job = started["job_id"].as_i64().expect("job id");
    let done = r.wait_job(job).await;
    assert!(
        done["result"]["emails"]["sent"].as_u64() > Some(0),
        "{done}"
    );
    assert!(
        done["result"]["emails"]["results"][0]["file_name"]
            .as_str()
            .is_some_and(|f| f.ends_with(".eml")),
        "{done}"
    );
    for path in [
        format!("/api/v1/jobs/{job}"),
        "/api/v1/me".into(),
        "/api/v1/periods".into(),
        "/api/v1/periods/2025-01".into(),
        "/api/v1/charges?per_page=5".into(),
        "/api/v1/charges/1".into(),
        "/api/v1/imports".into(),
        "/api/v1/imports/1".into(),
        "/api/v1/review".into(),
        "/api/v1/statements?period=2025-01".into(),
        "/api/v1/journal".into(),
    ] {
        let (st, v) = r.get(&path).await;
        assert_eq!(st, StatusCode::OK, "{path}: {v}");
        seen.push((path, v));
    }
    let session = inst.session(rex);
    let (_, _, sess_job) = inst.get(&format!("/jobs/{job}"), Some(&session)).await;
    seen.push((
        "/jobs/{id}".into(),
        serde_json::from_str(&sess_job).expect("json"),
    ));
    for (path, v) in seen {
        let mut all = vec![];
        strings(&v, &mut all);
        let leaked: Vec<_> = all
            .iter()
            .filter(|s| s.contains(&root) || s.contains(fixtures.trim_end_matches('/')))
            .collect();
        assert!(leaked.is_empty(), "{path} names server paths: {leaked:?}");
    }
}

/// Issue 16, item 1: config users are no longer exempt from the password check at login: a
/// published example password is named in a warning; database users cannot choose one.
#[tokio::test]
async fn published_passwords_are_warned_at_login_and_refused_for_new_passwords() {
    let inst = Instance::new();
    let (st, h, _) = login(&inst, "root", "admin123", None, None).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(location(&h), "/", "config users cannot change it in the UI");
    let s = common::Session {
        cookie: new_session(&h).expect("session"),
        csrf: String::new(),
    };
    let (_, _, page) = inst.get("/", Some(&s)).await;
    assert!(
        page.contains("published example") && page.contains("config.yaml"),
        "the dashboard warns"
    );
    let amy = inst.add_user("amy", "viewer", "Right-pass-1");
    let s = inst.session(amy);
    let form = "current_password=Right-pass-1&new_password=admin123&confirm_password=admin123";
    let (_, _, _) = inst
        .post(
            "/settings/users/change-password",
            Some(&s),
            form,
            Some(&s.csrf),
        )
        .await;
    let (_, _, page) = inst.get("/settings/users/change-password", Some(&s)).await;
    assert!(
        page.contains("published in example configurations"),
        "refused"
    );
}

fn retry_after(h: &HeaderMap) -> Option<&str> {
    h.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok())
}

/// Two failures from `ip` (waiting out the one-second delay in between): the pair is locked.
async fn lock_out(inst: &Instance, user: &str, ip: &str) {
    let (st, _, _) = login(inst, user, "wrong", None, Some(ip)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, h, body) = login(inst, user, "wrong", None, Some(ip)).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "too soon: {body}");
    assert_eq!(retry_after(&h), Some("1"));
    assert!(body.contains("Try again in 1 seconds."), "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, _, _) = login(inst, user, "wrong", None, Some(ip)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

/// Issue 16, item 7: failures lock a (username, address) pair after growing delays, not the
/// username everywhere; the owner, signed in elsewhere, or an admin lifts the lockout.
#[tokio::test]
async fn failed_logins_lock_one_address_and_the_owner_or_an_admin_lifts_it() {
    let inst = Instance::with_config("  login_max_attempts: 2\n  trust_proxy_headers: true\n");
    let amy = inst.add_user("amy", "viewer", "Right-pass-1");
    lock_out(&inst, "amy", "6.6.6.6").await;
    let (st, _, body) = login(&inst, "amy", "Right-pass-1", None, Some("6.6.6.6")).await;
    assert_eq!(
        st,
        StatusCode::TOO_MANY_REQUESTS,
        "locked, even with the right password"
    );
    assert!(body.contains("Try again in 15 minutes."), "{body}");
    // The attacker's address is locked, the owner's is not.
    let (st, h, _) = login(&inst, "amy", "Right-pass-1", None, Some("10.0.0.5")).await;
    assert_eq!(
        st,
        StatusCode::SEE_OTHER,
        "the owner still gets in from elsewhere"
    );
    let own = common::Session {
        cookie: new_session(&h).expect("session"),
        csrf: String::new(),
    };
    let (_, _, page) = inst
        .get("/settings/users/change-password", Some(&own))
        .await;
    assert!(
        page.contains("locked out from 1 address(es)"),
        "the owner sees it"
    );
    let s = inst.session(amy);
    let (st, h, _) = inst
        .post("/account/unlock", Some(&s), "", Some(&s.csrf))
        .await;
    assert_eq!(
        (st, location(&h)),
        (StatusCode::SEE_OTHER, "/settings/users/change-password")
    );
    let (st, _, _) = login(&inst, "amy", "Right-pass-1", None, Some("6.6.6.6")).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "lifted by the owner");

    // An admin lifts another user's lockout; other users cannot.
    let bob = inst.add_user("bob", "viewer", "Bob-pass-12");
    lock_out(&inst, "bob", "7.7.7.7").await;
    let path = format!("/settings/users/{bob}/unlock");
    let (st, _, _) = inst.post(&path, Some(&s), "", Some(&s.csrf)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "amy is no admin");
    let admin = inst.session(inst.add_user("ada", "admin", "Admin-pass-1"));
    let (_, _, page) = inst
        .get(&format!("/settings/users/{bob}"), Some(&admin))
        .await;
    assert!(
        page.contains("Lift login lockout (1 address(es))"),
        "the admin sees it"
    );
    let (st, _, _) = inst.post(&path, Some(&admin), "", Some(&admin.csrf)).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, _, _) = login(&inst, "bob", "Bob-pass-12", None, Some("7.7.7.7")).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "lifted by the admin");
    let lifted: i64 = rusqlite::Connection::open(&inst.state.config.database.path)
        .expect("db")
        .query_row(
            "SELECT count(*) FROM audit_events WHERE event = 'auth.lockout_lifted'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(lifted, 2);
}

/// Issue 16, item 7: a session ends `web.session_max_hours` after login however active.
#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime() {
    let inst = Instance::with_config("  session_max_hours: 12\n");
    let s = inst.session(inst.add_user("amy", "viewer", "Right-pass-1"));
    let (st, _, _) = inst.get("/", Some(&s)).await;
    assert_eq!(st, StatusCode::OK);
    let login_time = (chrono::Utc::now() - chrono::Duration::hours(12))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    rusqlite::Connection::open(&inst.state.config.database.path)
        .expect("db")
        .execute("UPDATE sessions SET created_at = ?1", [&login_time])
        .expect("age the session");
    let (st, h, _) = inst.get("/", Some(&s)).await;
    assert_eq!(
        (st, location(&h)),
        (StatusCode::SEE_OTHER, "/login"),
        "ended"
    );
    assert!(session_cookies(&h).iter().any(|c| c.contains("Max-Age=0")));
}

/// Issue 16, item 7: HSTS on every response when `web.public_url` is https, and only then.
#[tokio::test]
async fn hsts_is_sent_when_the_public_url_is_https() {
    let https = Instance::with_config("  public_url: https://billing.example.edu\n");
    let s = https.session(https.add_user("amy", "viewer", "Right-pass-1"));
    for (path, sess) in [
        ("/login", None),
        ("/health", None),
        ("/", Some(&s)),
        ("/nope", Some(&s)),
    ] {
        let (_, h, _) = https.get(path, sess).await;
        assert_eq!(
            h.get(header::STRICT_TRANSPORT_SECURITY)
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    let http = Instance::with_config("  public_url: http://billing.example.edu\n");
    let (_, h, _) = http.get("/login", None).await;
    assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none());
}
