//! Effective review settings (SPEC §4.5): a pattern list edited in the web UI and stored in the
//! database overrides the config file's list until it is reverted. CLI, web and API all resolve
//! through [`EffectiveReview::resolve`], so they flag with the same values.

use crate::flags::{Pattern, PatternError, ReviewRules};
use serde::Serialize;

/// Which pattern list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    /// `review.flag_patterns`: search anywhere in service, resource id or name.
    FlagPatterns,
    /// `review.fund_org_patterns`: must match the whole fund/org.
    FundOrgPatterns,
}

impl PatternKind {
    /// Both kinds, in display order.
    pub const ALL: [PatternKind; 2] = [Self::FlagPatterns, Self::FundOrgPatterns];

    /// The settings key, the same as the config key (`review.flag_patterns`).
    pub fn key(self) -> &'static str {
        match self {
            Self::FlagPatterns => "review.flag_patterns",
            Self::FundOrgPatterns => "review.fund_org_patterns",
        }
    }

    /// Compiles one pattern the way ingest uses it. The text is compiled as written first, so
    /// error positions refer to what the user typed, not to the wrapped form.
    pub fn compile(self, text: &str) -> Result<Pattern, PatternError> {
        Pattern::raw(text)?;
        match self {
            Self::FlagPatterns => Pattern::search(text),
            Self::FundOrgPatterns => Pattern::full(text),
        }
    }
}

/// A list stored in the database (`settings_overrides`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPatterns {
    /// The patterns, in order.
    pub patterns: Vec<String>,
    /// When it was saved (UTC RFC 3339).
    pub updated_at: String,
    /// Who saved it.
    pub updated_by: String,
}

/// Where an effective list comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Origin {
    /// `review.*` of the config file (or its default, empty).
    ConfigFile,
    /// A database override saved in the web UI.
    Database {
        /// When it was saved.
        updated_at: String,
        /// Who saved it.
        updated_by: String,
    },
}

impl Origin {
    /// Human wording, e.g. `database (saved by alice at …)`.
    pub fn describe(&self) -> String {
        match self {
            Self::ConfigFile => "config file".into(),
            Self::Database {
                updated_at,
                updated_by,
            } => format!("database override (saved by {updated_by} at {updated_at})"),
        }
    }
}

/// One effective pattern list with its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveList {
    /// The patterns in effect.
    pub patterns: Vec<String>,
    /// Where they come from.
    #[serde(flatten)]
    pub origin: Origin,
}

/// The review settings in effect, compiled.
#[derive(Debug, Clone)]
pub struct EffectiveReview {
    /// Flag patterns in effect.
    pub flag_patterns: EffectiveList,
    /// Fund/org patterns in effect.
    pub fund_org_patterns: EffectiveList,
    /// Both lists compiled.
    pub rules: ReviewRules,
}

/// A stored override that no longer compiles (should not happen: saves are validated).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}[{index}] (database override): {error}")]
pub struct OverrideError {
    /// Settings key.
    pub key: &'static str,
    /// Index in the list.
    pub index: usize,
    /// The compile error.
    pub error: PatternError,
}

