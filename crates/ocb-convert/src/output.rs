//! Atomic output files: a temporary file in the target directory, then a rename, so a failed
//! run leaves any previous file untouched (INTEGRATIONS.md §1.1).

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".ocb-convert-")
        .suffix(".tmp")
        .tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // tempfile creates 0600; give the result the usual permissions of a new file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

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
    fn replaces_atomically_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("out.csv");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two").expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
        assert_eq!(
            resolve_output(Some(dir.path()), "x.csv"),
            dir.path().join("x.csv")
        );
    }
}
