//! Reading charges: the review queue, per-PI summaries and single charges.

use crate::decimal::{dec, exact};
use crate::periods::{BILLABLE, QUEUED};
use crate::{Result, Store};
use ocb_core::exact::ExactSum;
use ocb_core::Decimal;
use rusqlite::{params_from_iter, types::Value};
use serde::Serialize;

/// A listed charge.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeRow {
    /// Charge id.
    pub id: i64,
    /// Period.
    pub period: String,
    /// Source name.
    pub source: String,
    /// Effective PI email.
    pub pi_email: Option<String>,
    /// Effective project.
    pub project_id: Option<String>,
    /// Effective fund/org.
    pub fund_org: Option<String>,
    /// ResourceId.
    pub resource_id: Option<String>,
    /// ResourceName.
    pub resource_name: Option<String>,
    /// ServiceName.
    pub service_name: Option<String>,
    /// Exact billed cost.
    #[serde(serialize_with = "as_text")]
    pub billed_cost: Decimal,
    /// Stored reasons, primary first.
    pub reasons: Vec<String>,
    /// Review state.
    pub review_state: String,
}

fn as_text<S: serde::Serializer>(d: &Decimal, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// Filters of the review queue (SPEC §7.1).
#[derive(Debug, Clone, Default)]
pub struct ChargeFilter {
    /// Period.
    pub period: Option<String>,
    /// Source (case-insensitive).
    pub source: Option<String>,
    /// Reason (`missing_project` alias, `pattern_match` prefix).
    pub reason: Option<String>,
    /// Effective PI email (case-insensitive).
    pub pi_email: Option<String>,
    /// Effective project.
    pub project_id: Option<String>,
    /// Case-insensitive substring; `%` and `_` literal.
    pub search: Option<String>,
}

/// One row of `show`: a project of a PI in a period.
#[derive(Debug, Clone, Serialize)]
pub struct PiProjectSummary {
    /// Project (`(no project)` when none).
    pub project_id: String,
    /// Fund/org (empty when none).
    pub fund_org: String,
    /// Live, non-rejected charges.
    pub charges: i64,
    /// Exact billable sum.
    pub billable: ExactSum,
    /// Charges in the review queue.
    pub flagged: i64,
}

pub(crate) const EFFECTIVE_PI: &str = "coalesce(c.ovr_pi_email, c.pi_email)";
pub(crate) const EFFECTIVE_PROJECT: &str = "coalesce(c.ovr_project_id, c.project_id)";
pub(crate) const EFFECTIVE_FUND: &str = "coalesce(c.ovr_fund_org, c.fund_org)";

/// Builds the WHERE clause for a filter over `charges c JOIN sources s`.
pub(crate) fn filter_sql(f: &ChargeFilter, base: &str) -> (String, Vec<Value>) {
    let mut sql = base.to_string();
    let mut args: Vec<Value> = Vec::new();
    let mut push = |cond: String, v: String| {
        args.push(Value::Text(v));
        sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
    };
    if let Some(p) = &f.period {
        push(" AND c.period = ?".into(), p.clone());
    }
    if let Some(s) = &f.source {
        push(
            " AND s.name_key = ?".into(),
            ocb_core::source::source_key(s),
        );
    }
    if let Some(e) = &f.pi_email {
        push(
            format!(" AND lower({EFFECTIVE_PI}) = lower(?)"),
            e.trim().to_string(),
        );
    }
    if let Some(p) = &f.project_id {
        push(format!(" AND {EFFECTIVE_PROJECT} = ?"), p.clone());
    }
    if let Some(r) = &f.reason {
        match r.as_str() {
            "pattern_match" => push(" AND EXISTS (SELECT 1 FROM json_each(c.flag_reasons) j WHERE substr(j.value, 1, 14) = ?)".into(), "pattern_match:".into()),
            "missing_project" => push(" AND EXISTS (SELECT 1 FROM json_each(c.flag_reasons) j WHERE j.value = ?)".into(), "missing_project_id".into()),
            other => push(" AND EXISTS (SELECT 1 FROM json_each(c.flag_reasons) j WHERE j.value = ?)".into(), other.to_string()),
        }
    }
    if let Some(q) = f.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        // instr() keeps % and _ literal, unlike LIKE.
        let cols = [
            EFFECTIVE_PI,
            "c.resource_id",
            "c.resource_name",
            EFFECTIVE_PROJECT,
            "c.service_name",
            EFFECTIVE_FUND,
            "c.cost_center",
            "c.reference_1",
            "c.reference_2",
        ];
        let ors = cols
            .iter()
            .map(|c| format!("instr(lower(coalesce({c}, '')), lower(?)) > 0"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let n = args.len() + 1;
        args.push(Value::Text(q.to_string()));
        sql.push_str(&format!(" AND ({})", ors.replace('?', &format!("?{n}"))));
    }
    (sql, args)
}

impl Store {
    /// The review queue with filters, ordered by billed cost descending then id.
    /// Returns the page of rows plus the full match count and exact total.
    pub fn review_queue(
        &self,
        f: &ChargeFilter,
        limit: Option<usize>,
    ) -> Result<(Vec<ChargeRow>, u64, ExactSum)> {
        let (where_sql, args) = filter_sql(
            f,
            &format!(
                "WHERE {}",
                QUEUED
                    .replace("removed_at", "c.removed_at")
                    .replace("review_state", "c.review_state")
            ),
        );
        let from = "FROM charges c JOIN sources s ON s.id = c.source_id";
        let (count, total): (i64, String) = self.conn.query_row(
            &format!("SELECT count(*), dec_sum(c.billed_cost) {from} {where_sql}"),
            params_from_iter(args.iter()),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // Ordering by the REAL cast is for display order only; amounts are never computed with it.
        let limit_sql = limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
        let sql = format!(
            "SELECT c.id, c.period, s.name, {EFFECTIVE_PI}, {EFFECTIVE_PROJECT}, {EFFECTIVE_FUND}, c.resource_id, c.resource_name,
                    c.service_name, c.billed_cost, c.flag_reasons, c.review_state
             {from} {where_sql} ORDER BY CAST(c.billed_cost AS REAL) DESC, c.id{limit_sql}"
        );
        let rows = self.charge_rows(&sql, &args)?;
        Ok((rows, count as u64, exact(&total)?))
    }

    pub(crate) fn charge_rows(&self, sql: &str, args: &[Value]) -> Result<Vec<ChargeRow>> {
        let mut stmt = self.conn.prepare(sql)?;
        let raw = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok((
                    ChargeRow {
                        id: r.get(0)?,
                        period: r.get(1)?,
                        source: r.get(2)?,
                        pi_email: r.get(3)?,
                        project_id: r.get(4)?,
                        fund_org: r.get(5)?,
                        resource_id: r.get(6)?,
                        resource_name: r.get(7)?,
                        service_name: r.get(8)?,
                        billed_cost: Decimal::ZERO,
                        reasons: vec![],
                        review_state: r.get(11)?,
                    },
                    r.get::<_, String>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .map(|(mut row, cost, reasons)| {
                row.billed_cost = dec(&cost)?;
                row.reasons = match reasons {
                    Some(j) => serde_json::from_str(&j)
                        .map_err(|_| crate::StoreError::Corrupt(format!("flag reasons {j:?}")))?,
                    None => vec![],
                };
                Ok(row)
            })
            .collect()
    }

    /// One charge as a list row (any state).
    pub fn charge(&self, id: i64) -> Result<Option<ChargeRow>> {
        let sql = format!(
            "SELECT c.id, c.period, s.name, {EFFECTIVE_PI}, {EFFECTIVE_PROJECT}, {EFFECTIVE_FUND}, c.resource_id, c.resource_name,
                    c.service_name, c.billed_cost, c.flag_reasons, c.review_state
             FROM charges c JOIN sources s ON s.id = c.source_id WHERE c.id = ?1"
        );
        Ok(self
            .charge_rows(&sql, &[Value::Integer(id)])?
            .into_iter()
            .next())
    }

    /// `show PI --period P`: one row per (project, fund/org), rejected and removed excluded.
    pub fn pi_summary(&self, pi_email: &str, period: &str) -> Result<Vec<PiProjectSummary>> {
        let sql = format!(
            "SELECT coalesce({EFFECTIVE_PROJECT}, '(no project)'), coalesce({EFFECTIVE_FUND}, ''), count(*),
                    dec_sum(CASE WHEN {billable} THEN c.billed_cost END),
                    count(CASE WHEN {queued} THEN 1 END)
             FROM charges c
             WHERE c.period = ?1 AND lower({EFFECTIVE_PI}) = lower(?2) AND c.removed_at IS NULL AND c.review_state <> 'rejected'
             GROUP BY 1, 2 ORDER BY 1, 2",
            billable = BILLABLE.replace("removed_at", "c.removed_at").replace("review_state", "c.review_state"),
            queued = QUEUED.replace("removed_at", "c.removed_at").replace("review_state", "c.review_state"),
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let raw = stmt
            .query_map([period, pi_email.trim()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .map(|(project_id, fund_org, charges, billable, flagged)| {
                Ok(PiProjectSummary {
                    project_id,
                    fund_org,
                    charges,
                    billable: exact(&billable)?,
                    flagged,
                })
            })
            .collect()
    }

    /// Exact billed total and count of the live charges of a period (all states except removed),
    /// and of the billable ones — used by tests and `db check`.
    pub fn period_totals(&self, period: &str) -> Result<(u64, ExactSum, u64, ExactSum)> {
        let sql = format!(
            "SELECT count(*), dec_sum(billed_cost), count(CASE WHEN {BILLABLE} THEN 1 END),
                    dec_sum(CASE WHEN {BILLABLE} THEN billed_cost END)
             FROM charges WHERE period = ?1 AND removed_at IS NULL"
        );
        let (n, t, bn, bt): (i64, String, i64, String) =
            self.conn.query_row(&sql, [period], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        Ok((n as u64, exact(&t)?, bn as u64, exact(&bt)?))
    }
}
