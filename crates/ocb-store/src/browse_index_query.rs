//! Queries over a [`BrowseIndex`]: one pass over the period's rows in the requested order
//! counts and sums every match exactly and keeps the ids of the requested page, whose rows are
//! then read from SQLite by primary key. Also the period's figures (cards, top PIs, queue
//! reasons), computed once per index.

use crate::browse::{
    browse_row, BrowseFilter, BrowsePage, BrowseRow, PiRow, SortKey, StatusFilter,
};
use crate::browse::{FROM, ROW_COLUMNS};
use crate::browse_index::{
    BrowseIndex, Dict, HAS_NAME, REMOVED, STATE_MASK, ST_APPROVED, ST_NONE, ST_PENDING, ST_REJECTED,
};
use crate::{Result, Store, StoreError};
use ocb_core::Decimal;
use std::collections::HashMap;
use std::sync::Arc;

/// A period's figures from its index (those of `get_period` and `period_overview`, and the PIs
/// by billable total).
#[derive(Debug, Clone)]
pub struct IndexFigures {
    /// Exact billable total.
    pub billable_total: Decimal,
    /// Billable charges.
    pub billable_count: i64,
    /// Charges in the review queue.
    pub flagged_count: i64,
    /// Their exact total.
    pub flagged_total: Decimal,
    /// Rejected charges (not removed).
    pub rejected_count: i64,
    /// Their exact total.
    pub rejected_total: Decimal,
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

fn status_ok(f: StatusFilter, st: u8) -> bool {
    let removed = st & REMOVED != 0;
    let s = st & STATE_MASK;
    match f {
        StatusFilter::Default => !removed && s != ST_REJECTED,
        StatusFilter::Billable => !removed && (s == ST_NONE || s == ST_APPROVED),
        StatusFilter::Flagged => !removed && s == ST_PENDING,
        StatusFilter::Approved => !removed && s == ST_APPROVED,
        StatusFilter::Rejected => !removed && s == ST_REJECTED,
        StatusFilter::Removed => removed,
        StatusFilter::All => true,
    }
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

/// A column equal to one id (`Some(None)`: no value can match).
type Eq1 = Option<Option<u32>>;

/// The reason filter of [`crate::charges::filter_sql`] on one stored reasons list.
fn reason_matches(json: &str, want: &str) -> bool {
    let list: Vec<String> = serde_json::from_str(json).unwrap_or_default();
    list.iter().any(|r| match want {
        "pattern_match" => r.starts_with("pattern_match:"),
        "missing_project" => r == "missing_project_id",
        other => r == other,
    })
}

fn decimal(v: i128, scale: u32) -> Result<Decimal> {
    Decimal::try_from_i128_with_scale(v, scale)
        .map_err(|_| StoreError::Corrupt(format!("sum out of range: {v}e-{scale}")))
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
    fn order(&self, sort: SortKey, desc: bool) -> Arc<Vec<u32>> {
        let code = (sort_code(sort), desc);
        if let Ok(m) = self.orders.lock() {
            if let Some(o) = m.get(&code) {
                return o.clone();
            }
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
        let o = Arc::new(o);
        if let Ok(mut m) = self.orders.lock() {
            m.insert(code, o.clone());
        }
        o
    }

    /// Rows whose resource id or name contains `q` (lowercase), as a bit per row.
    fn text_hits(&self, q: &[u8]) -> Vec<bool> {
        let mut hits = vec![false; self.len()];
        let starts = &self.rows.text_start;
        for pos in memchr::memmem::find_iter(&self.text, q) {
            let row = starts.partition_point(|s| (*s as usize) <= pos) - 1;
            hits[row] = true;
        }
        hits
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
                    billable: decimal(g.billable, self.scale)?,
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
            billable_total: decimal(bt, self.scale)?,
            billable_count: bc,
            flagged_count: fc,
            flagged_total: decimal(ft, self.scale)?,
            rejected_count: rc,
            rejected_total: decimal(rt, self.scale)?,
            active_pis: active_pi.iter().filter(|v| **v).count() as i64,
            projects: active_project.iter().filter(|v| **v).count() as i64,
            pis: pis.into_iter().map(|(_, p)| p).collect(),
            queue_reasons: reasons,
        })
    }
}

impl Store {
    /// [`Store::browse_charges`] answered from `idx`: the same page, count and exact sum.
    /// `None` when the filter is not for the index's period alone or filters by import (the
    /// caller then uses `browse_charges`).
    pub fn browse_indexed(
        &self,
        idx: &BrowseIndex,
        f: &BrowseFilter,
        sort: SortKey,
        descending: bool,
        offset: u64,
        limit: u64,
    ) -> Result<Option<BrowsePage>> {
        let b = &f.base;
        let search = b.search.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if b.period.as_deref() != Some(idx.key.period.as_str())
            || f.import_id.is_some()
            || search.is_some_and(|q| q.contains('\0'))
        {
            return Ok(None);
        }
        let d = &idx.dicts;
        let source: Eq1 = match &b.source {
            None => None,
            Some(s) => Some(self.source_id_by_key(&ocb_core::source::source_key(s))?),
        };
        let pi: Eq1 = b.pi_email.as_ref().map(|e| {
            d.pi.id_of(&e.trim().to_ascii_lowercase())
                .filter(|i| *i != 0)
        });
        let project: Eq1 = b
            .project_id
            .as_ref()
            .map(|p| d.project.id_of(p).filter(|i| *i != 0));
        let fund = f
            .fund_org
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|fo| {
                let fo = fo.to_ascii_lowercase();
                d.fund.mask(|v| v.to_ascii_lowercase() == fo)
            });
        let reason = b
            .reason
            .as_deref()
            .map(|want| d.reasons.mask(|j| reason_matches(j, want)));
        let search = search.map(|q| {
            let q = q.to_ascii_lowercase();
            let has = |v: &str| v.to_ascii_lowercase().contains(&q);
            (
                idx.text_hits(q.as_bytes()),
                [
                    d.pi.mask(has),
                    d.project.mask(has),
                    d.service.mask(has),
                    d.fund.mask(has),
                    d.cost_center.mask(has),
                    d.ref1.mask(has),
                    d.ref2.mask(has),
                ],
            )
        });
        let r = &idx.rows;
        let eq = |want: Eq1, v: u32| want.is_none_or(|w| w == Some(v));
        let matches = |i: usize| -> bool {
            status_ok(f.status, r.state[i])
                && eq(source, r.source[i])
                && eq(pi, r.pi[i])
                && eq(project, r.project[i])
                && fund.as_ref().is_none_or(|m| m[r.fund[i] as usize])
                && reason.as_ref().is_none_or(|m| m[r.reasons[i] as usize])
                && search.as_ref().is_none_or(|(hits, m)| {
                    hits[i]
                        || m[0][r.pi[i] as usize]
                        || m[1][r.project[i] as usize]
                        || m[2][r.service[i] as usize]
                        || m[3][r.fund[i] as usize]
                        || m[4][r.cost_center[i] as usize]
                        || m[5][r.ref1[i] as usize]
                        || m[6][r.ref2[i] as usize]
                })
        };
        let (from, to) = (offset, offset.saturating_add(limit));
        let (mut count, mut sum) = (0u64, 0i128);
        let mut ids = Vec::with_capacity(limit.min(1000) as usize);
        let mut visit = |i: usize| {
            if matches(i) {
                if count >= from && count < to {
                    ids.push(r.id[i]);
                }
                count += 1;
                sum += r.billed[i];
            }
        };
        if sort == SortKey::Billed && descending {
            (0..idx.len()).for_each(&mut visit);
        } else {
            idx.order(sort, descending)
                .iter()
                .for_each(|i| visit(*i as usize));
        }
        Ok(Some(BrowsePage {
            rows: self.rows_by_ids(&ids)?,
            total_count: count,
            total_billed: decimal(sum, idx.scale)?,
        }))
    }

    fn source_id_by_key(&self, key: &str) -> Result<Option<u32>> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM sources WHERE name_key = ?1")?
            .query_row([key], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|v| v as u32))
    }

    /// Browser rows of the given charges, in the given order.
    pub fn rows_by_ids(&self, ids: &[i64]) -> Result<Vec<BrowseRow>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {ROW_COLUMNS} {FROM} WHERE c.id IN ({list})"
        ))?;
        let mut q = stmt.query([])?;
        let mut by_id = HashMap::with_capacity(ids.len());
        while let Some(row) = q.next()? {
            let b = browse_row(row)?;
            by_id.insert(b.id, b);
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }
}
