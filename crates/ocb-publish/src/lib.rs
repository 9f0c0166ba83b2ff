//! Output files that appear complete or not at all (issue 15).
//!
//! Every file OpenChargeback writes (journals, statement PDFs, dev-mode e-mails, import
//! artefacts, uploads, converter and demo outputs) is written to a hidden temporary name in its
//! destination folder, synced, then renamed, so nothing partial ever carries a final name:
//!
//! 1. [`StagedFile::new`] creates `.ocb-staged-{random}-{final name}` in the destination folder
//!    and locks it; the content is written and [`StagedFile::sync`]ed.
//! 2. For an output with a record (a journal export, an e-mail log row), the record, its audit
//!    event and a *pending publication* (staged path → final path) are written in ONE database
//!    transaction. That commit is the point of no return.
//! 3. [`StagedFile::publish_recorded`] renames the file to its final name and syncs the folder;
//!    the pending publication is then deleted. Outputs without a record use
//!    [`StagedFile::publish`] or [`write_file`].
//!
//! After a crash at any point, recovery ([`sweep_staged`], [`finish_publication`], run by the
//! next command that writes to the folder) leaves either nothing new or the complete file with
//! its record: a staged file whose record committed is renamed into place, one whose record did
//! not commit is deleted. A writer holds an exclusive lock on its staged file until the rename,
//! so a sweeper never touches the file of a live process; the lock dies with the process
//! (SIGKILL included), which is how a dead writer is told from a slow one ([`DirClaim`] does
//! the same for working directories such as statement staging folders).
//!
//! Must not depend on: the store, templates, web, PDF, mail. It deals in paths only; the
//! database side of step 2 lives in `ocb-store`.
//!
//! ```no_run
//! use std::io::Write;
//! let mut f = ocb_publish::StagedFile::new("out/journals".as_ref(), "journal.csv")?;
//! f.write_all(b"period,amount\r\n")?;
//! f.sync()?;
//! // … record the export with f.path() in one transaction, then:
//! f.publish_recorded("journal.csv")?;
//! # Ok::<(), std::io::Error>(())
//! ```
#![warn(clippy::unwrap_used, clippy::print_stdout)]

mod lock;
mod recover;
mod staged;

pub use lock::{dir_of_lock, lock_path, DirClaim};
pub use recover::{finish_publication, sweep_staged, Finished, Sweep};
pub use staged::{
    is_staged_name, split, sync_dir, sync_parent, unix_mode, write_file, StagedFile, STAGED_PREFIX,
};
