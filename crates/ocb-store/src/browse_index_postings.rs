//! Posting lists of a [`crate::BrowseIndex`]: for each value of a column, the positions of its
//! rows in the index's default order (billed cost descending, then id), so a filtered view
//! visits only its own rows instead of the whole period, and per value and status class the
//! count and exact sum of its rows, so a view filtered on one column knows its totals without
//! visiting them at all.
//!
//! Why: at a million charges a pass over every row costs 10–15 ms of CPU per request, which
//! twenty concurrent clients on two cores turn into hundreds of milliseconds (BENCHMARKS.md
//! "Web pages"). A PI, project or reason holds a few hundred or thousand rows.

use crate::browse::StatusFilter;
use crate::browse_index::{REMOVED, STATE_MASK, ST_APPROVED, ST_NONE, ST_PENDING, ST_REJECTED};

/// Status classes: the four review states of live charges, and removed charges.
pub(crate) const CLASSES: usize = 5;
const CLASS_REMOVED: usize = 4;

/// The status class of a row's state byte.
pub(crate) fn class_of(st: u8) -> usize {
    if st & REMOVED != 0 {
        CLASS_REMOVED
    } else {
        (st & STATE_MASK) as usize
    }
}

/// The classes a status filter admits, as a bit per class (the SQL of `StatusFilter`).
pub(crate) fn class_mask(f: StatusFilter) -> u8 {
    let b = |s: u8| 1u8 << s;
    match f {
        StatusFilter::Default => b(ST_NONE) | b(ST_PENDING) | b(ST_APPROVED),
        StatusFilter::Billable => b(ST_NONE) | b(ST_APPROVED),
        StatusFilter::Flagged => b(ST_PENDING),
        StatusFilter::Approved => b(ST_APPROVED),
        StatusFilter::Rejected => b(ST_REJECTED),
        StatusFilter::Removed => 1 << CLASS_REMOVED,
        StatusFilter::All => (1 << CLASSES) - 1,
    }
}

/// Rows grouped by the value of one column (compressed: `rows[starts[v]..starts[v + 1]]`),
/// each group in default order; with totals per value and class when asked for.
#[derive(Default)]
pub(crate) struct Postings {
    starts: Vec<u32>,
    rows: Vec<u32>,
    /// `count[v * CLASSES + class]`, empty when not kept.
    counts: Vec<i64>,
    sums: Vec<i128>,
}

impl Postings {
    /// Groups `col` (values below `values`); `totals` keeps the per value and class figures
    /// (only for filterable columns: a column of distinct references would make them large).
    pub(crate) fn build(
        col: &[u32],
        values: usize,
        state: &[u8],
        billed: &[i128],
        totals: bool,
    ) -> Self {
        let mut starts = vec![0u32; values + 1];
        for v in col {
            starts[*v as usize + 1] += 1;
        }
        for v in 0..values {
            starts[v + 1] += starts[v];
        }
        let mut next = starts.clone();
        let mut rows = vec![0u32; col.len()];
        for (i, v) in col.iter().enumerate() {
            let at = &mut next[*v as usize];
            rows[*at as usize] = i as u32;
            *at += 1;
        }
        let (mut counts, mut sums) = (Vec::new(), Vec::new());
        if totals {
            counts = vec![0i64; values * CLASSES];
            sums = vec![0i128; values * CLASSES];
            for (i, v) in col.iter().enumerate() {
                let k = *v as usize * CLASSES + class_of(state[i]);
                counts[k] += 1;
                sums[k] += billed[i];
            }
        }
        Self {
            starts,
            rows,
            counts,
            sums,
        }
    }

    /// Distinct values (ids below this).
    pub(crate) fn values(&self) -> usize {
        self.starts.len() - 1
    }

    /// The rows of value `v`, in default order.
    pub(crate) fn list(&self, v: u32) -> &[u32] {
        let v = v as usize;
        if v >= self.values() {
            return &[];
        }
        &self.rows[self.starts[v] as usize..self.starts[v + 1] as usize]
    }

    /// Count and sum of the rows of value `v` in the classes of `mask` (`None` when the totals
    /// are not kept).
    pub(crate) fn totals(&self, v: u32, mask: u8) -> Option<(u64, i128)> {
        if self.counts.is_empty() {
            return None;
        }
        let (mut n, mut s) = (0u64, 0i128);
        if (v as usize) < self.values() {
            for c in 0..CLASSES {
                if mask & (1 << c) != 0 {
                    n += self.counts[v as usize * CLASSES + c] as u64;
                    s += self.sums[v as usize * CLASSES + c];
                }
            }
        }
        Some((n, s))
    }

    /// Heap size in bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.starts.len() * 4 + self.rows.len() * 4 + self.counts.len() * 24
    }
}

/// A set of row positions, a bit per row.
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    pub(crate) fn new(rows: usize) -> Self {
        Self(vec![0; rows.div_ceil(64)])
    }

    pub(crate) fn set(&mut self, i: usize) {
        self.0[i >> 6] |= 1 << (i & 63);
    }

    pub(crate) fn has(&self, i: usize) -> bool {
        self.0[i >> 6] >> (i & 63) & 1 != 0
    }

    /// The positions, ascending (default order).
    pub(crate) fn to_rows(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (w, word) in self.0.iter().enumerate() {
            let mut x = *word;
            while x != 0 {
                out.push((w * 64) as u32 + x.trailing_zeros());
                x &= x - 1;
            }
        }
        out
    }
}

/// The posting lists of an index.
#[derive(Default)]
pub(crate) struct IndexPostings {
    pub(crate) status: Postings,
    pub(crate) source: Postings,
    pub(crate) pi: Postings,
    pub(crate) project: Postings,
    pub(crate) fund: Postings,
    pub(crate) reasons: Postings,
    pub(crate) service: Postings,
    pub(crate) cost_center: Postings,
    pub(crate) ref1: Postings,
    pub(crate) ref2: Postings,
}

impl IndexPostings {
    pub(crate) fn build(r: &crate::browse_index::Rows, d: &crate::browse_index::Dicts) -> Self {
        let (st, b) = (&r.state[..], &r.billed[..]);
        let classes: Vec<u32> = st.iter().map(|s| class_of(*s) as u32).collect();
        let sources = r.source.iter().max().map_or(0, |m| *m as usize + 1);
        Self {
            status: Postings::build(&classes, CLASSES, st, b, true),
            source: Postings::build(&r.source, sources, st, b, true),
            pi: Postings::build(&r.pi, d.pi.values.len(), st, b, true),
            project: Postings::build(&r.project, d.project.values.len(), st, b, true),
            fund: Postings::build(&r.fund, d.fund.values.len(), st, b, true),
            reasons: Postings::build(&r.reasons, d.reasons.values.len(), st, b, true),
            service: Postings::build(&r.service, d.service.values.len(), st, b, false),
            cost_center: Postings::build(&r.cost_center, d.cost_center.values.len(), st, b, false),
            ref1: Postings::build(&r.ref1, d.ref1.values.len(), st, b, false),
            ref2: Postings::build(&r.ref2, d.ref2.values.len(), st, b, false),
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        [
            &self.status,
            &self.source,
            &self.pi,
            &self.project,
            &self.fund,
            &self.reasons,
            &self.service,
            &self.cost_center,
            &self.ref1,
            &self.ref2,
        ]
        .iter()
        .map(|p| p.heap_bytes())
        .sum()
    }
}
