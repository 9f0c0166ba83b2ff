//! Export directories: several part files read as ONE input (SPEC §3.2).
//!
//! The parts come from the manifests in the tree (AWS Data Exports `*Manifest.json` with
//! `dataFiles`, Azure Cost Management `manifest.json` with `blobs[].blobName` and
//! `dataRowCount`), else from every `*.csv`, `*.csv.gz` and `*.parquet` file in lexicographic
//! path order. Every part's header is checked before the first row is read, so column problems
//! are file errors up front; a declared row count can only be checked at the end of its part.

use crate::build::RowBuilder;
use crate::cell::RecordView;
use crate::columns::Columns;
use crate::error::{FileError, FileErrorKind};
use crate::input::SharedHash;
use crate::row::RowResult;
use crate::source::PartSource;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// One part file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    path: PathBuf,
    /// Path relative to the directory, `/`-separated (what diagnostics cite).
    name: String,
    /// Data rows the manifest declares for this part.
    expected_rows: Option<u64>,
}

/// The parts of a directory and the total row count a manifest declares.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PartList {
    parts: Vec<Part>,
    expected_total: Option<u64>,
}

/// Streams the parts of an export directory.
pub(crate) struct DirSource {
    root: PathBuf,
    pending: VecDeque<(Part, Vec<usize>)>,
    current: Option<(Part, PartSource)>,
    /// Unified position -> position in the current part.
    perm: Vec<usize>,
    hash: SharedHash,
    part_rows: u64,
    total_rows: u64,
    expected_total: Option<u64>,
    blank_lines: u64,
}

impl DirSource {
    /// Lists the parts, checks that their headers agree and opens the first one.
    pub(crate) fn open(root: &Path, hash: &SharedHash) -> Result<(Self, Columns), FileError> {
        let list = list_parts(root)?;
        let mut columns: Option<Columns> = None;
        let mut pending = VecDeque::new();
        for part in list.parts {
            // Header check with a throwaway hash: the real pass hashes every byte once.
            let (_, part_columns, _) = PartSource::open_file(
                &part.path,
                Path::new(&part.name),
                None,
                &SharedHash::default(),
            )
            .map_err(|e| in_dir(root, e))?;
            let perm = match &columns {
                None => (0..part_columns.len()).collect(),
                Some(unified) => unify(unified, &part_columns).map_err(|why| {
                    dir_error(
                        root,
                        format!("part {} has different columns: {why}", part.name),
                    )
                })?,
            };
            columns.get_or_insert(part_columns);
            pending.push_back((part, perm));
        }
        let columns = columns.ok_or_else(|| {
            dir_error(
                root,
                "no *.csv, *.csv.gz or *.parquet files in the directory".into(),
            )
        })?;
        let source = Self {
            root: root.to_path_buf(),
            pending,
            current: None,
            perm: Vec::new(),
            hash: hash.clone(),
            part_rows: 0,
            total_rows: 0,
            expected_total: list.expected_total,
            blank_lines: 0,
        };
        Ok((source, columns))
    }

    /// The next record of the combined stream.
    pub(crate) fn next(
        &mut self,
        builder: &mut RowBuilder,
    ) -> Result<Option<RowResult>, FileError> {
        loop {
            if self.current.is_none() && !self.open_next(builder)? {
                return self.check_total().map(|()| None);
            }
            let Some((_, source)) = self.current.as_mut() else {
                continue;
            };
            match source.next(builder).map_err(|e| in_dir(&self.root, e))? {
                Some(row) => {
                    self.part_rows += 1;
                    self.total_rows += 1;
                    return Ok(Some(row));
                }
                None => self.close_current()?,
            }
        }
    }

    fn open_next(&mut self, builder: &mut RowBuilder) -> Result<bool, FileError> {
        let Some((part, perm)) = self.pending.pop_front() else {
            return Ok(false);
        };
        let (source, _, _) = PartSource::open_file(
            &part.path,
            Path::new(&part.name),
            Some(part.name.clone()),
            &self.hash,
        )
        .map_err(|e| in_dir(&self.root, e))?;
        let identity = perm.iter().enumerate().all(|(i, p)| i == *p);
        builder.set_permutation((!identity).then(|| perm.clone()));
        self.perm = perm;
        self.part_rows = 0;
        self.current = Some((part, source));
        Ok(true)
    }

    fn close_current(&mut self) -> Result<(), FileError> {
        let Some((part, source)) = self.current.take() else {
            return Ok(());
        };
        self.blank_lines += source.blank_lines();
        source
            .finish(Path::new(&part.name))
            .map_err(|e| in_dir(&self.root, e))?;
        match part.expected_rows {
            Some(want) if want != self.part_rows => Err(dir_error(
                &self.root,
                format!(
                    "part {} has {} data rows but the manifest declares {want}",
                    part.name, self.part_rows
                ),
            )),
            _ => Ok(()),
        }
    }

