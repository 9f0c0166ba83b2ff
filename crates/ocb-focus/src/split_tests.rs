//! Tests of the splitter, including a differential test against the `csv` crate.

use super::*;
use rstest::rstest;

type Rec = (u64, Vec<String>, RecordInfo);

fn split_with(text: &[u8], capacity: usize) -> (Vec<Rec>, u64) {
    let mut s = Splitter::with_capacity(text, capacity);
    let mut out = Vec::new();
    while let Some(info) = s.next_record(MAX_RECORD_BYTES).expect("read") {
        let fields = (0..s.field_count())
            .map(|i| String::from_utf8_lossy(s.field(i)).into_owned())
            .collect();
        out.push((info.line, fields, info));
    }
    (out, s.blank_lines())
}

fn split(text: &[u8]) -> (Vec<Rec>, u64) {
    split_with(text, INPUT_BUFFER)
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
#[case::classic_mac_line_ends(b"h1,h2\ra,b\r\rc,d\r", &[1, 2, 4], 1)]
#[case::mixed_line_ends(b"h1,h2\r\na,\"x\ry\"\rc,d\n", &[1, 2, 4], 0)]
fn records_start_on_the_right_physical_line(
    #[case] text: &[u8],
    #[case] want: &[u64],
    #[case] blanks: u64,
) {
    assert_eq!(lines(text), want);
    assert_eq!(split(text).1, blanks);
    for capacity in [4, 5, 7, 16] {
        let (recs, b) = split_with(text, capacity);
        assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), want);
        assert_eq!(b, blanks);
    }
}

#[test]
fn bom_is_removed_and_quotes_unescaped() {
    let (recs, _) = split(b"\xEF\xBB\xBFa,\"b\"\"c\",\"d,e\"\n");
    assert_eq!(recs[0].1, vec!["a", "b\"c", "d,e"]);
}

#[test]
fn bom_split_over_tiny_reads_is_removed() {
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }
    let mut s = Splitter::new(OneByte(b"\xEF\xBB\xBFa,b\n"));
    s.next_record(MAX_RECORD_BYTES).expect("read");
    assert_eq!(s.field(0), b"a");
}

/// The quote error of each record (`None` for a good one) and its first field.
fn quote_errors(text: &[u8], capacity: usize) -> Vec<(u64, Option<QuoteErrorKind>, Option<usize>)> {
    let mut s = Splitter::with_capacity(text, capacity);
    let mut out = Vec::new();
    while let Some(info) = s.next_record(MAX_RECORD_BYTES).expect("read") {
        let e = info.quote_error;
        out.push((info.line, e.map(|e| e.kind), e.map(|e| e.field)));
    }
    out
}

#[rstest]
#[case(b"a,b\n1,\"open", &[(1, None, None), (2, Some(QuoteErrorKind::Unterminated), Some(1))])]
#[case(b"a,b\n1,\"closed\"", &[(1, None, None), (2, None, None)])]
#[case(b"a,b\n1,\"x\"\"", &[(1, None, None), (2, Some(QuoteErrorKind::Unterminated), Some(1))])]
#[case(b"a,b\n1,2", &[(1, None, None), (2, None, None)])]
#[case(b"a,b\n1,ab\"c", &[(1, None, None), (2, None, None)])]
#[case(b"a,b\n\"x\"y,2\n3,4\n", &[(1, None, None), (2, Some(QuoteErrorKind::TextAfterQuote), Some(0)), (3, None, None)])]
#[case(b"a,b\n1,\"open\n2,3\n", &[(1, None, None), (2, Some(QuoteErrorKind::NotClosedOnLine), Some(1)), (3, None, None)])]
#[case(b"a,b\r\n1,\"open\r\n2,3\r\n", &[(1, None, None), (2, Some(QuoteErrorKind::NotClosedOnLine), Some(1)), (3, None, None)])]
#[case(b"a,b\n1,\"open\n2,\"x\"\n", &[(1, None, None), (2, Some(QuoteErrorKind::NotClosedOnLine), Some(1)), (3, None, None)])]
#[case(b"a,b\n\"ok\nok\",\"bad\n3,4\n", &[(1, None, None), (2, Some(QuoteErrorKind::NotClosedOnLine), Some(1)), (4, None, None)])]
#[case(b"a,b\n\"multi\nline\",2\n3,4\n", &[(1, None, None), (2, None, None), (4, None, None)])]
fn broken_quotes_cut_the_record_at_the_line_end(
    #[case] text: &[u8],
    #[case] want: &[(u64, Option<QuoteErrorKind>, Option<usize>)],
) {
    for capacity in [4, 5, 9, INPUT_BUFFER] {
        assert_eq!(quote_errors(text, capacity), want, "capacity {capacity}");
    }
}

/// Issue 15: a line with an unterminated quote used to swallow the next line (up to the next
/// quote) into one record with the right field count, and a charge vanished without a word.
#[test]
fn issue_15_unterminated_quote_does_not_swallow_the_next_record() {
    let text = b"BillingPeriodStart,BilledCost,ResourceName,Tags\n\
        2025-01-01,1.00,one,{}\n\
        2025-01-01,2.00,\"unterminated,{}\n\
        2025-01-01,3.00,\"three\",{}\n";
    for capacity in [4, 16, INPUT_BUFFER] {
        let (recs, _) = split_with(text, capacity);
        let lines: Vec<u64> = recs.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 3, 4], "capacity {capacity}");
        assert_eq!(
            recs[2].2.quote_error.map(|e| (e.field, e.kind)),
            Some((2, QuoteErrorKind::NotClosedOnLine))
        );
        assert_eq!(recs[3].1, ["2025-01-01", "3.00", "three", "{}"]);
        assert_eq!(recs[3].2.quote_error, None);
    }
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

