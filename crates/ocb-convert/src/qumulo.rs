//! `qumulo`: project directories with `.openchargeback.json` metadata (INTEGRATIONS.md §2.3).
//!
//! Monthly model: `ListCost = r2(G × rate)`, `BilledCost = r2(max(0, max(0, G − free) × rate ×
//! (100 − subsidy)/100 − credit × D))` with `G` the exact GiB. Daily model (`--daily`): one row
//! per project and snapshot day with the rate × 12/365 and the daily credit. Gathering the
//! inputs from disk lives in [`crate::qumulo_fs`]; this module is pure.

use crate::audit::AuditValue;
use crate::config::{regexes, value_decimal, Obj};
use crate::error::{ConvertError, Result};
use crate::kind::{ConvertContext, Kind};
use crate::money::{exact_text, gib, r2};
use crate::report::{Buckets, Conversion, Warning};
use crate::row::{resource_id, FocusLiteRow, Tags};
use chrono::NaiveDate;
use ocb_core::period::Period;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The dot-file name inside each project directory.
pub const DOT_FILE: &str = ".openchargeback.json";

/// The built-in `--init` template (fixture `template.openchargeback.json`).
pub const DEFAULT_TEMPLATE: &str = "{\n  \"pi_email\": \"\",\n  \"project_id\": \"\",\n  \"fund_org\": \"\",\n  \"cost_center\": \"\",\n  \"reference_1\": \"\",\n  \"reference_2\": \"\",\n  \"end_date\": \"\",\n  \"reconciliation_end\": \"\",\n  \"active\": true,\n  \"free_gb\": 500,\n  \"subsidy_percent\": 0,\n  \"daily_credit\": 0.00,\n  \"notes\": \"\"\n}\n";

/// A project directory's metadata file.
#[derive(Debug, Clone, PartialEq)]
pub enum Metadata {
    /// No dot file.
    Missing,
    /// Not valid JSON or not an object (the parser's message).
    InvalidJson(String),
    /// The object.
    Present(Map<String, Value>),
}

impl Metadata {
    /// Parses dot-file bytes.
    pub fn parse(bytes: &[u8]) -> Self {
        match crate::text::parse_json(bytes, DOT_FILE) {
            Ok(Value::Object(m)) => Self::Present(m),
            Ok(_) => Self::InvalidJson(format!("{DOT_FILE} is not a JSON object")),
            Err(e) => Self::InvalidJson(e),
        }
    }
}

/// Where usage came from, keyed by directory name.
#[derive(Debug, Clone, PartialEq)]
pub enum Usage {
    /// Directory walk: bytes and unreadable entries per project.
    Walk(BTreeMap<String, (Decimal, u64)>),
    /// `--usage-file` (monthly).
    File(BTreeMap<String, Decimal>),
    /// `--quota-json`.
    QuotaJson(BTreeMap<String, Decimal>),
    /// `--usage-file` with `--daily`: day → directory → bytes.
    Daily(BTreeMap<NaiveDate, BTreeMap<String, Decimal>>),
}

impl Usage {
    /// Report/audit name.
    pub fn name(&self) -> &'static str {
        match self {
            Usage::Walk(_) => "walk",
            Usage::File(_) => "usage-file",
            Usage::QuotaJson(_) => "quota-json",
            Usage::Daily(_) => "usage-file-daily",
        }
    }

    fn names(&self) -> BTreeSet<String> {
        match self {
            Usage::Walk(m) => m.keys().cloned().collect(),
            Usage::File(m) | Usage::QuotaJson(m) => m.keys().cloned().collect(),
            Usage::Daily(d) => d.values().flat_map(|m| m.keys().cloned()).collect(),
        }
    }
}

/// Everything the converter needs: the directories found under ROOT and the usage source.
#[derive(Debug, Clone, PartialEq)]
pub struct QumuloInput {
    /// ROOT as given (audit).
    pub root: String,
    /// Immediate subdirectories with their metadata.
    pub directories: BTreeMap<String, Metadata>,
    /// Usage.
    pub usage: Usage,
}

