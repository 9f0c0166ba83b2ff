//! `aws-cur`: the legacy AWS Cost and Usage Report (CUR 1 CSV columns or CUR 2.0 names) to lite
//! FOCUS (INTEGRATIONS.md §3.2). Native AWS FOCUS exports need no converter: `ingest` reads them.

use crate::audit::AuditValue;
use crate::cloud::{
    cell_period, cloud_tags, object_tags, Candidates, Groups, Line, RunCurrency, Table,
};
use crate::config::{ci_set, CiMap, Obj};
use crate::error::Result;
use crate::kind::{ConvertContext, Kind};
use crate::money::{amount_cell, exact_text};
use crate::report::{Conversion, Warning};
use crate::row::{resource_id, FocusColumns, FocusLiteRow};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// Normalises a CUR column name: camelCase → snake_case, lower case, `/` and `:` → `_`
/// (`lineItem/UnblendedCost` = `line_item_unblended_cost`).
pub fn normalize_column(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut prev: Option<char> = None;
    for c in name.trim().chars() {
        if c.is_ascii_uppercase()
            && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            out.push('_');
        }
        out.push(match c {
            '/' | ':' => '_',
            other => other.to_ascii_lowercase(),
        });
        prev = Some(c);
    }
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    out
}

/// `tagCandidates` and `excludeLineItemTypes`.
#[derive(Debug, Clone)]
pub struct AwsCurConfig {
    /// Candidates.
    pub candidates: Candidates,
    /// Excluded line item types.
    pub exclude_types: CiMap<()>,
}

impl AwsCurConfig {
    /// Builds the config (an empty object gives the defaults).
    pub fn from_merged_json(map: &Map<String, Value>, warnings: &mut Vec<Warning>) -> Result<Self> {
        let top = Obj::new(map, "");
        top.unknown(&["tagCandidates", "excludeLineItemTypes"], warnings);
        Ok(Self {
            candidates: Candidates::from_config(&top, warnings)?,
            exclude_types: ci_set(
                "excludeLineItemTypes",
                &top.str_list("excludeLineItemTypes")?.unwrap_or_default(),
            )?,
        })
    }
}

const LIST_FROM_UNBLENDED: [&str; 6] = [
    "Usage",
    "Tax",
    "Fee",
    "RIFee",
    "SavingsPlanRecurringFee",
    "SavingsPlanUpfrontFee",
];

/// FOCUS `ChargeCategory` of a CUR line item type: taxes, credits and refunds, purchases of
/// reservations and savings plans; every usage type and the discounts applied to usage are
/// `Usage` (a group takes the category of its first line).
fn charge_category(line_item_type: &str) -> &'static str {
    match line_item_type.to_ascii_lowercase().as_str() {
        "tax" => "Tax",
        "credit" | "refund" => "Credit",
        "fee" | "rifee" | "savingsplanupfrontfee" | "savingsplanrecurringfee" => "Purchase",
        _ => "Usage",
    }
}

/// FOCUS `ServiceCategory` of the common AWS product codes; `Other` for the rest.
fn service_category(product_code: &str) -> &'static str {
    match product_code {
        "AmazonEC2" | "AWSLambda" | "AmazonECS" | "AmazonEKS" | "AWSBatch" | "AmazonLightsail" => {
            "Compute"
        }
        "AmazonS3" | "AmazonEFS" | "AmazonFSx" | "AmazonGlacier" | "AWSBackup" => "Storage",
        "AmazonRDS" | "AmazonDynamoDB" | "AmazonRedshift" | "AmazonElastiCache" | "AmazonDocDB"
        | "AmazonNeptune" => "Databases",
        "AmazonVPC" | "AmazonCloudFront" | "AmazonRoute53" | "AWSDataTransfer"
        | "AmazonApiGateway" => "Networking",
        "AmazonSageMaker" | "AmazonBedrock" | "AmazonRekognition" | "AmazonComprehend"
        | "AmazonTextract" => "AI and Machine Learning",
        "AmazonCloudWatch" | "AWSCloudTrail" | "AWSConfig" => "Management and Governance",
        _ => "Other",
    }
}

struct Cols {
    norm: Vec<String>,
}

impl Cols {
    fn pos(&self, n: &str) -> Option<usize> {
        self.norm.iter().position(|c| c == n)
    }
}

