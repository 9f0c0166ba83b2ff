//! Read models of the log pages (SPEC §12.3): the import log with its detail report and the
//! review log, each filtered and paginated.

use crate::decimal::{dec, exact};
use crate::imports::{ImportSummary, ImportTotals, StoredDiagnostic};
use crate::{Result, Store};
use ocb_core::exact::ExactSum;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, OptionalExtension};
use serde::Serialize;

/// Filters of the import log.
#[derive(Debug, Clone, Default)]
pub struct ImportFilter {
    /// Source (case-insensitive).
    pub source: Option<String>,
    /// `committed` / `failed`.
    pub status: Option<String>,
    /// Imports touching this period.
    pub period: Option<String>,
}

/// The full record of one import (SPEC §5.12).
#[derive(Debug, Clone, Serialize)]
pub struct ImportDetail {
    /// The list row (counters, periods, failure).
    #[serde(flatten)]
    pub summary: ImportSummary,
    /// Full path (CLI).
    pub path: Option<String>,
    /// Input kind.
    pub kind: Option<String>,
    /// Input size.
    pub size_bytes: Option<i64>,
    /// SHA-256.
    pub sha256: Option<String>,
    /// Expected period.
    pub expected_period: Option<String>,
    /// Skip-invalid used.
    pub skip_invalid: bool,
    /// Warnings.
    pub warnings: Vec<StoredDiagnostic>,
    /// Errors (capped at 10,000 stored).
    pub errors: Vec<StoredDiagnostic>,
    /// Rejects file.
    pub rejects_path: Option<String>,
    /// Error report.
    pub errors_path: Option<String>,
    /// Wall time.
    pub duration_ms: i64,
}

/// A review log row (SPEC §7.6).
#[derive(Debug, Clone, Serialize)]
pub struct ReviewLogRow {
    /// Row id.
    pub id: i64,
    /// UTC time.
    pub time: String,
    /// Period.
    pub period: String,
    /// Charge.
    pub charge_id: i64,
    /// `approved`, `rejected`, `restored`, `reflagged`, `cleared`.
    pub action: String,
    /// Actor.
    pub actor: String,
    /// Channel.
    pub channel: String,
    /// PI at the time.
    pub pi_email: Option<String>,
    /// Resource id.
    pub resource_id: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// Exact amount at the time.
    pub amount: ocb_core::Decimal,
    /// Reasons at the time.
    pub reasons: Vec<String>,
    /// Note.
    pub note: Option<String>,
    /// Override JSON.
    pub override_: Option<String>,
}

/// Filters of the review log.
#[derive(Debug, Clone, Default)]
pub struct ReviewLogFilter {
    /// Period.
    pub period: Option<String>,
    /// Action.
    pub action: Option<String>,
    /// Actor (case-insensitive).
    pub actor: Option<String>,
    /// PI email (case-insensitive).
    pub pi_email: Option<String>,
}

const IMPORT_COLUMNS: &str = "i.id, i.uuid, i.status, i.created_at, i.actor, i.channel, i.source, i.filename, i.mode,
    i.rows_read, i.inserted, i.updated, i.unchanged, i.rejected, i.removed, i.flagged_rows, i.flagged_cost, i.total_cost,
    i.error_count, i.failure_kind, i.failure_message";

fn import_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ImportSummary, String, String)> {
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
    Ok((
        ImportSummary {
            id: r.get(0)?,
            uuid: r.get(1)?,
            status: r.get(2)?,
            created_at: r.get(3)?,
            actor: r.get(4)?,
            channel: r.get(5)?,
            source: r.get(6)?,
            filename: r.get(7)?,
            mode: r.get(8)?,
            totals: ImportTotals::from_counters(
                [n(9)?, n(10)?, n(11)?, n(12)?, n(13)?, n(14)?, n(15)?],
                ExactSum::ZERO,
                ExactSum::ZERO,
            ),
            error_count: n(18)?,
            failure_kind: r.get(19)?,
            failure_message: r.get(20)?,
            periods: vec![],
        },
        r.get(16)?,
        r.get(17)?,
    ))
}

impl Store {
    /// The import log, newest first, filtered and paginated; plus the match count.
    pub fn import_log(
        &self,
        f: &ImportFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<ImportSummary>, u64)> {
        let mut sql = String::from("FROM imports i WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if let Some(s) = &f.source {
            args.push(Value::Text(s.to_lowercase()));
            sql.push_str(&format!(" AND lower(i.source) = ?{}", args.len()));
        }
        if let Some(s) = &f.status {
            args.push(Value::Text(s.clone()));
            sql.push_str(&format!(" AND i.status = ?{}", args.len()));
        }
        if let Some(p) = &f.period {
            args.push(Value::Text(p.clone()));
            let n = args.len();
            sql.push_str(&format!(
                " AND (i.expected_period = ?{n} OR EXISTS (SELECT 1 FROM import_periods ip WHERE ip.import_id = i.id AND ip.period = ?{n}))"
            ));
        }
        let count: i64 = self.conn.query_row(
            &format!("SELECT count(*) {sql}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        args.push(Value::Integer(limit as i64));
        args.push(Value::Integer(offset as i64));
        let n = args.len();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {IMPORT_COLUMNS} {sql} ORDER BY i.id DESC LIMIT ?{} OFFSET ?{n}",
            n - 1
        ))?;
        let raw = stmt
            .query_map(params_from_iter(args.iter()), import_summary)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(raw.len());
        for (mut s, flagged, total) in raw {
            s.totals.flagged_cost = exact(&flagged)?;
            s.totals.total_cost = exact(&total)?;
            s.periods = self.import_period_counts(s.id)?;
            out.push(s);
        }
        Ok((out, count as u64))
    }

