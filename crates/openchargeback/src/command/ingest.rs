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

struct Bar(Option<indicatif::ProgressBar>);

impl Progress for Bar {
    fn rows(&mut self, rows: u64) {
        if let Some(b) = &self.0 {
            b.set_position(rows);
        }
    }
}

fn bar(ctx: &Ctx, name: &str) -> Bar {
    if !ctx.progress() {
        return Bar(None);
    }
    let b = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {msg}: {pos} rows ({per_sec}) {elapsed}")
    {
        b.set_style(style);
    }
    b.set_message(name.to_string());
    b.enable_steady_tick(std::time::Duration::from_millis(200));
    Bar(Some(b))
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
        if let Some(b) = progress.0 {
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
    let summary = out;
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
        out.push_str(&format!("Import refused: {}\n", f.message));
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
