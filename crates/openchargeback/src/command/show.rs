//! `show PI --period P` (SPEC §11.2).

use crate::cli::ShowArgs;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Table;
use ocb_core::exact::ExactSum;
use serde_json::json;
use std::process::ExitCode;

pub fn run(ctx: &Ctx, args: ShowArgs) -> Result<ExitCode, CliError> {
    let store = ctx.store()?;
    if store.period_status(args.period)?.is_none() {
        return Err(CliError::fail(
            "not_found",
            format!("Billing period {} not found", args.period),
        ));
    }
    let rows = store.pi_summary(&args.pi_email, &args.period.to_string())?;
    let total: ExactSum = rows.iter().map(|r| r.billable).sum();
    if ctx.global.json {
        super::print_json(&json!({"items": rows, "total": total.to_string()}));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No charges found for {} in {}", args.pi_email, args.period);
        return Ok(ExitCode::SUCCESS);
    }
    let title = format!("Charges for {} - {}", args.pi_email, args.period);
    let mut t = Table::new(
        Some(&title),
        &[
            "Project", "Fund/Org", "Charges", "Billable", "Flagged", "Status",
        ],
    );
    for r in &rows {
        let status = if r.flagged > 0 {
            format!("{} flagged", r.flagged)
        } else {
            "OK".into()
        };
        t.row(vec![
            r.project_id.clone(),
            r.fund_org.clone(),
            r.charges.to_string(),
            ctx.money(r.billable),
            r.flagged.to_string(),
            status,
        ]);
    }
    print!("{}", t.render());
    println!("Total: {}", ctx.money(total));
    Ok(ExitCode::SUCCESS)
}
