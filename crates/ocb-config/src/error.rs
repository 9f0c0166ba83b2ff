//! Diagnostics and errors: every config problem carries file, line and key path so that the
//! operator can go straight to it (SPEC §4.4: `config error: FILE:LINE: KEY.PATH: message`).

use std::fmt;
use std::path::PathBuf;

/// One config problem or notice, located by file, line and key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The config file (absent when built-in defaults are used).
    pub file: Option<PathBuf>,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Key path such as `smtp.host` or `review.flag_patterns[2]`; empty for file-level problems.
    pub key: String,
    /// What is wrong, written for the operator.
    pub message: String,
}

impl Diagnostic {
    /// The line printed for an error: `config error: FILE:LINE: key: message`.
    pub fn error_line(&self) -> String {
        format!("config error: {self}")
    }

    /// The line printed for a warning: `config warning: FILE:LINE: key: message`.
    pub fn warning_line(&self) -> String {
        format!("config warning: {self}")
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            f.write_str(": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every error found while loading a config, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&d.error_line())?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The crate's error type.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A config path given explicitly (option or environment) does not exist.
    #[error("config file not found: {}", .0.display())]
    NotFound(PathBuf),
    /// The config was read but is invalid.
    #[error("{0}")]
    Invalid(#[from] ConfigErrors),
}

/// Result alias of this crate.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn diag(file: Option<&str>, line: Option<usize>, key: &str) -> Diagnostic {
        Diagnostic {
            file: file.map(PathBuf::from),
            line,
            key: key.into(),
            message: "bad".into(),
        }
    }

    #[rstest]
    #[case(Some("/c.yaml"), Some(3), "smtp.host", "/c.yaml:3: smtp.host: bad")]
    #[case(Some("/c.yaml"), None, "smtp.host", "/c.yaml: smtp.host: bad")]
    #[case(Some("/c.yaml"), Some(1), "", "/c.yaml:1: bad")]
    #[case(None, None, "web.secret_key", "web.secret_key: bad")]
    fn diagnostics_render_location_first(
        #[case] file: Option<&str>,
        #[case] line: Option<usize>,
        #[case] key: &str,
        #[case] expected: &str,
    ) {
        assert_eq!(diag(file, line, key).to_string(), expected);
    }

    #[test]
    fn errors_render_one_line_each() {
        let errs = ConfigErrors(vec![diag(None, None, "a"), diag(None, None, "b")]);
        assert_eq!(
            errs.to_string(),
            "config error: a: bad\nconfig error: b: bad"
        );
        assert_eq!(
            diag(None, None, "a").warning_line(),
            "config warning: a: bad"
        );
    }
}
