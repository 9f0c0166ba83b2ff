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
use ocb_core::charge::SharedText;
use ocb_core::charge::{NewCharge, ReviewState};
use ocb_core::decimal_text::DecimalText;
use ocb_core::fast_map::FastMap;
use ocb_core::flags::FlagReason;
use ocb_core::period::Period;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Statement};
use std::collections::HashMap;

/// Rows per multi-row INSERT (at most 40 parameters a row, far below SQLite's limit). Measured
/// with callgrind on a million-row import: 64 costs the writer 2% fewer instructions than 32,
/// while 8 and 128 cost more.
pub(crate) const BATCH: usize = 64;

/// Distinct groups buffered at once (a file usually has one or two).
const MAX_GROUPS: usize = 16;

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

/// Nullable columns: the content columns (the charge's stored fields, also diffed for history)
/// and, last, the flag reasons.
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

/// Position of `tags` in [`OPTIONAL`]: written as the id of its row in `tag_sets`.
const TAGS: usize = 16;

/// Distinct tag sets whose ids the writer keeps at hand (more only cost a lookup in the table).
const MAX_TAG_SET_IDS: usize = 65_536;

/// The column an optional value is written to: the tag set's id instead of its text.
fn stored_column(i: usize) -> &'static str {
    if i == TAGS {
        "tag_set_id"
    } else {
        OPTIONAL[i]
    }
}

/// The content columns: every optional column but the flag reasons.
pub(crate) const CONTENT: &[&str] = OPTIONAL.split_at(OPTIONAL.len() - 1).0;

/// Bit `i` set = optional column `i` is non-null.
type Shape = u32;

/// A new charge on its way to the writer. Boxed: the reader thread builds it straight into its
/// box and the box is all that moves between threads.
pub struct PreparedCharge {
    /// The charge.
    pub charge: NewCharge,
}

impl PreparedCharge {
    /// Wraps `charge`.
    #[inline]
    pub fn new(charge: NewCharge) -> Self {
        Self { charge }
    }
}

/// The texts a charge's insert binds that are not stored on the charge (amounts, tag dates).
/// Made on the writer thread when the charge is queued and kept out of [`PreparedCharge`]: the
/// box the reader fills moves between the two cores' caches, a cost that grows with its size.
struct BindTexts {
    costs: [Option<DecimalText>; 4],
    end_date: Option<String>,
    reconciliation_end: Option<String>,
}

impl BindTexts {
    fn of(charge: &NewCharge) -> Self {
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
        }
    }
}

/// Charges already written, handed back so the thread that made them frees them (freeing on
/// the writer thread cost it 7% of its time).
pub struct Written(#[allow(dead_code)] Vec<Vec<Queued>>);

/// The optional columns' values of a charge, in [`OPTIONAL`] order, as UTF-8 bytes (bound as
/// text without a second UTF-8 check: the amounts' ASCII digits were checked once per bind);
/// `reasons` is computed at insert time because the re-import decision may add reasons.
fn values<'a>(q: &'a Queued) -> [Option<&'a [u8]>; 30] {
    let f = &q.prepared.charge.fields;
    let a = &q.prepared.charge.attribution;
    let t = &q.texts;
    let s = |v: &'a Option<String>| v.as_deref().map(str::as_bytes);
    let shared = |v: &'a Option<SharedText>| v.as_deref().map(str::as_bytes);
    let cost = |i: usize| t.costs[i].as_ref().map(DecimalText::as_bytes);
    [
        Some(f.billing_period_start.as_bytes()),
        shared(&f.billing_period_end),
        shared(&f.charge_period_start),
        shared(&f.charge_period_end),
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
        shared(&f.tags_json),
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
        s(&t.end_date),
        s(&t.reconciliation_end),
        s(&q.reasons),
    ]
}

/// The shape of a charge: which of its [`OPTIONAL`] values are non-null.
fn shape_of(q: &Queued) -> Shape {
    values(q)
        .iter()
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

/// What the rows of one batch share: their null pattern, and the values written as literals
/// rather than bound per row (source, import, period, review state and the billing-period
/// dates: constant over a period, and a text bind costs SQLite a copy and an allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Group {
    shape: Shape,
    period: Period,
    state: ReviewState,
    /// Index of the rows' billing-period dates in [`Inserter::billing`], or [`BOUND`].
    billing: u16,
}

/// Billing dates bound per row: too many distinct pairs, or text that is not a plain date.
const BOUND: u16 = u16::MAX;

/// Distinct billing-period date pairs written as literals in one import (one per period).
const MAX_BILLING_LITERALS: usize = 64;

/// The billing-period dates of a charge (optional columns 0 and 1).
type BillingDates = (SharedText, Option<SharedText>);

/// Dates are inlined only when they are made of the characters of a canonical timestamp, so a
/// literal can never need escaping.
fn literal_safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'.' | b'+'))
}

/// Whether optional column `i` is written as a literal by the group's statement.
fn inlined(g: Group, i: usize) -> bool {
    g.billing != BOUND && i < 2
}

