//! `ingest PATH…`: one import per path (SPEC §5, §11.2).

use crate::cli::{IngestArgs, Mode};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::facts;
use ocb_core::source::ImportMode;
use ocb_ingest::{Database, ImportReport, IngestRequest, IngestSettings, KnownSource, Progress};
use std::process::ExitCode;

/// Builds the ingest settings from the configuration (shared with `demo`).
pub(crate) fn settings(ctx: &Ctx) -> IngestSettings {
    let c = &ctx.config;
    IngestSettings {
        tag_mapping: c.tag_mapping.clone(),
        rules: c.review.rules.clone(),
        known_sources: c
            .imports
            .known_sources
            .iter()
            .map(|k| KnownSource {
                name: k.name.clone(),
                display_name: Some(k.display_name.clone()),
                import_mode: Some(k.import_mode),
            })
            .collect(),
        default_mode: c.imports.default_mode,
        import_dir: c.output.import_dir.clone(),
    }
}

/// The progress display: a bar with percentage and ETA over the bytes of a plain file (the
/// size is known up front), a row counter for folders and streams. Rates are whole rows per
/// second with thousands separators (issue 16, item 11: it printed `186,220.506/s`).
struct Bar {
    bar: Option<indicatif::ProgressBar>,
    name: String,
    started: std::time::Instant,
    sized: bool,
}

impl Progress for Bar {
    fn bytes(&mut self, read: u64, total: u64) {
        let Some(b) = &self.bar else { return };
        if total > 0 && !self.sized {
            self.sized = true;
            b.set_length(total);
            b.set_style(style(
                "{msg} [{bar:30}] {percent:>3}% eta {eta}",
                "{spinner} {msg}",
            ));
        }
        if self.sized {
            b.set_position(read.min(total));
        }
    }

    fn rows(&mut self, rows: u64) {
        let Some(b) = &self.bar else { return };
        let secs = self.started.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { rows as f64 / secs } else { 0.0 };
        b.set_message(format!(
            "{}: {} rows ({} rows/s)",
            self.name,
            crate::output::thousands(rows),
            crate::output::thousands(rate.round() as u64)
        ));
    }
}

/// An indicatif style, or `fallback` should the template ever be rejected.
fn style(template: &str, fallback: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .or_else(|_| indicatif::ProgressStyle::with_template(fallback))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
        .progress_chars("=> ")
}

fn bar(ctx: &Ctx, name: &str) -> Bar {
    let bar = ctx.progress().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(style("{spinner} {msg} {elapsed}", "{spinner} {msg}"));
        b.set_message(name.to_string());
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    });
    Bar {
        bar,
        name: name.to_string(),
        started: std::time::Instant::now(),
        sized: false,
    }
}

