//! Per-import artefacts in `output.import_dir/<uuid>/`: `errors.csv` (every row error, text
//! cells formula-neutralised) and `rejects.csv` (the rejected records, raw evidence, §5.5).
//!
//! Files are created on first use, so a clean import leaves no directory behind.
//!
//! The directory is the unit of publication (issue 15): it is claimed by the importing process
//! for as long as the import runs (`ocb_publish::DirClaim`, so another process starting never
//! takes it for the leftovers of a crash), the files are staged under hidden names, synced and
//! renamed to their final names just before the import commits, and a directory whose import
//! never committed is deleted by the next start (`clean_orphan_artefacts`, SPEC §5.10). After a
//! kill there is either no directory, or complete files under a committed import.

use crate::IngestError;
use ocb_core::spreadsheet::neutralize_formula;
use ocb_focus::{Diagnostic, RejectedRecord};
use ocb_publish::{DirClaim, StagedFile};
use std::path::{Path, PathBuf};

type CsvOut = csv::Writer<StagedFile>;

pub(crate) struct Artefacts {
    dir: PathBuf,
    enabled: bool,
    header: Vec<String>,
    claim: Option<DirClaim>,
    errors: Option<CsvOut>,
    rejects: Option<CsvOut>,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> IngestError {
    move |source| IngestError::Io { context, source }
}

fn csv_io(context: &str, e: csv::Error) -> IngestError {
    IngestError::Io {
        context: context.to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl Artefacts {
    /// `enabled` is false for dry runs: nothing is written then.
    pub fn new(import_dir: &Path, uuid: &str, enabled: bool, header: Vec<String>) -> Self {
        Self {
            dir: import_dir.join(uuid),
            enabled,
            header,
            claim: None,
            errors: None,
            rejects: None,
        }
    }

    fn open(&mut self, name: &str, header: &[String]) -> Result<CsvOut, IngestError> {
        if self.claim.is_none() {
            if let Some(parent) = self.dir.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io(format!("creating {}", parent.display())))?;
            }
            let claim = DirClaim::create(&self.dir)
                .map_err(io(format!("creating {}", self.dir.display())))?;
            self.claim = Some(claim);
        }
        let path = self.dir.join(name);
        let file =
            StagedFile::new(&self.dir, name).map_err(io(format!("creating {}", path.display())))?;
        let mut w = csv::WriterBuilder::new().from_writer(file);
        w.write_record(header).map_err(|e| csv_io(name, e))?;
        Ok(w)
    }

    /// Appends diagnostics to `errors.csv`.
    pub fn error_rows(&mut self, diags: &[Diagnostic]) -> Result<(), IngestError> {
        if !self.enabled || diags.is_empty() {
            return Ok(());
        }
        if self.errors.is_none() {
            let h = ["line", "column", "value", "code", "reason"].map(String::from);
            self.errors = Some(self.open("errors.csv", &h)?);
        }
        let w = self.errors.as_mut().expect("opened above");
        for d in diags {
            let line = d.line.to_string();
            let cells = [
                neutralize_formula(&line).into_owned(),
                neutralize_formula(d.column.as_deref().unwrap_or("")).into_owned(),
                neutralize_formula(d.value.as_deref().unwrap_or("")).into_owned(),
                d.code.as_str().to_string(),
                neutralize_formula(&d.message).into_owned(),
            ];
            w.write_record(&cells)
                .map_err(|e| csv_io("errors.csv", e))?;
        }
        Ok(())
    }

    /// Appends a rejected record to `rejects.csv` (only with `--skip-invalid`).
    pub fn reject(&mut self, r: &RejectedRecord) -> Result<(), IngestError> {
        if !self.enabled {
            return Ok(());
        }
        if self.rejects.is_none() {
            let mut h = self.header.clone();
            h.extend(["_line".to_string(), "_reason".to_string()]);
            self.rejects = Some(self.open("rejects.csv", &h)?);
        }
        let width = self.header.len();
        let mut cells: Vec<String> = match &r.raw {
            Some(raw) => std::iter::once(raw.clone())
                .chain(std::iter::repeat_n(String::new(), width.saturating_sub(1)))
                .collect(),
            None => {
                let mut f = r.fields.clone();
                f.resize(width.max(f.len()), String::new());
                f
            }
        };
        cells.push(r.line.to_string());
        cells.push(
            r.errors
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        );
        let w = self.rejects.as_mut().expect("opened above");
        w.write_record(&cells).map_err(|e| csv_io("rejects.csv", e))
    }

    /// Syncs the files written and publishes them under their final names (called just
    /// before the import commits); returns (rejects path, errors path).
    pub fn finish(&mut self) -> Result<(Option<String>, Option<String>), IngestError> {
        let rejects = self.rejects.take().map(|w| publish(w, "rejects.csv"));
        let errors = self.errors.take().map(|w| publish(w, "errors.csv"));
        let paths = (rejects.transpose()?, errors.transpose()?);
        if self.claim.is_some() {
            // The folder's own entry in import_dir, before the import that names it commits.
            ocb_publish::sync_parent(&self.dir)
                .map_err(io(format!("syncing {}", self.dir.display())))?;
        }
        Ok(paths)
    }

    /// Drops the rejects file (a refused import keeps only its error report): never published,
    /// its staged file is deleted.
    pub fn drop_rejects(&mut self) {
        self.rejects = None;
    }

    /// Removes the whole directory (failure before commit).
    pub fn discard(&mut self) {
        self.errors = None;
        self.rejects = None;
        if let Some(claim) = self.claim.take() {
            if let Err(e) = claim.remove() {
                tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove the artefacts of a failed import; the next start does");
            }
        }
    }
}

impl Drop for Artefacts {
    /// The import is over: its directory (if kept) now belongs to the import record.
    fn drop(&mut self) {
        if let Some(claim) = self.claim.take() {
            if let Err(e) = claim.release() {
                tracing::warn!(dir = %self.dir.display(), error = %e, "could not release the artefact directory");
            }
        }
    }
}

/// Flushes, syncs and renames one artefact file into place; returns its path.
fn publish(w: CsvOut, name: &str) -> Result<String, IngestError> {
    let target = w.get_ref().dir().join(name);
    let context = || format!("writing {}", target.display());
    let staged = w
        .into_inner()
        .map_err(|e| io(context())(std::io::Error::other(e.to_string())))?;
    let path = staged.publish(name).map_err(io(context()))?;
    Ok(path.display().to_string())
}
