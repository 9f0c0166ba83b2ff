//! Charges of a Python database: the bulk of the rows, written through the same batched,
//! prepared multi-row inserts as an ingest (`charge_insert.rs`). Charges with a review history
//! (flagged, approved, rejected, or named by a review log row) are few and need their new id
//! and their reviewer columns, so they take a one-row insert instead.

use super::write::UpstreamWriter;
use crate::charge_insert::{reasons_json, Inserter, PreparedCharge};
use crate::imports::{content_values, CONTENT_NAMES};
use crate::Result;
use ocb_core::charge::ReviewState;
use rusqlite::{Connection, ToSql};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A charge with the review decision the Python project recorded for it.
pub struct ImportedCharge {
    /// The charge as our ingest would have made it from the same row.
    pub charge: Box<PreparedCharge>,
    /// Its review state.
    pub state: ReviewState,
    /// Who approved or rejected it, when.
    pub reviewed_by: Option<String>,
    /// When.
    pub reviewed_at: Option<String>,
    /// The rejection note.
    pub review_note: Option<String>,
}

/// One bulk inserter per import record (its ids are part of the prepared statements).
pub(crate) struct ChargeWriters<'a> {
    conn: &'a Connection,
    bulk: HashMap<i64, Inserter<'a>>,
}

impl<'a> ChargeWriters<'a> {
    pub(crate) fn new(conn: &'a Connection) -> Self {
        Self {
            conn,
            bulk: HashMap::new(),
        }
    }

    pub(crate) fn flush(&mut self, import_id: i64, source_id: i64) -> Result<()> {
        if let Some(mut ins) = self.bulk.remove(&import_id) {
            ins.flush((source_id, import_id))?;
        }
        Ok(())
    }
}

fn single_sql() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        let names = CONTENT_NAMES.join(", ");
        let params: Vec<String> = (0..CONTENT_NAMES.len()).map(|i| format!("?{}", i + 13)).collect();
        format!(
            "INSERT INTO charges (source_id, period, key_hash, occurrence, content_hash, created_import_id, import_id,
                                  line, review_state, flag_reasons, reviewed_by, reviewed_at, review_note, {names})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12, {})",
            params.join(", ")
        )
    })
}

impl UpstreamWriter<'_> {
    /// Queues a charge without review history for the batched insert.
    pub fn insert_charge(
        &mut self,
        ids: (i64, i64),
        c: Box<PreparedCharge>,
        state: ReviewState,
    ) -> Result<()> {
        let conn = self.charges.conn;
        let ins = self
            .charges
            .bulk
            .entry(ids.1)
            .or_insert_with(|| Inserter::new(conn));
        ins.push(ids, c, state)?;
        // Written rows come back for freeing; nothing else needs them.
        drop(ins.take_written());
        Ok(())
    }

    /// Writes a charge with its review history at once; returns its id.
    pub fn insert_reviewed(&mut self, ids: (i64, i64), c: &ImportedCharge) -> Result<i64> {
        let n = &c.charge.charge;
        let values = content_values(n);
        let head: [&dyn ToSql; 12] = [
            &ids.0,
            &n.period.to_string(),
            &&n.key_hash[..],
            &n.occurrence,
            &&n.content_hash[..],
            &ids.1,
            &(n.line as i64),
            &c.state.as_str(),
            &reasons_json(&n.reasons),
            &c.reviewed_by,
            &c.reviewed_at,
            &c.review_note,
        ];
        let all: Vec<&dyn ToSql> = head
            .into_iter()
            .chain(values.iter().map(|v| v as &dyn ToSql))
            .collect();
        self.tx()
            .prepare_cached(single_sql())?
            .execute(all.as_slice())?;
        Ok(self.tx().last_insert_rowid())
    }

    /// A charge event (the upstream origin of a reviewed charge).
    pub fn charge_event(
        &mut self,
        charge_id: i64,
        import_id: i64,
        details: &serde_json::Value,
    ) -> Result<()> {
        self.tx()
            .prepare_cached(
                "INSERT INTO charge_events (charge_id, occurred_at, kind, import_id, actor, channel, details)
                 VALUES (?1, ?2, 'imported', ?3, ?4, ?5, ?6)",
            )?
            .execute(rusqlite::params![charge_id, self.at, import_id, self.actor.name, self.actor.channel,
                details.to_string()])?;
        Ok(())
    }
}