pub fn run(ctx: &Ctx, args: IngestArgs) -> Result<ExitCode, CliError> {
    let settings = settings(ctx);
    let mut reports = Vec::new();
    let mut store = if args.dry_run {
        None
    } else {
        let mut store = ctx.store()?;
        // One command per process: an import alone with the database may skip the WAL.
        store.allow_solo_imports();
        Some(store)
    };
    let read_store = if args.dry_run {
        ctx.store_if_exists()?
    } else {
        None
    };
    if let Some(s) = &store {
        ocb_ingest::clean_orphan_artefacts(s, &settings.import_dir)?;
    }
    for path in &args.paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = match &args.source {
            Some(s) => s.clone(),
            None => match ctx.config.detect_source(&name) {
                Some(k) => k.name.clone(),
                None => {
                    return Err(CliError::usage(format!(
                        "No data source specified for {name}: pass --source NAME (no imports.known_sources pattern matches the file name)"
                    )))
                }
            },
        };
        let req = IngestRequest {
            path: path.clone(),
            filename: None,
            source,
            expected_period: args.period,
            mode: args.mode.map(|m| {
                if m == Mode::Upsert {
                    ImportMode::Upsert
                } else {
                    ImportMode::Replace
                }
            }),
            dry_run: args.dry_run,
            skip_invalid: args.skip_invalid,
            actor: ctx.actor(),
        };
        let db = match (&mut store, &read_store) {
            (Some(s), _) => Database::Write(s),
            (None, Some(s)) => Database::Read(s),
            (None, None) => Database::Empty,
        };
        let mut progress = bar(ctx, &name);
        let report = ocb_ingest::ingest(db, &settings, &req, &mut progress)?;
        if let Some(b) = progress.bar {
            b.finish_and_clear();
        }
        if let (Some(dest), Some(src)) = (&args.errors_file, &report.errors_path) {
            // Whole or not at all, like every output (`ocb_publish`, issue 15).
            std::fs::read(src)
                .and_then(|bytes| ocb_publish::write_file(dest, &bytes, None))
                .map_err(|e| {
                    CliError::fail(
                        "internal",
                        format!("copying error report to {}: {e}", dest.display()),
                    )
                })?;
        }
        if !ctx.global.json && !ctx.global.quiet {
            let (summary, problems) = human(ctx, &report);
            print!("{summary}");
            eprint!("{problems}");
        } else if !ctx.global.json {
            if let Some(f) = &report.failure {
                eprintln!("error: {}: {}", report.filename, f.message);
            }
        }
        reports.push(report);
    }
    let failed = reports.iter().any(|r| !r.succeeded());
    if ctx.global.json {
        super::print_json(&serde_json::json!({"files": reports}));
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The summary table (stdout) and the warnings, errors and refusal (stderr).
fn human(ctx: &Ctx, r: &ImportReport) -> (String, String) {
    let t = &r.totals;
    let title = match (r.dry_run, r.succeeded()) {
        (true, _) => "Import Summary (Dry run — nothing written)",
        (false, true) => "Import Summary",
        (false, false) => {
            "Import Summary (refused — nothing written; counts show what the file holds)"
        }
    };
    let periods: Vec<&str> = r.periods.iter().map(|p| p.period.as_str()).collect();
    let out = facts(
        title,
        &[
            ("File", r.filename.clone()),
            ("Source", r.source.clone()),
            ("Mode", r.mode.clone()),
            (
                "Period(s)",
                if periods.is_empty() {
                    "-".into()
                } else {
                    periods.join(", ")
                },
            ),
            ("Rows read", t.rows_read.to_string()),
            ("Inserted", t.inserted.to_string()),
            ("Updated", t.updated.to_string()),
            ("Unchanged", t.unchanged.to_string()),
            ("Removed", t.removed.to_string()),
            ("Rejected", t.rejected.to_string()),
            (
                "Flagged",
                format!("{} ({})", t.flagged_rows, ctx.money(t.flagged_cost)),
            ),
            ("Total", ctx.money(t.total_cost)),
            ("Status", r.status.clone()),
        ],
    );
    // A file that could not be read at all has nothing to summarise: its error says it all.
    let unread = r.failure.as_ref().is_some_and(|f| f.kind == "file_error") && t.rows_read == 0;
    let summary = if unread { String::new() } else { out };
    let mut out = String::new();
    for w in r.warnings.iter().take(20) {
        out.push_str(&format!("warning: {}{}\n", prefix(&w.line), w.message));
    }
    if r.warnings.len() > 20 {
        out.push_str(&format!("… and {} more warnings\n", r.warnings.len() - 20));
    }
    for e in r.errors.iter().take(20) {
        let cell = match (&e.column, &e.value) {
            (Some(c), Some(v)) => format!("{c}, \"{v}\": "),
            (Some(c), None) => format!("{c}: "),
            _ => String::new(),
        };
        out.push_str(&format!(
            "error: {}{cell}{} ({})\n",
            prefix(&e.line),
            e.message,
            e.code
        ));
    }
    if r.error_count > 20 {
        let full = r
            .errors_path
            .clone()
            .map(|p| format!(" (full list: {p})"))
            .unwrap_or_default();
        out.push_str(&format!("… and {} more{full}\n", r.error_count - 20));
    }
    let mut summary = summary;
    if let Some(p) = &r.rejects_path {
        summary.push_str(&format!("Rejected rows written to: {p}\n"));
    }
    if let Some(p) = &r.errors_path {
        summary.push_str(&format!("Error report: {p}\n"));
    }
    if let Some(f) = &r.failure {
        // The refusal repeats nothing already printed as an error (issue 16, item 11).
        if r.errors.iter().any(|e| e.message == f.message) {
            out.push_str("Import refused: nothing written.\n");
        } else {
            out.push_str(&format!("Import refused: {}\n", f.message));
        }
    }
    (summary, out)
}

fn prefix(line: &str) -> String {
    if line.is_empty() {
        String::new()
    } else {
        format!("{line}: ")
    }
}
