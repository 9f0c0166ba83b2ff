//! One input stream (a file, an upload, or one part of an export directory), whatever its kind.
//!
//! Every source feeds the same shared hash, so a directory's `sha256` covers its parts in reading
//! order. Parquet needs random access: files are opened a second time for the row reader while
//! the sniffing handle is drained for the hash at the end; streams are spooled into memory.

use crate::build::RowBuilder;
use crate::cell::RecordView;
use crate::columns::Columns;
use crate::csv_source::CsvSource;
use crate::error::{FileError, FileErrorKind};
use crate::input::{sniff, HashingReader, InputKind, SharedHash, Sniffed};
use crate::row::RowResult;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// An opened input stream.
pub(crate) enum PartSource {
    Csv(Box<CsvSource>),
    #[cfg(feature = "parquet")]
    Parquet {
        source: Box<crate::parquet_source::ParquetSource>,
        /// The sniffing handle, drained into the hash when the rows are done.
        rest: HashingReader,
    },
}

/// Only regular files are read (issue 15): a character device such as `/dev/zero` or
/// `/dev/urandom` never ends, opening a FIFO blocks until something writes to it, and Parquet
/// needs to read a file twice. Checked before opening, because opening a FIFO already blocks.
/// Uploads and other streams go through [`PartSource::open_stream`] with the same size bounds.
fn check_regular_file(path: &Path, name: &Path) -> Result<(), FileError> {
    let meta = std::fs::metadata(path).map_err(|e| FileError::io(name, &e))?;
    if meta.is_file() {
        return Ok(());
    }
    let what = file_type_name(&meta.file_type());
    Err(FileError::new(
        name,
        FileErrorKind::Unreadable,
        format!("not a regular file ({what}); save the data to a file and give its path"),
    ))
}

#[cfg(unix)]
fn file_type_name(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a named pipe"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn file_type_name(t: &std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

impl PartSource {
    /// Opens a file. `name` is what errors cite.
    pub(crate) fn open_file(
        path: &Path,
        name: &Path,
        part: Option<String>,
        hash: &SharedHash,
    ) -> Result<(Self, Columns, InputKind), FileError> {
        check_regular_file(path, name)?;
        let file = File::open(path).map_err(|e| FileError::io(name, &e))?;
        let hashing = HashingReader::new(Box::new(file), hash.clone());
        let (kind, raw) = sniff(hashing).map_err(|e| FileError::io(name, &e))?;
        match kind {
            #[cfg(feature = "parquet")]
            Sniffed::Parquet => {
                let file = File::open(path).map_err(|e| FileError::io(name, &e))?;
                let reader = crate::parquet_source::open_reader(
                    name,
                    crate::parquet_source::SharedFile::new(file),
                )?;
                let (source, columns) =
                    crate::parquet_source::ParquetSource::open(name, reader, part)?;
                let rest = raw.into_inner().1;
                let source = Self::Parquet {
                    source: Box::new(source),
                    rest,
                };
                Ok((source, columns, InputKind::Parquet))
            }
            _ => Self::open_sniffed(name, kind, raw, part),
        }
    }

    /// Opens any byte stream (uploads, fuzzing). Parquet is spooled into memory.
    pub(crate) fn open_stream(
        name: &Path,
        stream: Box<dyn Read + Send>,
        part: Option<String>,
        hash: &SharedHash,
    ) -> Result<(Self, Columns, InputKind), FileError> {
        let hashing = HashingReader::new(stream, hash.clone());
        let (kind, raw) = sniff(hashing).map_err(|e| FileError::io(name, &e))?;
        match kind {
            #[cfg(feature = "parquet")]
            Sniffed::Parquet => {
                let mut raw = raw;
                let mut bytes = Vec::new();
                raw.read_to_end(&mut bytes)
                    .map_err(|e| FileError::io(name, &e))?;
                let reader = crate::parquet_source::open_reader(name, bytes::Bytes::from(bytes))?;
                let (source, columns) =
                    crate::parquet_source::ParquetSource::open(name, reader, part)?;
                let source = Self::Parquet {
                    source: Box::new(source),
                    rest: raw.into_inner().1,
                };
                Ok((source, columns, InputKind::Parquet))
            }
            _ => Self::open_sniffed(name, kind, raw, part),
        }
    }

    fn open_sniffed(
        name: &Path,
        kind: Sniffed,
        raw: crate::input::Raw,
        part: Option<String>,
    ) -> Result<(Self, Columns, InputKind), FileError> {
        match kind {
            Sniffed::Empty => Err(FileError::new(
                name,
                FileErrorKind::Empty,
                "the file is empty",
            )),
            Sniffed::Parquet => Err(FileError::new(
                name,
                FileErrorKind::Unsupported,
                "this is a Parquet file, and Parquet support is not built in",
            )),
            Sniffed::Gzip | Sniffed::Text => {
                let gzip = kind == Sniffed::Gzip;
                let (source, columns) = CsvSource::open(name, raw, gzip, part)?;
                let kind = if gzip {
                    InputKind::CsvGz
                } else {
                    InputKind::Csv
                };
                Ok((Self::Csv(Box::new(source)), columns, kind))
            }
        }
    }

    /// The next record.
    pub(crate) fn next(
        &mut self,
        builder: &mut RowBuilder,
    ) -> Result<Option<RowResult>, FileError> {
        match self {
            Self::Csv(csv) => csv.next(builder),
            #[cfg(feature = "parquet")]
            Self::Parquet { source, .. } => source.next(builder),
        }
    }

    /// Runs `f` on the cells of the last record, if it was well-formed.
    pub(crate) fn with_last<T>(&self, f: impl FnOnce(&dyn RecordView) -> T) -> Option<T> {
        match self {
            Self::Csv(csv) => csv.last_record().map(|r| f(&r)),
            #[cfg(feature = "parquet")]
            Self::Parquet { source, .. } => source.last_record().map(|r| f(&r)),
        }
    }

    /// Blank lines skipped so far.
    pub(crate) fn blank_lines(&self) -> u64 {
        match self {
            Self::Csv(csv) => csv.blank_lines(),
            #[cfg(feature = "parquet")]
            Self::Parquet { .. } => 0,
        }
    }

    /// Hashes whatever the row reader did not read, so the hash covers the whole input.
    pub(crate) fn finish(self, name: &Path) -> Result<(), FileError> {
        let mut rest = match self {
            Self::Csv(csv) => csv.into_hashing(),
            #[cfg(feature = "parquet")]
            Self::Parquet { rest, .. } => rest,
        };
        rest.drain().map_err(|e| FileError::io(name, &e))
    }
}
