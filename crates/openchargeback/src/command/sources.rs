//! `sources list|sync-status|add` (SPEC §5.13, §11.2).

use crate::cli::SourcesCommand;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Table;
use serde_json::json;
use std::process::ExitCode;

pub fn run(ctx: &Ctx, cmd: SourcesCommand) -> Result<ExitCode, CliError> {
    let mut store = ctx.store()?;
    match cmd {
        SourcesCommand::Add {
            name,
            display_name,
            source_type,
        } => {
            let name = ocb_core::source::check_source_name(&name)
                .map_err(|e| CliError::usage(e.to_string()))?;
            let known = ctx
                .config
                .known_source(&name)
                .map(|k| k.name.clone())
                .unwrap_or(name);
            let created =
                store.add_source(&ctx.actor(), &known, display_name.as_deref(), &source_type)?;
            let stored = store.find_source(&known)?.map(|s| s.1).unwrap_or(known);
            let message = if created {
                format!("Source '{stored}' created")
            } else {
                format!("Source '{stored}' already exists")
            };
            if ctx.global.json {
                super::print_json(&json!({"message": message, "created": created, "name": stored}));
            } else {
                println!("{message}");
            }
            Ok(ExitCode::SUCCESS)
        }
        SourcesCommand::List | SourcesCommand::SyncStatus => list(ctx, &store),
    }
}

fn list(ctx: &Ctx, store: &ocb_store::Store) -> Result<ExitCode, CliError> {
    let sources = store.list_sources()?;
    let items: Vec<serde_json::Value> = sources
        .iter()
        .map(|s| {
            let k = ctx.config.known_source(&s.name);
            json!({
                "name": s.name,
                "display_name": s.display_name.clone().or_else(|| k.map(|k| k.display_name.clone())).unwrap_or_else(|| s.name.clone()),
                "type": s.source_type,
                "mode": k.map(|k| k.import_mode).unwrap_or(ctx.config.imports.default_mode).as_str(),
                "credit_fund_org": k.map(|k| k.fund_org.clone()).unwrap_or_default(),
                "account": k.map(|k| k.account_code.clone()).unwrap_or_default(),
                "charges": s.charges,
                "last_import": s.last_import_at,
                "last_import_status": s.last_import_status,
                "last_import_rows": s.last_import_rows,
                "last_import_errors": s.last_import_errors,
            })
        })
        .collect();
    if ctx.global.json {
        super::print_json(&json!({"items": items}));
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        println!("No sources yet");
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(
        Some("Sources"),
        &[
            "Name",
            "Display name",
            "Type",
            "Mode",
            "Credit fund/org",
            "Account",
            "Charges",
            "Last import",
        ],
    );
    let s = |v: &serde_json::Value| {
        v.as_str().map(str::to_string).unwrap_or_else(|| {
            if v.is_null() {
                String::new()
            } else {
                v.to_string()
            }
        })
    };
    for i in &items {
        let last = match i["last_import"].as_str() {
            Some(at) => format!(
                "{at} {} ({} rows, {} errors)",
                s(&i["last_import_status"]),
                s(&i["last_import_rows"]),
                s(&i["last_import_errors"])
            ),
            None => "never".into(),
        };
        t.row(vec![
            s(&i["name"]),
            s(&i["display_name"]),
            s(&i["type"]),
            s(&i["mode"]),
            s(&i["credit_fund_org"]),
            s(&i["account"]),
            s(&i["charges"]),
            last,
        ]);
    }
    print!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}
