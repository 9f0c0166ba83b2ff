//! `export-journal` (SPEC §10, §11.2): writes a journal file for finance and prints where.

use crate::cli::ExportJournalArgs;
use crate::context::Ctx;
use crate::error::CliError;
use ocb_journal::{export_journal, ExportRequest, JournalError, OutputTarget};
use std::process::ExitCode;

pub fn run(ctx: &Ctx, args: ExportJournalArgs) -> Result<ExitCode, CliError> {
    let format: ocb_journal::Format = args.format.parse().map_err(CliError::usage)?;
    let output = match args.output.as_deref() {
        None => OutputTarget::CliDefault,
        Some(p) if p.as_os_str() == "-" => OutputTarget::Stdout,
        Some(p) => OutputTarget::File(std::env::current_dir()?.join(p)),
    };
    let store = ctx.store()?;
    let req = ExportRequest {
        period: args.period,
        format,
        include_flagged: args.include_flagged,
        output: output.clone(),
        actor: ctx.actor(),
    };
    let outcome =
        export_journal(&store, &ctx.config, &req, chrono::Utc::now()).map_err(journal_error)?;
    let r = &outcome.record;
    if output == OutputTarget::Stdout {
        print!("{}", outcome.content);
        if !ctx.global.quiet {
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if ctx.global.json {
        super::print_json(
            &serde_json::to_value(r).map_err(|e| CliError::fail("internal", e.to_string()))?,
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !ctx.global.quiet {
        let path = r
            .path
            .as_ref()
            .map_or("-".into(), |p| p.display().to_string());
        println!("Journal exported to: {path}");
        println!(
            "Format: {}  Rows: {}  Charges: {}",
            r.format, r.row_count, r.charge_count
        );
        let money = |s: &str| ctx.money(s.parse::<ocb_core::exact::ExactSum>().unwrap_or_default());
        println!("Net charge: {}", money(&r.total));
        if let (Some(d), Some(c)) = (&r.debit_total, &r.credit_total) {
            println!("Debits: {}  Credits: {}", money(d), money(c));
        }
    }
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}

fn journal_error(e: JournalError) -> CliError {
    match e {
        JournalError::Store(s) => s.into(),
        other => CliError::fail(other.code(), other.to_string()),
    }
}
