//! Checks against the templates directory (SPEC §4.4 warnings, §8.10): files that will be ignored
//! or are missing. Only reads the file system.

use crate::model::{Config, DEFAULT_JOURNAL_TEMPLATE};
use crate::reader::Ctx;

/// Lines of the keys the checks refer to.
pub(super) struct Lines {
    /// `templates_dir`.
    pub templates_dir: Option<usize>,
    /// `journal.template`.
    pub journal_template: Option<usize>,
}

pub(super) fn check(config: &Config, lines: &Lines, ctx: &mut Ctx) {
    let dir = config.effective_templates_dir();
    if let Some(dir) = &dir {
        if dir.join("statement.html").is_file() {
            let msg = format!(
                "statement.html in {} is ignored: PDF statements use statement.typ",
                dir.display()
            );
            ctx.warn(lines.templates_dir, "templates_dir", msg);
        }
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
