//! `generate --restore-missing` (SPEC §8.6): the only generation allowed in a finalized period.
//! Re-renders PDFs missing on disk from the stored template data and changes nothing else — no
//! figures, no rows, no sent status. Also used by sending when an attachment is missing (§9.2).

use crate::generate::{GenerateOptions, GenerationReport, StatementLine};
use crate::{io_err, Progress, Result, StatementsError};
use ocb_config::Config;
use ocb_core::period::{Period, PeriodStatus};
use ocb_render::Renderer;
use ocb_store::{Store, StoredStatement};
use std::time::Instant;

/// Renders one stored statement to its PDF path: staged next to it, synced, renamed into place
/// (`ocb_publish`). Its row already names the file, so there is nothing to record.
pub(crate) fn rerender(store: &Store, renderer: &Renderer, s: &StoredStatement) -> Result<()> {
    let data = store.statement_template_data(s.id)?;
    let pdf = renderer
        .render_pdf(&data)
        .map_err(|source| StatementsError::Render {
            pi: s.pi_email.clone(),
            project: s.project_id.clone(),
            source,
        })?;
    ocb_publish::write_file(&s.pdf_path, &pdf, None)
        .map(drop)
        .map_err(io_err(format!("writing {}", s.pdf_path.display())))
}

pub(crate) fn restore_missing(
    store: &mut Store,
    config: &Config,
    period: Period,
    status: PeriodStatus,
    opts: &GenerateOptions,
    progress: &dyn Progress,
    started: Instant,
) -> Result<GenerationReport> {
    let statements = store.list_statements(period, None)?;
    let missing: Vec<&StoredStatement> = statements
        .iter()
        .filter(|s| !s.pdf_path.is_file())
        .collect();
    let renderer = if missing.is_empty() || opts.dry_run {
        None
    } else {
        Some(crate::settings::renderer(config).map_err(StatementsError::Renderer)?)
    };
    progress.begin(missing.len() as u64);
    if let Some(r) = &renderer {
        for s in &missing {
            rerender(store, r, s)?;
            progress.advance(1);
        }
    }
    progress.finish();
    let total: ocb_core::Decimal = statements.iter().map(|s| s.total).sum();
    let exact: ocb_core::exact::ExactSum = statements.iter().map(|s| s.total_exact).sum();
    let mut pis: Vec<&str> = statements.iter().map(|s| s.pi_email.as_str()).collect();
    pis.dedup();
    Ok(GenerationReport {
        period: period.to_string(),
        kind: if status == PeriodStatus::Open {
            "draft"
        } else {
            "final"
        },
        dry_run: opts.dry_run,
        run_id: None,
        pis: pis.len(),
        projects: statements.len(),
        total: total.to_string(),
        total_exact: exact.to_string(),
        new: 0,
        updated: 0,
        unchanged: statements.len() - missing.len(),
        removed: 0,
        restored: missing.len(),
        excluded_count: 0,
        excluded_amount_exact: "0".into(),
        excluded_amount: "0.00".into(),
        lines_without_pi: 0,
        statements: statements
            .iter()
            .map(|s| StatementLine {
                statement_id: s.id,
                pi_email: s.pi_email.clone(),
                project_id: s.project_id.clone(),
                fund_orgs: s.fund_orgs.clone(),
                total: s.total.to_string(),
                status: if s.pdf_path.is_file() && !missing.iter().any(|m| m.id == s.id) {
                    "unchanged"
                } else {
                    "restored"
                },
                filename: s
                    .pdf_path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
            })
            .collect(),
        pdf_dir: Some(config.output.pdf_dir.clone()),
        template: renderer
            .as_ref()
            .map(|r| r.template_origin().to_string())
            .unwrap_or_default(),
        workers: 1,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}
