//! What generation and sending read from the configuration: display times in `timezone`, the
//! account rules of the billing lines, the sender identity, the statement branding and the
//! renderer built from them.

use chrono::{DateTime, Utc};
use ocb_config::{Config, TimeZoneSetting};
use ocb_core::billing::AccountRules;
use ocb_render::Renderer;
use serde_json::{json, Value};

/// The statement renderer: templates directory (template, fonts, images) plus the configured
/// logo. Generation, `--restore-missing` and re-sends all render through this.
pub(crate) fn renderer(config: &Config) -> ocb_render::Result<Renderer> {
    Renderer::new(config.effective_templates_dir().as_deref())?
        .with_logo(config.statements.branding.logo.as_deref())
}

/// The `branding` object of the template data (issue 17), or `None` when nothing is set so the
/// data of unbranded sites keeps its exact shape.
pub(crate) fn branding_json(config: &Config) -> Option<Value> {
    let b = &config.statements.branding;
    (!b.is_empty()).then(|| {
        json!({
            "logo": b.logo.as_deref().map(ocb_render::logo_virtual_path),
            "primary_color": b.primary_color,
            "organization_address": b.organization_address,
            "footer_text": b.footer_text,
            "contact_text": b.contact_text,
        })
    })
}

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
