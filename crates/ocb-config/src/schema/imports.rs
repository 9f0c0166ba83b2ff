//! `imports`: default import mode and known sources (SPEC §5.13, §5.14). When `known_sources` is
//! written its list replaces the built-in one entirely.

use super::sub;
use crate::model::{ImportsConfig, KnownSource};
use crate::reader::{describe, Ctx, Section};
use crate::yaml::Kind;
use ocb_core::source::{check_source_name, source_key, ImportMode};

/// Built-in known sources: (name, pattern).
const DEFAULT_SOURCES: &[(&str, &str)] = &[
    ("AWS", "aws"),
    ("Azure", "azure"),
    ("GCP", "gcp"),
    ("HPC", "hpc"),
    ("Storage", "storage"),
];

const MODES: &[&str] = &["replace", "upsert"];

pub(super) fn imports(top: &mut Section<'_>, ctx: &mut Ctx) -> ImportsConfig {
    let mut s = sub(top, ctx, "imports");
    let default_mode = s.choice(
        ctx,
        "default_mode",
        ImportMode::Replace,
        ImportMode::parse,
        MODES,
    );
    let known_sources = match s.value("known_sources") {
        None => DEFAULT_SOURCES
            .iter()
            .map(|(name, pattern)| {
                let source = KnownSource {
                    name: (*name).into(),
                    pattern: (*pattern).into(),
                    fund_org: String::new(),
                    account_code: String::new(),
                    display_name: (*name).into(),
                    import_mode: default_mode,
                };
                (String::new(), 0, source)
            })
            .collect(),
        Some(v) => match &v.node.kind {
            Kind::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| known_source(ctx, item, i, default_mode))
                .collect(),
            other => {
                let msg = format!("expected a list of sources, found {}", describe(other));
                ctx.error(Some(v.line), "imports.known_sources", msg);
                vec![]
            }
        },
    };
    s.finish(ctx);
    check_duplicates(ctx, &known_sources);
    ImportsConfig {
        default_mode,
        known_sources: known_sources.into_iter().map(|(_, _, k)| k).collect(),
    }
}

/// (key path, line of the item, source).
type Located = (String, usize, KnownSource);

fn known_source(
    ctx: &mut Ctx,
    item: &crate::yaml::Node,
    i: usize,
    default_mode: ImportMode,
) -> Option<Located> {
    let key = format!("imports.known_sources[{i}]");
    let Kind::Map(entries) = &item.kind else {
        let msg = format!(
            "expected a mapping with name, pattern, fund_org and account_code, found {}",
            describe(&item.kind)
        );
        ctx.error(Some(item.line), &key, msg);
        return None;
    };
    let mut s = Section::new(&key, Some(item.line), entries, ctx);
    let name_line = s.line_of("name");
    let name = s
        .required_str(ctx, "name")
        .and_then(|n| match check_source_name(&n) {
            Ok(n) => Some(n),
            Err(e) => {
                ctx.error(name_line, &s.key("name"), e.to_string());
                None
            }
        });
    let pattern = s.str_or(ctx, "pattern", "");
    let fund_org = s.str_or(ctx, "fund_org", "").trim().to_string();
    let account_code = s.str_or(ctx, "account_code", "").trim().to_string();
    let display_name = s
        .opt_str(ctx, "display_name")
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let import_mode = s.choice(ctx, "import_mode", default_mode, ImportMode::parse, MODES);
    s.finish(ctx);
    let name = name?;
    Some((
        key,
        name_line.unwrap_or(item.line),
        KnownSource {
            display_name: display_name.unwrap_or_else(|| name.clone()),
            name,
            pattern,
            fund_org,
            account_code,
            import_mode,
        },
    ))
}

fn check_duplicates(ctx: &mut Ctx, sources: &[Located]) {
    for (i, (key, line, src)) in sources.iter().enumerate() {
        let earlier = &sources[..i];
        if let Some((first, _, _)) = earlier
            .iter()
            .find(|(_, _, e)| source_key(&e.name) == source_key(&src.name))
        {
            let msg = format!("duplicate known source name '{}' (names are case-insensitive; first defined at {first})", src.name);
            ctx.error(Some(*line), &format!("{key}.name"), msg);
        }
        let pattern = src.pattern.to_lowercase();
        if pattern.is_empty() {
            continue;
        }
        if let Some((first, _, _)) = earlier
            .iter()
            .find(|(_, _, e)| e.pattern.to_lowercase() == pattern)
        {
            let msg = format!(
                "same pattern '{}' as {first}; files matching it are detected as the first one",
                src.pattern
            );
            ctx.warn(Some(*line), &format!("{key}.pattern"), msg);
        }
    }
}
