//! Shared parts of the cloud bill converters `aws-cur` and `azure-ea` (INTEGRATIONS.md §3.2,
//! §3.3): reading CSV / CSV.gz (and, for `aws-cur`, Parquet) tables, tag-key candidates compared on normalised keys, grouping
//! line items per resource and attribution triple with `~n` suffixes, and the Tags order.

use crate::config::Obj;
use crate::error::{ConvertError, Result};
use crate::report::Warning;
use crate::row::{FocusColumns, Tags};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Read;

/// A record of a table: its line and cells, or why it could not be read.
pub type Record = (u64, std::result::Result<Vec<String>, String>);

/// One input table (a CSV or CSV.gz file).
#[derive(Debug, Clone)]
pub struct Table {
    /// Name for messages.
    pub name: String,
    /// Header cells as written.
    pub headers: Vec<String>,
    /// Records.
    pub rows: Vec<Record>,
}

/// Reads a CSV, CSV.gz or Parquet table (by magic bytes): the inputs `aws-cur` accepts (§3.2).
/// Only `azure-ea` stays CSV-only ([`parse_table`]): §3.3 names no Parquet usage-details export.
pub fn parse_table_or_parquet(name: &str, bytes: &[u8]) -> Result<Table> {
    if bytes.starts_with(b"PAR1") {
        #[cfg(feature = "parquet")]
        return crate::cloud_parquet::parse_parquet_table(name, bytes);
        #[cfg(not(feature = "parquet"))]
        return Err(ConvertError::input(format!(
            "{name}: this build has no Parquet support (feature `parquet`); export the report as CSV"
        )));
    }
    parse_table(name, bytes)
}

/// Reads a CSV or gzip-compressed CSV table (detected by the gzip magic bytes).
pub fn parse_table(name: &str, bytes: &[u8]) -> Result<Table> {
    let plain;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| ConvertError::input(format!("{name}: not a readable gzip file: {e}")))?;
        plain = out;
        &plain[..]
    } else {
        bytes
    };
    if bytes.starts_with(b"PAR1") {
        return Err(ConvertError::input(format!(
            "{name}: Parquet input is not supported by this converter; export the report as CSV or CSV.gz"
        )));
    }
    let text = crate::text::decode(bytes, name, false).map_err(ConvertError::Input)?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| ConvertError::input(format!("{name}: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(ConvertError::input(format!("{name}: no header row")));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                if r.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                if r.len() != headers.len() {
                    rows.push((
                        line,
                        Err(format!(
                            "{} fields, the header has {}",
                            r.len(),
                            headers.len()
                        )),
                    ));
                } else {
                    rows.push((line, Ok(r.iter().map(str::to_string).collect())));
                }
            }
            Err(e) => rows.push((e.position().map_or(0, |p| p.line()), Err(e.to_string()))),
        }
    }
    Ok(Table {
        name: name.to_string(),
        headers,
        rows,
    })
}

/// A tag key for comparison: lower case, non-alphanumerics removed (`PI Email` = `pi_email`).
pub fn norm_key(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The canonical keys, in Tags order.
pub const CANONICAL: [&str; 7] = [
    "pi_email",
    "project_id",
    "fund_org",
    "cost_center",
    "account_code",
    "end_date",
    "reconciliation_end",
];

/// Candidate tag keys per canonical key (`tagCandidates`), normalised.
#[derive(Debug, Clone)]
pub struct Candidates(Vec<Vec<String>>);

impl Candidates {
    /// Defaults `user:<key>`, `<key>`, overridden per key by `tagCandidates`.
    pub fn from_config(top: &Obj<'_>, warnings: &mut Vec<Warning>) -> Result<Self> {
        let mut out: Vec<Vec<String>> = CANONICAL
            .iter()
            .map(|k| vec![norm_key(&format!("user:{k}")), norm_key(k)])
            .collect();
        if let Some(m) = top.obj("tagCandidates")? {
            let o = Obj::new(m, "tagCandidates");
            o.unknown(&CANONICAL, warnings);
            for (i, k) in CANONICAL.iter().enumerate() {
                if let Some(list) = o.str_list(k)? {
                    out[i] = list.iter().map(|c| norm_key(c)).collect();
                }
            }
        }
        Ok(Self(out))
    }

    /// Picks the canonical values from a line's tags; returns them and the remaining tags.
    pub fn attribute(&self, tags: &[(String, String)]) -> ([String; 7], BTreeMap<String, String>) {
        let mut used = vec![false; tags.len()];
        let mut values: [String; 7] = Default::default();
        for (i, cands) in self.0.iter().enumerate() {
            'c: for c in cands {
                for (j, (k, v)) in tags.iter().enumerate() {
                    if !v.trim().is_empty() && norm_key(k) == *c {
                        values[i] = v.trim().to_string();
                        used[j] = true;
                        break 'c;
                    }
                }
            }
        }
        let mut others = BTreeMap::new();
        for (j, (k, v)) in tags.iter().enumerate() {
            if used[j] || v.trim().is_empty() {
                continue;
            }
            let key = strip_user(k);
            // A canonical key matched by a lower-priority spelling is not repeated.
            if CANONICAL.iter().any(|c| norm_key(c) == norm_key(&key)) {
                continue;
            }
            others.entry(key).or_insert_with(|| v.trim().to_string());
        }
        (values, others)
    }
}

