//! `slurm`: HPC job accounting from `sacct --parsable2` (INTEGRATIONS.md §2.1).
//!
//! Jobs are grouped by (account as printed, partition); each group is one row priced from its
//! exact CPU- and GPU-seconds: `(suSeconds × suRate + gpuSeconds × gpuRate) / 3600`, with the
//! partition's subsidy percentage applied to the exact list value.

use crate::audit::AuditValue;
use crate::config::{ci_set, CiMap, Obj};
use crate::error::{ConvertError, Result};
use crate::kind::{ConvertContext, Kind};
use crate::money::{exact_text, fmt2};
use crate::report::Conversion;
use crate::row::{resource_id, FocusLiteRow, Tags};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// One billable-candidate job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Input line (1-based).
    pub line: u64,
    /// JobID.
    pub job_id: String,
    /// Account as printed.
    pub account: String,
    /// Partition.
    pub partition: String,
    /// Allocated CPUs.
    pub alloc_cpus: u64,
    /// Elapsed seconds.
    pub seconds: u64,
    /// First word of State.
    pub state: String,
    /// GPUs, or the unparseable GPU field (an error only for partitions with a GPU rate).
    pub gpus: std::result::Result<u64, String>,
    /// End date, when present and known.
    pub end: Option<NaiveDate>,
}

/// A line of the input: a job or an invalid record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SacctRecord {
    /// A parsed job.
    Job(Job),
    /// A record that cannot be parsed.
    Invalid {
        /// Line.
        line: u64,
        /// JobID or `line N`.
        item: String,
        /// Code (`bad_field_count`, `bad_alloc_cpus`, `bad_elapsed`, `bad_end`, `duplicate_job`).
        code: &'static str,
        /// Message.
        message: String,
    },
}

/// Elapsed time: `MM:SS`, `H:MM:SS`, `HH:MM:SS` or `D-HH:MM:SS` (days any number of digits;
/// minutes and seconds two digits, 0–59).
pub fn parse_elapsed(text: &str) -> Option<u64> {
    let t = text.trim();
    let (days, rest, has_days) = match t.split_once('-') {
        Some((d, r)) => (digits(d)?, r, true),
        None => (0, t, false),
    };
    let sixty = |s: &str| -> Option<u64> { digits(s).filter(|v| s.len() == 2 && *v < 60) };
    let parts: Vec<&str> = rest.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [m, s] if !has_days => (0, digits(m).filter(|v| m.len() <= 2 && *v < 60)?, sixty(s)?),
        [h, m, s] => {
            let hours = digits(h)?;
            if has_days && (h.len() != 2 || hours > 23) {
                return None;
            }
            (hours, sixty(m)?, sixty(s)?)
        }
        _ => return None,
    };
    Some(days.checked_mul(86_400)? + h * 3600 + m * 60 + s)
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 12 {
        return None;
    }
    s.parse().ok()
}

/// GPUs from an AllocTRES (`gres/gpu=2`, `gres/gpu:a100=1,…`) or AllocGRES (`gpu:a100:2(IDX:0-1)`)
/// field; empty and `N/A` are 0.
pub fn parse_gpus(field: &str) -> std::result::Result<u64, String> {
    let f = field.trim();
    if f.is_empty() || f.eq_ignore_ascii_case("N/A") {
        return Ok(0);
    }
    let bad = || format!("cannot read a GPU count from '{f}'");
    if f.contains('=') {
        let entries: Vec<(&str, &str)> = f.split(',').filter_map(|e| e.split_once('=')).collect();
        if let Some((_, v)) = entries.iter().find(|(k, _)| k.trim() == "gres/gpu") {
            return digits(v.trim()).ok_or_else(bad);
        }
        let mut sum = 0u64;
        for (k, v) in entries
            .iter()
            .filter(|(k, _)| k.trim().starts_with("gres/gpu:"))
        {
            let _ = k;
            sum += digits(v.trim()).ok_or_else(bad)?;
        }
        return Ok(sum);
    }
    // GRES: drop every "(...)" group, then sum the last ':' field of gpu entries.
    let mut cleaned = String::new();
    let mut depth = 0u32;
    for c in f.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => cleaned.push(c),
            _ => {}
        }
    }
    let mut sum = 0u64;
    for entry in cleaned.split(',') {
        let fields: Vec<&str> = entry.trim().split(':').collect();
        if fields.first().map(|s| s.trim()) == Some("gpu") {
            let last = fields.last().map(|s| s.trim()).unwrap_or("");
            sum += digits(last).ok_or_else(bad)?;
        }
    }
    Ok(sum)
}

