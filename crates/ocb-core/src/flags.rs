//! Flag reasons: why a charge needs human review (SPEC §5.4).
//!
//! All applicable reasons are kept, in the spec's order; the first is the primary reason.

use crate::attribution::is_valid_email;
use chrono::NaiveDate;
use std::fmt;

/// One reason a charge is held for review.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagReason {
    /// Re-import changed a reviewed charge.
    ChangedAfterReview,
    /// The row's period differs from the expected period of the import.
    PeriodMismatch,
    /// No PI email tag.
    MissingPiEmail,
    /// PI email present but not an address.
    InvalidPiEmail,
    /// No project tag.
    MissingProjectId,
    /// No fund/org tag.
    MissingFundOrg,
    /// Fund/org does not fully match any configured pattern.
    InvalidFundOrg,
    /// Charged after the project's reconciliation end.
    ProjectClosed,
    /// Charged after the project's end date.
    ProjectExpired,
    /// A configured flag pattern matched (the pattern text verbatim).
    PatternMatch(String),
    /// The row is identical in every column to another row of the same file (issue 17): both
    /// are kept (SPEC §5.7) and both are flagged so a reviewer decides whether one is a mistake.
    PossibleDuplicate,
}

impl FlagReason {
    /// Stored and displayed spelling (`pattern_match:<pattern>`).
    pub fn as_string(&self) -> String {
        match self {
            Self::PatternMatch(p) => format!("pattern_match:{p}"),
            other => other.simple_name().to_string(),
        }
    }

    fn simple_name(&self) -> &'static str {
        match self {
            Self::ChangedAfterReview => "changed_after_review",
            Self::PeriodMismatch => "period_mismatch",
            Self::MissingPiEmail => "missing_pi_email",
            Self::InvalidPiEmail => "invalid_pi_email",
            Self::MissingProjectId => "missing_project_id",
            Self::MissingFundOrg => "missing_fund_org",
            Self::InvalidFundOrg => "invalid_fund_org",
            Self::ProjectClosed => "project_closed",
            Self::ProjectExpired => "project_expired",
            Self::PatternMatch(_) => "pattern_match",
            Self::PossibleDuplicate => "possible_duplicate",
        }
    }

    /// Parses a stored reason.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(p) = s.strip_prefix("pattern_match:") {
            return Some(Self::PatternMatch(p.to_string()));
        }
        Some(match s {
            "changed_after_review" => Self::ChangedAfterReview,
            "period_mismatch" => Self::PeriodMismatch,
            "missing_pi_email" => Self::MissingPiEmail,
            "invalid_pi_email" => Self::InvalidPiEmail,
            "missing_project_id" | "missing_project" => Self::MissingProjectId,
            "missing_fund_org" => Self::MissingFundOrg,
            "invalid_fund_org" => Self::InvalidFundOrg,
            "project_closed" => Self::ProjectClosed,
            "project_expired" => Self::ProjectExpired,
            "possible_duplicate" => Self::PossibleDuplicate,
            _ => return None,
        })
    }

    /// True for reasons that cannot be recomputed from content (kept by re-evaluation): they
    /// describe the import (its expected period, the other rows of the file), not the charge.
    pub fn is_sticky(&self) -> bool {
        matches!(
            self,
            Self::ChangedAfterReview | Self::PeriodMismatch | Self::PossibleDuplicate
        )
    }
}

impl fmt::Display for FlagReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

/// Does a stored reason match a filter value (SPEC §7.1)? `missing_project` aliases
/// `missing_project_id`; `pattern_match` matches every pattern reason.
pub fn reason_matches_filter(stored: &str, filter: &str) -> bool {
    match filter {
        "missing_project" => stored == "missing_project_id",
        "pattern_match" => stored.starts_with("pattern_match:"),
        f => stored == f,
    }
}

/// A configured regex with its verbatim text (Python `re` syntax via fancy-regex).
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The pattern as written in the config.
    pub text: String,
    regex: fancy_regex::Regex,
}

/// A pattern that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid regex '{pattern}': {message}")]
pub struct PatternError {
    /// The pattern text.
    pub pattern: String,
    /// The compiler's message (with position).
    pub message: String,
}

impl Pattern {
    /// A search pattern: matches anywhere, case-insensitive (flag patterns).
    pub fn search(text: &str) -> Result<Self, PatternError> {
        Self::compile(text, format!("(?i){text}"))
    }

