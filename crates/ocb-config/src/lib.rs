//! OpenChargeback configuration (SPEC §4): locating `config.yaml`, parsing it with line numbers,
//! expanding `${ENV}` references, and validating it into a typed [`Config`]. Every problem is
//! reported with file, line and key path, all at once; unknown keys are warnings so upstream
//! files keep loading.
//!
//! This crate depends on `ocb-core` only (for rounding, tag mapping, patterns and import modes)
//! and does no IO beyond reading the config file and checking the templates directory. It keeps
//! no global state: callers pass `&Config` around.
//!
//! ```
//! use ocb_config::{load_str, TimeZoneSetting};
//! use std::path::Path;
//!
//! let env = |name: &str| (name == "SMTP_HOST").then(|| "mail.example.edu".to_string());
//! let yaml = "timezone: America/Chicago\nsmtp:\n  host: ${SMTP_HOST}\n";
//! let loaded = load_str(yaml, None, &env, Path::new("/srv/billing")).expect("valid");
//! assert_eq!(loaded.config.smtp.as_ref().map(|s| s.host.as_str()), Some("mail.example.edu"));
//! assert!(matches!(loaded.config.timezone, TimeZoneSetting::Named(_)));
//! assert_eq!(loaded.config.database.path, Path::new("/srv/billing/instance/billing.db"));
//! ```
#![warn(missing_docs)]
#![warn(clippy::unwrap_used, clippy::print_stdout)]

mod choices;
mod detect;
mod env;
mod error;
mod load;
mod locate;
mod model;
mod password_hash;
mod placeholder;
mod reader;
mod redact;
mod schema;
mod secret;
mod yaml;

pub use choices::{LogFormat, LogLevel, Paper, Role, TimeZoneSetting};
pub use detect::detect_period;
pub use error::{ConfigError, ConfigErrors, Diagnostic, Result};
pub use load::{load, load_str, Loaded};
pub use locate::{locate, ConfigSource, CONFIG_ENV_VARS};
pub use model::*;
pub use password_hash::is_bcrypt_hash;
pub use placeholder::{
    check_placeholders, render_placeholders, JOURNAL_PLACEHOLDERS, SUBJECT_PLACEHOLDERS,
};
pub use secret::Secret;

/// The commented example config (every key of SPEC §4.3), printed by `config example`.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.yaml");

#[cfg(test)]
mod tests;
