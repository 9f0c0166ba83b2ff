//! `openai`: ChatGPT Edu credit usage with credit pools and subsidies (INTEGRATIONS.md §2.5).
//!
//! Each (date, e-mail, usage type) item costs `r2(credits × purchase_amount / credits_purchased)`
//! of the pool in force on its date; a subsidy rule may cover part of it (caps or tiers per
//! scope and period), tracked across months in the [`Ledger`]. Items are processed in
//! (date, e-mail, usage type) order so a re-export in another order splits the same way.

use crate::audit::AuditValue;
use crate::config::{CiMap, Obj};
use crate::error::{ConvertError, Result};
use crate::kind::{ConvertContext, Kind};
use crate::money::{amount_cell, exact_text, fmt2, r2};
use crate::openai_ledger::{parse_month_day, tiered_subsidy};
pub use crate::openai_ledger::{Consumption, ConsumptionKey, Ledger, MonthEntry, SubsidyPeriod};
use crate::report::{Conversion, Warning};
use crate::row::{resource_id, FocusLiteRow, Tags};
use chrono::NaiveDate;
use ocb_core::period::Period;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// One line of the usage export.
#[derive(Debug, Clone, PartialEq)]
pub enum UsageLine {
    /// A readable line.
    Usage {
        /// Line number (header = 1).
        line: u64,
        /// Usage date.
        date: NaiveDate,
        /// Trimmed, lower-cased e-mail.
        email: String,
        /// `usage_type`.
        usage_type: String,
        /// Credits (may be negative).
        credits: Decimal,
    },
    /// A line that cannot be read.
    Invalid {
        /// Line.
        line: u64,
        /// Code.
        code: &'static str,
        /// Message.
        message: String,
    },
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    if let Some((m, rest)) = t.split_once('/') {
        let (d, y) = rest.split_once('/')?;
        if m.is_empty() || m.len() > 2 || d.is_empty() || d.len() > 2 || y.len() != 4 {
            return None;
        }
        return NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .filter(|_| t.len() == 10)
}

/// Parses the Edu admin usage CSV (UTF-8 with or without BOM, CRLF or LF).
pub fn parse_openai_input(bytes: &[u8]) -> Result<Vec<UsageLine>> {
    let text = crate::text::decode(bytes, "usage export", false).map_err(ConvertError::Input)?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| ConvertError::input(format!("usage export: {e}")))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let mut idx = [0usize; 4];
    for (i, name) in ["date_partition", "email", "usage_type", "usage_credits"]
        .iter()
        .enumerate()
    {
        idx[i] = col(name).ok_or_else(|| {
            ConvertError::input(format!("usage export: missing required column {name}"))
        })?;
    }
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.push(UsageLine::Invalid {
                    line,
                    code: "malformed_line",
                    message: format!("line {line}: {e}"),
                });
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |i: usize| rec.get(idx[i]).unwrap_or("").trim();
        let Some(date) = parse_date(get(0)) else {
            out.push(UsageLine::Invalid {
                line,
                code: "bad_date",
                message: format!(
                    "line {line}: date_partition '{}' is not M/D/YYYY or YYYY-MM-DD",
                    get(0)
                ),
            });
            continue;
        };
        // Credits are bounded like amounts: they are multiplied by the pool's price and summed.
        let credits =
            amount_cell(get(3)).and_then(|c| c.ok_or_else(|| "'' is not a number".to_string()));
        let credits = match credits {
            Ok(c) => c,
            Err(reason) => {
                out.push(UsageLine::Invalid {
                    line,
                    code: "bad_credits",
                    message: format!("line {line}: usage_credits {reason}"),
                });
                continue;
            }
        };
        if get(1).is_empty() || get(2).is_empty() {
            out.push(UsageLine::Invalid {
                line,
                code: "missing_field",
                message: format!("line {line}: email and usage_type are required"),
            });
            continue;
        }
        out.push(UsageLine::Usage {
            line,
            date,
            email: get(1).to_lowercase(),
            usage_type: get(2).to_string(),
            credits,
        });
    }
    Ok(out)
}

