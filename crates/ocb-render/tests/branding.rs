//! Issue 17: `statements.branding` in the default template — logo (an image XObject read from a
//! path outside the templates directory), address, footer and contact text — and no change for
//! data without branding.

mod common;

use common::{have_poppler, text};
use ocb_render::{logo_virtual_path, Renderer};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// A 4×4 PNG in the Python template's heading colour (#2c3e50).
const LOGO_PNG: [u8; 73] = [
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 4, 0, 0, 0, 4, 8, 2, 0,
    0, 0, 38, 147, 9, 41, 0, 0, 0, 16, 73, 68, 65, 84, 120, 156, 99, 208, 177, 11, 128, 35, 6, 226,
    56, 0, 44, 67, 11, 161, 65, 127, 15, 203, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

/// Image XObjects listed by `pdfimages -list` (header lines skipped).
fn image_count(pdf: &[u8]) -> usize {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("s.pdf");
    std::fs::write(&path, pdf).expect("write");
    let out = Command::new("pdfimages")
        .arg("-list")
        .arg(&path)
        .output()
        .expect("pdfimages (poppler-utils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).lines().skip(2).count()
}

fn branded(logo: &Path) -> serde_json::Value {
    let mut data = common::fixture();
    data["branding"] = json!({
        "logo": logo_virtual_path(logo),
        "primary_color": "#2c3e50",
        "organization_address": "Wombat Research Computing\n42 Burrow Lane",
        "footer_text": "Billed monthly to the fund/org on file.",
        "contact_text": "Questions? Call the burrow on 555-0100.",
    });
    data
}

#[test]
fn branding_shows_logo_address_footer_and_contact_text() {
    if !have_poppler() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    // Outside any templates directory: the renderer serves the configured file itself.
    let logo = dir.path().join("brand/Logo.PNG");
    std::fs::create_dir_all(logo.parent().expect("parent")).expect("mkdir");
    std::fs::write(&logo, LOGO_PNG).expect("logo");
    let renderer = Renderer::new(None)
        .and_then(|r| r.with_logo(Some(&logo)))
        .expect("renderer");
    let pdf = renderer.render_pdf(&branded(&logo)).expect("renders");
    let t = text(&pdf);
    for needle in [
        "Wombat Research Computing",
        "42 Burrow Lane",
        "Billed monthly to the fund/org on file.",
        "Questions? Call the burrow on 555-0100.",
        "Research Computing Statement",
    ] {
        assert!(t.contains(needle), "{needle:?} not in:\n{t}");
    }
    assert!(!t.contains("Questions about this statement"), "{t}");
    assert_eq!(image_count(&pdf), 1, "one image XObject for the logo");

    let plain = Renderer::new(None)
        .expect("renderer")
        .render_pdf(&common::fixture())
        .expect("renders");
    assert_eq!(image_count(&plain), 0);
    assert!(text(&plain).contains("Questions about this statement?"));
}

#[test]
fn a_logo_the_renderer_was_not_given_is_a_template_error() {
    let logo = Path::new("/nowhere/logo.png");
    let err = Renderer::new(None)
        .expect("renderer")
        .render_pdf(&branded(logo))
        .expect_err("no logo file");
    assert!(err.to_string().contains("logo"), "{err}");
}
