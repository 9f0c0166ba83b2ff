//! Splitting CSV bytes into records, keeping what diagnostics need.
//!
//! This is the innermost loop of ingest. It follows `csv_core`'s RFC 4180 dialect (comma, `"`
//! quotes with `""` escapes, `\r`, `\n` or `\r\n` terminators, quotes inside an unquoted field
//! taken literally; the tests compare both on random input) but jumps between delimiters with
//! `memchr` instead of walking a byte-at-a-time state machine, which made `csv_core` the largest
//! single cost of reading.
//!
//! One deliberate difference (issue 15): a quoted field must end with a closing quote followed
//! by a comma, a line end or the end of the input. `csv_core` appends text after a closing quote
//! to the field, so a missing closing quote silently swallowed the following line(s) up to the
//! next quote, and when the merged record had the right field count a charge vanished. Here such
//! a record is malformed ([`QuoteError`]) and is cut at the end of the physical line where the
//! broken field opened; the next line is read as a new record. A quoted field may still contain
//! line breaks when it is closed properly (FOCUS exports have multi-line descriptions).
//!
//! A record is parsed only once it is complete in the buffer (the buffer is compacted and, for
//! long records, grown, then the record is parsed again from its start), so its raw bytes are
//! one slice: rejects.csv wants them verbatim when a record cannot be split (SPEC §5.5). The
//! splitter also reports the physical line where each record starts, quote errors, and the
//! blank lines it skipped (SPEC §3.2, §5.6). The raw bytes of all records and skipped blank
//! lines together are exactly the input, so no byte is ever dropped. A record that is still open
//! after the size limit is cut at the line end where its open quoted field began; a single
//! physical line longer than the limit cannot be split at all and is flagged `oversize`, after
//! which the caller stops (it cannot know where the next record starts without reading on,
//! possibly forever: `/dev/zero`).

use memchr::{memchr, memchr2, memchr2_iter, memchr3};
use std::io::{self, Read};

/// The longest record (and the longest physical line) the reader accepts: 64 MiB, far beyond
/// any FOCUS record (a Tags object of a million characters still fits), while an unterminated
/// quote early in a large file, or input without line ends, buffers at most this much.
pub(crate) const MAX_RECORD_BYTES: usize = 64 << 20;

const INPUT_BUFFER: usize = 64 << 10;

/// The last record read by [`Splitter::next_record`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordInfo {
    /// Physical line where the record starts (1-based).
    pub(crate) line: u64,
    /// The record ended at end of input (no line terminator).
    pub(crate) at_eof: bool,
    /// A quoted field is broken; the record was cut at the end of the line where it opened.
    pub(crate) quote_error: Option<QuoteError>,
    /// A physical line longer than the size limit: nothing was split, and the input cannot be
    /// read on (where the next record starts is unknown).
    pub(crate) oversize: bool,
}

/// A quoted field that is not closed properly (issue 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuoteError {
    /// 0-based field index of the broken field (its column).
    pub(crate) field: usize,
    /// Byte offset of its opening quote within [`Splitter::raw_body`].
    pub(crate) open: usize,
    /// What is wrong.
    pub(crate) kind: QuoteErrorKind,
}

/// How a quoted field is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuoteErrorKind {
    /// Text follows the closing quote on the same line (`"abc"def`): an inner quote that was
    /// not doubled.
    TextAfterQuote,
    /// The field runs past the end of its line and is never closed properly (a missing closing
    /// quote, so the next line would have been swallowed), or not closed within the size limit.
    NotClosedOnLine,
    /// The input ends inside the field, on the line where it opened (a truncated file).
    Unterminated,
}

/// Outcome of parsing at the front of the buffer.
enum Parsed {
    /// A record ends after `consumed` bytes (blank lines before it included); `at_eof` when end
    /// of input (not a terminator) ended it.
    Record { consumed: usize, at_eof: bool },
    /// A broken quoted field: the record is cut after `consumed` bytes, at the end of the line
    /// where the field opened (`open`: offset of its quote in `data`).
    Malformed {
        consumed: usize,
        at_eof: bool,
        field: usize,
        open: usize,
        kind: QuoteErrorKind,
    },
    /// Only line terminators up to the end of input.
    End,
    /// The record continues beyond the buffered bytes.
    NeedMore,
}

