//! `config check` and `config example` (SPEC §4.4).

use crate::cli::{ConfigCommand, Global};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::facts;
use std::process::ExitCode;

pub fn run(global: Global, cmd: ConfigCommand) -> Result<ExitCode, CliError> {
    match cmd {
        ConfigCommand::Example => {
            print!("{}", ocb_config::EXAMPLE_CONFIG);
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Check => {
            let json = global.json;
            let ctx = Ctx::load(global)?;
            ctx.print_check_notices();
            // The same rule `serve` applies at startup (one shared check in ocb-config), so a
            // config that passes here does not stop the server (issue 15, item 8f).
            ctx.config
                .check_serve_secret()
                .map_err(|d| CliError::fail("config", d.error_line()))?;
            let c = &ctx.config;
            // Read-only: `config check` never creates or migrates the database (§11.1).
            let store = ctx.store_if_exists()?;
            warn_published_passwords(c, store.as_ref())?;
            let review = ctx.effective_review(store.as_ref())?;
            if json {
                super::print_json(&serde_json::json!({
                    "valid": true,
                    "config": c.redacted(),
                    "notices": ctx.notices.iter().map(|d| d.warning_line()).collect::<Vec<_>>(),
                    "effective_review": {
                        "flag_patterns": review.flag_patterns,
                        "fund_org_patterns": review.fund_org_patterns,
                    },
                }));
                return Ok(ExitCode::SUCCESS);
            }
            let list = |l: &ocb_core::review_settings::EffectiveList| {
                if l.patterns.is_empty() {
                    "(none)".to_string()
                } else {
                    l.patterns.join(" | ")
                }
            };
            let path = |p: &std::path::Path| p.display().to_string();
            print!(
                "{}",
                facts(
                    "Configuration is valid",
                    &[
                        (
                            "Config file",
                            c.config_path
                                .as_deref()
                                .map(path)
                                .unwrap_or_else(|| "(defaults)".into())
                        ),
                        ("Database", path(&c.database.path)),
                        ("PDF dir", path(&c.output.pdf_dir)),
                        ("Journal dir", path(&c.output.journal_dir)),
                        ("Email dir", path(&c.output.email_dir)),
                        ("Import dir", path(&c.output.import_dir)),
                        ("Backup dir", path(&c.output.backup_dir)),
                        ("Flag patterns", list(&review.flag_patterns)),
                        ("Flag patterns from", review.flag_patterns.origin.describe()),
                        ("Fund/org patterns", list(&review.fund_org_patterns)),
                        (
                            "Fund/org patterns from",
                            review.fund_org_patterns.origin.describe()
                        ),
                    ]
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Users whose hash is a published example password (issue 16, item 1): warned, not refused,
/// so a config brought from the Python project keeps working.
fn warn_published_passwords(
    c: &ocb_config::Config,
    store: Option<&ocb_store::Store>,
) -> Result<(), CliError> {
    for d in ocb_web::password::published_config_users(c) {
        eprintln!("{}", d.warning_line());
    }
    if let Some(store) = store {
        for w in ocb_web::password::published_database_users(&store.list_users()?) {
            eprintln!("{w}");
        }
    }
    Ok(())
}
