//! Read models of the web pages (SPEC §12.3): the charges browser and its CSV export, charge
//! detail and history, dashboard figures, projects and PIs. Sums use `dec_sum` (exact); the
//! REAL cast appears only in ORDER BY, never in a figure.

use crate::charges::{filter_sql, ChargeFilter, EFFECTIVE_FUND, EFFECTIVE_PI, EFFECTIVE_PROJECT};
use crate::decimal::{dec, exact};
use crate::periods::BILLABLE;
use crate::{Result, Store, StoreError};
use ocb_core::exact::ExactSum;
use ocb_core::Decimal;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, params_from_iter};
use serde::Serialize;

/// The status filter of the charges browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Everything except rejected and removed.
    #[default]
    Default,
    /// Not flagged-pending, not rejected, not removed.
    Billable,
    /// In the review queue.
    Flagged,
    /// Approved after review.
    Approved,
    /// Rejected.
    Rejected,
    /// Removed by a re-import.
    Removed,
    /// Every charge.
    All,
}

impl StatusFilter {
    /// Parses the query value (`billable`, `flagged`, …); unknown or empty → default.
    pub fn parse(s: &str) -> Self {
        match s {
            "billable" => Self::Billable,
            "flagged" => Self::Flagged,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "removed" => Self::Removed,
            "all" => Self::All,
            _ => Self::Default,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Self::Default => "c.removed_at IS NULL AND c.review_state <> 'rejected'",
            Self::Billable => "c.removed_at IS NULL AND c.review_state IN ('none', 'approved')",
            Self::Flagged => "c.removed_at IS NULL AND c.review_state = 'pending'",
            Self::Approved => "c.removed_at IS NULL AND c.review_state = 'approved'",
            Self::Rejected => "c.removed_at IS NULL AND c.review_state = 'rejected'",
            Self::Removed => "c.removed_at IS NOT NULL",
            Self::All => "1 = 1",
        }
    }
}

/// Sortable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Effective PI email.
    Pi,
    /// Resource name, else id.
    Resource,
    /// Service.
    Service,
    /// Effective project.
    Project,
    /// Effective fund/org.
    FundOrg,
    /// ChargePeriodStart.
    Date,
    /// Billed cost (default, descending).
    #[default]
    Billed,
}

impl SortKey {
    /// Parses the query value; unknown → billed.
    pub fn parse(s: &str) -> Self {
        match s {
            "pi" => Self::Pi,
            "resource" => Self::Resource,
            "service" => Self::Service,
            "project" => Self::Project,
            "fund_org" => Self::FundOrg,
            "date" => Self::Date,
            _ => Self::Billed,
        }
    }

    fn sql(self) -> String {
        match self {
            Self::Pi => format!("lower(coalesce({EFFECTIVE_PI}, ''))"),
            Self::Resource => "lower(coalesce(c.resource_name, c.resource_id, ''))".into(),
            Self::Service => "lower(coalesce(c.service_name, ''))".into(),
            Self::Project => format!("lower(coalesce({EFFECTIVE_PROJECT}, ''))"),
            Self::FundOrg => format!("lower(coalesce({EFFECTIVE_FUND}, ''))"),
            Self::Date => "coalesce(c.charge_period_start, c.billing_period_start)".into(),
            Self::Billed => "CAST(c.billed_cost AS REAL)".into(),
        }
    }
}

/// Filters of the charges browser (the review-queue filters plus fund/org, status, import).
#[derive(Debug, Clone, Default)]
pub struct BrowseFilter {
    /// Period, source, reason, PI, project, search.
    pub base: ChargeFilter,
    /// Effective fund/org (exact, case-insensitive).
    pub fund_org: Option<String>,
    /// Status.
    pub status: StatusFilter,
    /// Charges written or removed by this import.
    pub import_id: Option<i64>,
    /// Only charges without an effective value of this attribution field: what the "(no PI)"
    /// and "(no project)" rows of the PI and project lists stand for (issue 16, item 14).
    pub without: Option<Unattributed>,
}

/// An attribution field a charge may lack (its effective value is NULL or empty, as the PI and
/// project lists group it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unattributed {
    /// No effective PI email.
    Pi,
    /// No effective project.
    Project,
}

