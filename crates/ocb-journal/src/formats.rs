//! The built-in CSV formats (SPEC §10.2–§10.5).

use crate::csv_out::{Cell, CsvWriter};
use crate::gl::{GlJournal, Side};
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