/// A credit pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// Id.
    pub pool_id: String,
    /// In force from.
    pub effective: NaiveDate,
    /// Credits bought.
    pub credits: Decimal,
    /// Money paid.
    pub amount: Decimal,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Id.
    pub project_id: String,
    /// PI.
    pub pi_email: String,
    /// Fund/org.
    pub fund_org: String,
}

/// A subsidy rule kind.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleType {
    /// A cap per scope and period; the scope prefix (`project`, `user`, `pi`, `global`).
    Cap(&'static str, Decimal),
    /// Tiers `(up_to, percent)` and the scope prefix.
    Tiered(&'static str, Vec<(Option<Decimal>, Decimal)>),
}

/// A subsidy rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// Fund/org charged by subsidy rows.
    pub fund_org: String,
    /// Cap or tiers.
    pub kind: RuleType,
    /// Period.
    pub period: SubsidyPeriod,
    /// Services (case-insensitive).
    pub services: CiMap<()>,
    /// Eligible projects; `None` = all.
    pub projects: Option<CiMap<()>>,
    /// Enabled.
    pub enabled: bool,
}

/// `pricing.json` + `projects.json` + `subsidies.json`.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Pools by effective date.
    pub pools: BTreeMap<NaiveDate, Pool>,
    /// Users (lower-cased e-mail) → project.
    pub users: BTreeMap<String, Project>,
    /// Rules in file order.
    pub rules: Vec<Rule>,
    /// Ledger path (audit).
    pub ledger_path: String,
    /// `currency` of pricing.json: the BillingCurrency of every row (default USD).
    pub currency: String,
}

fn scope(s: &str, path: &str) -> Result<&'static str> {
    Ok(match s {
        "project" => "project",
        "user" => "user",
        "pi" => "pi",
        "global" => "global",
        other => {
            return Err(ConvertError::config(format!(
                "'{path}' must be project, user, pi or global, found '{other}'"
            )))
        }
    })
}

fn rule(i: usize, v: &Value, warnings: &mut Vec<Warning>) -> Result<Rule> {
    let path = format!("subsidies[{i}]");
    let Value::Object(m) = v else {
        return Err(ConvertError::config(format!("'{path}' must be an object")));
    };
    let o = Obj::new(m, &path);
    o.unknown(
        &[
            "name",
            "description",
            "fund_org",
            "type",
            "cap_amount",
            "tiers",
            "scope",
            "period",
            "fiscal_year_start",
            "applies_to_services",
            "eligible_projects",
            "enabled",
        ],
        warnings,
    );
    let req = |k: &str| {
        o.str(k)?
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ConvertError::config(format!("'{path}.{k}' is required")))
    };
    let name = req("name")?;
    let ty = req("type")?;
    let kind = if ty == "tiered" {
        let tiers = o.arr("tiers")?.ok_or_else(|| {
            ConvertError::config(format!("'{path}.tiers' is required for type tiered"))
        })?;
        let mut out: Vec<(Option<Decimal>, Decimal)> = Vec::new();
        for (j, t) in tiers.iter().enumerate() {
            let tp = format!("{path}.tiers[{j}]");
            let Value::Object(tm) = t else {
                return Err(ConvertError::config(format!("'{tp}' must be an object")));
            };
            let to = Obj::new(tm, &tp);
            let up_to = to.non_negative("up_to")?;
            let pct = to
                .percent("percent")?
                .ok_or_else(|| ConvertError::config(format!("'{tp}.percent' is required")))?;
            if let (Some(u), Some((Some(prev), _))) = (up_to, out.last()) {
                if u <= *prev {
                    return Err(ConvertError::config(format!(
                        "'{tp}.up_to' must be greater than the previous tier's"
                    )));
                }
            }
            if matches!(out.last(), Some((None, _))) {
                return Err(ConvertError::config(format!(
                    "'{tp}': only the last tier may have up_to null"
                )));
            }
            out.push((up_to, pct));
        }
        if !matches!(out.last(), Some((None, _))) {
            return Err(ConvertError::config(format!(
                "'{path}.tiers': the last tier must have up_to null"
            )));
        }
        RuleType::Tiered(
            scope(
                &o.str("scope")?.unwrap_or_else(|| "project".into()),
                &format!("{path}.scope"),
            )?,
            out,
        )
    } else {
        let prefix = match ty.as_str() {
            "per_project_cap" => "project",
            "per_user_cap" => "user",
            "per_pi_cap" => "pi",
            "global_cap" => "global",
            other => return Err(ConvertError::config(format!("'{path}.type' must be per_project_cap, per_user_cap, per_pi_cap, global_cap or tiered, found '{other}'"))),
        };
        RuleType::Cap(
            prefix,
            o.non_negative("cap_amount")?.ok_or_else(|| {
                ConvertError::config(format!("'{path}.cap_amount' is required for {ty}"))
            })?,
        )
    };
    let fy = o
        .str("fiscal_year_start")?
        .unwrap_or_else(|| "07-01".into());
    let (fm, fd) = parse_month_day(&fy).ok_or_else(|| {
        ConvertError::config(format!(
            "'{path}.fiscal_year_start' must be MM-DD, found '{fy}'"
        ))
    })?;
    let period = match req("period")?.as_str() {
        "fiscal_year" => SubsidyPeriod::FiscalYear(fm, fd),
        "calendar_year" => SubsidyPeriod::CalendarYear,
        "month" => SubsidyPeriod::Month,
        "week" => SubsidyPeriod::Week,
        other => {
            return Err(ConvertError::config(format!(
            "'{path}.period' must be fiscal_year, calendar_year, month or week, found '{other}'"
        )))
        }
    };
    let services = o
        .str_list("applies_to_services")?
        .unwrap_or_else(|| vec!["OpenAI".into()]);
    let projects = o
        .str_list("eligible_projects")?
        .unwrap_or_else(|| vec!["*".into()]);
    Ok(Rule {
        name,
        fund_org: req("fund_org")?,
        kind,
        period,
        services: crate::config::ci_set(&format!("{path}.applies_to_services"), &services)?,
        projects: if projects.iter().any(|p| p == "*") {
            None
        } else {
            Some(crate::config::ci_set(
                &format!("{path}.eligible_projects"),
                &projects,
            )?)
        },
        enabled: o.bool("enabled")?.unwrap_or(true),
    })
}

