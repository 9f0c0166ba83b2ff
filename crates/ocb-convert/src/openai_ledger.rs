//! The OpenAI subsidy period ledger, period keys and the tiered-subsidy function
//! (INTEGRATIONS.md §2.5). The ledger makes re-runs idempotent: converting month M counts only
//! entries of months before M as "earlier" and replaces M's entry.

use crate::error::{ConvertError, Result};
use crate::money::{fmt2, parse_decimal, r2};
use chrono::{Datelike, NaiveDate};
use ocb_core::period::Period;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Usage and subsidy granted for one (subsidy, scope, periodKey).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Consumption {
    /// Σ row cost the rule applied to.
    pub usage: Decimal,
    /// Σ subsidy granted.
    pub subsidized: Decimal,
}

/// (subsidy name, scope key, period key).
pub type ConsumptionKey = (String, String, String);

/// One month's entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthEntry {
    /// SHA-256 of the usage export.
    pub input_sha256: String,
    /// In-period items.
    pub rows: u64,
    /// Consumption, sorted by key.
    pub consumption: BTreeMap<ConsumptionKey, Consumption>,
}

/// The whole ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Months.
    pub months: BTreeMap<Period, MonthEntry>,
}

fn bad(msg: String) -> ConvertError {
    ConvertError::config(format!("ledger: {msg}"))
}

impl Ledger {
    /// Parses a ledger file.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let v = crate::text::parse_json(bytes, "ledger").map_err(ConvertError::Config)?;
        if v.get("schemaVersion").and_then(Value::as_u64) != Some(1) {
            return Err(bad("schemaVersion must be 1".into()));
        }
        let mut ledger = Ledger::default();
        let months = v
            .get("months")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("'months' must be an object".into()))?;
        for (month, e) in months {
            let p: Period = month
                .parse()
                .map_err(|_| bad(format!("'{month}' is not YYYY-MM")))?;
            let mut entry = MonthEntry {
                input_sha256: e
                    .get("inputSha256")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                rows: e.get("rows").and_then(Value::as_u64).unwrap_or(0),
                consumption: BTreeMap::new(),
            };
            for c in e
                .get("consumption")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let s = |k: &str| {
                    c.get(k)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .ok_or_else(|| bad(format!("{month}: consumption entry lacks '{k}'")))
                };
                let d = |k: &str| -> Result<Decimal> {
                    crate::config::value_decimal(c.get(k).unwrap_or(&Value::Null))
                        .ok_or_else(|| bad(format!("{month}: '{k}' is not an amount")))
                };
                let key = (s("subsidy")?, s("scope")?, s("periodKey")?);
                let add = Consumption {
                    usage: d("usage")?,
                    subsidized: d("subsidized")?,
                };
                let slot = entry.consumption.entry(key).or_default();
                slot.usage += add.usage;
                slot.subsidized += add.subsidized;
            }
            ledger.months.insert(p, entry);
        }
        Ok(ledger)
    }

    /// The file text: pretty JSON, months and consumption sorted, amounts as strings.
    pub fn to_json(&self) -> String {
        let mut months = Map::new();
        for (p, e) in &self.months {
            let consumption: Vec<Value> = e
                .consumption
                .iter()
                .map(|((s, sc, pk), c)| json!({"subsidy": s, "scope": sc, "periodKey": pk, "usage": fmt2(c.usage), "subsidized": fmt2(c.subsidized)}))
                .collect();
            months.insert(
                p.to_string(),
                json!({"inputSha256": e.input_sha256, "rows": e.rows, "consumption": consumption}),
            );
        }
        let mut s = serde_json::to_string_pretty(&json!({"schemaVersion": 1, "months": months}))
            .expect("a JSON value always serialises");
        s.push('\n');
        s
    }

    /// Σ consumption of months before `month` for a key.
    pub fn earlier(&self, month: Period, key: &ConsumptionKey) -> Consumption {
        let mut c = Consumption::default();
        for (_, e) in self.months.range(..month) {
            if let Some(x) = e.consumption.get(key) {
                c.usage += x.usage;
                c.subsidized += x.subsidized;
            }
        }
        c
    }

    /// Later months holding consumption for any of `keys`.
    pub fn later_with(&self, month: Period, keys: &[&ConsumptionKey]) -> Vec<Period> {
        self.months
            .range(month.next()..)
            .filter(|(_, e)| keys.iter().any(|k| e.consumption.contains_key(*k)))
            .map(|(p, _)| *p)
            .collect()
    }
}

/// A subsidy period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubsidyPeriod {
    /// `FY<end year>` with the fiscal year starting at (month, day).
    FiscalYear(u32, u32),
    /// `CY<yyyy>`.
    CalendarYear,
    /// `M<yyyy-mm>`.
    Month,
    /// `W<iso-year>-<ww>`.
    Week,
}

