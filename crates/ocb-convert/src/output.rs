//! Where converter outputs go. The files themselves are written by the CLI through
//! `ocb_publish` (staged in the target folder, synced, renamed: INTEGRATIONS.md §1.1, issue 15).

use std::path::{Path, PathBuf};

/// Resolves `--output`: none → `./<default>`; an existing directory → `<dir>/<default>`.
pub fn resolve_output(output: Option<&Path>, default_name: &str) -> PathBuf {
    match output {
        None => PathBuf::from(default_name),
        Some(p) if p.is_dir() => p.join(default_name),
        Some(p) => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_output_gets_the_default_name() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(
            resolve_output(Some(dir.path()), "x.csv"),
            dir.path().join("x.csv")
        );
        assert_eq!(resolve_output(None, "x.csv"), PathBuf::from("x.csv"));
    }
}
