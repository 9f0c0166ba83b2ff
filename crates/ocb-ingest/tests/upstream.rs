//! `import_upstream` against a store, without the binary: a Python database of one period, the
//! same rows as a FOCUS CSV ingested afterwards find every charge unchanged (issue 17).

use ocb_ingest::upstream::{import_upstream, UpstreamOptions};
use ocb_ingest::{ingest, Database, IngestRequest, IngestSettings, NoProgress};
use ocb_store::upstream::{create_python_database, UpstreamCharge, UpstreamDb};
use ocb_store::{Actor, OpenMode, Store};

const SCHEMA: &str = include_str!("../../openchargeback/tests/fixtures/upstream/schema_v10.sql");

fn charge(i: u64) -> UpstreamCharge {
    let day = format!("2025-01-{:02}", i + 1);
    let next = format!("2025-01-{:02}", i + 2);
    UpstreamCharge {
        charge_period_start: Some(day),
        charge_period_end: Some(next),
        costs: [None, None, Some(format!("{}.25", i + 1)), None],
        resource_id: Some(format!("r{i}")),
        service_name: Some("EC2".into()),
        raw_tags: Some(format!(
            r#"{{"pi_email": "pi{i}@example.edu", "project_id": "p{i}", "fund_org": "F-{i}"}}"#
        )),
        pi_email: Some(format!("pi{i}@example.edu")),
        project_id: Some(format!("p{i}")),
        fund_org: Some(format!("F-{i}")),
        ..Default::default()
    }
}

#[test]
fn reingest_after_upstream_import_is_unchanged() {
    let dir = tempfile::tempdir().expect("dir");
    let src_path = dir.path().join("python.db");
    create_python_database(&src_path, SCHEMA, "2025-01", (0..3).map(charge)).expect("python db");
    let src = UpstreamDb::open(&src_path).expect("open upstream");
    let mut store =
        Store::open(&dir.path().join("ours.db"), OpenMode::Create, 5000).expect("store");
    let settings = IngestSettings {
        import_dir: dir.path().join("imports"),
        ..Default::default()
    };
    let opts = UpstreamOptions {
        merge: false,
        pdf_dir: dir.path().join("pdfs"),
    };
    let report =
        import_upstream(&mut store, &src, &settings, &opts, &Actor::cli("t")).expect("import");
    assert_eq!(report.brought_over.get("charges"), Some(&3), "{report:?}");

    let mut csv = String::from("BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BilledCost,ResourceId,ServiceName,Tags\n");
    for i in 0..3 {
        csv.push_str(&format!(
            "2025-01-01,2025-02-01,2025-01-{:02},2025-01-{:02},{}.25,r{i},EC2,\"{{\"\"pi_email\"\": \"\"pi{i}@example.edu\"\", \"\"project_id\"\": \"\"p{i}\"\", \"\"fund_org\"\": \"\"F-{i}\"\"}}\"\n",
            i + 1, i + 2, i + 1
        ));
    }
    let path = dir.path().join("aws.csv");
    std::fs::write(&path, csv).expect("csv");
    let req = IngestRequest {
        path,
        filename: None,
        source: "AWS".into(),
        expected_period: None,
        mode: None,
        dry_run: false,
        skip_invalid: false,
        actor: Actor::cli("t"),
    };
    let r = ingest(
        Database::Write(&mut store),
        &settings,
        &req,
        &mut NoProgress,
    )
    .expect("ingest");
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["inserted"], 0, "{json}");
    assert_eq!(json["updated"], 0, "{json}");
    assert_eq!(json["unchanged"], 3, "{json}");
}
