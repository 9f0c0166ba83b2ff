//! Issue 16, item 14: the web UI bugs a billing admin found, each checked in process on the
//! rendered HTML (the browser test `browser_ui.rs` checks the same pages' layout in chromium).

#[path = "common/api.rs"]
mod api_client;
mod common;
use api_client::{api, token_for};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use std::path::PathBuf;

/// A 2025-01 file of a source of its own ("Lab"): one charge without PI or project (flagged
/// `missing_pi_email` and `missing_project_id`) and one fully attributed.
pub fn lab_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("lab_2025-01.csv");
    let csv = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags\n\
        2025-01-01,2025-01-31,2025-01-01,2025-01-31,40.00,40.00,40.00,40.00,lab-1,bench-1,Lab Bench,\"{}\"\n\
        2025-01-01,2025-01-31,2025-01-01,2025-01-31,12.50,12.50,12.50,12.50,lab-2,bench-2,Lab Bench,\"{\"\"pi_email\"\": \"\"zed@example.edu\"\", \"\"project_id\"\": \"\"bench\"\", \"\"fund_org\"\": \"\"NSF-1\"\"}\"\n";
    std::fs::write(&path, csv).expect("write lab file");
    path
}

/// January (samples plus the Lab file) and an admin session.
fn january() -> (Instance, Session) {
    let inst = Instance::new();
    let admin = inst.add_user("ada", "admin", "Admin-pass-1");
    inst.import_january();
    inst.import(&lab_file(inst.dir.path()), "Lab");
    let s = inst.session(admin);
    (inst, s)
}

