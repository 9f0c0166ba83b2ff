//! The settings page (SPEC §12.3, §4.5, §7.7, §12.5) and the charts (§12.7) through the router.

mod common;

use axum::http::StatusCode;
use common::Instance;

fn audit_count(inst: &Instance, event: &str) -> i64 {
    let conn = rusqlite::Connection::open(&inst.state.config.database.path).expect("db");
    conn.query_row(
        "SELECT count(*) FROM audit_events WHERE event = ?1",
        [event],
        |r| r.get(0),
    )
    .expect("count")
}

#[tokio::test]
async fn patterns_are_validated_per_line_saved_tested_reevaluated_and_reverted() {
    let inst = Instance::new();
    let admin = inst.add_user("ada", "admin", "Admin-pass-1");
    inst.import_january();
    let sess = inst.session(admin);

    let (s, _, page) = inst.get("/settings", Some(&sess)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("from <strong id=\"flag_patterns-origin\">config file</strong>"),
        "{page}"
    );
    assert!(page.contains("Secure File"));
    assert!(page.contains("IT-CLOUD-AWS"), "known sources shown");
    assert!(page.contains("Schema version"));
    assert!(page.contains("Reset data (dev mode)"));

    // Two bad lines: nothing is saved and both are named with their line numbers.
    let (s, _, page) = inst
        .post(
            "/settings/patterns",
            Some(&sess),
            "flag_patterns=gpu%0A(unclosed%0A%0A%5Bz-a%5D&fund_org_patterns=",
            Some(&sess.csrf),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Line 2: <code>(unclosed</code>"), "{page}");
    assert!(page.contains("Line 4: <code>[z-a]</code>"), "{page}");
    assert_eq!(audit_count(&inst, "settings.updated"), 0);

    // The live test counts what a pattern would flag, with the ingest's rules.
    let (s, _, frag) = inst
        .get("/settings/test-patterns?flag_patterns=TPU%0AAmazon%20EC2%0A(x&fund_org_patterns=%5E%5Cd%7B6%7D-%5Cd%7B4%7D%24&period=2025-01", Some(&sess))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(frag.contains("<code>(x</code> —"), "{frag}");
    assert!(frag.contains("invalid:"), "{frag}");
    assert!(
        frag.contains("would be flagged <code>invalid_fund_org</code>"),
        "{frag}"
    );
    assert!(frag.contains("would flag <strong>"), "{frag}");

    // Unchanged lists are not saved; a changed one becomes a database override.
    let (s, _, _) = inst
        .post(
            "/settings/patterns",
            Some(&sess),
            "flag_patterns=gpu%0ASecure%20File&fund_org_patterns=",
            Some(&sess.csrf),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&inst, "settings.updated"), 0);
    let (s, _, _) = inst
        .post(
            "/settings/patterns",
            Some(&sess),
            "flag_patterns=Secure%20File&fund_org_patterns=",
            Some(&sess.csrf),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&inst, "settings.updated"), 1);
    let (_, _, page) = inst.get("/settings", Some(&sess)).await;
    assert!(page.contains("database override (saved by ada"), "{page}");
    assert!(page.contains("Revert to config file"));

    // Re-evaluation: the dry run changes nothing; applying clears the GPU-only charges.
    let queued = |inst: &Instance| {
        inst.store()
            .review_queue(&ocb_store::ChargeFilter::default(), Some(0))
            .expect("queue")
            .1
    };
    let before = queued(&inst);
    let (s, _, frag) = inst
        .get("/settings/reevaluate?period=2025-01", Some(&sess))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(frag.contains("Dry run — nothing written yet"), "{frag}");
    assert!(frag.contains("id=\"reevaluate-apply\""), "{frag}");
    assert_eq!(queued(&inst), before);
    let (s, _, _) = inst
        .post(
            "/settings/reevaluate",
            Some(&sess),
            "period=2025-01",
            Some(&sess.csrf),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&inst, "flags.reevaluated"), 1);
    assert!(queued(&inst) < before, "GPU-only charges left the queue");

    let (s, _, _) = inst
        .post("/settings/revert", Some(&sess), "", Some(&sess.csrf))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(audit_count(&inst, "settings.reverted"), 1);
    let (_, _, page) = inst.get("/settings", Some(&sess)).await;
    assert!(!page.contains("Revert to config file"));
}

#[tokio::test]
async fn dev_reset_needs_confirmation_and_keeps_users_and_audit() {
    let inst = Instance::new();
    let admin = inst.add_user("ada", "admin", "Admin-pass-1");
    inst.import_january();
    let sess = inst.session(admin);
    let (s, _, _) = inst
        .post("/settings/reset", Some(&sess), "", Some(&sess.csrf))
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        !inst.store().list_periods().expect("periods").is_empty(),
        "unconfirmed: nothing deleted"
    );
    let audit_before = audit_count(&inst, "import.completed");
    let (s, _, _) = inst
        .post(
            "/settings/reset",
            Some(&sess),
            "confirm=yes",
            Some(&sess.csrf),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(inst.store().list_periods().expect("periods").is_empty());
    assert_eq!(audit_count(&inst, "settings.reset"), 1);
    assert_eq!(audit_count(&inst, "import.completed"), audit_before);
    let (s, _, _) = inst.get("/settings", Some(&sess)).await;
    assert_eq!(s, StatusCode::OK, "the admin is still logged in");
}

#[tokio::test]
async fn dashboard_and_people_pages_carry_charts_with_text_alternatives() {
    let inst = Instance::new();
    let viewer = inst.add_user("vera", "viewer", "Viewer-pass-1");
    inst.import_january();
    let sess = inst.session(viewer);
    let (s, _, page) = inst.get("/", Some(&sess)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("<svg class=\"chart\""), "{page}");
    assert!(page.contains("aria-labelledby=\"chart-spend-t chart-spend-d\""));
    assert!(page.contains("List price vs billed (subsidy value)"));
    assert!(page.contains("<summary>Show the figures as a table</summary>"));
    assert!(page.contains("<th scope=\"row\">2025-01</th>"));
    assert!(!page.contains("style="), "no inline styles under the CSP");
    let (_, _, six) = inst.get("/?months=6", Some(&sess)).await;
    assert!(six.contains("<strong aria-current=\"true\">6 months</strong>"));

    let (s, _, pi) = inst
        .get("/pis/zorp.blinkman%40example.edu", Some(&sess))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        pi.contains("Monthly billed cost of zorp.blinkman@example.edu"),
        "{pi}"
    );
    let (s, _, project) = inst.get("/projects/genomics-sequencing", Some(&sess)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        project.contains("Monthly billed cost of project genomics-sequencing"),
        "{project}"
    );
}
