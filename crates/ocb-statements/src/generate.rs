//! A generation run (SPEC §8.4–§8.6): snapshot → statements from billing lines → parallel PDF
//! rendering into a staging directory → one transaction → atomic moves. Dry runs render into a
//! temporary (or `--preview-dir`) directory and write nothing else.

use crate::files::{new_staging, publish, recover, RenderDir};
use crate::settings::{
    account_rules, branding_json, contact_email, display_time, local_format, renderer,
};
use crate::{io_err, pdf_path, Progress, Result, StatementsError};
use chrono::{DateTime, SecondsFormat, Utc};
use ocb_config::Config;
use ocb_core::billing::{billing_lines, BillableCharge};
use ocb_core::exact::ExactSum;
use ocb_core::period::{Period, PeriodStatus};
use ocb_core::statement::{
    content_hash, pdf_file_names, statement_charges, statements_from_lines, template_data,
    DataSettings, StatementFigures, StatementMeta,
};
use ocb_core::Decimal;
use ocb_render::Renderer;
use ocb_store::{Actor, GenerationCommit, StatementUpsert, Store};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Options of `generate`.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Period.
    pub period: Period,
    /// Compute, render into a temporary directory, report; write nothing.
    pub dry_run: bool,
    /// With a dry run: keep the rendered PDFs here.
    pub preview_dir: Option<PathBuf>,
    /// Renderer threads (default `statements.workers`).
    pub workers: Option<usize>,
    /// Only re-render PDFs missing on disk from the stored template data.
    pub restore_missing: bool,
}

impl GenerateOptions {
    /// A normal run for `period`.
    pub fn new(period: Period) -> Self {
        Self {
            period,
            dry_run: false,
            preview_dir: None,
            workers: None,
            restore_missing: false,
        }
    }
}

/// One statement of the report.
#[derive(Debug, Clone, Serialize)]
pub struct StatementLine {
    /// Statement id (reserved id for new statements in a dry run).
    pub statement_id: i64,
    /// PI email.
    pub pi_email: String,
    /// Project.
    pub project_id: String,
    /// Fund/orgs.
    pub fund_orgs: Vec<String>,
    /// Amount due (rounded).
    pub total: String,
    /// `new`, `updated`, `unchanged`, `removed` or `restored`.
    pub status: &'static str,
    /// PDF file name.
    pub filename: String,
}

/// The result of a run (SPEC §8.4 "Result report").
#[derive(Debug, Clone, Serialize)]
pub struct GenerationReport {
    /// Period.
    pub period: String,
    /// `draft` or `final`.
    pub kind: &'static str,
    /// Nothing was written.
    pub dry_run: bool,
    /// Run id (real runs).
    pub run_id: Option<i64>,
    /// Distinct PIs.
    pub pis: usize,
    /// Statements (= projects).
    pub projects: usize,
    /// Σ statement totals (rounded figures).
    pub total: String,
    /// Σ exact amounts.
    pub total_exact: String,
    /// New statements.
    pub new: usize,
    /// Changed statements.
    pub updated: usize,
    /// Unchanged statements.
    pub unchanged: usize,
    /// Removed statements.
    pub removed: usize,
    /// PDFs re-rendered by `--restore-missing`.
    pub restored: usize,
    /// Charges excluded because they are flagged for review.
    pub excluded_count: i64,
    /// Their exact sum.
    pub excluded_amount_exact: String,
    /// Their sum rounded to cents.
    pub excluded_amount: String,
    /// Billing lines without a PI (not billable to anyone; should be 0).
    pub lines_without_pi: usize,
    /// Statements, ordered by PI and project, then removed ones.
    pub statements: Vec<StatementLine>,
    /// Where the PDFs are (or were rendered, for dry runs with a preview directory).
    pub pdf_dir: Option<PathBuf>,
    /// The statement template used.
    pub template: String,
    /// Renderer threads.
    pub workers: usize,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

struct Planned<'a> {
    id: i64,
    figures: StatementFigures,
    charges: Vec<&'a BillableCharge>,
    pi_name: Option<String>,
    /// The template data as stored (JSON text), set by the worker that renders the statement. The
    /// data object is built there and dropped after rendering: a long statement's object is a few
    /// hundred KiB as a `Value`, and holding all of a run's at once was most of the run's peak
    /// memory (issue 16, item 10).
    data: OnceLock<String>,
    hash: String,
    filename: String,
    status: &'static str,
}

/// The strings of the data settings that are the same for every statement of a run.
struct RunStrings {
    organization_name: String,
    branding: Option<Value>,
    generated_at: String,
    generated_at_utc: String,
    statement_date: String,
}

