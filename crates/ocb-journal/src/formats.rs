//! The built-in CSV formats (SPEC §10.2–§10.5) and `gl-upstream` (issue 17).

use crate::csv_out::{Cell, CsvWriter};
use crate::gl::{CreditFundOrgs, GlJournal, Side, UNKNOWN_FUND_ORG};
use ocb_core::amount::Rounding;
use ocb_core::billing::{resource_count, BillableCharge, BillingLine};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Header of the upstream CLI format.
pub const DEFAULT_HEADER: [&str; 7] = [
    "BillingPeriod",
    "PIEmail",
    "ProjectID",
    "FundOrg",
    "ServiceName",
    "Amount",
    "ResourceCount",
];

/// Header of the one-row-per-charge format: upstream's ten columns, then ours.
pub const STANDARD_HEADER: [&str; 17] = [
    "period",
    "pi_email",
    "project_id",
    "fund_org",
    "service_name",
    "resource_id",
    "resource_name",
    "billed_cost",
    "list_cost",
    "discount_amount",
    "source",
    "charge_period_start",
    "charge_period_end",
    "cost_center",
    "reference_1",
    "reference_2",
    "charge_id",
];

/// Header of the per-(PI, project, fund/org) format.
pub const SUMMARY_HEADER: [&str; 6] = [
    "period",
    "pi_email",
    "project_id",
    "fund_org",
    "total_cost",
    "charge_count",
];

/// Header of the balanced ledger.
pub const GL_HEADER: [&str; 11] = [
    "period",
    "entry",
    "fund_org",
    "fund",
    "orgn",
    "account",
    "source",
    "description",
    "debit",
    "credit",
    "reference_id",
];

/// A rendered CSV and the figures of its export record.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The document.
    pub content: String,
    /// Data rows.
    pub rows: usize,
}

fn num(d: Decimal) -> Cell<'static> {
    Cell::Number(d.to_string())
}

/// `default`: one row per (PI, project, fund/org, service), a statement service row.
pub fn render_default(lines: &[BillingLine], period: &str) -> Rendered {
    let mut rows: BTreeMap<(&str, &str, &str, &str), Vec<&BillingLine>> = BTreeMap::new();
    for l in lines {
        rows.entry((
            l.pi_email.as_deref().unwrap_or(""),
            l.project_label(),
            l.fund_org.as_deref().unwrap_or(""),
            &l.service,
        ))
        .or_default()
        .push(l);
    }
    let mut w = CsvWriter::with_header(&DEFAULT_HEADER);
    for ((pi, project, fund_org, service), group) in rows {
        let amount: Decimal = group.iter().map(|l| l.amount).sum();
        w.row(&[
            period.into(),
            pi.into(),
            project.into(),
            fund_org.into(),
            service.into(),
            num(amount),
            Cell::Number(resource_count(group.iter().copied()).to_string()),
        ]);
    }
    Rendered {
        rows: w.rows(),
        content: w.finish(),
    }
}

/// `summary`: one row per (PI, project, fund/org) with `N/A` for a missing project or fund/org.
pub fn render_summary(lines: &[BillingLine], period: &str) -> Rendered {
    let mut rows: BTreeMap<(&str, &str, &str), (Decimal, usize)> = BTreeMap::new();
    for l in lines {
        let r = rows
            .entry((
                l.pi_email.as_deref().unwrap_or(""),
                l.project_id.as_deref().unwrap_or("N/A"),
                l.fund_org.as_deref().unwrap_or("N/A"),
            ))
            .or_default();
        r.0 += l.amount;
        r.1 += l.charge_count();
    }
    let mut w = CsvWriter::with_header(&SUMMARY_HEADER);
    for ((pi, project, fund_org), (total, count)) in rows {
        w.row(&[
            period.into(),
            pi.into(),
            project.into(),
            fund_org.into(),
            num(total),
            Cell::Number(count.to_string()),
        ]);
    }
    Rendered {
        rows: w.rows(),
        content: w.finish(),
    }
}

