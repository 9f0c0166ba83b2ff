//! The PI summary templates (SPEC §9.4, §9.5): `email_summary.html` and `email_summary.txt` from
//! the templates directory, each falling back to its embedded default on its own.
//!
//! Rendering is Jinja2-compatible: minijinja with the Python-compatibility method callback
//! (`.items()`, `.get()`, …), Jinja2's filters and escaping, lenient undefined values, and HTML
//! autoescaping for `.html` only (see [`crate::jinja`]).

use crate::jinja::new_env;
use crate::{EmailSummary, MailError, Result};
use minijinja::{Environment, Value};
use std::path::{Path, PathBuf};

/// File name of the HTML body template.
pub const HTML_TEMPLATE: &str = "email_summary.html";
/// File name of the plain-text template.
pub const TEXT_TEMPLATE: &str = "email_summary.txt";

const DEFAULT_HTML: &str = include_str!("../templates/email_summary.html");
const DEFAULT_TEXT: &str = include_str!("../templates/email_summary.txt");

/// The loaded, compiled summary templates.
pub struct EmailTemplates {
    env: Environment<'static>,
    origins: Vec<(String, Option<PathBuf>)>,
}

fn template_error(name: &str, e: &minijinja::Error) -> MailError {
    let message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    MailError::Template {
        name: e.name().unwrap_or(name).to_string(),
        line: e.line(),
        message,
    }
}

impl EmailTemplates {
    /// Loads both templates: from `dir` when the file exists there, else the embedded default.
    /// Syntax errors are reported with file, line and message.
    pub fn load(dir: Option<&Path>) -> Result<Self> {
        let mut env = new_env();
        let mut origins = Vec::new();
        for (name, embedded) in [(HTML_TEMPLATE, DEFAULT_HTML), (TEXT_TEMPLATE, DEFAULT_TEXT)] {
            let file = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let source = match &file {
                Some(p) => std::fs::read_to_string(p).map_err(|source| MailError::Io {
                    context: format!("reading email template {}", p.display()),
                    source,
                })?,
                None => embedded.to_string(),
            };
            env.add_template_owned(name.to_string(), source)
                .map_err(|e| template_error(name, &e))?;
            origins.push((name.to_string(), file));
        }
        Ok(Self { env, origins })
    }

    /// Where each template came from: the file, or `None` for the embedded default.
    pub fn origins(&self) -> &[(String, Option<PathBuf>)] {
        &self.origins
    }

