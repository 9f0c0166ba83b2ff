//! What generation and sending read from the configuration: display times in `timezone`, the
//! account rules of the billing lines, the sender identity.

use chrono::{DateTime, Utc};
use ocb_config::{Config, TimeZoneSetting};
use ocb_core::billing::AccountRules;

/// Formats a UTC instant in the configured zone with a chrono format string.
pub(crate) fn local_format(config: &Config, t: DateTime<Utc>, fmt: &str) -> String {
    match config.timezone {
        TimeZoneSetting::Utc => t.format(fmt).to_string(),
        TimeZoneSetting::Named(tz) => t.with_timezone(&tz).format(fmt).to_string(),
        TimeZoneSetting::Local => t.with_timezone(&chrono::Local).format(fmt).to_string(),
    }
}

/// `2025-02-03 14:05 CST` (zone abbreviation, or the offset for `local`).
pub(crate) fn display_time(config: &Config, t: DateTime<Utc>) -> String {
    local_format(config, t, "%Y-%m-%d %H:%M %Z")
}

/// Account resolution (SPEC §10.8) from the known sources and `journal.default_account`.
pub(crate) fn account_rules(config: &Config) -> AccountRules {
    AccountRules::new(
        config
            .imports
            .known_sources
            .iter()
            .map(|k| (k.name.as_str(), k.account_code.as_str())),
        &config.journal.default_account,
    )
}

/// Sender address: `email.from_address`, or `billing@localhost` in dev mode without an `email`
/// section (SPEC §9.7). `None` when sending is impossible.
pub(crate) fn from_address(config: &Config) -> Option<String> {
    match &config.email {
        Some(e) => Some(e.from_address.clone()),
        None if config.dev_mode => Some("billing@localhost".into()),
        None => None,
    }
}

/// The contact address printed on statements (`None` without an `email` section).
pub(crate) fn contact_email(config: &Config) -> Option<&str> {
    config
        .email
        .as_ref()
        .map(|e| e.from_address.as_str())
        .filter(|a| !a.is_empty())
}
