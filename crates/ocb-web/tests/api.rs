//! The JSON API (SPEC §12.10) in process against a real SQLite instance: the 2025-01 month driven
//! with bearer tokens only, and the token rules (roles, read-only, revoked, expired, disabled and
//! deleted users, the session cookie ignored).

mod common;
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use common::*;
use ocb_store::{Actor, NewApiToken};
use serde_json::{json, Value};

/// A token stored for `user_id` as the tokens page stores it.
fn token_for(inst: &Instance, user_id: i64, read_only: bool, expires_at: Option<&str>) -> String {
    let plain = ocb_web::api::token::generate();
    let hash = ocb_web::api::token::hash(inst.state.config.web.secret_key.expose(), &plain);
    let t = NewApiToken {
        name: "test".into(),
        token_hash: hash,
        read_only,
        expires_at: expires_at.map(str::to_string),
    };
    inst.store()
        .create_api_token(&Actor::system(), user_id, &t)
        .expect("token");
    plain
}

struct Api<'a> {
    inst: &'a Instance,
    token: String,
}

impl Api<'_> {
    async fn call(
        &self,
        method: Method,
        path: &str,
        ctype: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost");
        if !self.token.is_empty() {
            b = b.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        if let Some(c) = ctype {
            b = b.header(header::CONTENT_TYPE, c);
        }
        self.inst
            .send(b.body(Body::from(body)).expect("request"))
            .await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, _, body) = self.call(Method::GET, path, None, vec![]).await;
        (s, parse(&body))
    }

    async fn post(&self, path: &str, v: Value) -> (StatusCode, Value) {
        let (s, _, body) = self
            .call(
                Method::POST,
                path,
                Some("application/json"),
                v.to_string().into_bytes(),
            )
            .await;
        (s, parse(&body))
    }

    /// `POST /api/v1/imports` with one sample file and text fields.
    async fn import(&self, file: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let bytes = std::fs::read(sample(file)).expect("sample");
        self.upload(file, bytes, fields).await
    }

    async fn upload(
        &self,
        file: &str,
        bytes: Vec<u8>,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend(
                format!("--XB\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                    .as_bytes(),
            );
        }
        body.extend(format!("--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
        body.extend(bytes);
        body.extend(b"\r\n--XB--\r\n");
        let (s, _, text) = self
            .call(
                Method::POST,
                "/api/v1/imports",
                Some("multipart/form-data; boundary=XB"),
                body,
            )
            .await;
        (s, parse(&text))
    }
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
}

fn api<'a>(inst: &'a Instance, token: &str) -> Api<'a> {
    Api {
        inst,
        token: token.to_string(),
    }
}

/// The token shown once by `POST /account/tokens`.
async fn token_from_page(inst: &Instance, sess: &Session, form: &str) -> String {
    let (s, _, html) = inst
        .post("/account/tokens", Some(sess), form, Some(&sess.csrf))
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let tok = html
        .split("id=\"token-value\" readonly value=\"")
        .nth(1)
        .expect("token shown")
        .split('"')
        .next()
        .expect("end")
        .to_string();
    assert!(tok.starts_with("ocb_") && tok.len() == 56, "{tok}");
    // Shown once: the list page does not contain it, and neither does the database.
    let (_, _, list) = inst.get("/account/tokens", Some(sess)).await;
    assert!(!list.contains(&tok));
    let db = std::fs::read(&inst.state.config.database.path).expect("db");
    assert!(
        !String::from_utf8_lossy(&db).contains(&tok),
        "the plain token is not stored"
    );
    tok
}

