//! Telling a live writer from a dead one. A staged file, or a staging directory's lock file, is
//! owned by the process that holds an exclusive advisory lock on it (`flock` on Unix,
//! `LockFileEx` on Windows, through `std::fs::File::lock`). The operating system drops the lock
//! when the process ends however it ends, SIGKILL included, so a sweeper that can take the lock
//! knows the owner is gone: no guess from the file's age, which would either delete the work of
//! a slow run or keep a dead run's files for as long as the guess (issue 15, item 8e).
//!
//! Creating a file and locking it are two steps, so the protocol closes the gap between them:
//! * an owner creates the file under a fresh name, locks it (waiting if a sweeper holds it),
//!   then checks that the path still names the file it locked; if a sweeper removed it in
//!   between, the owner starts again;
//! * a sweeper opens the path, tries the lock without waiting, checks the path still names the
//!   file it locked, and removes it only while holding the lock.

use std::fs::{File, Metadata, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// How often an owner starts again after losing a fresh file to a sweeper (each loss needs a
/// sweeper to run in the microseconds between create and lock).
pub(crate) const ATTEMPTS: usize = 8;

/// What a sweeper found at a path.
#[derive(Debug)]
pub(crate) enum Found {
    /// Nothing is there.
    Missing,
    /// A live process holds it.
    Live,
    /// Its owner is gone; the sweeper now holds the lock (through this handle).
    Abandoned(File),
}

/// Locks `file`, just created at `path`, for its owner: `false` when a sweeper removed `path`
/// before the lock was taken (the caller creates a new file).
pub(crate) fn lock_created(file: &File, path: &Path) -> io::Result<bool> {
    file.lock()?;
    still_at(file, path)
}

/// Opens `path` and takes its lock if no live process holds it.
pub(crate) fn take(path: &Path) -> io::Result<Found> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(Found::Live),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    // The owner may have renamed or removed it between our open and our lock.
    if still_at(&file, path)? {
        Ok(Found::Abandoned(file))
    } else {
        Ok(Found::Missing)
    }
}

/// Whether `path` still names the file `file` has open.
fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(on_disk) => Ok(same_file(&file.metadata()?, &on_disk)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Windows: an open file cannot be deleted from under its handle without the delete showing on
/// the handle's own path, and names are never reused (random), so the path check holds.
#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    true
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// A working directory owned by this process, such as the staging directory of a statement run
/// or the artefact directory of an import. Directories cannot be locked portably, so the lock is
/// a hidden file beside the directory (`.{name}.lock`, or `{name}.lock` for a hidden name): the
/// owner creates and locks it before creating the directory, and removes the directory before
/// the lock file. A directory without a lock file therefore has no owner.
#[derive(Debug)]
pub struct DirClaim {
    dir: PathBuf,
    lock_path: PathBuf,
    lock: File,
}

impl DirClaim {
    /// Creates `dir` (which must not exist yet), owned by this process until [`DirClaim::remove`],
    /// [`DirClaim::release`] or the process ends.
    pub fn create(dir: &Path) -> io::Result<Self> {
        let lock_path = lock_path(dir)?;
        for _ in 0..ATTEMPTS {
            let lock = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock_path)?;
            if !lock_created(&lock, &lock_path)? {
                continue;
            }
            if let Err(e) = std::fs::create_dir(dir) {
                let _ = std::fs::remove_file(&lock_path);
                return Err(e);
            }
            return Ok(Self {
                dir: dir.to_path_buf(),
                lock_path,
                lock,
            });
        }
        Err(contended(&lock_path))
    }

    /// Takes over `dir` when no live process owns it: its owner died, or it never had one (the
    /// directory itself may be gone, leaving only its lock file). `None` while its owner runs.
    pub fn take_abandoned(dir: &Path) -> io::Result<Option<Self>> {
        let lock_path = lock_path(dir)?;
        for _ in 0..ATTEMPTS {
            let lock = match take(&lock_path)? {
                Found::Live => return Ok(None),
                Found::Abandoned(lock) => lock,
                Found::Missing => match OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&lock_path)
                {
                    Ok(lock) if lock_created(&lock, &lock_path)? => lock,
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                },
            };
            return Ok(Some(Self {
                dir: dir.to_path_buf(),
                lock_path,
                lock,
            }));
        }
        Err(contended(&lock_path))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Deletes the directory with everything in it, then its lock file.
    pub fn remove(self) -> io::Result<()> {
        ignore_missing(std::fs::remove_dir_all(&self.dir))?;
        self.release()
    }

    /// Keeps the directory (its contents are now owned by a committed record) and gives up
    /// the claim.
    pub fn release(self) -> io::Result<()> {
        let r = ignore_missing(std::fs::remove_file(&self.lock_path));
        drop(self.lock);
        r
    }
}

