//! Splitting a fund/org into ledger fields with `journal.fund_org_regex` (SPEC §10.7).
//!
//! Python's `re.match` semantics: the match must start at the beginning of the value (use `$` to
//! anchor the end). Named groups `fund`, `orgn`, `program`, `activity`, `location` fill those
//! fields; every named group is also kept, in pattern order, for templates (`entry.groups`).

use ocb_core::flags::Pattern;

/// The ledger fields of one fund/org.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FundOrgParts {
    /// `fund` group, else the whole fund/org (upstream fallback).
    pub fund: String,
    /// `orgn` group or empty.
    pub orgn: String,
    /// `program` group or empty.
    pub program: String,
    /// `activity` group or empty.
    pub activity: String,
    /// `location` group or empty.
    pub location: String,
    /// Every named group in pattern order; non-participating groups are empty strings
    /// (upstream printed `None`).
    pub groups: Vec<(String, String)>,
}

/// Parses `fund_org` with the configured regex (`None` = empty regex).
pub fn parse_fund_org(fund_org: &str, pattern: Option<&Pattern>) -> FundOrgParts {
    let mut parts = FundOrgParts::default();
    let mut fund: Option<String> = None;
    if let Some(p) = pattern.filter(|_| !fund_org.is_empty()) {
        let re = p.regex();
        // The leftmost match starts at 0 exactly when `re.match` would succeed. A runtime error
        // (backtracking limit) counts as no match: the fields stay empty, the export goes on.
        if let Ok(Some(caps)) = re.captures(fund_org) {
            if caps.get(0).is_some_and(|m| m.start() == 0) {
                for name in re.capture_names().flatten() {
                    let value = caps.name(name).map(|m| m.as_str().to_string());
                    match name {
                        "fund" => fund = value.clone(),
                        "orgn" => parts.orgn = value.clone().unwrap_or_default(),
                        "program" => parts.program = value.clone().unwrap_or_default(),
                        "activity" => parts.activity = value.clone().unwrap_or_default(),
                        "location" => parts.location = value.clone().unwrap_or_default(),
                        _ => {}
                    }
                    parts
                        .groups
                        .push((name.to_string(), value.unwrap_or_default()));
                }
            }
        }
    }
    parts.fund = fund.unwrap_or_else(|| fund_org.to_string());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::raw(s).expect("valid pattern")
    }

    #[test]
    fn default_regex_splits_orgn_and_fund() {
        let re = p("^(?P<orgn>[^-]+)-(?P<fund>.+)$");
        let parts = parse_fund_org("BIOLOGY-GRANTS-2025", Some(&re));
        assert_eq!(parts.orgn, "BIOLOGY");
        assert_eq!(parts.fund, "GRANTS-2025");
        assert_eq!(
            parts.groups,
            vec![
                ("orgn".into(), "BIOLOGY".into()),
                ("fund".into(), "GRANTS-2025".into())
            ]
        );
    }

    #[test]
    fn match_is_anchored_at_the_start_only() {
        let re = p(r"(?P<fund>\d{6})-(?P<orgn>\d{4})");
        assert_eq!(parse_fund_org("123456-1234-extra", Some(&re)).orgn, "1234");
        let miss = parse_fund_org("X123456-1234", Some(&re));
        assert_eq!(
            (miss.fund.as_str(), miss.orgn.as_str()),
            ("X123456-1234", "")
        );
        assert!(miss.groups.is_empty());
    }

    #[test]
    fn non_participating_groups_are_empty_and_fund_falls_back() {
        let re = p(r"^(?P<orgn>[A-Z]+)(?:-(?P<fund>\d+))?(?:/(?P<program>\w+))?");
        let parts = parse_fund_org("BIO", Some(&re));
        assert_eq!(parts.fund, "BIO");
        assert_eq!(parts.program, "");
        assert_eq!(parts.groups[1], ("fund".into(), String::new()));
    }

    #[test]
    fn extra_groups_and_angle_bracket_syntax() {
        let re = p(
            r"^(?<fund>\d+)\.(?P<orgn>\d+)\.(?P<activity>\w+)\.(?P<location>\w+)\.(?P<site>\w+)$",
        );
        let parts = parse_fund_org("11.22.ACT.LOC.S1", Some(&re));
        assert_eq!(parts.fund, "11");
        assert_eq!(parts.activity, "ACT");
        assert_eq!(parts.location, "LOC");
        assert_eq!(parts.groups.last(), Some(&("site".into(), "S1".into())));
    }

    #[test]
    fn no_regex_keeps_the_whole_value_as_fund() {
        let parts = parse_fund_org("ANY-THING", None);
        assert_eq!(parts.fund, "ANY-THING");
        assert_eq!(parts.orgn, "");
    }
}
