//! `azure-ea`: legacy EA / MCA usage-details ("actual cost") exports to lite FOCUS
//! (INTEGRATIONS.md §3.3). Native Azure FocusCost exports need no converter: `ingest` reads them.

use crate::audit::AuditValue;
use crate::cloud::{
    cell_period, cloud_tags, parse_tags_cell, Candidates, Groups, Line, RunCurrency, Table,
};
use crate::config::Obj;
use crate::error::Result;
use crate::kind::{ConvertContext, Kind};
use crate::money::{amount_cell, exact_text};
use crate::report::{Conversion, Warning};
use crate::row::{resource_id, FocusColumns, FocusLiteRow};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// `tagCandidates`.
#[derive(Debug, Clone)]
pub struct AzureEaConfig {
    /// Candidates.
    pub candidates: Candidates,
}

impl AzureEaConfig {
    /// Builds the config (an empty object gives the defaults).
    pub fn from_merged_json(map: &Map<String, Value>, warnings: &mut Vec<Warning>) -> Result<Self> {
        let top = Obj::new(map, "");
        top.unknown(&["tagCandidates"], warnings);
        Ok(Self {
            candidates: Candidates::from_config(&top, warnings)?,
        })
    }
}

/// Optional columns of the bill that fill the FOCUS columns.
struct BillColumns {
    account: Option<usize>,
    account_name: Option<usize>,
    currency: Option<usize>,
    pricing_currency: Option<usize>,
    exchange_rate: Option<usize>,
    publisher: Option<usize>,
}

/// FOCUS `ChargeCategory` of an EA / MCA `ChargeType` (unused reservations stay usage, as in
/// Azure's own FOCUS export).
fn charge_category(charge_type: &str) -> &'static str {
    match charge_type.to_ascii_lowercase().as_str() {
        "purchase" => "Purchase",
        "refund" => "Credit",
        "tax" => "Tax",
        "roundingadjustment" | "adjustment" => "Adjustment",
        _ => "Usage",
    }
}

/// FOCUS `ServiceCategory` of the common `MeterCategory` values; `Other` for the rest.
fn service_category(meter_category: &str) -> &'static str {
    match meter_category.to_ascii_lowercase().as_str() {
        "virtual machines"
        | "virtual machines licenses"
        | "functions"
        | "container instances"
        | "azure kubernetes service"
        | "batch"
        | "cloud services"
        | "azure app service" => "Compute",
        "storage" | "backup" => "Storage",
        "bandwidth"
        | "virtual network"
        | "networking"
        | "load balancer"
        | "vpn gateway"
        | "azure dns"
        | "content delivery network" => "Networking",
        "sql database"
        | "azure cosmos db"
        | "azure database for postgresql"
        | "azure database for mysql"
        | "redis cache" => "Databases",
        "cognitive services" | "azure openai" | "machine learning" => "AI and Machine Learning",
        "log analytics" | "azure monitor" => "Management and Governance",
        _ => "Other",
    }
}

