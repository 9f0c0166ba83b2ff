//! File-name auto-detection of source and period (SPEC §5.14), used by the import modal, the API
//! and `ingest` when the operator did not say.

use crate::model::{Config, ImportsConfig, KnownSource};
use ocb_core::period::Period;
use regex::Regex;
use std::sync::LazyLock;

impl ImportsConfig {
    /// The known source whose pattern occurs in the file name: longest pattern first (ties: config
    /// order), lower-cased substring match; sources with an empty pattern are never detected.
    pub fn detect_source(&self, file_name: &str) -> Option<&KnownSource> {
        let name = file_name.to_lowercase();
        let mut candidates: Vec<&KnownSource> = self
            .known_sources
            .iter()
            .filter(|s| !s.pattern.is_empty())
            .collect();
        // Stable sort keeps config order among equal lengths.
        candidates.sort_by_key(|s| std::cmp::Reverse(s.pattern.chars().count()));
        candidates
            .into_iter()
            .find(|s| name.contains(&s.pattern.to_lowercase()))
    }
}

impl Config {
    /// See [`ImportsConfig::detect_source`].
    pub fn detect_source(&self, file_name: &str) -> Option<&KnownSource> {
        self.imports.detect_source(file_name)
    }
}

/// The three period rules of SPEC §5.14, in order; the last is the quarter rule.
static RULES: LazyLock<[Regex; 3]> = LazyLock::new(|| {
    [
        r"(?:^|[^0-9])([0-9]{4})[-_]([0-9]{2})(?:[^0-9]|$)",
        r"(?:^|[^0-9])([0-9]{4})([0-9]{2})(?:[^0-9]|$)",
        r"(?i)(?:^|[^0-9])([0-9]{4})[-_]?Q([1-4])(?:[^0-9]|$)",
    ]
    .map(|r| Regex::new(r).expect("SPEC §5.14 period regexes are valid"))
});

/// The period suggested by a file name: rules in order, within a rule the leftmost match with a
/// valid month (matches with an invalid month are skipped, and the search resumes one character
/// later so overlapping candidates are still seen).
pub fn detect_period(file_name: &str) -> Option<Period> {
    RULES.iter().enumerate().find_map(|(rule, re)| {
        let mut start = 0;
        while let Some(caps) = re.captures_at(file_name, start) {
            let year: u16 = caps[1].parse().ok()?;
            let n: u8 = caps[2].parse().ok()?;
            let month = if rule == 2 { (n - 1) * 3 + 1 } else { n };
            if let Some(p) = Period::new(year, month) {
                return Some(p);
            }
            let m = caps.get(0)?;
            start = m.start()
                + file_name[m.start()..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocb_core::source::ImportMode;
    use rstest::rstest;

    #[rstest]
    #[case("aws_2025-01.csv", Some("2025-01"))]
    #[case("hpc_2025_01.csv", Some("2025-01"))]
    #[case("billing_202501.csv", Some("2025-01"))]
    #[case("report_2025-Q3.csv", Some("2025-07"))]
    #[case("x_2025-13.csv", None)]
    #[case("a12025-01.csv", None)]
    #[case("2025-02.csv", Some("2025-02"))]
    #[case("report_2025q4.csv", Some("2025-10"))]
    #[case("report_2025_Q1.csv", Some("2025-01"))]
    #[case("x_2025-13_2025-04.csv", Some("2025-04"))]
    #[case("x_2025-13-2025-05.csv", Some("2025-05"))]
    #[case("both_202503_2025-06.csv", Some("2025-06"))]
    #[case("x_202513.csv", None)]
    #[case("x_2025-00.csv", None)]
    #[case("no-date.csv", None)]
    #[case("Q3_2025.csv", None)]
    #[case("é_2025-09.csv", Some("2025-09"))]
    fn detects_periods(#[case] name: &str, #[case] expected: Option<&str>) {
        assert_eq!(
            detect_period(name).map(|p| p.to_string()).as_deref(),
            expected
        );
    }

    fn source(name: &str, pattern: &str) -> KnownSource {
        KnownSource {
            name: name.into(),
            pattern: pattern.into(),
            fund_org: String::new(),
            account_code: String::new(),
            display_name: name.into(),
            import_mode: ImportMode::Replace,
        }
    }

    fn imports() -> ImportsConfig {
        ImportsConfig {
            default_mode: ImportMode::Replace,
            known_sources: vec![
                source("AWS", "aws"),
                source("Storage", "storage"),
                source("IT Storage", "it_storage"),
                source("Azure", "azure"),
                source("Azure Local", "Azure-Local"),
                source("Manual", ""),
                source("Second AWS", "AWS"),
            ],
        }
    }

    #[rstest]
    #[case("it_storage_2025-01.csv", Some("IT Storage"))]
    #[case("storage_2025-01.csv", Some("Storage"))]
    #[case("AWS_2025-01.csv", Some("AWS"))]
    #[case("azure-local-2025-01.csv", Some("Azure Local"))]
    #[case("azure_2025-01.csv", Some("Azure"))]
    #[case("gcp_2025-01.csv", None)]
    #[case("manual.csv", None)]
    fn detects_sources(#[case] name: &str, #[case] expected: Option<&str>) {
        let imports = imports();
        assert_eq!(
            imports.detect_source(name).map(|s| s.name.as_str()),
            expected
        );
    }
}
