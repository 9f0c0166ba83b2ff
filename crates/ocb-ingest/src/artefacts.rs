//! Per-import artefacts in `output.import_dir/<uuid>/`: `errors.csv` (every row error, text
//! cells formula-neutralised) and `rejects.csv` (the rejected records, raw evidence, §5.5).
//!
//! Files are created on first use, so a clean import leaves no directory behind.

use crate::IngestError;
use ocb_core::spreadsheet::neutralize_formula;
use ocb_focus::{Diagnostic, RejectedRecord};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

type CsvOut = csv::Writer<BufWriter<File>>;

pub(crate) struct Artefacts {
    dir: PathBuf,
    enabled: bool,
    header: Vec<String>,
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
            errors: None,
            rejects: None,
        }
    }

    fn open(&self, name: &str, header: &[String]) -> Result<CsvOut, IngestError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(io(format!("creating {}", self.dir.display())))?;
        let path = self.dir.join(name);
        let file = File::create(&path).map_err(io(format!("creating {}", path.display())))?;
        let mut w = csv::WriterBuilder::new().from_writer(BufWriter::new(file));
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

    /// Flushes and returns (rejects path, errors path) of the files written.
    pub fn finish(&mut self) -> Result<(Option<String>, Option<String>), IngestError> {
        let mut paths = (None, None);
        if let Some(mut w) = self.rejects.take() {
            w.flush().map_err(io("writing rejects.csv".into()))?;
            paths.0 = Some(self.dir.join("rejects.csv").display().to_string());
        }
        if let Some(mut w) = self.errors.take() {
            w.flush().map_err(io("writing errors.csv".into()))?;
            paths.1 = Some(self.dir.join("errors.csv").display().to_string());
        }
        Ok(paths)
    }

    /// Removes the rejects file (a refused import keeps only its error report).
    pub fn drop_rejects(&mut self) {
        self.rejects = None;
        let _ = std::fs::remove_file(self.dir.join("rejects.csv"));
    }

    /// Removes the whole directory (failure before commit).
    pub fn discard(&mut self) {
        self.errors = None;
        self.rejects = None;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