impl OpenAiConfig {
    /// Builds the config from the merged JSON.
    pub fn from_merged_json(map: &Map<String, Value>, warnings: &mut Vec<Warning>) -> Result<Self> {
        let top = Obj::new(map, "");
        top.unknown(
            &["currency", "credit_pools", "projects", "subsidies"],
            warnings,
        );
        let mut pools = BTreeMap::new();
        for (i, p) in top
            .arr("credit_pools")?
            .ok_or_else(|| ConvertError::config("'credit_pools' is required (pricing.json)"))?
            .iter()
            .enumerate()
        {
            let path = format!("credit_pools[{i}]");
            let Value::Object(m) = p else {
                return Err(ConvertError::config(format!("'{path}' must be an object")));
            };
            let o = Obj::new(m, &path);
            o.unknown(
                &[
                    "pool_id",
                    "effective_date",
                    "credits_purchased",
                    "purchase_amount",
                    "description",
                ],
                warnings,
            );
            let date_text = o.str("effective_date")?.unwrap_or_default();
            let effective = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d").map_err(|_| {
                ConvertError::config(format!("'{path}.effective_date' must be YYYY-MM-DD"))
            })?;
            let credits = o
                .non_negative("credits_purchased")?
                .filter(|c| !c.is_zero())
                .ok_or_else(|| {
                    ConvertError::config(format!(
                        "'{path}.credits_purchased' must be a positive number"
                    ))
                })?;
            let amount = o.non_negative("purchase_amount")?.ok_or_else(|| {
                ConvertError::config(format!("'{path}.purchase_amount' is required"))
            })?;
            let pool = Pool {
                pool_id: o
                    .str("pool_id")?
                    .unwrap_or_else(|| format!("pool-{}", i + 1)),
                effective,
                credits,
                amount,
            };
            if pools.insert(effective, pool).is_some() {
                return Err(ConvertError::config(format!(
                    "two credit pools take effect on {effective}"
                )));
            }
        }
        let mut users: BTreeMap<String, Project> = BTreeMap::new();
        for (i, p) in top
            .arr("projects")?
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let path = format!("projects[{i}]");
            let Value::Object(m) = p else {
                return Err(ConvertError::config(format!("'{path}' must be an object")));
            };
            let o = Obj::new(m, &path);
            o.unknown(
                &[
                    "project_id",
                    "pi_email",
                    "fund_org",
                    "users",
                    "description",
                    "name",
                ],
                warnings,
            );
            let project = Project {
                project_id: o.str("project_id")?.unwrap_or_default(),
                pi_email: o.str("pi_email")?.unwrap_or_default().trim().to_lowercase(),
                fund_org: o.str("fund_org")?.unwrap_or_default(),
            };
            for (j, u) in o
                .arr("users")?
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let email = u
                    .get("email")
                    .and_then(Value::as_str)
                    .map(|e| e.trim().to_lowercase())
                    .filter(|e| !e.is_empty())
                    .ok_or_else(|| {
                        ConvertError::config(format!("'{path}.users[{j}].email' is required"))
                    })?;
                if let Some(prev) = users.insert(email.clone(), project.clone()) {
                    return Err(ConvertError::config(format!(
                        "user {email} is listed in projects '{}' and '{}'",
                        prev.project_id, project.project_id
                    )));
                }
            }
        }
        let mut rules: Vec<Rule> = Vec::new();
        for (i, v) in top
            .arr("subsidies")?
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let r = rule(i, v, warnings)?;
            if rules.iter().any(|o| o.name.eq_ignore_ascii_case(&r.name)) {
                return Err(ConvertError::config(format!(
                    "subsidy name '{}' is used twice",
                    r.name
                )));
            }
            rules.push(r);
        }
        let currency = match top.str("currency")? {
            None => "USD".to_string(),
            Some(c) => crate::row::currency_code(&c).ok_or_else(|| {
                ConvertError::config(format!(
                    "'currency' must be an ISO 4217 code such as USD, found '{c}'"
                ))
            })?,
        };
        Ok(Self {
            pools,
            users,
            rules,
            ledger_path: String::new(),
            currency,
        })
    }

    fn pool(&self, d: NaiveDate) -> Option<&Pool> {
        self.pools.range(..=d).next_back().map(|(_, p)| p)
    }

    fn rule_for(&self, project: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            r.enabled
                && r.services.contains("OpenAI")
                && r.projects.as_ref().is_none_or(|p| p.contains(project))
        })
    }
}