fn bytes_value(v: &Value) -> Option<Decimal> {
    value_decimal(v).filter(|d| !d.is_sign_negative() && d.fract().is_zero())
}

/// Parses a monthly usage file `{"<dir>": <bytes>}`.
pub fn parse_usage_file(bytes: &[u8]) -> Result<BTreeMap<String, Decimal>> {
    let v = crate::text::parse_json(bytes, "usage file").map_err(ConvertError::Input)?;
    let Value::Object(m) = v else {
        return Err(ConvertError::input(
            "usage file: expected {\"<directory>\": <bytes>, ...}",
        ));
    };
    m.iter()
        .map(|(k, v)| {
            bytes_value(v).map(|b| (k.clone(), b)).ok_or_else(|| {
                ConvertError::input(format!(
                    "usage file: '{k}' is not a byte count: {}",
                    crate::config::short(v)
                ))
            })
        })
        .collect()
}

/// Parses a daily usage file `{"YYYY-MM-DD": {"<dir>": <bytes>}}`.
pub fn parse_daily_usage_file(
    bytes: &[u8],
) -> Result<BTreeMap<NaiveDate, BTreeMap<String, Decimal>>> {
    let v = crate::text::parse_json(bytes, "usage file").map_err(ConvertError::Input)?;
    let Value::Object(m) = v else {
        return Err(ConvertError::input(
            "daily usage file: expected {\"YYYY-MM-DD\": {\"<directory>\": <bytes>}}",
        ));
    };
    let mut out = BTreeMap::new();
    for (day, inner) in &m {
        let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
            ConvertError::input(format!(
                "daily usage file: '{day}' is not a YYYY-MM-DD date"
            ))
        })?;
        let inner = serde_json::to_vec(inner).unwrap_or_default();
        out.insert(
            d,
            parse_usage_file(&inner).map_err(|e| ConvertError::input(format!("{day}: {e}")))?,
        );
    }
    Ok(out)
}

/// Parses a Qumulo quota listing (`{"quotas": [{"path", "capacity_usage"}]}` or an array),
/// keyed by the last path component.
pub fn parse_quota_json(bytes: &[u8]) -> Result<BTreeMap<String, Decimal>> {
    let v = crate::text::parse_json(bytes, "quota listing").map_err(ConvertError::Input)?;
    let list = match &v {
        Value::Array(a) => a,
        Value::Object(m) => m.get("quotas").and_then(Value::as_array).ok_or_else(|| {
            ConvertError::input("quota listing: expected {\"quotas\": [...]} or an array")
        })?,
        _ => {
            return Err(ConvertError::input(
                "quota listing: expected an object or an array",
            ))
        }
    };
    let mut out = BTreeMap::new();
    for (i, q) in list.iter().enumerate() {
        let path = q.get("path").and_then(Value::as_str).ok_or_else(|| {
            ConvertError::input(format!("quota listing: entry {} has no path", i + 1))
        })?;
        let name = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        let usage = q
            .get("capacity_usage")
            .and_then(bytes_value)
            .ok_or_else(|| {
                ConvertError::input(format!(
                    "quota listing: {path} has no capacity_usage byte count"
                ))
            })?;
        if out.insert(name.clone(), usage).is_some() {
            return Err(ConvertError::input(format!(
                "quota listing: two quotas end in '{name}'"
            )));
        }
    }
    Ok(out)
}

/// `rates.json`.
#[derive(Debug, Clone)]
pub struct QumuloConfig {
    /// ServiceName.
    pub service_name: String,
    /// $ per GiB-month.
    pub monthly_rate_per_gb: Decimal,
    /// Free GiB default.
    pub default_free_gb: Decimal,
    /// Excluded directory names (case-insensitive).
    pub exclude: Vec<regex::Regex>,
}

/// Default excluded names.
pub const DEFAULT_EXCLUDES: [&str; 3] = [r"^\.", "^_", r"^lost\+found$"];

