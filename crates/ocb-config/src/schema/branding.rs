//! `statements.branding` (issue 17): logo, colour, address, footer and contact text for the
//! default statement template, so a site that customised the Python `statement.html` needs no
//! template of its own. Every problem names its key.

use super::sub;
use crate::model::{Branding, Config};
use crate::reader::{resolve, Ctx, Section};
use std::path::PathBuf;

/// Image formats Typst's `image()` reads from a file.
const LOGO_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "svg"];

/// The logo as written, resolved after the templates directory is known.
pub(crate) struct LogoItem {
    text: String,
    key: String,
    line: Option<usize>,
}

/// Reads `statements.branding`; the logo path is checked by [`resolve_logo`].
pub(super) fn branding(
    statements: &mut Section<'_>,
    ctx: &mut Ctx,
) -> (Branding, Option<LogoItem>) {
    let mut s = sub(statements, ctx, "branding");
    let logo = text(&mut s, ctx, "logo").map(|text| LogoItem {
        text,
        key: s.key("logo"),
        line: s.line_of("logo"),
    });
    let branding = Branding {
        logo: None,
        primary_color: color(&mut s, ctx),
        organization_address: text(&mut s, ctx, "organization_address"),
        footer_text: text(&mut s, ctx, "footer_text"),
        contact_text: text(&mut s, ctx, "contact_text"),
    };
    s.finish(ctx);
    (branding, logo)
}

/// A text value; empty (or only whitespace) means not set. Trailing line breaks of YAML block
/// scalars (`|`) are dropped so they do not print as empty lines.
fn text(s: &mut Section<'_>, ctx: &mut Ctx, name: &str) -> Option<String> {
    s.opt_str(ctx, name)
        .map(|t| t.trim_end().to_string())
        .filter(|t| !t.trim().is_empty())
}

/// `primary_color`: `#RRGGBB`, kept in lower case.
fn color(s: &mut Section<'_>, ctx: &mut Ctx) -> Option<String> {
    let line = s.line_of("primary_color");
    let value = text(s, ctx, "primary_color")?;
    let v = value.trim();
    let hex = v.strip_prefix('#').filter(|h| h.len() == 6);
    if hex.is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit())) {
        return Some(v.to_ascii_lowercase());
    }
    let msg = format!("'{value}' is not a colour: write #RRGGBB, e.g. \"#2c3e50\"");
    ctx.error(line, &s.key("primary_color"), msg);
    None
}

/// The logo file: an absolute path as given; a relative one in the templates directory when it
/// is there (where a Python `statement.html` kept its images), else relative to the working
/// directory like every other path of the config. Must exist and be PNG, JPEG or SVG.
pub(super) fn resolve_logo(config: &Config, item: LogoItem, ctx: &mut Ctx) -> Option<PathBuf> {
    let text = item.text.trim();
    let in_templates = config
        .effective_templates_dir()
        .map(|d| resolve(&d, text))
        .filter(|p| p.is_file());
    let path = in_templates.unwrap_or_else(|| resolve(&config.working_dir, text));
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let problem = if !LOGO_EXTENSIONS.contains(&ext.as_str()) {
        format!("'{text}' must be a PNG, JPEG or SVG file (.png, .jpg, .jpeg, .svg)")
    } else if !path.is_file() {
        let dir = config
            .effective_templates_dir()
            .map_or_else(String::new, |d| format!("{} or ", d.display()));
        format!(
            "logo file '{text}' not found (looked in {dir}{})",
            config.working_dir.display()
        )
    } else {
        return Some(path);
    };
    ctx.error(item.line, &item.key, problem);
    None
}