/// A page's HTML without the `<wbr>` break points of long identifiers (`bench-<wbr>1`).
async fn page(inst: &Instance, s: &Session, path: &str) -> String {
    let (status, _, body) = inst.get(path, Some(s)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body.replace("<wbr>", "")
}

/// The `<option>` texts of the `<select name="{name}">` of a page.
fn options(html: &str, name: &str) -> Vec<String> {
    let start = html
        .find(&format!("<select name=\"{name}\""))
        .unwrap_or_else(|| panic!("no select {name}"));
    let end = start + html[start..].find("</select>").expect("select end");
    html[start..end]
        .split("<option")
        .skip(1)
        .map(|o| {
            let text = &o[o.find('>').expect("option tag") + 1..];
            text.split('<').next().unwrap_or("").trim().to_string()
        })
        .collect()
}

/// A money figure (`$1,234.56`) in cents.
fn cents(text: &str) -> i64 {
    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    let v: i64 = digits.parse().unwrap_or_else(|_| panic!("money {text:?}"));
    if text.trim_start().starts_with('-') {
        -v
    } else {
        v
    }
}

/// The text of the element with `id="{id}"` up to its first child or end tag.
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let from = at + html[at..].find('>').expect("tag end") + 1;
    let text = html[from..].split('<').next().unwrap_or("");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn reason_filter_lists_the_queue_reasons_not_macro_attributes() {
    let (inst, s) = january();
    for path in ["/charges", "/review"] {
        let html = page(&inst, &s, path).await;
        let reasons = options(&html, "reason");
        assert_eq!(reasons[0], "Any", "{path}: {reasons:?}");
        for bad in ["name", "arguments", "caller"] {
            assert!(!reasons.iter().any(|r| r == bad), "{path}: {reasons:?}");
        }
        for want in [
            "missing_pi_email",
            "missing_project_id",
            "pattern_match:gpu",
        ] {
            assert!(
                reasons.iter().any(|r| r == want),
                "{path} lacks {want}: {reasons:?}"
            );
        }
    }
    // Choosing one filters the queue to it.
    let html = page(&inst, &s, "/review?reason=missing_pi_email").await;
    assert!(html.contains("lab-1") || html.contains("bench-1"), "{html}");
    assert!(!html.contains("cascade-node-042"));
}

#[tokio::test]
async fn no_pi_and_no_project_link_to_their_charges() {
    let (inst, s) = january();
    for (list, class, without) in [
        ("/pis", "no-pi", "pi"),
        ("/projects", "no-project", "project"),
    ] {
        let html = page(&inst, &s, list).await;
        let href = format!("/charges?period=2025-01&amp;without={without}");
        assert!(
            html.contains(&format!("<a href=\"{href}\" class=\"{class}\">")),
            "{list}: no link to {href}"
        );
        assert!(!html.contains("href=\"/pis/\""), "{list}: empty PI link");
        assert!(
            !html.contains("href=\"/projects/\""),
            "{list}: empty project link"
        );
        let target = page(&inst, &s, &href.replace("&amp;", "&")).await;
        assert!(target.contains("Sum of 1 matching charges"), "{href}");
        assert!(target.contains("lab-1") || target.contains("bench-1"));
        assert!(
            target.contains(
                "<option value=\"{without}\" selected>"
                    .replace("{without}", without)
                    .as_str()
            ),
            "the filter shows as chosen"
        );
    }
    // The API takes the same filter (one service layer), and refuses a typo.
    let admin = inst
        .store()
        .find_user("ada")
        .expect("user")
        .expect("ada")
        .id;
    let token = token_for(&inst, admin, true, None);
    let (status, body) = api(&inst, &token)
        .get("/api/v1/charges?period=2025-01&without=pi")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 1, "{body}");
    let (status, _) = api(&inst, &token).get("/api/v1/charges?without=pl").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn dashboard_chart_and_billable_card_add_up_to_the_cent() {
    let (inst, s) = january();
    let html = page(&inst, &s, "/").await;
    let billable = cents(&text_of(&html, "billable-total"));
    let sentence = text_of(&html, "billable-vs-chart");
    // "Chart bar for 2025-01: $X = $Y billable + $Z pending review."
    let (bar, rest) = sentence
        .trim_start_matches("Chart bar for 2025-01: ")
        .split_once(" = ")
        .unwrap_or_else(|| panic!("{sentence}"));
    let (b, p) = rest.split_once(" billable + ").expect("parts");
    let pending = cents(p.trim_end_matches(" pending review."));
    assert_eq!(cents(b), billable, "{sentence}");
    assert_eq!(cents(bar), billable + pending, "{sentence}");
    let pending_card = cents(&text_of(&html, "pending-amount"));
    assert_eq!(pending, pending_card);
    // The chart's own table shows the same split for the period.
    let row_start = html
        .find("<th scope=\"row\">2025-01</th>")
        .expect("chart row");
    let row = &html[row_start..row_start + html[row_start..].find("</tr>").expect("row end")];
    let cells: Vec<i64> = row
        .split("<td class=\"num\">")
        .skip(1)
        .map(|c| cents(c.split('<').next().unwrap_or("")))
        .collect();
    let n = cells.len();
    // … sources, Billable, Pending review, Bar total, List price, Subsidy value
    assert_eq!(cells[n - 5], billable);
    assert_eq!(cells[n - 4], pending);
    assert_eq!(cells[n - 3], billable + pending);
    assert!(html.contains("can exceed the Billable total"));
}

#[tokio::test]
async fn chart_heading_counts_periods_in_words() {
    let (inst, s) = january();
    let html = page(&inst, &s, "/").await;
    assert!(html.contains(">Last period</h2>"), "one period");
    assert!(!html.contains("Last 1 periods"));
    inst.import(&sample("hpc_2025-12.csv"), "HPC");
    let html = page(&inst, &s, "/?months=24").await;
    // 2025-01 is still the selected (oldest open) period: the chart ends there.
    assert!(html.contains(">Last period</h2>"));
    let (_, _, _) = inst
        .post(
            "/set-period",
            Some(&s),
            "period=2025-12&next=/",
            Some(&s.csrf),
        )
        .await;
    let html = page(&inst, &s, "/").await;
    assert!(html.contains(">Last 2 periods</h2>"), "two periods");
}

#[tokio::test]
async fn review_badge_counts_every_reviewable_period_and_hides_at_zero() {
    let (inst, s) = january();
    inst.import(&sample("hpc_2025-12.csv"), "HPC");
    inst.import(&sample("aws_2025-12.csv"), "AWS");
    let store = inst.store();
    let count = |p: &str| {
        store
            .review_queue(
                &ocb_store::ChargeFilter {
                    period: Some(p.into()),
                    ..Default::default()
                },
                Some(1),
            )
            .expect("queue")
            .1
    };
    let (jan, dec) = (count("2025-01"), count("2025-12"));
    assert!(jan > 0 && dec > 0, "both periods have a queue");
    let html = page(&inst, &s, "/charges").await;
    let badge = format!(">{}</span>", jan + dec);
    assert!(html.contains("id=\"review-badge\""), "badge shown");
    assert!(html.contains(&badge), "badge counts both periods");
    assert!(
        html.contains(&format!("in 2025-12, {jan} in 2025-01")),
        "the label names the periods"
    );
    // The review page of January points at December's queue.
    let html = page(&inst, &s, "/review").await;
    assert!(html.contains("id=\"review-elsewhere\""));
    assert!(html.contains("href=\"/review?period=2025-12\""));
    // Review everything in both: approve all, then reject what approval skips (the Lab charge
    // without a PI). No badge at all then, not a red "0".
    for p in ["2025-01", "2025-12"] {
        let form = format!("period={p}&expected_count={}&next=/review", count(p));
        let (status, _, _) = inst
            .post("/review/approve-all", Some(&s), &form, Some(&s.csrf))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let left = count(p);
        if left > 0 {
            let form = format!("period={p}&action=reject&expected_count={left}&next=/review");
            let (status, _, _) = inst
                .post("/review/by-filter", Some(&s), &form, Some(&s.csrf))
                .await;
            assert_eq!(status, StatusCode::SEE_OTHER);
        }
        assert_eq!(count(p), 0, "{p} reviewed");
    }
    let html = page(&inst, &s, "/charges").await;
    assert!(!html.contains("id=\"review-badge\""), "no badge at zero");
    assert!(!html.contains("class=\"badge\""));
}

#[tokio::test]
async fn timestamps_are_human_with_the_exact_time_kept() {
    let (inst, s) = january();
    let html = page(&inst, &s, "/imports").await;
    let at = html.find("<time datetime=\"").expect("a <time> element");
    let tag = &html[at..at + html[at..].find("</time>").expect("end")];
    let iso = tag.split('"').nth(1).expect("datetime value").to_string();
    assert!(iso.ends_with('Z') && iso.contains('T'), "{iso}");
    assert!(tag.contains(&format!("title=\"{iso}\"")), "{tag}");
    let shown = &tag[tag.find('>').expect("gt") + 1..];
    assert!(
        shown.ends_with(" UTC") && !shown.contains(&iso[..10]),
        "{shown}"
    );
    assert_eq!(shown, ocb_web_human(&iso));
    // No table cell shows a raw ISO timestamp any more.
    let cells_with_iso = html
        .split("<td>")
        .filter(|c| c.starts_with(&iso[..4]) && c.contains('T'))
        .count();
    assert_eq!(cells_with_iso, 0);
}

/// `8 Jan 2026 12:15 UTC` from `2026-01-08T12:15:02Z`, independently of the server code.
fn ocb_web_human(iso: &str) -> String {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (date, time) = iso.trim_end_matches('Z').split_once('T').expect("T");
    let d: Vec<&str> = date.split('-').collect();
    let m: usize = d[1].parse().expect("month");
    let day: u32 = d[2].parse().expect("day");
    format!("{day} {} {} {} UTC", months[m - 1], d[0], &time[..5])
}

#[tokio::test]
async fn a_refused_row_action_is_a_complete_flash() {
    let (inst, s) = january();
    // Charge 1 (AWS, billable) is not in the queue: the row action is refused.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/review/approve")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, &s.cookie)
        .header("hx-request", "true")
        .header("x-csrf-token", &s.csrf)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("id=1"))
        .expect("request");
    let (status, _, body) = inst.send(req).await;
    assert_eq!(status, StatusCode::OK, "htmx swaps 2xx only: {body}");
    assert!(body.contains("class=\"flash flash-warning\""), "{body}");
    assert!(
        body.contains("<span class=\"flash-level\">Warning:</span>"),
        "{body}"
    );
    assert!(
        body.contains("data-dismiss"),
        "dismissable like every flash: {body}"
    );
    assert!(body.contains("Charge is not in the review queue."));
    // A refusal with an error status (no charge id) is still a visible, complete fragment.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/review/reject")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, &s.cookie)
        .header("hx-request", "true")
        .header("x-csrf-token", &s.csrf)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("note=x"))
        .expect("request");
    let (_, _, body) = inst.send(req).await;
    assert!(
        body.contains("<span class=\"flash-level\">Error:</span>"),
        "{body}"
    );
    assert!(body.contains("A charge id is required."), "{body}");
}

