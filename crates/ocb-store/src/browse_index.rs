//! An in-memory index of one period's charges, for the web pages that must answer in tens of
//! milliseconds over millions of charges (SPEC §15.1): the charges browser and its filters, the
//! substring search, the review queue, the dashboard's cards and top PIs.
//!
//! Why not SQL indexes: every filter of the browser is on an expression (`lower(coalesce(ovr_pi_email,
//! pi_email))`, …), the default order is by billed cost and the page shows the exact count and
//! sum of all matches. Indexes for all of that would cost every inserted row several B-tree
//! writes, and ingest has its own budget (a million rows in two seconds). Instead the pages read
//! one compact copy of the period, built by a single scan after it changed:
//!
//! * rows are stored sorted by billed cost descending then id (the default order), so a page of
//!   the default order is the first matches of one pass; other orders get their permutation
//!   (and each row's place in it) built once, on first use;
//! * strings are interned per column (ids into small dictionaries); a filter on PI, project,
//!   fund/org or service is an integer comparison, a search tests each distinct value once;
//! * per column, the rows of each value in default order, with per value and status totals
//!   ([`crate::browse_index_postings`]): a filtered page visits only its own rows, and a page
//!   filtered on one column (or none) stops as soon as it is filled;
//! * resource ids and names, distinct per row, sit lowercased in one buffer searched with
//!   `memchr::memmem` (SIMD), so a substring search over a million charges is a few milliseconds;
//! * amounts are exact integers at the period's largest scale: sums are exact `i128` additions.
//!
//! The semantics are those of the SQL of [`crate::browse`] (ASCII `lower()`, `instr()`, the
//! same NULL handling); tests compare both. An index is valid for its [`PeriodKey`]: the period's
//! creation time and change counter, which every import, removal, review action and
//! re-evaluation advances. Callers cache it against that key (the web server keeps one per
//! recently viewed period); a stale index is never used.

use crate::decimal::dec;
use crate::{Result, Store};
use ocb_core::exact::ExactSum;
use rusqlite::types::ValueRef;
use rusqlite::OptionalExtension;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// What an index of a period is valid for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeriodKey {
    /// `YYYY-MM`.
    pub period: String,
    /// Creation time of the period row (distinguishes a period re-created after a data reset).
    pub created_at: String,
    /// The period's change counter.
    pub change_counter: i64,
}

pub(crate) const ST_NONE: u8 = 0;
pub(crate) const ST_PENDING: u8 = 1;
pub(crate) const ST_APPROVED: u8 = 2;
pub(crate) const ST_REJECTED: u8 = 3;
/// Bit set on removed charges.
pub(crate) const REMOVED: u8 = 0x80;
/// Bit set when the resource name is not NULL (the resource sort key is `coalesce(name, id)`).
pub(crate) const HAS_NAME: u8 = 0x40;
pub(crate) const STATE_MASK: u8 = 0x0f;

/// Interned strings of one column; id 0 is NULL.
#[derive(Default)]
pub(crate) struct Dict {
    pub(crate) values: Vec<Box<str>>,
    ids: HashMap<Box<str>, u32>,
    /// The values ASCII-lowercased, each followed by a NUL, and where each starts (built on the
    /// first search, so a search scans one buffer instead of lowercasing every value).
    lower: OnceLock<(Vec<u8>, Vec<usize>)>,
}

impl Dict {
    fn new() -> Self {
        Self {
            values: vec!["".into()],
            ids: HashMap::new(),
            lower: OnceLock::new(),
        }
    }

    /// Ids whose value contains `q` (lowercase, without NUL) ASCII case-insensitively, as
    /// `lower(value)` and `instr()`; NULL never does. One memmem scan; after a hit the scan
    /// resumes at the next value.
    pub(crate) fn containing(&self, q: &[u8]) -> Vec<u32> {
        let (text, starts) = self.lower.get_or_init(|| {
            let mut text = Vec::new();
            let mut starts = Vec::with_capacity(self.values.len());
            for v in &self.values {
                starts.push(text.len());
                text.extend(v.bytes().map(|b| b.to_ascii_lowercase()));
                text.push(0);
            }
            (text, starts)
        });
        let finder = memchr::memmem::Finder::new(q);
        let mut out = Vec::new();
        let (mut at, mut lo) = (0usize, 0usize);
        while let Some(p) = finder.find(&text[at..]) {
            let pos = at + p;
            let id = lo + starts[lo..].partition_point(|s| *s <= pos) - 1;
            if id != 0 {
                out.push(id as u32);
            }
            lo = id + 1;
            match starts.get(lo) {
                Some(s) => at = *s,
                None => break,
            }
        }
        out
    }

