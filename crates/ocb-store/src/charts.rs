//! Figures for the charts (SPEC §12.7): per period, billed and list totals of the charts' set of
//! charges — billable plus pending (the spec's "billable plus pending-flagged"), never rejected or
//! removed — by source, or for one PI or project. Sums are exact (`dec_sum`).
//!
//! Each query covers one period and walks the `charges_scope (period, source_id)` index, so the
//! grouping by source needs no sort. Callers cache the result per period against the period's
//! change counter ([`Store::recent_periods`]), which every import, review action and
//! re-evaluation advances: an unchanged period is never summed twice.

use crate::charges::{EFFECTIVE_PI, EFFECTIVE_PROJECT};
use crate::decimal::exact;
use crate::{Result, Store};
use ocb_core::exact::ExactSum;
use rusqlite::params;

/// A charge counts in the charts when it is live and not rejected.
const CHART_SET: &str = "c.removed_at IS NULL AND c.review_state <> 'rejected'";

/// A missing list price counts as the billed cost: no subsidy is claimed without a list price,
/// and list and billed totals stay sums over the same charges.
const LIST: &str = "coalesce(c.list_cost, c.billed_cost)";

/// One source's totals in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpend {
    /// Source name.
    pub source: String,
    /// Σ billed cost.
    pub billed: ExactSum,
    /// Σ list cost (billed where absent).
    pub list: ExactSum,
    /// Σ billed cost of the charges still pending review (included in `billed`): the part of
    /// a bar that is not yet billable, so a page can say how the chart and the Billable total
    /// differ (issue 16, item 14).
    pub pending: ExactSum,
}

/// Whose monthly trend.
#[derive(Debug, Clone)]
pub enum SpendScope {
    /// One PI (effective email, case-insensitive).
    Pi(String),
    /// One project (effective project id).
    Project(String),
}

