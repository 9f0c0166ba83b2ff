//! Statement PDF file names (SPEC §8.7, issue 17): `{period}_{pi}_{project}.pdf`, each part
//! sanitised so the name is valid on Linux, macOS and Windows, and made unique within a period.
//!
//! `{pi}` is the lower-case local part of the PI's email (`2025-01_zorp.blinkman_genomics.pdf`),
//! as upstream names its files, so scripts that pick statements up by name keep working. Two
//! PIs of one period whose emails share a local part (`a@x.edu`, `a@y.edu`) would get the same
//! name: those PIs, and only those, keep their whole address (`2025-01_a@x.edu_p.pdf`). The
//! choice depends only on the period's set of PIs, so a regeneration names the files the same
//! way; a PI who joins later with a clashing local part renames the other PI's files too, and
//! the generation run replaces the old files (the store lists them for removal).

use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

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

/// The local part of a lower-case email (all of it when there is no `@`).
fn local_part(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(local, _)| local)
}

/// The local parts shared by two or more distinct PI emails of the period.
fn ambiguous_locals(emails: &[String]) -> HashSet<&str> {
    let mut owners: HashMap<&str, HashSet<&str>> = HashMap::new();
    for e in emails {
        owners.entry(local_part(e)).or_default().insert(e);
    }
    owners
        .into_iter()
        .filter(|(_, o)| o.len() > 1)
        .map(|(l, _)| l)
        .collect()
}

fn base_name(period: &str, pi: &str, project: &str) -> String {
    format!(
        "{period}_{}_{}",
        sanitize_component(pi),
        sanitize_component(project)
    )
}

/// File names for the (PI, project) pairs of one period, in input order. `{pi}` is the email's
/// local part, or the whole email for PIs whose local part another PI of the period shares.
/// Names that would still collide (compared case-insensitively, as on Windows and macOS) each
/// get `-` and the first 8 hex digits of SHA-256(project id) before `.pdf`.
pub fn pdf_file_names(period: &str, statements: &[(&str, &str)]) -> Vec<String> {
    let emails: Vec<String> = statements.iter().map(|(pi, _)| pi.to_lowercase()).collect();
    let ambiguous = ambiguous_locals(&emails);
    let bases: Vec<String> = emails
        .iter()
        .zip(statements)
        .map(|(email, (_, project))| {
            let local = local_part(email);
            let pi = if ambiguous.contains(local) {
                email
            } else {
                local
            };
            base_name(period, pi, project)
        })
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
    fn names_use_the_local_part_and_stay_unique() {
        let names = pdf_file_names(
            "2025-01",
            &[
                ("Zorp.Blinkman@example.edu", "genomics-sequencing"),
                ("b@x.edu", "p/1"),
                ("b@x.edu", "p:1"),
                ("b@x.edu", "P_1"),
                ("b@x.edu", "q"),
            ],
        );
        assert_eq!(names[0], "2025-01_zorp.blinkman_genomics-sequencing.pdf");
        assert_eq!(names[4], "2025-01_b_q.pdf");
        let h = |p: &str| hex::encode(Sha256::digest(p.as_bytes()))[..8].to_string();
        assert_eq!(names[1], format!("2025-01_b_p_1-{}.pdf", h("p/1")));
        assert_eq!(names[2], format!("2025-01_b_p_1-{}.pdf", h("p:1")));
        assert_eq!(names[3], format!("2025-01_b_P_1-{}.pdf", h("P_1")));
        let unique: std::collections::HashSet<_> = names.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn pis_sharing_a_local_part_keep_their_whole_address() {
        let names = pdf_file_names(
            "2025-01",
            &[
                ("a@x.edu", "p"),
                ("A@Y.edu", "p"),
                ("a@x.edu", "q"),
                ("c@x.edu", "p"),
            ],
        );
        assert_eq!(
            names,
            [
                "2025-01_a@x.edu_p.pdf",
                "2025-01_a@y.edu_p.pdf",
                "2025-01_a@x.edu_q.pdf",
                "2025-01_c_p.pdf",
            ]
        );
        // The same PI under two spellings is one PI: no clash, the local part is enough.
        let same = pdf_file_names("2025-01", &[("a@x.edu", "p"), ("A@x.edu", "q")]);
        assert_eq!(same, ["2025-01_a_p.pdf", "2025-01_a_q.pdf"]);
    }
}
