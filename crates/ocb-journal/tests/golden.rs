//! The template engine renders a Python-era template byte-identically to Jinja2 (issue 4).
//!
//! `golden/compat_journal.expected.csv` was produced by real Python Jinja2 3.1.6 with
//! `golden/render_with_jinja2.py` from `golden/compat_context.json`. To regenerate: run this test
//! with `UPDATE_GOLDEN=1` (rewrites the context JSON), then the script, and review the diff.

mod fixtures;

use ocb_journal::build_gl;
use ocb_journal::template::{
    render_with_context, template_context, TemplateExtras, TemplateSource,
};
use std::path::PathBuf;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

#[test]
fn python_era_template_renders_like_jinja2() {
    let config = fixtures::config();
    let lines = fixtures::sample_lines(&config);
    let gl = build_gl(&lines, "2025-01", &config).expect("balanced");
    let extras = TemplateExtras {
        period: "2025-01".into(),
        generated_at: "2025-02-03 04:05:06".into(),
        export_id: "00000000-0000-0000-0000-000000000000".into(),
        format: "template".into(),
        include_flagged: false,
    };
    let ctx = template_context(&gl, &extras, minijinja::Value::from(()), "$");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let json = serde_json::to_string_pretty(&ctx).expect("context serialises");
        std::fs::write(golden("compat_context.json"), json + "\n").expect("write context");
    }
    let src = TemplateSource {
        name: "compat_journal.csv".into(),
        text: std::fs::read_to_string(golden("compat_journal.csv")).expect("template"),
        path: None,
    };
    let rendered =
        render_with_context(&src, ctx, config.rounding, &config.currency).expect("renders");
    let expected = std::fs::read_to_string(golden("compat_journal.expected.csv"))
        .expect("golden file (run render_with_jinja2.py)");
    assert_eq!(rendered, expected, "minijinja output differs from Jinja2's");
}