#[tokio::test]
async fn the_2025_01_month_through_the_api_with_tokens_only() {
    let inst = Instance::new();
    let ada = inst.add_user("ada", "admin", "Admin-pass-1");
    let tok = token_from_page(&inst, &inst.session(ada), "name=month&expires_on=").await;
    let a = api(&inst, &tok);
    let (s, me) = a.get("/api/v1/me").await;
    assert_eq!(
        (s, me["username"].as_str(), me["role"].as_str()),
        (StatusCode::OK, Some("ada"), Some("admin"))
    );

    let (s, p) = a
        .post(
            "/api/v1/periods",
            json!({"period": "2025-01", "notes": "January"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(p["status"], "open");
    let (s, e) = a
        .post("/api/v1/periods", json!({"period": "2025-01"}))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{e}"
    );
    let (s, e) = a
        .post("/api/v1/periods", json!({"period": "2025-13"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    // A dry run reports without importing anything.
    let (s, dry) = a
        .import("aws_2025-01.csv", &[("source", "AWS"), ("dry_run", "true")])
        .await;
    assert_eq!(s, StatusCode::OK, "{dry}");
    assert_eq!(
        (dry["import_id"].clone(), dry["rows_read"].as_u64()),
        (Value::Null, Some(25))
    );
    let mut rows = 0;
    for (file, source) in JAN {
        let (s, r) = a
            .import(file, &[("source", source), ("period", "2025-01")])
            .await;
        assert_eq!(s, StatusCode::CREATED, "{file}: {r}");
        assert_eq!(r["success"], true);
        assert_eq!(r["rejected_rows"], 0, "{file}");
        rows += r["rows_read"].as_u64().expect("rows");
        let (s, job) = a.get(&format!("/api/v1/jobs/{}", r["job_id"])).await;
        assert_eq!(
            (s, job["status"].as_str()),
            (StatusCode::OK, Some("succeeded")),
            "{job}"
        );
    }
    assert_eq!(rows, 59);
    let (_, imports) = a.get("/api/v1/imports?period=2025-01").await;
    assert_eq!(imports["total"], 5, "{imports}");
    let id = imports["items"][0]["id"].as_i64().expect("id");
    let (s, d) = a.get(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        d.get("path").is_none() && d.get("errors_path").is_none(),
        "no server paths: {d}"
    );

    let (_, all) = a
        .get("/api/v1/charges?period=2025-01&status=all&per_page=500")
        .await;
    assert_eq!(
        (all["total"].as_u64(), all["total_billed"].as_str()),
        (Some(59), Some("20227.00")),
        "{}",
        all["total"]
    );
    let (_, queue) = a.get("/api/v1/review?period=2025-01").await;
    let flagged = queue["total"].as_u64().expect("total");
    assert!(flagged >= 2, "{queue}");
    let first = queue["items"][0]["id"].as_i64().expect("id");
    let (s, detail) = a.get(&format!("/api/v1/charges/{first}")).await;
    assert_eq!(
        (s, detail["status"].as_str()),
        (StatusCode::OK, Some("flagged")),
        "{detail}"
    );
    assert!(
        detail["tags"].is_object() || detail["tags"].is_null(),
        "tags as JSON: {}",
        detail["tags"]
    );

    // Review: one by id with a note, the rest by filter with the count the client saw.
    let (s, one) = a
        .post(
            "/api/v1/review/approve",
            json!({"ids": [first], "note": "checked with the PI"}),
        )
        .await;
    assert_eq!(
        (s, one["acted"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{one}"
    );
    let filter = json!({"period": "2025-01"});
    let (s, stale) = a
        .post(
            "/api/v1/review/approve",
            json!({"filter": filter, "expected_count": flagged}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "the queue shrank by one: {stale}");
    let (s, rest) = a
        .post(
            "/api/v1/review/approve",
            json!({"filter": filter, "expected_count": flagged - 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rest}");
    assert_eq!(
        rest["acted"].as_u64().expect("acted") + rest["skipped"].as_u64().expect("skipped"),
        flagged - 1
    );
    let (_, left) = a.get("/api/v1/review?period=2025-01").await;
    assert_eq!(
        left["total"], rest["skipped"],
        "only skipped charges stay queued"
    );

    let (s, closed) = a.post("/api/v1/periods/2025-01/close", json!({})).await;
    assert_eq!(
        (s, closed["status"].as_str(), closed["changed"].as_bool()),
        (StatusCode::OK, Some("closed"), Some(true)),
        "{closed}"
    );
    // A closed period refuses imports (409) and reopening needs a reason (422).
    let (s, refused) = a
        .import(
            "aws_2025-01.csv",
            &[("source", "AWS"), ("period", "2025-01")],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{refused}");
    let (s, _) = a.post("/api/v1/periods/2025-01/reopen", json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, p) = a.get("/api/v1/periods/2025-01").await;
    assert_eq!(s, StatusCode::OK);
    let history: Vec<&str> = p["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["to"].as_str())
        .collect();
    assert_eq!(history, ["open", "closed"], "{}", p["history"]);
    let (_, periods) = a.get("/api/v1/periods").await;
    assert_eq!(periods["items"][0]["period"], "2025-01");
    // The audit trail names the token's user on the api channel.
    let events = inst
        .store()
        .audit_events(Some("period.closed"), 1)
        .expect("audit");
    assert_eq!(
        (events[0].actor.as_str(), events[0].channel.as_str()),
        ("ada", "api")
    );
}

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
