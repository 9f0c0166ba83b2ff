//! Statement figures from billing lines (SPEC §8.2): a statement service row is the sum of its
//! billing lines (one per source and account), a fund/org subtotal the sum of its service rows,
//! the statement total the sum of the subtotals; list totals likewise; discounts are list −
//! amount of the already-rounded figures. Several fund/orgs of one project stay separate groups.

use crate::billing::{BillingLine, NO_PROJECT};
use crate::exact::ExactSum;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Rounded (presented) and exact figures of a row, group or statement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Σ of rounded line list prices.
    pub list: Decimal,
    /// Σ of rounded line amounts.
    pub amount: Decimal,
    /// Exact Σ of list prices (ListCost, else BilledCost).
    pub list_exact: ExactSum,
    /// Exact Σ of BilledCost.
    pub amount_exact: ExactSum,
}

impl Figures {
    fn add_line(&mut self, line: &BillingLine) {
        self.list += line.list;
        self.amount += line.amount;
        self.list_exact += line.list_exact;
        self.amount_exact += line.amount_exact;
    }

    fn add(&mut self, other: &Figures) {
        self.list += other.list;
        self.amount += other.amount;
        self.list_exact += other.list_exact;
        self.amount_exact += other.amount_exact;
    }

    /// List − amount of the rounded figures.
    pub fn discount(&self) -> Decimal {
        self.list - self.amount
    }

    /// Exact list − exact amount.
    pub fn discount_exact(&self) -> ExactSum {
        self.list_exact - self.amount_exact
    }

    /// Discount percent of the rounded figures, `None` when the list is 0.
    pub fn discount_percent(&self) -> Option<Decimal> {
        super::discount_percent(self.discount(), self.list)
    }

    /// A row whose whole list price is subsidised (amount 0, list > 0).
    pub fn fully_subsidised(&self) -> bool {
        self.amount.is_zero() && self.list > Decimal::ZERO
    }
}

/// One service of a fund/org group (or of the whole statement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    /// Service name (`Other` when null).
    pub service: String,
    /// Figures.
    pub figures: Figures,
}

/// The charges of one fund/org within a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundGroup {
    /// Fund/org (`None` = none).
    pub fund_org: Option<String>,
    /// Service rows ordered by service name.
    pub services: Vec<ServiceRow>,
    /// Σ of the service rows.
    pub subtotal: Figures,
}

/// The figures of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFigures {
    /// PI email (lower-case).
    pub pi_email: String,
    /// Project label (`(no project)` when the charges have none).
    pub project: String,
    /// Fund/org groups ordered by fund/org (none first).
    pub groups: Vec<FundGroup>,
    /// Σ of the group subtotals.
    pub totals: Figures,
    /// Ids of the statement's charges, ascending.
    pub charge_ids: Vec<i64>,
}

impl StatementFigures {
    /// Distinct fund/orgs for display (`N/A` for none).
    pub fn fund_orgs(&self) -> Vec<String> {
        self.groups
            .iter()
            .map(|g| g.fund_org.clone().unwrap_or_else(|| "N/A".into()))
            .collect()
    }

    /// Service rows aggregated over all fund/org groups, ordered by service.
    pub fn services(&self) -> Vec<ServiceRow> {
        let mut by_service: BTreeMap<&str, Figures> = BTreeMap::new();
        for row in self.groups.iter().flat_map(|g| &g.services) {
            by_service
                .entry(&row.service)
                .or_default()
                .add(&row.figures);
        }
        by_service
            .into_iter()
            .map(|(service, figures)| ServiceRow {
                service: service.to_string(),
                figures,
            })
            .collect()
    }
}

type Groups<'a> = BTreeMap<Option<&'a str>, BTreeMap<&'a str, Figures>>;

