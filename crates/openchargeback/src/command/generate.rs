//! `generate`, `send` and `statements list|resend` (SPEC §8, §9, §11.2): thin wrappers around
//! `ocb_statements::{generate, send}` that print the §8.11 table or one JSON document.

use crate::cli::{GenerateArgs, SendArgs, StatementsCommand};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::Table;
use ocb_core::period::Period;
use ocb_statements::{GenerateOptions, GenerationReport, SendOptions, SendReport, StatementsError};
use serde_json::json;
use std::process::ExitCode;

impl From<StatementsError> for CliError {
    fn from(e: StatementsError) -> Self {
        match e {
            StatementsError::Store(s) => s.into(),
            StatementsError::Refused(m) => Self::fail("period_state", m),
            StatementsError::NotConfigured(m) => Self::fail("not_configured", m),
            StatementsError::Render { .. }
            | StatementsError::Renderer(_)
            | StatementsError::Mail(_) => Self::fail("validation_failed", e.to_string()),
            StatementsError::Io { .. } => Self::fail("internal", e.to_string()),
        }
    }
}

/// A progress bar over statements or PIs (stderr, TTY only).
pub(crate) struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    pub(crate) fn new(ctx: &Ctx, what: &'static str) -> Self {
        if !ctx.progress() {
            return Self(None);
        }
        let b = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {what} ({{per_sec}}) {{elapsed}}"
        )) {
            b.set_style(style);
        }
        Self(Some(b))
    }
}