fn parse_end(text: &str) -> std::result::Result<Option<NaiveDate>, ()> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("unknown") || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .map(|d| Some(d.date()))
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y-%m-%d").map(Some))
        .map_err(|_| ())
}

struct Layout {
    job: usize,
    account: usize,
    partition: usize,
    cpus: usize,
    elapsed: usize,
    state: usize,
    gpu: Option<usize>,
    end: Option<usize>,
    elapsed_raw: Option<usize>,
    fields: Option<usize>,
}

fn header_layout(fields: &[&str]) -> Result<Layout> {
    let find = |name: &str| {
        fields
            .iter()
            .position(|f| f.trim().eq_ignore_ascii_case(name))
    };
    let need = |name: &str| {
        find(name).ok_or_else(|| {
            ConvertError::input(format!("sacct header: missing required column {name}"))
        })
    };
    Ok(Layout {
        job: need("JobID")?,
        account: need("Account")?,
        partition: need("Partition")?,
        cpus: need("AllocCPUS")?,
        elapsed: need("Elapsed")?,
        state: need("State")?,
        gpu: find("AllocTRES").or_else(|| find("AllocGRES")),
        end: find("End"),
        elapsed_raw: find("ElapsedRaw"),
        fields: Some(fields.len()),
    })
}

fn positional(n: usize) -> Option<Layout> {
    (6..=8).contains(&n).then_some(Layout {
        job: 0,
        account: 1,
        partition: 2,
        cpus: 3,
        elapsed: 4,
        state: 5,
        gpu: (n >= 7).then_some(6),
        end: (n == 8).then_some(7),
        elapsed_raw: None,
        fields: None,
    })
}

fn split_line(line: &str) -> Vec<&str> {
    let l = line.strip_suffix('\r').unwrap_or(line);
    let l = l.strip_suffix('|').unwrap_or(l);
    l.split('|').collect()
}