impl SubsidyPeriod {
    /// The period key of a usage date.
    pub fn key(self, d: NaiveDate) -> String {
        match self {
            SubsidyPeriod::FiscalYear(m, day) => {
                // FY is named after the year in which it ends; a 01-01 start is the calendar year.
                let start_this_year = NaiveDate::from_ymd_opt(d.year(), m, day).unwrap_or(d);
                let end_year = if (m, day) == (1, 1) || d < start_this_year {
                    d.year()
                } else {
                    d.year() + 1
                };
                format!("FY{end_year}")
            }
            SubsidyPeriod::CalendarYear => format!("CY{}", d.year()),
            SubsidyPeriod::Month => format!("M{}", d.format("%Y-%m")),
            SubsidyPeriod::Week => {
                let w = d.iso_week();
                format!("W{}-{:02}", w.year(), w.week())
            }
        }
    }
}

/// `tiered` subsidy function `S(x)`: Σ percent/100 × (part of [0, x] inside each tier).
pub fn tiered_total(tiers: &[(Option<Decimal>, Decimal)], x: Decimal) -> Decimal {
    let mut lower = Decimal::ZERO;
    let mut total = Decimal::ZERO;
    for (up_to, pct) in tiers {
        let top = up_to.map_or(x, |u| x.min(u));
        if top > lower {
            total += (top - lower) * pct / Decimal::ONE_HUNDRED;
        }
        match up_to {
            Some(u) => lower = *u,
            None => break,
        }
    }
    total
}

/// Subsidy for one item under a tiered rule: differences of rounded cumulative values, so a
/// period's subsidies add up to `r2(S(total))`.
pub fn tiered_subsidy(
    tiers: &[(Option<Decimal>, Decimal)],
    used: Decimal,
    cost: Decimal,
) -> Decimal {
    let s = r2(tiered_total(tiers, used + cost)) - r2(tiered_total(tiers, used));
    s.max(Decimal::ZERO).min(cost)
}

/// Parses `MM-DD`.
pub fn parse_month_day(s: &str) -> Option<(u32, u32)> {
    let (m, d) = s.split_once('-')?;
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    NaiveDate::from_ymd_opt(2024, m, d).map(|_| (m, d))
}

/// Parses an amount for tests and config.
pub fn amount(s: &str) -> Option<Decimal> {
    parse_decimal(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn period_keys() {
        assert_eq!(
            SubsidyPeriod::FiscalYear(7, 1).key(d("2026-01-05")),
            "FY2026"
        );
        assert_eq!(
            SubsidyPeriod::FiscalYear(7, 1).key(d("2025-07-01")),
            "FY2026"
        );
        assert_eq!(
            SubsidyPeriod::FiscalYear(7, 1).key(d("2025-06-30")),
            "FY2025"
        );
        assert_eq!(
            SubsidyPeriod::FiscalYear(1, 1).key(d("2026-01-05")),
            "FY2026"
        );
        assert_eq!(SubsidyPeriod::CalendarYear.key(d("2026-01-05")), "CY2026");
        assert_eq!(SubsidyPeriod::Month.key(d("2026-01-05")), "M2026-01");
        assert_eq!(SubsidyPeriod::Week.key(d("2026-01-05")), "W2026-02");
        assert_eq!(SubsidyPeriod::Week.key(d("2026-01-12")), "W2026-03");
        assert_eq!(SubsidyPeriod::Week.key(d("2026-01-01")), "W2026-01");
        assert_eq!(SubsidyPeriod::Week.key(d("2027-01-01")), "W2026-53");
    }

    #[test]
    fn tiered_spec_sequence() {
        let a = |s: &str| amount(s).expect("amount");
        let tiers = [
            (Some(a("5.05")), a("100")),
            (Some(a("15")), a("50")),
            (None, a("0")),
        ];
        let mut used = Decimal::ZERO;
        let mut got = Vec::new();
        for cost in ["0.50", "10.88", "0.22", "0.50", "6.25", "0.36"] {
            let s = tiered_subsidy(&tiers, used, a(cost));
            used += a(cost);
            got.push(s.to_string());
        }
        assert_eq!(got, ["0.50", "7.72", "0.10", "0.26", "1.44", "0.00"]);
    }

    #[test]
    fn ledger_round_trips() {
        let mut l = Ledger::default();
        let mut e = MonthEntry {
            input_sha256: "ab".into(),
            rows: 6,
            ..Default::default()
        };
        e.consumption.insert(
            ("p".into(), "project:x".into(), "FY2026".into()),
            Consumption {
                usage: amount("18.71").expect("a"),
                subsidized: amount("12").expect("a"),
            },
        );
        l.months.insert("2026-01".parse().expect("p"), e);
        let text = l.to_json();
        assert!(text.contains("\"subsidized\": \"12.00\""), "{text}");
        let back = Ledger::parse(text.as_bytes()).expect("parse");
        assert_eq!(back.to_json(), text);
    }
}