impl Unattributed {
    /// Parses the query value (`pi`, `project`); anything else → `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pi" => Some(Self::Pi),
            "project" => Some(Self::Project),
            _ => None,
        }
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pi => "pi",
            Self::Project => "project",
        }
    }

    fn sql(self) -> String {
        let column = match self {
            Self::Pi => EFFECTIVE_PI,
            Self::Project => EFFECTIVE_PROJECT,
        };
        format!(" AND coalesce({column}, '') = ''")
    }
}

/// One charge of the browser and of its CSV export.
#[derive(Debug, Clone, Serialize)]
pub struct BrowseRow {
    /// Charge id.
    pub id: i64,
    /// Period.
    pub period: String,
    /// Source.
    pub source: String,
    /// Effective PI email.
    pub pi_email: Option<String>,
    /// Effective project.
    pub project_id: Option<String>,
    /// Effective fund/org.
    pub fund_org: Option<String>,
    /// Cost center.
    pub cost_center: Option<String>,
    /// Reference 1.
    pub reference_1: Option<String>,
    /// Reference 2.
    pub reference_2: Option<String>,
    /// Service.
    pub service_name: Option<String>,
    /// ResourceId.
    pub resource_id: Option<String>,
    /// ResourceName.
    pub resource_name: Option<String>,
    /// ChargePeriodStart.
    pub charge_period_start: Option<String>,
    /// ChargePeriodEnd.
    pub charge_period_end: Option<String>,
    /// Exact list cost.
    pub list_cost: Option<Decimal>,
    /// Exact billed cost.
    pub billed_cost: Decimal,
    /// `billable`, `flagged`, `approved`, `rejected`, `removed`.
    pub status: String,
    /// Stored reasons, primary first.
    pub reasons: Vec<String>,
}

pub(crate) const ROW_COLUMNS: &str = "c.id, c.period, s.name, coalesce(c.ovr_pi_email, c.pi_email), coalesce(c.ovr_project_id, c.project_id),
    coalesce(c.ovr_fund_org, c.fund_org), c.cost_center, c.reference_1, c.reference_2, c.service_name, c.resource_id,
    c.resource_name, c.charge_period_start, c.charge_period_end, c.list_cost, c.billed_cost, c.review_state,
    c.removed_at IS NOT NULL, c.flag_reasons";

pub(crate) fn browse_row(r: &rusqlite::Row<'_>) -> Result<BrowseRow> {
    let state: String = r.get(16)?;
    let removed: bool = r.get(17)?;
    let status = if removed {
        "removed"
    } else {
        match state.as_str() {
            "pending" => "flagged",
            "approved" => "approved",
            "rejected" => "rejected",
            _ => "billable",
        }
    };
    let reasons: Option<String> = r.get(18)?;
    Ok(BrowseRow {
        id: r.get(0)?,
        period: r.get(1)?,
        source: r.get(2)?,
        pi_email: r.get(3)?,
        project_id: r.get(4)?,
        fund_org: r.get(5)?,
        cost_center: r.get(6)?,
        reference_1: r.get(7)?,
        reference_2: r.get(8)?,
        service_name: r.get(9)?,
        resource_id: r.get(10)?,
        resource_name: r.get(11)?,
        charge_period_start: r.get(12)?,
        charge_period_end: r.get(13)?,
        list_cost: r
            .get::<_, Option<String>>(14)?
            .map(|v| dec(&v))
            .transpose()?,
        billed_cost: dec(&r.get::<_, String>(15)?)?,
        status: status.into(),
        reasons: match reasons {
            Some(j) => serde_json::from_str(&j)
                .map_err(|_| StoreError::Corrupt(format!("flag reasons {j:?}")))?,
            None => vec![],
        },
    })
}

fn where_clause(f: &BrowseFilter) -> (String, Vec<Value>) {
    let (mut sql, mut args) = filter_sql(&f.base, &format!("WHERE {}", f.status.sql()));
    if let Some(fo) = f
        .fund_org
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        args.push(Value::Text(fo.to_string()));
        sql.push_str(&format!(
            " AND lower(coalesce({EFFECTIVE_FUND}, '')) = lower(?{})",
            args.len()
        ));
    }
    if let Some(w) = f.without {
        sql.push_str(&w.sql());
    }
    if let Some(id) = f.import_id {
        args.push(Value::Integer(id));
        let n = args.len();
        sql.push_str(&format!(
            " AND (c.import_id = ?{n} OR c.created_import_id = ?{n} OR c.removed_by_import = ?{n})"
        ));
    }
    (sql, args)
}

