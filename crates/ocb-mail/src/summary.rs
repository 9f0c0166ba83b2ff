//! The data given to `email_summary.html` / `email_summary.txt` (SPEC §9.4). Field names are the
//! upstream template variables plus the "new" ones. Amounts are already rounded to cents
//! (billing-line basis) and handed over as numbers — the one place where `f64` is allowed — so
//! upstream's `"%.2f"|format(total_cost)` prints exactly those cents.

use serde::Serialize;
use std::collections::BTreeMap;

/// The whole template context of one PI email.
#[derive(Debug, Clone, Serialize)]
pub struct EmailSummary {
    /// `2025-01`.
    pub period: String,
    /// Alias of `period`.
    pub billing_period: String,
    /// Recipient.
    pub pi_email: String,
    /// PI name or empty.
    pub pi_name: String,
    /// Σ of the PI's statement totals.
    pub total_cost: f64,
    /// Σ of list totals.
    pub total_list_cost: f64,
    /// Σ of discounts.
    pub total_discount: f64,
    /// Discount ÷ list × 100 (0 when no list).
    pub discount_percent: f64,
    /// Statements attached.
    pub project_count: usize,
    /// Project id → project, ordered by project id.
    pub projects: BTreeMap<String, ProjectSummary>,
    /// Organisation name.
    pub organization_name: String,
    /// Contact address (falls back to the sender address).
    pub contact_email: String,
    /// Currency symbol.
    pub currency: String,
    /// Any attached statement is a draft.
    pub is_draft: bool,
    /// Display timestamp in the configured zone.
    pub generated_at: String,
    /// The attachments, in order.
    pub statements: Vec<StatementRef>,
}

/// One project of the PI.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectSummary {
    /// Project id (`(no project)` possible).
    pub project_id: String,
    /// The fund/org, or the fund/orgs comma-joined.
    pub fund_org: String,
    /// Amount due.
    pub total_cost: f64,
    /// List total.
    pub total_list_cost: f64,
    /// Discount.
    pub total_discount: f64,
    /// Discount percent (0 when no list).
    pub discount_percent: f64,
    /// Service → amount.
    pub service_breakdown: BTreeMap<String, f64>,
    /// Service → list.
    pub service_list_breakdown: BTreeMap<String, f64>,
    /// The project's charges.
    pub charges: Vec<ChargeSummary>,
}

/// One charge, as upstream exposed it.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeSummary {
    /// Billed cost rounded on its own.
    pub billed_cost: f64,
    /// List cost rounded on its own (null when absent).
    pub list_cost: Option<f64>,
    /// Service.
    pub service_name: Option<String>,
    /// Resource name.
    pub resource_name: Option<String>,
    /// Resource id.
    pub resource_id: Option<String>,
    /// Charge start (RFC 3339 UTC).
    pub charge_period_start: Option<String>,
    /// Charge end (RFC 3339 UTC).
    pub charge_period_end: Option<String>,
}

/// One attached statement.
#[derive(Debug, Clone, Serialize)]
pub struct StatementRef {
    /// Project id.
    pub project_id: String,
    /// Its fund/orgs.
    pub fund_orgs: Vec<String>,
    /// Amount due.
    pub total: f64,
    /// `draft`, `final` or `stale`.
    pub kind: String,
    /// Attachment file name.
    pub filename: String,
}
