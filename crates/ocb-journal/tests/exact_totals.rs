//! Issue 15: for any set of accepted rows, every total the product shows (period, PI, project,
//! fund/org, billing line, journal) equals the exact decimal sum, computed here independently
//! with big integers. Rows go through the real ingest into a store, as users' files do.

mod fixtures;

use fixtures::{accounts, config};
use num_bigint::BigInt;
use ocb_core::amount::Rounding;
use ocb_core::billing::billing_lines;
use ocb_ingest::{ingest, Database, IngestRequest, IngestSettings, NoProgress};
use ocb_journal::{build_gl, Side};
use ocb_store::{Actor, Store};
use proptest::prelude::*;
use std::collections::BTreeMap;

const SOURCES: [&str; 2] = ["AWS", "HPC"];
const PIS: [&str; 3] = ["ann@example.edu", "bob@example.edu", "cy@example.edu"];
const PROJECTS: [&str; 3] = ["genomics", "climate", "optics"];
const FUNDS: [&str; 3] = ["BIOLOGY-GRANTS", "PHYSICS-RESEARCH", "CHEM-LAB"];
const PERIOD: &str = "2025-01";

#[derive(Debug, Clone)]
struct Row {
    source: usize,
    pi: usize,
    project: usize,
    fund: usize,
    amount: String,
}

/// Any accepted amount: up to 14 integer digits (below 10^14) and up to 14 decimals, signed.
fn amount() -> impl Strategy<Value = String> {
    (any::<bool>(), 0u64..100_000_000_000_000, "[0-9]{0,14}").prop_map(|(neg, int, frac)| {
        let sign = if neg { "-" } else { "" };
        match frac.as_str() {
            "" => format!("{sign}{int}"),
            f => format!("{sign}{int}.{f}"),
        }
    })
}

fn row() -> impl Strategy<Value = Row> {
    (0..2usize, 0..3usize, 0..3usize, 0..3usize, amount()).prop_map(
        |(source, pi, project, fund, amount)| Row {
            source,
            pi,
            project,
            fund,
            amount,
        },
    )
}

/// Decimal text as an integer count of 10^-28.
fn units(text: &str) -> BigInt {
    let (neg, body) = text.strip_prefix('-').map_or((false, text), |b| (true, b));
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = format!("{int}{frac:0<28}");
    let v: BigInt = digits.parse().expect("digits");
    if neg {
        -v
    } else {
        v
    }
}

/// Half-even rounding of 10^-28 units to cents, as 10^-28 units.
fn cents(v: &BigInt) -> BigInt {
    let unit = BigInt::from(10u8).pow(26);
    let (neg, mag) = (
        v < &BigInt::from(0),
        if v < &BigInt::from(0) { -v } else { v.clone() },
    );
    let (mut q, r) = (&mag / &unit, &mag % &unit);
    let twice = &r * 2;
    if twice > unit || (twice == unit && &q % 2 == BigInt::from(1)) {
        q += 1;
    }
    let rounded = q * unit;
    if neg {
        -rounded
    } else {
        rounded
    }
}

fn write_file(dir: &std::path::Path, source: &str, rows: &[&Row]) -> std::path::PathBuf {
    let mut text = String::from("BillingPeriodStart,BilledCost,ResourceId,ServiceName,Tags\n");
    for (i, r) in rows.iter().enumerate() {
        text.push_str(&format!(
            "{PERIOD}-01,{},{source}-{i},Compute,\"{{\"\"pi_email\"\":\"\"{}\"\",\"\"project_id\"\":\"\"{}\"\",\"\"fund_org\"\":\"\"{}\"\"}}\"\n",
            r.amount, PIS[r.pi], PROJECTS[r.project], FUNDS[r.fund]
        ));
    }
    let path = dir.join(format!("{source}.csv"));
    std::fs::write(&path, text).expect("write");
    path
}

fn import(store: &mut Store, dir: &std::path::Path, rows: &[Row]) {
    let settings = IngestSettings {
        import_dir: dir.join("imports"),
        ..Default::default()
    };
    for (s, source) in SOURCES.iter().enumerate() {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.source == s).collect();
        if mine.is_empty() {
            continue;
        }
        let req = IngestRequest {
            path: write_file(dir, source, &mine),
            filename: None,
            source: source.to_string(),
            expected_period: None,
            mode: None,
            dry_run: false,
            skip_invalid: false,
            actor: Actor::cli("prop"),
        };
        let report =
            ingest(Database::Write(store), &settings, &req, &mut NoProgress).expect("runs");
        assert_eq!(report.status, "committed", "{report:?}");
        assert_eq!(report.totals.inserted, mine.len() as u64);
        assert_eq!(
            units(&report.totals.total_cost.to_string()),
            sum(mine.iter().copied())
        );
    }
}

