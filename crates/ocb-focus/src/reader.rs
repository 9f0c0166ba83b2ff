//! [`FocusReader`]: the streaming reader ingest and `validate` drive (SPEC §3).

use crate::build::RowBuilder;
use crate::cell::RecordView;
use crate::columns::Columns;
use crate::diag::Diagnostic;
use crate::dir::DirSource;
use crate::error::FileError;
use crate::input::{lock, InputKind, InputStats, SharedHash};
use crate::row::RowResult;
use crate::source::PartSource;
use std::io::Read;
use std::path::{Path, PathBuf};

/// An opened input: header recognised, rows streamed one at a time, constant memory.
///
/// ```no_run
/// use ocb_focus::{FocusReader, RowResult};
/// let mut reader = FocusReader::open("aws.csv".as_ref())?;
/// while let Some(result) = reader.next_row() {
///     match result {
///         RowResult::Row(row) => println!("{} {}", row.line, row.fields.billed_cost),
///         RowResult::Rejected(bad) => println!("{}: {}", bad.line, bad.reason()),
///     }
/// }
/// let stats = reader.finish()?; // size, sha256, rows_read
/// # Ok::<(), ocb_focus::FileError>(())
/// ```
pub struct FocusReader {
    path: PathBuf,
    kind: InputKind,
    columns: Columns,
    file_warnings: Vec<Diagnostic>,
    builder: RowBuilder,
    input: Input,
    hash: SharedHash,
    rows_read: u64,
    failure: Option<FileError>,
}

enum Input {
    Single(PartSource),
    Dir(Box<DirSource>),
}

impl FocusReader {
    /// Opens a file or export directory and reads its header. The content decides the kind
    /// (gzip magic, `PAR1`, else CSV), not the extension.
    pub fn open(path: &Path) -> Result<FocusReader, FileError> {
        let hash = SharedHash::default();
        if path.is_dir() {
            let (dir, columns) = DirSource::open(path, &hash)?;
            return Ok(Self::new(
                path.to_path_buf(),
                InputKind::Directory,
                columns,
                Input::Dir(Box::new(dir)),
                hash,
            ));
        }
        let (source, columns, kind) = PartSource::open_file(path, path, None, &hash)?;
        Ok(Self::new(
            path.to_path_buf(),
            kind,
            columns,
            Input::Single(source),
            hash,
        ))
    }

    /// Reads from any byte stream (an upload, a pipe). `name` is what diagnostics cite.
    /// Parquet needs random access, so a Parquet stream is buffered in memory.
    pub fn from_reader(
        name: impl Into<PathBuf>,
        reader: impl Read + Send + 'static,
    ) -> Result<FocusReader, FileError> {
        let name = name.into();
        let hash = SharedHash::default();
        let (source, columns, kind) =
            PartSource::open_stream(&name, Box::new(reader), None, &hash)?;
        Ok(Self::new(name, kind, columns, Input::Single(source), hash))
    }

    fn new(
        path: PathBuf,
        kind: InputKind,
        columns: Columns,
        input: Input,
        hash: SharedHash,
    ) -> Self {
        Self {
            path,
            kind,
            file_warnings: columns.file_warnings(),
            builder: RowBuilder::new(&columns),
            columns,
            input,
            hash,
            rows_read: 0,
            failure: None,
        }
    }

    /// The path (or name) of the input.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What kind of input this is.
    pub fn kind(&self) -> InputKind {
        self.kind
    }

    /// The recognised header.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// File-level warnings (`W_NO_TAGS_COLUMN`).
    pub fn file_warnings(&self) -> &[Diagnostic] {
        &self.file_warnings
    }

    /// Data records read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Bytes of the input read so far, as stored (compressed bytes of a gzip file): for
    /// progress bars. Parquet is read whole at open, so it counts its full size at once.
    pub fn bytes_read(&self) -> u64 {
        lock(&self.hash).size
    }

    /// The next record; `None` at the end. A read failure in the middle of the input (corrupt
    /// gzip, I/O error) also ends the stream: [`FocusReader::finish`] then returns it.
    pub fn next_row(&mut self) -> Option<RowResult> {
        if self.failure.is_some() {
            return None;
        }
        let next = match &mut self.input {
            Input::Single(source) => source.next(&mut self.builder),
            Input::Dir(dir) => dir.next(&mut self.builder),
        };
        match next {
            Ok(Some(row)) => {
                self.rows_read += 1;
                Some(row)
            }
            Ok(None) => None,
            Err(e) => {
                self.failure = Some(e);
                None
            }
        }
    }

    /// Runs `f` on the cells of the last record returned, when it had the right shape (for the
    /// strict checks of `validate`, which look at cells as written).
    pub(crate) fn with_last_record<T>(&self, f: impl FnOnce(&dyn RecordView) -> T) -> Option<T> {
        match &self.input {
            Input::Single(source) => source.with_last(f),
            Input::Dir(dir) => dir.with_last(f),
        }
    }

    /// Ends reading: hashes any bytes not yet read and returns the input's size, SHA-256 and
    /// counts, or the error that stopped the stream.
    pub fn finish(self) -> Result<InputStats, FileError> {
        if let Some(e) = self.failure {
            return Err(e);
        }
        let blank_lines = match self.input {
            Input::Single(source) => {
                let blank = source.blank_lines();
                source.finish(&self.path)?;
                blank
            }
            Input::Dir(dir) => dir.finish()?,
        };
        let state = lock(&self.hash);
        Ok(InputStats {
            size_bytes: state.size,
            sha256: state.hex(),
            rows_read: self.rows_read,
            blank_lines,
        })
    }
}

impl Iterator for FocusReader {
    type Item = RowResult;

    fn next(&mut self) -> Option<RowResult> {
        self.next_row()
    }
}

impl std::fmt::Debug for FocusReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FocusReader")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("rows_read", &self.rows_read)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