impl ocb_statements::Progress for Bar {
    fn begin(&self, total: u64) {
        if let Some(b) = &self.0 {
            b.set_length(total);
        }
    }
    fn advance(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

fn money_text(ctx: &Ctx, amount: &str) -> String {
    ctx.money(
        amount
            .parse::<ocb_core::exact::ExactSum>()
            .unwrap_or_default(),
    )
}

fn print_generation(ctx: &Ctx, r: &GenerationReport, emails: Option<&SendReport>) {
    let title = if r.dry_run {
        format!(
            "Statement Generation - {} (dry run — nothing written)",
            r.period
        )
    } else {
        format!("Statement Generation - {}", r.period)
    };
    let mut rows: Vec<(&str, String)> = vec![
        ("Period", r.period.clone()),
        ("Kind", r.kind.into()),
        ("PIs", r.pis.to_string()),
        ("Projects", r.projects.to_string()),
        ("Total", money_text(ctx, &r.total)),
    ];
    let mut counts = format!(
        "{} new, {} updated, {} unchanged, {} removed",
        r.new, r.updated, r.unchanged, r.removed
    );
    if r.restored > 0 {
        counts.push_str(&format!(", {} restored", r.restored));
    }
    rows.push(("Statements", counts));
    if let Some(e) = emails {
        rows.push((
            "Emails",
            format!(
                "{} sent, {} failed, {} skipped",
                e.sent, e.failed, e.skipped
            ),
        ));
    }
    println!("{title}");
    for (k, v) in rows {
        println!("  {k:<11} {v}");
    }
    if r.excluded_count > 0 {
        println!(
            "Note: {} excluded ({} charges flagged for review)",
            money_text(ctx, &r.excluded_amount),
            r.excluded_count
        );
    }
    if r.lines_without_pi > 0 {
        eprintln!(
            "warning: {} billing lines have no PI email and are on no statement",
            r.lines_without_pi
        );
    }
    if let Some(dir) = &r.pdf_dir {
        println!("PDFs: {}", dir.display());
    }
}

fn print_send(ctx: &Ctx, r: &SendReport) {
    let mut t = Table::new(
        Some(&format!("Emails - {}", r.period)),
        &["Recipient", "Statements", "Total", "Result"],
    );
    for x in &r.results {
        let result = match (&x.error, x.result) {
            (Some(e), "failed") => format!("failed: {e}"),
            (Some(e), "skipped") => format!("skipped: {e}"),
            (_, other) => other.replace('_', " "),
        };
        t.row(vec![
            x.recipient.clone(),
            x.statements.to_string(),
            money_text(ctx, &x.total),
            result,
        ]);
    }
    print!("{}", t.render());
    println!(
        "Sent: {}, failed: {}, skipped: {}",
        r.sent, r.failed, r.skipped
    );
    if let Some(dir) = &r.email_dir {
        println!("Email files (dev mode): {}", dir.display());
    }
}

fn send_with(
    ctx: &Ctx,
    store: &mut ocb_store::Store,
    opts: &SendOptions,
) -> Result<SendReport, CliError> {
    let bar = Bar::new(ctx, "PIs");
    Ok(ocb_statements::send(
        store,
        &ctx.config,
        &ctx.actor(),
        opts,
        &bar,
    )?)
}

fn exit(failed: usize) -> ExitCode {
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `generate`.
pub fn run(ctx: &Ctx, a: GenerateArgs) -> Result<ExitCode, CliError> {
    if a.preview_dir.is_some() && !a.dry_run {
        return Err(CliError::usage("--preview-dir requires --dry-run"));
    }
    let opts = GenerateOptions {
        period: a.period,
        dry_run: a.dry_run,
        preview_dir: a.preview_dir.clone(),
        workers: a.workers,
        restore_missing: a.restore_missing,
    };
    let mut store = if a.dry_run {
        // Dry runs never create or migrate the database.
        ctx.store_if_exists()?.ok_or_else(|| {
            CliError::fail(
                "not_found",
                format!("Billing period {} not found", a.period),
            )
        })?
    } else {
        ctx.store()?
    };
    let bar = Bar::new(ctx, "statements");
    let report = ocb_statements::generate(&mut store, &ctx.config, &ctx.actor(), &opts, &bar)?;
    let emails = if a.send && !a.dry_run {
        Some(send_with(
            ctx,
            &mut store,
            &SendOptions {
                period: a.period,
                pis: a.pi.clone(),
                resend: a.resend,
                dry_run: false,
            },
        )?)
    } else {
        None
    };
    if ctx.global.json {
        let mut doc = serde_json::to_value(&report).map_err(anyhow::Error::from)?;
        if let Some(e) = &emails {
            doc["emails"] = serde_json::to_value(e).map_err(anyhow::Error::from)?;
        }
        super::print_json(&doc);
    } else if !ctx.global.quiet {
        print_generation(ctx, &report, emails.as_ref());
        if let Some(e) = &emails {
            println!();
            print_send(ctx, e);
        }
    }
    Ok(exit(emails.map_or(0, |e| e.failed)))
}

/// `send`.
pub fn run_send(ctx: &Ctx, a: SendArgs) -> Result<ExitCode, CliError> {
    let mut store = if a.dry_run {
        ctx.store_if_exists()?.ok_or_else(|| {
            CliError::fail(
                "not_found",
                format!("Billing period {} not found", a.period),
            )
        })?
    } else {
        ctx.store()?
    };
    let opts = SendOptions {
        period: a.period,
        pis: a.pi,
        resend: a.resend,
        dry_run: a.dry_run,
    };
    let report = send_with(ctx, &mut store, &opts)?;
    if ctx.global.json {
        super::print_json(&serde_json::to_value(&report).map_err(anyhow::Error::from)?);
    } else if !ctx.global.quiet {
        print_send(ctx, &report);
    }
    Ok(exit(report.failed))
}

fn list(ctx: &Ctx, period: Period, pi: Option<String>) -> Result<ExitCode, CliError> {
    let store = ctx.store()?;
    if store.period_status(period)?.is_none() {
        return Err(CliError::fail(
            "not_found",
            format!("Billing period {period} not found"),
        ));
    }
    let pi = pi.map(|p| p.trim().to_lowercase());
    let rows = store.list_statements(period, pi.as_deref())?;
    if ctx.global.json {
        super::print_json(&json!({"items": rows}));
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(
        Some(&format!("Statements - {period}")),
        &[
            "ID",
            "PI",
            "Project",
            "Fund/Org",
            "Total",
            "Kind",
            "Generated",
            "Sent",
        ],
    );
    for s in &rows {
        let kind = match s.kind.as_str() {
            "draft" => "Draft",
            "final" => "Final",
            _ => "Out of date",
        };
        t.row(vec![
            s.id.to_string(),
            s.pi_email.clone(),
            s.project_id.clone(),
            s.fund_orgs.join(", "),
            ctx.money(s.total),
            kind.into(),
            s.generated_at.clone(),
            s.sent_at.clone().unwrap_or_else(|| "Not sent".into()),
        ]);
    }
    print!("{}", t.render());
    let sent = rows.iter().filter(|s| s.sent_at.is_some()).count();
    println!("{sent} of {} sent", rows.len());
    Ok(ExitCode::SUCCESS)
}

/// `statements list|resend`.
pub fn run_statements(ctx: &Ctx, c: StatementsCommand) -> Result<ExitCode, CliError> {
    match c {
        StatementsCommand::List { period, pi } => list(ctx, period, pi),
        StatementsCommand::Resend { period, pi } => run_send(
            ctx,
            SendArgs {
                period,
                pi,
                resend: true,
                dry_run: false,
            },
        ),
    }
}

/// The demo's statements step (SPEC §11.3): final statements of the closed month, then the
/// dev-mode emails.
pub fn demo_cycle(
    store: &mut ocb_store::Store,
    ctx: &Ctx,
    actor: &ocb_store::Actor,
    period: Period,
) -> Result<(GenerationReport, SendReport), CliError> {
    let bar = Bar::new(ctx, "statements");
    let generated = ocb_statements::generate(
        store,
        &ctx.config,
        actor,
        &GenerateOptions::new(period),
        &bar,
    )?;
    let opts = SendOptions {
        period,
        pis: vec![],
        resend: false,
        dry_run: false,
    };
    let emails = ocb_statements::send(store, &ctx.config, actor, &opts, &Bar::new(ctx, "PIs"))?;
    Ok((generated, emails))
}
