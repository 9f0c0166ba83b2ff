//! `periods list|open|close|reopen|finalize|note` (SPEC §6, §11.2).

use crate::cli::PeriodsCommand;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Table;
use ocb_core::period::{PeriodAction, PeriodStatus};
use ocb_store::PeriodTransition;
use serde_json::json;
use std::io::IsTerminal;
use std::process::ExitCode;

pub fn run(ctx: &Ctx, cmd: PeriodsCommand) -> Result<ExitCode, CliError> {
    let mut store = ctx.store()?;
    let actor = ctx.actor();
    let (period, outcome) = match cmd {
        PeriodsCommand::List { status } => return list(ctx, &store, status.as_deref()),
        PeriodsCommand::Open { period, notes } => {
            (period, store.open_period(&actor, period, notes.as_deref())?)
        }
        PeriodsCommand::Close { period, notes } => {
            let outcome =
                store.transition_period(&actor, period, PeriodAction::Close, notes.as_deref())?;
            if let (PeriodTransition::Done(_), Some(info)) = (&outcome, store.get_period(period)?) {
                if info.flagged_count > 0 && !ctx.global.json {
                    eprintln!(
                        "warning: {} charges ({}) are still flagged for review and are excluded from statements",
                        info.flagged_count,
                        ctx.money(info.flagged_total)
                    );
                }
            }
            (period, outcome)
        }
        PeriodsCommand::Reopen { period, reason } => {
            if reason.trim().is_empty() {
                return Err(CliError::usage("--reason must not be blank"));
            }
            (
                period,
                store.transition_period(&actor, period, PeriodAction::Reopen, Some(&reason))?,
            )
        }
        PeriodsCommand::Finalize { period, notes, yes } => {
            if !yes
                && std::io::stdin().is_terminal()
                && !ctx.global.json
                && !confirm(&format!("Finalize {period}? This cannot be undone. [y/N] "))?
            {
                println!("Not finalized.");
                return Ok(ExitCode::SUCCESS);
            }
            (
                period,
                store.transition_period(
                    &actor,
                    period,
                    PeriodAction::Finalize,
                    notes.as_deref(),
                )?,
            )
        }
        PeriodsCommand::Note { period, text } => {
            if text.trim().is_empty() {
                return Err(CliError::usage("the note must not be blank"));
            }
            store.add_period_note(&actor, period, &text)?;
            (
                period,
                PeriodTransition::Done(format!("Note added to {period}")),
            )
        }
    };
    let message = match &outcome {
        PeriodTransition::Done(m) | PeriodTransition::AlreadyThere(m) => m.clone(),
    };
    if ctx.global.json {
        let info = store.get_period(period)?;
        super::print_json(
            &json!({"message": message, "changed": matches!(outcome, PeriodTransition::Done(_)), "period": info}),
        );
    } else if !ctx.global.quiet {
        println!("{message}");
    }
    Ok(ExitCode::SUCCESS)
}

fn confirm(question: &str) -> Result<bool, CliError> {
    eprint!("{question}");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn list(ctx: &Ctx, store: &ocb_store::Store, status: Option<&str>) -> Result<ExitCode, CliError> {
    let periods = match status {
        Some(s) => {
            let st = PeriodStatus::parse(s).ok_or_else(|| {
                CliError::usage(format!("unknown status '{s}' (open, closed, finalized)"))
            })?;
            store.list_periods_with_status(st)?
        }
        None => store.list_periods()?,
    };
    if ctx.global.json {
        super::print_json(&json!({"items": periods}));
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(
        Some("Billing Periods"),
        &[
            "Period",
            "Status",
            "Created",
            "Closed",
            "Finalized",
            "Billable total",
            "Flagged",
            "Statements",
            "Latest note",
        ],
    );
    for p in &periods {
        t.row(vec![
            p.period.clone(),
            p.status.clone(),
            p.created_at.clone(),
            p.closed_at.clone().unwrap_or_default(),
            p.finalized_at.clone().unwrap_or_default(),
            ctx.money(p.billable_total),
            p.flagged_count.to_string(),
            p.statements.clone(),
            p.latest_note.clone().unwrap_or_default(),
        ]);
    }
    if periods.is_empty() {
        println!("No billing periods");
    } else {
        print!("{}", t.render());
    }
    Ok(ExitCode::SUCCESS)
}
