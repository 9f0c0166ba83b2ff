//! The in-memory charge indexes of recently viewed periods ([`ocb_store::BrowseIndex`]) and the
//! figures of other periods, each valid for its period's key (creation time and change counter,
//! advanced by every import, removal, review action and re-evaluation). A request checks the key
//! (one indexed row read) and uses the cached copy only when it is current; otherwise it
//! rebuilds it once while concurrent requests for the same period wait for that build instead
//! of starting their own.
//!
//! Why: with a million charges in a period, counting, summing, sorting or searching them in
//! SQLite takes hundreds of milliseconds per page view; from the index it takes milliseconds
//! (SPEC §15.1, BENCHMARKS.md "Web pages"). The cost is one scan after each change of the period
//! (one to two seconds per million charges) and roughly 150 bytes per charge of memory, for at most
//! [`MAX_INDEXES`] periods.

use crate::error::AppError;
use ocb_core::exact::ExactSum;
use ocb_store::{BrowseIndex, PeriodKey, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Periods kept indexed at once (the least recently used is dropped).
pub const MAX_INDEXES: usize = 3;

type Slot = Arc<Mutex<Option<Arc<BrowseIndex>>>>;

/// A use counter and, per period, its last use and slot.
type Slots = (u64, HashMap<String, (u64, Slot)>);

/// Billable total and count, queue count and total.
pub type Figures = (ExactSum, i64, i64, ExactSum);

/// See the module documentation.
#[derive(Default)]
pub struct BrowseCache {
    slots: Mutex<Slots>,
    figures: Mutex<HashMap<String, (PeriodKey, Figures)>>,
}

impl BrowseCache {
    /// Forgets everything (after a dev-mode data reset).
    pub fn clear(&self) {
        if let Ok(mut s) = self.slots.lock() {
            s.1.clear();
        }
        if let Ok(mut f) = self.figures.lock() {
            f.clear();
        }
    }

    fn slot(&self, period: &str) -> Result<Slot, AppError> {
        let mut guard = self
            .slots
            .lock()
            .map_err(|_| AppError::internal("index cache lock"))?;
        let (tick, map) = &mut *guard;
        *tick += 1;
        if !map.contains_key(period) && map.len() >= MAX_INDEXES {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let entry = map.entry(period.to_string()).or_default();
        entry.0 = *tick;
        Ok(entry.1.clone())
    }

    /// The current index of `period` (built now if missing or stale); `None` when the period does
    /// not exist or cannot be indexed (the caller then asks SQLite).
    pub fn index(&self, s: &Store, period: &str) -> Result<Option<Arc<BrowseIndex>>, AppError> {
        let Some(key) = s.period_key(period)? else {
            return Ok(None);
        };
        let slot = self.slot(period)?;
        let mut g = slot.lock().map_err(|_| AppError::internal("index lock"))?;
        if let Some(idx) = g.as_ref().filter(|i| i.key() == &key) {
            return Ok(Some(idx.clone()));
        }
        // Drop the stale copy before reading the new one: never two copies of a big period.
        *g = None;
        let started = std::time::Instant::now();
        let built = s.build_browse_index(period)?.map(Arc::new);
        if let Some(idx) = &built {
            tracing::debug!(
                event = "browse.index",
                period,
                charges = idx.len(),
                heap_mib = idx.heap_bytes() >> 20,
                ms = started.elapsed().as_millis() as u64,
                "period indexed"
            );
        }
        *g = built.clone();
        Ok(built)
    }

    /// Figures of `period`: from its index when one is cached and current, else summed by
    /// SQLite once per key.
    pub fn figures(&self, s: &Store, period: &str) -> Result<Option<Figures>, AppError> {
        let Some(key) = s.period_key(period)? else {
            return Ok(None);
        };
        let indexed = self
            .slots
            .lock()
            .ok()
            .and_then(|m| m.1.get(period).map(|(_, slot)| slot.clone()))
            .and_then(|slot| slot.lock().ok().and_then(|g| g.clone()))
            .filter(|i| i.key() == &key);
        if let Some(idx) = indexed {
            let f = idx.figures()?;
            return Ok(Some((
                f.billable_total,
                f.billable_count,
                f.flagged_count,
                f.flagged_total,
            )));
        }
        if let Ok(m) = self.figures.lock() {
            if let Some((k, f)) = m.get(period) {
                if k == &key {
                    return Ok(Some(*f));
                }
            }
        }
        let f = s.period_figures(period)?;
        if let Ok(mut m) = self.figures.lock() {
            m.insert(period.to_string(), (key, f));
        }
        Ok(Some(f))
    }
}