impl QumuloConfig {
    /// Builds the config; `exclude_override` is `--exclude` (replaces the patterns).
    pub fn from_merged_json(
        map: &Map<String, Value>,
        exclude_override: &[String],
        warnings: &mut Vec<Warning>,
    ) -> Result<Self> {
        let top = Obj::new(map, "");
        top.unknown(
            &[
                "serviceName",
                "monthlyRatePerGB",
                "defaultFreeGB",
                "excludePatterns",
                "description",
                "notes",
            ],
            warnings,
        );
        let rate = top
            .non_negative("monthlyRatePerGB")?
            .ok_or_else(|| ConvertError::config("'monthlyRatePerGB' is required (rates.json)"))?;
        let patterns = if exclude_override.is_empty() {
            top.str_list("excludePatterns")?
                .unwrap_or_else(|| DEFAULT_EXCLUDES.map(String::from).to_vec())
        } else {
            exclude_override.to_vec()
        };
        Ok(Self {
            service_name: top
                .str("serviceName")?
                .unwrap_or_else(|| "Research Storage - Projects".into()),
            monthly_rate_per_gb: rate,
            default_free_gb: top
                .non_negative("defaultFreeGB")?
                .unwrap_or(Decimal::from(500)),
            exclude: regexes("excludePatterns", &patterns, true)?,
        })
    }

    /// Whether a directory name is excluded.
    pub fn is_excluded(&self, name: &str) -> bool {
        self.exclude.iter().any(|r| r.is_match(name))
    }
}

/// A project's pricing and attribution, from metadata or defaults.
struct Project {
    tags: Tags,
    project_id: String,
    free_gb: Decimal,
    subsidy: Decimal,
    credit: Decimal,
    active: bool,
    unmapped: Option<(&'static str, String)>,
}

const TAG_KEYS: [&str; 5] = [
    "cost_center",
    "reference_1",
    "reference_2",
    "end_date",
    "reconciliation_end",
];

fn meta_text(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k)
        .and_then(ocb_core::tags::value_text)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Reads a project's metadata; `Err` is an invalid record (code, message).
fn project(
    dir: &str,
    meta: &Metadata,
    cfg: &QumuloConfig,
    b: &mut Buckets,
) -> std::result::Result<Project, (&'static str, String)> {
    let fallback = |reason: &'static str, detail: String| Project {
        tags: Tags::core("", dir, ""),
        project_id: dir.to_string(),
        free_gb: cfg.default_free_gb,
        subsidy: Decimal::ZERO,
        credit: Decimal::ZERO,
        active: true,
        unmapped: Some((reason, detail)),
    };
    let m = match meta {
        Metadata::Missing => {
            return Ok(fallback(
                "no_metadata_file",
                format!("{dir} has no {DOT_FILE}"),
            ))
        }
        Metadata::InvalidJson(e) => return Ok(fallback("metadata_invalid_json", e.clone())),
        Metadata::Present(m) => m,
    };
    let num = |k: &str,
               max: Option<Decimal>|
     -> std::result::Result<Option<Decimal>, (&'static str, String)> {
        match m.get(k).filter(|v| !v.is_null()) {
            None => Ok(None),
            Some(v) => match value_decimal(v) {
                Some(d) if d.is_sign_negative() && !d.is_zero() => {
                    Err(("bad_metadata", format!("{dir}: {k} must not be negative")))
                }
                Some(d) if max.is_some_and(|mx| d > mx) => {
                    Err(("bad_metadata", format!("{dir}: {k} must be at most 100")))
                }
                Some(d) => Ok(Some(d)),
                None => Err((
                    "bad_metadata",
                    format!("{dir}: {k} is not a number: {}", crate::config::short(v)),
                )),
            },
        }
    };
    let free_gb = num("free_gb", None)?.unwrap_or(cfg.default_free_gb);
    let subsidy = num("subsidy_percent", Some(Decimal::ONE_HUNDRED))?.unwrap_or_default();
    let credit = num("daily_credit", None)?.unwrap_or_default();
    let active = match m.get("active").filter(|v| !v.is_null()) {
        None => true,
        Some(Value::Bool(x)) => *x,
        Some(v) => {
            return Err((
                "bad_metadata",
                format!(
                    "{dir}: active must be true or false, found {}",
                    crate::config::short(v)
                ),
            ))
        }
    };
    let (pi, proj, fund) = (
        meta_text(m, "pi_email"),
        meta_text(m, "project_id"),
        meta_text(m, "fund_org"),
    );
    let missing: Vec<&str> = [
        ("pi_email", &pi),
        ("project_id", &proj),
        ("fund_org", &fund),
    ]
    .iter()
    .filter(|(_, v)| v.is_none())
    .map(|(k, _)| *k)
    .collect();
    if !missing.is_empty() {
        return Ok(Project {
            free_gb,
            subsidy,
            credit,
            active,
            ..fallback(
                "metadata_missing_fields",
                format!("{dir}: {DOT_FILE} lacks {}", missing.join(", ")),
            )
        });
    }
    let project_id = proj.clone().unwrap_or_default();
    if project_id != dir {
        b.warn(
            Some(dir),
            "project_id_mismatch",
            format!("{dir}: project_id is '{project_id}'"),
        );
    }
    let mut tags = Tags::core(
        pi.as_deref().unwrap_or(""),
        &project_id,
        fund.as_deref().unwrap_or(""),
    );
    for k in TAG_KEYS {
        tags = tags.opt(k, meta_text(m, k).as_deref());
    }
    Ok(Project {
        tags,
        project_id,
        free_gb,
        subsidy,
        credit,
        active,
        unmapped: None,
    })
}

