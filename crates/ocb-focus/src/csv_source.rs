//! CSV and CSV.gz records: header recognition and record-level errors (SPEC §3.2, §3.7).

use crate::build::RowBuilder;
use crate::cell::{RecordView, TextRecord};
use crate::columns::Columns;
use crate::diag::{Code, Diagnostic, LineRef};
use crate::error::{FileError, FileErrorKind};
use crate::input::{Decoded, HashingReader, Raw};
use crate::row::{RejectedRecord, RowResult};
use crate::split::{QuoteError, QuoteErrorKind, RecordInfo, Splitter, MAX_RECORD_BYTES};
use std::io;
use std::path::{Path, PathBuf};

/// A header longer than this is not a header (binary data or a file without line ends). FOCUS
/// 1.3 has about 100 columns; 1 MiB leaves room for thousands of long provider columns.
const MAX_HEADER_BYTES: usize = 1 << 20;

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
        if info.oversize {
            return Err(self.oversize_error(&line));
        }
        if memchr::memchr(0, self.splitter.raw_body()).is_some() {
            return Err(FileError::new(
                &self.path,
                FileErrorKind::Binary,
                format!("{line}: NUL byte: binary data, not CSV text (a damaged or wrong file?)"),
            ));
        }
        if let Some(error) = info.quote_error {
            return Ok(Some(RowResult::Rejected(
                self.quote_error(line, &info, error),
            )));
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

    /// A physical line longer than the record limit: reading cannot go on (the next record's
    /// start is unknown), so the whole input is refused.
    fn oversize_error(&self, line: &LineRef) -> FileError {
        if looks_binary(self.splitter.oversize_prefix()) {
            return binary_error(&self.path);
        }
        FileError::new(
            &self.path,
            FileErrorKind::LineTooLong,
            format!(
                "{line}: a line longer than {} MiB without a line end: not a FOCUS CSV file, or \
                 a damaged one",
                MAX_RECORD_BYTES >> 20
            ),
        )
    }

    /// A record with a broken quoted field (issue 15): rejected with its column, cut at the end
    /// of the line where the field opened (the lines after it are read as records).
    fn quote_error(&self, line: LineRef, info: &RecordInfo, error: QuoteError) -> RejectedRecord {
        let raw = self.splitter.raw_body();
        let column = self.headers.get(error.field).map(String::as_str);
        let from = error.open.min(raw.len());
        let value = String::from_utf8_lossy(&raw[from..]);
        let message = match error.kind {
            QuoteErrorKind::TextAfterQuote => {
                "text after the closing quote of a quoted field; a quote inside a quoted field \
                 must be doubled (\"\")"
            }
            QuoteErrorKind::NotClosedOnLine => {
                "the quoted field opened on this line is not closed properly (a closing quote is \
                 missing?); only this line is rejected and the next line is read as a new record"
            }
            QuoteErrorKind::Unterminated if info.at_eof => {
                "unterminated quoted field: a closing quote is missing or the file is truncated"
            }
            QuoteErrorKind::Unterminated => "unterminated quoted field",
        };
        let error = Diagnostic::new(line.clone(), column, Some(&value), Code::ERecord, message);
        RejectedRecord {
            line,
            errors: vec![error],
            fields: Vec::new(),
            raw: Some(String::from_utf8_lossy(raw).into_owned()),
            period: None,
        }
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
        if looks_binary(splitter.oversize_prefix()) {
            return Err(binary_error(path));
        }
        return err(
            FileErrorKind::NoHeader,
            format!(
                "no header line within the first {} MiB: not a CSV file?",
                MAX_HEADER_BYTES >> 20
            ),
        );
    }
    if looks_binary(splitter.raw_body()) {
        return Err(binary_error(path));
    }
    if info.quote_error.is_some() {
        return err(
            FileErrorKind::NoHeader,
            "the header (line 1) has a broken quoted name (a missing or stray quote)".into(),
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

fn binary_error(path: &Path) -> FileError {
    FileError::new(
        path,
        FileErrorKind::Binary,
        "binary content, not CSV text (expected a header line such as \
         BillingPeriodStart,BilledCost,...)",
    )
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