impl RunStrings {
    fn new(config: &Config, now: DateTime<Utc>) -> RunStrings {
        RunStrings {
            organization_name: config
                .email
                .as_ref()
                .map_or("Research Computing", |e| e.from_name.as_str())
                .to_owned(),
            branding: branding_json(config),
            generated_at: display_time(config, now),
            generated_at_utc: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            statement_date: local_format(config, now, "%Y-%m-%d"),
        }
    }

    fn settings<'a>(&'a self, config: &'a Config) -> DataSettings<'a> {
        DataSettings {
            currency: &config.currency,
            rounding: config.rounding,
            organization_name: &self.organization_name,
            contact_email: contact_email(config),
            paper: config.statements.paper.as_str(),
            generated_at: &self.generated_at,
            generated_at_utc: &self.generated_at_utc,
            statement_date: &self.statement_date,
            branding: self.branding.as_ref(),
        }
    }
}

impl Planned<'_> {
    /// The statement's template data object (SPEC §8.10).
    fn template_data(&self, period: Period, kind: &str, settings: &DataSettings<'_>) -> Value {
        let meta = StatementMeta {
            statement_id: self.id,
            is_draft: kind == "draft",
            is_stale: false,
            pi_name: self.pi_name.as_deref(),
        };
        template_data(period, &self.figures, &self.charges, &meta, settings)
    }
}

/// The first non-empty `pi_name` tag of each PI's charges (by charge id).
fn pi_names(charges: &[BillableCharge]) -> HashMap<&str, &str> {
    let mut names = HashMap::new();
    for c in charges {
        if let (Some(pi), Some(name)) = (c.pi_email.as_deref(), c.pi_name.as_deref()) {
            if !name.trim().is_empty() {
                names.entry(pi).or_insert(name.trim());
            }
        }
    }
    names
}

fn plan<'a>(
    config: &Config,
    period: Period,
    kind: &str,
    charges: &'a [BillableCharge],
    existing: &HashMap<(String, String), (i64, String, String)>,
    mut next_id: i64,
) -> (Vec<Planned<'a>>, usize) {
    let lines = billing_lines(
        statement_charges(charges),
        &account_rules(config),
        config.rounding,
    );
    let (figures, orphans) = statements_from_lines(&lines);
    let by_id: HashMap<i64, &BillableCharge> = charges.iter().map(|c| (c.id, c)).collect();
    let names = pi_names(charges);
    let pairs: Vec<(&str, &str)> = figures
        .iter()
        .map(|f| (f.pi_email.as_str(), f.project.as_str()))
        .collect();
    let filenames = pdf_file_names(&period.to_string(), &pairs);
    let planned = figures
        .into_iter()
        .zip(filenames)
        .map(|(f, filename)| {
            let key = (f.pi_email.clone(), f.project.clone());
            let (id, status) = match existing.get(&key) {
                Some((id, hash, old_kind)) => (*id, Some((hash, old_kind))),
                None => {
                    next_id += 1;
                    (next_id - 1, None)
                }
            };
            let stmt_charges: Vec<&BillableCharge> = f
                .charge_ids
                .iter()
                .filter_map(|id| by_id.get(id).copied())
                .collect();
            let pi_name = names.get(f.pi_email.as_str()).map(|n| n.to_string());
            let hash = content_hash(&period.to_string(), &f, &stmt_charges, config.rounding);
            let status = match status {
                None => "new",
                Some((h, k)) if *h == hash && k == kind => "unchanged",
                Some(_) => "updated",
            };
            Planned {
                id,
                figures: f,
                charges: stmt_charges,
                pi_name,
                data: OnceLock::new(),
                hash,
                filename,
                status,
            }
        })
        .collect();
    (planned, orphans.len())
}

/// What every statement of a run shares.
struct RunContext<'a> {
    period: Period,
    kind: &'static str,
    settings: DataSettings<'a>,
}

