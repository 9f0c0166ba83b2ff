//! The charges browser and review queue answered from a [`BrowseIndex`]: the same page, count
//! and exact sum as the SQL of [`crate::browse`], visiting as few rows as possible.
//!
//! * Each column filter (source, PI, project, fund/org, reason) names its rows through the
//!   posting lists; the search names the rows whose resource id or name contains the term (one
//!   memmem scan) plus the rows of every distinct column value containing it. The shortest of
//!   these lists is visited, the other filters are checked per row.
//! * With at most one column filter and no search, the count and sum come from the per value
//!   and status totals, and the walk stops as soon as the page is filled.
//! * In another order than the default, a filtered set is put in that order by each row's place
//!   in the cached permutation; an unfiltered one walks the permutation up to the page.
//!
//! The page's rows are then read from SQLite by primary key.

use crate::browse::{browse_row, BrowseFilter, BrowsePage, BrowseRow, SortKey};
use crate::browse::{FROM, ROW_COLUMNS};
use crate::browse_index::BrowseIndex;
use crate::browse_index_postings::{class_mask, class_of, Bits, Postings, CLASSES};
use crate::browse_index_query::decimal;
use crate::{Result, Store};
use std::borrow::Cow;
use std::collections::HashMap;

/// The reason filter of [`crate::charges::filter_sql`] on one stored reasons list.
fn reason_matches(json: &str, want: &str) -> bool {
    let list: Vec<String> = serde_json::from_str(json).unwrap_or_default();
    list.iter().any(|r| match want {
        "pattern_match" => r.starts_with("pattern_match:"),
        "missing_project" => r == "missing_project_id",
        other => r == other,
    })
}

/// One column filter: the matching value ids of a column.
struct Cond<'a> {
    col: &'a [u32],
    post: &'a Postings,
    ids: Vec<u32>,
    mask: Vec<bool>,
}

impl<'a> Cond<'a> {
    fn new(col: &'a [u32], post: &'a Postings, ids: impl IntoIterator<Item = u32>) -> Self {
        let mut mask = vec![false; post.values()];
        let ids: Vec<u32> = ids
            .into_iter()
            .filter(|v| (*v as usize) < mask.len())
            .collect();
        for v in &ids {
            mask[*v as usize] = true;
        }
        Self {
            col,
            post,
            ids,
            mask,
        }
    }

    fn len(&self) -> usize {
        self.ids.iter().map(|v| self.post.list(*v).len()).sum()
    }

