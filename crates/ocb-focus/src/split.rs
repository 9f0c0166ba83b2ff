//! Splitting CSV bytes into records, keeping what diagnostics need.
//!
//! This is the innermost loop of ingest. It follows `csv_core`'s RFC 4180 dialect exactly
//! (comma, `"` quotes with `""` escapes, `\r`, `\n` or `\r\n` terminators, quotes inside an
//! unquoted field taken literally, text after a closing quote appended to the field; the tests
//! compare both on random input) but jumps between delimiters with `memchr` instead of walking a
//! byte-at-a-time state machine, which made `csv_core` the largest single cost of reading.
//!
//! A record is parsed only once it is complete in the buffer (the buffer is compacted and, for
//! long records, grown, then the record is parsed again from its start), so its raw bytes are
//! one slice: rejects.csv wants them verbatim when a record cannot be split (SPEC §5.5). The
//! splitter also reports the physical line where each record starts, whether the last record
//! ended inside an open quote (a truncated file), and the blank lines it skipped (SPEC §3.2,
//! §5.6). A record longer than the size limit is skipped with bounded memory and flagged.

use memchr::{memchr, memchr3};
use std::io::{self, Read};

/// A record larger than this is reported as malformed and not kept (an unterminated quote early
/// in a large file would otherwise buffer the rest of the file).
pub(crate) const MAX_RECORD_BYTES: usize = 64 << 20;

/// Raw bytes kept of an oversize record.
const OVERSIZE_RAW_KEPT: usize = 1 << 20;

const INPUT_BUFFER: usize = 64 << 10;

/// The last record read by [`Splitter::next_record`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordInfo {
    /// Physical line where the record starts (1-based).
    pub(crate) line: u64,
    /// The record ended at end of input while inside a quoted field.
    pub(crate) unterminated_quote: bool,
    /// The record ended at end of input (no line terminator).
    pub(crate) at_eof: bool,
    /// The record exceeded the size limit; fields are empty and raw bytes truncated.
    pub(crate) oversize: bool,
}

/// Outcome of parsing at the front of the buffer.
enum Parsed {
    /// A record ends after `consumed` bytes (blank lines before it included); `at_eof` when end
    /// of input (not a terminator) ended it, `unterminated` when that was inside a quote.
    Record {
        consumed: usize,
        at_eof: bool,
        unterminated: bool,
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
    /// Raw bytes of the last record: `buf[raw.0..raw.1]`, or `oversize_raw`.
    raw: (usize, usize),
    oversize_raw: Option<Vec<u8>>,
    raw_start: usize,
    /// 1 + number of `\n` consumed so far.
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
            oversize_raw: None,
            raw_start: 0,
            line: 1,
            prev_ended_cr: false,
            blank_lines: 0,
            info: RecordInfo::default(),
        }
    }

    /// Reads the next record; `Ok(None)` at end of input. Blank and whitespace-only lines are
    /// skipped and counted in [`Splitter::blank_lines`]. `limit` caps the record size in bytes.
    pub(crate) fn next_record(&mut self, limit: usize) -> io::Result<Option<RecordInfo>> {
        loop {
            if !self.read_one(limit)? {
                return Ok(None);
            }
            if !self.is_blank_record() {
                return Ok(Some(self.info));
            }
            self.blank_lines += 1;
        }
    }

    fn read_one(&mut self, limit: usize) -> io::Result<bool> {
        self.oversize_raw = None;
        if self.first {
            self.first_fill()?;
        }
        loop {
            let data = &self.buf[self.pos..self.len];
            match parse(data, self.eof, &mut self.fields, &mut self.ends) {
                Parsed::Record {
                    consumed,
                    at_eof,
                    unterminated,
                } => {
                    let start = self.pos;
                    self.pos += consumed;
                    self.raw = (start, self.pos);
                    self.finish_record(at_eof, unterminated, false);
                    return Ok(true);
                }
                Parsed::End => {
                    let lead = leading_blanks(data, self.prev_ended_cr);
                    self.blank_lines += lead.blanks;
                    self.line += lead.newlines;
                    self.pos = self.len;
                    return Ok(false);
                }
                Parsed::NeedMore => {
                    if self.len - self.pos >= limit {
                        self.skip_oversize(limit)?;
                        return Ok(true);
                    }
                    self.fill_more()?;
                }
            }
        }
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
    fn finish_record(&mut self, at_eof: bool, unterminated: bool, oversize: bool) {
        let raw = self.raw_bytes();
        let lead = leading_blanks(raw, self.prev_ended_cr);
        let body = &raw[lead.bytes.min(raw.len())..];
        let ended_cr = body.last() == Some(&b'\r');
        let newlines = count_newlines(raw);
        self.blank_lines += lead.blanks;
        self.raw_start = lead.bytes;
        self.info = RecordInfo {
            line: self.line + lead.newlines,
            unterminated_quote: unterminated && at_eof,
            at_eof,
            oversize,
        };
        self.line += newlines;
        self.prev_ended_cr = ended_cr;
    }

    /// Skips a record longer than `limit` without keeping it: a quote-aware scan to its end that
    /// keeps only the first bytes as raw text.
    fn skip_oversize(&mut self, limit: usize) -> io::Result<()> {
        let keep = limit.min(OVERSIZE_RAW_KEPT);
        let mut raw = self.buf[self.pos..self.len.min(self.pos + keep)].to_vec();
        let mut scan = Scan::default();
        let mut newlines = 0u64;
        let mut lead = None;
        let mut at_eof = false;
        let mut total = 0usize;
        loop {
            let data = &self.buf[self.pos..self.len];
            let (used, done) = scan.feed(data);
            newlines += count_newlines(&data[..used]);
            total += used;
            if lead.is_none() {
                lead = Some(leading_blanks(data, self.prev_ended_cr));
            }
            self.pos += used;
            if done {
                break;
            }
            if self.eof {
                at_eof = true;
                break;
            }
            self.pos = self.len;
            self.fill_more()?;
            let room = keep.saturating_sub(raw.len());
            raw.extend_from_slice(&self.buf[..self.len.min(room)]);
        }
        raw.truncate(total.min(keep));
        let lead = lead.unwrap_or_default();
        self.fields.clear();
        self.ends.clear();
        self.blank_lines += lead.blanks;
        self.raw_start = lead.bytes.min(raw.len());
        self.prev_ended_cr = scan.ended_cr;
        self.oversize_raw = Some(raw);
        self.info = RecordInfo {
            line: self.line + lead.newlines,
            unterminated_quote: false,
            at_eof,
            oversize: true,
        };
        self.line += newlines;
        Ok(())
    }

    fn raw_bytes(&self) -> &[u8] {
        match &self.oversize_raw {
            Some(raw) => raw,
            None => &self.buf[self.raw.0..self.raw.1],
        }
    }

    /// A line holding only spaces/tabs is blank, not a one-field record.
    fn is_blank_record(&self) -> bool {
        self.ends.len() == 1
            && !self.info.oversize
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
        let mut quoted_open = false;
        if data.get(i) == Some(&b'"') {
            // Quoted part: copy up to each quote; `""` is one quote, any other quote closes.
            i += 1;
            loop {
                match memchr(b'"', &data[i..]) {
                    None => {
                        if !eof {
                            return Parsed::NeedMore;
                        }
                        fields.extend_from_slice(&data[i..]);
                        i = data.len();
                        quoted_open = true;
                        break;
                    }
                    Some(q) => {
                        fields.extend_from_slice(&data[i..i + q]);
                        i += q + 1;
                        match data.get(i) {
                            Some(b'"') => {
                                fields.push(b'"');
                                i += 1;
                            }
                            None if !eof => return Parsed::NeedMore,
                            _ => break,
                        }
                    }
                }
            }
        }
        // Unquoted part (the whole field, or text after a closing quote, kept like csv_core).
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
                    unterminated: quoted_open,
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
                    unterminated: false,
                };
            }
        }
    }
}