/// Streams records out of a byte source.
pub(crate) struct Splitter<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    pending_err: Option<io::Error>,
    first: bool,
    fields: Vec<u8>,
    ends: Vec<usize>,
    /// Raw bytes of the last record: `buf[raw.0..raw.1]`.
    raw: (usize, usize),
    raw_start: usize,
    /// 1 + number of line breaks consumed so far.
    line: u64,
    prev_ended_cr: bool,
    blank_lines: u64,
    info: RecordInfo,
}

impl<R: Read> Splitter<R> {
    pub(crate) fn new(src: R) -> Self {
        Self::with_capacity(src, INPUT_BUFFER)
    }

    /// A splitter with a given initial buffer size (small sizes exercise refills in tests).
    pub(crate) fn with_capacity(src: R, capacity: usize) -> Self {
        Self {
            src,
            buf: vec![0; capacity.max(4)],
            pos: 0,
            len: 0,
            eof: false,
            pending_err: None,
            first: true,
            fields: Vec::with_capacity(4096),
            ends: Vec::with_capacity(64),
            raw: (0, 0),
            raw_start: 0,
            line: 1,
            prev_ended_cr: false,
            blank_lines: 0,
            info: RecordInfo::default(),
        }
    }

    /// Reads the next record; `Ok(None)` at end of input. Blank and whitespace-only lines are
    /// skipped and counted in [`Splitter::blank_lines`]. `limit` caps the record size in bytes;
    /// after an `oversize` record the splitter reports the end of input.
    pub(crate) fn next_record(&mut self, limit: usize) -> io::Result<Option<RecordInfo>> {
        loop {
            if self.info.oversize || !self.read_one(limit)? {
                return Ok(None);
            }
            if !self.is_blank_record() {
                return Ok(Some(self.info));
            }
            self.blank_lines += 1;
        }
    }

    fn read_one(&mut self, limit: usize) -> io::Result<bool> {
        if self.first {
            self.first_fill()?;
        }
        loop {
            let data = &self.buf[self.pos..self.len];
            let parsed = match parse(data, self.eof, &mut self.fields, &mut self.ends) {
                Parsed::NeedMore if self.len - self.pos >= limit => match self.cut_oversize() {
                    Some(cut) => cut,
                    None => return Ok(true),
                },
                other => other,
            };
            match parsed {
                Parsed::Record { consumed, at_eof } => {
                    self.take_record(consumed, at_eof, None);
                    return Ok(true);
                }
                Parsed::Malformed {
                    consumed,
                    at_eof,
                    field,
                    open,
                    kind,
                } => {
                    let error = QuoteError { field, open, kind };
                    self.take_record(consumed, at_eof, Some(error));
                    return Ok(true);
                }
                Parsed::End => {
                    let data = &self.buf[self.pos..self.len];
                    let lead = leading_blanks(data, self.prev_ended_cr);
                    self.blank_lines += lead.blanks;
                    self.line += lead.newlines;
                    self.pos = self.len;
                    return Ok(false);
                }
                Parsed::NeedMore => self.fill_more()?,
            }
        }
    }

    /// A record still open at the size limit. When an open quoted field began on a line whose
    /// end is buffered, the record is cut there like any other broken quote; otherwise a single
    /// line is longer than the limit: the record is flagged `oversize` (`None`, nothing split).
    fn cut_oversize(&mut self) -> Option<Parsed> {
        let data = &self.buf[self.pos..self.len];
        match parse(data, true, &mut self.fields, &mut self.ends) {
            cut @ Parsed::Malformed { consumed, .. } if consumed < data.len() => Some(cut),
            _ => {
                let lead = leading_blanks(data, self.prev_ended_cr);
                self.fields.clear();
                self.ends.clear();
                self.raw = (self.pos, self.pos);
                self.raw_start = 0;
                self.info = RecordInfo {
                    line: self.line + lead.newlines,
                    at_eof: false,
                    quote_error: None,
                    oversize: true,
                };
                None
            }
        }
    }

    /// Consumes a parsed record of `consumed` bytes.
    fn take_record(&mut self, consumed: usize, at_eof: bool, quote_error: Option<QuoteError>) {
        let start = self.pos;
        self.pos += consumed;
        self.raw = (start, self.pos);
        self.finish_record(at_eof, quote_error);
    }

