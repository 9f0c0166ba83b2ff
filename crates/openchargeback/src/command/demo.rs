//! `demo`: a self-contained instance with embedded fictional sample data (SPEC §11.3).
//!
//! It creates the instance, ingests the month, decides every flag, closes the month, generates
//! the statements, writes the e-mails (dev mode) and exports the `gl` and `template` journals.

use crate::cli::{DemoArgs, Global};
use crate::context::Ctx;
use crate::error::CliError;
use ocb_ingest::{Database, IngestRequest, NoProgress};
use std::path::Path;
use std::process::ExitCode;

mod integrations;

/// The sample month: five sources of January 2025 (HPC is 100% subsidised).
const FILES: [(&str, &str, &str); 5] = [
    (
        "aws_2025-01.csv",
        "AWS",
        include_str!("../../demo/aws_2025-01.csv"),
    ),
    (
        "azure_2025-01.csv",
        "Azure",
        include_str!("../../demo/azure_2025-01.csv"),
    ),
    (
        "hpc_2025-01.csv",
        "HPC",
        include_str!("../../demo/hpc_2025-01.csv"),
    ),
    (
        "storage_2025-01.csv",
        "Storage",
        include_str!("../../demo/storage_2025-01.csv"),
    ),
    (
        "it_storage_2025-01.csv",
        "IT Storage",
        include_str!("../../demo/it_storage_2025-01.csv"),
    ),
];

const DEMO_CONFIG: &str = r#"# OpenChargeback demo instance (created by `openchargeback demo`).
dev_mode: true
currency: "$"
database:
  path: {DIR}/billing.db
output:
  pdf_dir: {DIR}/output/pdfs
  journal_dir: {DIR}/output/journals
  email_dir: {DIR}/output/emails
  import_dir: {DIR}/output/imports
  backup_dir: {DIR}/backups
email:
  from_address: billing@example.edu
  from_name: Example University Research Computing
review:
  # Hold GPU charges and Secure File Services for a second look.
  flag_patterns:
    - "gpu"
    - "Secure File"
imports:
  known_sources:
    - {name: AWS, pattern: aws, fund_org: IT-CLOUD-AWS, account_code: "54100"}
    - {name: Azure, pattern: azure, fund_org: IT-CLOUD-AZURE, account_code: "54110"}
    - {name: HPC, pattern: hpc, fund_org: IT-HPC-SERVICES, account_code: "54200"}
    - {name: Storage, pattern: storage, fund_org: IT-STORAGE, account_code: "54300"}
    - {name: IT Storage, pattern: it_storage, fund_org: IT-SECURE-STORAGE, account_code: "54310"}
    # Sources made by `openchargeback convert` (data/integrations/README.txt).
    - {name: Slurm, pattern: slurm, fund_org: IT-HPC-COMPUTE, account_code: "54210"}
    - {name: Isilon, pattern: isilon, fund_org: IT-HPC-STORAGE, account_code: "54320"}
    - {name: Qumulo, pattern: qumulo, fund_org: IT-RESEARCH-STORAGE, account_code: "54330"}
    - {name: Azure Local, pattern: azure-local, fund_org: IT-AZURE-LOCAL, account_code: "54120"}
    - {name: OpenAI, pattern: openai, fund_org: IT-OPENAI-EDU, account_code: "54500"}
"#;

/// Writes a demo file whole or not at all (`ocb_publish`, issue 15), readable as usual.
pub(crate) fn write(path: &Path, content: impl AsRef<[u8]>) -> std::io::Result<()> {
    ocb_publish::write_file(path, content.as_ref(), ocb_publish::unix_mode(0o644)).map(drop)
}

