//! A staged output file: written under a hidden temporary name in its destination folder,
//! locked by its writer (see `lock.rs`), synced, and renamed to its final name only when its
//! content is complete and, for recorded outputs, its record has committed.
//!
//! The temporary name is `.ocb-staged-{random}-{final name}`: hidden, recognisable by a sweeper
//! from its prefix, and readable by a person who finds one. Dropping a `StagedFile` that was not
//! published deletes it, so an error on the way (a full disk, a refused record) leaves nothing.

use crate::lock::{lock_created, ATTEMPTS};
use std::fs::{File, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// The prefix of every staged file's name.
pub const STAGED_PREFIX: &str = ".ocb-staged-";

/// Random characters in a staged file's name.
const RANDOM_LEN: usize = 12;

/// Bytes of the final name kept in the staged name (file names are at most 255 bytes).
const MAX_HINT: usize = 200;

/// Whether `name` is a staged file's name.
pub fn is_staged_name(name: &str) -> bool {
    name.starts_with(STAGED_PREFIX)
}

/// An output file being written; see the module documentation.
#[derive(Debug)]
pub struct StagedFile {
    tmp: NamedTempFile,
    dir: PathBuf,
    synced: bool,
}

impl StagedFile {
    /// Starts the file that will be published as `dir/{final_name}` (the directory is created
    /// when missing). It is readable by its owner only (SPEC §15.3) unless
    /// [`StagedFile::set_permissions`] says otherwise.
    pub fn new(dir: &Path, final_name: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let suffix = format!("-{}", hint(final_name));
        for _ in 0..ATTEMPTS {
            let tmp = tempfile::Builder::new()
                .prefix(STAGED_PREFIX)
                .rand_bytes(RANDOM_LEN)
                .suffix(&suffix)
                .tempfile_in(dir)?;
            if lock_created(tmp.as_file(), tmp.path())? {
                return Ok(Self {
                    tmp,
                    dir: dir.to_path_buf(),
                    synced: false,
                });
            }
        }
        Err(io::Error::other(format!(
            "{}: staged files were removed by another process {ATTEMPTS} times while being created",
            dir.display()
        )))
    }

    /// The staged (temporary) path, as recorded with a pending publication.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The destination folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sets the permissions the published file will have.
    pub fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.tmp.as_file().set_permissions(perm)
    }

    /// Flushes the content, and the staged name in its folder, to disk. Call it before
    /// recording the file: a record must never commit for a file a power cut could still lose.
    pub fn sync(&mut self) -> io::Result<()> {
        if !self.synced {
            self.tmp.as_file_mut().flush()?;
            self.tmp.as_file().sync_all()?;
            sync_dir(&self.dir)?;
            self.synced = true;
        }
        Ok(())
    }

    /// Publishes an output that no record names: synced, renamed to `dir/{name}` (replacing a
    /// file of that name), and the directory synced. On failure the staged file is deleted.
    pub fn publish(mut self, name: &str) -> io::Result<PathBuf> {
        self.sync()?;
        let target = self.dir.join(name);
        let file = self.tmp.persist(&target).map_err(|e| e.error)?;
        finish(file, &target)
    }

    /// Publishes an output whose record (naming `dir/{name}` and this staged path) has
    /// committed. On failure the staged file stays, so recovery can finish the move the record
    /// promises.
    pub fn publish_recorded(mut self, name: &str) -> io::Result<PathBuf> {
        let target = self.dir.join(name);
        if let Err(e) = self.sync() {
            self.tmp.disable_cleanup(true);
            return Err(e);
        }
        match self.tmp.persist(&target) {
            Ok(file) => finish(file, &target),
            Err(e) => {
                let mut tmp = e.file;
                tmp.disable_cleanup(true);
                Err(e.error)
            }
        }
    }
}

#[cfg(test)]
impl StagedFile {
    /// The open file and its path, as a killed writer leaves them.
    pub(crate) fn into_parts_for_tests(self) -> (File, tempfile::TempPath) {
        self.tmp.into_parts()
    }
}

impl Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.synced = false;
        self.tmp.as_file_mut().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.as_file_mut().flush()
    }
}

