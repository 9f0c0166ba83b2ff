//! Issue 17, item 4: statement PDFs are named after the local part of the PI's email, as
//! upstream names them (`2025-01_zorp.blinkman_genomics-sequencing.pdf`); PIs of one period who
//! share a local part keep their whole address. Renamed statements leave no file behind: the
//! first run after an upgrade replaces the old full-address names, and a PI with a clashing
//! local part renames the other PI's files the same way.

mod common;
use common::{january, Instance};
use std::path::Path;

/// The PDF file names in `dir`, sorted.
fn pdf_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("pdf dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pdf"))
        .collect();
    v.sort();
    v
}

/// The file names the statements of the database point at, sorted.
fn stored_names(inst: &Instance) -> Vec<String> {
    let conn = rusqlite::Connection::open(inst.db()).expect("db");
    let mut stmt = conn
        .prepare("SELECT pdf_path FROM statements")
        .expect("prepare");
    let paths = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query");
    let mut v: Vec<String> = paths
        .map(|p| {
            let p = p.expect("row");
            let name = Path::new(&p).file_name().expect("file name");
            name.to_string_lossy().into_owned()
        })
        .collect();
    v.sort();
    v
}

fn generate(inst: &Instance) {
    let (code, report) = inst.json(&["generate", "--period", "2025-01"]);
    assert_eq!(code, 0, "{report}");
}

/// Every PDF on disk is a statement's and every statement's PDF is on disk; `db check` agrees.
fn assert_nothing_orphaned(inst: &Instance) {
    assert_eq!(pdf_names(&inst.path("out/pdfs")), stored_names(inst));
    inst.cmd(&["db", "check"]).assert().success();
}

/// Renames every statement's PDF to the name older versions gave it (the whole address), in
/// the database and on disk, as an instance upgraded from such a version has them.
fn use_old_names(inst: &Instance) {
    let conn = rusqlite::Connection::open(inst.db()).expect("db");
    let mut stmt = conn
        .prepare("SELECT id, pi_email, pdf_path FROM statements")
        .expect("prepare");
    let rows: Vec<(i64, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    for (id, email, path) in rows {
        let local = email.split('@').next().expect("local part");
        let old = path.replacen(
            &format!("2025-01_{local}_"),
            &format!("2025-01_{email}_"),
            1,
        );
        std::fs::rename(&path, &old).expect("rename");
        conn.execute(
            "UPDATE statements SET pdf_path = ?2 WHERE id = ?1",
            rusqlite::params![id, old],
        )
        .expect("update");
    }
}

#[test]
fn statements_are_named_after_the_local_part_and_old_names_are_replaced() {
    let inst = january("");
    generate(&inst);
    let names = pdf_names(&inst.path("out/pdfs"));
    assert!(
        names.contains(&"2025-01_zorp.blinkman_genomics-sequencing.pdf".to_string()),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.contains('@')), "{names:?}");
    assert_nothing_orphaned(&inst);

    use_old_names(&inst);
    assert!(pdf_names(&inst.path("out/pdfs"))
        .contains(&"2025-01_zorp.blinkman@example.edu_genomics-sequencing.pdf".to_string()));
    generate(&inst);
    assert_eq!(
        pdf_names(&inst.path("out/pdfs")),
        names,
        "old names replaced"
    );
    assert_nothing_orphaned(&inst);
}

#[test]
fn pis_sharing_a_local_part_keep_their_whole_address() {
    let inst = january("");
    generate(&inst);
    // A second zorp.blinkman, at another university, joins the period.
    let csv = inst.path("lab_2025-01.csv");
    std::fs::write(
        &csv,
        "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ListCost,ContractedCost,BilledCost,EffectiveCost,ResourceId,ResourceName,ServiceName,Tags\n\
         2025-01-01,2025-01-31,2025-01-01,2025-01-31,10.00,10.00,10.00,10.00,lab-1,lab-node,Lab Compute,\"{\"\"pi_email\"\": \"\"Zorp.Blinkman@other.edu\"\", \"\"project_id\"\": \"\"genomics-sequencing\"\", \"\"fund_org\"\": \"\"BIO-2024-001\"\"}\"\n",
    )
    .expect("write csv");
    inst.cmd(&["sources", "add", "Lab"]).assert().success();
    inst.cmd(&[
        "ingest",
        csv.to_str().expect("utf8"),
        "-s",
        "Lab",
        "-p",
        "2025-01",
    ])
    .assert()
    .success();
    generate(&inst);
    let names = pdf_names(&inst.path("out/pdfs"));
    for expected in [
        "2025-01_zorp.blinkman@example.edu_genomics-sequencing.pdf",
        "2025-01_zorp.blinkman@other.edu_genomics-sequencing.pdf",
        // Only the clashing PIs change: everyone else keeps the short name.
        "2025-01_quib.flannister_climate-modeling.pdf",
    ] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected}: {names:?}"
        );
    }
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("2025-01_zorp.blinkman_")),
        "the short names of the first zorp were replaced: {names:?}"
    );
    assert_nothing_orphaned(&inst);
}