/// Removes a `user:` / `user_` prefix (AWS user-defined cost-allocation tags).
pub fn strip_user(k: &str) -> String {
    let lower = k.to_ascii_lowercase();
    if lower.starts_with("user:") || lower.starts_with("user_") {
        k[5..].to_string()
    } else {
        k.to_string()
    }
}

/// Tags in the cloud order: the canonical keys, then other tags sorted by key.
pub fn cloud_tags(values: &[String; 7], others: &BTreeMap<String, String>) -> Tags {
    let mut t = Tags::core(&values[0], &values[1], &values[2]);
    for (i, k) in CANONICAL.iter().enumerate().skip(3) {
        t = t.opt(k, Some(&values[i]));
    }
    for (k, v) in others {
        t = t.opt(k, Some(v));
    }
    t
}

/// One line item, ready to be grouped.
#[derive(Debug, Clone)]
pub struct Line {
    /// Id without the `~n` suffix.
    pub base_id: String,
    /// Attribution values (canonical order).
    pub values: [String; 7],
    /// Other tags.
    pub others: BTreeMap<String, String>,
    /// Exact list cost.
    pub list: Decimal,
    /// Exact billed cost.
    pub billed: Decimal,
    /// ServiceName.
    pub service: String,
    /// ResourceName.
    pub name: String,
    /// FOCUS columns the bill states for this line.
    pub focus: FocusColumns,
}

/// One output group: a resource with one attribution triple.
#[derive(Debug, Clone)]
pub struct Group {
    /// Id without the `~n` suffix.
    pub base_id: String,
    /// Attribution values (canonical order).
    pub values: [String; 7],
    /// Other tags (first value per key).
    pub others: BTreeMap<String, String>,
    /// Σ exact list.
    pub list: Decimal,
    /// Σ exact billed.
    pub billed: Decimal,
    /// Lines.
    pub lines: u64,
    /// ServiceName (first line).
    pub service: String,
    /// ResourceName (first line).
    pub name: String,
    /// FOCUS columns (first line; every line of a run has the same currency).
    pub focus: FocusColumns,
}

/// Groups in first-seen order, keyed by (base id, triple).
#[derive(Debug, Default)]
pub struct Groups {
    order: Vec<Group>,
    index: BTreeMap<(String, [String; 3]), usize>,
}

impl Groups {
    /// Adds a line.
    pub fn add(&mut self, line: Line) {
        let v = &line.values;
        let key = (
            line.base_id.clone(),
            [v[0].clone(), v[1].clone(), v[2].clone()],
        );
        let i = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                self.order.push(Group {
                    base_id: line.base_id,
                    values: line.values,
                    others: BTreeMap::new(),
                    list: Decimal::ZERO,
                    billed: Decimal::ZERO,
                    lines: 0,
                    service: line.service,
                    name: line.name,
                    focus: line.focus,
                });
                self.index.insert(key, self.order.len() - 1);
                self.order.len() - 1
            }
        };
        let g = &mut self.order[i];
        g.list += line.list;
        g.billed += line.billed;
        g.lines += 1;
        for (k, v) in line.others {
            g.others.entry(k).or_insert(v);
        }
    }

    /// The groups with their final ResourceIds (`~2`, `~3` … for later triples of one id).
    pub fn finish(self) -> Vec<(String, Group)> {
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        self.order
            .into_iter()
            .map(|g| {
                let n = seen.entry(g.base_id.clone()).or_insert(0);
                *n += 1;
                let id = if *n == 1 {
                    g.base_id.clone()
                } else {
                    format!("{}~{n}", g.base_id)
                };
                (id, g)
            })
            .collect()
    }
}