    /// A full-match pattern: must match the entire value, case-insensitive (fund/org patterns).
    pub fn full(text: &str) -> Result<Self, PatternError> {
        Self::compile(text, format!("(?i)^(?:{text})$"))
    }

    /// Compiles Python-style syntax as written (journal regexes: case-sensitive, anchored at start by the caller).
    pub fn raw(text: &str) -> Result<Self, PatternError> {
        Self::compile(text, text.to_string())
    }

    fn compile(text: &str, source: String) -> Result<Self, PatternError> {
        // Python spells named groups `(?P<name>…)`; fancy-regex accepts both spellings.
        fancy_regex::Regex::new(&source)
            .map(|regex| Self {
                text: text.to_string(),
                regex,
            })
            .map_err(|e| PatternError {
                pattern: text.to_string(),
                message: e.to_string(),
            })
    }

    /// Does the pattern match the value? A regex runtime error (backtrack limit) counts as a match,
    /// so that a pathological value is held for review rather than waved through.
    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value).unwrap_or(true)
    }

    /// The compiled regex.
    pub fn regex(&self) -> &fancy_regex::Regex {
        &self.regex
    }
}

/// The effective review settings (config `review.*` or the database override).
#[derive(Debug, Clone, Default)]
pub struct ReviewRules {
    /// Flag patterns, config order.
    pub flag_patterns: Vec<Pattern>,
    /// Fund/org patterns (empty = any fund/org accepted).
    pub fund_org_patterns: Vec<Pattern>,
}

impl ReviewRules {
    /// Compiles pattern lists; the error names the failing list index.
    pub fn compile(flag: &[String], fund_org: &[String]) -> Result<Self, (String, PatternError)> {
        let flag_patterns = flag
            .iter()
            .enumerate()
            .map(|(i, p)| Pattern::search(p).map_err(|e| (format!("review.flag_patterns[{i}]"), e)))
            .collect::<Result<_, _>>()?;
        let fund_org_patterns = fund_org
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Pattern::full(p).map_err(|e| (format!("review.fund_org_patterns[{i}]"), e))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            flag_patterns,
            fund_org_patterns,
        })
    }

    /// Is this fund/org acceptable under the fund/org patterns?
    pub fn fund_org_ok(&self, fund_org: &str) -> bool {
        self.fund_org_patterns.is_empty()
            || self.fund_org_patterns.iter().any(|p| p.is_match(fund_org))
    }
}

/// The effective values flag rules look at.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlagInput<'a> {
    /// Effective PI email.
    pub pi_email: Option<&'a str>,
    /// Effective project.
    pub project_id: Option<&'a str>,
    /// Effective fund/org.
    pub fund_org: Option<&'a str>,
    /// UTC date of ChargePeriodStart, else BillingPeriodStart.
    pub charge_date: Option<NaiveDate>,
    /// Project end date tag.
    pub end_date: Option<NaiveDate>,
    /// Reconciliation end tag.
    pub reconciliation_end: Option<NaiveDate>,
    /// ServiceName.
    pub service_name: Option<&'a str>,
    /// ResourceId.
    pub resource_id: Option<&'a str>,
    /// ResourceName.
    pub resource_name: Option<&'a str>,
    /// The import had an expected period and this row's period differs.
    pub period_mismatch: bool,
    /// Re-import changed a reviewed charge.
    pub changed_after_review: bool,
    /// Another row of the file is identical in every column.
    pub possible_duplicate: bool,
}