/// Parses `sacct` output (with or without header). Only a header without a required column is
/// an error of the whole input; bad lines are [`SacctRecord::Invalid`].
pub fn parse_slurm_input(text: &str) -> Result<Vec<SacctRecord>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut header: Option<Layout> = None;
    let mut seen: HashSet<String> = HashSet::new();
    let mut first = true;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i as u64 + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fields = split_line(raw);
        if first {
            first = false;
            if fields[0].trim().eq_ignore_ascii_case("JobID") {
                header = Some(header_layout(&fields)?);
                continue;
            }
        }
        let job_col = header.as_ref().map_or(0, |h| h.job);
        let item = fields.get(job_col).map_or("", |s| s.trim()).to_string();
        let item = if item.is_empty() {
            format!("line {line_no}")
        } else {
            item
        };
        let invalid = |code: &'static str, message: String| SacctRecord::Invalid {
            line: line_no,
            item: item.clone(),
            code,
            message,
        };
        let layout = match &header {
            Some(h) if h.fields == Some(fields.len()) => Some(h),
            Some(_) => None,
            None => None,
        };
        let owned;
        let layout = match (layout, &header) {
            (Some(l), _) => l,
            (None, Some(h)) => {
                out.push(invalid(
                    "bad_field_count",
                    format!(
                        "line {line_no}: {} fields, the header has {} (truncated line?)",
                        fields.len(),
                        h.fields.unwrap_or(0)
                    ),
                ));
                continue;
            }
            (None, None) => match positional(fields.len()) {
                Some(l) => {
                    owned = l;
                    &owned
                }
                None => {
                    out.push(invalid(
                        "bad_field_count",
                        format!(
                            "line {line_no}: {} fields, expected 6 to 8 (JobID|Account|Partition|AllocCPUS|Elapsed|State[|GPU][|End]); truncated line?",
                            fields.len()
                        ),
                    ));
                    continue;
                }
            },
        };
        let f = |i: usize| fields[i].trim();
        let Some(cpus) = digits(f(layout.cpus)) else {
            out.push(invalid(
                "bad_alloc_cpus",
                format!(
                    "line {line_no}: AllocCPUS '{}' is not an integer",
                    f(layout.cpus)
                ),
            ));
            continue;
        };
        let seconds = match layout.elapsed_raw.map(f).filter(|s| !s.is_empty()) {
            Some(raw) => digits(raw),
            None => parse_elapsed(f(layout.elapsed)),
        };
        let Some(seconds) = seconds else {
            out.push(invalid(
                "bad_elapsed",
                format!(
                    "line {line_no}: Elapsed '{}' is not MM:SS, HH:MM:SS or D-HH:MM:SS",
                    f(layout.elapsed)
                ),
            ));
            continue;
        };
        let end = match layout.end.map(f).map(parse_end) {
            None => None,
            Some(Ok(d)) => d,
            Some(Err(())) => {
                out.push(invalid(
                    "bad_end",
                    format!(
                        "line {line_no}: End '{}' is not YYYY-MM-DDTHH:MM:SS",
                        f(layout.end.unwrap_or(0))
                    ),
                ));
                continue;
            }
        };
        if !seen.insert(item.clone()) {
            out.push(invalid(
                "duplicate_job",
                format!("line {line_no}: JobID {item} appears more than once"),
            ));
            continue;
        }
        out.push(SacctRecord::Job(Job {
            line: line_no,
            job_id: item.clone(),
            account: f(layout.account).to_string(),
            partition: f(layout.partition).to_string(),
            alloc_cpus: cpus,
            seconds,
            state: f(layout.state)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string(),
            gpus: layout.gpu.map_or(Ok(0), |g| parse_gpus(f(g))),
            end,
        }));
    }
    Ok(out)
}

/// A partition's pricing.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// Service units per CPU-hour.
    pub su_multiplier: Decimal,
    /// % of list waived.
    pub subsidy_percent: Decimal,
    /// ServiceName suffix.
    pub description: Option<String>,
    /// $ per GPU-hour (extension).
    pub gpu_rate: Decimal,
}

/// Attribution of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// PI e-mail.
    pub pi_email: String,
    /// Project.
    pub project_id: String,
    /// Fund/org.
    pub fund_org: String,
}

/// `tiers.json` + `accounts.json`.
#[derive(Debug, Clone)]
pub struct SlurmConfig {
    /// ServiceName prefix.
    pub service_name: String,
    /// Partitions (case-insensitive).
    pub partitions: CiMap<Partition>,
    /// $ per SU.
    pub su_rate: Decimal,
    /// Billable states.
    pub billable_states: CiMap<()>,
    /// Excluded accounts.
    pub exclude_accounts: CiMap<()>,
    /// Accounts.
    pub accounts: CiMap<Account>,
    /// Billable states as configured (for the sacct command line).
    pub billable_state_list: Vec<String>,
}

/// The three attribution fields of a mapping entry (`piEmail`, `projectId`, `fundOrg`).
pub(crate) fn read_triple(o: &Obj<'_>) -> Result<(String, String, String)> {
    Ok((
        o.str("piEmail")?.unwrap_or_default(),
        o.str("projectId")?.unwrap_or_default(),
        o.str("fundOrg")?.unwrap_or_default(),
    ))
}

