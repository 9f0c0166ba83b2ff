//! The template data object of a statement (SPEC §8.10, schema_version 1): everything the Typst
//! template prints, with every amount already rounded and formatted. Money values are
//! `{exact, amount, display}`, percentages `{value, display}`.

use super::{lifecycle, percent_display, Figures, ServiceRow, StatementFigures};
use crate::amount::{MoneyDisplay, Rounding};
use crate::billing::BillableCharge;
use crate::exact::ExactSum;
use crate::period::Period;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// Footnote under the charge details (SPEC §8.2).
pub const ROUNDING_FOOTNOTE: &str =
    "Amounts are rounded individually; the summary above is authoritative.";
const FALLBACK_FOOTNOTE: &str =
    "Where the provider reported no list price, the list price shown is the billed amount.";

/// Instance-wide inputs of the data object.
#[derive(Debug, Clone)]
pub struct DataSettings<'a> {
    /// Currency symbol.
    pub currency: &'a str,
    /// Rounding mode for per-charge amounts.
    pub rounding: Rounding,
    /// Organisation name (header).
    pub organization_name: &'a str,
    /// Contact address (`None`: no contact sentence).
    pub contact_email: Option<&'a str>,
    /// `us-letter` or `a4`.
    pub paper: &'a str,
    /// Generation time in the configured zone, for display.
    pub generated_at: &'a str,
    /// Generation time, RFC 3339 UTC.
    pub generated_at_utc: &'a str,
    /// Statement date (calendar date in the configured zone).
    pub statement_date: &'a str,
    /// `branding` object for the template (`statements.branding`, issue 17), or `None`: the
    /// field is then left out, so data and PDFs of sites without branding stay as they were.
    pub branding: Option<&'a Value>,
}

/// Per-statement inputs besides the figures.
#[derive(Debug, Clone)]
pub struct StatementMeta<'a> {
    /// Stable statement id.
    pub statement_id: i64,
    /// Generated while the period is open.
    pub is_draft: bool,
    /// Final statement of a reopened period.
    pub is_stale: bool,
    /// PI display name, when a `pi_name` tag gave one.
    pub pi_name: Option<&'a str>,
}

/// `{exact, amount, display}` of an exact and a rounded amount.
pub fn money_json(exact: impl Into<ExactSum>, rounded: Decimal, currency: &str) -> Value {
    json!({
        "exact": exact.into().to_string(),
        "amount": rounded.to_string(),
        "display": MoneyDisplay { amount: rounded, currency }.to_string(),
    })
}

fn percent_json(value: Option<Decimal>) -> Value {
    match value {
        None => Value::Null,
        Some(v) => {
            let rounded = Rounding::HalfEven.round_dp(v, 2).normalize().to_string();
            json!({
                "value": serde_json::from_str::<Value>(&rounded).unwrap_or(Value::String(rounded)),
                "display": percent_display(v),
            })
        }
    }
}

fn figures_json(f: &Figures, currency: &str) -> Value {
    json!({
        "list": money_json(f.list_exact, f.list, currency),
        "discount": money_json(f.discount_exact(), f.discount(), currency),
        "amount": money_json(f.amount_exact, f.amount, currency),
        "discount_percent": percent_json(f.discount_percent()),
    })
}

fn service_json(row: &ServiceRow, currency: &str) -> Value {
    let mut v = figures_json(&row.figures, currency);
    v["service"] = json!(row.service);
    v["fully_subsidised"] = json!(row.figures.fully_subsidised());
    v
}

fn resource_label(c: &BillableCharge) -> &str {
    c.resource_name
        .as_deref()
        .or(c.resource_id.as_deref())
        .unwrap_or("N/A")
}

/// Charges sorted by date (missing dates last), service, resource, charge id (SPEC §8.8).
fn sorted_charges<'a>(charges: &[&'a BillableCharge]) -> Vec<&'a BillableCharge> {
    let mut sorted = charges.to_vec();
    sorted.sort_by(|a, b| {
        let key = |c: &'a BillableCharge| {
            (
                c.charge_period_start.is_none(),
                c.charge_period_start
                    .as_deref()
                    .map(|s| s.get(..10).unwrap_or(s)),
                c.service(),
                resource_label(c),
                c.id,
            )
        };
        key(a).cmp(&key(b))
    });
    sorted
}

