//! Splitting CSV bytes into records with `csv_core`, keeping what diagnostics need.
//!
//! The `csv` crate's `Reader` is a thin layer over `csv_core`; driving `csv_core` directly costs
//! no speed and gives us three things the high-level reader hides: the raw bytes of each record
//! (rejects.csv wants them verbatim when a record cannot be split, SPEC §5.5), whether the last
//! record ended inside an open quote (a truncated file), and the blank lines that were skipped
//! (SPEC §3.2 and §5.6: not counted as rows). Buffers are reused, so memory stays constant.

use csv_core::{ReadRecordResult, Reader as CoreReader};
use std::io::{self, Read};

/// A record larger than this is reported as malformed and not kept (an unterminated quote early
/// in a large file would otherwise buffer the rest of the file).
pub(crate) const MAX_RECORD_BYTES: usize = 64 << 20;

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
    /// The record exceeded the size limit; fields and raw bytes are incomplete.
    pub(crate) oversize: bool,
}

/// Streams records out of a byte source.
pub(crate) struct Splitter<R> {
    src: R,
    core: CoreReader,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    eof: bool,
    fields: Vec<u8>,
    ends: Vec<usize>,
    nfields: usize,
    raw: Vec<u8>,
    /// The last record's raw bytes when they are still in `buf`.
    raw_range: Option<(usize, usize)>,
    raw_start: usize,
    /// 1 + number of `\n` consumed so far.
    line: u64,
    prev_ended_cr: bool,
    blank_lines: u64,
    info: RecordInfo,
    first: bool,
}