/// Builds every statement of a period from its billing lines, ordered by (PI, project). Lines
/// without a PI cannot become a statement (no recipient); they are returned separately so the
/// caller can report them (approval requires a PI, so this is a safety net).
pub fn statements_from_lines(lines: &[BillingLine]) -> (Vec<StatementFigures>, Vec<&BillingLine>) {
    let mut orphans = Vec::new();
    let mut by_statement: BTreeMap<(&str, &str), (Groups<'_>, Vec<i64>)> = BTreeMap::new();
    for line in lines {
        let Some(pi) = line.pi_email.as_deref() else {
            orphans.push(line);
            continue;
        };
        let project = line.project_id.as_deref().unwrap_or(NO_PROJECT);
        let (groups, ids) = by_statement.entry((pi, project)).or_default();
        groups
            .entry(line.fund_org.as_deref())
            .or_default()
            .entry(line.service.as_str())
            .or_default()
            .add_line(line);
        ids.extend_from_slice(&line.charge_ids);
    }
    let statements = by_statement
        .into_iter()
        .map(|((pi, project), (groups, mut charge_ids))| {
            charge_ids.sort_unstable();
            let groups: Vec<FundGroup> = groups
                .into_iter()
                .map(|(fund_org, services)| {
                    let services: Vec<ServiceRow> = services
                        .into_iter()
                        .map(|(service, figures)| ServiceRow {
                            service: service.to_string(),
                            figures,
                        })
                        .collect();
                    let mut subtotal = Figures::default();
                    services.iter().for_each(|s| subtotal.add(&s.figures));
                    FundGroup {
                        fund_org: fund_org.map(str::to_string),
                        services,
                        subtotal,
                    }
                })
                .collect();
            let mut totals = Figures::default();
            groups.iter().for_each(|g| totals.add(&g.subtotal));
            StatementFigures {
                pi_email: pi.to_string(),
                project: project.to_string(),
                groups,
                totals,
                charge_ids,
            }
        })
        .collect();
    (statements, orphans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::Rounding;
    use crate::billing::{billing_lines, AccountRules, BillableCharge};
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    fn c(
        id: i64,
        src: &str,
        project: Option<&str>,
        fund: Option<&str>,
        svc: &str,
        billed: &str,
        list: Option<&str>,
    ) -> BillableCharge {
        BillableCharge {
            id,
            source: src.into(),
            pi_email: Some("pi@example.edu".into()),
            project_id: project.map(Into::into),
            fund_org: fund.map(Into::into),
            service_name: Some(svc.into()),
            billed_cost: d(billed),
            list_cost: list.map(d),
            ..Default::default()
        }
    }

    #[test]
    fn several_fund_orgs_stay_apart_and_totals_are_sums_of_rounded_rows() {
        let charges = vec![
            c(1, "AWS", Some("p"), Some("F-B"), "EC2", "0.335", Some("1")),
            c(2, "AWS", Some("p"), Some("F-B"), "EC2", "0.335", Some("1")),
            c(3, "AWS", Some("p"), Some("F-B"), "EC2", "0.335", None),
            c(
                4,
                "HPC",
                Some("p"),
                Some("F-B"),
                "EC2",
                "2.665",
                Some("2.665"),
            ),
            c(
                5,
                "HPC",
                Some("p"),
                Some("F-A"),
                "Cluster",
                "0",
                Some("800"),
            ),
            c(6, "HPC", None, None, "Cluster", "1", None),
        ];
        let lines = billing_lines(&charges, &AccountRules::default(), Rounding::HalfEven);
        let (stmts, orphans) = statements_from_lines(&lines);
        assert!(orphans.is_empty());
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0].project, "(no project)");
        let s = &stmts[1];
        assert_eq!(s.fund_orgs(), vec!["F-A", "F-B"]);
        assert_eq!(s.groups[0].subtotal.amount, d("0.00"));
        assert!(s.groups[0].services[0].figures.fully_subsidised());
        // EC2 in F-B: AWS line 1.005 -> 1.00 (list 2.335 -> 2.34), HPC line 2.665 -> 2.66.
        let ec2 = &s.groups[1].services[0];
        assert_eq!(ec2.figures.amount, d("3.66"));
        assert_eq!(ec2.figures.list, d("5.00"));
        assert_eq!(ec2.figures.amount_exact, d("3.670"));
        assert_eq!(s.totals.amount, d("3.66"));
        assert_eq!(s.totals.list, d("805.00"));
        assert_eq!(s.totals.discount(), d("801.34"));
        assert_eq!(s.charge_ids, vec![1, 2, 3, 4, 5]);
        let services = s.services();
        assert_eq!(services.len(), 2);
        assert_eq!(services[0].service, "Cluster");
    }

    #[test]
    fn lines_without_pi_are_reported_not_billed() {
        let mut x = c(1, "AWS", Some("p"), None, "S3", "1", None);
        x.pi_email = None;
        let lines = billing_lines(&[x], &AccountRules::default(), Rounding::HalfEven);
        let (stmts, orphans) = statements_from_lines(&lines);
        assert!(stmts.is_empty());
        assert_eq!(orphans.len(), 1);
    }
}
