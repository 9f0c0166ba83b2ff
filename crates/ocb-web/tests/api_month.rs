//! Acceptance (issue 7, JSON API): the whole 2025-01 month driven with bearer tokens only —
//! period, the five sample imports, review, re-evaluation (dry run, then applied), close,
//! statements generated as a background job (polled), one PDF downloaded and read with
//! pdftotext, every statement sent to a loopback SMTP server this test starts (and one resent),
//! journals in every format (the built-in template included) with the GL balanced (debits = credits = 20,227.00) and its stored
//! copy from the export log, finalize; then the finalized period refuses an import and a review
//! action. Same expected figures as the browser acceptance test (`browser_month.rs`).
//!
//! pdftotext (poppler-utils) is needed for the PDF text: without it that check is skipped,
//! except under `OCB_REQUIRE_SYSTEM_TOOLS=1` (CI), where it fails.

#[path = "common/api.rs"]
mod api_client;
mod common;
#[path = "../../openchargeback/tests/common/smtp_sink.rs"]
mod smtp_sink;
use api_client::{api, token_for, Api};
use axum::http::{header, Method, StatusCode};
use common::*;
use ocb_core::Decimal;
use serde_json::{json, Value};
use smtp_sink::{Mode, Part, SmtpSink};

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

/// Period, imports and review of 2025-01 through the API (admin token `a`).
async fn import_and_review(a: &Api<'_>) {
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
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("decimal string expected: {v}"))
        .parse()
        .expect("decimal")
}

