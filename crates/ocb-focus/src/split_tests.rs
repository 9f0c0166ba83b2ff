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

#[rstest]
#[case(b"a,b\n1,\"open\n2,3\n", true)]
#[case(b"a,b\n1,\"closed\"", false)]
#[case(b"a,b\n1,\"x\"\"", true)]
#[case(b"a,b\n1,2", false)]
#[case(b"a,b\n1,ab\"c", false)]
fn unterminated_quote_at_end_is_detected(#[case] text: &[u8], #[case] want: bool) {
    for capacity in [4, INPUT_BUFFER] {
        let (recs, _) = split_with(text, capacity);
        let last = recs.last().expect("a record").2;
        assert!(last.at_eof);
        assert_eq!(last.unterminated_quote, want);
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

#[rstest]
#[case(b"\",2\n3,4\n", 3, false)]
#[case(b"\",2\r\n3,4\n", 3, false)]
#[case(b"\nstill open", 0, true)]
fn oversize_records_are_flagged_and_bounded(
    #[case] tail: &[u8],
    #[case] next_line: u64,
    #[case] ends_at_eof: bool,
) {
    let mut text = b"a,b\n\"".to_vec();
    text.extend(std::iter::repeat_n(b'x', 100_000));
    text.extend(tail);
    for capacity in [16, 4096] {
        let mut s = Splitter::with_capacity(&text[..], capacity);
        s.next_record(1000).expect("header");
        let info = s.next_record(1000).expect("read").expect("record");
        assert!(info.oversize);
        assert_eq!(info.line, 2);
        assert!(s.raw_body().len() <= 1000);
        assert!(s.raw_body().starts_with(b"\"xxx"));
        match s.next_record(1000).expect("read") {
            Some(next) => {
                assert!(!ends_at_eof);
                assert_eq!(next.line, next_line);
                assert_eq!(s.field(0), b"3");
            }
            None => assert!(ends_at_eof && info.at_eof),
        }
    }
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
/// the line is worked out from its byte position instead.
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
        let line = 1 + text[..from + skip].iter().filter(|&&b| b == b'\n').count() as u64;
        out.push((line, rec.iter().map(<[u8]>::to_vec).collect()));
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Same records, fields and start lines as `csv_core`, whatever the buffer size.
    #[test]
    fn splits_exactly_like_csv_core(
        bytes in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'b', b',', b'"', b'\r', b'\n', 0xc3, 0xa9]),
            0..120,
        ),
        capacity in 4usize..40,
    ) {
        let want = reference(&bytes);
        let mut s = Splitter::with_capacity(&bytes[..], capacity);
        let mut got = Vec::new();
        while let Some(info) = s.next_record(MAX_RECORD_BYTES).expect("in-memory read") {
            let fields: Vec<Vec<u8>> = (0..s.field_count()).map(|i| s.field(i).to_vec()).collect();
            got.push((info.line, fields));
        }
        proptest::prop_assert_eq!(got, want);
    }
}