    fn import_period_counts(&self, id: i64) -> Result<Vec<crate::PeriodCounts>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT period, rows_read, inserted, updated, unchanged, rejected, removed, flagged_rows, flagged_cost, total_cost
             FROM import_periods WHERE import_id = ?1 ORDER BY period",
        )?;
        let raw = stmt
            .query_map([id], |r| {
                let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
                Ok((
                    r.get::<_, String>(0)?,
                    [n(1)?, n(2)?, n(3)?, n(4)?, n(5)?, n(6)?, n(7)?],
                    r.get::<_, String>(8)?,
                    r.get::<_, String>(9)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter()
            .map(|(period, counts, fc, tc)| {
                Ok(crate::PeriodCounts {
                    period,
                    totals: ImportTotals::from_counters(counts, exact(&fc)?, exact(&tc)?),
                })
            })
            .collect()
    }

    /// One import with its warnings, errors and artefact paths.
    pub fn import_detail(&self, id: i64) -> Result<Option<ImportDetail>> {
        let row = self
            .conn
            .query_row(
                &format!(
                    "SELECT {IMPORT_COLUMNS}, i.path, i.kind, i.size_bytes, i.sha256, i.expected_period, i.skip_invalid,
                            i.warnings, i.errors, i.rejects_path, i.errors_path, i.duration_ms
                     FROM imports i WHERE i.id = ?1"
                ),
                [id],
                |r| {
                    Ok((
                        import_summary(r)?,
                        (r.get::<_, Option<String>>(21)?, r.get::<_, Option<String>>(22)?, r.get::<_, Option<i64>>(23)?),
                        (r.get::<_, Option<String>>(24)?, r.get::<_, Option<String>>(25)?, r.get::<_, bool>(26)?),
                        (r.get::<_, String>(27)?, r.get::<_, String>(28)?),
                        (r.get::<_, Option<String>>(29)?, r.get::<_, Option<String>>(30)?, r.get::<_, i64>(31)?),
                    ))
                },
            )
            .optional()?;
        let Some((
            (mut summary, fc, tc),
            (path, kind, size),
            (sha, expected, skip),
            (w, e),
            (rejects, errors, ms),
        )) = row
        else {
            return Ok(None);
        };
        summary.totals.flagged_cost = exact(&fc)?;
        summary.totals.total_cost = exact(&tc)?;
        summary.periods = self.import_period_counts(id)?;
        Ok(Some(ImportDetail {
            summary,
            path,
            kind,
            size_bytes: size,
            sha256: sha,
            expected_period: expected,
            skip_invalid: skip,
            warnings: serde_json::from_str(&w).unwrap_or_default(),
            errors: serde_json::from_str(&e).unwrap_or_default(),
            rejects_path: rejects,
            errors_path: errors,
            duration_ms: ms,
        }))
    }

    /// The review log, newest first, filtered and paginated; plus the match count.
    pub fn review_log(
        &self,
        f: &ReviewLogFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<ReviewLogRow>, u64)> {
        let mut sql = String::from("FROM review_log WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        let mut push = |cond: &str, v: String| {
            args.push(Value::Text(v));
            sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
        };
        if let Some(p) = &f.period {
            push(" AND period = ?", p.clone());
        }
        if let Some(a) = &f.action {
            push(" AND action = ?", a.clone());
        }
        if let Some(a) = &f.actor {
            push(" AND lower(actor) = lower(?)", a.clone());
        }
        if let Some(e) = &f.pi_email {
            push(" AND lower(pi_email) = lower(?)", e.trim().to_string());
        }
        let count: i64 = self.conn.query_row(
            &format!("SELECT count(*) {sql}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )?;
        args.push(Value::Integer(limit as i64));
        args.push(Value::Integer(offset as i64));
        let n = args.len();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, occurred_at, period, charge_id, action, actor, channel, pi_email, resource_id, service, amount, reasons, note, override
             {sql} ORDER BY id DESC LIMIT ?{} OFFSET ?{n}",
            n - 1
        ))?;
        let raw = stmt
            .query_map(params_from_iter(args.iter()), |r| {
                Ok((
                    ReviewLogRow {
                        id: r.get(0)?,
                        time: r.get(1)?,
                        period: r.get(2)?,
                        charge_id: r.get(3)?,
                        action: r.get(4)?,
                        actor: r.get(5)?,
                        channel: r.get(6)?,
                        pi_email: r.get(7)?,
                        resource_id: r.get(8)?,
                        service: r.get(9)?,
                        amount: ocb_core::Decimal::ZERO,
                        reasons: vec![],
                        note: r.get(12)?,
                        override_: r.get(13)?,
                    },
                    r.get::<_, String>(10)?,
                    r.get::<_, String>(11)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let rows = raw
            .into_iter()
            .map(|(mut row, amount, reasons)| {
                row.amount = dec(&amount)?;
                row.reasons = serde_json::from_str(&reasons).unwrap_or_default();
                Ok(row)
            })
            .collect::<Result<_>>()?;
        Ok((rows, count as u64))
    }
}
