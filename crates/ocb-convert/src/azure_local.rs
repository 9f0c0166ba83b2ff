//! `azure-local`: Hyper-V VMs on Azure Local / Azure Stack HCI from an offline inventory
//! (INTEGRATIONS.md §2.4). `list = annualCost / 12 × n / D` (prorated from the creation date),
//! `billed = list × (100 − subsidy) / 100`, each rounded once.

use crate::audit::AuditValue;
use crate::config::{regexes, value_decimal, CiMap, Obj};
use crate::error::{ConvertError, Result};
use crate::kind::{ConvertContext, Kind};
use crate::money::exact_text;
use crate::report::{Conversion, Warning};
use crate::row::{resource_id, FocusLiteRow, Tags};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::HashSet;

/// A VM's creation time as found in the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Creation {
    /// An ISO 8601 date/time: the calendar date as written.
    Date(NaiveDate),
    /// PowerShell 5.1 `/Date(ms[±hhmm])/`: epoch milliseconds and the offset, if written.
    Epoch(i64, Option<FixedOffset>),
    /// Missing or unparseable (the text, for the message).
    Bad(String),
}

/// Notes as found.
#[derive(Debug, Clone, PartialEq)]
pub enum Notes {
    /// Empty or absent.
    Empty,
    /// A JSON string (the normal case) or another scalar.
    Text(String),
    /// A JSON object (hand-made fixtures).
    Object(Map<String, Value>),
}

/// One VM of the inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Vm {
    /// Position (1-based).
    pub index: u64,
    /// Name (`None` when missing).
    pub name: Option<String>,
    /// State (`Running`, `Off`, `Unknown(7)` …).
    pub state: String,
    /// Creation time.
    pub creation: Creation,
    /// Notes.
    pub notes: Notes,
}

/// The inventory.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// `clusterName` of the `{clusterName, vms}` shape.
    pub cluster_name: Option<String>,
    /// VMs.
    pub vms: Vec<Vm>,
}

fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// Hyper-V `VMState` enum values (the integers `ConvertTo-Json` writes for `State`).
pub fn state_name(n: i64) -> String {
    match n {
        1 => "Other",
        2 => "Running",
        3 => "Off",
        4 => "Stopping",
        6 => "Saved",
        9 => "Paused",
        10 => "Starting",
        11 => "Reset",
        32773 => "Saving",
        32776 => "Pausing",
        32777 => "Resuming",
        32779 => "FastSaved",
        32780 => "FastSaving",
        _ => return format!("Unknown({n})"),
    }
    .to_string()
}

/// Parses a CreationTime value.
pub fn parse_creation(v: Option<&Value>) -> Creation {
    let Some(v) = v else {
        return Creation::Bad("missing".into());
    };
    match v {
        Value::Object(m) => parse_creation(get_ci(m, "value")),
        Value::String(s) => parse_creation_text(s),
        other => Creation::Bad(other.to_string()),
    }
}

fn parse_creation_text(s: &str) -> Creation {
    let t = s.trim();
    if let Some(inner) = t.strip_prefix("/Date(").and_then(|r| r.strip_suffix(")/")) {
        let split = inner
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '+' || *c == '-')
            .map(|(i, _)| i);
        let (ms, off) = match split {
            Some(i) => (&inner[..i], Some(&inner[i..])),
            None => (inner, None),
        };
        let Ok(ms) = ms.parse::<i64>() else {
            return Creation::Bad(t.into());
        };
        let off = match off {
            None => None,
            Some(o) if o.len() == 5 => {
                let sign = if o.starts_with('-') { -1 } else { 1 };
                let (Ok(h), Ok(m)) = (o[1..3].parse::<i32>(), o[3..5].parse::<i32>()) else {
                    return Creation::Bad(t.into());
                };
                match FixedOffset::east_opt(sign * (h * 3600 + m * 60)) {
                    Some(f) => Some(f),
                    None => return Creation::Bad(t.into()),
                }
            }
            Some(_) => return Creation::Bad(t.into()),
        };
        return Creation::Epoch(ms, off);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Creation::Date(dt.naive_local().date());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return Creation::Date(dt.date());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_or_else(|_| Creation::Bad(t.into()), Creation::Date)
}