pub(crate) const FROM: &str = "FROM charges c JOIN sources s ON s.id = c.source_id";

/// A page of results with the full match count and exact sum.
#[derive(Debug, Clone, Serialize)]
pub struct BrowsePage {
    /// Rows of the page.
    pub rows: Vec<BrowseRow>,
    /// All matches.
    pub total_count: u64,
    /// Exact billed sum of all matches.
    pub total_billed: ExactSum,
}

impl Store {
    /// The charges browser: one page of matches, sorted, plus count and exact sum.
    pub fn browse_charges(
        &self,
        f: &BrowseFilter,
        sort: SortKey,
        descending: bool,
        offset: u64,
        limit: u64,
    ) -> Result<BrowsePage> {
        let (where_sql, mut args) = where_clause(f);
        let (count, total): (i64, String) = self.conn.query_row(
            &format!("SELECT count(*), dec_sum(c.billed_cost) {FROM} {where_sql}"),
            params_from_iter(args.iter()),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let dir = if descending { "DESC" } else { "ASC" };
        args.push(Value::Integer(limit as i64));
        args.push(Value::Integer(offset as i64));
        let n = args.len();
        let sql = format!(
            "SELECT {ROW_COLUMNS} {FROM} {where_sql} ORDER BY {} {dir}, c.id LIMIT ?{} OFFSET ?{n}",
            sort.sql(),
            n - 1
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut q = stmt.query(params_from_iter(args.iter()))?;
        let mut rows = Vec::new();
        while let Some(r) = q.next()? {
            rows.push(browse_row(r)?);
        }
        Ok(BrowsePage {
            rows,
            total_count: count as u64,
            total_billed: exact(&total)?,
        })
    }

    /// Every match, in order, handed to `sink` one at a time (the CSV export streams them).
    pub fn for_each_charge(
        &self,
        f: &BrowseFilter,
        sort: SortKey,
        descending: bool,
        sink: &mut dyn FnMut(BrowseRow) -> bool,
    ) -> Result<()> {
        let (where_sql, args) = where_clause(f);
        let dir = if descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {ROW_COLUMNS} {FROM} {where_sql} ORDER BY {} {dir}, c.id",
            sort.sql()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut q = stmt.query(params_from_iter(args.iter()))?;
        while let Some(r) = q.next()? {
            if !sink(browse_row(r)?) {
                break;
            }
        }
        Ok(())
    }

    /// Every stored column of one charge, in table order, as text (blobs left out), plus the
    /// source name; `None` when the charge does not exist.
    pub fn charge_columns(&self, id: i64) -> Result<Option<ChargeColumns>> {
        let mut stmt = self.conn.prepare(
            "SELECT c.*, s.name AS source_name, t.tags AS set_tags FROM charges c
             JOIN sources s ON s.id = c.source_id LEFT JOIN tag_sets t ON t.id = c.tag_set_id
             WHERE c.id = ?1",
        )?;
        let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
        let mut q = stmt.query([id])?;
        let Some(r) = q.next()? else {
            return Ok(None);
        };
        let mut out: Vec<(String, Option<String>)> = Vec::with_capacity(names.len());
        for (i, name) in names.into_iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null | ValueRef::Blob(_) => None,
                ValueRef::Integer(n) => Some(n.to_string()),
                ValueRef::Real(x) => Some(x.to_string()),
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            };
            match name.as_str() {
                // Storage details: the hashes, and where the tags are kept (schema v5).
                "key_hash" | "content_hash" | "tag_set_id" => {}
                "set_tags" => {
                    if let Some(tags) = out.iter_mut().find(|(n, _)| n == "tags") {
                        tags.1 = tags.1.take().or(v);
                    }
                }
                _ => out.push((name, v)),
            }
        }
        Ok(Some(out))
    }

