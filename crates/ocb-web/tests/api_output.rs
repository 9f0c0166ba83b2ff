//! The JSON API's output endpoints at their edges (SPEC §12.10): a busy statement run (409 with
//! who started it), journal warnings and flagged charges, a statement PDF missing on disk, a
//! stored journal file changed after its export, and malformed bodies.

#[path = "common/api.rs"]
mod api_client;
mod common;
use api_client::{api, token_for};
use axum::http::StatusCode;
use common::*;
use ocb_core::Decimal;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_runs_warnings_and_missing_files_answer_clearly() {
    let inst = Instance::new();
    inst.import_january();
    let rex = inst.add_user("rex", "reviewer", "Reviewer-pass-1");
    let r = api(&inst, &token_for(&inst, rex, false, None));

    // A statement run already going for the period (claimed by alice): refused, named.
    let running = inst
        .store()
        .claim_job("statements", "2025-01", "alice", "Generate statements")
        .expect("claim")
        .expect("free");
    let (s, e) = r
        .post("/api/v1/statements/generate", json!({"period": "2025-01"}))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{e}"
    );
    let msg = e["error"]["message"].as_str().expect("message");
    assert!(
        msg.starts_with("A statement run for 2025-01 is already in progress (started ")
            && msg.ends_with(" by alice)"),
        "{msg}"
    );
    // Sending is another kind of job: not blocked by the statement run.
    let (s, started) = r
        .post(
            "/api/v1/statements/send",
            json!({"period": "2025-01", "dry_run": true}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let job = r.wait_job(started["job_id"].as_i64().expect("job")).await;
    assert_eq!(job["label"], "Send unsent statements (dry run)", "{job}");
    inst.store()
        .finish_job(running, true, None, None)
        .expect("finish");

    // Drafts of the open period.
    let (s, started) = r
        .post("/api/v1/statements/generate", json!({"period": "2025-01"}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let job = r.wait_job(started["job_id"].as_i64().expect("job")).await;
    assert_eq!(job["result"]["generation"]["kind"], "draft", "{job}");
    let (_, list) = r.get("/api/v1/statements?period=2025-01").await;
    assert!(
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["state"] == "Draft"),
        "{list}"
    );
    assert_eq!(list["period_status"], "open");

    // A PDF removed from disk: 404 saying so, not a broken response.
    let first = list["items"][0].clone();
    let pdf_path: String = rusqlite::Connection::open(&inst.state.config.database.path)
        .expect("db")
        .query_row(
            "SELECT pdf_path FROM statements WHERE id = ?1",
            [first["id"].as_i64()],
            |row| row.get(0),
        )
        .expect("path");
    std::fs::remove_file(&pdf_path).expect("remove pdf");
    let (s, e) = r.get(first["pdf_url"].as_str().expect("url")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("is missing on the server")),
        "{e}"
    );

    // Journal of an open period: warned in the headers. Without the flagged charges it holds
    // the billable ones only; with them, all 59 charges of the month (20,227.00).
    let (_, queue) = r.get("/api/v1/review?period=2025-01&per_page=500").await;
    let flagged: Decimal = queue["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| {
            c["billed_cost"]
                .as_str()
                .expect("amount")
                .parse::<Decimal>()
                .expect("dec")
        })
        .sum();
    assert!(flagged > Decimal::ZERO);
    let month: Decimal = "20227.00".parse().expect("dec");
    for (include, total) in [(false, month - flagged), (true, month)] {
        let (s, h, csv) = r
            .post_for_file(
                "/api/v1/journal",
                json!({"period": "2025-01", "format": "standard", "include_flagged": include}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{csv}");
        let warnings: Vec<&str> = h
            .get_all("x-export-warning")
            .iter()
            .map(|v| v.to_str().expect("ascii"))
            .collect();
        assert!(
            warnings.contains(&"period is open; figures may change"),
            "{warnings:?}"
        );
        let id = h["x-export-id"].to_str().expect("ascii").to_string();
        let (_, log) = r.get("/api/v1/journal?period=2025-01").await;
        let row = &log["items"][0];
        assert_eq!(
            (row["id"].to_string(), row["include_flagged"].as_bool()),
            (id, Some(include)),
            "{row}"
        );
        let logged: Decimal = row["total"].as_str().expect("total").parse().expect("dec");
        assert_eq!(logged, total, "{row}");
    }
    let (_, log) = r.get("/api/v1/journal?period=2025-01").await;
    let row = &log["items"][0];
    let (_, _, csv) = r
        .call(
            axum::http::Method::GET,
            row["download_url"].as_str().expect("url"),
            None,
            vec![],
        )
        .await;

    // The stored copy edited after the export is not served.
    let stored: String = rusqlite::Connection::open(&inst.state.config.database.path)
        .expect("db")
        .query_row(
            "SELECT stored_path FROM journal_exports WHERE id = ?1",
            [row["id"].as_i64()],
            |r| r.get(0),
        )
        .expect("stored");
    std::fs::write(&stored, format!("{csv}tampered\n")).expect("edit");
    let (s, e) = r.get(row["download_url"].as_str().expect("url")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");

    // Malformed and contradictory bodies.
    let (s, e) = r
        .post(
            "/api/v1/statements/generate",
            json!({"period": "2025-01", "sendd": true}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {e}"
    );
    let (s, e) = r
        .post(
            "/api/v1/statements/send",
            json!({"statement_id": first["id"], "pi": "x@example.edu"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = r.post("/api/v1/statements/send", json!({})).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "period is required: {e}"
    );
    let (s, e) = r.post("/api/v1/journal", json!({"format": "gl"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = r
        .post("/api/v1/journal", json!({"period": "2031-01"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
}
