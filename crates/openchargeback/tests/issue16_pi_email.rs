//! Issue 16, item 6: a PI e-mail with markup is flagged `invalid_pi_email` at import, so it is
//! held for review and never billed or put on a statement as a normal charge (SPEC §5.4, §8.2).

mod common;

use common::Instance;

const MARKUP: &str = r#""><svg/onload=alert(4)>@example.edu"#;

/// One CSV line (RFC 4180 quoting of the tags cell).
fn row(resource: &str, cost: &str, pi: &str) -> String {
    let tags =
        serde_json::json!({"pi_email": pi, "project_id": "p1", "fund_org": "F-1"}).to_string();
    format!(
        "2025-01-01,2025-02-01,{cost},{cost},{resource},\"{}\"\n",
        tags.replace('"', "\"\"")
    )
}

#[test]
fn markup_in_a_pi_email_is_flagged_at_import_and_never_billed() {
    let inst = Instance::new();
    let p = inst.path("markup.csv");
    let csv = format!(
        "BillingPeriodStart,BillingPeriodEnd,ListCost,BilledCost,ResourceId,Tags\n{}{}",
        row("r1", "10.00", "good@example.edu"),
        row("r2", "25.00", MARKUP)
    );
    std::fs::write(&p, csv).expect("write");
    let (code, v) = inst.json(&["ingest", p.to_str().expect("utf8"), "-s", "AWS"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["files"][0]["flagged_rows"], 1, "{v}");

    let (_, q) = inst.json(&["review", "list", "--period", "2025-01"]);
    let items = q["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{q}");
    assert_eq!(items[0]["pi_email"], MARKUP, "stored as written: {q}");
    let reasons = items[0].to_string();
    assert!(reasons.contains("invalid_pi_email"), "{q}");

    let (code, g) = inst.json(&["generate", "--period", "2025-01"]);
    assert_eq!(code, 0, "{g}");
    assert_eq!(g["projects"], 1, "only the good PI has a statement: {g}");
    assert_eq!(g["statements"][0]["pi_email"], "good@example.edu", "{g}");
    assert_eq!(g["excluded_count"], 1, "{g}");
    assert_eq!(g["excluded_amount"], "25.00", "{g}");
    assert!(!g.to_string().contains("svg"), "{g}");

    // And it cannot be approved onto a statement without a valid override (SPEC §16 #42).
    let id = items[0]["id"].as_i64().expect("id").to_string();
    let out = inst
        .cmd(&["review", "approve", "--id", &id])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn validate_warns_about_markup_in_a_pi_email() {
    let inst = Instance::new();
    let p = inst.path("markup.csv");
    let csv = format!(
        "BillingPeriodStart,BillingPeriodEnd,ListCost,BilledCost,ResourceId,Tags\n{}",
        row("r2", "25.00", MARKUP)
    );
    std::fs::write(&p, csv).expect("write");
    let (code, v) = inst.json(&["validate", p.to_str().expect("utf8")]);
    assert_eq!(code, 0, "a warning, not a failure: {v}");
    let w4 = v["files"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["id"] == "W4")
        .cloned()
        .expect("W4");
    assert_eq!(
        (w4["status"].as_str(), w4["count"].as_u64()),
        (Some("warn"), Some(1)),
        "{w4}"
    );
}
