//! The balanced GL algorithm shared by the `gl` and `template` formats (SPEC §10.6, §10.8).
//!
//! Billing lines are grouped by (fund/org, source, account); each group is one entry on its
//! fund/org (a debit, or a credit when negative), and each source gets one offset entry on its
//! credit fund/org for the net of its groups. Both sides are sums of the same rounded group
//! amounts, so the journal balances exactly by construction; it is still checked before writing.

use crate::description::{describe, DescriptionFields};
use crate::fund_org::{parse_fund_org, FundOrgParts};
use crate::JournalError;
use ocb_config::Config;
use ocb_core::billing::{AccountRules, BillingLine};
use ocb_core::exact::ExactSum;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Fund/org of charges that have none (SPEC §10.6 step 1).
pub const UNKNOWN_FUND_ORG: &str = "UNKNOWN";

/// Credit fund/org of sources without a configured one: the account the Python web UI's GL
/// export credited (`CLOUD-CLEARING`), re-exported from the config crate so `config check`
/// names the same account.
pub const CLEARING_FUND_ORG: &str = ocb_config::DEFAULT_CLEARING_FUND_ORG;

/// Which side an entry posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// Debit (listed first).
    Debit,
    /// Credit.
    Credit,
}

/// What produced an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A (fund/org, source, account) group of charges.
    Charge,
    /// A source's offset on its credit fund/org.
    Offset,
}

/// One GL entry.
#[derive(Debug, Clone, PartialEq)]
pub struct GlEntry {
    /// Debit or credit.
    pub side: Side,
    /// Charge group or source offset.
    pub kind: EntryKind,
    /// Fund/org posted to (`UNKNOWN` for charges without one).
    pub fund_org: String,
    /// Fields parsed from the fund/org.
    pub parts: FundOrgParts,
    /// Canonical source name.
    pub source: String,
    /// Display name of the source.
    pub source_display_name: String,
    /// Resolved GL account (may be empty).
    pub account: String,
    /// Rounded amount, never negative.
    pub amount: Decimal,
    /// Exact (unrounded) amount, never negative.
    pub amount_exact: ExactSum,
    /// Expanded description.
    pub description: String,
    /// `{period}-{NNNN}` in output order.
    pub reference_id: String,
    /// PI email shared by all charges of a group, else empty (offsets: empty).
    pub pi_email: String,
    /// Project shared by all charges of a group, else empty (offsets: empty).
    pub project_id: String,
    /// Billing lines behind the entry.
    pub line_count: usize,
    /// Charges behind the entry.
    pub charge_count: usize,
}

/// The entries and what the export should warn about.
#[derive(Debug, Clone, Default)]
pub struct GlJournal {
    /// Entries in output order.
    pub entries: Vec<GlEntry>,
    /// Σ debit amounts.
    pub debit_total: Decimal,
    /// Σ credit amounts.
    pub credit_total: Decimal,
    /// Warnings (sources credited to the clearing fund/org, empty accounts without
    /// `account_code_regex`).
    pub warnings: Vec<String>,
}

/// A value shared by every line of a group, or not.
#[derive(Debug, Clone, Default)]
enum Shared {
    #[default]
    Unset,
    One(Option<String>),
    Mixed,
}

impl Shared {
    fn add(&mut self, v: &Option<String>) {
        *self = match std::mem::take(self) {
            Shared::Unset => Shared::One(v.clone()),
            Shared::One(x) if &x == v => Shared::One(x),
            _ => Shared::Mixed,
        };
    }

    fn value(self) -> String {
        match self {
            Shared::One(Some(v)) => v,
            _ => String::new(),
        }
    }
}

#[derive(Default)]
struct Group {
    amount: Decimal,
    exact: ExactSum,
    pi: Shared,
    project: Shared,
    lines: usize,
    charges: usize,
}

#[derive(Default)]
struct SourceNet {
    amount: Decimal,
    exact: ExactSum,
    lines: usize,
    charges: usize,
}

/// The charge groups and per-source nets of a period's billing lines (SPEC §10.6 step 1).
#[derive(Default)]
struct Grouped<'l> {
    groups: BTreeMap<(&'l str, &'l str, &'l str), Group>,
    sources: BTreeMap<&'l str, SourceNet>,
}