impl SlurmConfig {
    /// Builds and validates the config from the merged JSON (unknown keys → warnings).
    pub fn from_merged_json(
        map: &Map<String, Value>,
        warnings: &mut Vec<crate::report::Warning>,
    ) -> Result<Self> {
        let top = Obj::new(map, "");
        top.unknown(
            &[
                "serviceName",
                "partitions",
                "rates",
                "billableStates",
                "excludeAccounts",
                "accounts",
            ],
            warnings,
        );
        let mut partitions = CiMap::default();
        if let Some(ps) = top.obj("partitions")? {
            for (name, v) in ps {
                let path = format!("partitions.{name}");
                let Value::Object(m) = v else {
                    return Err(ConvertError::config(format!("'{path}' must be an object")));
                };
                let o = Obj::new(m, &path);
                o.unknown(
                    &["suMultiplier", "subsidyPercent", "description", "gpuRate"],
                    warnings,
                );
                partitions.insert(
                    "partitions",
                    name,
                    Partition {
                        su_multiplier: o.non_negative("suMultiplier")?.unwrap_or(Decimal::ONE),
                        subsidy_percent: o.percent("subsidyPercent")?.unwrap_or_default(),
                        description: o.str("description")?,
                        gpu_rate: o.non_negative("gpuRate")?.unwrap_or_default(),
                    },
                )?;
            }
        }
        let su_rate = match top.obj("rates")? {
            Some(r) => {
                let o = Obj::new(r, "rates");
                o.unknown(&["suRate", "unit"], warnings);
                o.non_negative("suRate")?
            }
            None => None,
        }
        .unwrap_or(Decimal::new(1, 2));
        let states = top
            .str_list("billableStates")?
            .unwrap_or_else(|| vec!["COMPLETED".into(), "TIMEOUT".into(), "OUT_OF_MEMORY".into()]);
        let mut accounts = CiMap::default();
        if let Some(acc) = top.obj("accounts")? {
            for (name, v) in acc {
                let path = format!("accounts.{name}");
                let Value::Object(m) = v else {
                    return Err(ConvertError::config(format!("'{path}' must be an object")));
                };
                let o = Obj::new(m, &path);
                o.unknown(&["piEmail", "projectId", "fundOrg"], warnings);
                let (pi_email, project_id, fund_org) = read_triple(&o)?;
                accounts.insert(
                    "accounts",
                    name,
                    Account {
                        pi_email,
                        project_id,
                        fund_org,
                    },
                )?;
            }
        }
        Ok(Self {
            service_name: top
                .str("serviceName")?
                .unwrap_or_else(|| "HPC Compute".into()),
            partitions,
            su_rate,
            billable_states: ci_set("billableStates", &states)?,
            exclude_accounts: ci_set(
                "excludeAccounts",
                &top.str_list("excludeAccounts")?.unwrap_or_default(),
            )?,
            accounts,
            billable_state_list: states,
        })
    }
}

/// The `sacct` command line for a period (what the CLI runs when no INPUT is given).
pub fn sacct_args(
    cfg: &SlurmConfig,
    period: ocb_core::period::Period,
    cluster: Option<&str>,
) -> Vec<String> {
    let mut a = vec![
        "--allusers".to_string(),
        "--allocations".into(),
        "--parsable2".into(),
        "--noheader".into(),
        format!("--starttime={}T00:00:00", period.first_day()),
        format!("--endtime={}T00:00:00", period.next().first_day()),
        format!("--state={}", cfg.billable_state_list.join(",")),
        "--format=JobID,Account,Partition,AllocCPUS,Elapsed,State,AllocTRES,End".into(),
    ];
    if let Some(c) = cluster {
        a.push(format!("--clusters={c}"));
    }
    a
}

#[derive(Default)]
struct Group {
    jobs: u64,
    cpu_seconds: Decimal,
    gpu_seconds: Decimal,
}

/// Converts parsed records. `sacct_command` is recorded in the audit (`""` for a file).
pub fn convert(
    records: &[SacctRecord],
    cfg: &SlurmConfig,
    ctx: &ConvertContext,
) -> Result<Conversion> {
    convert_with_command(records, cfg, ctx, "")
}

