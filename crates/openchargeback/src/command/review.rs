//! `review list|approve|reject|restore` (SPEC §7.3).

use crate::cli::{ReviewCommand, ReviewFilterArgs};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Table;
use ocb_core::attribution::is_valid_email;
use ocb_store::{ChargeFilter, Override, ReviewAction, ReviewRequest, ReviewScope};
use serde_json::json;
use std::process::ExitCode;

fn filter_of(f: &ReviewFilterArgs) -> ChargeFilter {
    ChargeFilter {
        period: f.period.map(|p| p.to_string()),
        source: f.source.clone(),
        reason: f.reason.clone(),
        ..Default::default()
    }
}

pub fn run(ctx: &Ctx, cmd: ReviewCommand) -> Result<ExitCode, CliError> {
    match cmd {
        ReviewCommand::List { filter, limit } => list(ctx, &filter, limit),
        ReviewCommand::Approve {
            ids,
            filter,
            note,
            pi_email,
            project_id,
            fund_org,
        } => {
            let has_override = pi_email.is_some() || project_id.is_some() || fund_org.is_some();
            if has_override && ids.len() != 1 {
                return Err(CliError::usage(
                    "--pi-email, --project-id and --fund-org need exactly one --id",
                ));
            }
            let ovr = has_override.then_some(Override {
                pi_email,
                project_id,
                fund_org,
            });
            if let Some(o) = &ovr {
                validate_override(ctx, o)?;
            }
            act(ctx, ReviewAction::Approve, scope(ids, &filter)?, note, ovr)
        }
        ReviewCommand::Reject { ids, filter, note } => {
            act(ctx, ReviewAction::Reject, scope(ids, &filter)?, note, None)
        }
        ReviewCommand::Restore { ids } => act(
            ctx,
            ReviewAction::Restore,
            ReviewScope::Ids(ids),
            None,
            None,
        ),
    }
}

fn scope(ids: Vec<i64>, f: &ReviewFilterArgs) -> Result<ReviewScope, CliError> {
    match (ids.is_empty(), f.period) {
        (true, None) => Err(CliError::usage("Must specify --period or --id")),
        (false, Some(_)) => Err(CliError::usage("--id and --period cannot be combined")),
        (false, None) if f.reason.is_some() || f.source.is_some() => Err(CliError::usage(
            "--reason and --source apply to --period only",
        )),
        (false, None) => Ok(ReviewScope::Ids(ids)),
        (true, Some(_)) => Ok(ReviewScope::Filter(filter_of(f))),
    }
}

fn validate_override(ctx: &Ctx, o: &Override) -> Result<(), CliError> {
    if let Some(e) = &o.pi_email {
        if !is_valid_email(e.trim()) {
            return Err(CliError::fail(
                "validation_failed",
                format!("--pi-email '{e}' is not a valid email address"),
            ));
        }
    }
    if let Some(f) = &o.fund_org {
        let store = ctx.store_if_exists()?;
        if !ctx
            .effective_review(store.as_ref())?
            .rules
            .fund_org_ok(f.trim())
        {
            return Err(CliError::fail(
                "validation_failed",
                format!("--fund-org '{f}' does not match review.fund_org_patterns"),
            ));
        }
    }
    Ok(())
}

fn act(
    ctx: &Ctx,
    action: ReviewAction,
    scope: ReviewScope,
    note: Option<String>,
    ovr: Option<Override>,
) -> Result<ExitCode, CliError> {
    let mut store = ctx.store()?;
    let requested_ids = matches!(scope, ReviewScope::Ids(_));
    let req = ReviewRequest {
        action,
        scope,
        note,
        override_: ovr,
        expected_count: None,
    };
    let summary = store.review(&ctx.actor(), &req)?;
    let failed_single = requested_ids && summary.skipped > 0;
    if ctx.global.json {
        super::print_json(&serde_json::to_value(&summary).map_err(anyhow::Error::from)?);
    } else if !ctx.global.quiet {
        for o in &summary.outcomes {
            if o.done && !requested_ids {
                continue;
            }
            if o.done {
                println!("{}", o.message);
            } else {
                eprintln!("{}", o.message);
            }
        }
        if !requested_ids {
            let verb = match action {
                ReviewAction::Approve => "Approved",
                ReviewAction::Reject => "Rejected",
                ReviewAction::Restore => "Restored",
            };
            let skipped = if summary.skipped > 0 {
                format!("; {} skipped", summary.skipped)
            } else {
                String::new()
            };
            println!(
                "{verb} {} charges ({}){skipped}",
                summary.acted,
                ctx.money(summary.total_amount)
            );
        }
    }
    Ok(if failed_single {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn list(ctx: &Ctx, f: &ReviewFilterArgs, limit: Option<usize>) -> Result<ExitCode, CliError> {
    let store = ctx.store()?;
    let (rows, count, total) = store.review_queue(&filter_of(f), limit)?;
    if ctx.global.json {
        super::print_json(&json!({"items": rows, "total": count, "total_cost": total.to_string()}));
        return Ok(ExitCode::SUCCESS);
    }
    if count == 0 {
        println!("No charges flagged for review");
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(
        Some("Charges Flagged for Review"),
        &[
            "ID", "Period", "Source", "PI", "Resource", "Cost", "Reasons",
        ],
    );
    for r in &rows {
        let resource = r
            .resource_name
            .clone()
            .or_else(|| r.resource_id.clone())
            .unwrap_or_else(|| "N/A".into());
        t.row(vec![
            r.id.to_string(),
            r.period.clone(),
            r.source.clone(),
            r.pi_email.clone().unwrap_or_default(),
            resource,
            ctx.money(r.billed_cost),
            r.reasons.join(", "),
        ]);
    }
    print!("{}", t.render());
    println!("Total: {count} charges, {}", ctx.money(total));
    Ok(ExitCode::SUCCESS)
}