/// The lock file of `dir`: `.{name}.lock` beside it (`{name}.lock` when the name is hidden).
pub fn lock_path(dir: &Path) -> io::Result<PathBuf> {
    let name = dir
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a directory name is needed"))?
        .to_string_lossy();
    let lock = if name.starts_with('.') {
        format!("{name}.lock")
    } else {
        format!(".{name}.lock")
    };
    Ok(dir.with_file_name(lock))
}

/// The directory a lock file belongs to, when `path` is named like one made by [`lock_path`]
/// for a directory whose name satisfies `is_dir_name`.
pub fn dir_of_lock(path: &Path, is_dir_name: impl Fn(&str) -> bool) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".lock")?;
    [stem, stem.strip_prefix('.').unwrap_or(stem)]
        .into_iter()
        .find(|d| {
            is_dir_name(d) && lock_path(&path.with_file_name(d)).ok().as_deref() == Some(path)
        })
        .map(|d| path.with_file_name(d))
}

fn contended(path: &Path) -> io::Error {
    io::Error::other(format!(
        "{}: removed by another process {ATTEMPTS} times while being created",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_directory_is_live_until_its_owner_lets_go() {
        let root = tempfile::tempdir().expect("tmp");
        let dir = root.path().join(".staging-a");
        let claim = DirClaim::create(&dir).expect("claim");
        std::fs::write(dir.join("x.pdf"), b"x").expect("write");
        assert!(DirClaim::take_abandoned(&dir).expect("look").is_none());
        drop(claim); // as if the process died: the lock goes, the files stay
        let taken = DirClaim::take_abandoned(&dir)
            .expect("look")
            .expect("abandoned");
        taken.remove().expect("remove");
        assert_eq!(std::fs::read_dir(root.path()).expect("ls").count(), 0);
    }

    #[test]
    fn a_directory_without_a_lock_file_has_no_owner() {
        let root = tempfile::tempdir().expect("tmp");
        let dir = root.path().join("3f1c");
        std::fs::create_dir(&dir).expect("mkdir");
        let claim = DirClaim::take_abandoned(&dir)
            .expect("look")
            .expect("no owner");
        assert!(root.path().join(".3f1c.lock").exists());
        claim.release().expect("release");
        assert!(dir.is_dir());
        assert!(!root.path().join(".3f1c.lock").exists());
    }

    #[test]
    fn lock_names_map_back_to_their_directories() {
        let root = Path::new("/x");
        let is_uuid = |n: &str| n.len() == 4 && !n.starts_with('.');
        let is_staging = |n: &str| n.starts_with(".staging-");
        assert_eq!(
            dir_of_lock(&root.join(".3f1c.lock"), is_uuid),
            Some(root.join("3f1c"))
        );
        assert_eq!(
            dir_of_lock(&root.join(".staging-a.lock"), is_staging),
            Some(root.join(".staging-a"))
        );
        assert_eq!(dir_of_lock(&root.join("3f1c.lock"), is_uuid), None);
        assert_eq!(dir_of_lock(&root.join(".staging-a"), is_staging), None);
    }
}