/// Makes the rename durable, then lets go of the lock (by closing the file).
fn finish(file: File, target: &Path) -> io::Result<PathBuf> {
    sync_parent(target)?;
    drop(file);
    Ok(target.to_path_buf())
}

/// Syncs the directory holding `path`, so a rename or removal in it survives a power cut.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => sync_dir(Path::new(".")),
    }
}

/// Syncs a directory's entries to disk.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Windows makes a rename durable with the file's own flush; directories cannot be opened.
#[cfg(not(unix))]
pub fn sync_dir(_: &Path) -> io::Result<()> {
    Ok(())
}

/// The final name as kept in the staged name: at most [`MAX_HINT`] bytes, on a char boundary.
fn hint(name: &str) -> &str {
    let mut end = name.len().min(MAX_HINT);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// Unix permission bits for [`write_file`] (`None` elsewhere: the platform's default).
pub fn unix_mode(mode: u32) -> Option<Permissions> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        None
    }
}

/// Writes an output that no record names, all at once: stage, sync, rename, sync the folder.
pub fn write_file(path: &Path, bytes: &[u8], perm: Option<Permissions>) -> io::Result<PathBuf> {
    let (dir, name) = split(path)?;
    let mut staged = StagedFile::new(&dir, &name)?;
    if let Some(p) = perm {
        staged.set_permissions(p)?;
    }
    staged.write_all(bytes)?;
    staged.publish(&name)
}

/// The folder and file name of an output path (a bare name is in the current folder).
pub fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    let name = path
        .file_name()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a file name", path.display()),
            )
        })?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn content_is_under_a_hidden_name_until_published() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut f = StagedFile::new(dir.path(), "journal.csv").expect("stage");
        f.write_all(b"a,b\r\n").expect("write");
        let staged = names(dir.path());
        assert_eq!(staged.len(), 1);
        assert!(staged[0].starts_with(".ocb-staged-") && staged[0].ends_with("-journal.csv"));
        let out = f.publish("journal.csv").expect("publish");
        assert_eq!(out, dir.path().join("journal.csv"));
        assert_eq!(names(dir.path()), ["journal.csv"]);
        assert_eq!(std::fs::read(&out).expect("read"), b"a,b\r\n");
    }

    #[cfg(unix)]
    #[test]
    fn published_files_are_private_unless_asked_otherwise() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tmp");
        let private = write_file(&dir.path().join("a"), b"x", None).expect("write");
        let shared = write_file(&dir.path().join("b"), b"x", unix_mode(0o644)).expect("write");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!((mode(&private), mode(&shared)), (0o600, 0o644));
    }

    #[test]
    fn an_abandoned_staged_file_is_deleted_and_a_published_one_replaces_the_old() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("out.csv"), b"old").expect("write");
        let mut failed = StagedFile::new(dir.path(), "out.csv").expect("stage");
        failed.write_all(b"half").expect("write");
        drop(failed); // an error before publishing
        assert_eq!(names(dir.path()), ["out.csv"]);
        write_file(&dir.path().join("out.csv"), b"new", None).expect("write");
        assert_eq!(
            std::fs::read(dir.path().join("out.csv")).expect("read"),
            b"new"
        );
        assert_eq!(names(dir.path()), ["out.csv"]);
    }

    #[test]
    fn long_final_names_are_shortened_in_the_staged_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let long = format!("{}é.pdf", "x".repeat(199));
        let f = StagedFile::new(dir.path(), &long).expect("stage");
        let name = f.path().file_name().expect("name").to_string_lossy().len();
        assert!(name <= 255, "{name}");
        f.publish(&long).expect("publish");
        assert_eq!(names(dir.path()), [long]);
    }

    #[test]
    fn a_failed_recorded_publish_keeps_the_staged_file_for_recovery() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut f = StagedFile::new(dir.path(), "x.csv").expect("stage");
        f.write_all(b"x").expect("write");
        let staged = f.path().to_path_buf();
        // A directory where the file should go: the rename fails.
        std::fs::create_dir(dir.path().join("x.csv")).expect("mkdir");
        std::fs::write(dir.path().join("x.csv").join("keep"), b"").expect("write");
        assert!(f.publish_recorded("x.csv").is_err());
        assert_eq!(std::fs::read(&staged).expect("still staged"), b"x");
    }
}
