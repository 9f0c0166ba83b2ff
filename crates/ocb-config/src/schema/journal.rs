//! `journal`: fund/org parsing regex (SPEC §10.7), account check (§10.8), descriptions (§10.9)
//! and the template file name (§10.10).

use super::review::{compile, regex_message};
use super::sub;
use crate::model::{
    JournalConfig, DEFAULT_FUND_ORG_REGEX, DEFAULT_JOURNAL_DESCRIPTION, DEFAULT_JOURNAL_TEMPLATE,
};
use crate::placeholder::{check_placeholders, JOURNAL_PLACEHOLDERS};
use crate::reader::{Ctx, Item, Section};
use ocb_core::flags::Pattern;

/// Returns the journal config and the line of `journal.template` (for file checks).
pub(super) fn journal(top: &mut Section<'_>, ctx: &mut Ctx) -> (JournalConfig, Option<usize>) {
    let mut s = sub(top, ctx, "journal");
    let fund_org_regex = s.str_or(ctx, "fund_org_regex", DEFAULT_FUND_ORG_REGEX);
    let fund_org_pattern = regex_item(&mut s, "fund_org_regex", &fund_org_regex)
        .and_then(|item| compile(ctx, &item, Pattern::raw).map(|p| (item, p)))
        .map(|(item, p)| {
            warn_missing_groups(ctx, &item, &p);
            p
        });
    let account_code_regex = s.str_or(ctx, "account_code_regex", "");
    let account_code_pattern = regex_item(&mut s, "account_code_regex", &account_code_regex)
        .and_then(|item| compile(ctx, &item, Pattern::raw))
        .and_then(|_| full_match(ctx, &s, &account_code_regex));
    let template_line = s.line_of("template");
    let template = s
        .str_or(ctx, "template", DEFAULT_JOURNAL_TEMPLATE)
        .trim()
        .to_string();
    if template.is_empty() {
        ctx.error(template_line, "journal.template", "must not be empty");
    } else if template.contains(['/', '\\']) || template.contains("..") {
        let msg = format!(
            "'{template}' must be a file name in the templates directory (no '/', '\\' or '..')"
        );
        ctx.error(template_line, "journal.template", msg);
    }
    let debit_description = description(&mut s, ctx, "debit_description");
    let credit_description = description(&mut s, ctx, "credit_description");
    let config = JournalConfig {
        fund_org_regex,
        fund_org_pattern,
        account_code_regex,
        account_code_pattern,
        template,
        default_account: s.str_or(ctx, "default_account", ""),
        debit_description,
        credit_description,
        clearing_fund_org: s.str_or(ctx, "clearing_fund_org", ""),
    };
    s.finish(ctx);
    (config, template_line)
}

/// The regex as a list item for `compile`; `None` when empty (no regex configured).
fn regex_item(s: &mut Section<'_>, name: &str, text: &str) -> Option<Item> {
    (!text.is_empty()).then(|| Item {
        text: text.to_string(),
        key: s.key(name),
        line: s.line_of(name),
    })
}

/// The account regex wrapped for full matching (SPEC §10.8: every account must fully match).
fn full_match(ctx: &mut Ctx, s: &Section<'_>, text: &str) -> Option<Pattern> {
    match Pattern::raw(&format!("^(?:{text})$")) {
        Ok(p) => Some(p),
        Err(e) => {
            ctx.error(None, &s.key("account_code_regex"), regex_message(&e));
            None
        }
    }
}

fn warn_missing_groups(ctx: &mut Ctx, item: &Item, p: &Pattern) {
    let names: Vec<&str> = p.regex().capture_names().flatten().collect();
    let missing: Vec<&str> = ["orgn", "fund"]
        .into_iter()
        .filter(|g| !names.contains(g))
        .collect();
    if !missing.is_empty() {
        let msg = format!(
            "has no named group {}; journal entries will leave those fields empty (fund falls back to the whole fund/org)",
            missing.iter().map(|g| format!("(?P<{g}>...)")).collect::<Vec<_>>().join(" or ")
        );
        ctx.warn(item.line, &item.key, msg);
    }
}

fn description(s: &mut Section<'_>, ctx: &mut Ctx, name: &str) -> String {
    let line = s.line_of(name);
    let text = s.str_or(ctx, name, DEFAULT_JOURNAL_DESCRIPTION);
    if let Err(msg) = check_placeholders(&text, JOURNAL_PLACEHOLDERS) {
        ctx.error(line, &s.key(name), msg);
    }
    text
}

/// `config check` notice: known sources without `fund_org` while `journal.clearing_fund_org` is
/// empty are credited to `CLOUD-CLEARING` by `gl`, `gl-upstream` and `template` journals (the
/// Python web UI's clearing account). Any source not listed in `known_sources` is too.
pub(super) fn clearing_notice(config: &crate::model::Config, ctx: &mut Ctx) {
    if !config.journal.clearing_fund_org.is_empty() {
        return;
    }
    let names: Vec<String> = config
        .imports
        .known_sources
        .iter()
        .filter(|s| s.fund_org.is_empty())
        .map(|s| format!("'{}'", s.name))
        .collect();
    let which = match names.len() {
        0 => "sources not listed in imports.known_sources are".to_string(),
        1 => format!("source {} (and any source not listed) is", names[0]),
        _ => format!(
            "sources {} (and any source not listed) are",
            names.join(", ")
        ),
    };
    let msg = format!(
        "empty: in gl, gl-upstream and template journals {which} credited to {} \
         (set imports.known_sources[].fund_org or journal.clearing_fund_org)",
        crate::model::DEFAULT_CLEARING_FUND_ORG
    );
    ctx.notice(None, "journal.clearing_fund_org", msg);
}
