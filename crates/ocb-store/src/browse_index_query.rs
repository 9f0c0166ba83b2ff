//! Queries over a [`BrowseIndex`]: one pass over the period's rows in the requested order
//! counts and sums every match exactly and keeps the ids of the requested page, whose rows are
//! then read from SQLite by primary key. Also the period's figures (cards, top PIs, queue
//! reasons), computed once per index.

use crate::browse::{PiRow, SortKey};
use crate::browse_index::{
    BrowseIndex, Dict, Order, HAS_NAME, REMOVED, STATE_MASK, ST_PENDING, ST_REJECTED,
};
use crate::browse_index_postings::Bits;
use crate::Result;
use ocb_core::exact::ExactSum;
use std::sync::Arc;

/// A period's figures from its index (those of `get_period` and `period_overview`, and the PIs
/// by billable total).
#[derive(Debug, Clone)]
pub struct IndexFigures {
    /// Exact billable total.
    pub billable_total: ExactSum,
    /// Billable charges.
    pub billable_count: i64,
    /// Charges in the review queue.
    pub flagged_count: i64,
    /// Their exact total.
    pub flagged_total: ExactSum,
    /// Rejected charges (not removed).
    pub rejected_count: i64,
    /// Their exact total.
    pub rejected_total: ExactSum,
    /// Distinct PIs with billable charges.
    pub active_pis: i64,
    /// Distinct projects with billable charges.
    pub projects: i64,
    /// Every PI (lowercased, empty when missing), billable total descending then email, as
    /// `Store::pi_list`.
    pub pis: Vec<PiRow>,
    /// Distinct reasons of the queued charges, sorted.
    pub queue_reasons: Vec<String>,
}

fn sort_code(k: SortKey) -> u8 {
    match k {
        SortKey::Pi => 0,
        SortKey::Resource => 1,
        SortKey::Service => 2,
        SortKey::Project => 3,
        SortKey::FundOrg => 4,
        SortKey::Date => 5,
        SortKey::Billed => 6,
    }
}

/// A sum of the index's integer amounts (`v · 10^-scale`) as an exact total. The index is only
/// built when the sum of every amount's magnitude fits `i128`, so no sum of a subset overflows.
pub(crate) fn decimal(v: i128, scale: u32) -> ExactSum {
    ExactSum::from_scaled(v, scale)
}

impl BrowseIndex {
    fn text_of(&self, i: usize) -> &[u8] {
        let from = self.rows.text_start[i] as usize;
        let to = self
            .rows
            .text_start
            .get(i + 1)
            .map_or(self.text.len(), |e| *e as usize);
        &self.text[from..to]
    }

    /// `lower(coalesce(resource_name, resource_id, ''))` of row `i`.
    fn resource_key(&self, i: usize) -> &[u8] {
        let t = self.text_of(i);
        let cut = t.iter().position(|b| *b == 0).unwrap_or(t.len());
        if self.rows.state[i] & HAS_NAME != 0 {
            &t[cut + 1..t.len() - 1]
        } else {
            &t[..cut]
        }
    }

    /// Row positions in the order of `sort` (ties by id ascending, as the SQL).
    pub(crate) fn order(&self, sort: SortKey, desc: bool) -> Arc<Order> {
        let code = (sort_code(sort), desc);
        // Held while building: concurrent first requests wait for one build instead of each
        // sorting a million rows.
        let mut guard = self.orders.lock().ok();
        if let Some(o) = guard.as_ref().and_then(|m| m.get(&code)) {
            return o.clone();
        }
        let n = self.len();
        let mut o: Vec<u32> = (0..n as u32).collect();
        let r = &self.rows;
        let ranks = |d: &Dict, col: &Vec<u32>, lower: bool| -> Vec<u32> {
            let rank = if lower {
                d.lower_ranks()
            } else {
                let mut idx: Vec<u32> = (0..d.values.len() as u32).collect();
                idx.sort_by(|a, b| d.values[*a as usize].cmp(&d.values[*b as usize]));
                let mut rank = vec![0u32; idx.len()];
                for (n, i) in idx.iter().enumerate() {
                    rank[*i as usize] = n as u32;
                }
                rank
            };
            col.iter().map(|v| rank[*v as usize]).collect()
        };
        let by_rank = |o: &mut Vec<u32>, key: Vec<u32>| {
            o.sort_unstable_by(|a, b| {
                let (a, b) = (*a as usize, *b as usize);
                let c = key[a].cmp(&key[b]);
                (if desc { c.reverse() } else { c }).then(r.id[a].cmp(&r.id[b]))
            })
        };
        let d = &self.dicts;
        match sort {
            SortKey::Billed => o.sort_unstable_by(|a, b| {
                let (a, b) = (*a as usize, *b as usize);
                let c = r.billed[a].cmp(&r.billed[b]);
                (if desc { c.reverse() } else { c }).then(r.id[a].cmp(&r.id[b]))
            }),
            SortKey::Pi => by_rank(&mut o, ranks(&d.pi, &r.pi, true)),
            SortKey::Service => by_rank(&mut o, ranks(&d.service, &r.service, true)),
            SortKey::Project => by_rank(&mut o, ranks(&d.project, &r.project, true)),
            SortKey::FundOrg => by_rank(&mut o, ranks(&d.fund, &r.fund, true)),
            SortKey::Date => by_rank(&mut o, ranks(&d.date, &r.date, false)),
            SortKey::Resource => o.sort_unstable_by(|a, b| {
                let (a, b) = (*a as usize, *b as usize);
                let c = self.resource_key(a).cmp(self.resource_key(b));
                (if desc { c.reverse() } else { c }).then(r.id[a].cmp(&r.id[b]))
            }),
        }
        let mut place = vec![0u32; n];
        for (at, i) in o.iter().enumerate() {
            place[*i as usize] = at as u32;
        }
        let o = Arc::new(Order { rows: o, place });
        if let Some(m) = guard.as_mut() {
            m.insert(code, o.clone());
        }
        o
    }

