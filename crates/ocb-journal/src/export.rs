//! One journal export end to end: read the period's charges, build billing lines, render the
//! format, write the file and record the export (SPEC §10.1, §10.11, audit `export.journal`).
//! A failed export writes nothing and is audited as `export.failed`. The file is staged, synced,
//! recorded and renamed through `ocb_publish` (issue 15), so no partial or unrecorded journal
//! ever carries a final name.

use crate::formats::{
    render_default, render_gl, render_gl_upstream, render_standard, render_summary, Rendered,
};
use crate::gl::{build_gl, CreditFundOrgs};
use crate::template::{load_template, render_template, TemplateExtras};
use crate::{Format, JournalError};
use chrono::{DateTime, Utc};
use ocb_config::{Config, TimeZoneSetting};
use ocb_core::billing::{billing_lines, AccountRules};
use ocb_core::period::Period;
use ocb_publish::StagedFile;
use ocb_store::{Actor, AuditEvent, NewJournalExport, Publication, Store, StoreError};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the journal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// `output.journal_dir` with the CLI name `journal_{period}_{stamp}.csv`.
    CliDefault,
    /// `output.journal_dir` with the web/API name `journal_{period}_{format}_{stamp}.{ext}`.
    Named,
    /// An explicit file (parent directories created).
    File(PathBuf),
    /// Standard output: no file is stored.
    Stdout,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The period.
    pub period: Period,
    /// The format.
    pub format: Format,
    /// Also include pending flagged charges.
    pub include_flagged: bool,
    /// Destination.
    pub output: OutputTarget,
    /// Who exports.
    pub actor: Actor,
}

/// The export record (SPEC §10.11); also the `--json` document of `export-journal`.
#[derive(Debug, Clone, Serialize)]
pub struct ExportRecord {
    /// Export id (also given to templates as `export.id`).
    pub id: String,
    /// Row id in the export log (SPEC §10.11): the export id shown in the web UI and the API.
    pub log_id: i64,
    /// UTC time (RFC 3339).
    pub exported_at: String,
    /// Period.
    pub period: String,
    /// Period status at export time.
    pub period_status: String,
    /// Format.
    pub format: String,
    /// Template file name (`template` format).
    pub template: Option<String>,
    /// Pending flagged charges included (journals then do not reconcile with statements).
    pub include_flagged: bool,
    /// Data lines written.
    pub row_count: usize,
    /// Charges exported.
    pub charge_count: usize,
    /// Net charge: Σ of the billing-line amounts.
    pub total: String,
    /// Σ debits (gl/template).
    pub debit_total: Option<String>,
    /// Σ credits (gl/template).
    pub credit_total: Option<String>,
    /// Actor.
    pub actor: String,
    /// Channel.
    pub channel: String,
    /// File name (`-` for stdout).
    pub file_name: String,
    /// Stored path (`None` for stdout).
    pub path: Option<PathBuf>,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Warnings (open period, empty accounts, flagged charges included).
    pub warnings: Vec<String>,
}

/// The record plus the content (printed by the caller for [`OutputTarget::Stdout`]).
#[derive(Debug, Clone)]
pub struct ExportOutcome {
    /// The export record.
    pub record: ExportRecord,
    /// The journal bytes.
    pub content: String,
}

/// Runs one export at time `now`; failures are audited as `export.failed`.
pub fn export_journal(
    store: &Store,
    config: &Config,
    req: &ExportRequest,
    now: DateTime<Utc>,
) -> Result<ExportOutcome, JournalError> {
    match run(store, config, req, now) {
        Ok(outcome) => Ok(outcome),
        Err(e) => {
            if !matches!(e, JournalError::Store(_)) {
                let event = AuditEvent {
                    event: "export.failed",
                    target_type: Some("journal"),
                    target_id: None,
                    period: Some(req.period.to_string()),
                    details: json!({"format": req.format.as_str(), "include_flagged": req.include_flagged, "reason": e.to_string()}),
                };
                store.audit(&req.actor, &event)?;
            }
            Err(e)
        }
    }
}

