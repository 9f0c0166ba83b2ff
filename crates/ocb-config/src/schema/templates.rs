//! Checks against the templates directory (SPEC §4.4 warnings, §8.10): files that will be ignored
//! or are missing. Only reads the file system.

use crate::model::{Config, DEFAULT_JOURNAL_TEMPLATE};
use crate::reader::Ctx;

impl Config {
    /// The notice for a templates directory holding the Python project's `statement.html` but
    /// no `statement.typ`: PDFs then use the default Typst template with the
    /// `statements.branding` settings. Shown by `config check`, `serve` and the web statements
    /// page, not by every command (issue 17).
    pub fn statement_html_notice(&self) -> Option<String> {
        let dir = self.effective_templates_dir()?;
        let html = dir.join("statement.html");
        if !html.is_file() || dir.join("statement.typ").is_file() {
            return None;
        }
        Some(format!(
            "{} is not used: PDF statements use the default Typst template with the \
             statements.branding settings (logo, colour, address, footer and contact text); \
             see docs/statement-template.md#coming-from-statement-html",
            html.display()
        ))
    }
}

/// Lines of the keys the checks refer to.
pub(super) struct Lines {
    /// `templates_dir`.
    pub templates_dir: Option<usize>,
    /// `journal.template`.
    pub journal_template: Option<usize>,
}

pub(super) fn check(config: &Config, lines: &Lines, ctx: &mut Ctx) {
    let dir = config.effective_templates_dir();
    if let Some(msg) = config.statement_html_notice() {
        ctx.notice(lines.templates_dir, "templates_dir", msg);
    }
    let name = &config.journal.template;
    if name.is_empty()
        || name == DEFAULT_JOURNAL_TEMPLATE
        || name.contains(['/', '\\'])
        || name.contains("..")
    {
        return;
    }
    let found = dir.as_ref().is_some_and(|d| d.join(name).is_file());
    if !found {
        let place = dir.map_or_else(
            || "no templates directory exists".to_string(),
            |d| format!("not found in {}", d.display()),
        );
        let msg =
            format!("journal template '{name}': {place}; `template` journal exports will fail");
        ctx.warn(lines.journal_template, "journal.template", msg);
    }
}
