//! The charts' figures (SPEC §12.7): monthly sums from the store, cached per period against the
//! period's change counter, turned into the SVG of [`crate::charts`] and the rows of the text
//! alternative.
//!
//! Why a cache: summing a period of a million charges takes a noticeable fraction of a second,
//! and the dashboard shows twelve periods on every load. Every import, review action and
//! re-evaluation advances the period's change counter, so a cached figure with the current
//! counter is exact; past periods, which rarely change, are summed once.

use crate::charts::{self, Series};
use crate::error::AppError;
use ocb_core::amount::Rounding;
use ocb_core::exact::ExactSum;
use ocb_core::Decimal;
use ocb_store::{SourceSpend, SpendScope, Store};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Cached figures of one (scope, period).
#[derive(Clone)]
enum Figures {
    BySource(Vec<SourceSpend>),
    Totals(ExactSum, ExactSum),
}

/// Bound on cached entries (PI and project pages add one per person and period viewed).
const MAX_ENTRIES: usize = 20_000;

/// Figures keyed by (scope, period), each with the change counter it was computed at.
#[derive(Default)]
pub struct ChartCache {
    entries: Mutex<HashMap<(String, String), (i64, Figures)>>,
    /// The charge indexes and figures of the browser, review and dashboard pages, kept here so
    /// they share the charts' lifetime and reset.
    pub(crate) browse: crate::browse_cache::BrowseCache,
}

impl ChartCache {
    /// Forgets everything (after a dev-mode data reset, when counters start again from zero).
    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.clear();
        }
        self.browse.clear();
    }

    fn get_or<F>(
        &self,
        scope: &str,
        period: &str,
        counter: i64,
        compute: F,
    ) -> Result<Figures, AppError>
    where
        F: FnOnce() -> Result<Figures, AppError>,
    {
        let key = (scope.to_string(), period.to_string());
        if let Ok(e) = self.entries.lock() {
            if let Some((c, f)) = e.get(&key) {
                if *c == counter {
                    return Ok(f.clone());
                }
            }
        }
        let f = compute()?;
        if let Ok(mut e) = self.entries.lock() {
            if e.len() >= MAX_ENTRIES {
                e.clear();
            }
            e.insert(key, (counter, f.clone()));
        }
        Ok(f)
    }
}

/// A figure as the chart draws it: cents as a `Decimal`, within ±10^24. Only bar heights, axis
/// and hover titles use it; the table beside every chart shows the exact figures. Sums of
/// accepted amounts stay far below the bound (each amount is below 10^14); only amounts stored
/// by versions before the range check could pass it, and such a bar is drawn at the bound, which
/// keeps the chart's own stacking and axis arithmetic within `Decimal`.
fn drawn(e: ExactSum) -> Decimal {
    let bound = Decimal::from_i128_with_scale(10i128.pow(24), 0);
    e.cents(Rounding::HalfEven).clamp(-bound, bound)
}

fn drawn_all(values: &[ExactSum]) -> Vec<Decimal> {
    values.iter().map(|v| drawn(*v)).collect()
}

fn drawn_series(series: &[(String, Vec<ExactSum>)]) -> Vec<Series> {
    series
        .iter()
        .map(|(name, values)| Series {
            name: name.clone(),
            values: drawn_all(values),
        })
        .collect()
}

/// Ranges offered on the dashboard (months); 12 is the default.
pub const RANGES: [u32; 3] = [6, 12, 24];

/// One period of the dashboard charts' text alternative (money formatted).
#[derive(Debug, Serialize)]
pub struct DashboardRow {
    /// `YYYY-MM`.
    pub period: String,
    /// Billed cost per source, in the order of [`DashboardCharts::sources`].
    pub sources: Vec<String>,
    /// Billable part of the bar (not pending review).
    pub billable: String,
    /// Part of the bar still pending review.
    pub pending: String,
    /// The bar: billable plus pending.
    pub billed: String,
    /// List price of the same charges.
    pub list: String,
    /// List minus billed.
    pub subsidy: String,
}

/// The dashboard charts (SPEC §12.7) with their text alternative.
#[derive(Debug, Serialize)]
pub struct DashboardCharts {
    /// Chosen range in months.
    pub months: u32,
    /// Ranges offered.
    pub ranges: [u32; 3],
    /// "Last 12 periods", "Last period" … (issue 16, item 14: not "Last 1 periods").
    pub heading: String,
    /// Inline SVG (escaped by [`crate::charts`]).
    pub spend_svg: String,
    /// Inline SVG.
    pub subsidy_svg: String,
    /// Source names (legend and table columns).
    pub sources: Vec<String>,
    /// Per period, oldest first.
    pub rows: Vec<DashboardRow>,
    /// The exact bar total (billable plus pending review) of the last period charted
    /// (`until`); the dashboard states it next to the Billable card.
    #[serde(skip)]
    pub last_charted: Option<ExactSum>,
}