/// The billing currency of one run (issue 15, item 8b): the currency of its first line item.
/// Amounts in different currencies are never added up, so a line in another currency is an
/// invalid record (`mixed_currency`): convert each billing currency separately. A line without
/// a currency (no column, or an empty cell) is taken to be in the run's currency, USD when the
/// run has none yet.
#[derive(Debug, Default)]
pub struct RunCurrency(Option<String>);

impl RunCurrency {
    /// The currency of a line whose currency cell holds `cell`, or the invalid-record code and
    /// message when it is not a currency code or not the run's currency.
    pub fn of_line(&mut self, cell: &str) -> std::result::Result<String, (&'static str, String)> {
        let code = if cell.trim().is_empty() {
            self.0.clone().unwrap_or_else(|| "USD".into())
        } else {
            crate::row::currency_code(cell).ok_or_else(|| {
                let msg = format!("billing currency '{cell}' is not an ISO 4217 code such as USD");
                ("bad_currency", msg)
            })?
        };
        match &self.0 {
            Some(run) if *run != code => Err((
                "mixed_currency",
                format!(
                    "billed in {code}, but this run is in {run}: amounts in different currencies \
                     are never added up; convert each billing currency separately"
                ),
            )),
            Some(_) => Ok(code),
            None => {
                self.0 = Some(code.clone());
                Ok(code)
            }
        }
    }
}

/// Parses a Tags cell: a JSON object, or the brace-less EA form `"k": "v","k2": "v2"`.
pub fn parse_tags_cell(cell: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let t = cell.trim();
    if t.is_empty() {
        return Ok(Vec::new());
    }
    let text = if t.starts_with('{') {
        t.to_string()
    } else {
        format!("{{{t}}}")
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(object_tags(&m)),
        _ => Err(format!(
            "Tags is not a JSON object: {}",
            t.chars().take(80).collect::<String>()
        )),
    }
}

/// Tag pairs of a JSON object (values as text).
pub fn object_tags(m: &Map<String, Value>) -> Vec<(String, String)> {
    m.iter()
        .filter_map(|(k, v)| ocb_core::tags::value_text(v).map(|s| (k.clone(), s)))
        .collect()
}

/// The month of a date cell (ISO or `MM/DD/YYYY`).
pub fn cell_period(cell: &str) -> Option<ocb_core::period::Period> {
    ocb_core::date::parse_focus_date(cell, true)
        .map(|d| ocb_core::period::Period::of_date(d.date()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalise_across_providers() {
        for k in ["user:pi_email", "user_PI-Email", "userPIEmail"] {
            assert_eq!(norm_key(k), "userpiemail");
        }
        assert_eq!(norm_key("PI Email"), norm_key("pi_email"));
        assert_eq!(norm_key("Fund/Org"), norm_key("fund_org"));
    }

    #[test]
    fn brace_less_ea_tags_parse() {
        let t = parse_tags_cell(r#""PI Email": "a@x.edu","Fund/Org": "F""#).expect("tags");
        assert_eq!(
            t,
            [
                ("PI Email".to_string(), "a@x.edu".to_string()),
                ("Fund/Org".to_string(), "F".to_string())
            ]
        );
        assert!(parse_tags_cell("{oops").is_err());
    }

    #[test]
    fn suffixes_in_first_seen_order() {
        let mut g = Groups::default();
        let line = |pi: &str| {
            let mut values: [String; 7] = Default::default();
            values[0] = pi.into();
            Line {
                base_id: "id".into(),
                values,
                others: BTreeMap::new(),
                list: Decimal::ONE,
                billed: Decimal::ONE,
                service: "S".into(),
                name: "N".into(),
                focus: FocusColumns::default(),
            }
        };
        for pi in ["a", "b", "a", "c"] {
            g.add(line(pi));
        }
        let ids: Vec<String> = g.finish().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["id", "id~2", "id~3"]);
    }

    #[test]
    fn one_run_has_one_currency() {
        let mut run = RunCurrency::default();
        assert_eq!(run.of_line(""), Ok("USD".to_string()));
        assert_eq!(run.of_line("usd"), Ok("USD".to_string()));
        assert_eq!(run.of_line("EUR").map_err(|e| e.0), Err("mixed_currency"));
        assert_eq!(run.of_line("€").map_err(|e| e.0), Err("bad_currency"));
        let mut eur = RunCurrency::default();
        assert_eq!(eur.of_line("EUR"), Ok("EUR".to_string()));
        assert_eq!(eur.of_line(""), Ok("EUR".to_string()));
    }
}