    /// Reads the first bytes and drops a UTF-8 BOM (not part of the first header name, SPEC
    /// §3.2). At least three bytes are read so that a BOM split over small reads is still seen.
    fn first_fill(&mut self) -> io::Result<()> {
        self.first = false;
        while self.len < 3 && !self.eof {
            self.fill_more()?;
        }
        if self.buf[..self.len].starts_with(b"\xEF\xBB\xBF") {
            self.pos = 3;
        }
        Ok(())
    }

    /// Moves unread bytes to the front, grows a full buffer, and reads more. A read error is
    /// raised once the bytes before it have been used, so rows before it are still read.
    fn fill_more(&mut self) -> io::Result<()> {
        if let Some(e) = self.pending_err.take() {
            return Err(e);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            let n = self.buf.len() * 2;
            self.buf.resize(n, 0);
        }
        // Fill the buffer (decoders return small chunks): a long record is then parsed again
        // only once per doubling, not once per chunk.
        while self.len < self.buf.len() {
            match self.src.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if self.len > self.pos => {
                    self.pending_err = Some(e);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Works out where the record really starts: terminators before a record are blank lines
    /// (or the `\n` completing the previous record's `\r\n`).
    fn finish_record(&mut self, at_eof: bool, quote_error: Option<QuoteError>) {
        let raw = self.raw_bytes();
        let lead = leading_blanks(raw, self.prev_ended_cr);
        let body = &raw[lead.bytes.min(raw.len())..];
        let ended_cr = body.last() == Some(&b'\r');
        let completes_crlf = self.prev_ended_cr && raw.first() == Some(&b'\n');
        let newlines = count_line_breaks(raw) - u64::from(completes_crlf);
        self.blank_lines += lead.blanks;
        self.raw_start = lead.bytes;
        self.info = RecordInfo {
            line: self.line + lead.newlines,
            at_eof,
            quote_error: quote_error.map(|e| QuoteError {
                open: e.open - lead.bytes,
                ..e
            }),
            oversize: false,
        };
        self.line += newlines;
        self.prev_ended_cr = ended_cr;
    }

    fn raw_bytes(&self) -> &[u8] {
        &self.buf[self.raw.0..self.raw.1]
    }

    /// A line holding only spaces/tabs is blank, not a one-field record.
    fn is_blank_record(&self) -> bool {
        self.ends.len() == 1
            && self.info.quote_error.is_none()
            && self.raw_body().iter().all(|b| matches!(b, b' ' | b'\t'))
    }

    /// Number of fields of the last record.
    pub(crate) fn field_count(&self) -> usize {
        self.ends.len()
    }

    /// All field bytes of the last record, concatenated.
    pub(crate) fn field_bytes(&self) -> &[u8] {
        &self.fields
    }

    /// Field end offsets (into [`Splitter::field_bytes`]) of the last record.
    pub(crate) fn ends(&self) -> &[usize] {
        &self.ends
    }

    /// Field `i` of the last record.
    pub(crate) fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.fields[start..self.ends[i]]
    }

    /// Raw bytes of the last record without leading blank lines and the trailing terminator.
    pub(crate) fn raw_body(&self) -> &[u8] {
        let raw = self.raw_bytes();
        let body = &raw[self.raw_start.min(raw.len())..];
        let mut end = body.len();
        while end > 0 && matches!(body[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        &body[..end]
    }

    /// The buffered bytes at the start of an `oversize` record (at least the size limit), for a
    /// look at what the input is.
    pub(crate) fn oversize_prefix(&self) -> &[u8] {
        &self.buf[self.pos..self.len]
    }

    /// Blank lines skipped so far.
    pub(crate) fn blank_lines(&self) -> u64 {
        self.blank_lines
    }

    /// Gives back the byte source.
    pub(crate) fn into_inner(self) -> R {
        self.src
    }
}

/// Parses one record at the front of `data` into `fields`/`ends` (cleared first). At end of
/// input (`eof`) an unfinished record is complete.
fn parse(data: &[u8], eof: bool, fields: &mut Vec<u8>, ends: &mut Vec<usize>) -> Parsed {
    fields.clear();
    ends.clear();
    let Some(mut i) = data.iter().position(|&b| b != b'\r' && b != b'\n') else {
        return if eof { Parsed::End } else { Parsed::NeedMore };
    };
    // One iteration per field; `i` is at the field start.
    loop {
        if data.get(i) == Some(&b'"') {
            // Quoted part: copy up to each quote; `""` is one quote, and the closing quote must
            // be followed by a delimiter, a line end or the end of input.
            let open = i;
            i += 1;
            loop {
                let Some(q) = memchr(b'"', &data[i..]) else {
                    if !eof {
                        return Parsed::NeedMore;
                    }
                    let kind = QuoteErrorKind::Unterminated;
                    return malformed(data, eof, (open, data.len()), ends.len(), kind);
                };
                fields.extend_from_slice(&data[i..i + q]);
                i += q + 1;
                match data.get(i) {
                    Some(b'"') => {
                        fields.push(b'"');
                        i += 1;
                    }
                    None if !eof => return Parsed::NeedMore,
                    None | Some(b',' | b'\r' | b'\n') => break,
                    Some(_) => {
                        let kind = QuoteErrorKind::TextAfterQuote;
                        return malformed(data, eof, (open, i - 1), ends.len(), kind);
                    }
                }
            }
        }
        // Unquoted field, or the delimiter right after a closing quote.
        match memchr3(b',', b'\r', b'\n', &data[i..]) {
            None => {
                if !eof {
                    return Parsed::NeedMore;
                }
                fields.extend_from_slice(&data[i..]);
                ends.push(fields.len());
                return Parsed::Record {
                    consumed: data.len(),
                    at_eof: true,
                };
            }
            Some(p) => {
                fields.extend_from_slice(&data[i..i + p]);
                ends.push(fields.len());
                i += p;
                if data[i] == b',' {
                    i += 1;
                    if i == data.len() && !eof {
                        return Parsed::NeedMore;
                    }
                    continue;
                }
                return Parsed::Record {
                    consumed: i + 1,
                    at_eof: false,
                };
            }
        }
    }
}

/// A broken quoted field opened at `open`; `upto` is where the break was found (the stray
/// quote, or the end of the data). When the field ran past the line it opened on, the record is
/// cut at the end of that line (`NotClosedOnLine`: most likely a missing closing quote, and the
/// lines after it are records of their own); otherwise at the end of the line with the break.
fn malformed(
    data: &[u8],
    eof: bool,
    (open, upto): (usize, usize),
    field: usize,
    kind: QuoteErrorKind,
) -> Parsed {
    let cut = |consumed, at_eof, kind| Parsed::Malformed {
        consumed,
        at_eof,
        field,
        open,
        kind,
    };
    if let Some(t) = memchr2(b'\n', b'\r', &data[open..upto]) {
        return cut(open + t + 1, false, QuoteErrorKind::NotClosedOnLine);
    }
    match memchr2(b'\n', b'\r', &data[upto..]) {
        Some(t) => cut(upto + t + 1, false, kind),
        None if eof => cut(data.len(), true, kind),
        None => Parsed::NeedMore,
    }
}

#[derive(Debug, Default)]
struct Leading {
    bytes: usize,
    newlines: u64,
    blanks: u64,
}

/// Counts the line terminators at the start of `raw`: blank lines, except a `\n` that completes
/// the `\r\n` ending the previous record (already counted with its `\r`).
fn leading_blanks(raw: &[u8], prev_ended_cr: bool) -> Leading {
    let mut lead = Leading::default();
    let mut i = 0;
    if prev_ended_cr && raw.first() == Some(&b'\n') {
        i = 1;
    }
    while i < raw.len() {
        match raw[i] {
            b'\n' => {}
            b'\r' if raw.get(i + 1) == Some(&b'\n') => i += 1,
            b'\r' => {}
            _ => break,
        }
        lead.newlines += 1;
        lead.blanks += 1;
        i += 1;
    }
    lead.bytes = i;
    lead
}

/// Physical line breaks in `bytes`: `\n`, `\r\n` and a lone `\r` each end a line, as they end
/// a record (a file saved with classic Mac line ends has only `\r`; counting `\n` alone put
/// every record of such a file on line 1). A `\r` at the very end counts; the `\n` that may
/// follow it is then skipped by [`leading_blanks`].
fn count_line_breaks(bytes: &[u8]) -> u64 {
    memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
        .count() as u64
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
