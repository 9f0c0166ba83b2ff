//! Statement PDF file names (SPEC §8.7): `{period}_{pi}_{project}.pdf`, each part sanitised so the
//! name is valid on Linux, macOS and Windows, and made unique within a period.

use sha2::{Digest, Sha256};
use std::collections::HashMap;

const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Characters outside `[A-Za-z0-9._@+-]` become `_`; leading and trailing dots and spaces are
/// removed; names reserved on Windows (`CON`, `com1.x` …) get a `_` suffix.
pub fn sanitize_component(raw: &str) -> String {
    let trimmed = raw.trim_matches(|c| c == '.' || c == ' ');
    let mut out: String = trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '+' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        out.push('_');
    }
    let stem = out.split('.').next().unwrap_or_default();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        out.push('_');
    }
    out
}

fn base_name(period: &str, pi: &str, project: &str) -> String {
    format!(
        "{period}_{}_{}",
        sanitize_component(&pi.to_lowercase()),
        sanitize_component(project)
    )
}

/// File names for the (PI, project) pairs of one period, in input order. Names that would
/// collide (compared case-insensitively, as on Windows and macOS) each get `-` and the first 8
/// hex digits of SHA-256(project id) before `.pdf`.
pub fn pdf_file_names(period: &str, statements: &[(&str, &str)]) -> Vec<String> {
    let bases: Vec<String> = statements
        .iter()
        .map(|(pi, project)| base_name(period, pi, project))
        .collect();
    let mut count: HashMap<String, usize> = HashMap::new();
    for b in &bases {
        *count.entry(b.to_lowercase()).or_default() += 1;
    }
    bases
        .into_iter()
        .zip(statements)
        .map(|(base, (_, project))| {
            if count[&base.to_lowercase()] > 1 {
                let digest = hex::encode(Sha256::digest(project.as_bytes()));
                format!("{base}-{}.pdf", &digest[..8])
            } else {
                format!("{base}.pdf")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("genomics-sequencing", "genomics-sequencing")]
    #[case("a b/c\\d:e", "a_b_c_d_e")]
    #[case("..hidden. ", "hidden")]
    #[case("CON", "CON_")]
    #[case("com1.txt", "com1.txt_")]
    #[case("console", "console")]
    #[case("...", "_")]
    #[case("proj+x@y", "proj+x@y")]
    #[case("Zürich", "Z_rich")]
    fn sanitises(#[case] raw: &str, #[case] clean: &str) {
        assert_eq!(sanitize_component(raw), clean);
    }

    #[test]
    fn spec_example_and_collisions() {
        let names = pdf_file_names(
            "2025-01",
            &[
                ("Zorp.Blinkman@example.edu", "genomics-sequencing"),
                ("a@x.edu", "p/1"),
                ("a@x.edu", "p:1"),
                ("a@x.edu", "P_1"),
                ("a@x.edu", "q"),
            ],
        );
        assert_eq!(
            names[0],
            "2025-01_zorp.blinkman@example.edu_genomics-sequencing.pdf"
        );
        assert_eq!(names[4], "2025-01_a@x.edu_q.pdf");
        let h = |p: &str| hex::encode(Sha256::digest(p.as_bytes()))[..8].to_string();
        assert_eq!(names[1], format!("2025-01_a@x.edu_p_1-{}.pdf", h("p/1")));
        assert_eq!(names[2], format!("2025-01_a@x.edu_p_1-{}.pdf", h("p:1")));
        assert_eq!(names[3], format!("2025-01_a@x.edu_P_1-{}.pdf", h("P_1")));
        let unique: std::collections::HashSet<_> = names.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(unique.len(), names.len());
    }
}
