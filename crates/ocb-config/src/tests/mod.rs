//! Loading tests over the whole pipeline: YAML → expansion → typed config, errors and warnings.

mod errors;
mod example;
mod loading;
mod warnings;

use crate::{load_str, ConfigErrors, Diagnostic, Loaded};
use std::path::{Path, PathBuf};

pub(crate) const FILE: &str = "/srv/ocb/instance/config.yaml";
pub(crate) const ADMIN123: &str = "$2b$12$Fxu99zxFh4plt3a2FDyEnuFyg2Co/osXmQGGYw.HFl0/Id6V.Uvey";

pub(crate) fn no_env(_: &str) -> Option<String> {
    None
}

pub(crate) fn cwd() -> PathBuf {
    PathBuf::from("/srv/ocb")
}

pub(crate) fn try_load(yaml: &str) -> Result<Loaded, ConfigErrors> {
    load_str(yaml, Some(Path::new(FILE)), &no_env, &cwd())
}

pub(crate) fn load_ok(yaml: &str) -> Loaded {
    match try_load(yaml) {
        Ok(l) => l,
        Err(e) => panic!("expected a valid config, got:\n{e}"),
    }
}

pub(crate) fn load_errors(yaml: &str) -> Vec<Diagnostic> {
    match try_load(yaml) {
        Ok(_) => panic!("expected errors for:\n{yaml}"),
        Err(e) => e.0,
    }
}

/// Asserts exactly one diagnostic at (line, key) whose message contains `needle`.
pub(crate) fn assert_one(diags: &[Diagnostic], line: Option<usize>, key: &str, needle: &str) {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.key == key).collect();
    assert_eq!(
        found.len(),
        1,
        "expected one diagnostic for {key}, got {diags:#?}"
    );
    assert_eq!(found[0].line, line, "{:?}", found[0]);
    assert!(
        found[0].message.contains(needle),
        "message {:?} lacks {needle:?}",
        found[0].message
    );
    assert_eq!(found[0].file.as_deref(), Some(Path::new(FILE)));
}