    fn render(&self, name: &str, ctx: &EmailSummary) -> Result<String> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, &e))?;
        t.render(Value::from(minijinja::value::Serde(ctx)))
            .map_err(|e| template_error(name, &e))
    }

    /// The HTML body.
    pub fn render_html(&self, ctx: &EmailSummary) -> Result<String> {
        self.render(HTML_TEMPLATE, ctx)
    }

    /// The plain-text part.
    pub fn render_text(&self, ctx: &EmailSummary) -> Result<String> {
        self.render(TEXT_TEMPLATE, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChargeSummary, ProjectSummary, StatementRef};
    use std::collections::BTreeMap;

    fn project(id: &str, fund: &str, total: f64, list: f64) -> ProjectSummary {
        ProjectSummary {
            project_id: id.into(),
            fund_org: fund.into(),
            total_cost: total,
            total_list_cost: list,
            total_discount: ((list - total) * 100.0).round() / 100.0,
            discount_percent: 0.0,
            service_breakdown: BTreeMap::from([("Amazon EC2".to_string(), total)]),
            service_list_breakdown: BTreeMap::from([("Amazon EC2".to_string(), list)]),
            charges: vec![ChargeSummary {
                billed_cost: total,
                list_cost: Some(list),
                service_name: Some("Amazon EC2".into()),
                resource_name: Some("node <1>".into()),
                resource_id: None,
                charge_period_start: None,
                charge_period_end: None,
            }],
        }
    }

    pub(crate) fn summary() -> EmailSummary {
        EmailSummary {
            period: "2025-01".into(),
            billing_period: "2025-01".into(),
            pi_email: "zorp.blinkman@example.edu".into(),
            pi_name: String::new(),
            total_cost: 6460.0,
            total_list_cost: 7605.0,
            total_discount: 1145.0,
            discount_percent: 15.06,
            project_count: 2,
            projects: BTreeMap::from([
                (
                    "genomics-sequencing".to_string(),
                    project("genomics-sequencing", "BIO-2024-001", 2307.75, 2720.0),
                ),
                (
                    "protein-folding-ml".to_string(),
                    project("protein-folding-ml", "", 4152.25, 4885.0),
                ),
            ]),
            organization_name: "Research Computing <RC>".into(),
            contact_email: "billing@example.edu".into(),
            currency: "€".into(),
            is_draft: true,
            generated_at: "2025-02-03 04:05 UTC".into(),
            statements: vec![StatementRef {
                project_id: "genomics-sequencing".into(),
                fund_orgs: vec!["BIO-2024-001".into()],
                total: 2307.75,
                kind: "draft".into(),
                filename: "a.pdf".into(),
            }],
        }
    }

    #[test]
    fn embedded_defaults_render_with_currency_discount_and_draft_notice() {
        let t = EmailTemplates::load(None).expect("load");
        let html = t.render_html(&summary()).expect("html");
        assert!(html.contains("€6,460.00"), "{html}");
        assert!(html.contains("€7,605.00"));
        assert!(html.contains("you save €1,145.00 (15%)"));
        assert!(html.contains("Draft:"));
        assert!(html.contains("<td>genomics-sequencing</td>"));
        assert!(
            html.contains("<td>N/A</td>"),
            "empty fund/org shows N/A: {html}"
        );
        assert!(
            html.contains("Research Computing &lt;RC&gt;"),
            "HTML is escaped"
        );
        let text = t.render_text(&summary()).expect("text");
        assert!(
            text.contains("genomics-sequencing — BIO-2024-001 — €2,307.75"),
            "{text}"
        );
        assert!(
            text.contains("Research Computing <RC>"),
            "text is not escaped"
        );
        assert!(text.contains("DRAFT"));
    }

    #[test]
    fn upstream_style_template_renders_unchanged_syntax() {
        // Constructs used by upstream's email_summary.html: printf format of amounts, dict
        // .items(), `or` defaults, undefined variables printing empty.
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join(HTML_TEMPLATE),
            "<h1>{{ period }}</h1>${{ \"%.2f\"|format(total_cost) }} {{ project_count }} project(s)\n\
             {% for project_id, project in projects.items() %}<tr><td>{{ project_id }}</td><td>{{ project.fund_org or 'N/A' }}</td>\
             <td>${{ \"%.2f\"|format(project.total_cost) }}</td></tr>{% endfor %}\
             [{{ no_such_variable }}] {{ projects.get('x', 'none') }} {{ organization_name|upper|truncate(9) }} {{ projects|length }}",
        )
        .expect("write");
        let t = EmailTemplates::load(Some(dir.path())).expect("load");
        let html = t.render_html(&summary()).expect("render");
        assert!(
            html.starts_with("<h1>2025-01</h1>$6460.00 2 project(s)"),
            "{html}"
        );
        assert!(html.contains("<td>genomics-sequencing</td><td>BIO-2024-001</td><td>$2307.75</td>"));
        assert!(html.contains("<td>protein-folding-ml</td><td>N/A</td><td>$4152.25</td>"));
        assert!(html.contains("[] none RESEAR... 2"), "{html}");
        assert_eq!(
            t.origins()[0].1.as_deref(),
            Some(dir.path().join(HTML_TEMPLATE).as_path())
        );
        assert_eq!(
            t.origins()[1].1,
            None,
            "the text template falls back on its own"
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join(TEXT_TEMPLATE), "line one\n{% for x in %}\n")
            .expect("write");
        let err = EmailTemplates::load(Some(dir.path())).err().expect("fails");
        let text = err.to_string();
        assert!(
            text.starts_with("email_summary.txt:2: syntax error"),
            "{text}"
        );
    }
}
