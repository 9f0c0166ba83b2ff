//! Real PDFs from the default template, checked through the text poppler extracts from them.

mod common;

use common::{have_pdftotext, page_count, text};
use ocb_render::Renderer;

fn renderer() -> Renderer {
    Renderer::new(None).expect("embedded template and fonts load")
}

#[test]
fn fixture_statement_shows_every_fact_of_the_documented_example() {
    if !have_pdftotext() {
        return;
    }
    let pdf = renderer().render_pdf(&common::fixture()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = text(&pdf);
    for expected in [
        "EXAMPLE UNIVERSITY RESEARCH COMPUTING",
        "Research Computing Statement",
        "Draft — figures may change before the period closes",
        "2025-01 (January 2025)",
        "Zorp Blinkman",
        "zorp.blinkman@example.edu",
        "genomics-sequencing",
        "12345-678",
        "2025-01-42",
        "2025-02-03",
        "$2,720.00",
        "-$412.25 (15%)",
        "$2,307.75",
        "-100%",
        "Project ends on 2025-03-31; plan the wind-down.",
        "Amounts are rounded individually; the summary above is authoritative.",
        "Your institutional subsidy of 15% saved you $412.25 this period.",
        "Amount due: $2,307.75",
        "Generated automatically on 2025-02-03 09:15 America/New_York.",
        "Questions about this statement? Contact hpc-billing@example.edu.",
        "Page 1 of 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(page_count(&pdf), 1);
}
