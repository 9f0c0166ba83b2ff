//! What every command needs: the loaded configuration, the actor, and the database.

use crate::cli::Global;
use crate::error::CliError;
use ocb_config::{Config, ConfigError};
use ocb_store::{Actor, OpenMode, Store};

/// Loaded configuration plus global options.
pub struct Ctx {
    pub global: Global,
    pub config: Config,
    /// Credentials whose `${VAR}` is unset (empty = not configured); shown only by `config
    /// check` and `serve` (SPEC §4.4), so cron runs of other commands stay quiet.
    pub unset_env: Vec<ocb_config::Diagnostic>,
    /// Defaults in effect (GL clearing fund/org, unused `statement.html`); shown by the same two
    /// commands only, so they are said once, where the operator checks the config (issue 17).
    pub notices: Vec<ocb_config::Diagnostic>,
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Ctx {
    /// Loads the configuration (printing warnings unless `--quiet`).
    pub fn load(global: Global) -> Result<Self, CliError> {
        let cwd = std::env::current_dir()?;
        let source =
            ocb_config::locate(global.config.as_deref(), &env_var, &cwd).map_err(config_error)?;
        let loaded = ocb_config::load(&source, &env_var, &cwd)
            .map_err(|e| config_error(ConfigError::Invalid(e)))?;
        if !global.quiet && !global.json {
            if loaded.used_defaults {
                eprintln!("no configuration file found; using defaults");
            }
            for w in &loaded.warnings {
                eprintln!("{}", w.warning_line());
            }
        }
        crate::logging::init(&loaded.config, &global);
        Ok(Self {
            global,
            config: loaded.config,
            unset_env: loaded.unset_env,
            notices: loaded.notices,
        })
    }

    /// Prints the unset-credential and defaults notices as `config warning:` lines (unless
    /// `--quiet`/`--json`).
    pub fn print_check_notices(&self) {
        if self.global.quiet || self.global.json {
            return;
        }
        for d in self.unset_env.iter().chain(&self.notices) {
            eprintln!("{}", d.warning_line());
        }
    }

    /// The actor of CLI actions: `--as`, else the OS user.
    pub fn actor(&self) -> Actor {
        let name = self
            .global
            .as_user
            .clone()
            .or_else(|| env_var("USER"))
            .or_else(|| env_var("LOGNAME"))
            .or_else(|| env_var("USERNAME"))
            .unwrap_or_else(|| "cli".into());
        Actor::cli(&name)
    }

    /// Opens (creating and migrating on first use) the database.
    pub fn store(&self) -> Result<Store, CliError> {
        self.open_store(&self.config.database.path, OpenMode::Create)
    }

    /// A command that waits for another process's import says so on stderr (SPEC §5.10), even
    /// with `--json` (stdout stays one document); `--quiet` keeps it silent.
    fn open_store(&self, path: &std::path::Path, mode: OpenMode) -> Result<Store, CliError> {
        let notice: Option<ocb_store::WaitNotice> = match self.global.quiet {
            true => None,
            false => Some(Box::new(|line: &str| eprintln!("{line}"))),
        };
        Ok(Store::open_announcing(
            path,
            mode,
            self.config.database.busy_timeout_ms,
            notice,
        )?)
    }

    /// Opens the database read-only if it exists (dry runs never create it).
    pub fn store_if_exists(&self) -> Result<Option<Store>, CliError> {
        let path = &self.config.database.path;
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(self.open_store(path, OpenMode::ReadOnly)?))
    }

    /// The review settings in effect (SPEC §4.5): the database override of each pattern list
    /// when `store` has one, else the config file's list. Every command that flags or checks a
    /// fund/org resolves through here, as the web does, so both use the same values.
    pub fn effective_review(
        &self,
        store: Option<&Store>,
    ) -> Result<ocb_core::review_settings::EffectiveReview, CliError> {
        let r = &self.config.review;
        match store {
            Some(s) => Ok(s.effective_review(&r.flag_patterns, &r.fund_org_patterns, &r.rules)?),
            None => Ok(ocb_core::review_settings::EffectiveReview::resolve(
                &r.flag_patterns,
                &r.fund_org_patterns,
                &r.rules,
                None,
                None,
            )
            .expect("config lists are compiled at load")),
        }
    }

    /// Formats an amount with the configured currency.
    pub fn money(&self, amount: impl Into<ocb_core::exact::ExactSum>) -> String {
        amount.into().money(&self.config.currency)
    }

    /// Show progress bars?
    pub fn progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.global.json
            && !self.global.quiet
            && !self.global.no_progress
            && std::io::stderr().is_terminal()
    }
}

pub fn config_error(e: ConfigError) -> CliError {
    CliError::fail("config", e.to_string())
}