fn charge_json(c: &BillableCharge, settings: &DataSettings<'_>) -> Value {
    let r = settings.rounding;
    let amount = r.cents(c.billed_cost);
    let list = r.cents(c.list_or_billed());
    json!({
        "charge_id": c.id,
        "date": c.charge_period_start.as_deref().map(|s| s.get(..10).unwrap_or(s)),
        "charge_period_start": c.charge_period_start,
        "charge_period_end": c.charge_period_end,
        "resource_id": c.resource_id,
        "resource_name": c.resource_name,
        "resource_label": resource_label(c),
        "service": c.service_name,
        "fund_org": c.fund_org,
        "source": c.source,
        "list": money_json(c.list_or_billed(), list, settings.currency),
        "discount": money_json(
            ExactSum::from(c.list_or_billed()) - c.billed_cost.into(),
            list - amount,
            settings.currency,
        ),
        "amount": money_json(c.billed_cost, amount, settings.currency),
        "list_is_fallback": c.list_cost.is_none(),
    })
}

/// The statement reference printed on a statement and quoted by PIs: the period as `YYYYMM`, a
/// hyphen and the statement id as at least five digits (`202501-00007`). The earlier
/// `{period}-{id}` (`2025-01-7`) read as the 7th of January (issue 16, item 9).
pub fn reference(period: Period, statement_id: i64) -> String {
    format!(
        "{:04}{:02}-{statement_id:05}",
        period.year(),
        period.month()
    )
}

