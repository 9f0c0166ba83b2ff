//! Layout checks on word bounding boxes (`pdftotext -bbox`): fields never overlap and long values
//! wrap inside the page instead of running over their neighbours (the Python version printed the
//! PI e-mail and the project on top of each other).

mod common;

use common::{all_page_words, first_page_words, have_poppler, statement, Spec, Word};
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

/// Who works out the charge-details table: the renderer (`charge_table`, added to the data) or
/// the template itself (`charge_table` null, as for data without the field).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Path {
    Renderer,
    Template,
}

fn with_path(mut data: serde_json::Value, path: Path) -> serde_json::Value {
    if path == Path::Template {
        data[ocb_render::CHARGE_TABLE] = serde_json::Value::Null;
    }
    data
}

/// Both papers, with and without the fund/org column, both ways of working out the table.
fn cases() -> Vec<(&'static str, usize, Path)> {
    let mut cases = Vec::new();
    for paper in ["us-letter", "a4"] {
        for fund_groups in [1, 2] {
            for path in [Path::Renderer, Path::Template] {
                cases.push((paper, fund_groups, path));
            }
        }
    }
    cases
}

/// Charge rows whose values are known to fit on one line get a fixed height (see the charge
/// details of statement.typ); the estimate must never let a value spill out of its row. Values of
/// the widest glyphs at and just past the resource column's width, non-ASCII text and long service
/// names, on both paper sizes and with the extra fund/org column.
#[test]
fn charge_rows_never_overlap_whatever_their_values() {
    if !have_poppler() {
        return;
    }
    let mut labels: Vec<String> = Vec::new();
    for glyph in ["W", "M", "m"] {
        for n in [18, 22, 24, 25, 26, 28] {
            labels.push(glyph.repeat(n));
        }
    }
    labels.push("Ørsted-Überwachung-Åbo-ΩΣΔ-Ørsted".into());
    labels.push("i-0123456789abcdef0".into());
    let renderer = Renderer::new(None).unwrap();
    for (paper, fund_groups, path) in cases() {
        {
            let spec = Spec {
                charges: labels.len(),
                fund_groups,
                paper,
                ..Spec::default()
            };
            let mut data = with_path(statement(&spec), path);
            let charges = data["charges"].as_array_mut().unwrap();
            for (i, charge) in charges.iter_mut().enumerate() {
                charge["resource_label"] = serde_json::json!(labels[i]);
                if i % 3 == 0 {
                    charge["service"] = serde_json::json!("Azure Virtual Machines Premium SSD v2");
                }
            }
            let pdf = renderer.render_pdf(&data).unwrap();
            let pages = all_page_words(&pdf);
            // Wrapped labels come out of pdftotext interleaved with the row's other cells, so
            // count glyphs instead: no W is lost (nothing is clipped or drawn off the page).
            let w_on_pages: usize = pages
                .iter()
                .flat_map(|p| &p.1)
                .map(|w| w.text.matches('W').count())
                .sum();
            let w_in_labels: usize = labels.iter().map(|l| l.matches('W').count()).sum();
            assert_eq!(
                w_on_pages, w_in_labels,
                "{paper}, {fund_groups} groups, {path:?}"
            );
            for (page_width, words) in &pages {
                for (i, a) in words.iter().enumerate() {
                    assert!(
                        a.x_max <= *page_width - 36.0,
                        "{paper}, {fund_groups} groups, {path:?}: {a:?} runs past the margin"
                    );
                    for b in &words[i + 1..] {
                        assert!(
                            !a.overlaps_by(b, 0.5),
                            "{paper}, {fund_groups} groups, {path:?}: {a:?} overlaps {b:?}"
                        );
                    }
                }
            }
        }
    }
}