impl EffectiveReview {
    /// Each list is the database override when one exists, else the config file's list.
    /// `config_rules` are the config lists already compiled at config load.
    pub fn resolve(
        config_flag: &[String],
        config_fund_org: &[String],
        config_rules: &ReviewRules,
        stored_flag: Option<StoredPatterns>,
        stored_fund_org: Option<StoredPatterns>,
    ) -> Result<Self, OverrideError> {
        let pick = |kind: PatternKind,
                    config: &[String],
                    compiled: &[Pattern],
                    stored: Option<StoredPatterns>|
         -> Result<(EffectiveList, Vec<Pattern>), OverrideError> {
            let Some(s) = stored else {
                let list = EffectiveList {
                    patterns: config.to_vec(),
                    origin: Origin::ConfigFile,
                };
                return Ok((list, compiled.to_vec()));
            };
            let compiled = s
                .patterns
                .iter()
                .enumerate()
                .map(|(index, p)| {
                    kind.compile(p).map_err(|error| OverrideError {
                        key: kind.key(),
                        index,
                        error,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let list = EffectiveList {
                patterns: s.patterns,
                origin: Origin::Database {
                    updated_at: s.updated_at,
                    updated_by: s.updated_by,
                },
            };
            Ok((list, compiled))
        };
        let (flag_patterns, flag) = pick(
            PatternKind::FlagPatterns,
            config_flag,
            &config_rules.flag_patterns,
            stored_flag,
        )?;
        let (fund_org_patterns, fund) = pick(
            PatternKind::FundOrgPatterns,
            config_fund_org,
            &config_rules.fund_org_patterns,
            stored_fund_org,
        )?;
        Ok(Self {
            flag_patterns,
            fund_org_patterns,
            rules: ReviewRules {
                flag_patterns: flag,
                fund_org_patterns: fund,
            },
        })
    }
}

/// A line of the settings editor that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// 1-based line number in the text area.
    pub line: usize,
    /// The pattern on that line.
    pub pattern: String,
    /// The compiler's message (with position).
    pub message: String,
}

/// Parses the editor's text (one regex per line). Lines are trimmed, because spaces at the ends
/// of a text-area line are invisible; blank lines are ignored. Every bad line is reported, not
/// only the first.
pub fn parse_lines(kind: PatternKind, text: &str) -> Result<Vec<String>, Vec<LineError>> {
    let mut patterns = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match kind.compile(line) {
            Ok(_) => patterns.push(line.to_string()),
            Err(e) => errors.push(LineError {
                line: i + 1,
                pattern: line.to_string(),
                message: e.message.split_whitespace().collect::<Vec<_>>().join(" "),
            }),
        }
    }
    if errors.is_empty() {
        Ok(patterns)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn stored(v: &[&str]) -> StoredPatterns {
        StoredPatterns {
            patterns: strings(v),
            updated_at: "2025-02-01T00:00:00Z".into(),
            updated_by: "alice".into(),
        }
    }

    #[test]
    fn database_override_wins_per_list() {
        let flag = strings(&["gpu"]);
        let fund = strings(&[r"\d{6}-\d{4}"]);
        let rules = ReviewRules::compile(&flag, &fund).expect("valid");
        let e =
            EffectiveReview::resolve(&flag, &fund, &rules, Some(stored(&["tpu", "fpga"])), None)
                .expect("valid override");
        assert_eq!(e.flag_patterns.patterns, ["tpu", "fpga"]);
        assert!(
            matches!(e.flag_patterns.origin, Origin::Database { ref updated_by, .. } if updated_by == "alice")
        );
        assert_eq!(e.fund_org_patterns.origin, Origin::ConfigFile);
        assert_eq!(e.rules.flag_patterns.len(), 2);
        assert!(e.rules.flag_patterns[0].is_match("Cloud TPU v5"));
        assert!(e.rules.fund_org_ok("123456-1234"));
        assert!(!e.rules.fund_org_ok("123456-12345"));
    }

    #[test]
    fn an_empty_override_disables_the_config_list() {
        let fund = strings(&["^A$"]);
        let rules = ReviewRules::compile(&[], &fund).expect("valid");
        let e = EffectiveReview::resolve(&[], &fund, &rules, None, Some(stored(&[]))).expect("ok");
        assert!(e.rules.fund_org_ok("anything"));
    }

    #[test]
    fn a_broken_stored_override_names_key_and_index() {
        let err = EffectiveReview::resolve(
            &[],
            &[],
            &ReviewRules::default(),
            Some(stored(&["ok", "(x"])),
            None,
        )
        .expect_err("broken");
        assert_eq!((err.key, err.index), ("review.flag_patterns", 1));
        assert!(err
            .to_string()
            .starts_with("review.flag_patterns[1] (database override): invalid regex '(x'"));
    }

    #[test]
    fn editor_lines_are_trimmed_and_every_error_has_its_line() {
        let text = "gpu \r\n\n  (unclosed\nok\n[z-a]\n";
        let errs = parse_lines(PatternKind::FlagPatterns, text).expect_err("two bad lines");
        assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(errs[0].pattern, "(unclosed");
        assert!(!errs[0].message.is_empty());
        let ok =
            parse_lines(PatternKind::FundOrgPatterns, "\n^\\d{6}$\n  GR-\\d+ \n").expect("valid");
        assert_eq!(ok, ["^\\d{6}$", "GR-\\d+"]);
    }
}
