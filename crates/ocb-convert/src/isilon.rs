//! `isilon`: PowerScale directory quotas, a monthly point-in-time snapshot
//! (INTEGRATIONS.md §2.2). `ListCost = r2(bytes × rate / 1024^4)`,
//! `BilledCost = r2(max(0, bytes − freeGiB × 1024^3) × rate / 1024^4)`.

use crate::audit::AuditValue;
use crate::config::{regexes, value_decimal, Obj};
use crate::error::{ConvertError, Result};
use crate::kind::{ConvertContext, Kind};
use crate::money::{exact_text, gib, tib};
use crate::report::{Conversion, Warning};
use crate::row::{resource_id, FocusLiteRow, Tags};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};

/// One quota of the listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Quota {
    /// Position in the listing (1-based).
    pub index: u64,
    /// Path with one trailing `/` removed; `None` when missing.
    pub path: Option<String>,
    /// `type`, when given.
    pub quota_type: Option<String>,
    /// `usage` as written (number or object).
    pub usage: Option<Value>,
}

/// Removes one trailing `/` (never from `/` itself).
pub fn normalize_path(p: &str) -> String {
    match p.strip_suffix('/') {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => p.to_string(),
    }
}

/// Parses `{"quotas": [...]}` or a bare array.
pub fn parse_isilon_input(bytes: &[u8]) -> Result<Vec<Quota>> {
    let v = crate::text::parse_json(bytes, "quota listing").map_err(ConvertError::Input)?;
    let list = match &v {
        Value::Array(a) => a,
        Value::Object(m) => match m.get("quotas") {
            Some(Value::Array(a)) => a,
            _ => {
                return Err(ConvertError::input(
                    "quota listing: expected {\"quotas\": [...]} or an array of quotas",
                ))
            }
        },
        _ => {
            return Err(ConvertError::input(
                "quota listing: expected an object or an array",
            ))
        }
    };
    Ok(list
        .iter()
        .enumerate()
        .map(|(i, q)| Quota {
            index: i as u64 + 1,
            path: q.get("path").and_then(Value::as_str).map(normalize_path),
            quota_type: q.get("type").and_then(Value::as_str).map(str::to_string),
            usage: q.get("usage").filter(|u| !u.is_null()).cloned(),
        })
        .collect())
}

/// A `projects.<path>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// PI.
    pub pi_email: String,
    /// Project.
    pub project_id: String,
    /// Fund/org.
    pub fund_org: String,
    /// Free GiB override.
    pub free_gb: Option<Decimal>,
}

/// `rates.json` + `projects.json`.
#[derive(Debug, Clone)]
pub struct IsilonConfig {
    /// ServiceName.
    pub service_name: String,
    /// $ per TiB-month.
    pub rate_per_tb_month: Decimal,
    /// Free GiB per quota path.
    pub free_gb_per_project: Decimal,
    /// Command when no INPUT is given.
    pub quota_command: Vec<String>,
    /// Usage member precedence.
    pub usage_fields: Vec<String>,
    /// Excluded path regexes.
    pub exclude: Vec<regex::Regex>,
    /// Projects by normalised path.
    pub projects: BTreeMap<String, Project>,
}

