//! Input bytes: kind sniffing, gzip decoding, and the size/SHA-256 of everything read.
//!
//! Hashing happens where bytes leave the file (below any decompression), so the import record's
//! `size_bytes` and `sha256` describe the file as stored (SPEC §5.12), while the CSV reader sees
//! decompressed text. Content wins over the file extension (SPEC §3.2).

use flate2::read::MultiGzDecoder;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, Chain, Cursor, Read};
use std::sync::{Arc, Mutex, PoisonError};

/// The kind of an input (SPEC §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// Plain CSV text.
    Csv,
    /// Gzip-compressed CSV.
    CsvGz,
    /// Apache Parquet.
    Parquet,
    /// An export directory (AWS / Azure layout or plain parts).
    Directory,
}

impl InputKind {
    /// `csv`, `csv.gz`, `parquet`, `directory`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::CsvGz => "csv.gz",
            Self::Parquet => "parquet",
            Self::Directory => "directory",
        }
    }
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for InputKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What the reader saw of the input, available after the last row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputStats {
    /// Bytes of the input as stored (all parts for a directory).
    pub size_bytes: u64,
    /// Lower-case hex SHA-256 of those bytes (parts concatenated in reading order).
    pub sha256: String,
    /// Data records read (not the header, not blank lines), good and rejected.
    pub rows_read: u64,
    /// Blank physical lines that were skipped.
    pub blank_lines: u64,
}

/// Running size and hash of the bytes read so far.
#[derive(Default)]
pub(crate) struct HashState {
    pub(crate) size: u64,
    pub(crate) hasher: Sha256,
}

impl HashState {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.hasher.update(bytes);
    }

    pub(crate) fn hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }
}

/// Shared handle on a [`HashState`], readable after the reader chain has been consumed.
pub(crate) type SharedHash = Arc<Mutex<HashState>>;

/// A `Read` that feeds every byte it returns into a hash.
pub(crate) struct HashingReader {
    inner: Box<dyn Read + Send>,
    state: SharedHash,
}

impl HashingReader {
    pub(crate) fn new(inner: Box<dyn Read + Send>, state: SharedHash) -> Self {
        Self { inner, state }
    }

    /// Reads (and hashes) everything left, so the hash covers the whole input even when the
    /// consumer stopped early (e.g. bytes after the end of a gzip stream).
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        lock(&self.state).update(&buf[..n]);
        Ok(n)
    }
}

/// Locks a hash state; a poisoned lock still holds valid counters (updates are single calls).
pub(crate) fn lock(state: &SharedHash) -> std::sync::MutexGuard<'_, HashState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The hashed raw stream with the sniffed prefix put back in front.
pub(crate) type Raw = Chain<Cursor<Vec<u8>>, HashingReader>;

/// What the first bytes say the content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sniffed {
    Empty,
    Gzip,
    Parquet,
    Text,
}

/// Reads up to four bytes through the hashing reader and classifies them.
pub(crate) fn sniff(mut hashing: HashingReader) -> io::Result<(Sniffed, Raw)> {
    let mut prefix = Vec::with_capacity(4);
    (&mut hashing).take(4).read_to_end(&mut prefix)?;
    let kind = classify(&prefix);
    Ok((kind, Cursor::new(prefix).chain(hashing)))
}

pub(crate) fn classify(prefix: &[u8]) -> Sniffed {
    if prefix.is_empty() {
        Sniffed::Empty
    } else if prefix.starts_with(&[0x1f, 0x8b]) {
        Sniffed::Gzip
    } else if prefix == b"PAR1" {
        Sniffed::Parquet
    } else {
        Sniffed::Text
    }
}

/// The (possibly decompressed) CSV byte stream.
pub(crate) enum Decoded {
    Plain(Raw),
    // Multi-member: `cat a.gz b.gz` and some exporters produce several gzip members.
    Gzip(Box<MultiGzDecoder<Raw>>),
}

impl Decoded {
    pub(crate) fn new(raw: Raw, gzip: bool) -> Self {
        if gzip {
            Self::Gzip(Box::new(MultiGzDecoder::new(raw)))
        } else {
            Self::Plain(raw)
        }
    }

    /// Gives back the hashing reader (bytes buffered by the decoder were already hashed).
    pub(crate) fn into_hashing(self) -> HashingReader {
        let raw = match self {
            Self::Plain(raw) => raw,
            Self::Gzip(gz) => gz.into_inner(),
        };
        raw.into_inner().1
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(r) => r.read(buf),
            Self::Gzip(r) => r.read(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(b"", Sniffed::Empty)]
    #[case(b"\x1f\x8b\x08\x00", Sniffed::Gzip)]
    #[case(b"PAR1", Sniffed::Parquet)]
    #[case(b"Bill", Sniffed::Text)]
    #[case(b"PA", Sniffed::Text)]
    fn content_is_classified_by_magic(#[case] prefix: &[u8], #[case] want: Sniffed) {
        assert_eq!(classify(prefix), want);
    }

    #[test]
    fn hash_covers_prefix_and_drained_rest() {
        let state = SharedHash::default();
        let data = b"hello world".to_vec();
        let hashing = HashingReader::new(Box::new(Cursor::new(data.clone())), state.clone());
        let (kind, mut raw) = sniff(hashing).expect("sniff");
        assert_eq!(kind, Sniffed::Text);
        let mut first = [0u8; 6];
        raw.read_exact(&mut first).expect("read");
        assert_eq!(&first, b"hello ");
        let mut hashing = Decoded::new(raw, false).into_hashing();
        hashing.drain().expect("drain");
        let s = lock(&state);
        assert_eq!(s.size, 11);
        assert_eq!(s.hex(), hex::encode(Sha256::digest(&data)));
    }
}
