//! `azure-ea`: legacy EA / MCA usage-details ("actual cost") exports to lite FOCUS
//! (INTEGRATIONS.md §3.3). Native Azure FocusCost exports need no converter: `ingest` reads them.

use crate::audit::AuditValue;
use crate::cloud::{cell_period, cloud_tags, parse_tags_cell, Candidates, Groups, Table};
use crate::config::Obj;
use crate::error::Result;
use crate::kind::{ConvertContext, Kind};
use crate::money::{exact_text, parse_decimal};
use crate::report::{Conversion, Warning};
use crate::row::{resource_id, FocusLiteRow};
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

/// Converts usage-detail tables.
pub fn convert(tables: &[Table], cfg: &AzureEaConfig, ctx: &ConvertContext) -> Result<Conversion> {
    let mut conv = Conversion::new(Kind::AzureEa, &ctx.source, ctx.period, ctx.skip_invalid);
    let mut groups = Groups::default();
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
            let num = |i: Option<usize>| -> std::result::Result<Option<Decimal>, String> {
                let s = get(i);
                if s.is_empty() {
                    Ok(None)
                } else {
                    parse_decimal(s).map(Some).ok_or_else(|| s.to_string())
                }
            };
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
                        format!("{}: line {line}: '{s}' is not a number", t.name),
                    );
                    continue;
                }
            };
            let list = match (price, qty, payg) {
                (Some(p), Some(q), _) => p * q,
                (_, _, Some(g)) => g,
                _ => billed,
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
            conv.items_charged += 1;
            groups.add(
                base_id,
                values,
                others,
                list,
                billed,
                category.to_string(),
                name,
            );
        }
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