impl IsilonConfig {
    /// Builds the config from the merged JSON.
    pub fn from_merged_json(map: &Map<String, Value>, warnings: &mut Vec<Warning>) -> Result<Self> {
        let top = Obj::new(map, "");
        top.unknown(
            &[
                "serviceName",
                "ratePerTBMonth",
                "freeGBPerProject",
                "quotaCommand",
                "usageFields",
                "excludePathPatterns",
                "projects",
            ],
            warnings,
        );
        let mut projects = BTreeMap::new();
        if let Some(ps) = top.obj("projects")? {
            for (path, v) in ps {
                let p = format!("projects.{path}");
                let Value::Object(m) = v else {
                    return Err(ConvertError::config(format!("'{p}' must be an object")));
                };
                let o = Obj::new(m, &p);
                o.unknown(&["piEmail", "projectId", "fundOrg", "freeGB"], warnings);
                let (pi_email, project_id, fund_org) = crate::slurm::read_triple(&o)?;
                let key = normalize_path(path);
                if projects
                    .insert(
                        key.clone(),
                        Project {
                            pi_email,
                            project_id,
                            fund_org,
                            free_gb: o.non_negative("freeGB")?,
                        },
                    )
                    .is_some()
                {
                    return Err(ConvertError::config(format!(
                        "'projects' lists '{key}' twice"
                    )));
                }
            }
        }
        let command = top
            .str("quotaCommand")?
            .unwrap_or_else(|| "isi quota quotas list --format=json".into());
        let patterns = top.str_list("excludePathPatterns")?.unwrap_or_default();
        Ok(Self {
            service_name: top
                .str("serviceName")?
                .unwrap_or_else(|| "HPC Storage - Project".into()),
            rate_per_tb_month: top.non_negative("ratePerTBMonth")?.unwrap_or(Decimal::TEN),
            free_gb_per_project: top
                .non_negative("freeGBPerProject")?
                .unwrap_or(Decimal::from(500)),
            quota_command: command.split_whitespace().map(str::to_string).collect(),
            usage_fields: top.str_list("usageFields")?.unwrap_or_else(|| {
                [
                    "logical",
                    "fslogical",
                    "applogical",
                    "physical",
                    "fsphysical",
                ]
                .map(String::from)
                .to_vec()
            }),
            exclude: regexes("excludePathPatterns", &patterns, false)?,
            projects,
        })
    }
}

/// Usage bytes and the member they came from, or the reason there are none.
fn usage_bytes(
    usage: Option<&Value>,
    fields: &[String],
) -> std::result::Result<(Decimal, String), String> {
    let (value, field) = match usage {
        None => return Err("the quota has no usage".into()),
        Some(Value::Object(m)) => match fields
            .iter()
            .find_map(|f| m.get(f).filter(|v| !v.is_null()).map(|v| (v, f)))
        {
            Some((v, f)) => (v, f.clone()),
            None => return Err(format!("usage has none of {}", fields.join(", "))),
        },
        Some(v) => (v, "usage".to_string()),
    };
    match value_decimal(value) {
        Some(d) if !d.is_sign_negative() && d.fract().is_zero() => Ok((d, field)),
        _ => Err(format!(
            "usage.{field} is not a byte count: {}",
            crate::config::short(value)
        )),
    }
}

