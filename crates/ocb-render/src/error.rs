//! Errors of the renderer, worded for the operator who edits `statement.typ` (SPEC 8.4 step 6,
//! 8.10: template errors name the file, line and message).

use std::fmt;
use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = RenderError> = std::result::Result<T, E>;

/// Everything that can go wrong while loading the template or rendering a statement.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template, font or template-directory file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file in `<templates dir>/fonts/` is not a TrueType/OpenType font.
    #[error("{path} is not a font Typst can read (TrueType or OpenType expected)")]
    InvalidFont {
        /// The offending file.
        path: PathBuf,
    },
    /// The statement template failed to compile for this data (syntax error, unknown field, ...).
    #[error("{}", DiagnosticList(.0))]
    Template(Vec<TemplateDiagnostic>),
    /// The laid-out document could not be written as PDF.
    #[error("PDF export of the statement failed: {0}")]
    Pdf(String),
    /// The template data could not be serialised to JSON.
    #[error("statement template data could not be serialised: {0}")]
    Data(#[from] serde_json::Error),
}

/// One Typst error, located in a file of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDiagnostic {
    /// Where the error is: the template path, `embedded statement.typ`, `/data.json`, or another
    /// file of the templates directory.
    pub file: String,
    /// 1-based line, when the error points into a file.
    pub line: Option<usize>,
    /// 1-based column (in characters), when the error points into a file.
    pub column: Option<usize>,
    /// Typst's message.
    pub message: String,
    /// Typst's hints, if any.
    pub hints: Vec<String>,
}

impl fmt::Display for TemplateDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "statement template error in {}", self.file)?;
        if let Some(line) = self.line {
            write!(f, " at line {line}")?;
            if let Some(column) = self.column {
                write!(f, ", column {column}")?;
            }
        }
        write!(f, ": {}", self.message)?;
        for hint in &self.hints {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

struct DiagnosticList<'a>(&'a [TemplateDiagnostic]);

impl fmt::Display for DiagnosticList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("statement template failed to compile"),
            [first, rest @ ..] => {
                write!(f, "{first}")?;
                for more in rest {
                    write!(f, "; {more}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_error_names_file_line_column_and_message() {
        let err = RenderError::Template(vec![
            TemplateDiagnostic {
                file: "/srv/templates/statement.typ".into(),
                line: Some(12),
                column: Some(5),
                message: "unclosed delimiter".into(),
                hints: vec![],
            },
            TemplateDiagnostic {
                file: "/data.json".into(),
                line: None,
                column: None,
                message: "failed to parse JSON".into(),
                hints: vec!["check the data".into()],
            },
        ]);
        assert_eq!(
            err.to_string(),
            "statement template error in /srv/templates/statement.typ at line 12, column 5: \
             unclosed delimiter; statement template error in /data.json: failed to parse JSON \
             (hint: check the data)"
        );
    }
}
