//! The in-memory index answers exactly as the SQL of the charges browser: same pages, counts
//! and exact sums for every filter, search, status and order, before and after removals,
//! review actions and overrides; and the key changes with every write.

use crate::browse::{BrowseFilter, SortKey, StatusFilter, Unattributed};
use crate::charges::ChargeFilter;
use crate::testutil::store;
use crate::{Actor, ImportRecord, Override, PreparedCharge, ReviewAction};
use crate::{ReviewRequest, ReviewScope, Store};
use ocb_core::attribution::Attribution;
use ocb_core::charge::{ChargeFields, ReviewState};
use ocb_core::flags::FlagReason;
use ocb_core::Decimal;

const PERIOD: &str = "2025-01";

/// Row `i` of a source: a spread of PIs (mixed case, missing), projects, funds, services,
/// resources, dates, amounts with 2 to 4 decimals, states and reasons.
fn charge(source: &str, i: u64) -> (PreparedCharge, ReviewState) {
    let pi = match i % 7 {
        0 => None,
        1 => Some("Alice@Example.edu".to_string()),
        2 => Some("alice@example.edu".to_string()),
        3 => Some(String::new()),
        n => Some(format!("pi{n}@x.edu")),
    };
    let fields = ChargeFields {
        billing_period_start: format!("{PERIOD}-01T00:00:00Z").into(),
        charge_period_start: (!i.is_multiple_of(4))
            .then(|| format!("{PERIOD}-{:02}", i % 28 + 1).into()),
        billed_cost: Decimal::new(
            (i as i64 * 7919) % 100_000 - 300,
            [2, 3, 4][(i % 3) as usize],
        ),
        resource_id: (!i.is_multiple_of(9)).then(|| format!("{source}-Res_{i}%")),
        resource_name: (!i.is_multiple_of(5)).then(|| format!("Node-{}", i % 40)),
        service_name: Some(["GPU Cluster", "Storage", "EC2"][(i % 3) as usize].into()),
        ..Default::default()
    };
    let reasons = match i % 11 {
        0 => vec![FlagReason::MissingProjectId],
        1 => vec![
            FlagReason::PatternMatch("gpu".into()),
            FlagReason::MissingFundOrg,
        ],
        _ => vec![],
    };
    let state = match (reasons.is_empty(), i % 13) {
        (false, _) => ReviewState::Pending,
        (true, 0) => ReviewState::Rejected,
        (true, 1) => ReviewState::Approved,
        _ => ReviewState::None,
    };
    let c = crate::testutil::charge(
        i + 1,
        PERIOD,
        fields,
        Attribution {
            pi_email: pi,
            project_id: (!i.is_multiple_of(11)).then(|| format!("Proj-{}", i % 17)),
            fund_org: (!i.is_multiple_of(6)).then(|| format!("Fund-{}", i % 5)),
            cost_center: Some(format!("CC{}", i % 3)),
            reference_1: (i.is_multiple_of(2)).then(|| "ref-one".into()),
            pi_name: Some(format!("Name {}", i % 4)),
            ..Default::default()
        },
        reasons,
    );
    (PreparedCharge::new(c), state)
}

fn import(s: &mut Store, source: &str, n: u64) {
    let header = crate::testutil::header(&format!("u-{source}-{n}"), source);
    let mut w = s.begin_import(&Actor::cli("t"), &header).expect("begin");
    let p = PERIOD.parse().expect("period");
    if w.period_status(p).expect("status").is_none() {
        w.create_period(p).expect("create");
    }
    for i in 0..n {
        let (c, st) = charge(source, i);
        w.insert(c, st).expect("insert");
    }
    w.commit(&ImportRecord::default()).expect("commit");
}