    fn intern(&mut self, v: ValueRef<'_>) -> u32 {
        let s = match v {
            ValueRef::Text(t) => String::from_utf8_lossy(t),
            ValueRef::Integer(n) => n.to_string().into(),
            ValueRef::Real(x) => x.to_string().into(),
            ValueRef::Null | ValueRef::Blob(_) => return 0,
        };
        if let Some(id) = self.ids.get(s.as_ref()) {
            return *id;
        }
        let id = self.values.len() as u32;
        let b: Box<str> = s.into();
        self.values.push(b.clone());
        self.ids.insert(b, id);
        id
    }

    /// The id of an exact value (`None` when absent).
    pub(crate) fn id_of(&self, v: &str) -> Option<u32> {
        self.ids.get(v).copied()
    }

    /// Ids whose value satisfies `pred` (NULL never does).
    pub(crate) fn mask(&self, pred: impl Fn(&str) -> bool) -> Vec<bool> {
        let mut m: Vec<bool> = self.values.iter().map(|v| pred(v)).collect();
        m[0] = false;
        m
    }

    /// Rank of each id under `lower(coalesce(value, ''))` in byte order (the SQL sort keys).
    pub(crate) fn lower_ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        let key = |i: u32| -> String {
            if i == 0 {
                String::new()
            } else {
                self.values[i as usize].to_ascii_lowercase()
            }
        };
        order.sort_by_cached_key(|i| key(*i));
        let mut ranks = vec![0u32; order.len()];
        let mut rank = 0u32;
        for (n, i) in order.iter().enumerate() {
            if n > 0 && key(order[n - 1]) != key(*i) {
                rank += 1;
            }
            ranks[*i as usize] = rank;
        }
        ranks
    }
}

/// The columns of every row, in index order (billed cost descending, then id).
#[derive(Default)]
pub(crate) struct Rows {
    pub(crate) id: Vec<i64>,
    pub(crate) billed: Vec<i128>,
    pub(crate) state: Vec<u8>,
    pub(crate) source: Vec<u32>,
    pub(crate) pi: Vec<u32>,
    pub(crate) pi_name: Vec<u32>,
    pub(crate) project: Vec<u32>,
    pub(crate) fund: Vec<u32>,
    pub(crate) service: Vec<u32>,
    pub(crate) cost_center: Vec<u32>,
    pub(crate) ref1: Vec<u32>,
    pub(crate) ref2: Vec<u32>,
    pub(crate) date: Vec<u32>,
    pub(crate) reasons: Vec<u32>,
    /// Start of the row's `lower(resource_id) \0 lower(resource_name) \0` in `text`.
    pub(crate) text_start: Vec<u32>,
}

/// Interned columns.
pub(crate) struct Dicts {
    /// Effective PI email, lowercased.
    pub(crate) pi: Dict,
    pub(crate) pi_name: Dict,
    pub(crate) project: Dict,
    pub(crate) fund: Dict,
    pub(crate) service: Dict,
    pub(crate) cost_center: Dict,
    pub(crate) ref1: Dict,
    pub(crate) ref2: Dict,
    /// `coalesce(charge_period_start, billing_period_start)`.
    pub(crate) date: Dict,
    /// The stored `flag_reasons` JSON text.
    pub(crate) reasons: Dict,
}

/// A row order other than the stored one: the row positions in that order, and each row's
/// place in it (to put a small filtered set in that order without walking the whole order).
pub(crate) struct Order {
    pub(crate) rows: Vec<u32>,
    pub(crate) place: Vec<u32>,
}

/// Row orders by (sort key code, descending).
pub(crate) type Orders = HashMap<(u8, bool), Arc<Order>>;

/// One period's charges in memory; see the module documentation.
pub struct BrowseIndex {
    pub(crate) key: PeriodKey,
    /// Decimal places of the integer amounts.
    pub(crate) scale: u32,
    pub(crate) rows: Rows,
    pub(crate) dicts: Dicts,
    pub(crate) text: Vec<u8>,
    /// Rows by value of the filterable and searchable columns.
    pub(crate) postings: crate::browse_index_postings::IndexPostings,
    /// Row orders other than the stored one, built on first use (once: concurrent requests
    /// wait for the build) and kept with the index, by (sort key, descending).
    pub(crate) orders: Mutex<Orders>,
    /// Period figures, computed on first use.
    pub(crate) figures: OnceLock<crate::browse_index_query::IndexFigures>,
}

impl BrowseIndex {
    /// What the index is valid for.
    pub fn key(&self) -> &PeriodKey {
        &self.key
    }

    /// Charges in the index (every state, removed included).
    pub fn len(&self) -> usize {
        self.rows.id.len()
    }

    /// True when the period has no charges.
    pub fn is_empty(&self) -> bool {
        self.rows.id.is_empty()
    }