/// Every reason that applies, in SPEC §5.4 order.
pub fn compute_flags(input: &FlagInput<'_>, rules: &ReviewRules) -> Vec<FlagReason> {
    let mut reasons = Vec::new();
    if input.changed_after_review {
        reasons.push(FlagReason::ChangedAfterReview);
    }
    if input.period_mismatch {
        reasons.push(FlagReason::PeriodMismatch);
    }
    match input.pi_email {
        None => reasons.push(FlagReason::MissingPiEmail),
        Some(e) if !is_valid_email(e) => reasons.push(FlagReason::InvalidPiEmail),
        Some(_) => {}
    }
    if input.project_id.is_none() {
        reasons.push(FlagReason::MissingProjectId);
    }
    match input.fund_org {
        None => reasons.push(FlagReason::MissingFundOrg),
        Some(f) if !rules.fund_org_ok(f) => reasons.push(FlagReason::InvalidFundOrg),
        Some(_) => {}
    }
    if let Some(date) = input.charge_date {
        if input.reconciliation_end.is_some_and(|r| date > r) {
            reasons.push(FlagReason::ProjectClosed);
        } else if input.end_date.is_some_and(|e| date > e) {
            reasons.push(FlagReason::ProjectExpired);
        }
    }
    for p in &rules.flag_patterns {
        let hit = [input.service_name, input.resource_id, input.resource_name]
            .into_iter()
            .flatten()
            .any(|v| p.is_match(v));
        if hit {
            reasons.push(FlagReason::PatternMatch(p.text.clone()));
        }
    }
    // Last: the other reasons say what to fix in the data; this one only asks for a look.
    if input.possible_duplicate {
        reasons.push(FlagReason::PossibleDuplicate);
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(flag: &[&str], fund: &[&str]) -> ReviewRules {
        let f: Vec<String> = flag.iter().map(|s| s.to_string()).collect();
        let g: Vec<String> = fund.iter().map(|s| s.to_string()).collect();
        ReviewRules::compile(&f, &g).expect("valid patterns")
    }

    fn ok_input() -> FlagInput<'static> {
        FlagInput {
            pi_email: Some("a@b.edu"),
            project_id: Some("p"),
            fund_org: Some("123456-1234"),
            ..Default::default()
        }
    }

    #[test]
    fn fund_org_patterns_must_match_whole_value() {
        let r = rules(&[], &[r"^\d{6}-\d{4}$", "GR-\\d{6}"]);
        assert!(r.fund_org_ok("123456-1234"));
        assert!(!r.fund_org_ok("123456-12345"));
        assert!(r.fund_org_ok("gr-123456"));
        assert!(!r.fund_org_ok("GR-1234567"));
    }

    #[test]
    fn flag_pattern_matches_anywhere_case_insensitive() {
        let r = rules(&["gpu"], &[]);
        let input = FlagInput {
            service_name: Some("Amazon EC2"),
            resource_name: Some("ml-GPU-node"),
            ..ok_input()
        };
        assert_eq!(
            compute_flags(&input, &r),
            vec![FlagReason::PatternMatch("gpu".into())]
        );
    }

    #[test]
    fn all_reasons_in_order() {
        let r = rules(&["x", "y"], &["^A$"]);
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        let input = FlagInput {
            pi_email: Some("nope"),
            project_id: None,
            fund_org: Some("B"),
            charge_date: d("2025-07-02"),
            end_date: d("2025-06-30"),
            reconciliation_end: d("2025-09-30"),
            service_name: Some("xy"),
            period_mismatch: true,
            changed_after_review: true,
            ..Default::default()
        };
        let names: Vec<String> = compute_flags(&input, &r)
            .iter()
            .map(|f| f.as_string())
            .collect();
        assert_eq!(
            names,
            [
                "changed_after_review",
                "period_mismatch",
                "invalid_pi_email",
                "missing_project_id",
                "invalid_fund_org",
                "project_expired",
                "pattern_match:x",
                "pattern_match:y"
            ]
        );
    }

    #[test]
    fn closed_wins_over_expired() {
        let d = |s: &str| s.parse::<NaiveDate>().ok();
        let input = FlagInput {
            charge_date: d("2025-10-02"),
            end_date: d("2025-06-30"),
            reconciliation_end: d("2025-09-30"),
            ..ok_input()
        };
        assert_eq!(
            compute_flags(&input, &ReviewRules::default()),
            vec![FlagReason::ProjectClosed]
        );
    }

    #[test]
    fn python_syntax_is_supported() {
        assert!(Pattern::raw(r"^(?P<orgn>[^-]+)-(?P<fund>.+)$").is_ok());
        assert!(Pattern::search(r"(?<=a)b").is_ok());
        assert!(Pattern::search(r"(a)\1").is_ok());
        assert!(Pattern::search("(unclosed").is_err());
    }

    #[test]
    fn reason_filters() {
        assert!(reason_matches_filter(
            "missing_project_id",
            "missing_project"
        ));
        assert!(reason_matches_filter("pattern_match:gpu", "pattern_match"));
        assert!(!reason_matches_filter(
            "pattern_match:gpu",
            "pattern_match:cpu"
        ));
    }
}
