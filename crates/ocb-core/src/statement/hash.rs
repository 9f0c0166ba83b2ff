//! Statement content hash (SPEC §8.6): SHA-256 of a canonical JSON document of the statement's
//! figures and lines — period, PI, project, fund/org groups, service rows, charge ids with their
//! rounded amounts, totals. Timestamps, the draft flag and the template are not part of it, so a
//! regeneration with the same figures keeps `sent_at`.

use super::{Figures, StatementFigures};
use crate::amount::Rounding;
use crate::billing::BillableCharge;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn figures(f: &Figures) -> Value {
    // Fixed-scale strings: 1.0 and 1.00 must hash alike.
    let s = |d: rust_decimal::Decimal| Rounding::HalfEven.cents(d).to_string();
    json!([
        s(f.list),
        s(f.amount),
        f.list_exact.normalize().to_string(),
        f.amount_exact.normalize().to_string()
    ])
}

/// The hex SHA-256 of the canonical figures. `charges` are the statement's charges (any order).
pub fn content_hash(
    period: &str,
    s: &StatementFigures,
    charges: &[&BillableCharge],
    rounding: Rounding,
) -> String {
    let mut lines: Vec<(i64, String, String)> = charges
        .iter()
        .map(|c| {
            (
                c.id,
                rounding.cents(c.billed_cost).to_string(),
                rounding.cents(c.list_or_billed()).to_string(),
            )
        })
        .collect();
    lines.sort_unstable();
    let groups: Vec<Value> = s
        .groups
        .iter()
        .map(|g| {
            json!([
                g.fund_org,
                g.services
                    .iter()
                    .map(|r| json!([r.service, figures(&r.figures)]))
                    .collect::<Vec<_>>(),
                figures(&g.subtotal)
            ])
        })
        .collect();
    let doc = json!([
        1,
        period,
        s.pi_email,
        s.project,
        groups,
        lines,
        figures(&s.totals)
    ]);
    hex::encode(Sha256::digest(doc.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{billing_lines, AccountRules};
    use crate::statement::statements_from_lines;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn charge(id: i64, billed: &str) -> BillableCharge {
        BillableCharge {
            id,
            source: "AWS".into(),
            pi_email: Some("pi@x.edu".into()),
            project_id: Some("p".into()),
            service_name: Some("EC2".into()),
            billed_cost: Decimal::from_str(billed).expect("decimal"),
            ..Default::default()
        }
    }

    fn hash(charges: &[BillableCharge]) -> String {
        let lines = billing_lines(charges, &AccountRules::default(), Rounding::HalfEven);
        let (s, _) = statements_from_lines(&lines);
        let refs: Vec<&BillableCharge> = charges.iter().collect();
        content_hash("2025-01", &s[0], &refs, Rounding::HalfEven)
    }

    #[test]
    fn same_figures_same_hash_changed_figures_new_hash() {
        let a = hash(&[charge(1, "1.5"), charge(2, "2")]);
        assert_eq!(
            a,
            hash(&[charge(2, "2.00"), charge(1, "1.50")]),
            "order and scale do not matter"
        );
        assert_ne!(a, hash(&[charge(1, "1.5"), charge(2, "2.01")]));
        assert_ne!(
            a,
            hash(&[charge(1, "1.5"), charge(3, "2")]),
            "charge ids count"
        );
        assert_eq!(a.len(), 64);
    }
}
