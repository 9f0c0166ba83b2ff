//! Acceptance (issue 7): a whole month in a real browser, as a billing admin would do it —
//! import the five 2025-01 files, review, close, generate statements, open a PDF, send all to a
//! loopback SMTP server this test starts, export a GL journal (debits = credits = 20,227.00),
//! finalize; then the finalized period refuses a new import and a review action. Every page is
//! saved as a screenshot under `target/tmp/browser-month/`.
//!
//! Debian's chromium and chromedriver are needed: without them the test is skipped, except under
//! `OCB_REQUIRE_SYSTEM_TOOLS=1` (CI), where it fails.

#[path = "common/chrome.rs"]
mod chrome;
mod common;
#[path = "../../openchargeback/tests/common/smtp_sink.rs"]
mod smtp_sink;
use chrome::{browser, have_browser, shots_dir, start_driver, Run, Served};
use common::*;
use fantoccini::Locator;
use ocb_core::Decimal;
use smtp_sink::{Mode, Part, SmtpSink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

impl Run {
    /// Runs `script` in the page (promises are awaited) and returns its string result.
    async fn js(&self, script: &str) -> String {
        let v = self.c.execute(script, vec![]).await.expect("script");
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    }

    /// Uploads files through the import modal and waits for the preview verdict.
    async fn upload(&self, files: &[PathBuf], verdict: &str) {
        self.click("#open-import").await;
        let paths: Vec<String> = files
            .iter()
            .map(|f| f.canonicalize().expect("sample").display().to_string())
            .collect();
        let input = self
            .c
            .find(Locator::Css("#import-files"))
            .await
            .expect("file input");
        input.send_keys(&paths.join("\n")).await.expect("files");
        self.wait_for(verdict).await;
    }
}

fn db_query<T: rusqlite::types::FromSql>(inst: &Instance, sql: &str) -> T {
    let conn = rusqlite::Connection::open(&inst.state.config.database.path).expect("db");
    conn.query_row(sql, [], |r| r.get(0)).expect("query")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_month_as_a_billing_admin_in_chromium() {
    if !have_browser() {
        return;
    }
    let sink = SmtpSink::start(Mode::Accept);
    let inst = Instance::with_smtp(&sink.config(0));
    let (_driver, port) = start_driver();
    let served = Served::start(inst.state.clone()).await;
    let profile = tempfile::tempdir().expect("profile");
    let shots = shots_dir("browser-month");
    // Dev mode is off (real SMTP), so the session cookie is `Secure`: browsers keep it for
    // http://localhost, a secure context, but not for a bare loopback address.
    let mut r = Run {
        c: browser(port, profile.path()).await,
        base: format!("http://localhost:{}", served.port),
        shots,
        n: 0,
    };

    r.visit("/login", "login").await;
    r.fill("#username", "root").await;
    r.fill("#password", "admin123").await;
    r.click("button[type=submit]").await;
    r.wait_for("Recent imports").await;
    r.shot("dashboard-empty").await;

    // Import the five sample files through the modal.
    r.visit("/imports", "imports-empty").await;
    let files: Vec<PathBuf> = JAN.iter().map(|(f, _)| sample(f)).collect();
    r.upload(&files, "5 of 5 file(s) can be imported.").await;
    r.shot("import-preview").await;
    r.click("#import-commit").await;
    r.wait_for("Done. Close this dialog").await;
    r.shot("import-committed").await;
    r.click("#import-close").await;
    // Closing the modal after a commit reloads the page: wait for the reloaded import log
    // (links to the imports), so the next navigation does not race the reload.
    r.wait_for("href=\"/imports/5\"").await;
    r.shot("imports").await;

    // Review: approve everything the patterns flagged.
    r.visit("/review", "review").await;
    let pending: usize = r.text("#queue-count").await.parse().expect("count");
    assert!(pending > 0);
    r.click("#approve-all-matching").await;
    r.wait_for(&format!("Approved {pending} charges")).await;
    r.shot("review-done").await;
    r.visit("/", "dashboard-reviewed").await;
    assert_eq!(r.text("#billable-total").await, "$20,227.00");

    // Close the period.
    r.visit("/periods/2025-01", "period-open").await;
    r.click("#close-period").await;
    r.click("#confirm-close").await;
    r.wait_for("Period 2025-01 closed").await;
    r.shot("period-closed").await;

    // Generate final statements as a background job; the page follows its progress.
    r.visit("/statements/generate?period=2025-01", "generate-form")
        .await;
    r.click("#generate").await;
    r.wait_for("final statements for 2025-01").await;
    r.shot("statements-generated").await;
    let count: i64 = db_query(
        &inst,
        "SELECT count(*) FROM statements WHERE kind = 'final'",
    );
    let pis: i64 = db_query(&inst, "SELECT count(DISTINCT pi_email) FROM statements");
    assert!(count > 5 && pis > 1, "{count} statements, {pis} PIs");
    assert_eq!(r.text("#sent-count").await, format!("0 of {count} sent"));

    // Open one PDF: the browser receives an inline PDF, and its text is the statement's.
    let (id, pdf): (i64, String) = (
        db_query(&inst, "SELECT min(id) FROM statements"),
        db_query(&inst, "SELECT pdf_path FROM statements ORDER BY id LIMIT 1"),
    );
    let seen = r
        .js(&format!(
            "return fetch('/statements/{id}/preview').then(async r => r.headers.get('content-type') + '|' \
             + r.headers.get('content-disposition') + '|' + new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5)))"
        ))
        .await;
    let name = Path::new(&pdf)
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        seen,
        format!("application/pdf|inline; filename=\"{name}\"|%PDF-")
    );
    r.visit(&format!("/statements/{id}/preview"), "statement-pdf")
        .await;
    // Headless chromium paints its PDF viewer blank in screenshots: page 1 rendered by poppler
    // stands in for the picture.
    r.n += 1;
    let page1 = r.shots.join(format!("{:02}-statement-pdf-page1", r.n));
    let drawn = Command::new("pdftoppm")
        .args([
            "-png",
            "-r",
            "70",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            pdf.as_str(),
        ])
        .arg(&page1)
        .status()
        .expect("pdftoppm");
    assert!(drawn.success());
    let text = Command::new("pdftotext")
        .args([pdf.as_str(), "-"])
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Research Computing Statement") && !text.contains("DRAFT"),
        "{text}"
    );

    // Send all to the loopback SMTP server.
    r.visit("/statements?period=2025-01", "statements").await;
    r.click("#send-unsent").await;
    r.wait_for(&format!(
        "Emails for 2025-01: {pis} sent, 0 failed, 0 skipped"
    ))
    .await;
    r.shot("statements-sent").await;
    assert_eq!(
        r.text("#sent-count").await,
        format!("{count} of {count} sent")
    );
    let received = sink.received();
    assert_eq!(received.len() as i64, pis);
    let attachments: usize = received
        .iter()
        .map(|m| Part::parse(&m.data).attachments().len())
        .sum();
    assert_eq!(attachments as i64, count, "every statement attached once");
    r.visit("/emails?period=2025-01", "email-log").await;
    assert_eq!(
        r.c.find_all(Locator::Css("#email-log tbody tr"))
            .await
            .expect("rows")
            .len() as i64,
        pis
    );

    // Export the GL journal: the browser downloads it; the log and the stored file balance.
    r.visit("/journal?period=2025-01", "journal").await;
    r.click("#format-gl").await;
    r.click("#export-journal").await;
    let start = Instant::now();
    while db_query::<i64>(&inst, "SELECT count(*) FROM journal_exports") == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no export recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    r.visit("/journal/logs?period=2025-01&format=gl", "export-log")
        .await;
    let row = r.text("#export-log tbody tr").await;
    // Total, debits and credits.
    assert_eq!(row.matches("$20,227.00").count(), 3, "{row}");
    let stored: String = db_query(&inst, "SELECT stored_path FROM journal_exports");
    let csv = std::fs::read_to_string(stored).expect("journal file");
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let (mut dr, mut cr) = (Decimal::ZERO, Decimal::ZERO);
    for rec in rdr.records() {
        let rec = rec.expect("row");
        dr += rec[8].parse::<Decimal>().unwrap_or_default();
        cr += rec[9].parse::<Decimal>().unwrap_or_default();
    }
    let twenty: Decimal = "20227.00".parse().expect("dec");
    assert_eq!((dr, cr), (twenty, twenty));

    // Finalize.
    r.visit("/periods/2025-01", "period-closed-detail").await;
    r.click("#finalize-period").await;
    r.click("#finalize-dialog input[name=confirm]").await;
    r.click("#finalize-dialog button[type=submit]").await;
    r.wait_for("Period 2025-01 finalized").await;
    r.shot("period-finalized").await;

    // The finalized period refuses a new import …
    r.visit("/imports", "imports-finalized").await;
    r.upload(
        &[sample("aws_2025-01.csv")],
        "0 of 1 file(s) can be imported.",
    )
    .await;
    r.shot("import-refused").await;
    let verdict = r.text("#import-table").await;
    assert!(verdict.contains("finalized"), "{verdict}");
    // … and a review action (the reviewer's reject, as the charge page would post it).
    let charge: i64 = db_query(&inst, "SELECT min(id) FROM charges");
    r.visit(&format!("/charges/{charge}"), "charge-finalized")
        .await;
    let answer = r
        .js(&format!(
            "const t = document.querySelector('meta[name=csrf-token]').content; \
             return fetch('/review/reject', {{method: 'POST', headers: {{'Content-Type': 'application/x-www-form-urlencoded', 'X-CSRF-Token': t}}, \
             body: 'id={charge}&note=late'}}).then(r => r.text())"
        ))
        .await;
    assert!(answer.contains("period 2025-01 is finalized"), "{answer}");
    let state: String = db_query(
        &inst,
        &format!("SELECT review_state FROM charges WHERE id = {charge}"),
    );
    assert_ne!(state, "rejected");
    r.visit("/review?period=2025-01", "review-finalized").await;
    r.visit("/audit?period=2025-01", "audit").await;
    assert!(r.text("#audit-log").await.contains("period.finalized"));

    r.c.close().await.expect("close browser");
    served.stop().await;
}
