//! The GL algorithm (SPEC §10.6–§10.8) and the property that every `gl` and `template` journal
//! balances to the cent and stays within half a cent per billing line of the exact total.

mod fixtures;

use fixtures::{accounts, charge, config};
use ocb_core::billing::{billing_lines, BillableCharge};
use ocb_journal::formats::{render_gl, render_gl_upstream};
use ocb_journal::template::{load_template, render_template, TemplateExtras};
use ocb_journal::{build_gl, CreditFundOrgs, JournalError, Side};
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn gl_of(
    charges: &[BillableCharge],
    c: &ocb_config::Config,
) -> Result<ocb_journal::GlJournal, JournalError> {
    build_gl(
        &billing_lines(charges, &accounts(c), c.rounding),
        "2025-01",
        c,
    )
}

#[test]
fn spec_example_debits_then_credits_both_sides_2250() {
    let c = config();
    let charges = vec![
        charge(1, "AWS", "a@x.edu", Some("BIOLOGY-GRANTS"), "1000.00"),
        charge(2, "AWS", "b@x.edu", Some("PHYSICS-RESEARCH"), "500.00"),
        charge(3, "HPC", "a@x.edu", Some("BIOLOGY-GRANTS"), "750.00"),
    ];
    let gl = gl_of(&charges, &c).expect("balanced");
    let rows: Vec<_> = gl
        .entries
        .iter()
        .map(|e| {
            (
                e.side,
                e.fund_org.as_str(),
                e.source.as_str(),
                e.amount.to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (Side::Debit, "BIOLOGY-GRANTS", "AWS", "1000.00".to_string()),
            (Side::Debit, "BIOLOGY-GRANTS", "HPC", "750.00".into()),
            (Side::Debit, "PHYSICS-RESEARCH", "AWS", "500.00".into()),
            (Side::Credit, "IT-CLOUD-AWS", "AWS", "1500.00".into()),
            (Side::Credit, "IT-HPC-SERVICES", "HPC", "750.00".into()),
        ]
    );
    assert_eq!(gl.debit_total, d("2250.00"));
    assert_eq!(gl.credit_total, d("2250.00"));
    let refs: Vec<_> = gl.entries.iter().map(|e| e.reference_id.as_str()).collect();
    assert_eq!(refs[0], "2025-01-0001");
    assert_eq!(refs[4], "2025-01-0005");
    let first = &gl.entries[0];
    assert_eq!(
        (first.parts.orgn.as_str(), first.parts.fund.as_str()),
        ("BIOLOGY", "GRANTS")
    );
    assert_eq!(first.pi_email, "a@x.edu");
    assert_eq!(first.account, "54100");
    assert_eq!(first.description, "AWS 2025-01 Research Computing Charges");
}

/// Issue 17: sources without a credit fund/org no longer refuse the export; they are credited to
/// CLOUD-CLEARING (the Python web GL export's account) with a warning naming them, and a
/// configured fund/org (the source's own or `journal.clearing_fund_org`) still wins.
#[test]
fn sources_without_credit_fund_org_go_to_cloud_clearing_with_a_warning() {
    let mut c = config();
    let charges = vec![
        charge(1, "Slurm", "a@x.edu", Some("B-1"), "1.10"),
        charge(2, "Qumulo", "a@x.edu", Some("B-1"), "2.20"),
        charge(3, "AWS", "a@x.edu", Some("B-1"), "3.30"),
    ];
    let gl = gl_of(&charges, &c).expect("clearing default");
    let credit = |gl: &ocb_journal::GlJournal, source: &str| {
        gl.entries
            .iter()
            .find(|e| e.source == source && e.kind == ocb_journal::EntryKind::Offset)
            .map(|e| (e.fund_org.clone(), e.amount.to_string()))
            .expect("offset")
    };
    assert_eq!(
        credit(&gl, "Slurm"),
        ("CLOUD-CLEARING".into(), "1.10".into())
    );
    assert_eq!(
        credit(&gl, "Qumulo"),
        ("CLOUD-CLEARING".into(), "2.20".into())
    );
    assert_eq!(credit(&gl, "AWS"), ("IT-CLOUD-AWS".into(), "3.30".into()));
    assert_eq!(gl.debit_total, gl.credit_total);
    assert_eq!(
        gl.warnings[0],
        "Sources 'Qumulo', 'Slurm' have no credit fund/org: credited to CLOUD-CLEARING (set imports.known_sources[].fund_org or journal.clearing_fund_org)"
    );
    let one = gl_of(&charges[..1], &c).expect("one source");
    assert!(one.warnings[0].starts_with("Source 'Slurm' has no credit fund/org"));
    c.journal.clearing_fund_org = "IT-CLEARING".into();
    let gl = gl_of(&charges, &c).expect("clearing fund/org");
    assert_eq!(credit(&gl, "Slurm").0, "IT-CLEARING");
    assert_eq!(credit(&gl, "AWS").0, "IT-CLOUD-AWS");
    assert!(gl.warnings.iter().all(|w| !w.contains("CLOUD-CLEARING")));
}

/// `gl-upstream`: the Python web GL export's columns; with an unchanged upstream config (no
/// credit fund/orgs) one debit per fund/org and a single CLOUD-CLEARING credit.
#[test]
fn gl_upstream_has_the_python_columns_and_one_clearing_credit() {
    let mut c = config();
    c.imports.known_sources.clear();
    let charges = vec![
        charge(1, "AWS", "a@x.edu", Some("BIOLOGY-GRANTS"), "1000.004"),
        charge(2, "HPC", "a@x.edu", Some("BIOLOGY-GRANTS"), "749.995"),
        charge(3, "AWS", "b@x.edu", None, "-20.10"),
    ];
    let lines = billing_lines(&charges, &accounts(&c), c.rounding);
    let credits = CreditFundOrgs::resolve(&c, lines.iter().map(|l| l.source.as_str()));
    let out = render_gl_upstream(&lines, "2025-01", &credits).content;
    assert_eq!(
        out,
        "period,account,description,debit,credit\r\n\
         2025-01,BIOLOGY-GRANTS,Cloud computing charges - 2025-01,1750.00,\r\n\
         2025-01,UNKNOWN,Cloud computing charges - 2025-01,-20.10,\r\n\
         2025-01,CLOUD-CLEARING,Cloud computing charges - 2025-01,,1729.90\r\n"
    );
    assert_eq!(credits.defaulted, ["AWS", "HPC"]);
}

#[test]
fn negative_groups_are_reversals_and_negative_sources_offset_as_debits() {
    let c = config();
    let charges = vec![
        charge(1, "Storage", "a@x.edu", Some("CHEM-1"), "-40.004"),
        charge(2, "Storage", "a@x.edu", Some("BIO-1"), "10"),
        charge(3, "HPC", "a@x.edu", None, "0"),
    ];
    let gl = gl_of(&charges, &c).expect("balanced");
    let find = |f: &str| gl.entries.iter().find(|e| e.fund_org == f).expect("entry");
    assert_eq!(
        (find("CHEM-1").side, find("CHEM-1").amount),
        (Side::Credit, d("40.00"))
    );
    assert_eq!(
        (
            find("UNKNOWN").side,
            find("UNKNOWN").amount.to_string().as_str()
        ),
        (Side::Debit, "0.00")
    );
    let offset = find("IT-STORAGE");
    assert_eq!((offset.side, offset.amount), (Side::Debit, d("30.00")));
    assert_eq!(
        offset.account, "50000",
        "source without account falls back to the default"
    );
    assert_eq!(gl.debit_total, gl.credit_total);
}

#[test]
fn account_regex_rejects_non_matching_accounts() {
    let mut c = config();
    c.journal.account_code_regex = r"\d{5}".into();
    c.journal.account_code_pattern =
        Some(ocb_core::flags::Pattern::raw(r"^(?:\d{5})$").expect("pattern"));
    let mut odd = charge(1, "AWS", "a@x.edu", Some("B-1"), "5");
    odd.account_code = Some("ABC".into());
    let err = gl_of(&[odd], &c).expect_err("bad account");
    assert!(
        err.to_string()
            .contains("account 'ABC' (fund/org B-1, source AWS)"),
        "{err}"
    );
}

#[test]
fn empty_accounts_warn_without_regex() {
    let mut c = config();
    c.journal.default_account = String::new();
    let gl = gl_of(&[charge(1, "Storage", "a@x.edu", Some("B-1"), "5")], &c).expect("ok");
    assert_eq!(gl.warnings.len(), 2, "{:?}", gl.warnings);
}

/// Sums the `Debit`/`Credit` columns (7th/8th) of the default template's output.
fn template_sides(csv: &str) -> (Decimal, Decimal) {
    let (mut dr, mut cr) = (Decimal::ZERO, Decimal::ZERO);
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if !cols[6].is_empty() {
            dr += d(cols[6]);
        }
        if !cols[7].is_empty() {
            cr += d(cols[7]);
        }
    }
    (dr, cr)
}