impl Creation {
    /// The calendar date (epoch values in their written offset, else in `tz`).
    pub fn date(&self, tz: chrono_tz::Tz) -> Option<NaiveDate> {
        match self {
            Creation::Date(d) => Some(*d),
            Creation::Epoch(ms, Some(off)) => off
                .timestamp_millis_opt(*ms)
                .single()
                .map(|d| d.date_naive()),
            Creation::Epoch(ms, None) => tz
                .timestamp_millis_opt(*ms)
                .single()
                .map(|d| d.date_naive()),
            Creation::Bad(_) => None,
        }
    }
}

fn parse_vm(index: u64, v: &Value) -> Vm {
    let empty = Map::new();
    let m = v.as_object().unwrap_or(&empty);
    let state = match get_ci(m, "State") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n
            .as_i64()
            .map_or_else(|| format!("Unknown({n})"), state_name),
        Some(other) => format!("Unknown({other})"),
        None => "Unknown".into(),
    };
    let notes = match get_ci(m, "Notes") {
        None => Notes::Empty,
        Some(Value::String(s)) if s.trim().is_empty() => Notes::Empty,
        Some(Value::String(s)) => Notes::Text(s.clone()),
        Some(Value::Object(o)) => Notes::Object(o.clone()),
        Some(other) => Notes::Text(other.to_string()),
    };
    Vm {
        index,
        name: get_ci(m, "Name")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        state,
        creation: parse_creation(get_ci(m, "CreationTime")),
        notes,
    }
}

/// Parses the inventory: an array of VMs, one VM object, or `{"clusterName", "vms"}`.
pub fn parse_azure_local_input(bytes: &[u8]) -> Result<Inventory> {
    let v = crate::text::parse_json(bytes, "inventory").map_err(ConvertError::Input)?;
    let (cluster_name, list): (Option<String>, Vec<Value>) =
        match v {
            Value::Array(a) => (None, a),
            Value::Object(m) => match get_ci(&m, "vms") {
                Some(Value::Array(a)) => (
                    get_ci(&m, "clusterName")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    a.clone(),
                ),
                Some(_) => return Err(ConvertError::input("inventory: 'vms' must be an array")),
                None => (None, vec![Value::Object(m)]),
            },
            _ => return Err(ConvertError::input(
                "inventory: expected an array of VMs, a VM object or {\"clusterName\", \"vms\"}",
            )),
        };
    Ok(Inventory {
        cluster_name,
        vms: list
            .iter()
            .enumerate()
            .map(|(i, v)| parse_vm(i as u64 + 1, v))
            .collect(),
    })
}

/// A tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// $ per year.
    pub annual_cost: Decimal,
}

/// `tiers.json` plus the kind options.
#[derive(Debug, Clone)]
pub struct AzureLocalConfig {
    /// ServiceName.
    pub service_name: String,
    /// Default subsidy %.
    pub default_subsidy: Decimal,
    /// Default `active`.
    pub default_active: bool,
    /// Tier for VMs without one.
    pub default_tier: Option<String>,
    /// Tiers (case-insensitive).
    pub tiers: CiMap<(String, Tier)>,
    /// Notes keys: piEmail, projectId, fundOrg, vmTier, subsidyPercent, active.
    pub notes_keys: [String; 6],
    /// Tags keys for piEmail, projectId, fundOrg.
    pub tag_keys: [String; 3],
    /// Excluded VM names.
    pub exclude: Vec<regex::Regex>,
    /// Billable states.
    pub billable_states: CiMap<()>,
    /// `--include-off`.
    pub include_off: bool,
    /// `--cluster`.
    pub cluster: Option<String>,
}

