//! Reading the billable charges of a period for statements and journals (SPEC §8.1, §10.1).
//!
//! All SQL of this area is here and selects by column name, so a change in how `charges` stores
//! dates or tags only touches this file. Effective values apply the review overrides.

use crate::charges::{EFFECTIVE_FUND, EFFECTIVE_PI, EFFECTIVE_PROJECT};
use crate::decimal::dec;
use crate::{Result, Store, StoreError};
use chrono::NaiveDate;
use ocb_core::billing::BillableCharge;

/// Billable: live and either never flagged or approved (SPEC glossary).
const BILLABLE_STATES: &str = "('none', 'approved')";
/// With `--include-flagged`: also the pending review queue; never rejected or removed.
const WITH_FLAGGED_STATES: &str = "('none', 'approved', 'pending')";

impl Store {
    /// The billable charges of `period` (approved flagged charges included; with
    /// `include_flagged` also pending ones), ordered by id. Rejected and removed charges are
    /// never returned.
    pub fn billable_charges(
        &self,
        period: &str,
        include_flagged: bool,
    ) -> Result<Vec<BillableCharge>> {
        let states = if include_flagged {
            WITH_FLAGGED_STATES
        } else {
            BILLABLE_STATES
        };
        let sql = format!(
            "SELECT c.id, s.name, {EFFECTIVE_PI} AS pi_email, {EFFECTIVE_PROJECT} AS project_id,
                    {EFFECTIVE_FUND} AS fund_org, c.service_name, c.resource_id, c.resource_name,
                    c.billed_cost, c.list_cost, c.account_code, c.charge_period_start,
                    c.charge_period_end, c.cost_center, c.reference_1, c.reference_2, c.pi_name,
                    c.end_date, c.reconciliation_end,
                    json_extract(coalesce(c.tags, t.tags), '$.charge_type') AS charge_type
             FROM charges c JOIN sources s ON s.id = c.source_id
                  LEFT JOIN tag_sets t ON t.id = c.tag_set_id
             WHERE c.period = ?1 AND c.removed_at IS NULL AND c.review_state IN {states}
             ORDER BY c.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([period])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: i64 = r.get("id")?;
            let billed: String = r.get("billed_cost")?;
            let list: Option<String> = r.get("list_cost")?;
            let amount = |text: &str| accepted_amount(id, period, text);
            out.push(BillableCharge {
                id,
                source: r.get("name")?,
                pi_email: r
                    .get::<_, Option<String>>("pi_email")?
                    .map(|e| e.trim().to_lowercase()),
                project_id: non_empty(r.get("project_id")?),
                fund_org: non_empty(r.get("fund_org")?),
                service_name: r.get("service_name")?,
                resource_id: r.get("resource_id")?,
                resource_name: r.get("resource_name")?,
                billed_cost: amount(&billed)?,
                list_cost: list.as_deref().map(amount).transpose()?,
                account_code: non_empty(r.get("account_code")?),
                charge_period_start: r.get("charge_period_start")?,
                charge_period_end: r.get("charge_period_end")?,
                cost_center: r.get("cost_center")?,
                reference_1: r.get("reference_1")?,
                reference_2: r.get("reference_2")?,
                pi_name: r.get("pi_name")?,
                end_date: date(r.get("end_date")?)?,
                reconciliation_end: date(r.get("reconciliation_end")?)?,
                subsidy_payment: is_subsidy_payment(r.get_ref("charge_type")?),
            });
        }
        Ok(out)
    }
}

/// A stored amount, refused when it is beyond the range ingest accepts (stored by a version
/// before the check): every total of statements and journals is then a sum of accepted amounts,
/// which cannot leave `Decimal` once rounded to cents (see `ocb_core::amount::MAX_AMOUNT`).
fn accepted_amount(charge_id: i64, period: &str, text: &str) -> Result<ocb_core::Decimal> {
    let value = dec(text)?;
    if ocb_core::amount::in_range(value) {
        Ok(value)
    } else {
        Err(StoreError::AmountOutOfRange {
            charge_id,
            period: period.to_string(),
            value: text.to_string(),
        })
    }
}

/// The `charge_type` tag of a subsidy fund's payment row (INTEGRATIONS.md §2.5); compared the way
/// tag values are matched elsewhere, trimmed and ASCII case-insensitive. A non-text value (the tag
/// is free-form JSON) is not a subsidy payment.
fn is_subsidy_payment(charge_type: rusqlite::types::ValueRef<'_>) -> bool {
    match charge_type {
        rusqlite::types::ValueRef::Text(t) => t.trim_ascii().eq_ignore_ascii_case(b"subsidy"),
        _ => false,
    }
}