    /// Marks the rows whose resource id or name contains `q` (lowercase, no NUL): one SIMD
    /// scan of the text buffer; after a hit the scan resumes at the next row.
    pub(crate) fn text_rows(&self, q: &[u8], into: &mut Bits) {
        let finder = memchr::memmem::Finder::new(q);
        let starts = &self.rows.text_start;
        let (mut at, mut lo) = (0usize, 0usize);
        while let Some(p) = finder.find(&self.text[at..]) {
            let pos = at + p;
            let row = lo + starts[lo..].partition_point(|s| (*s as usize) <= pos) - 1;
            into.set(row);
            lo = row + 1;
            match starts.get(lo) {
                Some(s) => at = *s as usize,
                None => break,
            }
        }
    }

    /// The period's figures (computed on first use).
    pub fn figures(&self) -> Result<&IndexFigures> {
        if let Some(f) = self.figures.get() {
            return Ok(f);
        }
        let f = self.compute_figures()?;
        Ok(self.figures.get_or_init(|| f))
    }

    fn compute_figures(&self) -> Result<IndexFigures> {
        let r = &self.rows;
        let d = &self.dicts;
        let (mut bt, mut bc, mut ft, mut fc, mut rt, mut rc) =
            (0i128, 0i64, 0i128, 0i64, 0i128, 0i64);
        let mut active_pi = vec![false; d.pi.values.len()];
        let mut active_project = vec![false; d.project.values.len()];
        let mut queued_reasons = vec![false; d.reasons.values.len()];
        // Groups of lower(coalesce(pi, '')): the NULL and the empty email are one group.
        let group = |pi: u32| {
            if d.pi.values[pi as usize].is_empty() {
                0
            } else {
                pi as usize
            }
        };
        #[derive(Default, Clone)]
        struct G {
            charges: i64,
            billable: i128,
            flagged: i64,
            name: u32,
            projects: Vec<u32>,
        }
        let mut groups: Vec<G> = vec![G::default(); d.pi.values.len()];
        for i in 0..self.len() {
            let st = r.state[i];
            if st & REMOVED != 0 {
                continue;
            }
            let s = st & STATE_MASK;
            if s == ST_REJECTED {
                rt += r.billed[i];
                rc += 1;
                continue;
            }
            let g = &mut groups[group(r.pi[i])];
            g.charges += 1;
            if r.project[i] != 0 {
                g.projects.push(r.project[i]);
            }
            let name = r.pi_name[i];
            if name != 0
                && (g.name == 0
                    || d.pi_name.values[name as usize] > d.pi_name.values[g.name as usize])
            {
                g.name = name;
            }
            if s == ST_PENDING {
                ft += r.billed[i];
                fc += 1;
                g.flagged += 1;
                queued_reasons[r.reasons[i] as usize] = true;
            } else {
                bt += r.billed[i];
                bc += 1;
                g.billable += r.billed[i];
                active_pi[r.pi[i] as usize] = true;
                active_project[r.project[i] as usize] = true;
            }
        }
        active_pi[0] = false;
        active_project[0] = false;
        let mut pis = Vec::new();
        for (k, mut g) in groups.into_iter().enumerate() {
            if g.charges == 0 {
                continue;
            }
            g.projects.sort_unstable();
            g.projects.dedup();
            pis.push((
                g.billable,
                PiRow {
                    email: d.pi.values[k].to_string(),
                    name: (g.name != 0).then(|| d.pi_name.values[g.name as usize].to_string()),
                    projects: g.projects.len() as i64,
                    charges: g.charges,
                    billable: decimal(g.billable, self.scale),
                    flagged: g.flagged,
                },
            ));
        }
        pis.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.email.cmp(&b.1.email)));
        let mut reasons: Vec<String> = Vec::new();
        for (id, on) in queued_reasons.iter().enumerate() {
            if *on && id != 0 {
                let list: Vec<String> =
                    serde_json::from_str(&d.reasons.values[id]).unwrap_or_default();
                reasons.extend(list);
            }
        }
        reasons.sort();
        reasons.dedup();
        Ok(IndexFigures {
            billable_total: decimal(bt, self.scale),
            billable_count: bc,
            flagged_count: fc,
            flagged_total: decimal(ft, self.scale),
            rejected_count: rc,
            rejected_total: decimal(rt, self.scale),
            active_pis: active_pi.iter().filter(|v| **v).count() as i64,
            projects: active_project.iter().filter(|v| **v).count() as i64,
            pis: pis.into_iter().map(|(_, p)| p).collect(),
            queue_reasons: reasons,
        })
    }
}
