//! The email of one PI from their stored statements (SPEC §9.3, §9.4): the summary template
//! context and the subject. Figures come from the statements (Σ of their rounded totals), the
//! per-project breakdowns from the template data each PDF was rendered from, so the email and
//! the attachments always agree.

use ocb_config::Config;
use ocb_core::amount::MoneyDisplay;
use ocb_core::statement::discount_percent;
use ocb_core::Decimal;
use ocb_mail::{ChargeSummary, EmailSummary, ProjectSummary, StatementRef};
use ocb_store::StoredStatement;
use serde_json::Value;
use std::collections::BTreeMap;

/// A rounded decimal as the template number (the one place `f64` is allowed).
fn num(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

fn num_text(v: &Value) -> f64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0.0)
}

fn percent(discount: Decimal, list: Decimal) -> f64 {
    discount_percent(discount, list).map_or(0.0, |p| num(p.round_dp(2)))
}

fn project(s: &StoredStatement, data: &Value) -> ProjectSummary {
    let named: Vec<&str> = s
        .fund_orgs
        .iter()
        .map(String::as_str)
        .filter(|f| *f != "N/A")
        .collect();
    let services = data["services"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let breakdown = |field: &str| -> BTreeMap<String, f64> {
        services
            .iter()
            .map(|r| {
                (
                    r["service"].as_str().unwrap_or("Other").to_string(),
                    num_text(&r[field]["amount"]),
                )
            })
            .collect()
    };
    let charges = data["charges"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| ChargeSummary {
            billed_cost: num_text(&c["amount"]["amount"]),
            list_cost: (!c["list_is_fallback"].as_bool().unwrap_or(false))
                .then(|| num_text(&c["list"]["amount"])),
            service_name: c["service"].as_str().map(str::to_string),
            resource_name: c["resource_name"].as_str().map(str::to_string),
            resource_id: c["resource_id"].as_str().map(str::to_string),
            charge_period_start: c["charge_period_start"].as_str().map(str::to_string),
            charge_period_end: c["charge_period_end"].as_str().map(str::to_string),
        })
        .collect();
    ProjectSummary {
        project_id: s.project_id.clone(),
        fund_org: named.join(", "),
        total_cost: num(s.total),
        total_list_cost: num(s.total_list),
        total_discount: num(s.total_discount),
        discount_percent: percent(s.total_discount, s.total_list),
        service_breakdown: breakdown("amount"),
        service_list_breakdown: breakdown("list"),
        charges,
    }
}

/// Σ of the PI's statement totals (rounded figures).
pub(crate) fn pi_total(statements: &[StoredStatement]) -> Decimal {
    statements.iter().map(|s| s.total).sum()
}

/// The template context of one PI email. `statements` and `data` are parallel.
pub(crate) fn email_summary(
    config: &Config,
    period: &str,
    statements: &[StoredStatement],
    data: &[Value],
    generated_at: &str,
) -> EmailSummary {
    let pi = statements
        .first()
        .map(|s| s.pi_email.clone())
        .unwrap_or_default();
    let list: Decimal = statements.iter().map(|s| s.total_list).sum();
    let discount: Decimal = statements.iter().map(|s| s.total_discount).sum();
    EmailSummary {
        period: period.to_string(),
        billing_period: period.to_string(),
        pi_email: pi,
        pi_name: statements
            .iter()
            .find_map(|s| s.pi_name.clone())
            .unwrap_or_default(),
        total_cost: num(pi_total(statements)),
        total_list_cost: num(list),
        total_discount: num(discount),
        discount_percent: percent(discount, list),
        project_count: statements.len(),
        projects: statements
            .iter()
            .zip(data)
            .map(|(s, d)| (s.project_id.clone(), project(s, d)))
            .collect(),
        organization_name: config.organization_name().to_string(),
        contact_email: crate::settings::from_address(config).unwrap_or_default(),
        currency: config.currency.clone(),
        is_draft: statements.iter().any(|s| s.kind == "draft"),
        generated_at: generated_at.to_string(),
        statements: statements
            .iter()
            .map(|s| StatementRef {
                project_id: s.project_id.clone(),
                fund_orgs: s.fund_orgs.clone(),
                total: num(s.total),
                kind: s.kind.clone(),
                filename: attachment_name(s),
            })
            .collect(),
    }
}

/// The attachment file name of a statement.
pub(crate) fn attachment_name(s: &StoredStatement) -> String {
    s.pdf_path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| format!("statement-{}.pdf", s.id))
}

/// `email.subject_template` with `{billing_period}`, `{pi_email}`, `{pi_name}`, `{total}`.
pub(crate) fn subject(config: &Config, period: &str, statements: &[StoredStatement]) -> String {
    let pi = statements
        .first()
        .map(|s| s.pi_email.as_str())
        .unwrap_or_default();
    let name = statements
        .iter()
        .find_map(|s| s.pi_name.as_deref())
        .unwrap_or(pi);
    let total = MoneyDisplay {
        amount: pi_total(statements),
        currency: &config.currency,
    }
    .to_string();
    ocb_config::render_placeholders(config.subject_template(), &|key| match key {
        "billing_period" => Some(period.to_string()),
        "pi_email" => Some(pi.to_string()),
        "pi_name" => Some(name.to_string()),
        "total" => Some(total.clone()),
        _ => None,
    })
}