/// Builds the data object of one statement. `charges` are the statement's charges.
pub fn template_data(
    period: Period,
    s: &StatementFigures,
    charges: &[&BillableCharge],
    meta: &StatementMeta<'_>,
    settings: &DataSettings<'_>,
) -> Value {
    let cur = settings.currency;
    let notice = lifecycle(
        period,
        charges.iter().map(|c| c.end_date),
        charges.iter().map(|c| c.reconciliation_end),
    )
    .map(|l| {
        json!({
            "level": l.level.as_str(),
            "end_date": l.end_date.map(|d| d.to_string()),
            "reconciliation_end": l.reconciliation_end.map(|d| d.to_string()),
            "days_remaining": l.days_remaining,
            "message": l.message,
        })
    });
    let mut footnotes = vec![ROUNDING_FOOTNOTE];
    if charges.iter().any(|c| c.list_cost.is_none()) {
        footnotes.push(FALLBACK_FOOTNOTE);
    }
    let fund_groups: Vec<Value> = s
        .groups
        .iter()
        .map(|g| {
            json!({
                "fund_org": g.fund_org,
                "services": g.services.iter().map(|r| service_json(r, cur)).collect::<Vec<_>>(),
                "subtotal": figures_json(&g.subtotal, cur),
            })
        })
        .collect();
    let p = period.to_string();
    let mut data = json!({
        "schema_version": 1,
        "is_draft": meta.is_draft,
        "is_stale": meta.is_stale,
        "statement_id": meta.statement_id,
        "reference": reference(period, meta.statement_id),
        "period": p,
        "period_label": period.label(),
        "period_start": period.first_day().to_string(),
        "period_end": period.last_day().to_string(),
        "organization_name": settings.organization_name,
        "contact_email": settings.contact_email,
        "currency": cur,
        "generated_at": settings.generated_at,
        "generated_at_utc": settings.generated_at_utc,
        "statement_date": settings.statement_date,
        "paper": settings.paper,
        "pi": {"email": s.pi_email, "name": meta.pi_name},
        "project_id": s.project,
        "fund_orgs": s.fund_orgs(),
        "has_discount": s.totals.discount() > Decimal::ZERO,
        "totals": figures_json(&s.totals, cur),
        "fund_groups": fund_groups,
        "services": s.services().iter().map(|r| service_json(r, cur)).collect::<Vec<_>>(),
        "charges": sorted_charges(charges).into_iter().map(|c| charge_json(c, settings)).collect::<Vec<_>>(),
        "lifecycle": notice,
        "footnotes": footnotes,
    });
    if let (Some(b), Some(object)) = (settings.branding, data.as_object_mut()) {
        object.insert("branding".into(), b.clone());
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{billing_lines, AccountRules};
    use crate::statement::statements_from_lines;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    fn charge(
        id: i64,
        svc: &str,
        billed: &str,
        list: Option<&str>,
        start: Option<&str>,
    ) -> BillableCharge {
        BillableCharge {
            id,
            source: "HPC".into(),
            pi_email: Some("quib@example.edu".into()),
            project_id: Some("climate".into()),
            fund_org: Some("NSF-ATM".into()),
            service_name: Some(svc.into()),
            resource_name: Some(format!("node-{id}")),
            billed_cost: d(billed),
            list_cost: list.map(d),
            charge_period_start: start.map(Into::into),
            end_date: "2025-06-30".parse().ok(),
            ..Default::default()
        }
    }

    #[test]
    fn data_object_has_the_spec_fields_and_consistent_figures() {
        let charges = vec![
            charge(
                2,
                "HPC Cluster",
                "0",
                Some("800"),
                Some("2025-01-02T00:00:00Z"),
            ),
            charge(
                1,
                "HPC Cluster",
                "0.00",
                Some("800.00"),
                Some("2025-01-01T00:00:00Z"),
            ),
            charge(3, "Storage", "12.504", None, None),
        ];
        let lines = billing_lines(&charges, &AccountRules::default(), Rounding::HalfEven);
        let (stmts, _) = statements_from_lines(&lines);
        let refs: Vec<&BillableCharge> = charges.iter().collect();
        let settings = DataSettings {
            currency: "$",
            rounding: Rounding::HalfEven,
            organization_name: "Research Computing",
            contact_email: Some("billing@example.edu"),
            paper: "us-letter",
            generated_at: "2025-02-03 04:05 UTC",
            generated_at_utc: "2025-02-03T04:05:06Z",
            statement_date: "2025-02-03",
            branding: None,
        };
        let meta = StatementMeta {
            statement_id: 7,
            is_draft: true,
            is_stale: false,
            pi_name: None,
        };
        let v = template_data(
            "2025-01".parse().expect("p"),
            &stmts[0],
            &refs,
            &meta,
            &settings,
        );
        assert_eq!(v["reference"], "202501-00007");
        assert_eq!(v["period_label"], "January 2025");
        assert_eq!(v["period_end"], "2025-01-31");
        assert_eq!(v["totals"]["amount"]["display"], "$12.50");
        assert_eq!(v["totals"]["list"]["display"], "$1,612.50");
        assert_eq!(v["totals"]["discount"]["amount"], "1600.00");
        assert_eq!(v["totals"]["discount_percent"]["display"], "99%");
        assert_eq!(v["has_discount"], true);
        let hpc = &v["fund_groups"][0]["services"][0];
        assert_eq!(hpc["fully_subsidised"], true);
        assert_eq!(hpc["discount_percent"]["display"], "100%");
        let ids: Vec<i64> = v["charges"]
            .as_array()
            .expect("charges")
            .iter()
            .map(|c| c["charge_id"].as_i64().expect("id"))
            .collect();
        assert_eq!(ids, vec![1, 2, 3], "sorted by date, missing dates last");
        assert_eq!(v["charges"][2]["date"], Value::Null);
        assert_eq!(v["charges"][2]["list_is_fallback"], true);
        assert_eq!(v["charges"][0]["date"], "2025-01-01");
        assert_eq!(v["lifecycle"]["level"], "info");
        assert_eq!(v["footnotes"].as_array().expect("notes").len(), 2);
        assert_eq!(v["pi"]["name"], Value::Null);
        assert_eq!(v["fund_orgs"], json!(["NSF-ATM"]));
    }
}
