//! The ingest service (SPEC §5): one file (or export directory) in, one import out.
//!
//! CLI `ingest`, the web import modal, the API and `demo` all call [`ingest`], so the rules are
//! identical everywhere. The reader and the rules run on one thread and the database writes on
//! another, connected by a bounded channel: memory stays flat whatever the file size, and both
//! cores work.
//!
//! Must not depend on: web, templates, PDF, mail.

mod apply;
mod artefacts;
mod prepare;
mod report;
pub mod upstream;

pub use report::{FailureInfo, ImportReport};

use ocb_core::attribution::TagMapping;
use ocb_core::flags::ReviewRules;
use ocb_core::period::Period;
use ocb_core::source::ImportMode;
use ocb_store::{Actor, Store, StoreError};
use std::path::{Path, PathBuf};

/// A configured source (config `imports.known_sources`).
#[derive(Debug, Clone)]
pub struct KnownSource {
    /// Canonical name.
    pub name: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Its import mode, when set.
    pub import_mode: Option<ImportMode>,
}

/// Settings the ingest rules need, taken from the configuration.
#[derive(Debug, Clone, Default)]
pub struct IngestSettings {
    /// Candidate tag keys.
    pub tag_mapping: TagMapping,
    /// Review patterns of the config file. Database overrides (SPEC §4.5) are applied by
    /// [`ingest`] itself, from the store it is given.
    pub rules: ReviewRules,
    /// Known sources.
    pub known_sources: Vec<KnownSource>,
    /// `imports.default_mode`.
    pub default_mode: ImportMode,
    /// `output.import_dir`: per-import artefacts.
    pub import_dir: PathBuf,
}

/// One ingest request.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    /// The input file or export directory.
    pub path: PathBuf,
    /// The name to record (upload name for web/API; base name for CLI when `None`).
    pub filename: Option<String>,
    /// Source name as given or detected (canonicalised here).
    pub source: String,
    /// Expected period (rows of other periods are flagged `period_mismatch`).
    pub expected_period: Option<Period>,
    /// Mode override.
    pub mode: Option<ImportMode>,
    /// Report only; write nothing.
    pub dry_run: bool,
    /// Import good rows and set bad ones aside.
    pub skip_invalid: bool,
    /// Who imports, through which channel.
    pub actor: Actor,
}

/// Where the import goes.
pub enum Database<'a> {
    /// A real import into this store.
    Write(&'a mut Store),
    /// A dry run against this store (read only).
    Read(&'a Store),
    /// A dry run when the database file does not exist yet (diff against nothing).
    Empty,
}

/// Failures that are not a refused import (those come back as a report with `status: failed`).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The source name is unusable.
    #[error("invalid source name '{name}': {reason}")]
    SourceName {
        /// As given.
        name: String,
        /// Why.
        reason: String,
    },
    /// The database failed (busy, IO…); the import was rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing an artefact failed; the import was rolled back.
    #[error("{context}: {source}")]
    Io {
        /// What was being written.
        context: String,
        /// OS error.
        source: std::io::Error,
    },
}

/// Progress of a running import, for bars and job indicators.
pub trait Progress {
    /// Called every few thousand rows with the running row count.
    fn rows(&mut self, _rows: u64) {}
    /// Called just before [`Progress::rows`] with the bytes of the input read so far and the
    /// input's size, both as stored (a gzip file counts compressed bytes). `total` is 0 when
    /// the size is unknown (an export folder, a stream), so a bar can fall back to a count.
    fn bytes(&mut self, _read: u64, _total: u64) {}
}

/// No progress reporting.
pub struct NoProgress;
impl Progress for NoProgress {}

/// Runs one import. A refused file returns `Ok` with `status == "failed"`.
///
/// The review patterns in effect are the database overrides where they exist, else
/// `settings.rules`: resolved here, so the CLI, web, API and demo cannot disagree.
pub fn ingest(
    db: Database<'_>,
    settings: &IngestSettings,
    req: &IngestRequest,
    progress: &mut dyn Progress,
) -> Result<ImportReport, IngestError> {
    let store: Option<&Store> = match &db {
        Database::Write(s) => Some(s),
        Database::Read(s) => Some(s),
        Database::Empty => None,
    };
    match store {
        Some(s) => {
            let effective = IngestSettings {
                rules: s.apply_review_overrides(&settings.rules)?,
                ..settings.clone()
            };
            apply::run(db, &effective, req, progress)
        }
        None => apply::run(db, settings, req, progress),
    }
}

/// The base file name recorded for a path.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Deletes artefact directories under `import_dir` that belong to no committed or failed
/// import (left by a crash between writing artefacts and committing, SPEC §5.10). The directory
/// of an import still running (in this or another process) is claimed by it and left alone.
pub fn clean_orphan_artefacts(store: &Store, import_dir: &Path) -> Result<usize, IngestError> {
    let io = |dir: &Path| {
        let context = format!("removing orphan artefacts {}", dir.display());
        move |source| IngestError::Io { context, source }
    };
    let known = store.import_uuids()?;
    let is_uuid = |name: &str| uuid::Uuid::parse_str(name).is_ok();
    let Ok(entries) = std::fs::read_dir(import_dir) else {
        return Ok(0);
    };
    // Directories of unknown imports, and any directory with a lock file (a running import,
    // or one whose process died before letting go).
    let mut candidates = std::collections::BTreeSet::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_uuid(&name) && path.is_dir() && !known.contains(&name) {
            candidates.insert(path);
        } else if let Some(dir) = ocb_publish::dir_of_lock(&path, is_uuid) {
            candidates.insert(dir);
        }
    }
    let mut removed = 0;
    for dir in candidates {
        let Some(claim) = ocb_publish::DirClaim::take_abandoned(&dir).map_err(io(&dir))? else {
            continue; // its import is running
        };
        // Asked while holding the claim: an import that committed meanwhile keeps its files.
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        if store.import_uuids()?.contains(name.as_ref()) {
            claim.release().map_err(io(&dir))?;
        } else {
            removed += usize::from(dir.is_dir());
            claim.remove().map_err(io(&dir))?;
        }
    }
    Ok(removed)
}
