//! CSV and CSV.gz records: header recognition and record-level errors (SPEC §3.2, §3.7).

use crate::build::RowBuilder;
use crate::cell::{RecordView, TextRecord};
use crate::columns::Columns;
use crate::diag::{Code, Diagnostic, LineRef};
use crate::error::{FileError, FileErrorKind};
use crate::input::{Decoded, HashingReader, Raw};
use crate::row::{RejectedRecord, RowResult};
use crate::split::{RecordInfo, Splitter, MAX_RECORD_BYTES};
use std::io;
use std::path::{Path, PathBuf};

/// A header longer than this is not a header (binary data or a file without line ends).
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Raw text kept for a rejected oversize record.
const MAX_RAW_KEPT: usize = 1 << 20;

/// A CSV input positioned after its header.
pub(crate) struct CsvSource {
    path: PathBuf,
    splitter: Splitter<Decoded>,
    ncols: usize,
    headers: Vec<String>,
    gzip: bool,
    part: Option<String>,
    /// The last record was handed to the row builder (so its cells can be looked at again).
    last_built: bool,
}

impl CsvSource {
    /// Reads and recognises the header.
    pub(crate) fn open(
        path: &Path,
        raw: Raw,
        gzip: bool,
        part: Option<String>,
    ) -> Result<(Self, Columns), FileError> {
        let mut splitter = Splitter::new(Decoded::new(raw, gzip));
        let info = match splitter.next_record(MAX_HEADER_BYTES) {
            Ok(Some(info)) => info,
            Ok(None) => {
                return Err(FileError::new(
                    path,
                    FileErrorKind::NoHeader,
                    "no header line: the file holds only blank lines",
                ))
            }
            Err(e) => return Err(stream_error(path, gzip, &e)),
        };
        let names = header_names(path, &splitter, &info)?;
        let columns = Columns::recognise(path, &names)?;
        let ncols = columns.len();
        let source = Self {
            path: path.to_path_buf(),
            splitter,
            ncols,
            headers: columns.headers().to_vec(),
            gzip,
            part,
            last_built: false,
        };
        Ok((source, columns))
    }