fn insert_sql(g: Group, ids: (i64, i64), rows: usize, billing: Option<&BillingDates>) -> String {
    let (source_id, import_id) = ids;
    let optional: Vec<(usize, &str)> = (0..OPTIONAL.len())
        .filter(|i| g.shape & (1 << i) != 0)
        .map(|i| (i, stored_column(i)))
        .collect();
    let literal = |i: usize| -> String {
        let text = billing.and_then(|(start, end)| if i == 0 { Some(start) } else { end.as_ref() });
        text.map_or_else(|| "NULL".to_owned(), |t| format!("'{t}'"))
    };
    let per_row = 4 + optional.iter().filter(|(i, _)| !inlined(g, *i)).count();
    let values = (0..rows)
        .map(|r| {
            let mut next = 0;
            let mut p = || {
                next += 1;
                format!("?{}", r * per_row + next)
            };
            let mut v = vec![source_id.to_string(), format!("'{}'", g.period)];
            v.extend([p(), p(), p()]);
            v.extend([import_id.to_string(), import_id.to_string()]);
            v.push(p());
            v.push(format!("'{}'", g.state.as_str()));
            for (i, _) in &optional {
                v.push(if inlined(g, *i) { literal(*i) } else { p() });
            }
            format!("({})", v.join(","))
        })
        .collect::<Vec<_>>()
        .join(",");
    let mut columns: Vec<&str> = FIXED.to_vec();
    columns.extend(optional.iter().map(|(_, n)| *n));
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
    prepared: Box<PreparedCharge>,
    texts: BindTexts,
    reasons: Option<String>,
    /// The row of its tag set in `tag_sets`, when it has tags.
    tag_set: Option<i64>,
}

/// Buffers new charges by group and writes them in batches.
///
/// The statements are prepared once per (group, batch size) and kept for the whole import on
/// the import's connection (inside its transaction). Through rusqlite's statement cache, every
/// batch hashed its 2 KB SQL text twice and cleared 600 bindings: 9% of the writer's work.
pub(crate) struct Inserter<'c> {
    conn: &'c Connection,
    buffers: Vec<(Group, Vec<Queued>)>,
    written: Vec<Vec<Queued>>,
    statements: HashMap<(Group, usize), Statement<'c>>,
    /// The billing-date pairs inlined so far; a group refers to one by index.
    billing: Vec<BillingDates>,
    /// Ids of the tag sets met so far.
    tag_sets: FastMap<SharedText, i64>,
}