fn run(
    store: &Store,
    config: &Config,
    req: &ExportRequest,
    now: DateTime<Utc>,
) -> Result<ExportOutcome, JournalError> {
    let period = req.period.to_string();
    let status = store
        .period_status(req.period)?
        .ok_or_else(|| JournalError::PeriodNotFound(period.clone()))?;
    let charges = store.billable_charges(&period, req.include_flagged)?;
    let accounts = AccountRules::new(
        config
            .imports
            .known_sources
            .iter()
            .map(|s| (s.name.as_str(), s.account_code.as_str())),
        &config.journal.default_account,
    );
    let lines = billing_lines(&charges, &accounts, config.rounding);
    let total: Decimal = lines.iter().map(|l| l.amount).sum();
    let mut warnings = Vec::new();
    if status.as_str() == "open" {
        warnings.push("period is open; figures may change".to_string());
    }
    if req.include_flagged {
        warnings.push(
            "flagged charges included: this journal does not reconcile with statements".into(),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let (mut template, mut debit_total, mut credit_total, mut ext) =
        (None, None, None, "csv".to_string());
    let rendered = match req.format {
        Format::Default => render_default(&lines, &period),
        Format::Summary => render_summary(&lines, &period),
        Format::Standard => render_standard(&charges, &period, config.rounding),
        Format::GlUpstream => {
            let credits = CreditFundOrgs::resolve(config, lines.iter().map(|l| l.source.as_str()));
            warnings.extend(credits.warning());
            // Both columns sum to the net charge (signed rows, see `render_gl_upstream`).
            debit_total = Some(total.to_string());
            credit_total = Some(total.to_string());
            render_gl_upstream(&lines, &period, &credits)
        }
        Format::Gl | Format::Template => {
            let gl = build_gl(&lines, &period, config)?;
            warnings.extend(gl.warnings.iter().cloned());
            debit_total = Some(gl.debit_total.to_string());
            credit_total = Some(gl.credit_total.to_string());
            if req.format == Format::Gl {
                render_gl(&gl, &period)
            } else {
                let src = load_template(config)?;
                ext = src.extension();
                template = Some(src.name.clone());
                let extras = TemplateExtras {
                    period: period.clone(),
                    generated_at: display_time(config.timezone, now, "%Y-%m-%d %H:%M:%S"),
                    export_id: id.clone(),
                    format: req.format.to_string(),
                    include_flagged: req.include_flagged,
                };
                let content = render_template(&src, &gl, &extras, config)?;
                Rendered {
                    rows: gl.entries.len(),
                    content,
                }
            }
        }
    };
    let sha256 = hex::encode(Sha256::digest(rendered.content.as_bytes()));
    let record = ExportRecord {
        id,
        log_id: 0,
        exported_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        period: period.clone(),
        period_status: status.as_str().to_string(),
        format: req.format.to_string(),
        template,
        include_flagged: req.include_flagged,
        row_count: rendered.rows,
        charge_count: charges.len(),
        total: total.to_string(),
        debit_total,
        credit_total,
        actor: req.actor.name.clone(),
        channel: req.actor.channel.clone(),
        file_name: "-".into(),
        path: None,
        sha256,
        warnings,
    };
    let stamp = display_time(config.timezone, now, "%Y%m%d_%H%M%S");
    let outcome = ExportOutcome {
        record,
        content: rendered.content,
    };
    match Destination::of(config, req, &period, &stamp, &ext)? {
        None => record_stdout(store, req, outcome),
        Some(dest) => store_file(store, config, req, outcome, &dest),
    }
}

/// The folder and name of the journal file.
struct Destination {
    dir: PathBuf,
    stem: String,
    ext: String,
    /// `--output FILE`: that exact name, replacing a file already there.
    explicit: Option<String>,
}

impl Destination {
    fn of(
        config: &Config,
        req: &ExportRequest,
        period: &str,
        stamp: &str,
        ext: &str,
    ) -> Result<Option<Self>, JournalError> {
        let dir = config.output.journal_dir.clone();
        let named = |stem: String, ext: &str| Self {
            dir: dir.clone(),
            stem,
            ext: ext.to_string(),
            explicit: None,
        };
        Ok(match &req.output {
            OutputTarget::Stdout => None,
            OutputTarget::CliDefault => Some(named(format!("journal_{period}_{stamp}"), "csv")),
            OutputTarget::Named => Some(named(
                format!("journal_{period}_{}_{stamp}", req.format),
                ext,
            )),
            OutputTarget::File(p) => {
                let io = |source| JournalError::Io {
                    context: format!("writing journal {}", p.display()),
                    source,
                };
                if p.is_dir() {
                    // Refused now: after the commit the rename would fail with a record made.
                    return Err(io(std::io::Error::new(
                        std::io::ErrorKind::IsADirectory,
                        "a directory is there; name a file",
                    )));
                }
                let (dir, name) = ocb_publish::split(p).map_err(io)?;
                Some(Self {
                    dir,
                    stem: String::new(),
                    ext: String::new(),
                    explicit: Some(name),
                })
            }
        })
    }

    /// The `n`th candidate name: `{stem}.{ext}`, then `{stem}-2.{ext}`, `-3` … (SPEC §10.1).
    fn name(&self, n: u32) -> String {
        match (&self.explicit, n) {
            (Some(name), _) => name.clone(),
            (None, 1) => format!("{}.{}", self.stem, self.ext),
            (None, n) => format!("{}-{n}.{}", self.stem, self.ext),
        }
    }
}

/// Standard output: the export is recorded, no file is stored.
fn record_stdout(
    store: &Store,
    req: &ExportRequest,
    mut outcome: ExportOutcome,
) -> Result<ExportOutcome, JournalError> {
    let (log, details) = log_of(&outcome.record);
    outcome.record.log_id = store.record_journal_export(&req.actor, &log, details, None)?;
    Ok(outcome)
}

/// Writes the journal to a staged file, records it (export row, audit event and the file's
/// publication in one transaction), then renames it to its final name (issue 15): a crash at
/// any point leaves either no journal and no record, or both.
fn store_file(
    store: &Store,
    config: &Config,
    req: &ExportRequest,
    mut outcome: ExportOutcome,
    dest: &Destination,
) -> Result<ExportOutcome, JournalError> {
    recover(store, config, &dest.dir)?;
    let first = dest.dir.join(dest.name(1));
    let io = |source| JournalError::Io {
        context: format!("writing journal {}", first.display()),
        source,
    };
    let mut staged = StagedFile::new(&dest.dir, &dest.name(1)).map_err(io)?;
    staged.write_all(outcome.content.as_bytes()).map_err(io)?;
    staged.sync().map_err(io)?;
    let mut n = 1;
    outcome.record.log_id = loop {
        let name = dest.name(n);
        let target = dest.dir.join(&name);
        outcome.record.file_name = name;
        outcome.record.path = Some(target.clone());
        let file = Publication {
            staged: staged.path().to_path_buf(),
            target,
            replace: dest.explicit.is_some(),
        };
        let (log, details) = log_of(&outcome.record);
        match store.record_journal_export(&req.actor, &log, details, Some(&file)) {
            Ok(id) => break id,
            Err(StoreError::NameTaken(_)) if dest.explicit.is_none() => n += 1,
            Err(e) => return Err(e.into()), // the staged file is deleted as it drops
        }
    };
    let staged_path = staged.path().to_path_buf();
    let target = staged
        .publish_recorded(&outcome.record.file_name)
        .map_err(|source| JournalError::Io {
            context: format!(
                "moving journal {} into place (the export is recorded; the next export finishes the move)",
                dest.dir.join(&outcome.record.file_name).display()
            ),
            source,
        })?;
    if let Err(e) = store.publication_done(&staged_path) {
        // Only bookkeeping: recovery finds the file in place and forgets the row.
        tracing::warn!(file = %target.display(), error = %e, "could not mark the journal as published");
    }
    Ok(outcome)
}

/// Finishes or discards journals left by interrupted exports, in the configured journal folder
/// and in the folder about to be written.
fn recover(store: &Store, config: &Config, dir: &Path) -> Result<(), JournalError> {
    let journal_dir = config.output.journal_dir.as_path();
    let dirs: Vec<&Path> = if dir == journal_dir {
        vec![dir]
    } else {
        vec![journal_dir, dir]
    };
    store.recover_outputs(&dirs)?;
    Ok(())
}

/// The export log row and the audit details of a record.
fn log_of(record: &ExportRecord) -> (NewJournalExport, serde_json::Value) {
    let mut details = serde_json::to_value(record).unwrap_or_else(|_| json!({}));
    if let Some(map) = details.as_object_mut() {
        // Upstream's field names, kept beside ours.
        map.insert("total_cost".into(), json!(record.total));
        map.insert("user".into(), json!(record.actor));
        map.insert("filename".into(), json!(record.file_name));
        // The store adds the log row id as `export_id`.
        map.remove("log_id");
    }
    let log = NewJournalExport {
        exported_at: record.exported_at.clone(),
        period: record.period.clone(),
        period_status: record.period_status.clone(),
        format: record.format.clone(),
        template_name: record.template.clone(),
        include_flagged: record.include_flagged,
        row_count: record.row_count as i64,
        charge_count: record.charge_count as i64,
        total: record.total.clone(),
        debit_total: record.debit_total.clone(),
        credit_total: record.credit_total.clone(),
        file_name: record.file_name.clone(),
        stored_path: record
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        sha256: record.sha256.clone(),
    };
    (log, details)
}

/// A timestamp in the configured zone (`timezone`), for file names and templates.
pub fn display_time(tz: TimeZoneSetting, now: DateTime<Utc>, fmt: &str) -> String {
    match tz {
        TimeZoneSetting::Utc => now.format(fmt).to_string(),
        TimeZoneSetting::Named(zone) => now.with_timezone(&zone).format(fmt).to_string(),
        TimeZoneSetting::Local => now.with_timezone(&chrono::Local).format(fmt).to_string(),
    }
}