    /// The next record, `Ok(None)` at the end.
    pub(crate) fn next(
        &mut self,
        builder: &mut RowBuilder,
    ) -> Result<Option<RowResult>, FileError> {
        self.last_built = false;
        let info = match self.splitter.next_record(MAX_RECORD_BYTES) {
            Ok(Some(info)) => info,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Err(stream_error(&self.path, self.gzip, &e));
            }
        };
        let line = LineRef::line(info.line).in_part(self.part.as_deref());
        if let Some(rejected) = self.unsplittable(&line, &info) {
            return Ok(Some(RowResult::Rejected(rejected)));
        }
        let Ok(text) = std::str::from_utf8(self.splitter.field_bytes()) else {
            return Ok(Some(RowResult::Rejected(self.encoding_error(line))));
        };
        let rec = TextRecord {
            text,
            ends: self.splitter.ends(),
        };
        if rec.len() != self.ncols {
            let mut message = format!(
                "record has {} fields but the header has {}",
                rec.len(),
                self.ncols
            );
            if info.at_eof && rec.len() < self.ncols {
                message.push_str(" (the last record may be truncated)");
            }
            let error = Diagnostic::new(line.clone(), None, None, Code::ERecord, message);
            return Ok(Some(RowResult::Rejected(crate::build::rejected(
                line,
                vec![error],
                &rec,
                None,
            ))));
        }
        self.last_built = true;
        Ok(Some(builder.build(line, &rec)))
    }

    /// Records that cannot be split into fields: oversize, or ending inside an open quote.
    fn unsplittable(&self, line: &LineRef, info: &RecordInfo) -> Option<RejectedRecord> {
        let message = if info.oversize {
            format!(
                "record is larger than {} MiB (an unterminated quote?); not read",
                MAX_RECORD_BYTES >> 20
            )
        } else if info.unterminated_quote {
            "unterminated quoted field: a closing quote is missing or the file is truncated".into()
        } else {
            return None;
        };
        let raw = self.splitter.raw_body();
        let raw = &raw[..raw.len().min(MAX_RAW_KEPT)];
        Some(RejectedRecord {
            line: line.clone(),
            errors: vec![Diagnostic::new(
                line.clone(),
                None,
                None,
                Code::ERecord,
                message,
            )],
            fields: Vec::new(),
            raw: Some(String::from_utf8_lossy(raw).into_owned()),
            period: None,
        })
    }

    fn encoding_error(&self, line: LineRef) -> RejectedRecord {
        let bytes = self.splitter.field_bytes();
        let bad = std::str::from_utf8(bytes)
            .err()
            .map_or(0, |e| e.valid_up_to());
        let field = self.splitter.ends().iter().position(|&end| end > bad);
        let column = field.and_then(|i| self.headers.get(i)).map(String::as_str);
        let value = field.map(|i| String::from_utf8_lossy(self.splitter.field(i)).into_owned());
        let byte = bytes.get(bad).copied().unwrap_or(0);
        let error = Diagnostic::new(
            line.clone(),
            column,
            value.as_deref(),
            Code::EEncoding,
            format!("not valid UTF-8 (byte 0x{byte:02X}); save the file as UTF-8"),
        );
        RejectedRecord {
            line,
            errors: vec![error],
            fields: Vec::new(),
            raw: Some(String::from_utf8_lossy(self.splitter.raw_body()).into_owned()),
            period: None,
        }
    }

    /// The cells of the last record, when it was well-formed (for `validate`).
    pub(crate) fn last_record(&self) -> Option<TextRecord<'_>> {
        if !self.last_built {
            return None;
        }
        let text = std::str::from_utf8(self.splitter.field_bytes()).ok()?;
        Some(TextRecord {
            text,
            ends: self.splitter.ends(),
        })
    }

    /// Blank lines skipped so far.
    pub(crate) fn blank_lines(&self) -> u64 {
        self.splitter.blank_lines()
    }

    /// Gives back the hashing reader under the decoder.
    pub(crate) fn into_hashing(self) -> HashingReader {
        self.splitter.into_inner().into_hashing()
    }
}

/// Validates the header record and returns its names.
fn header_names<'a>(
    path: &Path,
    splitter: &'a Splitter<Decoded>,
    info: &RecordInfo,
) -> Result<Vec<&'a str>, FileError> {
    let err = |kind, msg: String| Err(FileError::new(path, kind, msg));
    let bytes = splitter.field_bytes();
    if info.oversize {
        return err(
            FileErrorKind::NoHeader,
            format!(
                "no header line within the first {} MiB: not a CSV file?",
                MAX_HEADER_BYTES >> 20
            ),
        );
    }
    if looks_binary(splitter.raw_body()) {
        return err(
            FileErrorKind::Binary,
            "binary content, not CSV text (expected a header line such as \
             BillingPeriodStart,BilledCost,...)"
                .into(),
        );
    }
    if std::str::from_utf8(bytes).is_err() {
        return err(
            FileErrorKind::HeaderEncoding,
            format!(
                "the header (line {}) is not valid UTF-8; save the file as UTF-8",
                info.line
            ),
        );
    }
    let names = (0..splitter.field_count())
        .map(|i| std::str::from_utf8(splitter.field(i)).unwrap_or(""))
        .collect();
    Ok(names)
}

/// NUL bytes or a high share of control characters mean this is not text.
fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(4096)];
    if sample.contains(&0) {
        return true;
    }
    let control = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
        .count();
    control * 10 > sample.len()
}

/// A read failure while streaming, worded by what it most likely is.
fn stream_error(path: &Path, gzip: bool, e: &io::Error) -> FileError {
    if gzip {
        FileError::new(
            path,
            FileErrorKind::Compression,
            format!("gzip data is corrupt or truncated: {e}"),
        )
    } else {
        FileError::io(path, e)
    }
}