fn group_lines(lines: &[BillingLine]) -> Grouped<'_> {
    let mut out = Grouped::default();
    for line in lines {
        let fund_org = line.fund_org.as_deref().unwrap_or(UNKNOWN_FUND_ORG);
        let g = out
            .groups
            .entry((fund_org, &line.source, &line.account))
            .or_default();
        g.amount += line.amount;
        g.exact += line.amount_exact;
        g.pi.add(&line.pi_email);
        g.project.add(&line.project_id);
        g.lines += 1;
        g.charges += line.charge_count();
        let s = out.sources.entry(&line.source).or_default();
        s.amount += line.amount;
        s.exact += line.amount_exact;
        s.lines += 1;
        s.charges += line.charge_count();
    }
    out
}

/// Builds the balanced GL journal of a period from its billing lines.
pub fn build_gl(
    lines: &[BillingLine],
    period: &str,
    config: &Config,
) -> Result<GlJournal, JournalError> {
    let grouped = group_lines(lines);
    let credits = CreditFundOrgs::resolve(config, grouped.sources.keys().copied());
    let mut entries = Vec::with_capacity(grouped.groups.len() + grouped.sources.len());
    for (key, g) in grouped.groups {
        entries.push(charge_entry(key, g, period, config));
    }
    for (source, net) in grouped.sources {
        entries.push(offset_entry(
            source,
            net,
            credits.of_source(source),
            period,
            config,
        ));
    }
    order_and_number(&mut entries, period);
    let mut warnings: Vec<String> = credits.warning().into_iter().collect();
    warnings.extend(check_accounts(&entries, config)?);
    let total = |side| -> Decimal {
        entries
            .iter()
            .filter(|e| e.side == side)
            .map(|e| e.amount)
            .sum()
    };
    let (debit_total, credit_total) = (total(Side::Debit), total(Side::Credit));
    // Both sides sum the same rounded group amounts, so this never fires; it is the last guard
    // before anything is written (SPEC §10.6 step 4).
    if debit_total != credit_total {
        return Err(JournalError::Unbalanced {
            debit: debit_total,
            credit: credit_total,
        });
    }
    Ok(GlJournal {
        entries,
        debit_total,
        credit_total,
        warnings,
    })
}

/// The entry of one (fund/org, source, account) group: a debit, or a credit when negative.
fn charge_entry(
    (fund_org, source, account): (&str, &str, &str),
    g: Group,
    period: &str,
    config: &Config,
) -> GlEntry {
    let j = &config.journal;
    let (pi_email, project_id) = (g.pi.value(), g.project.value());
    let description = describe(
        &j.debit_description,
        &DescriptionFields {
            source,
            period,
            fund_org,
            pi_email: &pi_email,
            project_id: &project_id,
        },
    );
    GlEntry {
        side: if is_negative(g.amount) {
            Side::Credit
        } else {
            Side::Debit
        },
        kind: EntryKind::Charge,
        fund_org: fund_org.to_string(),
        parts: parse_fund_org(fund_org, j.fund_org_pattern.as_ref()),
        source: source.to_string(),
        source_display_name: display_name(config, source),
        account: account.to_string(),
        amount: g.amount.abs(),
        amount_exact: g.exact.abs(),
        description,
        reference_id: String::new(),
        pi_email,
        project_id,
        line_count: g.lines,
        charge_count: g.charges,
    }
}

/// A source's offset on its credit fund/org: a credit of its net, or a debit when negative.
fn offset_entry(
    source: &str,
    net: SourceNet,
    fund_org: &str,
    period: &str,
    config: &Config,
) -> GlEntry {
    let j = &config.journal;
    let description = describe(
        &j.credit_description,
        &DescriptionFields {
            source,
            period,
            fund_org,
            pi_email: "",
            project_id: "",
        },
    );
    GlEntry {
        side: if is_negative(net.amount) {
            Side::Debit
        } else {
            Side::Credit
        },
        kind: EntryKind::Offset,
        fund_org: fund_org.to_string(),
        parts: parse_fund_org(fund_org, j.fund_org_pattern.as_ref()),
        source: source.to_string(),
        source_display_name: display_name(config, source),
        account: account_rules(config).offset_account(source).to_string(),
        amount: net.amount.abs(),
        amount_exact: net.exact.abs(),
        description,
        reference_id: String::new(),
        pi_email: String::new(),
        project_id: String::new(),
        line_count: net.lines,
        charge_count: net.charges,
    }
}

fn is_negative(d: Decimal) -> bool {
    d.is_sign_negative() && !d.is_zero()
}