fn filters() -> Vec<BrowseFilter> {
    let base = |f: ChargeFilter| ChargeFilter {
        period: Some(PERIOD.into()),
        ..f
    };
    let mut out = vec![];
    let bases = [
        ChargeFilter::default(),
        ChargeFilter {
            source: Some("aws".into()),
            ..Default::default()
        },
        ChargeFilter {
            source: Some("nope".into()),
            ..Default::default()
        },
        ChargeFilter {
            pi_email: Some(" ALICE@example.edu ".into()),
            ..Default::default()
        },
        ChargeFilter {
            pi_email: Some("pi5@x.edu".into()),
            ..Default::default()
        },
        ChargeFilter {
            project_id: Some("Proj-3".into()),
            ..Default::default()
        },
        ChargeFilter {
            project_id: Some("proj-3".into()),
            ..Default::default()
        },
        ChargeFilter {
            reason: Some("pattern_match".into()),
            ..Default::default()
        },
        ChargeFilter {
            reason: Some("missing_project".into()),
            ..Default::default()
        },
        ChargeFilter {
            reason: Some("missing_fund_org".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("res_1".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("%".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("NODE-3".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("alice".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("fund-2".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("gpu".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("cc1".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("ref-".into()),
            ..Default::default()
        },
        ChargeFilter {
            search: Some("nothing-matches".into()),
            ..Default::default()
        },
        ChargeFilter {
            source: Some("HPC".into()),
            search: Some("proj-1".into()),
            pi_email: Some("pi4@x.edu".into()),
            ..Default::default()
        },
        // Combined column filters: the shortest list is walked, the others checked per row.
        ChargeFilter {
            source: Some("aws".into()),
            pi_email: Some("pi4@x.edu".into()),
            ..Default::default()
        },
        ChargeFilter {
            project_id: Some("Proj-3".into()),
            reason: Some("pattern_match".into()),
            ..Default::default()
        },
        ChargeFilter {
            source: Some("hpc".into()),
            reason: Some("missing_project".into()),
            ..Default::default()
        },
        ChargeFilter {
            pi_email: Some("pi5@x.edu".into()),
            project_id: Some("Proj-1".into()),
            search: Some("node".into()),
            ..Default::default()
        },
        ChargeFilter {
            source: Some("aws".into()),
            search: Some("gpu".into()),
            ..Default::default()
        },
    ];
    let statuses = [
        StatusFilter::Flagged,
        StatusFilter::Billable,
        StatusFilter::Rejected,
        StatusFilter::Removed,
        StatusFilter::All,
        StatusFilter::Approved,
    ];
    for (n, b) in bases.into_iter().enumerate() {
        // The default status with every filter; the other statuses in rotation.
        for status in [StatusFilter::Default, statuses[n % statuses.len()]] {
            out.push(BrowseFilter {
                base: base(b.clone()),
                status,
                ..Default::default()
            });
        }
    }
    out.push(BrowseFilter {
        base: base(ChargeFilter::default()),
        fund_org: Some(" FUND-1".into()),
        ..Default::default()
    });
    out.push(BrowseFilter {
        base: base(ChargeFilter {
            source: Some("aws".into()),
            ..Default::default()
        }),
        fund_org: Some("fund-2".into()),
        status: StatusFilter::Flagged,
        ..Default::default()
    });
    out.push(BrowseFilter {
        base: base(ChargeFilter {
            search: Some("res_".into()),
            ..Default::default()
        }),
        fund_org: Some("FUND-1".into()),
        status: StatusFilter::All,
        ..Default::default()
    });
    out.push(BrowseFilter {
        base: base(ChargeFilter::default()),
        fund_org: Some("x".into()),
        status: StatusFilter::All,
        ..Default::default()
    });
    // The "(no PI)" and "(no project)" views (issue 16, item 14): NULL and empty values both.
    for (without, status) in [
        (Unattributed::Pi, StatusFilter::Default),
        (Unattributed::Pi, StatusFilter::Flagged),
        (Unattributed::Project, StatusFilter::Default),
        (Unattributed::Project, StatusFilter::All),
    ] {
        out.push(BrowseFilter {
            base: base(ChargeFilter::default()),
            status,
            without: Some(without),
            ..Default::default()
        });
    }
    out.push(BrowseFilter {
        base: base(ChargeFilter {
            search: Some("node".into()),
            source: Some("aws".into()),
            ..Default::default()
        }),
        without: Some(Unattributed::Pi),
        ..Default::default()
    });
    out
}

const SORTS: [SortKey; 7] = [
    SortKey::Billed,
    SortKey::Pi,
    SortKey::Resource,
    SortKey::Service,
    SortKey::Project,
    SortKey::FundOrg,
    SortKey::Date,
];

/// Every filter, order and a few pages: index and SQL agree on rows, count and sum.
fn assert_same(s: &Store) {
    let idx = s.build_browse_index(PERIOD).expect("build").expect("index");
    for f in filters() {
        for sort in SORTS {
            for desc in [true, false] {
                for (offset, limit) in [(0, 10), (7, 5), (0, 1000), (300, 50)] {
                    let sql = s
                        .browse_charges(&f, sort, desc, offset, limit)
                        .expect("sql");
                    let mem = s
                        .browse_indexed(&idx, &f, sort, desc, offset, limit)
                        .expect("mem")
                        .expect("answered");
                    let ids =
                        |p: &crate::BrowsePage| p.rows.iter().map(|r| r.id).collect::<Vec<_>>();
                    let what = format!("{f:?} {sort:?} desc={desc} offset={offset}");
                    assert_eq!(mem.total_count, sql.total_count, "{what}");
                    assert_eq!(mem.total_billed, sql.total_billed, "{what}");
                    assert_eq!(ids(&mem), ids(&sql), "{what}");
                }
            }
        }
    }
    // The figures are those of the SQL of the period and dashboard pages.
    let fig = idx.figures().expect("figures");
    let info = s
        .get_period(PERIOD.parse().expect("p"))
        .expect("get")
        .expect("period");
    assert_eq!(
        (fig.billable_total, fig.billable_count),
        (info.billable_total, info.billable_count)
    );
    assert_eq!(
        (fig.flagged_total, fig.flagged_count),
        (info.flagged_total, info.flagged_count)
    );
    let o = s.period_overview(PERIOD).expect("overview");
    assert_eq!((fig.active_pis, fig.projects), (o.active_pis, o.projects));
    assert_eq!(
        (fig.rejected_count, fig.rejected_total),
        (o.rejected_count, o.rejected_total)
    );
    let (pis, n) = s.pi_list(PERIOD, 0, 1000).expect("pis");
    assert_eq!(fig.pis.len() as u64, n);
    let key = |p: &crate::PiRow| {
        (
            p.email.clone(),
            p.name.clone(),
            p.projects,
            p.charges,
            p.billable,
            p.flagged,
        )
    };
    assert_eq!(
        fig.pis.iter().map(key).collect::<Vec<_>>(),
        pis.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(
        fig.queue_reasons,
        s.queue_reasons(Some(PERIOD)).expect("reasons")
    );
}

#[test]
fn index_answers_as_the_sql_through_imports_removals_and_review() {
    let mut s = store();
    import(&mut s, "AWS", 240);
    import(&mut s, "HPC", 90);
    assert_same(&s);
    let k1 = s.period_key(PERIOD).expect("key").expect("exists");

    // A re-import with fewer rows removes the rest: removed charges leave the default views.
    import(&mut s, "AWS", 150);
    let k2 = s.period_key(PERIOD).expect("key").expect("exists");
    assert_ne!(k1, k2, "an import changes the key");
    assert_same(&s);

    // Approve with an override (PI, project, fund/org) and reject: both change what matches.
    let queue = s
        .browse_charges(
            &BrowseFilter {
                base: ChargeFilter {
                    period: Some(PERIOD.into()),
                    ..Default::default()
                },
                status: StatusFilter::Flagged,
                ..Default::default()
            },
            SortKey::Billed,
            true,
            0,
            4,
        )
        .expect("queue");
    let ids: Vec<i64> = queue.rows.iter().map(|r| r.id).collect();
    let review = |s: &mut Store, action, ids: Vec<i64>, o: Option<Override>| {
        s.review(
            &Actor::cli("r"),
            &ReviewRequest {
                action,
                scope: ReviewScope::Ids(ids),
                note: None,
                override_: o,
                expected_count: None,
            },
        )
        .expect("review");
    };
    let o = Override {
        pi_email: Some("New.PI@x.edu".into()),
        project_id: Some("Proj-New".into()),
        fund_org: Some("Fund-9".into()),
    };
    // An override applies on single approval only.
    review(&mut s, ReviewAction::Approve, vec![ids[0]], Some(o));
    review(&mut s, ReviewAction::Approve, vec![ids[1]], None);
    review(&mut s, ReviewAction::Reject, ids[2..].to_vec(), None);
    let k3 = s.period_key(PERIOD).expect("key").expect("exists");
    assert_ne!(k2, k3, "a review action changes the key");
    assert_same(&s);
    let idx = s.build_browse_index(PERIOD).expect("build").expect("index");
    let by_pi = BrowseFilter {
        base: ChargeFilter {
            period: Some(PERIOD.into()),
            pi_email: Some("new.pi@x.edu".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let page = s
        .browse_indexed(&idx, &by_pi, SortKey::Billed, true, 0, 10)
        .expect("q")
        .expect("answered");
    assert_eq!(
        page.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );
}

#[test]
fn filters_the_index_cannot_answer_are_left_to_sql() {
    let mut s = store();
    import(&mut s, "AWS", 20);
    let idx = s.build_browse_index(PERIOD).expect("build").expect("index");
    let all = BrowseFilter::default();
    assert!(s
        .browse_indexed(&idx, &all, SortKey::Billed, true, 0, 5)
        .expect("q")
        .is_none());
    let other = BrowseFilter {
        base: ChargeFilter {
            period: Some("2024-12".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(s
        .browse_indexed(&idx, &other, SortKey::Billed, true, 0, 5)
        .expect("q")
        .is_none());
    let by_import = BrowseFilter {
        base: ChargeFilter {
            period: Some(PERIOD.into()),
            ..Default::default()
        },
        import_id: Some(1),
        ..Default::default()
    };
    assert!(s
        .browse_indexed(&idx, &by_import, SortKey::Billed, true, 0, 5)
        .expect("q")
        .is_none());
    assert!(s.build_browse_index("2030-01").expect("build").is_none());
    assert!(s.period_key("2030-01").expect("key").is_none());
}

/// The "(no PI)" and "(no project)" rows of the PI and project lists link to the browser
/// filtered `without` that field (issue 16, item 14): the browser finds exactly their charges.
#[test]
fn without_filters_find_the_no_pi_and_no_project_rows() {
    let mut s = store();
    import(&mut s, "AWS", 240);
    let browse = |without| {
        s.browse_charges(
            &BrowseFilter {
                base: ChargeFilter {
                    period: Some(PERIOD.into()),
                    ..Default::default()
                },
                without: Some(without),
                ..Default::default()
            },
            SortKey::Billed,
            true,
            0,
            10,
        )
        .expect("browse")
    };
    let (pis, _) = s.pi_list(PERIOD, 0, 1000).expect("pis");
    let no_pi = pis
        .iter()
        .find(|p| p.email.is_empty())
        .expect("(no PI) row");
    let page = browse(Unattributed::Pi);
    assert_eq!(page.total_count, no_pi.charges as u64);
    assert!(page
        .rows
        .iter()
        .all(|r| r.pi_email.as_deref().unwrap_or("").is_empty()));
    let (projects, _) = s.project_list(PERIOD, 0, 1000).expect("projects");
    let no_project = projects
        .iter()
        .find(|p| p.project_id.is_empty())
        .expect("(no project) row");
    let page = browse(Unattributed::Project);
    assert_eq!(page.total_count, no_project.charges as u64);
    assert!(page.rows.iter().all(|r| r.project_id.is_none()));
    assert_eq!(Unattributed::parse("pi"), Some(Unattributed::Pi));
    assert_eq!(
        Unattributed::parse(Unattributed::Project.as_str()),
        Some(Unattributed::Project)
    );
    assert_eq!(Unattributed::parse("nobody"), None);
}