    /// The history of one charge, newest first (SPEC §7.6).
    pub fn charge_history(&self, id: i64) -> Result<Vec<ChargeEvent>> {
        let mut stmt = self.conn.prepare(
            "SELECT e.occurred_at, e.kind, e.import_id, i.filename, e.actor, e.channel, e.details
             FROM charge_events e LEFT JOIN imports i ON i.id = e.import_id
             WHERE e.charge_id = ?1 ORDER BY e.id DESC",
        )?;
        let rows = stmt.query_map([id], |r| {
            let details: String = r.get(6)?;
            Ok(ChargeEvent {
                time: r.get(0)?,
                kind: r.get(1)?,
                import_id: r.get(2)?,
                filename: r.get(3)?,
                actor: r.get(4)?,
                channel: r.get(5)?,
                details: serde_json::from_str(&details)
                    .unwrap_or(serde_json::Value::String(details)),
            })
        })?;
        let mut events: Vec<ChargeEvent> = rows.collect::<rusqlite::Result<_>>()?;
        // The first import is recorded on the charge itself, not as an event.
        let created: Option<(String, i64, String, String, String)> = self
            .conn
            .query_row(
                "SELECT i.created_at, i.id, i.filename, i.actor, i.channel FROM charges c JOIN imports i ON i.id = c.created_import_id WHERE c.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .ok();
        if let Some((time, import_id, filename, actor, channel)) = created {
            events.push(ChargeEvent {
                time,
                kind: "imported".into(),
                import_id: Some(import_id),
                filename: Some(filename),
                actor,
                channel,
                details: serde_json::json!({}),
            });
        }
        Ok(events)
    }

    /// Dashboard figures of a period: active PIs, projects, rejected count and amount.
    pub fn period_overview(&self, period: &str) -> Result<PeriodOverview> {
        let sql = format!(
            "SELECT count(DISTINCT CASE WHEN {b} THEN lower({EFFECTIVE_PI}) END),
                    count(DISTINCT CASE WHEN {b} THEN {EFFECTIVE_PROJECT} END),
                    count(CASE WHEN c.removed_at IS NULL AND c.review_state = 'rejected' THEN 1 END),
                    dec_sum(CASE WHEN c.removed_at IS NULL AND c.review_state = 'rejected' THEN c.billed_cost END)
             FROM charges c WHERE c.period = ?1",
            b = BILLABLE.replace("removed_at", "c.removed_at").replace("review_state", "c.review_state"),
        );
        let (pis, projects, rejected, rejected_total): (i64, i64, i64, String) =
            self.conn.query_row(&sql, [period], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        Ok(PeriodOverview {
            active_pis: pis,
            projects,
            rejected_count: rejected,
            rejected_total: exact(&rejected_total)?,
        })
    }

    /// PIs of a period with their figures (billable total descending), paginated; plus the count.
    pub fn pi_list(&self, period: &str, offset: u64, limit: u64) -> Result<(Vec<PiRow>, u64)> {
        let b = BILLABLE
            .replace("removed_at", "c.removed_at")
            .replace("review_state", "c.review_state");
        let base = "FROM charges c WHERE c.period = ?1 AND c.removed_at IS NULL AND c.review_state <> 'rejected'";
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(DISTINCT lower(coalesce({EFFECTIVE_PI}, ''))) {base}"),
            [period],
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT lower(coalesce({EFFECTIVE_PI}, '')), max(c.pi_name), count(DISTINCT {EFFECTIVE_PROJECT}), count(*),
                    dec_sum(CASE WHEN {b} THEN c.billed_cost END), count(CASE WHEN c.review_state = 'pending' THEN 1 END)
             {base} GROUP BY 1
             ORDER BY sum(CASE WHEN {b} THEN CAST(c.billed_cost AS REAL) ELSE 0 END) DESC, 1 LIMIT ?2 OFFSET ?3"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let raw = stmt
            .query_map(params![period, limit as i64, offset as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let rows = raw
            .into_iter()
            .map(|(email, name, projects, charges, billable, flagged)| {
                Ok(PiRow {
                    email,
                    name,
                    projects,
                    charges,
                    billable: exact(&billable)?,
                    flagged,
                })
            })
            .collect::<Result<_>>()?;
        Ok((rows, total as u64))
    }

    /// Projects of a period (billable total descending), paginated; plus the count.
    pub fn project_list(
        &self,
        period: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<ProjectRow>, u64)> {
        let b = BILLABLE
            .replace("removed_at", "c.removed_at")
            .replace("review_state", "c.review_state");
        let base = "FROM charges c WHERE c.period = ?1 AND c.removed_at IS NULL AND c.review_state <> 'rejected'";
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(DISTINCT coalesce({EFFECTIVE_PROJECT}, '')) {base}"),
            [period],
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT coalesce({EFFECTIVE_PROJECT}, ''), group_concat(DISTINCT lower({EFFECTIVE_PI})),
                    group_concat(DISTINCT {EFFECTIVE_FUND}), count(*), dec_sum(CASE WHEN {b} THEN c.billed_cost END)
             {base} GROUP BY 1
             ORDER BY sum(CASE WHEN {b} THEN CAST(c.billed_cost AS REAL) ELSE 0 END) DESC, 1 LIMIT ?2 OFFSET ?3"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let raw = stmt
            .query_map(params![period, limit as i64, offset as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let split = |v: Option<String>| -> Vec<String> {
            v.map(|s| s.split(',').map(str::to_string).collect())
                .unwrap_or_default()
        };
        let rows = raw
            .into_iter()
            .map(|(project_id, pis, funds, charges, billable)| {
                Ok(ProjectRow {
                    project_id,
                    pi_emails: split(pis),
                    fund_orgs: split(funds),
                    charges,
                    billable: exact(&billable)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((rows, total as u64))
    }

    /// Billable totals of a project in a period grouped by fund/org (`by = "fund_org"`) or by
    /// service (`by = "service"`).
    pub fn project_breakdown(
        &self,
        period: &str,
        project_id: &str,
        by_service: bool,
    ) -> Result<Vec<(String, i64, ExactSum)>> {
        let b = BILLABLE
            .replace("removed_at", "c.removed_at")
            .replace("review_state", "c.review_state");
        let key = if by_service {
            "coalesce(c.service_name, '')".to_string()
        } else {
            format!("coalesce({EFFECTIVE_FUND}, '')")
        };
        let sql = format!(
            "SELECT {key}, count(*), dec_sum(c.billed_cost) FROM charges c
             WHERE c.period = ?1 AND coalesce({EFFECTIVE_PROJECT}, '') = ?2 AND {b} GROUP BY 1 ORDER BY 1"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let raw = stmt
            .query_map(params![period, project_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .map(|(k, n, t)| Ok((k, n, exact(&t)?)))
            .collect()
    }

    /// Reasons present among the queued charges of a period (the reason filter's options).
    pub fn queue_reasons(&self, period: Option<&str>) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT j.value FROM charges c, json_each(c.flag_reasons) j
             WHERE c.removed_at IS NULL AND c.review_state = 'pending' AND (?1 IS NULL OR c.period = ?1) ORDER BY 1",
        )?;
        let rows = stmt.query_map([period], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Every stored column of a charge as (name, text value).
pub type ChargeColumns = Vec<(String, Option<String>)>;

/// One history event of a charge.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeEvent {
    /// UTC time.
    pub time: String,
    /// `imported`, `updated`, `approved`, …
    pub kind: String,
    /// Import concerned.
    pub import_id: Option<i64>,
    /// Its file name.
    pub filename: Option<String>,
    /// Actor.
    pub actor: String,
    /// Channel.
    pub channel: String,
    /// Details (changed fields, note, override, reasons).
    pub details: serde_json::Value,
}

/// Dashboard cards.
#[derive(Debug, Clone, Serialize)]
pub struct PeriodOverview {
    /// PIs with billable charges.
    pub active_pis: i64,
    /// Projects with billable charges.
    pub projects: i64,
    /// Rejected charges.
    pub rejected_count: i64,
    /// Their exact total.
    pub rejected_total: ExactSum,
}

/// A PI of a period.
#[derive(Debug, Clone, Serialize)]
pub struct PiRow {
    /// Effective PI email (lower case; empty when missing).
    pub email: String,
    /// PI name tag, if any.
    pub name: Option<String>,
    /// Distinct projects.
    pub projects: i64,
    /// Charges (not rejected, not removed).
    pub charges: i64,
    /// Exact billable total.
    pub billable: ExactSum,
    /// Charges in the queue.
    pub flagged: i64,
}

/// A project of a period.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectRow {
    /// Effective project (empty when missing).
    pub project_id: String,
    /// PIs.
    pub pi_emails: Vec<String>,
    /// Fund/orgs.
    pub fund_orgs: Vec<String>,
    /// Charges (not rejected, not removed).
    pub charges: i64,
    /// Exact billable total.
    pub billable: ExactSum,
}