/// Converts CUR tables.
pub fn convert(tables: &[Table], cfg: &AwsCurConfig, ctx: &ConvertContext) -> Result<Conversion> {
    let mut conv = Conversion::new(Kind::AwsCur, &ctx.source, ctx.period, ctx.skip_invalid);
    let mut groups = Groups::default();
    let mut run_currency = RunCurrency::default();
    let mut outside = 0u64;
    for t in tables {
        let cols = Cols {
            norm: t.headers.iter().map(|h| normalize_column(h)).collect(),
        };
        let required = [
            "bill_billing_period_start_date",
            "line_item_usage_account_id",
            "line_item_line_item_type",
            "line_item_unblended_cost",
        ];
        if let Some(missing) = required.iter().find(|c| cols.pos(c).is_none()) {
            return Err(crate::ConvertError::input(format!(
                "{}: missing required column {missing}",
                t.name
            )));
        }
        let p = |n: &str| cols.pos(n);
        let net = p("line_item_net_unblended_cost");
        let tag_cols: Vec<(usize, String)> = cols
            .norm
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.strip_prefix("resource_tags_").map(|k| (i, k.to_string())))
            .collect();
        let map_col = p("resource_tags");
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
            let Some(month) = cell_period(get(p("bill_billing_period_start_date"))) else {
                b.invalid(
                    &item,
                    Some(*line),
                    "bad_date",
                    format!(
                        "{}: line {line}: bill/BillingPeriodStartDate '{}' is not a date",
                        t.name,
                        get(p("bill_billing_period_start_date"))
                    ),
                );
                continue;
            };
            if month != ctx.period {
                outside += 1;
                b.skip(
                    &month.to_string(),
                    "outside_period",
                    format!("line items billed in {month}"),
                );
                continue;
            }
            let ty = get(p("line_item_line_item_type"));
            if cfg.exclude_types.contains(ty) {
                b.skip(ty, "excluded_line_item_type", "excludeLineItemTypes");
                continue;
            }
            let amount = |i: Option<usize>| amount_cell(get(i));
            let (unblended, public, net_cost) = match (
                amount(p("line_item_unblended_cost")),
                amount(p("pricing_public_on_demand_cost")),
                amount(net),
            ) {
                (Ok(u), Ok(pu), Ok(n)) => (u.unwrap_or_default(), pu, n),
                (Err(s), _, _) | (_, Err(s), _) | (_, _, Err(s)) => {
                    b.invalid(
                        &item,
                        Some(*line),
                        "bad_amount",
                        format!("{}: line {line}: {s}", t.name),
                    );
                    continue;
                }
            };
            let list = public.unwrap_or(
                if LIST_FROM_UNBLENDED
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(ty))
                {
                    unblended
                } else {
                    Decimal::ZERO
                },
            );
            let billed = if net.is_some() {
                net_cost.unwrap_or_default()
            } else {
                unblended
            };
            let currency = match run_currency.of_line(get(p("line_item_currency_code"))) {
                Ok(c) => c,
                Err((code, message)) => {
                    let message = format!("{}: line {line}: {message}", t.name);
                    b.invalid(&item, Some(*line), code, message);
                    continue;
                }
            };
            let mut tags: Vec<(String, String)> = tag_cols
                .iter()
                .map(|(i, k)| (k.clone(), get(Some(*i)).to_string()))
                .collect();
            if !get(map_col).is_empty() {
                match serde_json::from_str::<Value>(get(map_col)) {
                    Ok(Value::Object(m)) => tags.extend(object_tags(&m)),
                    _ => b.warn(
                        Some(&item),
                        "tags_invalid",
                        format!(
                            "{}: line {line}: resource_tags is not a JSON object; ignored",
                            t.name
                        ),
                    ),
                }
            }
            let (values, others) = cfg.candidates.attribute(&tags);
            let account = get(p("line_item_usage_account_id"));
            let resource = get(p("line_item_resource_id"));
            let product = get(p("line_item_product_code"));
            let base_id = if resource.is_empty() {
                resource_id("aws", &[account, product, ty])
            } else {
                resource_id("aws", &[account, resource])
            };
            let product_name = get(p("product_product_name"));
            let service = if product_name.is_empty() {
                product.to_string()
            } else {
                product_name.to_string()
            };
            let name_tag = tags
                .iter()
                .find(|(k, v)| {
                    crate::cloud::norm_key(&crate::cloud::strip_user(k)) == "name"
                        && !v.trim().is_empty()
                })
                .map(|(_, v)| v.trim().to_string());
            let name = name_tag.unwrap_or_else(|| {
                if resource.is_empty() {
                    format!(
                        "{} {ty}",
                        if product_name.is_empty() {
                            product
                        } else {
                            product_name
                        }
                    )
                } else {
                    resource.to_string()
                }
            });
            let col = |n: &str| get(p(n)).to_string();
            let focus = FocusColumns {
                billing_account_id: Some(col("bill_payer_account_id"))
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| account.to_string()),
                billing_account_name: col("bill_payer_account_name"),
                billing_currency: currency,
                charge_category: charge_category(ty).into(),
                invoice_issuer_name: col("bill_invoicing_entity"),
                service_category: service_category(product).into(),
                ..FocusColumns::default()
            };
            conv.items_charged += 1;
            groups.add(Line {
                base_id,
                values,
                others,
                list,
                billed,
                service,
                name,
                focus,
            });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_normalise() {
        assert_eq!(
            normalize_column("lineItem/UnblendedCost"),
            "line_item_unblended_cost"
        );
        assert_eq!(
            normalize_column("line_item_unblended_cost"),
            "line_item_unblended_cost"
        );
        assert_eq!(
            normalize_column("resourceTags/user:pi_email"),
            "resource_tags_user_pi_email"
        );
        assert_eq!(
            normalize_column("pricing/publicOnDemandCost"),
            "pricing_public_on_demand_cost"
        );
        assert_eq!(
            normalize_column("resourceTags/user:ProjectID"),
            "resource_tags_user_project_id"
        );
    }
}
