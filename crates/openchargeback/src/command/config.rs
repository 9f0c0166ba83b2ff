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
            let c = &ctx.config;
            if json {
                super::print_json(&serde_json::json!({"valid": true, "config": c.redacted()}));
                return Ok(ExitCode::SUCCESS);
            }
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
                        (
                            "Flag patterns (config file)",
                            c.review.flag_patterns.join(" | ")
                        ),
                        (
                            "Fund/org patterns (config file)",
                            c.review.fund_org_patterns.join(" | ")
                        ),
                    ]
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