/// Renders every job into `dir` with `workers` threads; the first failure stops the others.
fn render_all(
    renderer: &Renderer,
    jobs: &[Planned<'_>],
    run: &RunContext<'_>,
    dir: &RenderDir,
    workers: usize,
    progress: &dyn Progress,
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let error: Mutex<Option<StatementsError>> = Mutex::new(None);
    progress.begin(jobs.len() as u64);
    ocb_render::on_render_threads(workers, || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= jobs.len() || failed.load(Ordering::Relaxed) {
            break;
        }
        let job = &jobs[i];
        let data = job.template_data(run.period, run.kind, &run.settings);
        let result = renderer
            .render_pdf(&data)
            .map_err(|source| StatementsError::Render {
                pi: job.figures.pi_email.clone(),
                project: job.figures.project.clone(),
                source,
            })
            .and_then(|pdf| {
                dir.save(&job.filename, &pdf)
                    .map_err(io_err(format!("writing {}", job.filename)))
            })
            .map(|()| {
                // Set once: each job index is taken by one worker only.
                let _ = job.data.set(data.to_string());
            });
        match result {
            Ok(()) => progress.advance(1),
            Err(e) => {
                failed.store(true, Ordering::Relaxed);
                error
                    .lock()
                    .expect("no panics while holding the lock")
                    .get_or_insert(e);
                break;
            }
        }
    })
    .map_err(io_err("starting the renderer threads".to_string()))?;
    progress.finish();
    match error.into_inner().expect("workers have ended") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn upserts(config: &Config, planned: &mut [Planned<'_>]) -> Vec<StatementUpsert> {
    planned
        .iter_mut()
        .map(|p| StatementUpsert {
            id: p.id,
            pi_email: p.figures.pi_email.clone(),
            project_id: p.figures.project.clone(),
            fund_orgs: p.figures.fund_orgs(),
            pi_name: p.pi_name.clone(),
            total: p.figures.totals.amount,
            total_list: p.figures.totals.list,
            total_exact: p.figures.totals.amount_exact,
            total_list_exact: p.figures.totals.list_exact,
            charge_count: p.charges.len() as i64,
            content_hash: p.hash.clone(),
            template_data: p
                .data
                .take()
                .expect("render_all succeeded, so every statement's data was set"),
            pdf_path: pdf_path(&config.output.pdf_dir, &p.filename),
        })
        .collect()
}

/// Runs `generate` for one period.
pub fn generate(
    store: &mut Store,
    config: &Config,
    actor: &Actor,
    opts: &GenerateOptions,
    progress: &dyn Progress,
) -> Result<GenerationReport> {
    let started = Instant::now();
    let now = Utc::now();
    let period = opts.period;
    let pdf_dir = config.output.pdf_dir.clone();
    if !opts.dry_run {
        recover(store, &pdf_dir)?;
    }
    let snap = store.generation_snapshot(period)?;
    phase("snapshot", started, snap.charges.len());
    if opts.restore_missing {
        return crate::restore::restore_missing(
            store,
            config,
            period,
            snap.status,
            opts,
            progress,
            started,
        );
    }
    let kind = match snap.status {
        PeriodStatus::Open => "draft",
        PeriodStatus::Closed => "final",
        PeriodStatus::Finalized => {
            return Err(StatementsError::Refused(format!(
                "Period {period} is finalized; its statements cannot be regenerated (use --restore-missing to re-render missing PDFs)"
            )))
        }
    };
    let existing: HashMap<(String, String), (i64, String, String)> = snap
        .existing
        .iter()
        .map(|s| {
            (
                (s.pi_email.clone(), s.project_id.clone()),
                (s.id, s.content_hash.clone(), s.kind.clone()),
            )
        })
        .collect();
    let (mut planned, orphans) = plan(config, period, kind, &snap.charges, &existing, snap.next_id);
    phase("plan", started, planned.len());
    let strings = RunStrings::new(config, now);
    let run = RunContext {
        period,
        kind,
        settings: strings.settings(config),
    };
    if orphans > 0 {
        tracing::warn!(period = %period, lines = orphans, "billable charges without a PI email were left out of the statements");
    }
    let renderer = renderer(config).map_err(StatementsError::Renderer)?;
    let workers = opts
        .workers
        .unwrap_or_else(|| config.statements.worker_count())
        .clamp(1, planned.len().max(1));
    let target = render_dir(opts, &pdf_dir)?;
    if let Err(e) = render_all(&renderer, &planned, &run, &target, workers, progress) {
        target.discard_after_failure();
        return Err(e);
    }
    phase("render", started, planned.len());
    let mut report = report(config, period, kind, &planned, &snap, orphans, opts.dry_run);
    report.template = renderer.template_origin().to_string();
    report.workers = workers;
    match target {
        RenderDir::Staging(claim) => {
            let commit = GenerationCommit {
                period,
                kind,
                counter: snap.counter,
                started_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
                statements: upserts(config, &mut planned),
                staging_dir: claim.path().to_path_buf(),
            };
            let outcome = publish_run(store, actor, &commit, claim)?;
            report.run_id = Some(outcome.run_id);
            (report.new, report.updated, report.unchanged, report.removed) = (
                outcome.new,
                outcome.updated,
                outcome.unchanged,
                outcome.removed,
            );
            report.pdf_dir = Some(pdf_dir);
        }
        dry => {
            dry.discard()?;
            report.pdf_dir = opts.preview_dir.clone();
        }
    }
    phase("commit", started, report.projects);
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Logs (at DEBUG, `-vv`) when a phase of a run ended: where a slow run spends its time
/// (the serial phases, snapshot, plan and commit, bound the speed of large runs).
fn phase(name: &str, started: Instant, items: usize) {
    let at_ms = started.elapsed().as_millis() as u64;
    tracing::debug!(
        event = "generate.phase",
        phase = name,
        at_ms,
        items,
        "phase done"
    );
}

/// Where the PDFs are rendered: the run's own staging directory in `pdf_dir`, or for a dry run
/// the preview directory or a scratch one.
fn render_dir(opts: &GenerateOptions, pdf_dir: &Path) -> Result<RenderDir> {
    Ok(match (&opts.preview_dir, opts.dry_run) {
        (Some(dir), true) => {
            std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
            RenderDir::Preview(dir.clone())
        }
        (None, true) => RenderDir::Scratch(
            tempfile::Builder::new()
                .prefix("ocb-dry-run-")
                .tempdir()
                .map_err(io_err("creating a scratch directory".to_string()))?,
        ),
        (_, false) => RenderDir::Staging(new_staging(pdf_dir)?),
    })
}

/// Makes the rendered PDFs durable, commits the run (the point of no return), then moves the
/// PDFs into place. A failure before the commit discards the staging directory; after it, the
/// next run's recovery finishes the moves.
fn publish_run(
    store: &mut Store,
    actor: &Actor,
    commit: &GenerationCommit,
    claim: ocb_publish::DirClaim,
) -> Result<ocb_store::RunOutcome> {
    let staging = claim.path().to_path_buf();
    // The PDFs' names in the staging folder, and its own name in pdf_dir: recovery of a
    // committed run needs both after a power cut.
    let synced = ocb_publish::sync_dir(&staging)
        .and_then(|()| ocb_publish::sync_parent(&staging))
        .map_err(io_err(format!("syncing {}", staging.display())));
    let outcome = match synced.and_then(|()| Ok(store.commit_generation(actor, commit)?)) {
        Ok(o) => o,
        Err(e) => {
            RenderDir::Staging(claim).discard_after_failure();
            return Err(e);
        }
    };
    let keep: HashSet<PathBuf> = commit
        .statements
        .iter()
        .map(|s| s.pdf_path.clone())
        .collect();
    publish(&staging, &outcome.removed_pdfs, &keep)?;
    store.finish_generation_run(outcome.run_id)?;
    claim
        .remove()
        .map_err(io_err(format!("removing {}", staging.display())))?;
    Ok(outcome)
}

fn report(
    config: &Config,
    period: Period,
    kind: &'static str,
    planned: &[Planned<'_>],
    snap: &ocb_store::GenerationSnapshot,
    orphans: usize,
    dry_run: bool,
) -> GenerationReport {
    let mut lines: Vec<StatementLine> = planned
        .iter()
        .map(|p| StatementLine {
            statement_id: p.id,
            pi_email: p.figures.pi_email.clone(),
            project_id: p.figures.project.clone(),
            fund_orgs: p.figures.fund_orgs(),
            total: p.figures.totals.amount.to_string(),
            status: p.status,
            filename: p.filename.clone(),
        })
        .collect();
    let current: HashSet<(&str, &str)> = planned
        .iter()
        .map(|p| (p.figures.pi_email.as_str(), p.figures.project.as_str()))
        .collect();
    for s in &snap.existing {
        if !current.contains(&(s.pi_email.as_str(), s.project_id.as_str())) {
            lines.push(StatementLine {
                statement_id: s.id,
                pi_email: s.pi_email.clone(),
                project_id: s.project_id.clone(),
                fund_orgs: s.fund_orgs.clone(),
                total: s.total.to_string(),
                status: "removed",
                filename: s
                    .pdf_path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
            });
        }
    }
    let count = |st: &str| lines.iter().filter(|l| l.status == st).count();
    let pis: BTreeMap<&str, ()> = planned
        .iter()
        .map(|p| (p.figures.pi_email.as_str(), ()))
        .collect();
    let total: Decimal = planned.iter().map(|p| p.figures.totals.amount).sum();
    let exact: ExactSum = planned.iter().map(|p| p.figures.totals.amount_exact).sum();
    GenerationReport {
        period: period.to_string(),
        kind,
        dry_run,
        run_id: None,
        pis: pis.len(),
        projects: planned.len(),
        total: config.rounding.cents(total).to_string(),
        total_exact: exact.to_string(),
        new: count("new"),
        updated: count("updated"),
        unchanged: count("unchanged"),
        removed: count("removed"),
        restored: 0,
        excluded_count: snap.excluded.0,
        excluded_amount_exact: snap.excluded.1.to_string(),
        excluded_amount: snap.excluded.1.cents_text(config.rounding),
        lines_without_pi: orphans,
        statements: lines,
        pdf_dir: None,
        template: String::new(),
        workers: 0,
        duration_ms: 0,
    }
}
