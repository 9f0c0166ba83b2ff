//! Qumulo inputs from disk: the project directories under ROOT with their dot files, the
//! directory-walk usage, and `--init` (INTEGRATIONS.md §2.3). The pure conversion is in
//! [`crate::qumulo`].

use crate::error::{ConvertError, Result};
use crate::qumulo::{Metadata, QumuloConfig, DOT_FILE};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Immediate subdirectories of `root` (not following symlinks), with their metadata; excluded
/// names are listed with `Metadata::Missing` so the converter can report them.
pub fn read_directories(root: &Path) -> Result<BTreeMap<String, Metadata>> {
    let entries = std::fs::read_dir(root)
        .map_err(|e| ConvertError::input(format!("cannot read ROOT {}: {e}", root.display())))?;
    let mut out = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| ConvertError::input(format!("{}: {e}", root.display())))?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !is_dir {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let dot = entry.path().join(DOT_FILE);
        let meta = match std::fs::read(&dot) {
            Ok(bytes) => Metadata::parse(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Metadata::Missing,
            Err(e) => Metadata::InvalidJson(format!("cannot read {}: {e}", dot.display())),
        };
        out.insert(name, meta);
    }
    Ok(out)
}

/// Bytes of regular files under `dir` (recursive, symlinks not followed, hard links once) and
/// the number of entries that could not be read.
pub fn walk_usage(dir: &Path) -> (Decimal, u64) {
    let mut total: u128 = 0;
    let mut unreadable = 0u64;
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            unreadable += 1;
            continue;
        };
        for entry in entries {
            let Ok(entry) = entry else {
                unreadable += 1;
                continue;
            };
            let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                unreadable += 1;
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                if !first_link(&meta, &mut seen) {
                    continue;
                }
                total += u128::from(meta.len());
            }
        }
    }
    (Decimal::from_i128_with_scale(total as i128, 0), unreadable)
}

#[cfg(unix)]
fn first_link(meta: &std::fs::Metadata, seen: &mut HashSet<(u64, u64)>) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.nlink() <= 1 || seen.insert((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn first_link(_: &std::fs::Metadata, _: &mut HashSet<(u64, u64)>) -> bool {
    true
}

/// Walk usage for every non-excluded directory.
pub fn walk_all(
    root: &Path,
    dirs: &BTreeMap<String, Metadata>,
    cfg: &QumuloConfig,
) -> BTreeMap<String, (Decimal, u64)> {
    dirs.keys()
        .filter(|n| !cfg.is_excluded(n))
        .map(|n| (n.clone(), walk_usage(&root.join(n))))
        .collect()
}

/// What `--init` did (or would do) to one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitEntry {
    /// Directory name.
    pub directory: String,
    /// `created`, `updated`, `unchanged`, `skipped` or `error`.
    pub action: &'static str,
    /// Detail.
    pub detail: String,
}

/// Fills a metadata object from the template: existing non-empty values and unknown keys are
/// kept; missing, null or empty keys come from the template (`project_id` = the directory).
pub fn fill(
    existing: &Map<String, Value>,
    template: &Map<String, Value>,
    dir: &str,
) -> Map<String, Value> {
    let empty = |v: &Value| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
    let mut out = Map::new();
    for (k, t) in template {
        let v = match existing.get(k) {
            Some(v) if !empty(v) => v.clone(),
            _ if k == "project_id" => Value::String(dir.to_string()),
            Some(v) if empty(t) => v.clone(),
            _ => t.clone(),
        };
        out.insert(k.clone(), v);
    }
    for (k, v) in existing {
        if !out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

fn pretty(m: &Map<String, Value>) -> String {
    let mut s = serde_json::to_string_pretty(m).expect("a JSON map always serialises");
    s.push('\n');
    s
}

/// Writes a project's metadata file whole or not at all (`ocb_publish`: staged beside it, synced,
/// renamed), group-readable on Unix.
fn write_meta(path: &Path, text: &str) -> std::io::Result<()> {
    ocb_publish::write_file(path, text.as_bytes(), ocb_publish::unix_mode(0o640)).map(drop)
}

/// `convert qumulo ROOT --init [--fill] [--dry-run]`.
pub fn init(
    root: &Path,
    template: &Map<String, Value>,
    cfg: &QumuloConfig,
    fill_existing: bool,
    dry_run: bool,
) -> Result<Vec<InitEntry>> {
    let dirs = read_directories(root)?;
    let mut out = Vec::new();
    for (name, meta) in dirs.iter().filter(|(n, _)| !cfg.is_excluded(n)) {
        let path = root.join(name).join(DOT_FILE);
        let entry = |action, detail: String| InitEntry {
            directory: name.clone(),
            action,
            detail,
        };
        let (action, text) = match meta {
            Metadata::Missing => ("created", Some(pretty(&fill(&Map::new(), template, name)))),
            Metadata::InvalidJson(e) if fill_existing => {
                out.push(entry("error", format!("{e}; not overwritten")));
                continue;
            }
            _ if !fill_existing => ("skipped", None),
            Metadata::Present(m) => {
                let filled = fill(m, template, name);
                if &filled == m {
                    ("unchanged", None)
                } else {
                    ("updated", Some(pretty(&filled)))
                }
            }
            Metadata::InvalidJson(_) => ("skipped", None),
        };
        if let (Some(text), false) = (&text, dry_run) {
            if let Err(e) = write_meta(&path, text) {
                out.push(entry(
                    "error",
                    format!("cannot write {}: {e}", path.display()),
                ));
                continue;
            }
        }
        let detail = match action {
            "skipped" => "exists".to_string(),
            _ => path.display().to_string(),
        };
        out.push(entry(action, detail));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_keeps_values_and_unknown_keys_in_template_order() {
        let t: Value = serde_json::from_str(crate::qumulo::DEFAULT_TEMPLATE).expect("template");
        let e: Value =
            serde_json::from_str(r#"{"zzz": 1, "fund_org": "F", "pi_email": "", "free_gb": null}"#)
                .expect("json");
        let f = fill(e.as_object().expect("o"), t.as_object().expect("o"), "lab");
        let keys: Vec<&str> = f.keys().map(String::as_str).collect();
        assert_eq!(keys.first(), Some(&"pi_email"));
        assert_eq!(keys.last(), Some(&"zzz"));
        assert_eq!(f["project_id"], "lab");
        assert_eq!(f["fund_org"], "F");
        assert_eq!(f["free_gb"].to_string(), "500");
        assert_eq!(f["daily_credit"].to_string(), "0.00");
    }

    #[test]
    fn walk_counts_hard_links_once_and_skips_symlinks() {
        let d = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(d.path().join("sub")).expect("mkdir");
        std::fs::write(d.path().join("a"), [0u8; 100]).expect("w");
        std::fs::write(d.path().join("sub/.hidden"), [0u8; 10]).expect("w");
        #[cfg(unix)]
        {
            std::fs::hard_link(d.path().join("a"), d.path().join("b")).expect("link");
            std::os::unix::fs::symlink(d.path().join("a"), d.path().join("c")).expect("symlink");
        }
        assert_eq!(walk_usage(d.path()), (Decimal::from(110), 0));
    }
}