fn sum<'a>(rows: impl Iterator<Item = &'a Row>) -> BigInt {
    rows.map(|r| units(&r.amount)).sum()
}

fn by<K: Ord>(rows: &[Row], key: impl Fn(&Row) -> K) -> BTreeMap<K, BigInt> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(key(r)).or_insert_with(|| BigInt::from(0)) += units(&r.amount);
    }
    out
}

/// Period, PI, project and fund/org totals of the store (SQL and the pages' in-memory index).
fn check_store_totals(store: &Store, rows: &[Row]) {
    let (n, total, billable_n, billable) = store.period_totals(PERIOD).expect("totals");
    assert_eq!((n as usize, billable_n as usize), (rows.len(), rows.len()));
    assert_eq!(units(&total.to_string()), sum(rows.iter()));
    assert_eq!(units(&billable.to_string()), sum(rows.iter()));
    for (pi, expected) in by(rows, |r| (r.pi, r.project, r.fund)) {
        let summary = store.pi_summary(PIS[pi.0], PERIOD).expect("pi summary");
        let found = summary
            .iter()
            .find(|s| s.project_id == PROJECTS[pi.1] && s.fund_org == FUNDS[pi.2])
            .expect("row of the PI's project and fund/org");
        assert_eq!(units(&found.billable.to_string()), expected);
    }
    let (projects, _) = store.project_list(PERIOD, 0, 100).expect("projects");
    for (p, expected) in by(rows, |r| r.project) {
        let found = projects
            .iter()
            .find(|x| x.project_id == PROJECTS[p])
            .expect("project");
        assert_eq!(units(&found.billable.to_string()), expected);
    }
    let index = store
        .build_browse_index(PERIOD)
        .expect("index")
        .expect("fits");
    let figures = index.figures().expect("figures");
    assert_eq!(units(&figures.billable_total.to_string()), sum(rows.iter()));
    for (pi, expected) in by(rows, |r| r.pi) {
        let found = figures.pis.iter().find(|x| x.email == PIS[pi]).expect("PI");
        assert_eq!(units(&found.billable.to_string()), expected);
    }
}

/// Billing lines round their exact sums once; the GL's debits per fund/org and source are sums
/// of those lines, exact beside them, and debits equal credits.
fn check_journal(store: &Store, rows: &[Row]) {
    let c = config();
    let charges = store.billable_charges(PERIOD, false).expect("charges");
    let lines = billing_lines(&charges, &accounts(&c), Rounding::HalfEven);
    let exact = by(rows, |r| {
        (
            PIS[r.pi],
            PROJECTS[r.project],
            FUNDS[r.fund],
            SOURCES[r.source],
        )
    });
    assert_eq!(lines.len(), exact.len());
    for l in &lines {
        let key = (
            l.pi_email.as_deref().expect("pi"),
            l.project_id.as_deref().expect("project"),
            l.fund_org.as_deref().expect("fund"),
            l.source.as_str(),
        );
        assert_eq!(units(&l.amount_exact.to_string()), exact[&key]);
        assert_eq!(units(&l.amount.to_string()), cents(&exact[&key]));
    }
    let gl = build_gl(&lines, PERIOD, &c).expect("balanced");
    assert_eq!(gl.debit_total, gl.credit_total);
    let net: BigInt = lines.iter().map(|l| units(&l.amount.to_string())).sum();
    let signed = |side: Side, e: &ocb_journal::GlEntry| {
        let v = units(&e.amount.to_string());
        if side == Side::Debit {
            v
        } else {
            -v
        }
    };
    let debits: BigInt = gl
        .entries
        .iter()
        .filter(|e| e.kind == ocb_journal::EntryKind::Charge)
        .map(|e| signed(e.side, e))
        .sum();
    assert_eq!(debits, net, "net GL charge = Σ rounded billing lines");
    for e in gl
        .entries
        .iter()
        .filter(|e| e.kind == ocb_journal::EntryKind::Charge)
    {
        let exact: BigInt = rows
            .iter()
            .filter(|r| FUNDS[r.fund] == e.fund_org && SOURCES[r.source] == e.source)
            .map(|r| units(&r.amount))
            .sum();
        let magnitude = if exact < BigInt::from(0) {
            -exact
        } else {
            exact
        };
        assert_eq!(units(&e.amount_exact.to_string()), magnitude);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_total_is_the_exact_sum(rows in proptest::collection::vec(row(), 1..40)) {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = Store::open_in_memory().expect("store");
        import(&mut store, dir.path(), &rows);
        check_store_totals(&store, &rows);
        check_journal(&store, &rows);
    }
}