/// "Last period" or "Last N periods".
pub fn periods_heading(n: usize) -> String {
    match n {
        0 => "No periods yet".into(),
        1 => "Last period".into(),
        n => format!("Last {n} periods"),
    }
}

/// Both dashboard charts for the `months` periods up to `until`.
pub fn dashboard(
    s: &Store,
    cache: &ChartCache,
    until: &str,
    months: u32,
    currency: &str,
) -> Result<DashboardCharts, AppError> {
    let periods = s.recent_periods(until, months)?;
    let mut by_period = Vec::with_capacity(periods.len());
    for (p, counter) in &periods {
        let f = cache.get_or("all", p, *counter, || {
            Ok(Figures::BySource(s.period_spend_by_source(p)?))
        })?;
        let Figures::BySource(rows) = f else {
            return Err(AppError::internal("chart cache holds the wrong figures"));
        };
        by_period.push(rows);
    }
    let names: Vec<String> = by_period
        .iter()
        .flatten()
        .map(|r| r.source.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let series: Vec<(String, Vec<ExactSum>)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                by_period
                    .iter()
                    .map(|rows| {
                        rows.iter()
                            .find(|r| &r.source == n)
                            .map_or(ExactSum::ZERO, |r| r.billed)
                    })
                    .collect(),
            )
        })
        .collect();
    let total = |f: fn(&SourceSpend) -> ExactSum| -> Vec<ExactSum> {
        by_period
            .iter()
            .map(|rows| rows.iter().map(f).sum())
            .collect()
    };
    let billed = total(|r| r.billed);
    let list = total(|r| r.list);
    let pending = total(|r| r.pending);
    let labels: Vec<String> = periods.iter().map(|(p, _)| p.clone()).collect();
    let money = |d: ExactSum| crate::view::money(currency, d);
    let rows: Vec<DashboardRow> = labels
        .iter()
        .enumerate()
        .map(|(i, p)| DashboardRow {
            period: p.clone(),
            sources: series.iter().map(|(_, values)| money(values[i])).collect(),
            billable: money(billed[i] - pending[i]),
            pending: money(pending[i]),
            billed: money(billed[i]),
            list: money(list[i]),
            subsidy: money(list[i] - billed[i]),
        })
        .collect();
    let last_charted = labels.iter().rposition(|p| p == until).map(|i| billed[i]);
    Ok(DashboardCharts {
        months,
        ranges: RANGES,
        heading: periods_heading(labels.len()),
        spend_svg: charts::stacked_bars(
            "chart-spend",
            "Monthly spend by source",
            &labels,
            &drawn_series(&series),
            currency,
        ),
        subsidy_svg: charts::list_vs_billed(
            "chart-subsidy",
            "List price vs billed (subsidy value)",
            &labels,
            &drawn_all(&list),
            &drawn_all(&billed),
            currency,
        ),
        sources: names,
        rows,
        last_charted,
    })
}

/// The monthly trend of one PI or project over the 12 periods up to `until`.
pub fn trend(
    s: &Store,
    cache: &ChartCache,
    until: &str,
    scope: SpendScope,
    currency: &str,
) -> Result<Value, AppError> {
    let (key, title) = match &scope {
        SpendScope::Pi(e) => (
            format!("pi:{}", e.to_lowercase()),
            format!("Monthly billed cost of {e}"),
        ),
        SpendScope::Project(p) => (
            format!("project:{p}"),
            format!("Monthly billed cost of project {p}"),
        ),
    };
    let periods = s.recent_periods(until, 12)?;
    let mut billed = Vec::with_capacity(periods.len());
    let mut list = Vec::with_capacity(periods.len());
    for (p, counter) in &periods {
        let f = cache.get_or(&key, p, *counter, || {
            let (b, l) = s.period_spend_of(p, &scope)?;
            Ok(Figures::Totals(b, l))
        })?;
        let Figures::Totals(b, l) = f else {
            return Err(AppError::internal("chart cache holds the wrong figures"));
        };
        billed.push(b);
        list.push(l);
    }
    let labels: Vec<String> = periods.iter().map(|(p, _)| p.clone()).collect();
    let series = [Series {
        name: "Billed".into(),
        values: drawn_all(&billed),
    }];
    let money = |d: ExactSum| crate::view::money(currency, d);
    let rows: Vec<Value> = labels
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"period": p, "billed": money(billed[i]), "list": money(list[i]), "subsidy": money(list[i] - billed[i])}))
        .collect();
    Ok(json!({
        "svg": charts::stacked_bars("chart-trend", &title, &labels, &series, currency),
        "title": title,
        "rows": rows,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_count_periods_in_words() {
        assert_eq!(periods_heading(1), "Last period");
        assert_eq!(periods_heading(12), "Last 12 periods");
        assert_eq!(periods_heading(0), "No periods yet");
    }
}