fn gl_sides(csv: &str) -> (Decimal, Decimal) {
    let (mut dr, mut cr) = (Decimal::ZERO, Decimal::ZERO);
    for line in csv.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split(',').collect();
        if !cols[8].is_empty() {
            dr += d(cols[8]);
        }
        if !cols[9].is_empty() {
            cr += d(cols[9]);
        }
    }
    (dr, cr)
}

/// Sums the signed `debit`/`credit` columns (4th/5th) of `gl-upstream`.
fn upstream_sides(csv: &str) -> (Decimal, Decimal) {
    let (mut dr, mut cr) = (Decimal::ZERO, Decimal::ZERO);
    for line in csv.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split(',').collect();
        if !cols[3].is_empty() {
            dr += d(cols[3]);
        }
        if !cols[4].is_empty() {
            cr += d(cols[4]);
        }
    }
    (dr, cr)
}

fn arb_charges() -> impl Strategy<Value = Vec<BillableCharge>> {
    let one = (
        0usize..6,
        0usize..8,
        -5_000_000_000_000i64..20_000_000_000_000i64,
        0u32..=11,
        proptest::option::of(0usize..3),
    );
    proptest::collection::vec(one, 0..60).prop_map(|rows| {
        const SOURCES: [&str; 6] = ["AWS", "HPC", "Storage", "Azure", "Slurm", "openai"];
        rows.into_iter()
            .enumerate()
            .map(|(i, (s, f, mantissa, scale, acct))| {
                let fund = (f > 0).then(|| format!("ORG{f}-FUND{}", f % 3));
                let mut c = charge(i as i64, SOURCES[s], "p@x.edu", fund.as_deref(), "0");
                c.billed_cost = Decimal::new(mantissa, scale);
                c.account_code = acct.map(|a| format!("7000{a}"));
                c
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn gl_and_template_journals_always_balance(
        charges in arb_charges(),
        half_up in any::<bool>(),
        clearing in any::<bool>(),
    ) {
        let mut c = config();
        // Without a clearing fund/org, unconfigured sources go to CLOUD-CLEARING (issue 17).
        if clearing {
            c.journal.clearing_fund_org = "IT-CLEARING".into();
        }
        if half_up {
            c.rounding = ocb_core::amount::Rounding::HalfUp;
        }
        let lines = billing_lines(&charges, &accounts(&c), c.rounding);
        let gl = build_gl(&lines, "2025-01", &c).expect("balanced");
        prop_assert_eq!(gl.debit_total, gl.credit_total);

        let (dr, cr) = gl_sides(&render_gl(&gl, "2025-01").content);
        prop_assert_eq!(dr, cr);
        prop_assert_eq!(dr, gl.debit_total);

        let src = load_template(&c).expect("embedded default");
        let extras = TemplateExtras {
            period: "2025-01".into(),
            generated_at: "now".into(),
            export_id: "x".into(),
            format: "template".into(),
            include_flagged: false,
        };
        let (tdr, tcr) = template_sides(&render_template(&src, &gl, &extras, &c).expect("renders"));
        prop_assert_eq!(tdr, tcr);
        prop_assert_eq!(tdr, gl.debit_total);

        // Net GL charge vs the exact period total: within half a cent per billing line.
        let exact: Decimal = charges.iter().map(|c| c.billed_cost).sum();
        let net: Decimal = gl
            .entries
            .iter()
            .filter(|e| e.kind == ocb_journal::EntryKind::Charge)
            .map(|e| if e.side == Side::Debit { e.amount } else { -e.amount })
            .sum();
        let bound = Decimal::new(5, 3) * Decimal::from(lines.len());
        prop_assert!((net - exact).abs() <= bound, "net {} exact {} lines {}", net, exact, lines.len());

        // gl-upstream: signed debit and credit columns sum to the same net.
        let credits = CreditFundOrgs::resolve(&c, lines.iter().map(|l| l.source.as_str()));
        let (udr, ucr) = upstream_sides(&render_gl_upstream(&lines, "2025-01", &credits).content);
        prop_assert_eq!(udr, ucr);
        prop_assert_eq!(udr, net);
    }
}