/// SPEC §10.6 steps 5 and 6: debits then credits, each by fund/org, source, account; then
/// `{period}-{NNNN}` references in that order.
fn order_and_number(entries: &mut [GlEntry], period: &str) {
    entries.sort_by(|a, b| {
        (a.side, &a.fund_org, &a.source, &a.account, a.kind).cmp(&(
            b.side,
            &b.fund_org,
            &b.source,
            &b.account,
            b.kind,
        ))
    });
    for (i, e) in entries.iter_mut().enumerate() {
        e.reference_id = format!("{period}-{:04}", i + 1);
    }
}

fn account_rules(config: &Config) -> AccountRules {
    AccountRules::new(
        config
            .imports
            .known_sources
            .iter()
            .map(|s| (s.name.as_str(), s.account_code.as_str())),
        &config.journal.default_account,
    )
}

/// The credit fund/org of every source of a journal, and which sources fell back to
/// [`CLEARING_FUND_ORG`].
#[derive(Debug, Clone, Default)]
pub struct CreditFundOrgs {
    by_source: BTreeMap<String, String>,
    /// Sources credited to [`CLEARING_FUND_ORG`] because nothing was configured, by name.
    pub defaulted: Vec<String>,
}

impl CreditFundOrgs {
    /// Resolves each source: the known source's `fund_org`, else `journal.clearing_fund_org`,
    /// else [`CLEARING_FUND_ORG`] (issue 17: an unchanged upstream config must export, as the
    /// Python web UI's GL export did, instead of being refused).
    pub fn resolve<'s>(config: &Config, sources: impl Iterator<Item = &'s str>) -> Self {
        let mut out = Self::default();
        for source in sources {
            if out.by_source.contains_key(source) {
                continue;
            }
            let fund_org = match configured_credit(config, source) {
                Some(f) => f.to_string(),
                None => {
                    out.defaulted.push(source.to_string());
                    CLEARING_FUND_ORG.to_string()
                }
            };
            out.by_source.insert(source.to_string(), fund_org);
        }
        out.defaulted.sort();
        out
    }

    /// The credit fund/org of `source` (one of those given to [`CreditFundOrgs::resolve`]).
    pub fn of_source(&self, source: &str) -> &str {
        self.by_source
            .get(source)
            .map_or(CLEARING_FUND_ORG, String::as_str)
    }

    /// The export warning naming the sources credited to the clearing fund/org, if any.
    pub fn warning(&self) -> Option<String> {
        clearing_warning(&self.defaulted)
    }
}

/// `Sources 'A', 'B' have no credit fund/org: credited to CLOUD-CLEARING …` (also printed by
/// `config check` for the known sources; see `ocb_config`).
pub fn clearing_warning(sources: &[String]) -> Option<String> {
    let names = match sources {
        [] => return None,
        [one] => format!("Source '{one}' has"),
        many => format!(
            "Sources {} have",
            many.iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Some(format!(
        "{names} no credit fund/org: credited to {CLEARING_FUND_ORG} (set imports.known_sources[].fund_org or journal.clearing_fund_org)"
    ))
}

/// The configured credit fund/org of a source: its own, else `journal.clearing_fund_org`.
fn configured_credit<'a>(config: &'a Config, source: &str) -> Option<&'a str> {
    config
        .known_source(source)
        .map(|s| s.fund_org.as_str())
        .filter(|f| !f.is_empty())
        .or(Some(config.journal.clearing_fund_org.as_str()).filter(|f| !f.is_empty()))
}

fn display_name(config: &Config, source: &str) -> String {
    config
        .known_source(source)
        .map(|s| s.display_name.clone())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| source.to_string())
}

/// `journal.account_code_regex` (every account must fully match) or warnings for empty accounts.
fn check_accounts(entries: &[GlEntry], config: &Config) -> Result<Vec<String>, JournalError> {
    match &config.journal.account_code_pattern {
        Some(p) => {
            let bad: Vec<String> = entries
                .iter()
                .filter(|e| !p.regex().is_match(&e.account).unwrap_or(false))
                .map(|e| {
                    format!(
                        "account '{}' (fund/org {}, source {})",
                        e.account, e.fund_org, e.source
                    )
                })
                .collect();
            if bad.is_empty() {
                Ok(vec![])
            } else {
                Err(JournalError::InvalidAccounts {
                    pattern: config.journal.account_code_regex.clone(),
                    offending: bad,
                })
            }
        }
        None => Ok(entries
            .iter()
            .filter(|e| e.account.is_empty())
            .map(|e| {
                format!(
                    "{} has no GL account (fund/org {}, source {})",
                    e.reference_id, e.fund_org, e.source
                )
            })
            .collect()),
    }
}
