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
    /// Warnings (empty accounts without `account_code_regex`).
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

/// Builds the balanced GL journal of a period from its billing lines.
pub fn build_gl(
    lines: &[BillingLine],
    period: &str,
    config: &Config,
) -> Result<GlJournal, JournalError> {
    let j = &config.journal;
    let accounts = AccountRules::new(
        config
            .imports
            .known_sources
            .iter()
            .map(|s| (s.name.as_str(), s.account_code.as_str())),
        &j.default_account,
    );
    let mut groups: BTreeMap<(&str, &str, &str), Group> = BTreeMap::new();
    let mut sources: BTreeMap<&str, SourceNet> = BTreeMap::new();
    for line in lines {
        let fund_org = line.fund_org.as_deref().unwrap_or(UNKNOWN_FUND_ORG);
        let g = groups
            .entry((fund_org, &line.source, &line.account))
            .or_default();
        g.amount += line.amount;
        g.exact += line.amount_exact;
        g.pi.add(&line.pi_email);
        g.project.add(&line.project_id);
        g.lines += 1;
        g.charges += line.charge_count();
        let s = sources.entry(&line.source).or_default();
        s.amount += line.amount;
        s.exact += line.amount_exact;
        s.lines += 1;
        s.charges += line.charge_count();
    }
    let missing: Vec<&str> = sources
        .keys()
        .copied()
        .filter(|s| credit_fund_org(config, s).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(JournalError::NoCreditFundOrg(
            missing.iter().map(|s| s.to_string()).collect(),
        ));
    }
    let mut entries = Vec::with_capacity(groups.len() + sources.len());
    for ((fund_org, source, account), g) in groups {
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
        entries.push(GlEntry {
            side: if g.amount.is_sign_negative() && !g.amount.is_zero() {
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
        });
    }
    for (source, net) in sources {
        let fund_org = credit_fund_org(config, source).expect("checked above");
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
        entries.push(GlEntry {
            side: if net.amount.is_sign_negative() && !net.amount.is_zero() {
                Side::Debit
            } else {
                Side::Credit
            },
            kind: EntryKind::Offset,
            fund_org: fund_org.to_string(),
            parts: parse_fund_org(fund_org, j.fund_org_pattern.as_ref()),
            source: source.to_string(),
            source_display_name: display_name(config, source),
            account: accounts.offset_account(source).to_string(),
            amount: net.amount.abs(),
            amount_exact: net.exact.abs(),
            description,
            reference_id: String::new(),
            pi_email: String::new(),
            project_id: String::new(),
            line_count: net.lines,
            charge_count: net.charges,
        });
    }
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
    let warnings = check_accounts(&entries, config)?;
    let total = |side| -> Decimal {
        entries
            .iter()
            .filter(|e| e.side == side)
            .map(|e| e.amount)
            .sum()
    };
    let (debit_total, credit_total) = (total(Side::Debit), total(Side::Credit));
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

/// The credit fund/org of a source: its own, else `journal.clearing_fund_org`, else none.
fn credit_fund_org<'a>(config: &'a Config, source: &str) -> Option<&'a str> {
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
