//! Pending publications of output files (issue 15, see `ocb_publish`): a row ties a staged file
//! to the final name its record gives, written in the record's own transaction, and deleted
//! once the file has been renamed into place. Recovery finishes the rows a crash left and
//! deletes staged files that no row names.

use crate::{Result, Store, StoreError};
use ocb_publish::Finished;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

/// An output file to publish when the transaction recording it commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// The staged file (hidden name in the destination folder).
    pub staged: PathBuf,
    /// Its final path.
    pub target: PathBuf,
    /// The final name was asked for explicitly (`--output FILE`) and replaces what is there.
    /// Otherwise the name must be free, and [`StoreError::NameTaken`] asks for the next one.
    pub replace: bool,
}

/// What [`Store::recover_outputs`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveredOutputs {
    /// Committed files moved into place.
    pub published: Vec<PathBuf>,
    /// Staged files of records that never committed, deleted.
    pub discarded: Vec<PathBuf>,
    /// Committed files that could not be moved into place (logged as errors; tried again by
    /// the next recovery).
    pub failed: Vec<PathBuf>,
}

fn text(p: &Path) -> String {
    p.display().to_string()
}

/// Records `pubs` in the transaction `tx`, claiming each final name: a name is taken when a file
/// is there or another pending publication is headed there. The write transaction serialises
/// every recorded writer, so two exports can never be given the same name.
pub(crate) fn insert(tx: &Connection, at: &str, pubs: &[Publication]) -> Result<()> {
    for p in pubs {
        if !p.replace {
            let pending: bool = tx
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM file_publications WHERE target_path = ?1)",
                )?
                .query_row([text(&p.target)], |r| r.get(0))?;
            if pending || std::fs::symlink_metadata(&p.target).is_ok() {
                return Err(StoreError::NameTaken(p.target.clone()));
            }
        }
        tx.prepare_cached(
            "INSERT INTO file_publications (staged_path, target_path, created_at) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![text(&p.staged), text(&p.target), at])?;
    }
    Ok(())
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

impl Store {
    /// Forgets a publication once its file is in place.
    pub fn publication_done(&self, staged: &Path) -> Result<()> {
        self.conn.execute(
            "DELETE FROM file_publications WHERE staged_path = ?1",
            [text(staged)],
        )?;
        Ok(())
    }