/// Converts the quota listing.
pub fn convert(quotas: &[Quota], cfg: &IsilonConfig, ctx: &ConvertContext) -> Result<Conversion> {
    let mut conv = Conversion::new(Kind::Isilon, &ctx.source, ctx.period, ctx.skip_invalid);
    let b = &mut conv.buckets;
    let (mut not_dir, mut excluded, mut billed_n) = (0u64, 0u64, 0u64);
    let mut usage_total = Decimal::ZERO;
    let mut seen = HashSet::new();
    for q in quotas {
        conv.items_read += 1;
        let Some(path) = &q.path else {
            b.invalid(
                &format!("quota #{}", q.index),
                Some(q.index),
                "missing_path",
                format!("quota #{} has no path", q.index),
            );
            continue;
        };
        if q.quota_type.as_deref().is_some_and(|t| t != "directory") {
            not_dir += 1;
            b.skip(
                path,
                "quota_type_not_directory",
                format!("{} quota", q.quota_type.as_deref().unwrap_or("")),
            );
            continue;
        }
        if cfg.exclude.iter().any(|r| r.is_match(path)) {
            excluded += 1;
            b.skip(path, "excluded_path", "path matches excludePathPatterns");
            continue;
        }
        let (bytes, field) = match usage_bytes(q.usage.as_ref(), &cfg.usage_fields) {
            Ok(x) => x,
            Err(msg) => {
                b.invalid(
                    path,
                    Some(q.index),
                    "usage_missing",
                    format!("{path}: {msg}"),
                );
                continue;
            }
        };
        if !seen.insert(path.clone()) {
            b.invalid(
                path,
                Some(q.index),
                "duplicate_path",
                format!("{path}: two directory quotas for one path"),
            );
            continue;
        }
        let entry = cfg.projects.get(path);
        let complete = entry.is_some_and(|e| {
            !e.pi_email.trim().is_empty()
                && !e.project_id.trim().is_empty()
                && !e.fund_org.trim().is_empty()
        });
        let basename = path.rsplit('/').next().unwrap_or(path).to_string();
        let project_id = entry
            .map(|e| e.project_id.trim())
            .filter(|p| !p.is_empty())
            .map_or(basename, str::to_string);
        let free = entry
            .and_then(|e| e.free_gb)
            .unwrap_or(cfg.free_gb_per_project);
        let free_bytes = free * gib();
        let billable = (bytes - free_bytes).max(Decimal::ZERO);
        let list = bytes * cfg.rate_per_tb_month / tib();
        let billed = billable * cfg.rate_per_tb_month / tib();
        let tags = match (entry, complete) {
            (Some(e), true) => Tags::core(&e.pi_email, &e.project_id, &e.fund_org),
            _ => Tags::core("", &project_id, ""),
        };
        let meta = json!({"path": path, "usageBytes": exact_text(bytes), "usageField": field,
            "freeGiB": exact_text(free), "billableBytes": exact_text(billable)});
        let row = FocusLiteRow::new(
            ctx.period,
            resource_id("isilon", &[path]),
            format!("{project_id} Storage"),
            cfg.service_name.clone(),
            list,
            billed,
            tags,
        )
        .with_meta(meta.as_object().cloned().unwrap_or_default());
        let row = match (entry, complete) {
            (_, true) => Some(row),
            (None, _) => b.unmapped(
                path,
                "path_not_mapped",
                row,
                1,
                format!("{path} is not in projects"),
            ),
            (Some(_), false) => b.unmapped(
                path,
                "mapping_incomplete",
                row,
                1,
                format!("projects.{path} lacks piEmail, projectId or fundOrg"),
            ),
        };
        if let Some(row) = row {
            conv.items_charged += 1;
            billed_n += 1;
            usage_total += bytes;
            conv.rows.push(row);
        }
    }
    conv.options
        .insert("usageFields".into(), json!(cfg.usage_fields));
    conv.audit_extras = vec![
        ("quotasRead".into(), AuditValue::n(conv.items_read)),
        ("quotasBilled".into(), AuditValue::n(billed_n)),
        ("quotasNotDirectory".into(), AuditValue::n(not_dir)),
        ("quotasExcluded".into(), AuditValue::n(excluded)),
        ("usageGiB".into(), AuditValue::d2(usage_total / gib())),
    ];
    conv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_precedence_and_explicit_zero() {
        let f: Vec<String> = ["logical", "physical"].map(String::from).to_vec();
        let u = json!({"physical": 5, "logical": 0});
        assert_eq!(
            usage_bytes(Some(&u), &f),
            Ok((Decimal::ZERO, "logical".into()))
        );
        let u = json!({"logical": null, "physical": 7});
        assert_eq!(
            usage_bytes(Some(&u), &f),
            Ok((Decimal::from(7), "physical".into()))
        );
        assert!(usage_bytes(Some(&json!({"x": 1})), &f).is_err());
        assert!(usage_bytes(Some(&json!(-1)), &f).is_err());
        assert_eq!(
            usage_bytes(Some(&json!(12)), &f),
            Ok((Decimal::from(12), "usage".into()))
        );
    }

    #[test]
    fn trailing_slash_is_removed_once() {
        assert_eq!(normalize_path("/ifs/a/"), "/ifs/a");
        assert_eq!(normalize_path("/ifs/a//"), "/ifs/a/");
        assert_eq!(normalize_path("/"), "/");
    }
}