    /// The matching rows in default order.
    fn rows(&self, n: usize) -> Cow<'a, [u32]> {
        if let [v] = self.ids[..] {
            return Cow::Borrowed(self.post.list(v));
        }
        let mut bits = Bits::new(n);
        for v in &self.ids {
            self.post
                .list(*v)
                .iter()
                .for_each(|i| bits.set(*i as usize));
        }
        Cow::Owned(bits.to_rows())
    }

    fn test(&self, i: usize) -> bool {
        self.mask[self.col[i] as usize]
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
        let (d, r, p, n) = (&idx.dicts, &idx.rows, &idx.postings, idx.len());
        let mut conds: Vec<Cond<'_>> = Vec::new();
        if let Some(s) = &b.source {
            let id = self.source_id_by_key(&ocb_core::source::source_key(s))?;
            conds.push(Cond::new(&r.source, &p.source, id));
        }
        if let Some(e) = &b.pi_email {
            let id = d.pi.id_of(&e.trim().to_ascii_lowercase());
            conds.push(Cond::new(&r.pi, &p.pi, id.filter(|i| *i != 0)));
        }
        if let Some(pr) = &b.project_id {
            let id = d.project.id_of(pr).filter(|i| *i != 0);
            conds.push(Cond::new(&r.project, &p.project, id));
        }
        // NULL is id 0; an empty string, should one be stored, counts as missing too.
        match f.without {
            Some(crate::browse::Unattributed::Pi) => {
                let ids = [Some(0), d.pi.id_of("")].into_iter().flatten();
                conds.push(Cond::new(&r.pi, &p.pi, ids));
            }
            Some(crate::browse::Unattributed::Project) => {
                let ids = [Some(0), d.project.id_of("")].into_iter().flatten();
                conds.push(Cond::new(&r.project, &p.project, ids));
            }
            None => {}
        }
        let fund = f.fund_org.as_deref().map(str::trim);
        if let Some(fo) = fund.filter(|v| !v.is_empty()) {
            let m = d.fund.mask(|v| v.eq_ignore_ascii_case(fo));
            conds.push(Cond::new(&r.fund, &p.fund, ids_of(&m)));
        }
        if let Some(want) = b.reason.as_deref() {
            let m = d.reasons.mask(|j| reason_matches(j, want));
            conds.push(Cond::new(&r.reasons, &p.reasons, ids_of(&m)));
        }
        // The search: rows by resource text, and rows of every column value containing it.
        let search = search.map(|q| {
            let q = q.to_ascii_lowercase();
            let mut bits = Bits::new(n);
            idx.text_rows(q.as_bytes(), &mut bits);
            for (dict, post) in [
                (&d.pi, &p.pi),
                (&d.project, &p.project),
                (&d.service, &p.service),
                (&d.fund, &p.fund),
                (&d.cost_center, &p.cost_center),
                (&d.ref1, &p.ref1),
                (&d.ref2, &p.ref2),
            ] {
                for v in dict.containing(q.as_bytes()) {
                    post.list(v).iter().for_each(|i| bits.set(*i as usize));
                }
            }
            bits
        });
        let classes = class_mask(f.status);
        let status_ok = |i: usize| classes & (1 << class_of(r.state[i])) != 0;
        let matches = |i: usize| {
            status_ok(i)
                && conds.iter().all(|c| c.test(i))
                && search.as_ref().is_none_or(|s| s.has(i))
        };
        // Totals without visiting the rows: the status alone, or one column filter.
        let totals: Option<(u64, i128)> = match (&conds[..], &search) {
            (_, Some(_)) => None,
            ([], None) => Some(sum_totals(&p.status, 0..CLASSES as u32, classes)),
            ([c], None) => Some(sum_totals(c.post, c.ids.iter().copied(), classes)),
            _ => None,
        };
        // The rows to visit: the shortest list, else every row.
        let mut candidates: Option<Cow<'_, [u32]>> = None;
        if conds.iter().any(|c| c.ids.is_empty()) {
            candidates = Some(Cow::Borrowed(&[]));
        } else if let Some(c) = conds.iter().min_by_key(|c| c.len()) {
            candidates = Some(c.rows(n));
        }
        if let Some(s) = &search {
            if candidates.as_ref().is_none_or(|c| c.len() > n / 8) {
                let rows = s.to_rows();
                if candidates.as_ref().is_none_or(|c| rows.len() < c.len()) {
                    candidates = Some(Cow::Owned(rows));
                }
            }
        }
        if candidates.is_none() && classes.count_ones() == 1 {
            candidates = Some(Cow::Borrowed(p.status.list(classes.trailing_zeros())));
        }
        let (from, to) = (offset as usize, offset.saturating_add(limit) as usize);
        let default_order = sort == SortKey::Billed && descending;
        let (mut count, mut sum) = (0usize, 0i128);
        let mut page: Vec<u32> = Vec::new();
        match candidates {
            None => {
                // No filter but a status of several classes: walk the order up to the page.
                let order = (!default_order).then(|| idx.order(sort, descending));
                let rows = order.as_ref().map(|o| &o.rows[..]);
                let mut seen = 0usize;
                for at in 0..n {
                    let i = rows.map_or(at, |o| o[at] as usize);
                    if status_ok(i) {
                        if seen >= from {
                            page.push(i as u32);
                        }
                        seen += 1;
                        if seen >= to {
                            break;
                        }
                    }
                }
            }
            Some(list) if default_order => {
                for i in list.iter().map(|i| *i as usize) {
                    if matches(i) {
                        if count >= from && count < to {
                            page.push(i as u32);
                        }
                        count += 1;
                        sum += r.billed[i];
                        if totals.is_some() && count >= to {
                            break;
                        }
                    }
                }
            }
            Some(list) => {
                let mut hits: Vec<u32> = Vec::new();
                for i in list.iter().map(|i| *i as usize) {
                    if matches(i) {
                        hits.push(i as u32);
                        sum += r.billed[i];
                    }
                }
                count = hits.len();
                let order = idx.order(sort, descending);
                let place = |i: &u32| order.place[*i as usize];
                if to < hits.len() {
                    hits.select_nth_unstable_by_key(to, place);
                    hits.truncate(to);
                }
                hits.sort_unstable_by_key(place);
                page = hits.get(from..).unwrap_or_default().to_vec();
            }
        }
        let (count, sum) = totals.unwrap_or((count as u64, sum));
        let ids: Vec<i64> = page.iter().map(|i| r.id[*i as usize]).collect();
        Ok(Some(BrowsePage {
            rows: self.rows_by_ids(&ids)?,
            total_count: count,
            total_billed: decimal(sum, idx.scale),
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

/// The ids set in a dictionary mask.
fn ids_of(mask: &[bool]) -> Vec<u32> {
    (0..mask.len() as u32)
        .filter(|v| mask[*v as usize])
        .collect()
}

/// Count and sum of the given values in the classes of `mask`.
fn sum_totals(post: &Postings, ids: impl Iterator<Item = u32>, mask: u8) -> (u64, i128) {
    ids.filter_map(|v| post.totals(v, mask))
        .fold((0, 0), |(n, s), (a, b)| (n + a, s + b))
}