    fn check_total(&self) -> Result<(), FileError> {
        match self.expected_total {
            Some(want) if want != self.total_rows => Err(dir_error(
                &self.root,
                format!(
                    "the parts hold {} data rows but the manifest declares {want}",
                    self.total_rows
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Runs `f` on the last record, in unified column order.
    pub(crate) fn with_last<T>(&self, f: impl FnOnce(&dyn RecordView) -> T) -> Option<T> {
        let (_, source) = self.current.as_ref()?;
        let perm = &self.perm;
        source.with_last(|rec| f(&crate::build::Permuted { rec, perm }))
    }

    /// Finishes the remaining parts' hashing and returns the blank lines skipped.
    pub(crate) fn finish(mut self) -> Result<u64, FileError> {
        self.close_current()?;
        Ok(self.blank_lines)
    }
}

/// Maps every unified column to the part's position; the sets must be equal.
fn unify(unified: &Columns, part: &Columns) -> Result<Vec<usize>, String> {
    let mut used = vec![false; part.len()];
    let mut perm = Vec::with_capacity(unified.len());
    let mut missing = Vec::new();
    for (i, name) in unified.headers().iter().enumerate() {
        let found = match unified.mapped(i) {
            Some(col) => part.position(col),
            None => (0..part.len())
                .find(|&p| !used[p] && part.mapped(p).is_none() && part.headers()[p] == *name),
        };
        match found {
            Some(p) => {
                used[p] = true;
                perm.push(p);
            }
            None => missing.push(name.as_str()),
        }
    }
    let extra: Vec<&str> = (0..part.len())
        .filter(|p| !used[*p])
        .map(|p| part.headers()[p].as_str())
        .collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(perm);
    }
    let mut why = Vec::new();
    if !missing.is_empty() {
        why.push(format!("missing {}", missing.join(", ")));
    }
    if !extra.is_empty() {
        why.push(format!("extra {}", extra.join(", ")));
    }
    Err(why.join("; "))
}

/// Finds the parts: from manifests when there are any, else by extension.
pub(crate) fn list_parts(root: &Path) -> Result<PartList, FileError> {
    let files = walk(root).map_err(|e| FileError::io(root, &e))?;
    let manifests: Vec<&(String, PathBuf)> = files
        .iter()
        .filter(|(rel, _)| manifest_kind(rel).is_some())
        .collect();
    if manifests.is_empty() {
        let parts = files
            .iter()
            .filter(|(rel, _)| is_data_file(rel))
            .map(|(rel, path)| Part {
                path: path.clone(),
                name: rel.clone(),
                expected_rows: None,
            })
            .collect();
        return Ok(PartList {
            parts,
            expected_total: None,
        });
    }
    let mut parsed = Vec::with_capacity(manifests.len());
    for (rel, path) in manifests {
        let text = std::fs::read_to_string(path).map_err(|e| FileError::io(root, &e))?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| dir_error(root, format!("manifest {rel} is not valid JSON: {e}")))?;
        parsed.push((rel, path, json));
    }
    let superseded = superseded_runs(&parsed);
    let mut list = PartList::default();
    for (i, (rel, path, json)) in parsed.iter().enumerate() {
        if superseded.contains(&i) {
            continue;
        }
        let entries = manifest_entries(json).ok_or_else(|| {
            dir_error(
                root,
                format!("manifest {rel} lists no data files (dataFiles or blobs[].blobName)"),
            )
        })?;
        let base = path.parent().unwrap_or(root);
        for (entry, rows) in entries {
            let (path, name) = locate(root, base, &files, &entry)?;
            if list.parts.iter().all(|p| p.path != path) {
                list.parts.push(Part {
                    path,
                    name,
                    expected_rows: rows,
                });
            }
        }
        if let Some(total) = ["totalRowCount", "rowCount"]
            .iter()
            .find_map(|k| json.get(*k).and_then(Value::as_u64))
        {
            *list.expected_total.get_or_insert(0) += total;
        }
    }
    Ok(list)
}

/// Azure Cost Management keeps every run of an export unless it is set to overwrite
/// (`dataOverwriteBehavior` defaults to `CreateNewReport`): each run of a month-to-date export
/// is a complete snapshot in its own `<date-range>/<run>/` folder with its own manifest. Reading
/// them all would count the month several times, so per export and period only the latest run
/// (`runInfo.submittedTime`) is read. Returns the indexes of the older manifests.
fn superseded_runs(manifests: &[(&String, &PathBuf, Value)]) -> Vec<usize> {
    let key = |j: &Value| -> Option<(String, String, String)> {
        let cfg = j.get("exportConfig")?;
        let export = cfg
            .get("resourceId")
            .or_else(|| cfg.get("exportName"))?
            .as_str()?
            .to_ascii_lowercase();
        let run = j.get("runInfo")?;
        let start = run.get("startDate")?.as_str()?.to_string();
        let submitted = run.get("submittedTime")?.as_str()?.to_string();
        Some((export, start, submitted))
    };
    let keyed: Vec<Option<(String, String, String)>> =
        manifests.iter().map(|(_, _, j)| key(j)).collect();
    (0..manifests.len())
        .filter(|&i| {
            let Some((export, start, submitted)) = &keyed[i] else {
                return false;
            };
            // RFC 3339 UTC timestamps of one service compare correctly as text.
            keyed.iter().enumerate().any(|(j, other)| {
                other.as_ref().is_some_and(|(e, s, t)| {
                    e == export && s == start && (t > submitted || (t == submitted && j > i))
                })
            })
        })
        .collect()
}

fn manifest_kind(rel: &str) -> Option<&'static str> {
    let base = rel.rsplit('/').next().unwrap_or(rel);
    if base == "manifest.json" {
        Some("azure")
    } else if base.ends_with("Manifest.json") {
        Some("aws")
    } else {
        None
    }
}

fn is_data_file(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    [".csv", ".csv.gz", ".parquet"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// `(entry path, declared rows)` from an AWS or Azure manifest.
fn manifest_entries(json: &Value) -> Option<Vec<(String, Option<u64>)>> {
    if let Some(files) = json.get("dataFiles").and_then(Value::as_array) {
        return Some(
            files
                .iter()
                .filter_map(Value::as_str)
                .map(|s| (s.to_string(), None))
                .collect(),
        );
    }
    let blobs = json.get("blobs").and_then(Value::as_array)?;
    Some(
        blobs
            .iter()
            .filter_map(|b| {
                let name = b.get("blobName").and_then(Value::as_str)?;
                Some((
                    name.to_string(),
                    b.get("dataRowCount").and_then(Value::as_u64),
                ))
            })
            .collect(),
    )
}

/// Finds a manifest entry: by its path relative to the manifest (or a trailing part of it, as
/// entries are often full `s3://bucket/key` or storage URLs), else by unique base name.
fn locate(
    root: &Path,
    manifest_dir: &Path,
    files: &[(String, PathBuf)],
    entry: &str,
) -> Result<(PathBuf, String), FileError> {
    let key = entry.split_once("://").map_or(entry, |(_, rest)| rest);
    let segments: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
    for start in 0..segments.len() {
        let candidate = manifest_dir.join(segments[start..].join("/"));
        if let Some((rel, path)) = files.iter().find(|(_, p)| *p == candidate) {
            return Ok((path.clone(), rel.clone()));
        }
    }
    // Else the files sharing the longest run of trailing path segments with the entry: AWS
    // names the parts of every billing period alike (`<export>-00001.csv.gz` under
    // `data/BILLING_PERIOD=YYYY-MM/`), so the base name alone is ambiguous across periods.
    let shared = |rel: &str| {
        rel.rsplit('/')
            .zip(segments.iter().rev())
            .take_while(|(a, b)| a == *b)
            .count()
    };
    let best = files.iter().map(|(rel, _)| shared(rel)).max().unwrap_or(0);
    let matches: Vec<&(String, PathBuf)> = files
        .iter()
        .filter(|(rel, _)| best > 0 && shared(rel) == best)
        .collect();
    match matches.as_slice() {
        [(rel, path)] => Ok((path.clone(), rel.clone())),
        [] => Err(dir_error(
            root,
            format!("part {entry} listed in the manifest is missing"),
        )),
        _ => Err(dir_error(
            root,
            format!(
                "part {entry} listed in the manifest is ambiguous: {}",
                matches
                    .iter()
                    .map(|(rel, _)| rel.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Every regular file under `root` as (relative `/` path, full path), sorted by relative path.
fn walk(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            // Symlinked directories are not followed (no cycles); symlinked files are read.
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn dir_error(root: &Path, message: String) -> FileError {
    FileError::new(root, FileErrorKind::Directory, message)
}

/// Re-anchors a part's error on the directory, keeping the part name in the message.
fn in_dir(root: &Path, e: FileError) -> FileError {
    FileError {
        path: root.to_path_buf(),
        kind: e.kind,
        message: format!("{}: {}", e.path.display(), e.message),
    }
}
