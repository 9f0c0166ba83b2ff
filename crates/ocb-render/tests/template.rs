//! Templates directory behaviour (SPEC 8.10): override, fallback, errors with file and line,
//! offline packages, files next to the template.

mod common;

use std::path::Path;

use common::{have_poppler, statement, text, Spec};
use ocb_render::{RenderError, Renderer, DEFAULT_STATEMENT_TEMPLATE};

fn templates_dir(template: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if let Some(template) = template {
        std::fs::write(dir.path().join("statement.typ"), template).unwrap();
    }
    dir
}

fn render_error(dir: &Path) -> (RenderError, String) {
    let renderer = Renderer::new(Some(dir)).unwrap();
    let err = renderer
        .render_pdf(&statement(&Spec::default()))
        .unwrap_err();
    let shown = err.to_string();
    (err, shown)
}

#[test]
fn statement_typ_in_the_templates_directory_overrides_the_default() {
    if !have_poppler() {
        return;
    }
    let dir = templates_dir(Some(
        "#let data = json(\"/data.json\")\nCustom statement for #data.pi.email in #data.period_label.\n",
    ));
    let renderer = Renderer::new(Some(dir.path())).unwrap();
    let path = dir.path().join("statement.typ");
    assert_eq!(renderer.template_origin(), path.display().to_string());
    let text = text(&renderer.render_pdf(&statement(&Spec::default())).unwrap());
    assert!(
        text.contains("Custom statement for zorp.blinkman@example.edu in January 2025."),
        "{text}"
    );
    assert!(!text.contains("Research Computing Statement"));
}

#[test]
fn templates_directory_without_statement_typ_falls_back_to_the_embedded_template() {
    if !have_poppler() {
        return;
    }
    let dir = templates_dir(None);
    let renderer = Renderer::new(Some(dir.path())).unwrap();
    assert_eq!(renderer.template_origin(), "embedded statement.typ");
    let text = text(&renderer.render_pdf(&statement(&Spec::default())).unwrap());
    assert!(text.contains("Research Computing Statement"));
    assert!(DEFAULT_STATEMENT_TEMPLATE.contains("json(\"/data.json\")"));
}

#[test]
fn syntax_error_names_the_template_file_and_line() {
    let dir = templates_dir(Some("#let data = json(\"/data.json\")\nHello\n#let = 5\n"));
    let (err, shown) = render_error(dir.path());
    let path = dir.path().join("statement.typ").display().to_string();
    assert!(matches!(err, RenderError::Template(_)), "{err:?}");
    assert!(
        shown.starts_with(&format!(
            "statement template error in {path} at line 3, column "
        )),
        "{shown}"
    );
    assert!(shown.contains("expected pattern"), "{shown}");
}

#[test]
fn unknown_data_field_names_the_line_that_reads_it() {
    let dir = templates_dir(Some("#let data = json(\"/data.json\")\n\n#data.pi.phone\n"));
    let (_, shown) = render_error(dir.path());
    assert!(
        shown.contains("statement.typ at line 3, column "),
        "{shown}"
    );
    assert!(shown.contains("phone"), "{shown}");
}

#[test]
fn data_missing_a_field_the_default_template_needs_is_a_template_error_not_a_panic() {
    let mut data = statement(&Spec::default());
    data.as_object_mut().unwrap().remove("totals");
    let err = Renderer::new(None)
        .unwrap()
        .render_pdf(&data)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("statement template error in embedded statement.typ at line "),
        "{err}"
    );
    assert!(err.contains("totals"), "{err}");
}

#[test]
fn package_imports_are_refused_because_rendering_is_offline() {
    let dir = templates_dir(Some("#import \"@preview/tablex:0.0.8\": tablex\nHello\n"));
    let (_, shown) = render_error(dir.path());
    assert!(shown.contains("at line 1"), "{shown}");
    assert!(shown.contains("statements render offline"), "{shown}");
}

