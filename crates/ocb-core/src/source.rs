//! Source names: where charges come from (SPEC §5.13). Names compare case-insensitively.

/// Why a source name is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceNameError {
    /// Empty after trimming.
    #[error("source name is empty")]
    Empty,
    /// More than 100 characters.
    #[error("source name is longer than 100 characters")]
    TooLong,
    /// Contains a control character.
    #[error("source name contains a control character")]
    Control,
}

/// Trims and checks a user-given source name: 1–100 characters, no control characters.
pub fn check_source_name(name: &str) -> Result<String, SourceNameError> {
    let t = name.trim();
    if t.is_empty() {
        return Err(SourceNameError::Empty);
    }
    if t.chars().count() > 100 {
        return Err(SourceNameError::TooLong);
    }
    if t.chars().any(char::is_control) {
        return Err(SourceNameError::Control);
    }
    Ok(t.to_string())
}

/// The case-folded key under which a source name is unique.
pub fn source_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Import mode of a source (SPEC §5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// The file is the complete truth for each (source, period) it contains.
    #[default]
    Replace,
    /// Incremental: nothing is removed.
    Upsert,
}

impl ImportMode {
    /// Config / stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replace => "replace",
            Self::Upsert => "upsert",
        }
    }

    /// Parses `replace` / `upsert`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "replace" => Some(Self::Replace),
            "upsert" => Some(Self::Upsert),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(check_source_name("  AWS "), Ok("AWS".into()));
        assert_eq!(check_source_name(" "), Err(SourceNameError::Empty));
        assert_eq!(check_source_name("a\tb"), Err(SourceNameError::Control));
        assert_eq!(
            check_source_name(&"x".repeat(101)),
            Err(SourceNameError::TooLong)
        );
        assert_eq!(source_key("AWS"), source_key("aws"));
    }
}