/// `standard`: one row per charge, each rounded on its own.
pub fn render_standard(charges: &[BillableCharge], period: &str, rounding: Rounding) -> Rendered {
    let mut sorted: Vec<&BillableCharge> = charges.iter().collect();
    fn key(c: &BillableCharge) -> impl Ord + '_ {
        (
            c.pi_email.as_deref(),
            c.project_id.as_deref(),
            c.fund_org.as_deref(),
            c.service_name.as_deref(),
            c.resource_id.as_deref(),
            c.charge_period_start.as_deref(),
            c.id,
        )
    }
    sorted.sort_by(|a, b| key(a).cmp(&key(b)));
    let mut w = CsvWriter::with_header(&STANDARD_HEADER);
    let opt = |v: &Option<String>| -> Cell<'static> { Cell::from(v.clone().unwrap_or_default()) };
    for c in sorted {
        let billed = rounding.cents(c.billed_cost);
        let list = c.list_cost.map(|l| rounding.cents(l));
        w.row(&[
            period.into(),
            opt(&c.pi_email),
            opt(&c.project_id),
            opt(&c.fund_org),
            opt(&c.service_name),
            opt(&c.resource_id),
            opt(&c.resource_name),
            num(billed),
            list.map_or(Cell::Number(String::new()), num),
            list.map_or(Cell::Number(String::new()), |l| num(l - billed)),
            c.source.as_str().into(),
            opt(&c.charge_period_start),
            opt(&c.charge_period_end),
            opt(&c.cost_center),
            opt(&c.reference_1),
            opt(&c.reference_2),
            Cell::Number(c.id.to_string()),
        ]);
    }
    Rendered {
        rows: w.rows(),
        content: w.finish(),
    }
}

/// `gl`: the entries of the balanced ledger in entry order.
pub fn render_gl(gl: &GlJournal, period: &str) -> Rendered {
    let mut w = CsvWriter::with_header(&GL_HEADER);
    for e in &gl.entries {
        let (entry, debit, credit) = match e.side {
            Side::Debit => ("debit", num(e.amount), Cell::Number(String::new())),
            Side::Credit => ("credit", Cell::Number(String::new()), num(e.amount)),
        };
        w.row(&[
            period.into(),
            entry.into(),
            e.fund_org.as_str().into(),
            e.parts.fund.as_str().into(),
            e.parts.orgn.as_str().into(),
            e.account.as_str().into(),
            e.source.as_str().into(),
            e.description.as_str().into(),
            debit,
            credit,
            e.reference_id.as_str().into(),
        ]);
    }
    Rendered {
        rows: w.rows(),
        content: w.finish(),
    }
}

/// Header of the Python web UI's GL export (`web/routes/journal.py`, format `gl`).
pub const GL_UPSTREAM_HEADER: [&str; 5] = ["period", "account", "description", "debit", "credit"];

/// `gl-upstream`: the Python web UI's GL columns and rows. One debit row per charged fund/org
/// (`UNKNOWN` for none) with its signed net, then one credit row per credit fund/org with the
/// signed net of its sources (`CLOUD-CLEARING` for sources without one, which with an unchanged
/// upstream config is the single clearing row the Python export wrote). Amounts are sums of
/// the rounded billing lines, so the two columns balance exactly; a negative net stays in its
/// column with a minus sign, as upstream printed it.
pub fn render_gl_upstream(
    lines: &[BillingLine],
    period: &str,
    credits: &CreditFundOrgs,
) -> Rendered {
    let mut debits: BTreeMap<&str, Decimal> = BTreeMap::new();
    let mut credit_rows: BTreeMap<&str, Decimal> = BTreeMap::new();
    for l in lines {
        *debits
            .entry(l.fund_org.as_deref().unwrap_or(UNKNOWN_FUND_ORG))
            .or_default() += l.amount;
        *credit_rows.entry(credits.of_source(&l.source)).or_default() += l.amount;
    }
    // Upstream's fixed description, same on every row.
    let description = format!("Cloud computing charges - {period}");
    let mut w = CsvWriter::with_header(&GL_UPSTREAM_HEADER);
    let empty = || Cell::Number(String::new());
    for (account, amount) in debits {
        w.row(&[
            period.into(),
            account.into(),
            description.as_str().into(),
            num(amount),
            empty(),
        ]);
    }
    for (account, amount) in credit_rows {
        w.row(&[
            period.into(),
            account.into(),
            description.as_str().into(),
            empty(),
            num(amount),
        ]);
    }
    Rendered {
        rows: w.rows(),
        content: w.finish(),
    }
}
