//! From the YAML tree to the typed [`Config`]: one function per top-level section, each reading
//! its keys with defaults from SPEC §4.3 (kept here and only here) and recording every problem.

mod basics;
mod branding;
mod imports;
mod journal;
mod mail;
mod review;
mod templates;
mod web;

use crate::choices::TimeZoneSetting;
use crate::model::Config;
use crate::reader::{Ctx, Section};
use crate::yaml::{Entry, Kind, Node};
use ocb_core::amount::Rounding;
use std::path::{Path, PathBuf};

/// What the build needs besides the tree.
pub(crate) struct Inputs<'a> {
    /// Working directory (absolute): relative paths resolve against it.
    pub cwd: &'a Path,
    /// Environment lookup (only `WEB_SECRET_KEY` is read here; expansion happened before).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The config file, absolute.
    pub config_path: Option<PathBuf>,
}

/// A sub-section of `parent`, or an empty one (all defaults) when absent or null.
pub(crate) fn sub<'a>(parent: &mut Section<'a>, ctx: &mut Ctx, name: &str) -> Section<'a> {
    parent
        .section(ctx, name)
        .unwrap_or_else(|| Section::new(&parent.key(name), None, &[], ctx))
}

/// Builds the config; problems go to `ctx`.
pub(crate) fn build(root: Option<&Node>, inputs: &Inputs<'_>, ctx: &mut Ctx) -> Config {
    let entries: &[Entry] = match root.map(|n| (n.line, &n.kind)) {
        None => &[],
        Some((_, Kind::Map(entries))) => entries,
        Some((line, _)) => {
            ctx.error(
                Some(line),
                "",
                "the top level must be a mapping of keys (e.g. `dev_mode: false`)",
            );
            &[]
        }
    };
    let cwd = inputs.cwd;
    let mut top = Section::new("", None, entries, ctx);
    let instance_dir = inputs
        .config_path
        .as_deref()
        .and_then(Path::parent)
        .map_or_else(|| cwd.join("instance"), Path::to_path_buf);
    let templates_dir_line = top.line_of("templates_dir");
    let (journal, journal_template_line) = journal::journal(&mut top, ctx);
    let (statements, logo) = basics::statements(&mut top, ctx);
    let mut config = Config {
        config_path: inputs.config_path.clone(),
        instance_dir,
        working_dir: cwd.to_path_buf(),
        dev_mode: top.bool_or(ctx, "dev_mode", false),
        currency: top.str_or(ctx, "currency", "$"),
        timezone: timezone(&mut top, ctx),
        rounding: top.choice(
            ctx,
            "rounding",
            Rounding::HalfEven,
            Rounding::parse,
            &["half_even", "half_up"],
        ),
        templates_dir: top.opt_path(ctx, "templates_dir", cwd),
        database: basics::database(&mut top, ctx, cwd),
        smtp: mail::smtp(&mut top, ctx),
        email: mail::email(&mut top, ctx),
        tag_mapping: basics::tag_mapping(&mut top, ctx),
        output: basics::output(&mut top, ctx, cwd),
        logging: basics::logging(&mut top, ctx, cwd),
        sources: basics::sources(&mut top, ctx),
        web: web::web(&mut top, ctx, inputs.env),
        review: review::review(&mut top, ctx),
        imports: imports::imports(&mut top, ctx),
        journal,
        statements,
    };
    let lines = templates::Lines {
        templates_dir: templates_dir_line,
        journal_template: journal_template_line,
    };
    top.finish(ctx);
    config.statements.branding.logo =
        logo.and_then(|item| branding::resolve_logo(&config, item, ctx));
    templates::check(&config, &lines, ctx);
    journal::clearing_notice(&config, ctx);
    config
}

fn timezone(top: &mut Section<'_>, ctx: &mut Ctx) -> TimeZoneSetting {
    let line = top.line_of("timezone");
    match top.opt_str(ctx, "timezone") {
        None => TimeZoneSetting::Local,
        Some(text) => TimeZoneSetting::parse(text.trim()).unwrap_or_else(|| {
            let msg = format!(
                "unknown timezone '{text}'; use an IANA zone such as America/Chicago, UTC or local"
            );
            ctx.error(line, "timezone", msg);
            TimeZoneSetting::Local
        }),
    }
}
