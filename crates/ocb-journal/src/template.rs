//! The `template` format: the operator's Jinja2 template over the GL entries (SPEC §10.10).
//!
//! The template is `journal.template` in the templates directory; the embedded default is used
//! only for the default name `journal_gl.csv` when no such file exists.

use crate::gl::{GlEntry, GlJournal, Side};
use crate::jinja::environment;
use crate::JournalError;
use minijinja::Value;
use ocb_config::Config;
use rust_decimal::Decimal;
use std::path::PathBuf;

/// The embedded default GL template (same columns as upstream's `journal_gl.csv`).
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/journal_gl.csv");

/// A loaded template.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    /// File name (decides escaping).
    pub name: String,
    /// Template text.
    pub text: String,
    /// Where it came from (`None` = embedded default).
    pub path: Option<PathBuf>,
}

impl TemplateSource {
    /// The extension of the output file (`csv`, or the template's own).
    pub fn extension(&self) -> String {
        self.name
            .rsplit_once('.')
            .map(|(_, e)| e.to_string())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "csv".into())
    }
}

/// Finds `journal.template` in the templates directory, else the embedded default.
pub fn load_template(config: &Config) -> Result<TemplateSource, JournalError> {
    let name = config.journal.template.clone();
    let dir = config.effective_templates_dir();
    if let Some(path) = dir.as_ref().map(|d| d.join(&name)).filter(|p| p.is_file()) {
        let text = std::fs::read_to_string(&path).map_err(|source| JournalError::Io {
            context: format!("reading journal template {}", path.display()),
            source,
        })?;
        return Ok(TemplateSource {
            name,
            text,
            path: Some(path),
        });
    }
    if name == ocb_config::DEFAULT_JOURNAL_TEMPLATE {
        return Ok(TemplateSource {
            name,
            text: DEFAULT_TEMPLATE.to_string(),
            path: None,
        });
    }
    Err(JournalError::TemplateNotFound {
        name,
        dir: dir.map_or_else(
            || "the templates directory (none exists)".into(),
            |d| d.display().to_string(),
        ),
    })
}

/// What the template sees besides the entries.
#[derive(Debug, Clone)]
pub struct TemplateExtras {
    /// `YYYY-MM`.
    pub period: String,
    /// Display timestamp in the configured zone.
    pub generated_at: String,
    /// Export id.
    pub export_id: String,
    /// Export format name (`template`).
    pub format: String,
    /// Whether pending flagged charges were included.
    pub include_flagged: bool,
}

/// Renders the template over the GL journal.
pub fn render_template(
    src: &TemplateSource,
    gl: &GlJournal,
    extras: &TemplateExtras,
    config: &Config,
) -> Result<String, JournalError> {
    let ctx = template_context(gl, extras, json_value(&config.redacted()), &config.currency);
    render_with_context(src, ctx, config.rounding, &config.currency)
}

/// Renders a template with a prepared context.
pub fn render_with_context(
    src: &TemplateSource,
    ctx: Value,
    rounding: ocb_core::amount::Rounding,
    currency: &str,
) -> Result<String, JournalError> {
    let mut env = environment(rounding, currency);
    let template_error = |e: minijinja::Error| JournalError::Template {
        name: src.name.clone(),
        line: e.line(),
        message: e
            .detail()
            .map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind())),
    };
    env.add_template_owned(src.name.clone(), src.text.clone())
        .map_err(template_error)?;
    let template = env.get_template(&src.name).map_err(template_error)?;
    template.render(ctx).map_err(template_error)
}

/// The template context of SPEC §10.10; `config` is the redacted config (or undefined).
pub fn template_context(
    gl: &GlJournal,
    extras: &TemplateExtras,
    config: Value,
    currency: &str,
) -> Value {
    let entries: Vec<Value> = gl
        .entries
        .iter()
        .map(|e| entry_value(e, &extras.period))
        .collect();
    Value::from_pairs([
        ("entries", Value::from(entries)),
        ("period", Value::from(extras.period.clone())),
        ("config", config),
        ("currency", Value::from(currency.to_string())),
        ("generated_at", Value::from(extras.generated_at.clone())),
        (
            "totals",
            Value::from_pairs([
                ("debit", amount(gl.debit_total)),
                ("credit", amount(gl.credit_total)),
            ]),
        ),
        (
            "export",
            Value::from_pairs([
                ("id", Value::from(extras.export_id.clone())),
                ("format", Value::from(extras.format.clone())),
                ("include_flagged", Value::from(extras.include_flagged)),
            ]),
        ),
    ])
}

/// Amounts reach templates as floats of the already rounded cents (as upstream passed floats), so
/// `"%.2f"|format(amount)` prints exactly those cents.
fn amount(d: Decimal) -> Value {
    Value::from(d.to_string().parse::<f64>().unwrap_or(f64::NAN))
}

fn entry_value(e: &GlEntry, period: &str) -> Value {
    let s = |v: &str| Value::from(v.to_string());
    let groups = Value::from_pairs(
        e.parts
            .groups
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.clone())))
            .collect::<Vec<_>>(),
    );
    Value::from_pairs([
        ("fund_org", s(&e.fund_org)),
        ("fund", s(&e.parts.fund)),
        ("orgn", s(&e.parts.orgn)),
        ("account", s(&e.account)),
        ("amount", amount(e.amount)),
        ("amount_exact", Value::from(e.amount_exact.to_string())),
        ("is_debit", Value::from(e.side == Side::Debit)),
        ("is_credit", Value::from(e.side == Side::Credit)),
        ("description", s(&e.description)),
        ("reference_id", s(&e.reference_id)),
        ("source_name", s(&e.source)),
        ("source_display_name", s(&e.source_display_name)),
        ("period", s(period)),
        ("pi_email", s(&e.pi_email)),
        ("project_id", s(&e.project_id)),
        ("program", s(&e.parts.program)),
        ("activity", s(&e.parts.activity)),
        ("location", s(&e.parts.location)),
        ("groups", groups),
        ("line_count", Value::from(e.line_count)),
        ("charge_count", Value::from(e.charge_count)),
    ])
}

/// The redacted config as template data (numbers as numbers, order kept).
fn json_value(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::from(()),
        J::Bool(b) => Value::from(*b),
        J::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or_else(|| Value::from(n.to_string())),
        J::String(s) => Value::from(s.clone()),
        J::Array(a) => Value::from(a.iter().map(json_value).collect::<Vec<_>>()),
        J::Object(m) => Value::from_pairs(
            m.iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect::<Vec<_>>(),
        ),
    }
}
