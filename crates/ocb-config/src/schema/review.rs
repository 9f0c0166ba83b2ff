//! `review`: flag and fund/org patterns (SPEC §5.4). Every pattern is compiled now, so an
//! invalid one is a startup error instead of upstream's silent skip.

use super::sub;
use crate::model::ReviewConfig;
use crate::reader::{Ctx, Item, Section};
use ocb_core::flags::{Pattern, PatternError, ReviewRules};

/// A regex compile error message on one line, naming the pattern and the position.
pub(super) fn regex_message(e: &PatternError) -> String {
    let flat: Vec<&str> = e.message.split_whitespace().collect();
    format!("invalid regex '{}': {}", e.pattern, flat.join(" "))
}

/// Compiles with `build`, reporting errors against the text as written (positions match it).
pub(super) fn compile(
    ctx: &mut Ctx,
    item: &Item,
    build: fn(&str) -> Result<Pattern, PatternError>,
) -> Option<Pattern> {
    let result = Pattern::raw(&item.text).and_then(|_| build(&item.text));
    match result {
        Ok(p) => Some(p),
        Err(e) => {
            ctx.error(item.line, &item.key, regex_message(&e));
            None
        }
    }
}

pub(super) fn review(top: &mut Section<'_>, ctx: &mut Ctx) -> ReviewConfig {
    let mut s = sub(top, ctx, "review");
    let flag = s.str_list(ctx, "flag_patterns").unwrap_or_default();
    let fund = s.str_list(ctx, "fund_org_patterns").unwrap_or_default();
    s.finish(ctx);
    for item in &flag {
        if item.text.is_empty() {
            ctx.warn(
                item.line,
                &item.key,
                "an empty flag pattern flags every charge",
            );
        }
    }
    let rules = ReviewRules {
        flag_patterns: flag
            .iter()
            .filter_map(|i| compile(ctx, i, Pattern::search))
            .collect(),
        fund_org_patterns: fund
            .iter()
            .filter_map(|i| compile(ctx, i, Pattern::full))
            .collect(),
    };
    ReviewConfig {
        flag_patterns: flag.into_iter().map(|i| i.text).collect(),
        fund_org_patterns: fund.into_iter().map(|i| i.text).collect(),
        rules,
    }
}