/// Charge rows known to fit on one line are drawn as one line of text whose values are moved to
/// their columns by computed spacing (see the charge details of statement.typ): every value must
/// still start under its left-aligned header (date, resource, service, fund/org) or end under its
/// right-aligned one (list, discount, amount), on every page, on both papers.
#[test]
fn charge_values_line_up_under_their_column_headers() {
    if !have_poppler() {
        return;
    }
    let renderer = Renderer::new(None).unwrap();
    let cases = cases().into_iter().filter(|&(paper, groups, _)| {
        (paper, groups) == ("us-letter", 2) || (paper, groups) == ("a4", 1)
    });
    for (paper, fund_groups, path) in cases {
        let spec = Spec {
            charges: 90,
            fund_groups,
            paper,
            ..Spec::default()
        };
        let pdf = renderer
            .render_pdf(&with_path(statement(&spec), path))
            .unwrap();
        let mut rows_checked = 0;
        for (_, words) in all_page_words(&pdf) {
            // The closing may stand on a page of its own, without details.
            let Some(resource) = words.iter().position(|w| w.text == "Resource") else {
                continue;
            };
            let y = words[resource].y_min;
            let header: Vec<&Word> = words.iter().filter(|w| (w.y_min - y).abs() < 0.5).collect();
            let names: Vec<&str> = header.iter().map(|w| w.text.as_str()).collect();
            let mut expected = vec!["Date", "Resource", "Service"];
            if fund_groups > 1 {
                expected.push("Fund/Org");
            }
            expected.extend(["List", "Discount", "Amount"]);
            assert_eq!(names, expected, "{paper}: detail header");
            let mut lines: Vec<Vec<&Word>> = Vec::new();
            for w in words.iter().filter(|w| w.y_min > y + 1.0) {
                match lines.last_mut() {
                    Some(line) if (line[0].y_min - w.y_min).abs() < 0.5 => line.push(w),
                    _ => lines.push(vec![w]),
                }
            }
            for line in lines.iter().filter(|l| l[0].text.starts_with("2025-01-")) {
                let texts: Vec<&str> = line.iter().map(|w| w.text.as_str()).collect();
                let near = |a: f64, b: f64| (a - b).abs() < 0.5;
                // date, resource and service start where their headers start ("AI Services" is two
                // words, so the fund/org is found from the end).
                for k in 0..3 {
                    assert!(
                        near(line[k].x_min, header[k].x_min),
                        "{paper}: {texts:?} column {k}"
                    );
                }
                let n = line.len();
                let h = header.len();
                if fund_groups > 1 {
                    assert!(
                        near(line[n - 4].x_min, header[3].x_min),
                        "{paper}: {texts:?}"
                    );
                }
                for k in 1..=3 {
                    assert!(
                        near(line[n - k].x_max, header[h - k].x_max),
                        "{paper}: {texts:?} ends under {}",
                        header[h - k].text
                    );
                }
                rows_checked += 1;
            }
        }
        assert_eq!(
            rows_checked, 90,
            "{paper}, {path:?}: every charge row was checked"
        );
    }
}

/// The rows the renderer draws (`charge_table` with row markers) show the same words as the rows
/// Typst lays out itself (`charge_table` null: an ordinary table with automatic columns): nothing
/// is lost, added or changed by drawing them outside Typst.
#[test]
fn rows_drawn_by_the_renderer_read_like_rows_laid_out_by_typst() {
    if !have_poppler() {
        return;
    }
    let renderer = Renderer::new(None).unwrap();
    for (paper, fund_groups, _) in cases().into_iter().filter(|c| c.2 == Path::Renderer) {
        let spec = Spec {
            charges: 70,
            fund_groups,
            paper,
            ..Spec::default()
        };
        let mut data = statement(&spec);
        let charges = data["charges"].as_array_mut().unwrap();
        for (i, charge) in charges.iter_mut().enumerate() {
            if i % 5 == 0 {
                charge["resource_label"] = serde_json::json!("Ørsted-Überwachung-Åbo");
            }
            if i % 7 == 0 {
                charge["service"] = serde_json::json!("Azure Virtual Machines Premium SSD v2");
            }
        }
        // Distinct words: the two ways may break pages differently, which repeats the header and
        // footer a different number of times.
        let words = |path| {
            all_page_words(&renderer.render_pdf(&with_path(data.clone(), path)).unwrap())
                .into_iter()
                .flat_map(|(_, w)| w)
                .map(|w| w.text)
                .filter(|w| w.parse::<usize>().is_err())
                .collect::<std::collections::BTreeSet<String>>()
        };
        let (ours, theirs) = (words(Path::Renderer), words(Path::Template));
        assert!(
            ours == theirs,
            "{paper}, {fund_groups}: only drawn {:?}, only laid out {:?}",
            ours.difference(&theirs).collect::<Vec<_>>(),
            theirs.difference(&ours).collect::<Vec<_>>()
        );
    }
}
