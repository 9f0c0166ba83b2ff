//! `db check`: integrity and foreign-key checks plus import-count reconciliation;
//! `db import-upstream` lives in `db_import_upstream.rs`.

use crate::cli::DbCommand;
use crate::context::Ctx;
use crate::error::CliError;
use std::process::ExitCode;

pub fn run(ctx: &Ctx, cmd: DbCommand) -> Result<ExitCode, CliError> {
    match cmd {
        DbCommand::ImportUpstream { path, merge } => {
            super::db_import_upstream::run(ctx, &path, merge)
        }
        DbCommand::Check => {
            let store = ctx.store()?;
            let mut problems = store.integrity_problems()?;
            for i in store.list_imports(usize::MAX >> 1)? {
                if !i.totals.reconciles() || (i.status == "committed" && i.totals.refused > 0) {
                    problems.push(format!("import {} counts do not reconcile", i.id));
                }
            }
            if ctx.global.json {
                super::print_json(
                    &serde_json::json!({"ok": problems.is_empty(), "problems": problems}),
                );
            } else if problems.is_empty() {
                println!("Database OK: {}", store.path().display());
            } else {
                for p in &problems {
                    eprintln!("problem: {p}");
                }
            }
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