    /// Approximate heap size, for logs and the benchmark.
    pub fn heap_bytes(&self) -> usize {
        let n = self.len();
        let dict = |d: &Dict| d.values.iter().map(|v| v.len() * 2 + 48).sum::<usize>();
        let d = &self.dicts;
        n * (8 + 16 + 1 + 13 * 4)
            + self.text.len()
            + self.postings.heap_bytes()
            + [
                &d.pi,
                &d.pi_name,
                &d.project,
                &d.fund,
                &d.service,
                &d.cost_center,
                &d.ref1,
                &d.ref2,
                &d.date,
                &d.reasons,
            ]
            .iter()
            .map(|x| dict(x))
            .sum::<usize>()
    }
}

fn state_code(s: &[u8]) -> u8 {
    match s {
        b"pending" => ST_PENDING,
        b"approved" => ST_APPROVED,
        b"rejected" => ST_REJECTED,
        _ => ST_NONE,
    }
}

impl Store {
    /// Periods, newest first, with their status, counter and statements state but without the
    /// figures (zero): [`Store::list_periods`] sums every period's charges, which the layout of
    /// every page must not do. Figures come from [`Store::period_figures`] or an index.
    pub fn period_heads(&self) -> Result<Vec<crate::PeriodInfo>> {
        self.period_rows(None, None)
    }

    /// A period's billable total and count, queue count and total (one scan of the period;
    /// cache the result against [`Store::period_key`]).
    pub fn period_figures(&self, period: &str) -> Result<(ExactSum, i64, i64, ExactSum)> {
        crate::periods::figures(&self.conn, period)
    }