#[tokio::test]
async fn audit_details_are_key_value_lines_escaped() {
    let (inst, s) = january();
    // A note with markup: the audit details carry it; the page must show it as text.
    let form = "period=2025-01&note=%3Cb%3Ebold%3C%2Fb%3E";
    let (status, _, _) = inst
        .post("/periods/2025-01/notes", Some(&s), form, Some(&s.csrf))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let html = page(&inst, &s, "/audit").await;
    assert!(html.contains("<dl class=\"details\">"), "details as a list");
    assert!(html.contains("<dt>filename</dt>"), "import details by key");
    assert!(!html.contains("{&quot;"), "no raw JSON object");
    assert!(!html.contains("<b>bold</b>"), "markup escaped");
    assert!(
        html.contains("&lt;b&gt;bold&lt;&#x2f;b&gt;") || html.contains("&lt;b&gt;bold&lt;/b&gt;")
    );
    // The charge history reads the same way.
    let html = page(&inst, &s, "/charges/1").await;
    assert!(!html.contains("{&quot;"), "charge history without raw JSON");
}

#[tokio::test]
async fn sidebar_lists_imports_once_and_the_address_still_works() {
    let (inst, s) = january();
    let html = page(&inst, &s, "/imports").await;
    let nav = &html[html.find("<nav class=\"sidebar\"").expect("sidebar")..];
    let nav = &nav[..nav.find("</nav>").expect("end")];
    assert_eq!(nav.matches("href=\"/imports\"").count(), 1, "{nav}");
    assert!(!nav.contains("Import log"));
    assert!(
        nav.contains("href=\"/imports\" aria-current=\"page\""),
        "{nav}"
    );
}
