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
        let leaked: Vec<_> = all.iter().filter(|s| s.contains(&root)).collect();
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