    /// Source names by name key: what the pages' filter menus need ([`Store::list_sources`]
    /// also counts every source's charges, a scan of the whole table).
    pub fn source_names(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM sources ORDER BY name_key")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The validity key of a period's index, `None` when the period does not exist.
    pub fn period_key(&self, period: &str) -> Result<Option<PeriodKey>> {
        Ok(self
            .conn
            .prepare_cached("SELECT created_at, change_counter FROM periods WHERE period = ?1")?
            .query_row([period], |r| {
                Ok(PeriodKey {
                    period: period.to_string(),
                    created_at: r.get(0)?,
                    change_counter: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Reads a period into a [`BrowseIndex`] (one scan, in one read transaction so the key and
    /// the rows agree). `None` when the period does not exist, or when its amounts do not fit
    /// the exact integer form (callers then use the SQL of [`crate::browse`]).
    pub fn build_browse_index(&self, period: &str) -> Result<Option<BrowseIndex>> {
        let tx = self.conn.unchecked_transaction()?;
        let Some(key) = self.period_key(period)? else {
            return Ok(None);
        };
        let mut d = Dicts {
            pi: Dict::new(),
            pi_name: Dict::new(),
            project: Dict::new(),
            fund: Dict::new(),
            service: Dict::new(),
            cost_center: Dict::new(),
            ref1: Dict::new(),
            ref2: Dict::new(),
            date: Dict::new(),
            reasons: Dict::new(),
        };
        let mut raw = Rows::default();
        let mut amounts: Vec<ocb_core::Decimal> = Vec::new();
        let mut text: Vec<u8> = Vec::new();
        let mut stmt = tx.prepare(
            "SELECT id, source_id, lower(coalesce(ovr_pi_email, pi_email)), pi_name,
                    coalesce(ovr_project_id, project_id), coalesce(ovr_fund_org, fund_org), service_name,
                    cost_center, reference_1, reference_2, lower(coalesce(resource_id, '')), lower(resource_name),
                    coalesce(charge_period_start, billing_period_start), flag_reasons, review_state,
                    removed_at IS NOT NULL, billed_cost
             FROM charges WHERE period = ?1",
        )?;
        let mut q = stmt.query([period])?;
        while let Some(r) = q.next()? {
            raw.id.push(r.get(0)?);
            raw.source.push(r.get::<_, i64>(1)? as u32);
            raw.pi.push(d.pi.intern(r.get_ref(2)?));
            raw.pi_name.push(d.pi_name.intern(r.get_ref(3)?));
            raw.project.push(d.project.intern(r.get_ref(4)?));
            raw.fund.push(d.fund.intern(r.get_ref(5)?));
            raw.service.push(d.service.intern(r.get_ref(6)?));
            raw.cost_center.push(d.cost_center.intern(r.get_ref(7)?));
            raw.ref1.push(d.ref1.intern(r.get_ref(8)?));
            raw.ref2.push(d.ref2.intern(r.get_ref(9)?));
            raw.text_start.push(text.len() as u32);
            text.extend_from_slice(r.get_ref(10)?.as_bytes().unwrap_or_default());
            text.push(0);
            let name = r.get_ref(11)?;
            text.extend_from_slice(name.as_bytes().unwrap_or_default());
            text.push(0);
            raw.date.push(d.date.intern(r.get_ref(12)?));
            raw.reasons.push(d.reasons.intern(r.get_ref(13)?));
            let mut st = state_code(r.get_ref(14)?.as_bytes().unwrap_or_default());
            if r.get::<_, bool>(15)? {
                st |= REMOVED;
            }
            if !matches!(name, ValueRef::Null) {
                st |= HAS_NAME;
            }
            raw.state.push(st);
            amounts.push(dec(r.get_ref(16)?.as_str().unwrap_or_default())?);
        }
        drop(q);
        drop(stmt);
        tx.finish()?;
        if text.len() > u32::MAX as usize {
            return Ok(None);
        }
        let Some(billed) = integer_amounts(&amounts) else {
            return Ok(None);
        };
        let scale = amounts.iter().map(|a| a.scale()).max().unwrap_or(0);
        drop(amounts);
        // Billed descending, then id: the default order of the browser and the review queue.
        let mut order: Vec<u32> = (0..raw.id.len() as u32).collect();
        order.sort_unstable_by(|a, b| {
            let (a, b) = (*a as usize, *b as usize);
            billed[b].cmp(&billed[a]).then(raw.id[a].cmp(&raw.id[b]))
        });
        let pick = |v: &Vec<u32>| order.iter().map(|i| v[*i as usize]).collect::<Vec<u32>>();
        // The text in index order too, so a match position maps to its row by binary search.
        let mut sorted_text = Vec::with_capacity(text.len());
        let mut text_start = Vec::with_capacity(order.len());
        for i in &order {
            let i = *i as usize;
            let from = raw.text_start[i] as usize;
            let to = raw
                .text_start
                .get(i + 1)
                .map_or(text.len(), |e| *e as usize);
            text_start.push(sorted_text.len() as u32);
            sorted_text.extend_from_slice(&text[from..to]);
        }
        drop(text);
        let rows = Rows {
            id: order.iter().map(|i| raw.id[*i as usize]).collect(),
            billed: order.iter().map(|i| billed[*i as usize]).collect(),
            state: order.iter().map(|i| raw.state[*i as usize]).collect(),
            source: pick(&raw.source),
            pi: pick(&raw.pi),
            pi_name: pick(&raw.pi_name),
            project: pick(&raw.project),
            fund: pick(&raw.fund),
            service: pick(&raw.service),
            cost_center: pick(&raw.cost_center),
            ref1: pick(&raw.ref1),
            ref2: pick(&raw.ref2),
            date: pick(&raw.date),
            reasons: pick(&raw.reasons),
            text_start,
        };
        let postings = crate::browse_index_postings::IndexPostings::build(&rows, &d);
        Ok(Some(BrowseIndex {
            key,
            scale,
            rows,
            dicts: d,
            text: sorted_text,
            postings,
            orders: Mutex::new(HashMap::new()),
            figures: OnceLock::new(),
        }))
    }
}

/// The amounts as integers at their common (largest) scale, or `None` when that form does not
/// hold them: an amount or the sum of every amount's magnitude would leave `i128` (the pages then
/// use the SQL of `browse.rs`). Bounding the sum of magnitudes bounds every sum a query forms.
fn integer_amounts(amounts: &[ocb_core::Decimal]) -> Option<Vec<i128>> {
    let scale = amounts.iter().map(|a| a.scale()).max().unwrap_or(0);
    let mut magnitude: i128 = 0;
    let mut out = Vec::with_capacity(amounts.len());
    for a in amounts {
        let v = a
            .mantissa()
            .checked_mul(10i128.checked_pow(scale - a.scale())?)?;
        magnitude = magnitude.checked_add(v.checked_abs()?)?;
        out.push(v);
    }
    Some(out)
}

#[cfg(test)]
mod integer_tests {
    use super::integer_amounts;
    use ocb_core::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    #[test]
    fn amounts_share_the_largest_scale() {
        assert_eq!(
            integer_amounts(&[d("1.5"), d("-0.25")]),
            Some(vec![150, -25])
        );
        assert_eq!(integer_amounts(&[]), Some(vec![]));
    }

    /// Issue 15, item 3: sums of the index overflowed `i128` for large amounts at a fine scale.
    #[test]
    fn refuses_amounts_whose_sums_could_overflow() {
        let tiny = d("0.0000000000000000000000000001");
        let huge = d("9999999999999999999999999999");
        assert_eq!(
            integer_amounts(&[huge, tiny]),
            None,
            "one amount is too large at 28 places"
        );
        // At 28 places, 12345678901 is 1.2e38 units: one fits i128, two do not.
        let big = d("12345678901");
        assert!(integer_amounts(&[tiny, big]).is_some());
        assert_eq!(
            integer_amounts(&[tiny, big, big]),
            None,
            "their sum is too large"
        );
    }
}