fn is_empty_dir(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

pub fn run(global: Global, args: DemoArgs) -> Result<ExitCode, CliError> {
    let dir = std::env::current_dir()?.join(&args.dir);
    std::fs::create_dir_all(&dir)?;
    let dir = std::fs::canonicalize(&dir)?;
    if dir.exists() && !is_empty_dir(&dir) && !args.force {
        return Err(CliError::fail(
            "usage",
            format!("{} is not empty; use --force to reuse it", dir.display()),
        ));
    }
    if args.force && dir.join("billing.db").exists() {
        for f in ["billing.db", "billing.db-wal", "billing.db-shm"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let config_path = dir.join("config.yaml");
    write(
        &config_path,
        DEMO_CONFIG.replace("{DIR}", &dir.display().to_string()),
    )?;
    let mut g = global;
    g.config = Some(config_path.clone());
    let json = g.json;
    let ctx = Ctx::load(g)?;
    let settings = super::ingest::settings(&ctx);
    let mut store = ctx.store()?;
    let actor = ocb_store::Actor {
        name: "system".into(),
        channel: "demo".into(),
        role: None,
    };
    let mut files = Vec::new();
    for (name, source, content) in FILES {
        let path = data.join(name);
        write(&path, content)?;
        files.push((path, source));
    }
    // The converted sources: HPC jobs, storage quotas, VMs and OpenAI usage (issue 5).
    files.extend(integrations::convert_integrations(&data)?);
    let mut reports = Vec::new();
    for (path, source) in files {
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let req = IngestRequest {
            path,
            filename: None,
            source: source.into(),
            expected_period: "2025-01".parse().ok(),
            mode: None,
            dry_run: false,
            skip_invalid: false,
            actor: actor.clone(),
        };
        let report = ocb_ingest::ingest(
            Database::Write(&mut store),
            &settings,
            &req,
            &mut NoProgress,
        )?;
        if !report.succeeded() {
            return Err(CliError::fail(
                "internal",
                format!("demo import of {name} failed: {:?}", report.failure),
            ));
        }
        reports.push(report);
    }
    let jan: ocb_core::period::Period = "2025-01".parse().expect("valid period");
    let review = review_month(&mut store, &actor)?;
    store.transition_period(
        &actor,
        jan,
        ocb_core::period::PeriodAction::Close,
        Some("Demo month reviewed and closed"),
    )?;
    let period = store
        .get_period(jan)?
        .ok_or_else(|| CliError::fail("internal", "demo period missing"))?;
    let (generated, emails) = super::generate::demo_cycle(&mut store, &ctx, &actor, jan)?;
    let journals = export_journals(&store, &ctx, &actor, jan)?;
    if json {
        super::print_json(
            &serde_json::json!({"dir": dir, "config": config_path, "database": ctx.config.database.path, "imports": reports, "review": review, "period": period, "statements": generated, "emails": emails, "journals": journals}),
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("OpenChargeback demo — January 2025");
    for r in &reports {
        println!(
            "  imported {:<24} {:>3} rows, {} flagged, total {}",
            r.filename,
            r.totals.rows_read,
            r.totals.flagged_rows,
            ctx.money(r.totals.total_cost)
        );
    }
    println!("  review: {}", review.join("; "));
    println!(
        "  period 2025-01 {}: billable total {} ({} charges)",
        period.status,
        ctx.money(period.billable_total),
        period.billable_count
    );
    let due = generated
        .total
        .parse::<ocb_core::exact::ExactSum>()
        .unwrap_or_default();
    println!(
        "  statements: {} final PDFs for {} PIs, total due {}; {} emails written (dev mode)",
        generated.projects,
        generated.pis,
        ctx.money(due),
        emails.sent
    );
    // Subsidy payments (a subsidy fund paying part of a PI's usage) are billable charges of the
    // funding unit: in the journals, not on PI statements (issue 16, item 8). Say so, so the
    // two totals above do not look like a mismatch.
    let subsidies = period.billable_total - due;
    if subsidies != ocb_core::exact::ExactSum::ZERO {
        println!(
            "              the other {} of the billable total is paid by subsidy funds (journals only)",
            ctx.money(subsidies)
        );
    }
    println!();
    println!("Instance:  {}", dir.display());
    println!("Config:    {}", config_path.display());
    println!("Database:  {}", ctx.config.database.path.display());
    println!("PDFs:      {}", ctx.config.output.pdf_dir.display());
    println!(
        "Emails:    {} (.eml files open in any mail client; .html previews)",
        ctx.config.output.email_dir.display()
    );
    for j in &journals {
        let path = j.path.as_ref().map(|p| p.display().to_string());
        println!(
            "Journal:   {} ({}, {} entries, debits = credits = {})",
            path.unwrap_or_default(),
            j.format,
            j.row_count,
            ctx.money(
                j.debit_total
                    .as_deref()
                    .unwrap_or("0")
                    .parse::<ocb_core::exact::ExactSum>()
                    .unwrap_or_default()
            )
        );
    }
    // The hints name the binary as it was started: after `cargo run` it is not on PATH, so a
    // bare `openchargeback` would fail when copied (issue 16, item 12).
    let bin = invoked_binary();
    println!(
        "Try:       {bin} -c {} show zorp.blinkman@example.edu --period 2025-01",
        shell_word(&config_path.display().to_string())
    );
    if args.serve {
        return super::serve::demo(&mut store, ctx.config.clone(), args.listen);
    }
    println!(
        "Web UI:    {bin} demo --dir {} --force --serve   (the same month in the browser, with a one-time login)",
        shell_word(&dir.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// How to call this binary in a copied command: `openchargeback` when that name on PATH is this
/// executable, else its full path.
fn invoked_binary() -> String {
    let Ok(exe) = std::env::current_exe().and_then(std::fs::canonicalize) else {
        return "openchargeback".into();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|d| std::fs::canonicalize(d.join("openchargeback")).is_ok_and(|p| p == exe))
    });
    if on_path {
        "openchargeback".into()
    } else {
        shell_word(&exe.display().to_string())
    }
}

/// `text` quoted for a POSIX shell when it holds anything but plain path characters.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The documented review of the demo month: GPU training runs are legitimate research compute
/// (approved); Secure File Services volumes are approved except the census PII volume, which the
/// demo treats as billed to the wrong unit (rejected, with a note); charges without a PI are
/// rejected back to their service team. Nothing is left pending.
fn review_month(
    store: &mut ocb_store::Store,
    actor: &ocb_store::Actor,
) -> Result<Vec<String>, CliError> {
    use ocb_store::{ChargeFilter, ReviewAction, ReviewRequest, ReviewScope};
    let queue = |reason: &str| ChargeFilter {
        period: Some("2025-01".into()),
        reason: Some(reason.into()),
        ..Default::default()
    };
    let (census, _, _) = store.review_queue(
        &ChargeFilter {
            search: Some("census-pii".into()),
            ..queue("pattern_match")
        },
        None,
    )?;
    let mut said = Vec::new();
    if !census.is_empty() {
        let ids = census.iter().map(|c| c.id).collect();
        let req = ReviewRequest {
            action: ReviewAction::Reject,
            scope: ReviewScope::Ids(ids),
            note: Some("Census PII storage is billed to the Census office, not research".into()),
            override_: None,
            expected_count: None,
        };
        let s = store.review(actor, &req)?;
        said.push(format!("rejected {} census PII volume", s.acted));
    }
    let req = ReviewRequest {
        action: ReviewAction::Approve,
        scope: ReviewScope::Filter(queue("pattern_match")),
        note: Some("Checked with the PI".into()),
        override_: None,
        expected_count: None,
    };
    let s = store.review(actor, &req)?;
    said.push(format!(
        "approved {} GPU and secure-storage charges",
        s.acted
    ));
    // Charges whose tags name no PI cannot be billed to anyone: the demo sends them back to the
    // service team, so the closed month has no pending flag (issue 16, item 12).
    let req = ReviewRequest {
        action: ReviewAction::Reject,
        scope: ReviewScope::Filter(queue("missing_pi_email")),
        note: Some("No PI in the tags: returned to the service team to tag and re-import".into()),
        override_: None,
        expected_count: None,
    };
    let s = store.review(actor, &req)?;
    said.push(format!("rejected {} charges without a PI", s.acted));
    Ok(said)
}

/// Exports the closed month's `gl` and `template` journals (SPEC §11.3).
fn export_journals(
    store: &ocb_store::Store,
    ctx: &Ctx,
    actor: &ocb_store::Actor,
    period: ocb_core::period::Period,
) -> Result<Vec<ocb_journal::ExportRecord>, CliError> {
    use ocb_journal::{export_journal, ExportRequest, Format, OutputTarget};
    [Format::Gl, Format::Template]
        .into_iter()
        .map(|format| {
            let req = ExportRequest {
                period,
                format,
                include_flagged: false,
                output: OutputTarget::Named,
                actor: actor.clone(),
            };
            export_journal(store, &ctx.config, &req, chrono::Utc::now())
                .map(|o| o.record)
                .map_err(|e| CliError::fail(e.code(), format!("demo journal export: {e}")))
        })
        .collect()
}