/// [`convert`] recording the sacct command line that produced the input.
pub fn convert_with_command(
    records: &[SacctRecord],
    cfg: &SlurmConfig,
    ctx: &ConvertContext,
    sacct_command: &str,
) -> Result<Conversion> {
    let mut conv = Conversion::new(Kind::Slurm, &ctx.source, ctx.period, ctx.skip_invalid);
    let b = &mut conv.buckets;
    let (mut excluded, mut not_billable, mut outside) = (0u64, 0u64, 0u64);
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for rec in records {
        conv.items_read += 1;
        let job = match rec {
            SacctRecord::Invalid {
                line,
                item,
                code,
                message,
            } => {
                b.invalid(item, Some(*line), code, message.clone());
                continue;
            }
            SacctRecord::Job(j) => j,
        };
        if cfg.exclude_accounts.contains(&job.account) {
            excluded += 1;
            b.skip(
                &job.account,
                "excluded_account",
                format!("job {} of an excluded account", job.job_id),
            );
            continue;
        }
        if !cfg.billable_states.contains(&job.state) {
            not_billable += 1;
            b.skip(
                &job.state,
                "state_not_billable",
                format!("job {} ended {}", job.job_id, job.state),
            );
            continue;
        }
        if let Some(end) = job.end {
            if ocb_core::period::Period::of_date(end) != ctx.period {
                outside += 1;
                let month = ocb_core::period::Period::of_date(end).to_string();
                b.skip(
                    &month,
                    "ended_outside_period",
                    format!("job {} ended {end}", job.job_id),
                );
                continue;
            }
        }
        let gpu_rate = cfg
            .partitions
            .get(&job.partition)
            .map_or(Decimal::ZERO, |p| p.gpu_rate);
        let gpus = match (&job.gpus, gpu_rate.is_zero()) {
            (Ok(n), _) => *n,
            (Err(_), true) => 0,
            (Err(msg), false) => {
                b.invalid(
                    &job.job_id,
                    Some(job.line),
                    "bad_gpu_field",
                    format!("line {}: {msg}", job.line),
                );
                continue;
            }
        };
        let g = groups
            .entry((job.account.clone(), job.partition.clone()))
            .or_default();
        g.jobs += 1;
        let secs = Decimal::from(job.seconds);
        g.cpu_seconds += Decimal::from(job.alloc_cpus) * secs;
        g.gpu_seconds += Decimal::from(gpus) * secs;
    }
    let hour = Decimal::from(3600);
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    let (mut cpu_total, mut su_total, mut gpu_total) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for ((account, partition), g) in groups {
        let p = cfg.partitions.get(&partition);
        if p.is_none() && unknown.insert(partition.to_ascii_lowercase()) {
            b.warn(
                Some(&partition),
                "unknown_partition",
                format!("partition '{partition}' is not in the config: multiplier 1, no subsidy, no GPU rate"),
            );
        }
        let (mult, subsidy, gpu_rate) = p
            .map_or((Decimal::ONE, Decimal::ZERO, Decimal::ZERO), |p| {
                (p.su_multiplier, p.subsidy_percent, p.gpu_rate)
            });
        let description = p
            .and_then(|p| p.description.clone())
            .unwrap_or_else(|| partition.clone());
        let su_seconds = g.cpu_seconds * mult;
        let list = (su_seconds * cfg.su_rate + g.gpu_seconds * gpu_rate) / hour;
        let billed = list * (Decimal::ONE_HUNDRED - subsidy) / Decimal::ONE_HUNDRED;
        cpu_total += g.cpu_seconds;
        su_total += su_seconds;
        gpu_total += g.gpu_seconds;
        let mapped = cfg.accounts.get(&account);
        let tags = match mapped {
            Some(a) => Tags::core(&a.pi_email, &a.project_id, &a.fund_org),
            None => Tags::core("", &account, ""),
        };
        let meta = json!({
            "account": account, "partition": partition, "jobCount": g.jobs,
            "cpuSeconds": exact_text(g.cpu_seconds), "suSeconds": exact_text(su_seconds),
            "gpuSeconds": exact_text(g.gpu_seconds),
            "serviceUnits": fmt2(su_seconds / hour), "cpuHours": fmt2(g.cpu_seconds / hour),
            "gpuHours": fmt2(g.gpu_seconds / hour), "suMultiplier": exact_text(mult),
            "suRate": exact_text(cfg.su_rate), "gpuRate": exact_text(gpu_rate),
            "subsidyPercent": exact_text(subsidy),
        });
        let row = FocusLiteRow::new(
            ctx.period,
            resource_id("slurm", &[&account, &partition]),
            format!("{account} ({partition})"),
            format!("{} - {description}", cfg.service_name),
            list,
            billed,
            tags,
        )
        .with_meta(meta.as_object().cloned().unwrap_or_default());
        let row = if mapped.is_some() {
            Some(row)
        } else {
            b.unmapped(
                &account,
                "account_not_mapped",
                row,
                g.jobs,
                format!("account '{account}' is not in accounts"),
            )
        };
        if let Some(row) = row {
            conv.items_charged += g.jobs;
            conv.rows.push(row);
        }
    }
    conv.audit_extras = vec![
        ("jobsRead".into(), AuditValue::n(conv.items_read)),
        ("jobsExcluded".into(), AuditValue::n(excluded)),
        ("jobsNotBillableState".into(), AuditValue::n(not_billable)),
        ("jobsEndedOutsidePeriod".into(), AuditValue::n(outside)),
        (
            "unknownPartitions".into(),
            AuditValue::n(unknown.len() as u64),
        ),
        ("cpuHours".into(), AuditValue::d2(cpu_total / hour)),
        ("serviceUnits".into(), AuditValue::d2(su_total / hour)),
        ("gpuHours".into(), AuditValue::d2(gpu_total / hour)),
        ("sacctCommand".into(), AuditValue::s(sacct_command)),
    ];
    conv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("10:00:00", Some(36000))]
    #[case("2:00:00", Some(7200))]
    #[case("45:30", Some(2730))]
    #[case("1-02:30:00", Some(95400))]
    #[case("123-00:00:01", Some(123 * 86400 + 1))]
    #[case("00:60:00", None)]
    #[case("INVALID", None)]
    #[case("UNLIMITED", None)]
    #[case("", None)]
    #[case("1-2:00:00", None)]
    #[case("5", None)]
    fn elapsed_forms(#[case] s: &str, #[case] want: Option<u64>) {
        assert_eq!(parse_elapsed(s), want);
    }

    #[rstest]
    #[case("gpu:2", 2)]
    #[case("gpu:a100:4", 4)]
    #[case("gpu:a100:2(IDX:0-1)", 2)]
    #[case("gpu:2(IDX:0,2),mps:100", 2)]
    #[case("billing=8,cpu=8,gres/gpu:a100=2,gres/gpu=2,mem=64G,node=1", 2)]
    #[case("gres/gpu:a100=1,gres/gpu:v100=2", 3)]
    #[case("cpu=4,mem=16G", 0)]
    #[case("", 0)]
    #[case("N/A", 0)]
    fn gpu_counts(#[case] s: &str, #[case] want: u64) {
        assert_eq!(parse_gpus(s), Ok(want));
    }

    #[test]
    fn truncated_and_bad_lines_are_invalid_records() {
        let recs = parse_slurm_input("1|a|p|4|10:00|COMPLETED\n2|a|p\n3|a|p|x|10:00|COMPLETED\n1|a|p|1|10:00|COMPLETED\n4|a|p|1|INVALID|COMPLETED|\n")
            .expect("parse");
        let codes: Vec<&str> = recs
            .iter()
            .filter_map(|r| match r {
                SacctRecord::Invalid { code, .. } => Some(*code),
                _ => None,
            })
            .collect();
        assert_eq!(
            codes,
            [
                "bad_field_count",
                "bad_alloc_cpus",
                "duplicate_job",
                "bad_elapsed"
            ]
        );
    }

    #[test]
    fn header_missing_required_column_is_an_input_error() {
        assert!(parse_slurm_input("JobID|Account|Partition\n1|a|p\n").is_err());
    }
}
