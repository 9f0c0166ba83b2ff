//! Page templates: minijinja, embedded in the binary, each overridable by a file of the same
//! name in `<templates dir>/web/` (read once at startup). `.html` templates autoescape, and no
//! data is ever marked safe (SPEC §12.9). Templates receive view models with money already
//! formatted; they do no arithmetic.

use crate::assets::Assets;
use crate::error::AppError;
use minijinja::{Environment, UndefinedBehavior};
use std::path::PathBuf;

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every embedded template (a test renders each of them).
pub const EMBEDDED: &[(&str, &str)] = embedded!(
    "base.html",
    "macros.html",
    "login.html",
    "dashboard.html",
    "import_modal.html",
    "periods.html",
    "period_new.html",
    "period_detail.html",
    "sources.html",
    "charges.html",
    "charge_detail.html",
    "projects.html",
    "charge_table.html",
    "project_detail.html",
    "pis.html",
    "pi_detail.html",
    "review.html",
    "review_logs.html",
    "imports.html",
    "import_detail.html",
    "change_password.html",
    "users.html",
    "user_new.html",
    "user_edit.html",
    "tokens.html",
    "job_progress.html",
    "statements.html",
    "statements_generate.html",
    "journal.html",
    "journal_rows.html",
    "journal_logs.html",
    "emails.html",
    "audit.html",
    "settings.html",
    "settings_test.html",
    "settings_reevaluate.html",
    "help.html",
);

/// The template environment.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Loads the embedded templates, replacing any that the operator overrides.
    pub fn new(
        override_dir: Option<PathBuf>,
        assets: &Assets,
        config: &ocb_config::Config,
    ) -> Result<Self, AppError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        for (name, source) in EMBEDDED {
            let custom = override_dir.as_ref().map(|d| d.join(name));
            match custom {
                Some(p) if p.is_file() => {
                    let text = std::fs::read_to_string(&p)
                        .map_err(|e| AppError::internal(format!("reading {}: {e}", p.display())))?;
                    env.add_template_owned(*name, text)?;
                }
                _ => env.add_template(name, source)?,
            }
        }
        let urls: std::collections::BTreeMap<String, String> = ["htmx.min.js", "app.css", "app.js"]
            .into_iter()
            .map(|n| (n.to_string(), assets.url(n)))
            .collect();
        env.add_global(
            "static",
            minijinja::Value::from(minijinja::value::Serde(urls)),
        );
        env.add_global("currency", config.currency.clone());
        env.add_global("dev_mode", config.dev_mode);
        env.add_global("version", env!("CARGO_PKG_VERSION"));
        // Plain text out (autoescaped like any value); the `when` macro of macros.html wraps it
        // in `<time>` with the exact timestamp.
        env.add_filter("human_time", |ts: String| crate::view::human_time(&ts));
        // Parts of a long identifier; the `breakable` macro joins them with `<wbr>`.
        env.add_filter("break_points", |text: String| {
            crate::view::break_points(&text)
        });
        Ok(Self { env })
    }

    /// Renders a template with a context.
    pub fn render(&self, name: &str, ctx: &serde_json::Value) -> Result<String, AppError> {
        Ok(self
            .env
            .get_template(name)?
            .render(to_template_value(ctx))?)
    }
}

/// Converts a JSON view model into a template value. Done by hand because the workspace's
/// `serde_json/arbitrary_precision` would hand numbers to minijinja as opaque maps.
fn to_template_value(v: &serde_json::Value) -> minijinja::Value {
    use serde_json::Value as J;
    match v {
        J::Null => minijinja::Value::from(()),
        J::Bool(b) => minijinja::Value::from(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => minijinja::Value::from(i),
            (None, Some(u)) => minijinja::Value::from(u),
            _ => minijinja::Value::from(n.to_string()),
        },
        J::String(s) => minijinja::Value::from(s.as_str()),
        J::Array(a) => a.iter().map(to_template_value).collect::<Vec<_>>().into(),
        J::Object(o) => o
            .iter()
            .map(|(k, v)| (k.clone(), to_template_value(v)))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into(),
    }
}