impl AzureLocalConfig {
    /// Builds the config; `exclude_override` is `--exclude`.
    pub fn from_merged_json(
        map: &Map<String, Value>,
        exclude_override: &[String],
        warnings: &mut Vec<Warning>,
    ) -> Result<Self> {
        let top = Obj::new(map, "");
        top.unknown(
            &[
                "defaults",
                "tiers",
                "fieldMapping",
                "excludePatterns",
                "billableStates",
            ],
            warnings,
        );
        let empty = Map::new();
        let d = Obj::new(top.obj("defaults")?.unwrap_or(&empty), "defaults");
        d.unknown(
            &["serviceName", "subsidyPercent", "active", "tier"],
            warnings,
        );
        let tiers_map = top
            .obj("tiers")?
            .ok_or_else(|| ConvertError::config("'tiers' is required (tiers.json)"))?;
        let mut tiers = CiMap::default();
        for (name, v) in tiers_map {
            let path = format!("tiers.{name}");
            let Value::Object(m) = v else {
                return Err(ConvertError::config(format!("'{path}' must be an object")));
            };
            let o = Obj::new(m, &path);
            o.unknown(&["annualCost", "description"], warnings);
            let cost = o
                .non_negative("annualCost")?
                .ok_or_else(|| ConvertError::config(format!("'{path}.annualCost' is required")))?;
            tiers.insert("tiers", name, (name.clone(), Tier { annual_cost: cost }))?;
        }
        let fm = Obj::new(top.obj("fieldMapping")?.unwrap_or(&empty), "fieldMapping");
        fm.unknown(&["vmNotes", "focusTags"], warnings);
        let notes = Obj::new(fm.obj("vmNotes")?.unwrap_or(&empty), "fieldMapping.vmNotes");
        let nk = [
            "piEmail",
            "projectId",
            "fundOrg",
            "vmTier",
            "subsidyPercent",
            "active",
        ];
        notes.unknown(&nk, warnings);
        let nd = [
            "FinOpsPiEmail",
            "FinOpsProjectId",
            "FinOpsFundOrg",
            "FinOpsVmTier",
            "FinOpsSubsidyPercent",
            "FinOpsActive",
        ];
        let mut notes_keys: [String; 6] = Default::default();
        for i in 0..6 {
            notes_keys[i] = notes.str(nk[i])?.unwrap_or_else(|| nd[i].into());
        }
        let ft = Obj::new(
            fm.obj("focusTags")?.unwrap_or(&empty),
            "fieldMapping.focusTags",
        );
        ft.unknown(&nk[..3], warnings);
        let td = ["pi_email", "project_id", "fund_org"];
        let mut tag_keys: [String; 3] = Default::default();
        for i in 0..3 {
            tag_keys[i] = ft.str(nk[i])?.unwrap_or_else(|| td[i].into());
        }
        let patterns = if exclude_override.is_empty() {
            top.str_list("excludePatterns")?
                .unwrap_or_else(|| vec!["^infra-".into(), "^template-".into()])
        } else {
            exclude_override.to_vec()
        };
        let default_tier = d.str("tier")?.filter(|t| !t.trim().is_empty());
        if let Some(t) = &default_tier {
            if !tiers.contains(t) {
                return Err(ConvertError::config(format!(
                    "'defaults.tier' names '{t}', which is not in tiers"
                )));
            }
        }
        Ok(Self {
            service_name: d
                .str("serviceName")?
                .unwrap_or_else(|| "Azure Local - Virtual Machines".into()),
            default_subsidy: d.percent("subsidyPercent")?.unwrap_or_default(),
            default_active: d.bool("active")?.unwrap_or(true),
            default_tier,
            tiers,
            notes_keys,
            tag_keys,
            exclude: regexes("excludePatterns", &patterns, true)?,
            billable_states: crate::config::ci_set(
                "billableStates",
                &top.str_list("billableStates")?
                    .unwrap_or_else(|| vec!["Running".into()]),
            )?,
            include_off: false,
            cluster: None,
        })
    }
}

/// Parsed Notes and why they are not a full attribution.
struct ParsedNotes {
    map: Map<String, Value>,
    problem: Option<&'static str>,
}

fn parse_notes(n: &Notes) -> ParsedNotes {
    match n {
        Notes::Empty => ParsedNotes {
            map: Map::new(),
            problem: Some("notes_empty"),
        },
        Notes::Object(m) => ParsedNotes {
            map: m.clone(),
            problem: None,
        },
        Notes::Text(t) => match serde_json::from_str::<Value>(t.trim()) {
            Ok(Value::Object(m)) => ParsedNotes {
                map: m,
                problem: None,
            },
            _ => ParsedNotes {
                map: Map::new(),
                problem: Some("notes_invalid_json"),
            },
        },
    }
}

