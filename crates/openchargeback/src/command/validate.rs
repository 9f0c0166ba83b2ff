//! `validate PATH…` (SPEC §3.8): lite and strict FOCUS checks. The database is only read (for
//! the effective review patterns, §4.5), never created or written.

use crate::cli::{Global, ValidateArgs};
use crate::context::Ctx;
use crate::error::CliError;
use ocb_focus::validate::{render_human, validate_path, ValidateOptions};
use std::process::ExitCode;

pub fn run(global: Global, args: ValidateArgs) -> Result<ExitCode, CliError> {
    let json = global.json;
    let ctx = Ctx::load(global)?;
    let store = ctx.store_if_exists()?;
    let review = ctx.effective_review(store.as_ref())?.rules;
    drop(store);
    let opts = ValidateOptions {
        strict: args.strict,
        max_examples: args.max_examples,
        tag_mapping: ctx.config.tag_mapping.clone(),
        review,
    };
    let reports: Vec<_> = args.paths.iter().map(|p| validate_path(p, &opts)).collect();
    let pass = reports.iter().all(|r| r.passed());
    if json {
        super::print_json(
            &serde_json::json!({"files": reports, "result": if pass { "pass" } else { "fail" }}),
        );
    } else {
        for r in &reports {
            print!("{}", render_human(r, &ctx.config.currency));
        }
    }
    Ok(if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