/// An open quote still open at the size limit is cut at the end of its line, and reading goes
/// on with the next line, with bounded memory.
#[rstest]
#[case(b"\n3,4\n", b"\n")]
#[case(b"\r\n3,4\n", b"\r\n")]
fn a_quote_open_at_the_size_limit_is_cut_at_its_line_end(#[case] tail: &[u8], #[case] eol: &[u8]) {
    let mut text = b"a,b\n1,\"open".to_vec();
    text.extend(eol);
    text.extend(std::iter::repeat_n(b'x', 100_000));
    text.extend(tail);
    for capacity in [16, 4096] {
        let mut s = Splitter::with_capacity(&text[..], capacity);
        s.next_record(1000).expect("header");
        let info = s.next_record(1000).expect("read").expect("record");
        assert!(!info.oversize);
        assert_eq!(info.line, 2);
        assert_eq!(
            info.quote_error.map(|e| e.kind),
            Some(QuoteErrorKind::NotClosedOnLine)
        );
        assert_eq!(s.raw_body(), b"1,\"open");
        // The x line is longer than the limit: reading stops there.
        let next = s.next_record(1000).expect("read").expect("record");
        assert!(next.oversize);
        assert_eq!(next.line, 3);
        assert_eq!(s.next_record(1000).expect("read"), None);
    }
}

/// A single line longer than the limit cannot be split: it is flagged and reading stops, after
/// reading at most about twice the limit (`/dev/zero` would otherwise be read forever).
#[test]
fn a_line_longer_than_the_limit_stops_reading() {
    struct Endless(u64);
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(b'x');
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
    }
    let mut s = Splitter::with_capacity(Endless(0), 16);
    let info = s.next_record(1 << 16).expect("read").expect("record");
    assert!(info.oversize);
    assert_eq!(info.line, 1);
    assert!(s.oversize_prefix().len() >= 1 << 16);
    assert_eq!(s.next_record(1 << 16).expect("read"), None);
    assert!(s.into_inner().0 <= 1 << 18);
}

#[test]
fn read_errors_come_after_the_bytes_before_them() {
    struct Failing(&'static [u8]);
    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("boom"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut s = Splitter::new(Failing(b"a,b\nc,d\n"));
    assert!(s.next_record(MAX_RECORD_BYTES).expect("first").is_some());
    assert!(s.next_record(MAX_RECORD_BYTES).expect("second").is_some());
    assert!(s.next_record(MAX_RECORD_BYTES).is_err());
}

/// Records as the `csv` crate (over `csv_core`) splits them, with the physical start line. The
/// crate's own `position().line()` is where reading started, before any skipped blank lines, so
/// the line is worked out from its byte position instead, counting `\n`, `\r\n` and a lone
/// `\r` as line breaks (they all end records).
fn reference(text: &[u8]) -> Vec<(u64, Vec<Vec<u8>>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut rec = csv::ByteRecord::new();
    let mut out = Vec::new();
    while rdr.read_byte_record(&mut rec).expect("in-memory read") {
        let from = rec.position().map_or(0, |p| p.byte()) as usize;
        let skip = text[from..]
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let before = &text[..from + skip];
        let breaks = (0..before.len())
            .filter(|&i| {
                before[i] == b'\n' || (before[i] == b'\r' && text.get(i + 1) != Some(&b'\n'))
            })
            .count();
        let line = 1 + breaks as u64;
        out.push((line, rec.iter().map(<[u8]>::to_vec).collect()));
    }
    out
}

/// Does `text` hold a quoted field whose closing quote is followed by something other than a
/// comma or line end, or that never closes (the inputs where the splitter differs from
/// `csv_core` on purpose, issue 15)? Decided by `csv_core`'s own reading of the fields.
fn has_quote_error(text: &[u8]) -> bool {
    let mut in_quotes = false;
    let mut at_field_start = true;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if in_quotes {
            if b == b'"' {
                if text.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                    if !matches!(text.get(i + 1), None | Some(b',' | b'\r' | b'\n')) {
                        return true;
                    }
                }
            }
        } else if at_field_start && b == b'"' {
            in_quotes = true;
        }
        at_field_start = !in_quotes && matches!(b, b',' | b'\r' | b'\n');
        i += 1;
    }
    in_quotes
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Same records, fields and start lines as `csv_core`, whatever the buffer size, for every
    /// input without quote errors, and a quote error exactly when the input has one.
    #[test]
    fn splits_exactly_like_csv_core(
        bytes in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'b', b',', b'"', b'\r', b'\n', 0xc3, 0xa9]),
            0..120,
        ),
        capacity in 4usize..40,
    ) {
        let mut s = Splitter::with_capacity(&bytes[..], capacity);
        let mut got = Vec::new();
        let mut any_error = false;
        while let Some(info) = s.next_record(MAX_RECORD_BYTES).expect("in-memory read") {
            let fields: Vec<Vec<u8>> = (0..s.field_count()).map(|i| s.field(i).to_vec()).collect();
            got.push((info.line, fields));
            any_error |= info.quote_error.is_some();
        }
        proptest::prop_assert_eq!(any_error, has_quote_error(&bytes));
        if !any_error {
            proptest::prop_assert_eq!(got, reference(&bytes));
        }
    }
}