impl<R: Read> Splitter<R> {
    pub(crate) fn new(src: R) -> Self {
        Self {
            src,
            core: CoreReader::new(),
            buf: vec![0; INPUT_BUFFER].into_boxed_slice(),
            pos: 0,
            len: 0,
            eof: false,
            fields: vec![0; 4096],
            ends: vec![0; 64],
            nfields: 0,
            raw: Vec::with_capacity(4096),
            raw_range: None,
            raw_start: 0,
            line: 1,
            prev_ended_cr: false,
            blank_lines: 0,
            info: RecordInfo::default(),
            first: true,
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
        // Raw bytes stay in the input buffer (`seg..pos`) unless the record spans a refill; only
        // then are they copied out, so the common record costs no extra copy.
        self.raw.clear();
        self.raw_range = None;
        let start_line = self.line;
        let mut seg = self.pos;
        let mut outlen = 0;
        let mut endlen = 0;
        let mut oversize = false;
        let mut fed_eof = false;
        loop {
            if self.pos == self.len && !self.eof {
                oversize |= self.spill(seg, limit);
                self.fill()?;
                seg = self.pos;
            }
            let input = &self.buf[self.pos..self.len];
            fed_eof = fed_eof || input.is_empty();
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.fields[outlen..], &mut self.ends[endlen..]);
            self.line += count_newlines(&input[..nin]);
            self.pos += nin;
            outlen += nout;
            endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if oversize || outlen >= limit {
                        // Keep memory bounded: overwrite the output from the start. The record
                        // is reported as oversize, so its fields are never used.
                        oversize = true;
                        outlen = 0;
                    } else {
                        let n = self.fields.len() * 2;
                        self.fields.resize(n, 0);
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    if oversize || endlen >= limit / 8 {
                        oversize = true;
                        endlen = 0;
                    } else {
                        let n = self.ends.len() * 2;
                        self.ends.resize(n, 0);
                    }
                }
                ReadRecordResult::Record => {
                    if self.raw.is_empty() && !oversize {
                        self.raw_range = Some((seg, self.pos));
                    } else {
                        oversize |= self.spill(seg, limit);
                    }
                    self.nfields = endlen;
                    self.finish_record(start_line, fed_eof, oversize);
                    return Ok(true);
                }
                ReadRecordResult::End => {
                    self.spill(seg, limit);
                    let lead = leading_blanks(&self.raw, self.prev_ended_cr);
                    self.blank_lines += lead.blanks;
                    return Ok(false);
                }
            }
        }
    }

    /// Copies `seg..pos` of the input buffer to `raw`; true when that would pass `limit`.
    fn spill(&mut self, seg: usize, limit: usize) -> bool {
        let chunk = &self.buf[seg..self.pos];
        if self.raw.len() + chunk.len() > limit {
            return true;
        }
        self.raw.extend_from_slice(chunk);
        false
    }

    /// Raw bytes of the last record, including leading blank lines and its terminator.
    fn raw(&self) -> &[u8] {
        match self.raw_range {
            Some((a, b)) => &self.buf[a..b],
            None => &self.raw,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        self.pos = 0;
        self.len = 0;
        // The first fill reads at least three bytes (unless the input is shorter) so that a BOM
        // split over several small reads is still recognised.
        let want = if self.first { 3 } else { 1 };
        while self.len < want {
            match self.src.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = self.len == 0;
                    break;
                }
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.first {
            self.first = false;
            // A UTF-8 BOM is not part of the first header name (SPEC §3.2).
            if self.buf[..self.len].starts_with(b"\xEF\xBB\xBF") {
                self.pos = 3;
            }
        }
        Ok(())
    }

    /// Works out where the record really starts: `csv_core` swallows line terminators before a
    /// record, which are blank lines (or the `\n` completing the previous record's `\r\n`).
    fn finish_record(&mut self, start_line: u64, fed_eof: bool, oversize: bool) {
        let lead = leading_blanks(self.raw(), self.prev_ended_cr);
        self.blank_lines += lead.blanks;
        self.raw_start = lead.bytes;
        let raw = self.raw();
        let body = &raw[self.raw_start.min(raw.len())..];
        let ended_cr = body.last() == Some(&b'\r');
        // csv_core returns a record from an empty input only when end of input completed it.
        let at_eof = fed_eof;
        let unterminated_quote = at_eof && !oversize && ends_in_quote(body);
        self.prev_ended_cr = ended_cr;
        self.info = RecordInfo {
            line: start_line + lead.newlines,
            unterminated_quote,
            at_eof,
            oversize,
        };
    }

    /// A line holding only spaces/tabs is blank, not a one-field record.
    fn is_blank_record(&self) -> bool {
        self.nfields == 1
            && !self.info.oversize
            && self.raw_body().iter().all(|b| matches!(b, b' ' | b'\t'))
    }

    /// Number of fields of the last record.
    pub(crate) fn field_count(&self) -> usize {
        self.nfields
    }

    /// All field bytes of the last record, concatenated.
    pub(crate) fn field_bytes(&self) -> &[u8] {
        let end = if self.nfields == 0 {
            0
        } else {
            self.ends[self.nfields - 1]
        };
        &self.fields[..end]
    }

    /// Field end offsets (into [`Splitter::field_bytes`]) of the last record.
    pub(crate) fn ends(&self) -> &[usize] {
        &self.ends[..self.nfields]
    }

    /// Field `i` of the last record.
    pub(crate) fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.fields[start..self.ends[i]]
    }

    /// Raw bytes of the last record without leading blank lines and the trailing terminator.
    pub(crate) fn raw_body(&self) -> &[u8] {
        let raw = self.raw();
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
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Replays `csv_core`'s quote handling over one record: does it end inside a quoted field?
fn ends_in_quote(record: &[u8]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut s = S::Start;
    for &b in record {
        s = match (s, b) {
            (S::Start, b'"') => S::Quoted,
            (S::Start | S::Unquoted | S::QuoteInQuoted, b',') => S::Start,
            (S::Start | S::Unquoted, _) => S::Unquoted,
            (S::Quoted, b'"') => S::QuoteInQuoted,
            (S::Quoted, _) => S::Quoted,
            (S::QuoteInQuoted, b'"') => S::Quoted,
            (S::QuoteInQuoted, _) => S::Unquoted,
        };
    }
    s == S::Quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn split(text: &[u8]) -> (Vec<(u64, Vec<String>, RecordInfo)>, u64) {
        let mut s = Splitter::new(text);
        let mut out = Vec::new();
        while let Some(info) = s.next_record(MAX_RECORD_BYTES).expect("read") {
            let fields = (0..s.field_count())
                .map(|i| String::from_utf8_lossy(s.field(i)).into_owned())
                .collect();
            out.push((info.line, fields, info));
        }
        (out, s.blank_lines())
    }

    fn lines(text: &[u8]) -> Vec<u64> {
        split(text).0.iter().map(|r| r.0).collect()
    }

    #[rstest]
    #[case(b"h1,h2\na,b\nc,d\n", &[1, 2, 3], 0)]
    #[case(b"h1,h2\r\na,b\r\nc,d\r\n", &[1, 2, 3], 0)]
    #[case(b"h1,h2\r\na,b\r\nc,d", &[1, 2, 3], 0)]
    #[case(b"h1,h2\n\na,b\n\n\nc,d\n\n", &[1, 3, 6], 4)]
    #[case(b"h1,h2\r\n\r\na,b\r\n", &[1, 3], 1)]
    #[case(b"\n\nh1,h2\na,b", &[3, 4], 2)]
    #[case(b"h1,h2\n\"a\nb\nc\",d\ne,f\n", &[1, 2, 5], 0)]
    #[case(b"h1,h2\r\n\"a\r\nb\",d\r\ne,f\r\n", &[1, 2, 4], 0)]
    #[case(b"h1,h2\n   \na,b\n\t\nc,d\n", &[1, 3, 5], 2)]
    fn records_start_on_the_right_physical_line(
        #[case] text: &[u8],
        #[case] want: &[u64],
        #[case] blanks: u64,
    ) {
        assert_eq!(lines(text), want);
        assert_eq!(split(text).1, blanks);
    }

    #[test]
    fn bom_is_removed_and_quotes_unescaped() {
        let (recs, _) = split(b"\xEF\xBB\xBFa,\"b\"\"c\",\"d,e\"\n");
        assert_eq!(recs[0].1, vec!["a", "b\"c", "d,e"]);
    }

    #[rstest]
    #[case(b"a,b\n1,\"open\n2,3\n", true)]
    #[case(b"a,b\n1,\"closed\"", false)]
    #[case(b"a,b\n1,\"x\"\"", true)]
    #[case(b"a,b\n1,2", false)]
    #[case(b"a,b\n1,ab\"c", false)]
    fn unterminated_quote_at_end_is_detected(#[case] text: &[u8], #[case] want: bool) {
        let (recs, _) = split(text);
        let last = recs.last().expect("a record").2;
        assert!(last.at_eof);
        assert_eq!(last.unterminated_quote, want);
    }

    #[test]
    fn raw_body_excludes_blank_lines_and_terminator() {
        let mut s = Splitter::new(&b"h\n\n\"x\ny\",z\r\n"[..]);
        s.next_record(MAX_RECORD_BYTES).expect("read");
        s.next_record(MAX_RECORD_BYTES).expect("read");
        assert_eq!(s.raw_body(), b"\"x\ny\",z");
    }

    #[test]
    fn ten_megabyte_field_is_just_a_big_field() {
        let mut text = b"a,b\n\"".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10 << 20));
        text.extend(b"\",2\n3,4\n");
        let (recs, _) = split(&text);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[1].1[0].len(), 10 << 20);
        assert_eq!(recs[2].0, 3);
    }

    #[test]
    fn oversize_records_are_flagged_and_bounded() {
        let mut text = b"a,b\n\"".to_vec();
        text.extend(std::iter::repeat_n(b'x', 100_000));
        text.extend(b"\",2\n3,4\n");
        let mut s = Splitter::new(&text[..]);
        s.next_record(1000).expect("header");
        let info = s.next_record(1000).expect("read").expect("record");
        assert!(info.oversize);
        assert!(s.raw_body().len() <= 1000);
        let next = s.next_record(1000).expect("read").expect("record");
        assert_eq!(next.line, 3);
        assert_eq!(s.field(0), b"3");
    }
}