/// An aggregated item.
struct Item {
    lines: Vec<u64>,
    credits: Decimal,
}

fn scope_key(prefix: &str, p: &Project, email: &str) -> String {
    match prefix {
        "project" => format!("project:{}", p.project_id),
        "user" => format!("user:{email}"),
        "pi" => format!("pi:{}", p.pi_email),
        _ => "global".into(),
    }
}

/// Result of a run: the conversion and the ledger to write.
pub struct OpenAiOutcome {
    /// Rows, report, audit.
    pub conversion: Conversion,
    /// The updated ledger.
    pub ledger: Ledger,
    /// `create`, `update` or `unchanged`.
    pub action: &'static str,
}

/// Converts usage for `ctx.period` against `ledger`; `input_sha256` is recorded in the ledger.
pub fn convert(
    lines: &[UsageLine],
    cfg: &OpenAiConfig,
    ledger: &Ledger,
    ctx: &ConvertContext,
    input_sha256: &str,
) -> Result<OpenAiOutcome> {
    let mut conv = Conversion::new(Kind::OpenAi, &ctx.source, ctx.period, ctx.skip_invalid);
    let mut items: BTreeMap<(NaiveDate, String, String), Item> = BTreeMap::new();
    for l in lines {
        match l {
            UsageLine::Invalid {
                line,
                code,
                message,
            } => {
                conv.items_read += 1;
                conv.buckets
                    .invalid(&format!("line {line}"), Some(*line), code, message.clone());
            }
            UsageLine::Usage {
                line,
                date,
                email,
                usage_type,
                credits,
            } => {
                let it = items
                    .entry((*date, email.clone(), usage_type.clone()))
                    .or_insert(Item {
                        lines: Vec::new(),
                        credits: Decimal::ZERO,
                    });
                it.lines.push(*line);
                it.credits += *credits;
            }
        }
    }
    let month = ctx.period;
    let mut run: BTreeMap<ConsumptionKey, Consumption> = BTreeMap::new();
    let (mut usage_rows, mut subsidy_rows, mut subsidized_total, mut in_period) =
        (0u64, 0u64, Decimal::ZERO, 0u64);
    for ((date, email, usage_type), item) in &items {
        conv.items_read += 1;
        let b = &mut conv.buckets;
        let key_text = format!("{date} {email} {usage_type}");
        if item.lines.len() > 1 {
            b.warn(
                Some(&key_text),
                "duplicate_key_aggregated",
                format!(
                    "lines {:?} share date, email and usage_type; summed",
                    item.lines
                ),
            );
        }
        if Period::of_date(*date) != month {
            b.skip(
                &Period::of_date(*date).to_string(),
                "outside_period",
                format!("usage dated {date}"),
            );
            continue;
        }
        in_period += 1;
        let Some(pool) = cfg.pool(*date) else {
            b.invalid(
                &key_text,
                item.lines.first().copied(),
                "no_credit_pool",
                format!("no credit pool takes effect on or before {date}"),
            );
            continue;
        };
        let unit = pool.amount / pool.credits;
        let Some(cost) = (item.credits.checked_mul(pool.amount))
            .and_then(|x| x.checked_div(pool.credits))
            .filter(|c| ocb_core::amount::in_range(*c))
        else {
            b.invalid(
                &key_text,
                item.lines.first().copied(),
                "bad_credits",
                format!(
                    "{} credits at {} per {} credits is {}",
                    exact_text(item.credits),
                    pool.amount,
                    pool.credits,
                    ocb_core::amount::AmountError::Range
                ),
            );
            continue;
        };
        let cost = r2(cost);
        let project = cfg.users.get(email);
        let rule = project.and_then(|p| cfg.rule_for(&p.project_id));
        let mut s = Decimal::ZERO;
        let mut applied: Option<(&Rule, String, String)> = None;
        if let (Some(p), Some(r)) = (project, rule) {
            if cost <= Decimal::ZERO {
                b.warn(
                    Some(&key_text),
                    "non_positive_cost",
                    format!("cost {} is not positive: no subsidy", fmt2(cost)),
                );
            } else {
                let scope = match &r.kind {
                    RuleType::Cap(prefix, _) | RuleType::Tiered(prefix, _) => {
                        scope_key(prefix, p, email)
                    }
                };
                let pk = r.period.key(*date);
                let key = (r.name.clone(), scope.clone(), pk.clone());
                let earlier = ledger.earlier(month, &key);
                let now = run.entry(key).or_default();
                s = match &r.kind {
                    RuleType::Cap(_, cap) => {
                        cost.min((*cap - earlier.subsidized - now.subsidized).max(Decimal::ZERO))
                    }
                    RuleType::Tiered(_, tiers) => {
                        tiered_subsidy(tiers, earlier.usage + now.usage, cost)
                    }
                };
                now.usage += cost;
                now.subsidized += s;
                applied = Some((r, scope, pk));
            }
        }
        let (pi, proj, fund) = project.map_or(("", "", ""), |p| {
            (
                p.pi_email.as_str(),
                p.project_id.as_str(),
                p.fund_org.as_str(),
            )
        });
        let name = format!("OpenAI {usage_type} (user: {email})");
        let day = date.to_string();
        let rid = |suffix: &str| resource_id("openai", &[usage_type, email, &day, suffix]);
        let tags = |fund: &str, charge: &str| {
            let t = Tags::core(pi, proj, fund)
                .opt("usage_user", Some(email))
                .opt("charge_type", Some(charge));
            match (&applied, s > Decimal::ZERO) {
                (Some((r, _, pk)), true) => t
                    .opt("subsidy_name", Some(&r.name))
                    .opt("subsidy_period", Some(pk)),
                _ => t,
            }
        };
        let meta = json!({"inputLines": item.lines, "credits": exact_text(item.credits), "unitCost": exact_text(unit),
            "poolId": pool.pool_id, "subsidy": applied.as_ref().map(|a| a.0.name.clone()),
            "scope": applied.as_ref().map(|a| a.1.clone()), "periodKey": applied.as_ref().map(|a| a.2.clone()),
            "subsidized": fmt2(s)});
        let meta = meta.as_object().cloned().unwrap_or_default();
        let usage = FocusLiteRow::new(
            month,
            rid("usage"),
            name.clone(),
            "OpenAI".into(),
            cost,
            cost - s,
            tags(fund, "usage"),
        )
        .charge_period(*date, *date)
        .with_meta(meta.clone());
        let usage = match project {
            Some(_) => Some(usage),
            None => b.unmapped(
                email,
                "user_not_mapped",
                usage,
                1,
                format!("{email} is in no project ({date}, {usage_type})"),
            ),
        };
        let Some(usage) = usage else { continue };
        conv.items_charged += 1;
        usage_rows += 1;
        conv.rows.push(usage);
        if s > Decimal::ZERO {
            let (r, _, _) = applied.as_ref().expect("a subsidy implies a rule");
            subsidy_rows += 1;
            subsidized_total += s;
            conv.rows.push(
                FocusLiteRow::new(
                    month,
                    rid("subsidy"),
                    name,
                    "OpenAI".into(),
                    s,
                    s,
                    tags(&r.fund_org, "subsidy"),
                )
                .charge_period(*date, *date)
                .with_meta(meta),
            );
        }
    }
    // The ledger: replace this month's entry; warn when that changes what later months saw.
    let entry = MonthEntry {
        input_sha256: input_sha256.to_string(),
        rows: in_period,
        consumption: run,
    };
    let mut next = ledger.clone();
    let stored = ledger.months.get(&month);
    let action = match stored {
        None => "create",
        Some(old) if *old == entry => "unchanged",
        Some(_) => "update",
    };
    let mut stale = Vec::new();
    if let Some(old) = stored {
        if old.consumption != entry.consumption {
            let keys: Vec<&ConsumptionKey> = old
                .consumption
                .keys()
                .chain(entry.consumption.keys())
                .filter(|k| old.consumption.get(*k) != entry.consumption.get(*k))
                .collect();
            stale = ledger.later_with(month, &keys);
            if !stale.is_empty() {
                let list: Vec<String> = stale.iter().map(Period::to_string).collect();
                conv.buckets.warn(
                    None,
                    "later_months_stale",
                    format!(
                        "{month} changed consumption that later months used: re-run {} in order",
                        list.join(", ")
                    ),
                );
            }
        }
        if old.input_sha256 != entry.input_sha256 {
            conv.buckets.warn(
                None,
                "ledger_entry_replaced",
                format!("the ledger entry of {month} came from another input file and is replaced"),
            );
        }
    }
    next.months.insert(month, entry);
    let stale_text: Vec<String> = stale.iter().map(Period::to_string).collect();
    conv.kind_meta = Some(
        json!({"ledger": {"path": cfg.ledger_path, "action": action, "staleLaterMonths": stale_text}}),
    );
    conv.audit_extras = vec![
        ("usageRows".into(), AuditValue::n(usage_rows)),
        ("subsidyRows".into(), AuditValue::n(subsidy_rows)),
        ("subsidizedTotal".into(), AuditValue::d2(subsidized_total)),
        ("ledgerPath".into(), AuditValue::s(&cfg.ledger_path)),
        ("ledgerAction".into(), AuditValue::s(action)),
        (
            "staleLaterMonths".into(),
            AuditValue::s(stale_text.join(";")),
        ),
    ];
    for row in &mut conv.rows {
        row.focus.billing_currency.clone_from(&cfg.currency);
    }
    Ok(OpenAiOutcome {
        conversion: conv.finish()?,
        ledger: next,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1/5/2026"), NaiveDate::from_ymd_opt(2026, 1, 5));
        assert_eq!(
            parse_date("12/31/2025"),
            NaiveDate::from_ymd_opt(2025, 12, 31)
        );
        assert_eq!(
            parse_date("2026-01-05"),
            NaiveDate::from_ymd_opt(2026, 1, 5)
        );
        assert_eq!(parse_date("13/1/2026"), None);
        assert_eq!(parse_date("2026-1-5"), None);
    }
}
