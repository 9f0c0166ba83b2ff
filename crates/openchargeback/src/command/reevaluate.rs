//! `reevaluate [-p P] [--dry-run]` (SPEC §7.7): recomputes flag reasons from stored content and
//! the effective review settings; prints the counts per period.

use crate::cli::ReevaluateArgs;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Table;
use ocb_store::ReevaluationReport;
use std::process::ExitCode;

pub fn run(ctx: &Ctx, args: ReevaluateArgs) -> Result<ExitCode, CliError> {
    // A dry run never creates or migrates the database (§11.1).
    let mut store = if args.dry_run {
        match ctx.store_if_exists()? {
            Some(s) => s,
            None => return no_database(ctx, &args),
        }
    } else {
        ctx.store()?
    };
    let rules = ctx.effective_review(Some(&store))?.rules;
    let spinner = spinner(ctx);
    let report = store.reevaluate_flags(&ctx.actor(), args.period, &rules, args.dry_run)?;
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    if ctx.global.json {
        super::print_json(&serde_json::to_value(&report).map_err(anyhow::Error::from)?);
    } else if !ctx.global.quiet {
        print!("{}", render(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// The work is one scan per period with no row count known up front, so a spinner.
fn spinner(ctx: &Ctx) -> Option<indicatif::ProgressBar> {
    if !ctx.progress() {
        return None;
    }
    let b = indicatif::ProgressBar::new_spinner();
    b.set_message("re-evaluating flags");
    b.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(b)
}

fn no_database(ctx: &Ctx, args: &ReevaluateArgs) -> Result<ExitCode, CliError> {
    if let Some(p) = args.period {
        return Err(CliError::fail(
            "not_found",
            format!("Billing period {p} not found"),
        ));
    }
    let empty = ReevaluationReport {
        dry_run: true,
        periods: vec![],
        skipped_finalized: vec![],
        totals: Default::default(),
    };
    if ctx.global.json {
        super::print_json(&serde_json::to_value(&empty).map_err(anyhow::Error::from)?);
    } else if !ctx.global.quiet {
        print!("{}", render(&empty));
    }
    Ok(ExitCode::SUCCESS)
}

fn render(r: &ReevaluationReport) -> String {
    let title = if r.dry_run {
        "Flag re-evaluation (dry run — nothing written)"
    } else {
        "Flag re-evaluation"
    };
    let mut out = String::new();
    if r.periods.is_empty() {
        out.push_str(&format!(
            "{title}: no open or closed periods to re-evaluate\n"
        ));
    } else {
        let mut t = Table::new(
            Some(title),
            &[
                "Period",
                "Status",
                "Newly flagged",
                "Cleared",
                "Reasons changed",
                "Unchanged",
                "Skipped (reviewed)",
            ],
        );
        let row = |name: String, status: String, c: &ocb_core::reevaluate::Counts| {
            vec![
                name,
                status,
                c.newly_flagged.to_string(),
                c.cleared.to_string(),
                c.changed.to_string(),
                c.unchanged.to_string(),
                c.skipped.to_string(),
            ]
        };
        for p in &r.periods {
            t.row(row(p.period.clone(), p.status.clone(), &p.counts));
        }
        if r.periods.len() > 1 {
            t.row(row("Total".into(), String::new(), &r.totals));
        }
        out.push_str(&t.render());
    }
    if !r.skipped_finalized.is_empty() {
        out.push_str(&format!(
            "Skipped finalized periods: {}\n",
            r.skipped_finalized.join(", ")
        ));
    }
    out
}