/// A quote-aware scan to the end of a record, fed in chunks (oversize records only).
#[derive(Default)]
struct Scan {
    state: ScanState,
    started: bool,
    ended_cr: bool,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum ScanState {
    #[default]
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl Scan {
    /// Consumes bytes up to and including the record terminator: (bytes used, record ended).
    fn feed(&mut self, data: &[u8]) -> (usize, bool) {
        use ScanState::*;
        for (i, &b) in data.iter().enumerate() {
            if !self.started {
                if b == b'\r' || b == b'\n' {
                    continue;
                }
                self.started = true;
            }
            let terminator = b == b'\r' || b == b'\n';
            self.state = match (self.state, b) {
                (FieldStart | Unquoted | QuoteInQuoted, _) if terminator => {
                    self.ended_cr = b == b'\r';
                    return (i + 1, true);
                }
                (FieldStart, b'"') => Quoted,
                (FieldStart | Unquoted | QuoteInQuoted, b',') => FieldStart,
                (FieldStart | Unquoted, _) => Unquoted,
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (QuoteInQuoted, _) => Unquoted,
            };
        }
        (data.len(), false)
    }
}

#[derive(Debug, Default)]
struct Leading {
    bytes: usize,
    newlines: u64,
    blanks: u64,
}

/// Counts the line terminators at the start of `raw`: blank lines, except a `\n` that completes
/// the `\r\n` ending the previous record.
fn leading_blanks(raw: &[u8], prev_ended_cr: bool) -> Leading {
    let mut lead = Leading::default();
    let mut i = 0;
    if prev_ended_cr && raw.first() == Some(&b'\n') {
        lead.newlines = 1;
        i = 1;
    }
    while i < raw.len() {
        match raw[i] {
            b'\n' => {
                lead.newlines += 1;
                lead.blanks += 1;
            }
            b'\r' => {
                if raw.get(i + 1) == Some(&b'\n') {
                    i += 1;
                    lead.newlines += 1;
                }
                lead.blanks += 1;
            }
            _ => break,
        }
        i += 1;
    }
    lead.bytes = i;
    lead
}

fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

#[cfg(test)]
#[path = "split_tests.rs"]
mod tests;