    /// The final path a committed record gives `staged`, if any.
    pub fn publication_target(&self, staged: &Path) -> Result<Option<PathBuf>> {
        Ok(self
            .conn
            .query_row(
                "SELECT target_path FROM file_publications WHERE staged_path = ?1",
                [text(staged)],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .map(PathBuf::from))
    }

    fn pending_publications(&self) -> Result<Vec<(PathBuf, PathBuf)>> {
        let mut stmt = self.conn.prepare(
            "SELECT staged_path, target_path FROM file_publications ORDER BY created_at, staged_path",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                PathBuf::from(r.get::<_, String>(0)?),
                PathBuf::from(r.get::<_, String>(1)?),
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Startup recovery of output files (SPEC §15.2): deletes the staged files in `dirs` whose
    /// records never committed, then finishes every committed publication whose writer died
    /// before its rename (wherever its folder is). Files of running writers are left alone. A
    /// folder in `dirs` that cannot be read is an error; a committed file that cannot be moved
    /// is logged and listed in [`RecoveredOutputs::failed`].
    pub fn recover_outputs(&self, dirs: &[&Path]) -> Result<RecoveredOutputs> {
        let mut out = RecoveredOutputs::default();
        for dir in dirs {
            let sweep = ocb_publish::sweep_staged(dir, |staged| {
                self.publication_target(staged)
                    .map(|t| t.is_some())
                    .map_err(std::io::Error::other)
            })
            .map_err(io_error(format!("cleaning up {}", dir.display())))?;
            for path in &sweep.discarded {
                tracing::warn!(file = %path.display(), "deleted the unfinished output file of an interrupted run");
            }
            out.discarded.extend(sweep.discarded);
        }
        for (staged, target) in self.pending_publications()? {
            let finished = match ocb_publish::finish_publication(&staged, &target) {
                Ok(f) => f,
                Err(e) => {
                    // Its folder may be anywhere (`--output`): one that cannot be reached now
                    // must not stop every later export; the row stays for the next attempt.
                    tracing::error!(file = %target.display(), staged = %staged.display(), error = %e,
                        "cannot move the output file of an interrupted run into place");
                    out.failed.push(target);
                    continue;
                }
            };
            if finished == Finished::Published {
                tracing::warn!(file = %target.display(), "completed the output file of an interrupted run");
                out.published.push(target);
            }
            if finished != Finished::Live {
                self.publication_done(&staged)?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::store;
    use std::io::Write;

    fn record(s: &Store, p: &Publication) -> Result<()> {
        let tx = s.conn.unchecked_transaction()?;
        insert(&tx, &s.now(), std::slice::from_ref(p))?;
        tx.commit()?;
        Ok(())
    }

    #[test]
    fn a_final_name_is_claimed_once_unless_replacing() {
        let s = store();
        let dir = tempfile::tempdir().expect("tmp");
        let target = dir.path().join("j.csv");
        let p = |staged: &str, replace| Publication {
            staged: dir.path().join(staged),
            target: target.clone(),
            replace,
        };
        record(&s, &p(".a", false)).expect("free name");
        assert!(
            matches!(record(&s, &p(".b", false)), Err(StoreError::NameTaken(t)) if t == target)
        );
        record(&s, &p(".c", true)).expect("explicit names replace");
        s.publication_done(&dir.path().join(".a")).expect("done");
        s.publication_done(&dir.path().join(".c")).expect("done");
        std::fs::write(&target, b"someone's file").expect("write");
        assert!(matches!(
            record(&s, &p(".d", false)),
            Err(StoreError::NameTaken(_))
        ));
    }

    #[test]
    fn recovery_finishes_committed_files_and_deletes_the_rest() {
        let s = store();
        let dir = tempfile::tempdir().expect("tmp");
        // What killed writers leave: staged files nobody holds a lock on.
        let dead = |name: &str| {
            let p = dir.path().join(format!(".ocb-staged-000000000000-{name}"));
            std::fs::write(&p, name).expect("write");
            p
        };
        let committed = dead("kept.csv");
        let uncommitted = dead("lost.csv");
        let mut running = ocb_publish::StagedFile::new(dir.path(), "running.csv").expect("stage");
        running.write_all(b"running").expect("write");
        let elsewhere = tempfile::tempdir().expect("tmp");
        let far = elsewhere.path().join(".ocb-staged-000000000000-far.csv");
        std::fs::write(&far, b"far").expect("write");
        for (staged, target) in [
            (&committed, dir.path().join("kept.csv")),
            (&far, elsewhere.path().join("far.csv")),
        ] {
            let p = Publication {
                staged: staged.clone(),
                target,
                replace: false,
            };
            record(&s, &p).expect("record");
        }
        let out = s.recover_outputs(&[dir.path()]).expect("recover");
        assert_eq!(out.discarded, [uncommitted]);
        assert_eq!(out.published.len(), 2, "{out:?}");
        assert_eq!(
            std::fs::read(dir.path().join("kept.csv")).expect("kept"),
            b"kept.csv"
        );
        assert_eq!(
            std::fs::read(elsewhere.path().join("far.csv")).expect("far"),
            b"far"
        );
        assert!(
            running.path().exists(),
            "a live writer's file is left alone"
        );
        assert!(s.pending_publications().expect("rows").is_empty());
        assert_eq!(
            s.recover_outputs(&[dir.path()]).expect("again"),
            RecoveredOutputs::default()
        );
        running.publish("running.csv").expect("publish");
    }

    #[test]
    fn a_committed_file_that_cannot_be_moved_is_reported_and_kept_for_later() {
        let s = store();
        let dir = tempfile::tempdir().expect("tmp");
        let staged = dir.path().join(".ocb-staged-000000000000-j.csv");
        std::fs::write(&staged, b"j").expect("write");
        let target = dir.path().join("j.csv");
        std::fs::create_dir(&target).expect("a directory where the file should go");
        std::fs::write(target.join("x"), b"").expect("write");
        let p = Publication {
            staged: staged.clone(),
            target: target.clone(),
            replace: true,
        };
        record(&s, &p).expect("record");
        let out = s.recover_outputs(&[]).expect("recovery goes on");
        assert_eq!(out.failed, std::slice::from_ref(&target));
        assert_eq!(s.publication_target(&staged).expect("row"), Some(target));
        assert!(staged.exists());
    }
}
