//! The first of two identical rows of an import (issue 17). The reader flags the later copy
//! `possible_duplicate` before it is written, but the first copy was already written by then:
//! it gets the reason here, inside the import transaction, before commit.

use super::ImportWriter;
use crate::charge_insert::reasons_json;
use crate::{Result, StoreError};
use ocb_core::charge::Hash128;
use ocb_core::flags::FlagReason;
use ocb_core::period::Period;
use rusqlite::params;
use serde_json::json;

impl ImportWriter<'_> {
    /// Adds `possible_duplicate` to the charge this import wrote from `line` (identity
    /// `key_hash` in `period`). Returns true when the charge was not flagged before, so it
    /// joined the review queue with this import (the caller counts it as a flagged row).
    ///
    /// Charges this import did not write are left alone, so re-importing the same file changes
    /// nothing (its rows are unchanged and keep the import that wrote them); so are approved
    /// and rejected charges, because a reviewer's decision stands (as in re-evaluation, §7.7).
    pub fn flag_possible_duplicate(
        &mut self,
        period: Period,
        key_hash: &Hash128,
        line: u64,
        message: &str,
    ) -> Result<bool> {
        self.flush()?;
        let mut newly_flagged = false;
        for (id, stored, state) in self.written_at(period, key_hash, line)? {
            let mut reasons = parse_reasons(id, stored.as_deref())?;
            if reasons.contains(&FlagReason::PossibleDuplicate)
                || !matches!(state.as_str(), "none" | "pending")
            {
                continue;
            }
            // Last in SPEC §5.4 order (see `compute_flags`), so pushing keeps the order.
            reasons.push(FlagReason::PossibleDuplicate);
            self.tx
                .prepare_cached(
                    "UPDATE charges SET flag_reasons = ?2, review_state = 'pending' WHERE id = ?1",
                )?
                .execute(params![id, reasons_json(&reasons)])?;
            let names: Vec<String> = reasons.iter().map(FlagReason::as_string).collect();
            let details =
                json!({"reasons": names, "message": format!("possible duplicate: {message}")});
            self.event(id, "flagged", details)?;
            newly_flagged |= state == "none";
        }
        Ok(newly_flagged)
    }

    /// Live charges of this import's source written by this import from `line`.
    fn written_at(
        &self,
        period: Period,
        key_hash: &Hash128,
        line: u64,
    ) -> Result<Vec<(i64, Option<String>, String)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, flag_reasons, review_state FROM charges
             WHERE source_id = ?1 AND period = ?2 AND key_hash = ?3 AND import_id = ?4
               AND line = ?5 AND removed_at IS NULL",
        )?;
        let rows = stmt.query_map(
            params![
                self.source_id,
                period.to_string(),
                &key_hash[..],
                self.import_id,
                line as i64
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

fn parse_reasons(id: i64, stored: Option<&str>) -> Result<Vec<FlagReason>> {
    let Some(text) = stored else {
        return Ok(vec![]);
    };
    let names: Vec<String> = serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("charge {id} flag_reasons: {e}")))?;
    names
        .iter()
        .map(|n| {
            FlagReason::parse(n)
                .ok_or_else(|| StoreError::Corrupt(format!("charge {id}: unknown reason {n}")))
        })
        .collect()
}