impl<'c> Inserter<'c> {
    /// An inserter writing through `conn`, whose open transaction is the import's.
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Self {
            conn,
            buffers: Vec::new(),
            written: Vec::new(),
            statements: HashMap::new(),
            billing: Vec::new(),
            tag_sets: FastMap::default(),
        }
    }

    /// The id of a tag set in `tag_sets`, inserting it when new.
    fn tag_set_id(&mut self, tags: &SharedText) -> Result<i64> {
        if let Some(id) = self.tag_sets.get(tags) {
            return Ok(*id);
        }
        self.conn
            .prepare_cached(
                "INSERT INTO tag_sets (tags) VALUES (?1) ON CONFLICT (tags) DO NOTHING",
            )?
            .execute([&**tags])?;
        let id: i64 = self
            .conn
            .prepare_cached("SELECT id FROM tag_sets WHERE tags = ?1")?
            .query_row([&**tags], |r| r.get(0))?;
        if self.tag_sets.len() >= MAX_TAG_SET_IDS {
            self.tag_sets.clear();
        }
        self.tag_sets.insert(SharedText::clone(tags), id);
        Ok(id)
    }

    /// The literal index of a charge's billing dates, adding them when new.
    fn billing_index(&mut self, f: &ocb_core::charge::ChargeFields) -> u16 {
        let (start, end) = (&f.billing_period_start, &f.billing_period_end);
        let found = self
            .billing
            .iter()
            .position(|(s, e)| s == start && e == end);
        match found {
            Some(i) => i as u16,
            None if self.billing.len() < MAX_BILLING_LITERALS
                && literal_safe(start)
                && end.as_deref().is_none_or(literal_safe) =>
            {
                self.billing.push((start.clone(), end.clone()));
                (self.billing.len() - 1) as u16
            }
            None => BOUND,
        }
    }

    /// Queues a charge; writes its group's batch when full.
    pub(crate) fn push(
        &mut self,
        ids: (i64, i64),
        prepared: Box<PreparedCharge>,
        state: ReviewState,
    ) -> Result<()> {
        let tag_set = match &prepared.charge.fields.tags_json {
            Some(tags) => Some(self.tag_set_id(tags)?),
            None => None,
        };
        let queued = Queued {
            texts: BindTexts::of(&prepared.charge),
            reasons: reasons_json(&prepared.charge.reasons),
            prepared,
            tag_set,
        };
        let group = Group {
            shape: shape_of(&queued),
            period: queued.prepared.charge.period,
            state,
            billing: self.billing_index(&queued.prepared.charge.fields),
        };
        let i = match self.buffers.iter().position(|(g, _)| *g == group) {
            Some(i) => i,
            None => {
                // Bounded: a file with ever-new groups writes its partial batches and starts over.
                if self.buffers.len() == MAX_GROUPS {
                    self.flush(ids)?;
                }
                self.buffers.push((group, Vec::with_capacity(BATCH)));
                self.buffers.len() - 1
            }
        };
        self.buffers[i].1.push(queued);
        if self.buffers[i].1.len() == BATCH {
            let rows = std::mem::replace(&mut self.buffers[i].1, Vec::with_capacity(BATCH));
            self.write(ids, group, &rows)?;
            self.written.push(rows);
        }
        Ok(())
    }

    /// The charges written so far, for the caller to free.
    pub(crate) fn take_written(&mut self) -> Written {
        Written(std::mem::take(&mut self.written))
    }

    /// Writes every buffered charge.
    pub(crate) fn flush(&mut self, ids: (i64, i64)) -> Result<()> {
        for (group, rows) in std::mem::take(&mut self.buffers) {
            if !rows.is_empty() {
                self.write(ids, group, &rows)?;
                self.written.push(rows);
            }
        }
        Ok(())
    }

    fn write(&mut self, ids: (i64, i64), group: Group, rows: &[Queued]) -> Result<()> {
        let key = (group, rows.len());
        if !self.statements.contains_key(&key) {
            let billing = self.billing.get(usize::from(group.billing));
            let statement = self
                .conn
                .prepare(&insert_sql(group, ids, rows.len(), billing))?;
            self.statements.insert(key, statement);
        }
        let stmt = self.statements.get_mut(&key).expect("prepared above");
        // Concrete types at each call (not `&dyn ToSql`): the binds inline, about 40
        // instructions less per value.
        let mut n = 0;
        for q in rows {
            let c = &q.prepared.charge;
            stmt.raw_bind_parameter(n + 1, &c.key_hash[..])?;
            stmt.raw_bind_parameter(n + 2, c.occurrence)?;
            stmt.raw_bind_parameter(n + 3, &c.content_hash[..])?;
            stmt.raw_bind_parameter(n + 4, c.line as i64)?;
            n += 4;
            // A row's shape equals its group's: every non-null value has its column.
            for (i, value) in values(q).iter().enumerate() {
                if i == TAGS && group.shape & (1 << i) != 0 {
                    n += 1;
                    stmt.raw_bind_parameter(n, q.tag_set)?;
                } else if group.shape & (1 << i) != 0 && !inlined(group, i) {
                    n += 1;
                    let value = value.map_or(ValueRef::Null, ValueRef::Text);
                    stmt.raw_bind_parameter(n, ToSqlOutput::Borrowed(value))?;
                }
            }
        }
        stmt.raw_execute()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn statement_binds_only_per_row_values() {
        let g = Group {
            shape: 0b1 | 1 << 6,
            period: Period::from_str("2025-01").expect("period"),
            state: ReviewState::Pending,
            billing: BOUND,
        };
        assert_eq!(
            insert_sql(g, (3, 17), 2, None),
            "INSERT OR FAIL INTO charges (source_id, period, key_hash, occurrence, content_hash, \
             created_import_id, import_id, line, review_state, billing_period_start, billed_cost) \
             VALUES (3,'2025-01',?1,?2,?3,17,17,?4,'pending',?5,?6),\
             (3,'2025-01',?7,?8,?9,17,17,?10,'pending',?11,?12)"
        );
    }

    #[test]
    fn billing_dates_of_a_period_are_literals() {
        let g = Group {
            shape: 0b11 | 1 << 6,
            period: Period::from_str("2025-01").expect("period"),
            state: ReviewState::None,
            billing: 0,
        };
        let dates = (
            "2025-01-01T00:00:00Z".into(),
            Some("2025-02-01T00:00:00Z".into()),
        );
        assert_eq!(
            insert_sql(g, (3, 17), 2, Some(&dates)),
            "INSERT OR FAIL INTO charges (source_id, period, key_hash, occurrence, content_hash, \
             created_import_id, import_id, line, review_state, billing_period_start, \
             billing_period_end, billed_cost) \
             VALUES (3,'2025-01',?1,?2,?3,17,17,?4,'none','2025-01-01T00:00:00Z','2025-02-01T00:00:00Z',?5),\
             (3,'2025-01',?6,?7,?8,17,17,?9,'none','2025-01-01T00:00:00Z','2025-02-01T00:00:00Z',?10)"
        );
    }

    #[test]
    fn only_timestamp_characters_are_inlined() {
        assert!(literal_safe("2025-01-01T00:00:00.250Z"));
        assert!(!literal_safe("2025-01-01'); DROP TABLE charges; --"));
        assert!(!literal_safe("2025 01 01"));
    }
}
