//! The bulk insert of new charges, the hot path of every import.
//!
//! Two costs dominate a SQLite bulk insert: running the statement and binding its parameters
//! (about 200 instructions each, nulls included). So rows are written [`BATCH`] per statement,
//! and each statement names only the columns that are non-null in its rows: rows are grouped by
//! their null pattern ("shape"), one buffer and one cached statement per shape. A lite FOCUS
//! file leaves half the columns empty, so half the binds disappear; a file using every column
//! is written exactly as before. Rows of different shapes may reach the table in a different
//! order than the file's; nothing depends on rowid order (each charge keeps its line).

use crate::Result;
use ocb_core::charge::{NewCharge, ReviewState};
use ocb_core::decimal_text::DecimalText;
use ocb_core::flags::FlagReason;
use ocb_core::period::Period;
use rusqlite::Transaction;
use std::collections::HashMap;

/// Rows per multi-row INSERT (at most 40 parameters a row, far below SQLite's limit).
pub(crate) const BATCH: usize = 32;

/// Distinct shapes buffered at once; rows of further shapes use the all-columns statement.
const MAX_SHAPES: usize = 8;

/// Columns every row binds, in order.
const FIXED: [&str; 9] = [
    "source_id",
    "period",
    "key_hash",
    "occurrence",
    "content_hash",
    "created_import_id",
    "import_id",
    "line",
    "review_state",
];

/// Nullable columns: the content columns (in [`crate::imports::CONTENT_NAMES`] order) and the
/// flag reasons.
pub(crate) const OPTIONAL: [&str; 30] = [
    "billing_period_start",
    "billing_period_end",
    "charge_period_start",
    "charge_period_end",
    "list_cost",
    "contracted_cost",
    "billed_cost",
    "effective_cost",
    "resource_id",
    "resource_name",
    "service_name",
    "charge_category",
    "charge_class",
    "charge_description",
    "sku_id",
    "sku_price_id",
    "tags",
    "tags_raw",
    "extra",
    "pi_email",
    "project_id",
    "fund_org",
    "cost_center",
    "account_code",
    "reference_1",
    "reference_2",
    "pi_name",
    "end_date",
    "reconciliation_end",
    "flag_reasons",
];

/// Bit `i` set = optional column `i` is non-null.
type Shape = u32;
const ALL: Shape = (1 << OPTIONAL.len()) - 1;

/// A new charge with the texts its insert binds (amounts, tag dates), made by the caller's
/// thread: the import's reader thread prepares them while the writer thread is busy in SQLite.
pub struct PreparedCharge {
    /// The charge.
    pub charge: NewCharge,
    costs: [Option<DecimalText>; 4],
    end_date: Option<String>,
    reconciliation_end: Option<String>,
}

impl PreparedCharge {
    /// Formats the bind texts of `charge`.
    pub fn new(charge: NewCharge) -> Self {
        let f = &charge.fields;
        let a = &charge.attribution;
        Self {
            costs: [
                f.list_cost,
                f.contracted_cost,
                Some(f.billed_cost),
                f.effective_cost,
            ]
            .map(|d| d.map(DecimalText::new)),
            end_date: a.end_date.map(|d| d.to_string()),
            reconciliation_end: a.reconciliation_end.map(|d| d.to_string()),
            charge,
        }
    }
}

/// Charges already written, handed back so the thread that made them frees them (freeing on
/// the writer thread cost it 7% of its time).
pub struct Written(#[allow(dead_code)] Vec<Vec<Queued>>);

/// The optional columns' values of a charge, in [`OPTIONAL`] order; `reasons` is computed at
/// insert time because the re-import decision may add reasons.
fn values<'a>(p: &'a PreparedCharge, reasons: &'a Option<String>) -> [Option<&'a str>; 30] {
    let f = &p.charge.fields;
    let a = &p.charge.attribution;
    let s = |v: &'a Option<String>| v.as_deref();
    let cost = |i: usize| p.costs[i].as_ref().map(DecimalText::as_str);
    [
        Some(f.billing_period_start.as_str()),
        s(&f.billing_period_end),
        s(&f.charge_period_start),
        s(&f.charge_period_end),
        cost(0),
        cost(1),
        cost(2),
        cost(3),
        s(&f.resource_id),
        s(&f.resource_name),
        s(&f.service_name),
        s(&f.charge_category),
        s(&f.charge_class),
        s(&f.charge_description),
        s(&f.sku_id),
        s(&f.sku_price_id),
        s(&f.tags_json),
        s(&f.tags_raw),
        s(&f.extra_json),
        s(&a.pi_email),
        s(&a.project_id),
        s(&a.fund_org),
        s(&a.cost_center),
        s(&a.account_code),
        s(&a.reference_1),
        s(&a.reference_2),
        s(&a.pi_name),
        s(&p.end_date),
        s(&p.reconciliation_end),
        s(reasons),
    ]
}

fn shape_of(v: &[Option<&str>; 30]) -> Shape {
    v.iter()
        .enumerate()
        .fold(0, |m, (i, x)| if x.is_some() { m | 1 << i } else { m })
}

/// The flag reasons as stored: a JSON list, NULL when never flagged.
pub(crate) fn reasons_json(reasons: &[FlagReason]) -> Option<String> {
    (!reasons.is_empty()).then(|| {
        serde_json::to_string(
            &reasons
                .iter()
                .map(FlagReason::as_string)
                .collect::<Vec<_>>(),
        )
        .expect("strings serialise")
    })
}

