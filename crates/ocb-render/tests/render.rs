//! Real PDFs from the default template, checked through the text (and, for the watermark, the
//! pixels) poppler extracts from them.

mod common;

use common::{have_poppler, page_count, page_text, red_share, statement, text, Spec};
use ocb_render::Renderer;
use serde_json::{json, Value};

fn renderer() -> Renderer {
    Renderer::new(None).expect("embedded template and fonts load")
}

fn render_text(data: &Value) -> String {
    text(&renderer().render_pdf(data).expect("statement renders"))
}

fn assert_contains_all(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }
}

fn assert_contains_none(text: &str, unexpected: &[&str]) {
    for u in unexpected {
        assert!(!text.contains(u), "unexpected {u:?} in:\n{text}");
    }
}

#[test]
fn fixture_statement_shows_every_fact_of_the_documented_example() {
    if !have_poppler() {
        return;
    }
    let pdf = renderer().render_pdf(&common::fixture()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = text(&pdf);
    assert_contains_all(
        &text,
        &[
            "EXAMPLE UNIVERSITY RESEARCH COMPUTING",
            "Research Computing Statement",
            "Draft — figures may change before the period closes",
            "DRAFT",
            "2025-01 (January 2025)",
            "Zorp Blinkman",
            "zorp.blinkman@example.edu",
            "genomics-sequencing",
            "12345-678",
            "202501-00042",
            "2025-02-03",
            "$2,720.00",
            "-$412.25 (15%)",
            "$2,307.75",
            "-100%",
            "Project ending soon: Project ends on 2025-03-31; plan the wind-down.",
            "Amounts are rounded individually; the summary above is authoritative.",
            "Your institutional subsidy of 15% saved you $412.25 this period.",
            "Amount due: $2,307.75",
            "Generated automatically on 2025-02-03 09:15 America/New_York.",
            "Questions about this statement? Contact hpc-billing@example.edu.",
            "Page 1 of 1",
        ],
    );
    assert_eq!(page_count(&pdf), 1);
}

#[test]
fn fixture_service_rows_show_struck_list_discount_and_amount_per_service() {
    if !have_poppler() {
        return;
    }
    let text = render_text(&common::fixture());
    let row = |service: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(service) && l.contains('$'))
            .unwrap_or_else(|| panic!("no {service} row in:\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("Compute"), "Compute $1,777.75 -$270.00 (15%) $1,507.75");
    assert_eq!(row("HPC"), "HPC $142.25 -100% $0.00");
    assert_eq!(row("Storage"), "Storage $800.00 – $800.00");
    assert_eq!(row("Total"), "Total $2,720.00 -$412.25 $2,307.75");
    // A detail row of a 100% subsidised charge, and one without discount and without a date.
    assert!(text
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>()
            == [
                "2025-01-31",
                "Slurm",
                "account",
                "genomics",
                "HPC",
                "$142.25",
                "-$142.25",
                "$0.00"
            ]));
    assert!(text
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>()
            == [
                "N/A",
                "/ifs/genomics/raw",
                "Storage",
                "$400.00",
                "–",
                "$400.00"
            ]));
}

#[test]
fn final_statement_has_neither_draft_label_nor_watermark() {
    if !have_poppler() {
        return;
    }
    let mut data = common::fixture();
    data["is_draft"] = json!(false);
    let pdf = renderer().render_pdf(&data).unwrap();
    assert_contains_none(&text(&pdf), &["DRAFT", "Draft"]);
    assert_eq!(red_share(&pdf, 1), 0.0);
}