fn note_text(m: &Map<String, Value>, key: &str) -> Option<String> {
    get_ci(m, key)
        .and_then(ocb_core::tags::value_text)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn parse_active(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[derive(Default)]
struct Counts {
    prorated: u64,
    excluded: u64,
    not_running: u64,
    inactive: u64,
    after: u64,
}

/// Converts the inventory.
pub fn convert(
    inv: &Inventory,
    cfg: &AzureLocalConfig,
    ctx: &ConvertContext,
) -> Result<Conversion> {
    let mut conv = Conversion::new(Kind::AzureLocal, &ctx.source, ctx.period, ctx.skip_invalid);
    let mut c = Counts::default();
    let mut names = HashSet::new();
    let (start, end) = (ctx.period.first_day(), ctx.period.last_day());
    let days = ctx.days();
    for vm in &inv.vms {
        conv.items_read += 1;
        let b = &mut conv.buckets;
        let Some(name) = &vm.name else {
            b.invalid(
                &format!("vm #{}", vm.index),
                Some(vm.index),
                "missing_name",
                format!("VM #{} has no Name", vm.index),
            );
            continue;
        };
        if !names.insert(name.to_ascii_lowercase()) {
            b.invalid(
                name,
                Some(vm.index),
                "duplicate_vm",
                format!("VM '{name}' appears more than once"),
            );
            continue;
        }
        if cfg.exclude.iter().any(|r| r.is_match(name)) {
            c.excluded += 1;
            b.skip(name, "excluded_pattern", "name matches excludePatterns");
            continue;
        }
        if !cfg.include_off && !cfg.billable_states.contains(&vm.state) {
            c.not_running += 1;
            b.skip(name, "not_running", vm.state.clone());
            continue;
        }
        let notes = parse_notes(&vm.notes);
        let k = &cfg.notes_keys;
        let active = match get_ci(&notes.map, &k[5]) {
            None => cfg.default_active,
            Some(v) => match parse_active(v) {
                Some(a) => a,
                None => {
                    b.invalid(
                        name,
                        Some(vm.index),
                        "bad_active",
                        format!(
                            "{name}: Notes {} is not true/false: {}",
                            k[5],
                            crate::config::short(v)
                        ),
                    );
                    continue;
                }
            },
        };
        if !active {
            c.inactive += 1;
            b.skip(name, "inactive", format!("Notes {} is false", k[5]));
            continue;
        }
        let Some(created) = vm.creation.date(ctx.timezone) else {
            let raw = match &vm.creation {
                Creation::Bad(t) => t.clone(),
                _ => String::new(),
            };
            b.invalid(
                name,
                Some(vm.index),
                "bad_creation_time",
                format!("{name}: CreationTime '{raw}' is not a date"),
            );
            continue;
        };
        if created > end {
            c.after += 1;
            b.skip(name, "created_after_period", format!("created {created}"));
            continue;
        }
        let tier_name = match note_text(&notes.map, &k[3]) {
            Some(t) => t,
            None => match &cfg.default_tier {
                Some(t) => {
                    b.warn(
                        Some(name),
                        "tier_defaulted",
                        format!("{name}: no {} in Notes; using defaults.tier '{t}'", k[3]),
                    );
                    t.clone()
                }
                None => {
                    b.invalid(
                        name,
                        Some(vm.index),
                        "no_tier",
                        format!("{name}: Notes has no {} and defaults.tier is not set", k[3]),
                    );
                    continue;
                }
            },
        };
        let Some((tier_key, tier)) = cfg.tiers.get(&tier_name) else {
            b.invalid(
                name,
                Some(vm.index),
                "unknown_tier",
                format!("{name}: tier '{tier_name}' is not in tiers"),
            );
            continue;
        };
        let subsidy = match get_ci(&notes.map, &k[4]) {
            None => cfg.default_subsidy,
            Some(v) => match value_decimal(v)
                .filter(|d| *d >= Decimal::ZERO && *d <= Decimal::ONE_HUNDRED)
            {
                Some(d) => d,
                None => {
                    b.invalid(
                        name,
                        Some(vm.index),
                        "bad_subsidy",
                        format!("{name}: Notes {} must be a percentage from 0 to 100", k[4]),
                    );
                    continue;
                }
            },
        };
        let (n, charge_start) = if created <= start {
            (days, start)
        } else {
            ((end - created).num_days() as u32 + 1, created)
        };
        if n < days {
            c.prorated += 1;
        }
        let list = tier.annual_cost * Decimal::from(n) / (Decimal::from(12) * Decimal::from(days));
        let billed = list * (Decimal::ONE_HUNDRED - subsidy) / Decimal::ONE_HUNDRED;
        let (pi, proj, fund) = (
            note_text(&notes.map, &k[0]),
            note_text(&notes.map, &k[1]),
            note_text(&notes.map, &k[2]),
        );
        let t = &cfg.tag_keys;
        let tags = Tags::core_named(
            [&t[0], &t[1], &t[2]],
            [
                pi.as_deref().unwrap_or(""),
                proj.as_deref().unwrap_or(""),
                fund.as_deref().unwrap_or(""),
            ],
        );
        let meta = json!({"vmName": name, "tier": tier_key, "state": vm.state, "creationDate": created.to_string(),
            "prorationDays": n, "daysInMonth": days, "annualCost": exact_text(tier.annual_cost), "subsidyPercent": exact_text(subsidy)});
        let row = FocusLiteRow::new(
            ctx.period,
            resource_id("azure-local", &[name]),
            name.clone(),
            cfg.service_name.clone(),
            list,
            billed,
            tags,
        )
        .charge_period(charge_start, end)
        .with_meta(meta.as_object().cloned().unwrap_or_default());
        let missing: Vec<&str> = [(&k[0], &pi), (&k[1], &proj), (&k[2], &fund)]
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_str())
            .collect();
        let row = if missing.is_empty() {
            Some(row)
        } else {
            let reason = notes.problem.unwrap_or("notes_missing_fields");
            b.unmapped(name, reason, row, 1, missing.join(", "))
        };
        if let Some(row) = row {
            conv.items_charged += 1;
            conv.rows.push(row);
        }
    }
    let cluster = cfg
        .cluster
        .clone()
        .or_else(|| inv.cluster_name.clone())
        .unwrap_or_default();
    conv.options
        .insert("includeOff".into(), json!(cfg.include_off));
    conv.options.insert("cluster".into(), json!(cluster));
    conv.audit_extras = vec![
        ("clusterName".into(), AuditValue::s(cluster)),
        ("vmsRead".into(), AuditValue::n(conv.items_read)),
        ("vmsBilled".into(), AuditValue::n(conv.rows.len() as u64)),
        ("vmsProrated".into(), AuditValue::n(c.prorated)),
        ("vmsExcluded".into(), AuditValue::n(c.excluded)),
        ("vmsNotRunning".into(), AuditValue::n(c.not_running)),
        ("vmsInactive".into(), AuditValue::n(c.inactive)),
        ("vmsCreatedAfterPeriod".into(), AuditValue::n(c.after)),
    ];
    conv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_time_forms() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        let utc = chrono_tz::UTC;
        assert_eq!(
            parse_creation_text("2024-06-15T10:00:00.0000000-05:00").date(utc),
            d(2024, 6, 15)
        );
        assert_eq!(
            parse_creation_text("2025-01-20T23:30:00-05:00").date(utc),
            d(2025, 1, 20)
        );
        assert_eq!(
            parse_creation_text("/Date(1725148800000)/").date(utc),
            d(2024, 9, 1)
        );
        assert_eq!(
            parse_creation_text("/Date(1725148800000-0500)/").date(utc),
            d(2024, 8, 31)
        );
        assert_eq!(
            parse_creation_text("/Date(1725148800000)/").date(chrono_tz::America::New_York),
            d(2024, 8, 31)
        );
        assert_eq!(
            parse_creation_text("2024-03-10T00:00:00").date(utc),
            d(2024, 3, 10)
        );
        assert_eq!(
            parse_creation(Some(&json!({"value": "/Date(0)/", "DisplayHint": 2}))).date(utc),
            d(1970, 1, 1)
        );
        assert_eq!(parse_creation_text("yesterday").date(utc), None);
        assert_eq!(parse_creation(None).date(utc), None);
    }

    #[test]
    fn states_from_integers() {
        assert_eq!(state_name(2), "Running");
        assert_eq!(state_name(3), "Off");
        assert_eq!(state_name(7), "Unknown(7)");
    }
}