impl Store {
    /// The `count` most recent periods up to and including `until`, oldest first, each with its
    /// change counter (the cache key of its figures).
    pub fn recent_periods(&self, until: &str, count: u32) -> Result<Vec<(String, i64)>> {
        let mut rows: Vec<(String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT period, change_counter FROM periods WHERE period <= ?1
                 ORDER BY period DESC LIMIT ?2",
            )?
            .query_map(params![until, count], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// Billed and list totals of a period by source (sources with charges only, by name).
    pub fn period_spend_by_source(&self, period: &str) -> Result<Vec<SourceSpend>> {
        let sql = format!(
            "SELECT s.name, t.billed, t.list, t.pending FROM (
                 SELECT c.source_id, dec_sum(c.billed_cost) AS billed, dec_sum({LIST}) AS list,
                        dec_sum(CASE WHEN c.review_state = 'pending' THEN c.billed_cost END) AS pending
                 FROM charges c WHERE c.period = ?1 AND {CHART_SET} GROUP BY c.source_id
             ) t JOIN sources s ON s.id = t.source_id ORDER BY s.name_key"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let raw = stmt
            .query_map([period], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .map(|(source, billed, list, pending)| {
                Ok(SourceSpend {
                    source,
                    billed: exact(&billed)?,
                    list: exact(&list)?,
                    pending: exact(&pending)?,
                })
            })
            .collect()
    }

    /// Billed and list totals of one PI or project in a period.
    pub fn period_spend_of(
        &self,
        period: &str,
        scope: &SpendScope,
    ) -> Result<(ExactSum, ExactSum)> {
        let (cond, key) = match scope {
            SpendScope::Pi(e) => (format!("lower({EFFECTIVE_PI}) = lower(?2)"), e),
            SpendScope::Project(p) => (format!("{EFFECTIVE_PROJECT} = ?2"), p),
        };
        let sql = format!(
            "SELECT dec_sum(c.billed_cost), dec_sum({LIST}) FROM charges c
             WHERE c.period = ?1 AND {CHART_SET} AND {cond}"
        );
        let (billed, list): (String, String) = self
            .conn
            .prepare_cached(&sql)?
            .query_row(params![period, key], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((exact(&billed)?, exact(&list)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use crate::{Actor, ImportRecord, PreparedCharge};
    use ocb_core::attribution::Attribution;
    use ocb_core::charge::{ChargeFields, ReviewState};
    use std::str::FromStr;

    fn d(s: &str) -> ExactSum {
        ExactSum::from_str(s).expect("decimal")
    }

    fn import(s: &mut Store, source: &str, rows: &[(&str, &str, Option<&str>, &str, ReviewState)]) {
        let header = crate::testutil::header(&format!("u-{source}"), source);
        let mut w = s.begin_import(&Actor::cli("t"), &header).expect("begin");
        for (i, (period, billed, list, pi, state)) in rows.iter().enumerate() {
            let p: ocb_core::period::Period = period.parse().expect("period");
            if w.period_status(p).expect("status").is_none() {
                w.create_period(p).expect("create");
            }
            let fields = ChargeFields {
                billing_period_start: format!("{period}-01T00:00:00Z").into(),
                billed_cost: billed.parse().expect("decimal"),
                list_cost: list.map(|l| l.parse().expect("decimal")),
                resource_id: Some(format!("{source}{i}")),
                ..Default::default()
            };
            let c = crate::testutil::charge(
                i as u64 + 1,
                period,
                fields,
                Attribution {
                    pi_email: Some((*pi).into()),
                    project_id: Some(format!("proj-{pi}")),
                    ..Default::default()
                },
                vec![],
            );
            w.insert(PreparedCharge::new(c), *state).expect("insert");
        }
        w.commit(&ImportRecord::default()).expect("commit");
    }

    #[test]
    fn monthly_figures_are_exact_and_exclude_rejected() {
        let mut s = store();
        use ReviewState::{Approved, Pending, Rejected};
        import(
            &mut s,
            "AWS",
            &[
                (
                    "2025-01",
                    "10.10",
                    Some("20.20"),
                    "a@x.edu",
                    ReviewState::None,
                ),
                ("2025-01", "0.20", None, "b@x.edu", Pending),
                ("2025-01", "99", Some("99"), "a@x.edu", Rejected),
                ("2024-12", "1.00", Some("3.00"), "a@x.edu", Approved),
            ],
        );
        import(
            &mut s,
            "HPC",
            &[("2025-01", "0", Some("500.50"), "A@X.edu", ReviewState::None)],
        );
        assert_eq!(
            s.period_spend_by_source("2025-01").expect("spend"),
            [
                SourceSpend {
                    source: "AWS".into(),
                    billed: d("10.30"),
                    list: d("20.40"),
                    pending: d("0.20"),
                },
                SourceSpend {
                    source: "HPC".into(),
                    billed: d("0"),
                    list: d("500.50"),
                    pending: d("0"),
                },
            ]
        );
        let pi = SpendScope::Pi("a@x.edu".into());
        assert_eq!(
            s.period_spend_of("2025-01", &pi).expect("pi"),
            (d("10.10"), d("520.70"))
        );
        let project = SpendScope::Project("proj-b@x.edu".into());
        assert_eq!(
            s.period_spend_of("2025-01", &project).expect("project"),
            (d("0.20"), d("0.20"))
        );
        assert_eq!(
            s.period_spend_of("2030-01", &pi).expect("none"),
            (d("0"), d("0"))
        );
        let recent = s.recent_periods("2025-01", 12).expect("recent");
        assert_eq!(
            recent.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["2024-12", "2025-01"]
        );
        assert_eq!(s.recent_periods("2024-12", 1).expect("one").len(), 1);
    }

    /// The per-period query walks the (period, source_id) index: no table scan, no sort.
    #[test]
    fn spend_by_source_uses_the_scope_index() {
        let s = store();
        let plan: Vec<String> = s
            .conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT c.source_id, dec_sum(c.billed_cost), dec_sum({LIST})
                 FROM charges c WHERE c.period = ?1 AND {CHART_SET} GROUP BY c.source_id"
            ))
            .expect("plan")
            .query_map(["2025-01"], |r| r.get::<_, String>(3))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("plan rows");
        let text = plan.join("\n");
        assert!(text.contains("USING INDEX charges_scope"), "{text}");
        assert!(!text.contains("TEMP B-TREE"), "{text}");
    }
}