#[test]
fn long_statement_paginates_with_the_detail_header_and_draft_marks_on_every_page() {
    if !have_poppler() {
        return;
    }
    let spec = Spec {
        charges: 300,
        draft: true,
        ..Spec::default()
    };
    let pdf = renderer().render_pdf(&statement(&spec)).unwrap();
    let pages = page_count(&pdf);
    assert!(pages >= 2, "300 charges fit on {pages} page");
    for k in 1..=pages {
        let text = page_text(&pdf, k);
        let header = text.lines().find(|l| l.contains("Resource"));
        let header: Vec<&str> = header
            .unwrap_or_else(|| panic!("page {k} has no detail header:\n{text}"))
            .split_whitespace()
            .collect();
        assert_eq!(
            header,
            ["Date", "Resource", "Service", "List", "Discount", "Amount"]
        );
        assert!(
            text.contains(&format!("Page {k} of {pages}")),
            "page {k}:\n{text}"
        );
        assert!(
            text.contains("DRAFT"),
            "page {k} has no DRAFT label:\n{text}"
        );
        assert!(red_share(&pdf, k) > 0.01, "page {k} has no watermark");
    }
    // Every charge is listed exactly once.
    let all = text(&pdf);
    for i in 0..300 {
        assert_eq!(
            all.matches(&format!("node-{i:05} ")).count(),
            1,
            "node-{i:05}"
        );
    }
}

#[test]
fn final_long_statement_has_no_watermark_on_any_page() {
    if !have_poppler() {
        return;
    }
    let pdf = renderer()
        .render_pdf(&statement(&Spec {
            charges: 300,
            ..Spec::default()
        }))
        .unwrap();
    for k in 1..=page_count(&pdf) {
        assert_eq!(red_share(&pdf, k), 0.0, "page {k}");
        assert!(!page_text(&pdf, k).contains("DRAFT"), "page {k}");
    }
}

#[test]
fn statement_without_discount_shows_amounts_only_and_total_amount_due() {
    if !have_poppler() {
        return;
    }
    let data = statement(&Spec {
        discount: false,
        ..Spec::default()
    });
    let text = render_text(&data);
    let total = data["totals"]["amount"]["display"].as_str().unwrap();
    assert_contains_all(&text, &[&format!("Total amount due: {total}")]);
    assert_contains_none(
        &text,
        &["List price", "Discount", "subsidy", "-$", "Amount due:"],
    );
    let header = text.lines().find(|l| l.contains("Resource")).unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["Date", "Resource", "Service", "Amount"]
    );
}

#[test]
fn several_fund_orgs_get_one_table_each_with_subtotals_and_a_grand_total() {
    if !have_poppler() {
        return;
    }
    let data = statement(&Spec {
        fund_groups: 2,
        ..Spec::default()
    });
    let text = render_text(&data);
    assert_contains_all(
        &text,
        &[
            "Fund/Orgs",
            "12345-678, 13456-679",
            "Fund/Org: 12345-678",
            "Fund/Org: 13456-679",
            "Grand total",
        ],
    );
    assert_eq!(text.matches("Subtotal").count(), 2);
    for group in data["fund_groups"].as_array().unwrap() {
        let subtotal = group["subtotal"]["amount"]["display"].as_str().unwrap();
        assert!(text
            .lines()
            .any(|l| l.contains("Subtotal") && l.trim_end().ends_with(subtotal)));
    }
    let grand = data["totals"]["amount"]["display"].as_str().unwrap();
    assert!(text
        .lines()
        .any(|l| l.contains("Grand total") && l.trim_end().ends_with(grand)));
    let header = text.lines().find(|l| l.contains("Resource")).unwrap();
    assert!(header.contains("Fund/Org"), "{header}");
}

#[test]
fn one_fund_org_gets_one_table_with_a_total_row() {
    if !have_poppler() {
        return;
    }
    let text = render_text(&statement(&Spec::default()));
    assert_contains_none(
        &text,
        &["Fund/Org:", "Subtotal", "Grand total", "Fund/Orgs"],
    );
    assert!(text.lines().any(|l| l.trim_start().starts_with("Total ")));
    let header = text.lines().find(|l| l.contains("Resource")).unwrap();
    assert!(!header.contains("Fund/Org"), "{header}");
}

#[test]
fn non_ascii_names_render_as_written() {
    if !have_poppler() {
        return;
    }
    let mut data = statement(&Spec {
        pi_name: Some("Zoë Łukasiewicz-Ångström".into()),
        pi_email: "zoë.l@universität.example".into(),
        project: "проект-δ-ñandú".into(),
        ..Spec::default()
    });
    data["organization_name"] = json!("Université de Montréal");
    data["charges"][0]["resource_label"] = json!("Ω-cluster/节点-1");
    let text = render_text(&data);
    assert_contains_all(
        &text,
        &[
            "Zoë Łukasiewicz-Ångström",
            "zoë.l@universität.example",
            "проект-δ-ñandú",
            "UNIVERSITÉ DE MONTRÉAL",
        ],
    );
    // Glyphs DejaVu Sans lacks (CJK) must not fail the render; the Greek/Cyrillic part is kept.
    assert!(text.contains("Ω-cluster/"), "{text}");
}