/// Re-evaluation: the dry run reports what the run then does; reviewed charges are left alone.
async fn reevaluate(a: &Api<'_>, viewer: &Api<'_>) {
    let (s, e) = viewer
        .post("/api/v1/reevaluate", json!({"period": "2025-01"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "admin only: {e}");
    let (s, e) = a
        .post("/api/v1/reevaluate", json!({"period": "2025-1"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = a
        .post("/api/v1/reevaluate", json!({"period": "2031-01"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (s, dry) = a
        .post(
            "/api/v1/reevaluate",
            json!({"period": "2025-01", "dry_run": true}),
        )
        .await;
    assert_eq!(
        (s, dry["dry_run"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{dry}"
    );
    let (s, run) = a
        .post("/api/v1/reevaluate", json!({"period": "2025-01"}))
        .await;
    assert_eq!(
        (s, run["dry_run"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{run}"
    );
    assert_eq!(dry["totals"], run["totals"], "the preview is what happens");
    assert_eq!(run["periods"][0]["period"], "2025-01", "{run}");
    // Every flagged charge was reviewed: nothing is re-flagged.
    assert_eq!(run["totals"]["newly_flagged"], 0, "{run}");
    assert!(
        run["totals"]["skipped"].as_u64().expect("skipped") > 0,
        "{run}"
    );
    assert!(
        run["message"]
            .as_str()
            .expect("message")
            .starts_with("Flags re-evaluated in 1 period(s)"),
        "{run}"
    );
}

/// Statements: generation as a job, the list, one PDF; returns (statements, PIs).
async fn statements(a: &Api<'_>, viewer: &Api<'_>) -> (usize, usize) {
    let (s, e) = viewer
        .post("/api/v1/statements/generate", json!({"period": "2025-01"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "reviewer or admin: {e}");
    let (s, e) = a
        .post("/api/v1/statements/generate", json!({"period": "2031-01"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    // A dry run first: a job that writes nothing.
    let (s, started) = a
        .post(
            "/api/v1/statements/generate",
            json!({"period": "2025-01", "dry_run": true, "send": true}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let job = a
        .wait_job(started["job_id"].as_i64().expect("job id"))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let g = &job["result"]["generation"];
    assert_eq!(
        (g["dry_run"].as_bool(), g["kind"].as_str()),
        (Some(true), Some("final")),
        "{job}"
    );
    assert!(
        job["result"]["emails"].is_null(),
        "a dry run sends nothing: {job}"
    );
    let (_, none) = viewer.get("/api/v1/statements?period=2025-01").await;
    assert_eq!(none["total"], 0, "{none}");

    let (s, started) = a
        .post("/api/v1/statements/generate", json!({"period": "2025-01"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let id = started["job_id"].as_i64().expect("job id");
    assert_eq!(started["job_url"], format!("/api/v1/jobs/{id}"));
    let job = a.wait_job(id).await;
    assert_eq!(
        (job["status"].as_str(), job["kind"].as_str()),
        (Some("succeeded"), Some("statements")),
        "{job}"
    );
    let g = &job["result"]["generation"];
    assert_eq!(
        (g["kind"].as_str(), g["total"].as_str()),
        (Some("final"), Some("20227.00")),
        "{job}"
    );
    assert!(g.get("pdf_dir").is_none(), "no server paths: {job}");
    // Another user's job is not visible to a viewer.
    assert_eq!(
        viewer.get(&format!("/api/v1/jobs/{id}")).await.0,
        StatusCode::FORBIDDEN
    );

    let (s, list) = viewer
        .get("/api/v1/statements?period=2025-01&per_page=500")
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items").clone();
    let count = items.len();
    let pis: std::collections::BTreeSet<&str> = items
        .iter()
        .filter_map(|i| i["pi_email"].as_str())
        .collect();
    assert!(
        count > 5 && pis.len() > 1,
        "{count} statements, {} PIs",
        pis.len()
    );
    assert_eq!(
        (
            list["total"].as_u64(),
            list["sent"].as_u64(),
            list["unsent"].as_u64()
        ),
        (Some(count as u64), Some(0), Some(count as u64))
    );
    assert_eq!(list["total_amount"], "20227.00", "{list}");
    assert_eq!(list["statements"], "current", "{list}");
    assert!(
        items
            .iter()
            .all(|i| i["kind"] == "final" && i["state"] == "Final" && i["sent"] == false),
        "{list}"
    );
    assert!(
        items.iter().all(|i| i.get("pdf_path").is_none()),
        "no server paths"
    );
    let sum: Decimal = items.iter().map(|i| dec(&i["total"])).sum();
    assert_eq!(sum, dec(&json!("20227.00")));
    let (s, e) = viewer.get("/api/v1/statements").await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "period is required: {e}"
    );

    // One PDF: an attachment with the file's name, a real PDF whose text is the statement's.
    let first = &items[0];
    let (s, h, pdf) = viewer
        .call_bytes(
            Method::GET,
            first["pdf_url"].as_str().expect("url"),
            None,
            vec![],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(
        h[header::CONTENT_DISPOSITION],
        format!(
            "attachment; filename=\"{}\"",
            first["file_name"].as_str().expect("name")
        )
    );
    assert!(pdf.starts_with(b"%PDF-"));
    if let Some(text) = pdf_text(&pdf) {
        assert!(
            text.contains("Research Computing Statement") && !text.contains("DRAFT"),
            "{text}"
        );
        let project = first["project_id"].as_str().expect("project");
        assert!(text.contains(project), "{project} in\n{text}");
    }
    let (s, e) = viewer.get("/api/v1/statements/999999/pdf").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    (count, pis.len())
}

/// Sending: all unsent to the loopback server, then one PI again.
async fn send(a: &Api<'_>, viewer: &Api<'_>, sink: &SmtpSink, count: usize, pis: usize) {
    let (s, _) = viewer
        .post("/api/v1/statements/send", json!({"period": "2025-01"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, started) = a
        .post("/api/v1/statements/send", json!({"period": "2025-01"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let job = a.wait_job(started["job_id"].as_i64().expect("job")).await;
    assert_eq!(
        (job["status"].as_str(), job["kind"].as_str()),
        (Some("succeeded"), Some("send")),
        "{job}"
    );
    let e = &job["result"]["emails"];
    assert_eq!(
        (e["sent"].as_u64(), e["failed"].as_u64()),
        (Some(pis as u64), Some(0)),
        "{job}"
    );
    let received = sink.received();
    assert_eq!(received.len(), pis);
    let attachments: usize = received
        .iter()
        .map(|m| Part::parse(&m.data).attachments().len())
        .sum();
    assert_eq!(attachments, count, "every statement attached once");
    let (_, list) = viewer.get("/api/v1/statements?period=2025-01").await;
    assert_eq!(
        (list["sent"].as_u64(), list["unsent"].as_u64()),
        (Some(count as u64), Some(0)),
        "{list}"
    );

    // Sending a sent statement's PI without `resend` sends nothing; with it, that PI again.
    let stmt = list["items"][0]["id"].as_i64().expect("id");
    let pi = list["items"][0]["pi_email"]
        .as_str()
        .expect("pi")
        .to_string();
    let (s, started) = a
        .post("/api/v1/statements/send", json!({"statement_id": stmt}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let job = a.wait_job(started["job_id"].as_i64().expect("job")).await;
    assert_eq!(job["result"]["emails"]["sent"], 0, "{job}");
    assert_eq!(sink.received().len(), pis);
    let (s, started) = a
        .post(
            "/api/v1/statements/send",
            json!({"statement_id": stmt, "resend": true}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let job = a.wait_job(started["job_id"].as_i64().expect("job")).await;
    assert_eq!(job["result"]["emails"]["sent"], 1, "{job}");
    let received = sink.received();
    assert_eq!(received.len(), pis + 1);
    assert!(
        received[pis].to.iter().any(|t| t.eq_ignore_ascii_case(&pi)),
        "{:?}",
        received[pis].to
    );
    let (s, e) = a
        .post(
            "/api/v1/statements/send",
            json!({"statement_id": stmt, "period": "2025-02"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = a
        .post("/api/v1/statements/send", json!({"statement_id": 999999}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
}

/// Journals (a viewer may export): every format, the GL balanced, the log and its stored file.
async fn journals(viewer: &Api<'_>) {
    for format in ["default", "standard", "summary", "template"] {
        let (s, h, csv) = viewer
            .post_for_file(
                "/api/v1/journal",
                json!({"period": "2025-01", "format": format}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{format}: {csv}");
        assert!(
            h[header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("text/csv"),
            "{format}"
        );
        assert!(h.get("x-export-id").is_some(), "{format}");
        assert!(csv.lines().count() > 1, "{format}: {csv}");
    }
    let (s, _, e) = viewer
        .post_for_file(
            "/api/v1/journal",
            json!({"period": "2025-01", "format": "xml"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e.contains("unknown journal format 'xml'"), "{e}");

    let (s, h, csv) = viewer
        .post_for_file(
            "/api/v1/journal",
            json!({"period": "2025-01", "format": "gl", "include_flagged": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{csv}");
    let export_id: i64 = h["x-export-id"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("id");
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let (mut dr, mut cr) = (Decimal::ZERO, Decimal::ZERO);
    for rec in rdr.records() {
        let rec = rec.expect("row");
        dr += rec[8].parse::<Decimal>().unwrap_or_default();
        cr += rec[9].parse::<Decimal>().unwrap_or_default();
    }
    let twenty = dec(&json!("20227.00"));
    assert_eq!((dr, cr), (twenty, twenty));

    let (s, log) = viewer.get("/api/v1/journal?period=2025-01&format=gl").await;
    assert_eq!(
        (s, log["total"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{log}"
    );
    let row = &log["items"][0];
    assert_eq!(row["id"], export_id);
    assert_eq!(
        (
            row["debit_total"].as_str(),
            row["credit_total"].as_str(),
            row["channel"].as_str()
        ),
        (Some("20227.00"), Some("20227.00"), Some("api")),
        "{row}"
    );
    assert!(row.get("stored_path").is_none(), "no server paths: {row}");
    let (_, all) = viewer.get("/api/v1/journal?period=2025-01").await;
    assert_eq!(all["total"], 5, "{all}");
    let (s, _, stored) = viewer
        .call(
            Method::GET,
            row["download_url"].as_str().expect("url"),
            None,
            vec![],
        )
        .await;
    assert_eq!((s, stored.as_str()), (StatusCode::OK, csv.as_str()));
    assert_eq!(
        viewer.get("/api/v1/journal/999999/download").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        viewer.get("/api/v1/journal?format=xml").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2025_01_month_through_the_api_with_tokens_only() {
    let sink = SmtpSink::start(Mode::Accept);
    let inst = Instance::with_smtp(&sink.config(0));
    let ada = inst.add_user("ada", "admin", "Admin-pass-1");
    let vera = inst.add_user("vera", "viewer", "Viewer-pass-1");
    let tok = token_from_page(&inst, &inst.session(ada), "name=month&expires_on=").await;
    let (a, viewer) = (
        api(&inst, &tok),
        api(&inst, &token_for(&inst, vera, false, None)),
    );

    import_and_review(&a).await;
    let (_, p) = a.get("/api/v1/periods/2025-01").await;
    assert_eq!(p["billable_total"], "20227.00", "{p}");
    reevaluate(&a, &viewer).await;
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

    let (count, pis) = statements(&a, &viewer).await;
    send(&a, &viewer, &sink, count, pis).await;
    journals(&viewer).await;

    // Finalize; the finalized period refuses an import and a review action.
    let (s, fin) = a.post("/api/v1/periods/2025-01/finalize", json!({})).await;
    assert_eq!(
        (s, fin["status"].as_str()),
        (StatusCode::OK, Some("finalized")),
        "{fin}"
    );
    let (s, refused) = a
        .import(
            "aws_2025-01.csv",
            &[("source", "AWS"), ("period", "2025-01")],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("finalized")),
        "{refused}"
    );
    let (_, charges) = a.get("/api/v1/charges?period=2025-01&per_page=1").await;
    let charge = charges["items"][0]["id"].as_i64().expect("charge");
    let (s, e) = a
        .post(
            "/api/v1/review/reject",
            json!({"ids": [charge], "note": "late"}),
        )
        .await;
    // Per charge, as on the review page: nothing done, the reason given.
    assert_eq!(
        (s, e["acted"].as_u64(), e["skipped"].as_u64()),
        (StatusCode::OK, Some(0), Some(1)),
        "{e}"
    );
    assert_eq!(
        e["outcomes"][0]["message"],
        format!("Charge {charge}: period 2025-01 is finalized"),
        "{e}"
    );
    let (_, c) = a.get(&format!("/api/v1/charges/{charge}")).await;
    assert_ne!(c["status"], "rejected", "{c}");
    let (s, e) = a
        .post("/api/v1/statements/generate", json!({"period": "2025-01"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{e}");
    let job = a.wait_job(e["job_id"].as_i64().expect("job")).await;
    assert_eq!(
        job["status"], "failed",
        "a finalized period is not regenerated: {job}"
    );
    let (_, p) = a.get("/api/v1/periods/2025-01").await;
    let history: Vec<&str> = p["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["to"].as_str())
        .collect();
    assert_eq!(history, ["open", "closed", "finalized"], "{}", p["history"]);
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