fn insert_sql(shape: Shape, rows: usize) -> String {
    let mut columns: Vec<&str> = FIXED.to_vec();
    columns.extend(
        OPTIONAL
            .iter()
            .enumerate()
            .filter(|(i, _)| shape & (1 << i) != 0)
            .map(|(_, n)| *n),
    );
    let per_row = columns.len() - 1; // created_import_id and import_id share one parameter
    let values = (0..rows)
        .map(|r| {
            let p = |i: usize| format!("?{}", r * per_row + i);
            let mut v = vec![p(1), p(2), p(3), p(4), p(5), p(6), p(6), p(7), p(8)];
            v.extend((9..=per_row).map(p));
            format!("({})", v.join(","))
        })
        .collect::<Vec<_>>()
        .join(",");
    format!(
        // OR FAIL: a failing row leaves the statement's earlier rows in place instead of
        // rolling the statement back, so SQLite keeps no statement journal (a page copy check
        // per row). Any failure aborts and rolls back the whole import transaction anyway.
        "INSERT OR FAIL INTO charges ({}) VALUES {values}",
        columns.join(", ")
    )
}

/// A charge waiting for its batch.
struct Queued {
    prepared: PreparedCharge,
    state: ReviewState,
    reasons: Option<String>,
}

/// Buffers new charges by shape and writes them in batches.
#[derive(Default)]
pub(crate) struct Inserter {
    buffers: Vec<(Shape, Vec<Queued>)>,
    written: Vec<Vec<Queued>>,
    sql: HashMap<(Shape, usize), String>,
    period: PeriodText,
}

impl Inserter {
    /// Queues a charge; writes its shape's batch when full.
    pub(crate) fn push(
        &mut self,
        tx: &Transaction<'_>,
        ids: (i64, i64),
        prepared: PreparedCharge,
        state: ReviewState,
    ) -> Result<()> {
        let reasons = reasons_json(&prepared.charge.reasons);
        let mut shape = shape_of(&values(&prepared, &reasons));
        let queued = Queued {
            prepared,
            state,
            reasons,
        };
        let i = match self.buffers.iter().position(|(s, _)| *s == shape) {
            Some(i) => i,
            None if self.buffers.len() < MAX_SHAPES => {
                self.buffers.push((shape, Vec::with_capacity(BATCH)));
                self.buffers.len() - 1
            }
            None => {
                shape = ALL;
                match self.buffers.iter().position(|(s, _)| *s == ALL) {
                    Some(i) => i,
                    None => {
                        self.buffers.push((ALL, Vec::with_capacity(BATCH)));
                        self.buffers.len() - 1
                    }
                }
            }
        };
        self.buffers[i].1.push(queued);
        if self.buffers[i].1.len() == BATCH {
            let rows = std::mem::replace(&mut self.buffers[i].1, Vec::with_capacity(BATCH));
            self.write(tx, ids, shape, &rows)?;
            self.written.push(rows);
        }
        Ok(())
    }

    /// The charges written so far, for the caller to free.
    pub(crate) fn take_written(&mut self) -> Written {
        Written(std::mem::take(&mut self.written))
    }

    /// Writes every buffered charge.
    pub(crate) fn flush(&mut self, tx: &Transaction<'_>, ids: (i64, i64)) -> Result<()> {
        let buffers = std::mem::take(&mut self.buffers);
        for (shape, rows) in &buffers {
            if !rows.is_empty() {
                self.write(tx, ids, *shape, rows)?;
            }
        }
        Ok(())
    }

    fn write(
        &mut self,
        tx: &Transaction<'_>,
        ids: (i64, i64),
        shape: Shape,
        rows: &[Queued],
    ) -> Result<()> {
        let sql = self
            .sql
            .entry((shape, rows.len()))
            .or_insert_with(|| insert_sql(shape, rows.len()));
        let mut stmt = tx.prepare_cached(sql)?;
        let mut n = 0;
        for q in rows {
            let (c, state) = (&q.prepared.charge, q.state);
            let v = values(&q.prepared, &q.reasons);
            let mut bind = |value: &dyn rusqlite::ToSql| {
                n += 1;
                stmt.raw_bind_parameter(n, value)
            };
            bind(&ids.0)?;
            bind(&self.period.get(c.period))?;
            bind(&&c.key_hash[..])?;
            bind(&c.occurrence)?;
            bind(&&c.content_hash[..])?;
            bind(&ids.1)?;
            bind(&(c.line as i64))?;
            bind(&state.as_str())?;
            // Rows in the all-columns buffer may have nulls (bound as NULL); a row never has a
            // value its statement lacks a column for (its shape is a subset of the buffer's).
            for (i, value) in v.iter().enumerate() {
                if shape & (1 << i) != 0 {
                    bind(value)?;
                }
            }
        }
        stmt.raw_execute()?;
        Ok(())
    }
}

/// The text of the last period seen (nearly every row of a file has the same one).
#[derive(Default)]
struct PeriodText(Option<(Period, String)>);

impl PeriodText {
    fn get(&mut self, p: Period) -> &str {
        if self.0.as_ref().is_none_or(|(q, _)| *q != p) {
            self.0 = Some((p, p.to_string()));
        }
        self.0.as_ref().map_or("", |(_, t)| t.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_names_only_the_shape_columns() {
        let sql = insert_sql(0b1 | 1 << 6, 2);
        assert_eq!(
            sql,
            "INSERT OR FAIL INTO charges (source_id, period, key_hash, occurrence, content_hash, \
             created_import_id, import_id, line, review_state, billing_period_start, billed_cost) \
             VALUES (?1,?2,?3,?4,?5,?6,?6,?7,?8,?9,?10),(?11,?12,?13,?14,?15,?16,?16,?17,?18,?19,?20)"
        );
        let all = insert_sql(ALL, 1);
        assert_eq!(all.matches('?').count(), 9 + 30);
    }
}
