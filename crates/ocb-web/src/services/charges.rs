//! The charges browser's filters and pages (SPEC §12.3 `/charges`, §12.10 `GET
//! /api/v1/charges`): the same query keys on the page and in the API, and one way to answer
//! them — the period's in-memory index when the filter is for one period, else SQLite.

use crate::browse_cache::BrowseCache;
use crate::error::AppError;
use crate::view::param;
use ocb_store::{
    BrowseFilter, BrowsePage, ChargeFilter, SortKey, StatusFilter, Store, Unattributed,
};
use std::collections::HashMap;

/// The query keys of the browser's filters (links that keep the filters use them).
pub const FILTER_KEYS: [&str; 11] = [
    "period", "source", "pi", "project", "fund_org", "status", "reason", "q", "import", "without",
    "sort",
];

/// The filters of a query; `period` defaults to `selected` (`all` = every period). `without=pi`
/// or `without=project` selects the charges the PI and project lists show as "(no PI)" and
/// "(no project)".
pub fn filter_of(q: &HashMap<String, String>, selected: Option<&str>) -> BrowseFilter {
    let period = match param(q, "period").as_deref() {
        Some("all") => None,
        Some(p) => Some(p.to_string()),
        None => selected.map(str::to_string),
    };
    BrowseFilter {
        base: ChargeFilter {
            period,
            source: param(q, "source"),
            reason: param(q, "reason"),
            pi_email: param(q, "pi"),
            project_id: param(q, "project"),
            search: param(q, "q"),
        },
        fund_org: param(q, "fund_org"),
        status: StatusFilter::parse(param(q, "status").as_deref().unwrap_or("")),
        import_id: param(q, "import").and_then(|v| v.parse().ok()),
        without: param(q, "without").and_then(|v| Unattributed::parse(&v)),
    }
}

/// One page of matches with the full count and exact sum: from the period's index when the
/// filter is for one period (see [`crate::browse_cache`]), else from SQLite.
pub fn browse(
    s: &Store,
    cache: &BrowseCache,
    f: &BrowseFilter,
    sort: SortKey,
    desc: bool,
    offset: u64,
    limit: u64,
) -> Result<BrowsePage, AppError> {
    if let Some(period) = f.base.period.as_deref() {
        if let Some(idx) = cache.index(s, period)? {
            if let Some(page) = s.browse_indexed(&idx, f, sort, desc, offset, limit)? {
                return Ok(page);
            }
        }
    }
    Ok(s.browse_charges(f, sort, desc, offset, limit)?)
}

/// The reasons present in the review queue of `period` (every period when `None`): the options
/// of the Reason filter (SPEC §7.1: all of the period, not only the current page).
pub fn reason_options(
    s: &Store,
    cache: &BrowseCache,
    period: Option<&str>,
) -> Result<Vec<String>, AppError> {
    if let Some(p) = period {
        if let Some(idx) = cache.index(s, p)? {
            return Ok(idx.figures()?.queue_reasons.clone());
        }
    }
    Ok(s.queue_reasons(period)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn period_defaults_to_the_selected_one_and_all_means_every_period() {
        let f = filter_of(&query(&[]), Some("2025-01"));
        assert_eq!(f.base.period.as_deref(), Some("2025-01"));
        let f = filter_of(&query(&[("period", "all")]), Some("2025-01"));
        assert_eq!(f.base.period, None);
    }

    #[test]
    fn without_selects_the_unattributed_charges() {
        let f = filter_of(&query(&[("without", "pi")]), None);
        assert_eq!(f.without, Some(Unattributed::Pi));
        let f = filter_of(&query(&[("without", "project")]), None);
        assert_eq!(f.without, Some(Unattributed::Project));
        assert_eq!(filter_of(&query(&[("without", "x")]), None).without, None);
    }
}
