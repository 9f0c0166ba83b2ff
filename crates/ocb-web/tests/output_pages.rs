//! Statements, journal export, email log and audit pages in process (tower `oneshot`) against a
//! real SQLite instance with the 2025-01 samples: generation and sending as background jobs,
//! PDFs checked with pdftotext, journals checked by summing the downloaded file.

mod common;
use axum::http::{header, StatusCode};
use common::*;
use ocb_core::Decimal;
use std::time::{Duration, Instant};

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

/// The job id of a redirect to `…&job=N`.
fn job_of(h: &axum::http::HeaderMap) -> i64 {
    let loc = h
        .get(header::LOCATION)
        .expect("location")
        .to_str()
        .expect("ascii");
    loc.rsplit("job=")
        .next()
        .expect("job")
        .parse()
        .unwrap_or_else(|_| panic!("{loc}"))
}

/// Waits for a job to end; returns its record.
async fn finished(inst: &Instance, job: i64) -> ocb_store::JobRecord {
    let start = Instant::now();
    loop {
        let rec = inst.store().get_job(job).expect("job").expect("exists");
        if rec.status != "running" {
            return rec;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "job {job} still running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(inst: &Instance, sql: &str) -> i64 {
    rusqlite::Connection::open(&inst.state.config.database.path)
        .expect("db")
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

/// The text of a PDF (pdftotext), or `None` when poppler is missing outside CI.
fn pdf_text(bytes: &[u8]) -> Option<String> {
    use std::io::Write;
    let required = std::env::var_os("OCB_REQUIRE_SYSTEM_TOOLS").is_some_and(|v| v == "1");
    let child = std::process::Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(!required, "pdftotext (poppler-utils) is required");
        eprintln!("SKIPPED PDF text check: pdftotext not installed");
        return None;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write pdf");
    let out = child.wait_with_output().expect("pdftotext");
    assert!(out.status.success(), "pdftotext failed");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_are_generated_previewed_downloaded_and_sent_as_jobs() {
    let inst = Instance::new();
    inst.import_january();
    let s = admin(&inst);
    // The form warns about the open period and the flagged charges.
    let (st, _, form) = inst
        .get("/statements/generate?period=2025-01", Some(&s))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        form.contains("is open: the statements will be drafts"),
        "{form}"
    );
    assert!(form.contains("flagged charges ("), "{form}");
    // A running statement job of the period refuses a second one, naming who started it.
    let busy = inst
        .store()
        .claim_job("statements", "2025-01", "alice", "Generate statements")
        .expect("claim")
        .expect("free");
    let (st, h, _) = inst
        .post(
            "/statements/generate",
            Some(&s),
            "period=2025-01",
            Some(&s.csrf),
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert!(h[header::LOCATION]
        .to_str()
        .expect("ascii")
        .starts_with("/statements/generate"));
    let (_, _, page) = inst.get("/statements", Some(&s)).await;
    assert!(
        page.contains("A statement run for 2025-01 is already in progress (started ")
            && page.contains(" by alice)"),
        "{page}"
    );
    inst.store()
        .finish_job(busy, true, None, None)
        .expect("finish");

    // Generate (drafts: the period is open); the page follows the job, then shows the result.
    let (st, h, _) = inst
        .post(
            "/statements/generate",
            Some(&s),
            "period=2025-01",
            Some(&s.csrf),
        )
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let job = finished(&inst, job_of(&h)).await;
    assert_eq!(job.status, "succeeded", "{:?}", job.error);
    let n = count(
        &inst,
        "SELECT count(*) FROM statements WHERE period = '2025-01' AND kind = 'draft'",
    );
    assert!(n > 5, "{n} statements");
    let (_, _, page) = inst.get("/statements?period=2025-01", Some(&s)).await;
    assert!(
        page.contains(&format!("Generated {n} draft statements for 2025-01")),
        "{page}"
    );
    assert!(page.contains(&format!("0 of {n} sent")), "{page}");
    assert_eq!(page.matches(">Draft</span>").count() as i64, n);
    let (_, _, job_json) = inst.get(&format!("/jobs/{}", job.id), Some(&s)).await;
    assert!(job_json.contains("\"succeeded\""), "{job_json}");

    // Preview inline and download as attachment; the PDF names its PI.
    let (id, pi, path): (i64, String, String) =
        rusqlite::Connection::open(&inst.state.config.database.path)
            .expect("db")
            .query_row(
                "SELECT id, pi_email, pdf_path FROM statements ORDER BY id LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .expect("statement");
    let name = std::path::Path::new(&path)
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    for (suffix, disposition) in [("preview", "inline"), ("download", "attachment")] {
        let resp = inst.app.clone();
        let req = axum::http::Request::builder()
            .uri(format!("/statements/{id}/{suffix}"))
            .header(header::HOST, "localhost")
            .header(header::COOKIE, &s.cookie)
            .body(axum::body::Body::empty())
            .expect("request");
        let r = tower::ServiceExt::oneshot(resp, req)
            .await
            .expect("response");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(
            r.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .expect("ascii"),
            format!("{disposition}; filename=\"{name}\"")
        );
        let bytes = axum::body::to_bytes(r.into_body(), 64 << 20)
            .await
            .expect("body");
        assert!(bytes.starts_with(b"%PDF"));
        if let Some(text) = pdf_text(&bytes) {
            assert!(text.contains(&pi) && text.contains("DRAFT"), "{text}");
        }
    }
    // A missing file is a flash error on the statements page, never a broken response.
    std::fs::rename(&path, format!("{path}.moved")).expect("move pdf");
    let (st, h, _) = inst
        .get(&format!("/statements/{id}/preview"), Some(&s))
        .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h[header::LOCATION], "/statements?period=2025-01");
    let (_, _, page) = inst.get("/statements?period=2025-01", Some(&s)).await;
    assert!(
        page.contains(&format!("The PDF of statement {id} ({pi}")),
        "{page}"
    );
    std::fs::rename(format!("{path}.moved"), &path).expect("restore pdf");

    // Send all unsent (dev mode: files), then everything shows as sent and is logged.
    let (_, h, _) = inst
        .post(
            "/statements/send-unsent",
            Some(&s),
            "period=2025-01",
            Some(&s.csrf),
        )
        .await;
    let job = finished(&inst, job_of(&h)).await;
    assert_eq!(job.status, "succeeded", "{:?}", job.error);
    let pis = count(&inst, "SELECT count(DISTINCT pi_email) FROM statements");
    assert_eq!(
        count(
            &inst,
            "SELECT count(*) FROM email_log WHERE status = 'dev_mode'"
        ),
        pis
    );
    let (_, _, page) = inst.get("/statements?period=2025-01", Some(&s)).await;
    assert!(page.contains(&format!("{n} of {n} sent")), "{page}");
    assert!(
        page.contains(&format!(
            "Emails for 2025-01: {pis} sent, 0 failed, 0 skipped"
        )),
        "{page}"
    );

    // Resend one statement's PI, the PI route and an email log row: one new log row each.
    let (_, h, _) = inst
        .post(
            &format!("/statements/{id}/resend"),
            Some(&s),
            "",
            Some(&s.csrf),
        )
        .await;
    assert_eq!(finished(&inst, job_of(&h)).await.status, "succeeded");
    let (_, h, _) = inst
        .post(
            &format!("/pis/{}/resend", pi.replace('@', "%40")),
            Some(&s),
            "period=2025-01",
            Some(&s.csrf),
        )
        .await;
    assert_eq!(finished(&inst, job_of(&h)).await.status, "succeeded");
    let (_, _, log) = inst
        .get(
            &format!("/emails?recipient={}", pi.replace('@', "%40")),
            Some(&s),
        )
        .await;
    assert_eq!(log.matches("/resend\"").count(), 3, "{log}");
    let (_, h, _) = inst
        .post("/emails/1/resend", Some(&s), "", Some(&s.csrf))
        .await;
    assert!(h[header::LOCATION]
        .to_str()
        .expect("ascii")
        .starts_with("/emails?period=2025-01&job="));
    assert_eq!(finished(&inst, job_of(&h)).await.status, "succeeded");
    assert_eq!(count(&inst, "SELECT count(*) FROM email_log"), pis + 3);
    let (_, _, filtered) = inst.get("/emails?status=error", Some(&s)).await;
    assert!(filtered.contains("No emails yet."), "{filtered}");
    // Unknown ids come back as flash errors.
    let (st, h, _) = inst
        .post("/statements/99999/send", Some(&s), "", Some(&s.csrf))
        .await;
    assert_eq!(
        (st, h[header::LOCATION].to_str().expect("ascii")),
        (StatusCode::SEE_OTHER, "/statements")
    );
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
