//! Layout checks on word bounding boxes (`pdftotext -bbox`): fields never overlap and long values
//! wrap inside the page instead of running over their neighbours (the Python version printed the
//! PI e-mail and the project on top of each other).

mod common;

use common::{first_page_words, have_poppler, statement, Spec, Word};
use ocb_render::Renderer;

/// The run of consecutive words whose concatenation is exactly `value` (a wrapped value is split
/// into one word per line).
fn words_of<'a>(words: &'a [Word], value: &str) -> &'a [Word] {
    for start in 0..words.len() {
        let mut joined = String::new();
        for end in start..words.len() {
            joined.push_str(&words[end].text);
            if joined == value {
                return &words[start..=end];
            }
            if !value.starts_with(&joined) {
                break;
            }
        }
    }
    panic!(
        "{value:?} not found intact in {:?}",
        words.iter().map(|w| &w.text).collect::<Vec<_>>()
    );
}

fn check_no_overlap(pi_email: &str, project: &str) {
    let renderer = Renderer::new(None).unwrap();
    let spec = Spec {
        pi_email: pi_email.into(),
        project: project.into(),
        fund_groups: 2,
        ..Spec::default()
    };
    let pdf = renderer.render_pdf(&statement(&spec)).unwrap();
    let (page_width, words) = first_page_words(&pdf);

    let email = words_of(&words, pi_email);
    let project_words = words_of(&words, project);
    assert!(
        email.len() >= 2,
        "a long e-mail wraps onto several lines: {email:?}"
    );
    assert!(
        project_words.len() >= 2,
        "a long project id wraps: {project_words:?}"
    );
    for e in email {
        for p in project_words {
            assert!(!e.intersects(p), "e-mail {e:?} overlaps project {p:?}");
        }
    }
    // The project starts below the last line of the e-mail (facts are stacked rows).
    let email_bottom = email.iter().map(|w| w.y_max).fold(f64::MIN, f64::max);
    let project_top = project_words
        .iter()
        .map(|w| w.y_min)
        .fold(f64::MAX, f64::min);
    assert!(
        project_top >= email_bottom,
        "project at {project_top} above e-mail end {email_bottom}"
    );

    // No two words anywhere on the page overlap, and nothing runs into the right margin.
    for (i, a) in words.iter().enumerate() {
        assert!(
            a.x_max <= page_width - 36.0,
            "{a:?} runs past the margin (page {page_width})"
        );
        for b in &words[i + 1..] {
            assert!(!a.overlaps_by(b, 0.5), "{a:?} overlaps {b:?}");
        }
    }
}

#[test]
fn long_email_and_project_wrap_without_overlapping() {
    if !have_poppler() {
        return;
    }
    check_no_overlap(
        "maximiliana.very-long-surname.department-of-computational-genomics@medicine.example-university.edu",
        "project-with-an-exceptionally-long-identifier-for-multi-institution-genomics-consortium-2025",
    );
}

#[test]
fn values_without_any_separator_still_wrap() {
    if !have_poppler() {
        return;
    }
    check_no_overlap(
        &format!("{}@example.edu", "x".repeat(90)),
        &"GENOMICSSEQUENCINGCONSORTIUM".repeat(4),
    );
}

#[test]
fn short_values_stay_on_one_line() {
    if !have_poppler() {
        return;
    }
    let pdf = Renderer::new(None)
        .unwrap()
        .render_pdf(&statement(&Spec::default()))
        .unwrap();
    let (_, words) = first_page_words(&pdf);
    assert_eq!(words_of(&words, "zorp.blinkman@example.edu").len(), 1);
    assert_eq!(words_of(&words, "genomics-sequencing").len(), 1);
}
