//! Statement PDFs of the Python project that are still on disk, copied into our `pdf_dir`
//! under our names (SPEC §8.7) through the publish mechanism (`ocb_publish`): staged and synced
//! before the import's transaction, recorded as pending publications in it, renamed into place
//! after it commits. A run that fails or is killed leaves no PDF behind.

use super::report::UpstreamReport;
use crate::IngestError;
use ocb_core::statement::pdf_file_names;
use ocb_publish::StagedFile;
use ocb_store::upstream::{UpstreamDb, UpstreamStatement};
use ocb_store::{Publication, Store};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Project id of a statement from before schema 10 (one statement per PI and period).
pub(crate) const ALL_PROJECTS: &str = "(all projects)";

/// Statement PDFs: each statement's path of ours, and the copies waiting to be published.
pub(crate) struct Staged {
    /// Upstream statement id → our absolute PDF path (whether or not a file was found).
    pub(crate) targets: HashMap<i64, PathBuf>,
    files: Vec<(StagedFile, PathBuf)>,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> IngestError {
    move |source| IngestError::Io { context, source }
}

/// The project id a statement is filed under.
pub(crate) fn project_of(s: &UpstreamStatement) -> String {
    s.project_id
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| ALL_PROJECTS.into())
}

/// Where an upstream path points: absolute, or relative to the instance folder (the database's
/// folder) or the folder the Python project ran in (its parent).
fn locate(src: &UpstreamDb, path: &str) -> Option<PathBuf> {
    let p = Path::new(path.trim());
    if p.is_absolute() {
        return p.is_file().then(|| p.to_path_buf());
    }
    let instance = src.path().parent().unwrap_or(Path::new("."));
    [
        instance.join(p),
        instance.parent().unwrap_or(instance).join(p),
    ]
    .into_iter()
    .find(|c| c.is_file())
}

/// Stages the PDF of every statement whose file is still on disk.
pub(crate) fn stage(
    src: &UpstreamDb,
    statements: &[UpstreamStatement],
    pdf_dir: &Path,
    skip: &std::collections::HashSet<String>,
    report: &mut UpstreamReport,
) -> Result<Staged, IngestError> {
    let dir =
        std::path::absolute(pdf_dir).map_err(io(format!("resolving {}", pdf_dir.display())))?;
    let periods: HashMap<i64, String> = src
        .periods()?
        .into_iter()
        .map(|p| (p.id, p.period))
        .collect();
    let mut by_period: BTreeMap<&str, Vec<&UpstreamStatement>> = BTreeMap::new();
    for s in statements {
        if let Some(p) = periods.get(&s.period_id).filter(|p| !skip.contains(*p)) {
            by_period.entry(p).or_default().push(s);
        }
    }
    let mut staged = Staged {
        targets: HashMap::new(),
        files: Vec::new(),
    };
    for (period, list) in by_period {
        let projects: Vec<String> = list.iter().map(|s| project_of(s)).collect();
        let pairs: Vec<(&str, &str)> = list
            .iter()
            .zip(&projects)
            .map(|(s, p)| (s.pi_email.as_str(), p.as_str()))
            .collect();
        for (s, name) in list.iter().zip(pdf_file_names(period, &pairs)) {
            let target = dir.join(&name);
            staged.targets.insert(s.id, target.clone());
            stage_one(src, s, &dir, &name, &mut staged, report)?;
        }
    }
    Ok(staged)
}

fn stage_one(
    src: &UpstreamDb,
    s: &UpstreamStatement,
    dir: &Path,
    name: &str,
    staged: &mut Staged,
    report: &mut UpstreamReport,
) -> Result<(), IngestError> {
    let paths: Vec<&str> = s
        .pdf_path
        .as_deref()
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let Some(found) = paths.iter().find_map(|p| locate(src, p)) else {
        let why = match paths.first() {
            Some(p) => format!("the file is no longer on disk (e.g. {p}); the statement record is kept without it, `generate` makes it again while its period is not finalized"),
            None => "the Python project recorded no file; the statement record is kept without it".into(),
        };
        report.lose("statement PDFs", 1, &why);
        return Ok(());
    };
    if paths.len() > 1 {
        report.lose("statement PDFs", paths.len() as u64 - 1, "a statement from before schema version 10 had one PDF per project; only the first one found is linked to the per-PI statement");
    }
    let mut file =
        StagedFile::new(dir, name).map_err(io(format!("staging {name} in {}", dir.display())))?;
    let mut input =
        std::fs::File::open(&found).map_err(io(format!("reading {}", found.display())))?;
    std::io::copy(&mut input, &mut file).map_err(io(format!("copying {}", found.display())))?;
    file.sync().map_err(io(format!("writing {name}")))?;
    staged.files.push((file, dir.join(name)));
    Ok(())
}

impl Staged {
    /// The pending publications to record with the import.
    pub(crate) fn publications(&self) -> Vec<Publication> {
        self.files
            .iter()
            .map(|(f, target)| Publication {
                staged: f.path().to_path_buf(),
                target: target.clone(),
                replace: false,
            })
            .collect()
    }

    /// After the commit: moves the copies into place. A failure is reported; the next command
    /// that writes PDFs finishes the move (the publication is recorded).
    pub(crate) fn publish(self, store: &Store, report: &mut UpstreamReport) {
        let mut copied = 0;
        for (file, target) in self.files {
            let staged = file.path().to_path_buf();
            let name = target
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            match file.publish_recorded(&name).map(|_| store.publication_done(&staged)) {
                Ok(Ok(())) => copied += 1,
                Ok(Err(e)) => report.notes.push(format!("{}: {e}", target.display())),
                Err(e) => report.notes.push(format!("{} could not be moved into place yet ({e}); the next statement run finishes it", target.display())),
            }
        }
        report.brought_over.insert("statement PDFs".into(), copied);
    }
}
