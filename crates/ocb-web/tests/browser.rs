//! The monthly workflow in a real browser: Debian's chromium driven through chromedriver with
//! fantoccini, against the server listening on loopback. Every page visited is saved as a
//! screenshot under `target/tmp/browser/`.
//!
//! chromedriver is required: without it this test fails with instructions (CI installs it).

#[path = "common/chrome.rs"]
mod chrome;
mod common;
use chrome::{browser, have_browser, shots_dir, start_driver, Run, Served};
use common::*;
use fantoccini::Locator;

impl Run {
    async fn rows(&self, css: &str) -> usize {
        self.c
            .find_all(Locator::Css(css))
            .await
            .expect("rows")
            .len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_workflow_in_chromium() {
    if !have_browser() {
        return;
    }
    let (_driver, port) = start_driver();
    let inst = Instance::new();
    let served = Served::start(inst.state.clone()).await;
    let profile = tempfile::tempdir().expect("profile");
    let shots = shots_dir("browser");
    let c = browser(port, profile.path()).await;
    let mut r = Run {
        c,
        base: format!("http://127.0.0.1:{}", served.port),
        shots,
        n: 0,
    };

    // Log in with the upstream example account (config user, bcrypt cost 12).
    r.visit("/login", "login").await;
    r.fill("#username", "root").await;
    r.fill("#password", "admin123").await;
    r.click("button[type=submit]").await;
    r.wait_for("Recent imports").await;
    r.shot("dashboard-empty").await;

    // Upload the five 2025-01 files through the import modal: preview, then commit.
    r.visit("/imports", "imports-empty").await;
    r.click("#open-import").await;
    let paths: Vec<String> = JAN
        .iter()
        .map(|(f, _)| {
            sample(f)
                .canonicalize()
                .expect("sample")
                .display()
                .to_string()
        })
        .collect();
    r.c.find(Locator::Css("#import-files"))
        .await
        .expect("file input")
        .send_keys(&paths.join("\n"))
        .await
        .expect("files");
    r.wait_for("5 of 5 file(s) can be imported.").await;
    r.shot("import-preview").await;
    let preview = r.text("#import-table").await;
    assert!(
        preview.contains("25 new, 0 updated, 0 unchanged, 0 removed"),
        "{preview}"
    );
    r.click("#import-commit").await;
    r.wait_for("Done. Close this dialog").await;
    r.shot("import-committed").await;
    assert_eq!(r.rows("#import-table tbody tr.committed").await, 5);
    let done = r.text("#import-table").await;
    assert!(
        done.contains("Imported: 25 new") && done.contains("$19,086.75"),
        "{done}"
    );
    r.click("#import-close").await;
    r.wait_for("aws_2025-01.csv").await;
    r.shot("imports-list").await;

    // Dashboard figures for 2025-01.
    r.visit("/", "dashboard-imported").await;
    let pending: usize = r.text("#pending-count").await.parse().expect("count");
    assert!(pending > 0, "the review patterns flag some charges");

    // Find a charge by search.
    r.visit("/charges", "charges").await;
    r.fill("#charge-search", "genomics-compute-02").await;
    r.click("#apply-filters").await;
    r.wait_for("Sum of 1 matching charges").await;
    r.shot("charges-search").await;
    assert!(r
        .text("#charges-table")
        .await
        .contains("genomics-compute-02"));
    r.click("#charges-table tbody a").await;
    r.wait_for("charge-resource").await;
    r.shot("charge-detail").await;
    assert_eq!(r.text("#charge-resource").await, "genomics-compute-02");

    // Review: reject one row in place, restore it from its page, approve one row, then the rest.
    r.visit("/review", "review").await;
    let before = r.rows("#review-table tbody tr").await;
    let first =
        r.c.find(Locator::Css("#review-table tbody tr"))
            .await
            .expect("row")
            .attr("id")
            .await
            .expect("attr")
            .expect("id");
    let id = first.trim_start_matches("row-").to_string();
    r.fill(&format!("#note-{id}"), "not ours").await;
    r.click(&format!("#reject-{id}")).await;
    r.wait_for("Charge rejected").await;
    assert_eq!(r.rows("#review-table tbody tr").await, before - 1);
    r.shot("review-rejected-one").await;
    r.visit(&format!("/charges/{id}"), "charge-rejected").await;
    assert!(r.c.source().await.expect("src").contains("status-rejected"));
    r.click("form[action='/review/restore'] button").await;
    r.wait_for(&format!("Charge {id} restored")).await;
    r.shot("charge-restored").await;
    r.visit("/review", "review-again").await;
    assert_eq!(r.rows("#review-table tbody tr").await, before);
    let second =
        r.c.find(Locator::Css("#review-table tbody tr"))
            .await
            .expect("row")
            .attr("id")
            .await
            .expect("attr")
            .expect("id");
    let id2 = second.trim_start_matches("row-").to_string();
    r.click(&format!("#approve-{id2}")).await;
    r.wait_for("Charge approved").await;
    r.shot("review-approved-one").await;
    r.click("#approve-all-matching").await;
    r.wait_for(&format!("Approved {} charges", before - 1))
        .await;
    r.shot("review-empty").await;
    assert_eq!(r.text("#queue-count").await, "0");
    assert!(r
        .c
        .find(Locator::Css("#all-caught-up"))
        .await
        .expect("banner")
        .is_displayed()
        .await
        .expect("displayed"));
    r.visit("/review/logs", "review-log").await;
    assert!(r.text("main").await.contains("rejected"));

    // Every charge is now billable: the dashboard shows the whole month.
    r.visit("/", "dashboard-reviewed").await;
    assert_eq!(r.text("#billable-total").await, "$20,227.00");
    assert_eq!(r.text("#pending-count").await, "0");

    // Close and reopen the period (admin dialogs).
    r.visit("/periods/2025-01", "period").await;
    r.click("#close-period").await;
    r.click("#confirm-close").await;
    r.wait_for("Period 2025-01 closed").await;
    r.shot("period-closed").await;
    r.click("#reopen-period").await;
    r.fill("#reopen-reason", "late AWS credit").await;
    r.click("#confirm-reopen").await;
    r.wait_for("Period 2025-01 reopened").await;
    r.shot("period-reopened").await;
    assert!(r.text("main").await.contains("late AWS credit"));

    for (path, name) in [
        ("/periods", "periods"),
        ("/sources", "sources"),
        ("/projects", "projects"),
        ("/pis", "pis"),
        ("/imports/1", "import-detail"),
        ("/help/importing", "help"),
    ] {
        r.visit(path, name).await;
        assert!(
            !r.c.source()
                .await
                .expect("src")
                .contains("Internal Server Error"),
            "{path}"
        );
    }

    r.c.close().await.expect("close browser");
    served.stop().await;
}
