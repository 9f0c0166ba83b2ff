//! Statements and email log pages in process (tower `oneshot`) against a real SQLite instance
//! with the 2025-01 samples: generation and sending as background jobs, PDFs checked with
//! pdftotext, dev-mode sending logged and resent.

mod common;
use axum::http::{header, StatusCode};
use common::*;
use std::time::{Duration, Instant};

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

/// Issue 17: a templates directory with the Python `statement.html` (and no `statement.typ`) is
/// mentioned on the statements page, without server paths; without it, nothing is said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_page_mentions_an_unused_statement_html() {
    let inst = Instance::new();
    let s = admin(&inst);
    let (st, _, page) = inst.get("/statements", Some(&s)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(!page.contains("template-notice"), "{page}");
    let templates = inst.dir.path().join("templates");
    std::fs::create_dir_all(&templates).expect("mkdir");
    std::fs::write(templates.join("statement.html"), "<h1>x</h1>").expect("write");
    let (_, _, page) = inst.get("/statements", Some(&s)).await;
    assert!(page.contains("id=\"template-notice\""), "{page}");
    assert!(page.contains("statements.branding"), "{page}");
    assert!(
        !page.contains(&templates.display().to_string()),
        "no server paths"
    );
}