#[test]
fn lifecycle_notice_is_shown_for_every_level_and_omitted_when_null() {
    if !have_poppler() {
        return;
    }
    let renderer = renderer();
    for (level, title) in [
        ("info", "Project end date"),
        ("warning", "Project ending soon"),
        ("urgent", "Final month of this project"),
        ("expired", "Project has ended"),
        ("closed", "Project closed"),
    ] {
        let message = format!("Message for level {level}.");
        let mut data = statement(&Spec::default());
        data["lifecycle"] = json!({
            "level": level, "end_date": "2025-01-15", "reconciliation_end": null,
            "days_remaining": 14, "message": message,
        });
        let text = text(&renderer.render_pdf(&data).unwrap());
        assert!(
            text.contains(&format!("{title}: {message}")),
            "{level}:\n{text}"
        );
    }
    let text = text(&renderer.render_pdf(&statement(&Spec::default())).unwrap());
    assert_contains_none(
        &text,
        &["Project end", "Project clos", "Final month", "Project has"],
    );
}

#[test]
fn contact_sentence_is_omitted_without_contact_email() {
    if !have_poppler() {
        return;
    }
    let text = render_text(&statement(&Spec {
        contact_email: None,
        ..Spec::default()
    }));
    assert_contains_all(&text, &["Generated automatically on 2025-02-03 09:15 EST."]);
    assert_contains_none(&text, &["Questions about", "Contact"]);
}

#[test]
fn missing_optional_values_show_n_a() {
    if !have_poppler() {
        return;
    }
    let mut data = statement(&Spec {
        charges: 1,
        pi_name: None,
        ..Spec::default()
    });
    data["fund_orgs"] = json!([]);
    let charge = &mut data["charges"][0];
    charge["date"] = Value::Null;
    charge["service"] = Value::Null;
    charge["resource_label"] = Value::Null;
    charge["resource_name"] = Value::Null;
    charge["resource_id"] = Value::Null;
    let text = render_text(&data);
    let detail = text
        .lines()
        .skip_while(|l| !l.contains("Resource"))
        .nth(1)
        .unwrap();
    assert_eq!(
        detail.split_whitespace().take(3).collect::<Vec<_>>(),
        ["N/A", "N/A", "N/A"]
    );
    let fund = text.lines().find(|l| l.contains("Fund/Org")).unwrap();
    assert!(fund.trim_end().ends_with("N/A"), "{fund}");
    let pi = text
        .lines()
        .find(|l| l.contains("Principal investigator"))
        .unwrap();
    assert!(pi.contains("zorp.blinkman@example.edu"), "{pi}");
}

#[test]
fn paper_size_comes_from_the_data() {
    if !have_poppler() {
        return;
    }
    let renderer = renderer();
    let width = |paper: &'static str| {
        let pdf = renderer
            .render_pdf(&statement(&Spec {
                paper,
                ..Spec::default()
            }))
            .unwrap();
        common::first_page_words(&pdf).0
    };
    assert_eq!(width("us-letter").round(), 612.0);
    assert_eq!(width("a4").round(), 595.0);
}

#[test]
fn parallel_renders_produce_the_same_pdfs_as_sequential_ones() {
    let renderer = renderer();
    let data: Vec<Value> = (0..8)
        .map(|i| {
            statement(&Spec {
                charges: 5 + i * 9,
                draft: i % 2 == 0,
                ..Spec::default()
            })
        })
        .collect();
    let sequential: Vec<Vec<u8>> = data
        .iter()
        .map(|d| renderer.render_pdf(d).unwrap())
        .collect();
    let parallel: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = data
            .iter()
            .map(|d| s.spawn(|| renderer.render_pdf(d).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        sequential == parallel,
        "PDF bytes differ between sequential and parallel renders"
    );
    assert_ne!(sequential[0], sequential[1]);
}