/// Attribution values are absent when empty (an override may store an empty string).
fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

fn date(v: Option<String>) -> Result<Option<NaiveDate>> {
    v.map(|s| {
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt(format!("date {s:?}")))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use crate::testutil::store;
    use rusqlite::params;

    /// Inserts a minimal charge row directly (the import writer is tested elsewhere).
    fn insert(
        s: &crate::Store,
        id: i64,
        state: &str,
        removed: bool,
        cost: &str,
        ovr_fund: Option<&str>,
    ) {
        s.conn
            .execute(
                "INSERT INTO charges (id, source_id, period, key_hash, occurrence, content_hash,
                    created_import_id, import_id, billing_period_start, billed_cost, list_cost,
                    pi_email, project_id, fund_org, ovr_fund_org, review_state, removed_at,
                    end_date, account_code)
                 VALUES (?1, 1, '2025-01', x'00', ?1, x'00', 1, 1, '2025-01-01T00:00:00Z', ?2, NULL,
                    'PI@Example.edu', 'p1', 'F-1', ?3, ?4, ?5, '2025-06-30', '')",
                params![
                    id,
                    cost,
                    ovr_fund,
                    state,
                    removed.then_some("2025-02-01T00:00:00Z")
                ],
            )
            .expect("insert charge");
    }

    fn setup() -> crate::Store {
        let s = store();
        s.conn
            .execute_batch(
                "INSERT INTO sources (id, name, name_key, created_at, created_by, created_via)
                   VALUES (1, 'AWS', 'aws', 't', 'u', 'cli');
                 INSERT INTO periods (period, status, created_at, created_by) VALUES ('2025-01', 'open', 't', 'u');
                 INSERT INTO imports (id, uuid, status, created_at, actor, channel, source, filename, mode, skip_invalid)
                   VALUES (1, 'u1', 'committed', 't', 'u', 'cli', 'AWS', 'f.csv', 'replace', 0);",
            )
            .expect("setup");
        insert(&s, 1, "none", false, "1.5", None);
        insert(&s, 2, "approved", false, "2", Some("OVR-9"));
        insert(&s, 3, "pending", false, "4", None);
        insert(&s, 4, "rejected", false, "8", None);
        insert(&s, 5, "none", true, "16", None);
        s
    }

    #[test]
    fn billable_excludes_pending_rejected_and_removed() {
        let s = setup();
        let charges = s.billable_charges("2025-01", false).expect("query");
        let ids: Vec<_> = charges.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(charges[0].pi_email.as_deref(), Some("pi@example.edu"));
        assert_eq!(charges[0].source, "AWS");
        assert_eq!(charges[0].billed_cost.to_string(), "1.5");
        assert_eq!(charges[0].account_code, None);
        assert_eq!(
            charges[0].end_date.map(|d| d.to_string()).as_deref(),
            Some("2025-06-30")
        );
        assert_eq!(charges[1].fund_org.as_deref(), Some("OVR-9"));
    }

    #[test]
    fn a_charge_type_subsidy_tag_marks_a_subsidy_payment() {
        let s = setup();
        s.conn
            .execute_batch(
                r#"INSERT INTO tag_sets (id, tags) VALUES (1, '{"charge_type":"subsidy"}'),
                       (2, '{"charge_type":"usage"}');
                   UPDATE charges SET tag_set_id = 1 WHERE id = 1;
                   UPDATE charges SET tag_set_id = 2, tags = '{"charge_type":" Subsidy "}'
                     WHERE id = 2;"#,
            )
            .expect("tags");
        let charges = s.billable_charges("2025-01", false).expect("query");
        // Inline tags (charges stored before tag sets) win over the set, as for other readers.
        assert!(charges[0].subsidy_payment, "tag set");
        assert!(charges[1].subsidy_payment, "inline tags, trimmed, any case");
        s.conn
            .execute_batch(
                r#"UPDATE charges SET tag_set_id = NULL, tags = '{"charge_type":1}' WHERE id = 1;
                   UPDATE charges SET tags = NULL WHERE id = 2;"#,
            )
            .expect("tags");
        let charges = s.billable_charges("2025-01", false).expect("query");
        assert!(!charges[0].subsidy_payment, "a number is not a charge type");
        assert!(!charges[1].subsidy_payment, "usage");
    }

    #[test]
    fn include_flagged_adds_pending_only() {
        let s = setup();
        let ids: Vec<_> = s
            .billable_charges("2025-01", true)
            .expect("query")
            .iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert!(s
            .billable_charges("2024-12", true)
            .expect("query")
            .is_empty());
    }
}