/// Exact (list, billed, credit applied) for `bytes` over `fraction` of a month with `credit_days`.
fn price(
    bytes: Decimal,
    p: &Project,
    rate: Decimal,
    num: Decimal,
    den: Decimal,
    credit_units: Decimal,
) -> (Decimal, Decimal, Decimal) {
    let list = bytes * rate * num / (gib() * den);
    let billable = (bytes - p.free_gb * gib()).max(Decimal::ZERO);
    let after_subsidy = billable * rate * num * (Decimal::ONE_HUNDRED - p.subsidy)
        / (gib() * den * Decimal::ONE_HUNDRED);
    let credit = p.credit * credit_units;
    let billed = (after_subsidy - credit).max(Decimal::ZERO);
    (list, billed, credit.min(after_subsidy))
}

/// Converts projects and usage for a period.
pub fn convert(
    input: &QumuloInput,
    cfg: &QumuloConfig,
    ctx: &ConvertContext,
) -> Result<Conversion> {
    let mut conv = Conversion::new(Kind::Qumulo, &ctx.source, ctx.period, ctx.skip_invalid);
    let mut names: BTreeSet<String> = input.directories.keys().cloned().collect();
    names.extend(input.usage.names());
    let (mut found, mut billed_n, mut inactive) = (0u64, BTreeSet::new(), BTreeSet::new());
    let mut usage_total = Decimal::ZERO;
    let days = Decimal::from(ctx.days());
    let missing = Metadata::Missing;
    for name in &names {
        if cfg.is_excluded(name) {
            conv.items_read += 1;
            conv.buckets
                .skip(name, "excluded_directory", "name matches excludePatterns");
            continue;
        }
        found += 1;
        let meta = input.directories.get(name).unwrap_or(&missing);
        let snapshots: Vec<(Option<NaiveDate>, Decimal)> = match &input.usage {
            Usage::Walk(m) => m
                .get(name)
                .map(|(b, _)| vec![(None, *b)])
                .unwrap_or_default(),
            Usage::File(m) | Usage::QuotaJson(m) => {
                m.get(name).map(|b| vec![(None, *b)]).unwrap_or_default()
            }
            Usage::Daily(d) => d
                .iter()
                .filter_map(|(day, m)| m.get(name).map(|b| (Some(*day), *b)))
                .collect(),
        };
        let b = &mut conv.buckets;
        let p = match project(name, meta, cfg, b) {
            Ok(p) => p,
            Err((code, msg)) => {
                conv.items_read += snapshots.len().max(1) as u64;
                for _ in 0..snapshots.len().max(1) {
                    b.invalid(name, None, code, msg.clone());
                }
                continue;
            }
        };
        if snapshots.is_empty() {
            conv.items_read += 1;
            b.invalid(
                name,
                None,
                "usage_unknown",
                format!(
                    "{name}: no usage value in the {} source",
                    input.usage.name()
                ),
            );
            continue;
        }
        for (day, bytes) in snapshots {
            conv.items_read += 1;
            if !p.active {
                inactive.insert(name.clone());
                b.skip(name, "inactive", format!("{name}: active is false"));
                continue;
            }
            if let Some(d) = day {
                if Period::of_date(d) != ctx.period {
                    b.skip(&d.to_string(), "outside_period", format!("snapshot of {d}"));
                    continue;
                }
            }
            let (list, billed, credit) = match day {
                None => price(
                    bytes,
                    &p,
                    cfg.monthly_rate_per_gb,
                    Decimal::ONE,
                    Decimal::ONE,
                    days,
                ),
                Some(_) => price(
                    bytes,
                    &p,
                    cfg.monthly_rate_per_gb,
                    Decimal::from(12),
                    Decimal::from(365),
                    Decimal::ONE,
                ),
            };
            let meta = json!({"directory": name, "usageBytes": exact_text(bytes), "usageSource": input.usage.name(),
                "freeGiB": exact_text(p.free_gb), "subsidyPercent": exact_text(p.subsidy),
                "dailyCredit": exact_text(p.credit), "days": if day.is_some() { 1 } else { ctx.days() },
                "creditApplied": crate::money::fmt2(r2(credit))});
            let mut row = FocusLiteRow::new(
                ctx.period,
                resource_id("qumulo", &[name]),
                format!("{} Storage", p.project_id),
                cfg.service_name.clone(),
                list,
                billed,
                p.tags.clone(),
            )
            .with_meta(meta.as_object().cloned().unwrap_or_default());
            if let Some(d) = day {
                row = row.charge_period(d, d);
            }
            let row = match &p.unmapped {
                None => Some(row),
                Some((reason, detail)) => b.unmapped(name, reason, row, 1, detail.clone()),
            };
            if let Some(row) = row {
                conv.items_charged += 1;
                billed_n.insert(name.clone());
                usage_total += bytes;
                conv.rows.push(row);
            }
        }
    }
    if let Usage::Daily(d) = &input.usage {
        for (day, m) in d
            .iter()
            .filter(|(day, _)| Period::of_date(**day) == ctx.period)
        {
            for name in names.iter().filter(|n| {
                !cfg.is_excluded(n) && !m.contains_key(*n) && d.values().any(|o| o.contains_key(*n))
            }) {
                conv.buckets.warn(
                    Some(name),
                    "missing_snapshot",
                    format!("{name} has no snapshot on {day}; days are never forward-filled"),
                );
            }
        }
    }
    if let Usage::Walk(m) = &input.usage {
        for (name, (_, unreadable)) in m.iter().filter(|(_, (_, u))| *u > 0) {
            conv.buckets.warn(
                Some(name),
                "usage_incomplete",
                format!("{name}: {unreadable} entries could not be read; usage is a lower bound"),
            );
        }
    }
    let model = if matches!(input.usage, Usage::Daily(_)) {
        "daily"
    } else {
        "monthly"
    };
    conv.options.insert("model".into(), json!(model));
    conv.options
        .insert("usageSource".into(), json!(input.usage.name()));
    conv.audit_extras = vec![
        ("rootPath".into(), AuditValue::s(&input.root)),
        ("usageSource".into(), AuditValue::s(input.usage.name())),
        ("model".into(), AuditValue::s(model)),
        ("projectsFound".into(), AuditValue::n(found)),
        (
            "projectsBilled".into(),
            AuditValue::n(billed_n.len() as u64),
        ),
        (
            "projectsInactive".into(),
            AuditValue::n(inactive.len() as u64),
        ),
        ("usageGiB".into(), AuditValue::d2(usage_total / gib())),
    ];
    conv.finish()
}