#[test]
fn template_can_read_files_next_to_it_but_not_outside_the_directory() {
    if !have_poppler() {
        return;
    }
    let dir = templates_dir(Some(
        "#let footer = read(\"/footer.txt\")\nFooter: #footer\n",
    ));
    std::fs::write(dir.path().join("footer.txt"), "Billing office, room 101").unwrap();
    let renderer = Renderer::new(Some(dir.path())).unwrap();
    let text = text(&renderer.render_pdf(&statement(&Spec::default())).unwrap());
    assert!(text.contains("Footer: Billing office, room 101"), "{text}");

    let dir = templates_dir(Some("#read(\"../secret.txt\")\n"));
    let (_, shown) = render_error(dir.path());
    assert!(shown.contains("at line 1"), "{shown}");
}

#[test]
fn unreadable_template_is_an_io_error_naming_the_file() {
    let dir = templates_dir(None);
    std::fs::write(dir.path().join("statement.typ"), [0xff, 0xfe, 0x00]).unwrap();
    let err = Renderer::new(Some(dir.path()))
        .err()
        .expect("invalid UTF-8 is refused");
    assert!(err.to_string().contains("statement.typ"), "{err}");
}

#[test]
fn broken_font_in_the_templates_directory_is_named_in_the_error() {
    let dir = templates_dir(Some("Hello\n"));
    std::fs::create_dir(dir.path().join("fonts")).unwrap();
    std::fs::write(dir.path().join("fonts/broken.otf"), b"nope").unwrap();
    let err = Renderer::new(Some(dir.path()))
        .err()
        .expect("broken font refused");
    assert!(err.to_string().contains("broken.otf"), "{err}");
}

#[test]
fn the_minimal_override_in_the_docs_renders() {
    if !have_poppler() {
        return;
    }
    let docs = include_str!("../../../docs/statement-template.md");
    let start = docs.find("```typst\n").expect("docs have a typst example") + "```typst\n".len();
    let example = &docs[start..start + docs[start..].find("```").expect("closing fence")];
    let dir = templates_dir(Some(example));
    let renderer = Renderer::new(Some(dir.path())).unwrap();
    let text = text(&renderer.render_pdf(&common::fixture()).unwrap());
    for expected in [
        "Example University",
        "202501-00042",
        "DRAFT",
        "genomics-sequencing",
        "Amount due",
        "$2,307.75",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

/// The renderer draws the charge rows a template marks (`metadata((ocb-charge-row: i))`, see
/// docs/statement-template.md); a marker for a row it did not work out as a one-line row would
/// leave a blank row, so it is an error instead. A marker for an existing one-line row is drawn.
#[test]
fn a_row_marker_is_drawn_and_one_naming_no_row_is_an_error() {
    let marks = |index: &str| {
        format!(
            "#let data = json(\"/data.json\")\n#set text(font: \"DejaVu Sans\")\nDetails:\n#metadata((ocb-charge-row: {index}))\n"
        )
    };
    let dir = templates_dir(Some(&marks("99")));
    let (err, shown) = render_error(dir.path());
    assert!(matches!(err, RenderError::Pdf(_)), "{err:?}");
    assert!(shown.contains("ocb-charge-row"), "{shown}");
    let dir = templates_dir(Some(&marks("\"x\"")));
    let (_, shown) = render_error(dir.path());
    assert!(shown.contains("names no one-line row"), "{shown}");

    if !have_poppler() {
        return;
    }
    let dir = templates_dir(Some(&marks("0")));
    let renderer = Renderer::new(Some(dir.path())).unwrap();
    let text = text(&renderer.render_pdf(&statement(&Spec::default())).unwrap());
    // Row 0 of the generated statement: its date, resource and amount, on one line.
    let line = text
        .lines()
        .find(|l| l.contains("node-00000"))
        .unwrap_or("");
    assert!(line.contains("2025-01-01"), "{text}");
    assert!(line.contains("$10.00"), "{text}");
}