/// Converts usage-detail tables.
pub fn convert(tables: &[Table], cfg: &AzureEaConfig, ctx: &ConvertContext) -> Result<Conversion> {
    let mut conv = Conversion::new(Kind::AzureEa, &ctx.source, ctx.period, ctx.skip_invalid);
    let mut groups = Groups::default();
    let mut run_currency = RunCurrency::default();
    let mut list_in_pricing_currency = 0u64;
    let mut outside = 0u64;
    for t in tables {
        let pos = |names: &[&str]| {
            names.iter().find_map(|n| {
                t.headers
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(n))
            })
        };
        let billed_col = pos(&[
            "CostInBillingCurrency",
            "Cost",
            "PreTaxCost",
            "ExtendedCost",
        ]);
        let date_col = pos(&["BillingPeriodStartDate"]).or_else(|| pos(&["Date", "UsageDate"]));
        let (Some(billed_col), Some(date_col)) = (billed_col, date_col) else {
            return Err(crate::ConvertError::input(format!(
                "{}: missing required column (a cost column CostInBillingCurrency/Cost/PreTaxCost/ExtendedCost and BillingPeriodStartDate or Date)",
                t.name
            )));
        };
        let (id_col, price_col, qty_col, payg_col) = (
            pos(&["ResourceId", "InstanceId"]),
            pos(&["PayGPrice"]),
            pos(&["Quantity"]),
            pos(&["PayGCostInBillingCurrency"]),
        );
        let cols = BillColumns {
            account: pos(&["BillingAccountId"])
                .or_else(|| pos(&["SubscriptionId", "SubscriptionGuid"])),
            account_name: pos(&["BillingAccountName"])
                .or_else(|| pos(&["AccountName"]))
                .or_else(|| pos(&["SubscriptionName"])),
            currency: pos(&["BillingCurrency", "BillingCurrencyCode", "Currency"]),
            pricing_currency: pos(&["PricingCurrency", "PricingCurrencyCode"]),
            exchange_rate: pos(&["ExchangeRatePricingToBilling", "ExchangeRate"]),
            publisher: pos(&["PublisherName"]),
        };
        let (name_col, cat_col, type_col, sub_col, tags_col) = (
            pos(&["ResourceName"]),
            pos(&["MeterCategory"]),
            pos(&["ChargeType"]),
            pos(&["SubscriptionId", "SubscriptionGuid"]),
            pos(&["Tags"]),
        );
        for (line, rec) in &t.rows {
            conv.items_read += 1;
            let item = format!("{}:{line}", t.name);
            let b = &mut conv.buckets;
            let cells = match rec {
                Ok(c) => c,
                Err(e) => {
                    b.invalid(
                        &item,
                        Some(*line),
                        "malformed_line",
                        format!("{}: line {line}: {e}", t.name),
                    );
                    continue;
                }
            };
            let get = |i: Option<usize>| i.and_then(|i| cells.get(i)).map_or("", |s| s.trim());
            let Some(month) = cell_period(get(Some(date_col))) else {
                b.invalid(
                    &item,
                    Some(*line),
                    "bad_date",
                    format!(
                        "{}: line {line}: '{}' is not a date",
                        t.name,
                        get(Some(date_col))
                    ),
                );
                continue;
            };
            if month != ctx.period {
                outside += 1;
                b.skip(
                    &month.to_string(),
                    "outside_period",
                    format!("usage of {month}"),
                );
                continue;
            }
            let num = |i: Option<usize>| amount_cell(get(i));
            let parsed = (
                num(Some(billed_col)),
                num(price_col),
                num(qty_col),
                num(payg_col),
            );
            let (billed, price, qty, payg) = match parsed {
                (Ok(b), Ok(p), Ok(q), Ok(g)) => (b.unwrap_or_default(), p, q, g),
                (Err(s), ..) | (_, Err(s), ..) | (_, _, Err(s), _) | (.., Err(s)) => {
                    b.invalid(
                        &item,
                        Some(*line),
                        "bad_amount",
                        format!("{}: line {line}: {s}", t.name),
                    );
                    continue;
                }
            };
            let currency = match run_currency.of_line(get(cols.currency)) {
                Ok(c) => c,
                Err((code, message)) => {
                    let message = format!("{}: line {line}: {message}", t.name);
                    b.invalid(&item, Some(*line), code, message);
                    continue;
                }
            };
            let pricing = get(cols.pricing_currency);
            let foreign_prices = crate::row::currency_code(pricing).is_some_and(|p| p != currency);
            let list = if foreign_prices {
                // MCA: PayGPrice is in the pricing currency (USD), the costs in the billing
                // currency; never mix them (issue 15, item 8b).
                match (payg, price, qty, num(cols.exchange_rate)) {
                    (Some(g), ..) => Some(g),
                    (None, Some(p), Some(q), Ok(Some(rate))) => product(&[p, q, rate]),
                    _ => {
                        list_in_pricing_currency += 1;
                        Some(billed)
                    }
                }
            } else {
                match (price, qty, payg) {
                    (Some(p), Some(q), _) => product(&[p, q]),
                    (_, _, Some(g)) => Some(g),
                    _ => Some(billed),
                }
            };
            let Some(list) = list else {
                let range = ocb_core::amount::AmountError::Range;
                let message = format!("{}: line {line}: price × quantity is {range}", t.name);
                b.invalid(&item, Some(*line), "bad_amount", message);
                continue;
            };
            let tags = match parse_tags_cell(get(tags_col)) {
                Ok(t) => t,
                Err(e) => {
                    b.warn(
                        Some(&item),
                        "tags_invalid",
                        format!("{}: line {line}: {e}; ignored", t.name),
                    );
                    Vec::new()
                }
            };
            let (values, others) = cfg.candidates.attribute(&tags);
            let arm = get(id_col);
            let (category, charge) = (get(cat_col), get(type_col));
            let base_id = if arm.is_empty() {
                resource_id("azure", &[get(sub_col), charge, category])
            } else {
                arm.to_lowercase()
            };
            let name = match (
                get(name_col),
                arm.rsplit('/').next().filter(|s| !s.is_empty()),
            ) {
                (n, _) if !n.is_empty() => n.to_string(),
                (_, Some(last)) => last.to_string(),
                _ => format!("{category} {charge}"),
            };
            let focus = FocusColumns {
                billing_account_id: get(cols.account).to_string(),
                billing_account_name: get(cols.account_name).to_string(),
                billing_currency: currency,
                charge_category: charge_category(charge).into(),
                publisher_name: get(cols.publisher).to_string(),
                service_category: service_category(category).into(),
                ..FocusColumns::default()
            };
            conv.items_charged += 1;
            groups.add(Line {
                base_id,
                values,
                others,
                list,
                billed,
                service: category.to_string(),
                name,
                focus,
            });
        }
    }
    if list_in_pricing_currency > 0 {
        conv.buckets.warn(
            None,
            "list_cost_currency",
            format!(
                "{list_in_pricing_currency} line items have prices in another currency than the \
                 bill and no PayGCostInBillingCurrency or exchange rate: their ListCost is their \
                 billed cost"
            ),
        );
    }
    let groups = groups.finish();
    let n_groups = groups.len();
    for (id, g) in groups {
        let meta = json!({"lineItems": g.lines, "listExact": exact_text(g.list), "billedExact": exact_text(g.billed)});
        let row = FocusLiteRow::new(
            ctx.period,
            id.clone(),
            g.name.clone(),
            g.service.clone(),
            g.list,
            g.billed,
            cloud_tags(&g.values, &g.others),
        )
        .contracted_is_billed()
        .with_focus(g.focus.clone())
        .with_meta(meta.as_object().cloned().unwrap_or_default());
        let row = if g.values[0].is_empty() {
            let kept = conv.buckets.unmapped(
                &id,
                "no_pi_email_tag",
                row,
                g.lines,
                "no pi_email tag on the line items",
            );
            if kept.is_none() {
                conv.items_charged -= g.lines;
            }
            kept
        } else {
            Some(row)
        };
        if let Some(row) = row {
            conv.rows.push(row);
        }
    }
    conv.audit_extras = vec![
        ("lineItemsRead".into(), AuditValue::n(conv.items_read)),
        ("lineItemsOutsidePeriod".into(), AuditValue::n(outside)),
        ("groups".into(), AuditValue::n(n_groups as u64)),
    ];
    conv.finish()
}

/// The product of price, quantity (and exchange rate), or `None` when it is beyond the range
/// `ingest` accepts: each factor is in range, their product need not be.
fn product(factors: &[Decimal]) -> Option<Decimal> {
    factors
        .iter()
        .try_fold(Decimal::ONE, |acc, f| acc.checked_mul(*f))
        .filter(|p| ocb_core::amount::in_range(*p))
}
