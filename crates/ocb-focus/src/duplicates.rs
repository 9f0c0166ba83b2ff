//! Rows identical in every column (issue 17). Ingest keeps both (SPEC §5.7: occurrence numbers
//! tell them apart) and flags both `possible_duplicate`; `validate` and the import report name
//! their lines ("lines 12 and 57 are identical").
//!
//! Streaming and memory-bounded: the reader hashes each record's cells once (64-bit xxh3, see
//! `RecordView::raw_hash`) and this index keeps one hash and one line number per row of the
//! current file: 16 bytes a row plus table overhead, about 40 MB for a million rows. Equality is
//! taken from the hash without comparing the rows again: keeping the rows to compare would make
//! memory grow with the file, and the chance that two different rows of a ten-million-row file
//! share a 64-bit hash is about 3 in a million. A collision would flag two rows for a look,
//! never drop or merge anything.

use crate::diag::LineRef;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// First line of each distinct row of one file.
#[derive(Debug, Default)]
pub struct DuplicateRows {
    first: HashMap<u64, u64, BuildHasherDefault<PassThrough>>,
    /// The part file the index belongs to: a directory's parts are separate files, so lines of
    /// different parts are never compared (their line numbers would not say where to look).
    part: Option<String>,
}

impl DuplicateRows {
    /// A new, empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An index sized for `rows` rows up front, so a large file does not rehash (and copy)
    /// the table over and over while it is read.
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            first: HashMap::with_capacity_and_hasher(rows, Default::default()),
            part: None,
        }
    }

    /// Records the row at `line`; returns the line of the first identical row seen before in
    /// the same file, if any.
    pub fn check(&mut self, raw_hash: u64, line: &LineRef) -> Option<LineRef> {
        if line.part != self.part {
            self.first.clear();
            self.part.clone_from(&line.part);
        }
        let first = *self.first.entry(raw_hash).or_insert(line.n);
        (first != line.n).then(|| LineRef {
            n: first,
            ..line.clone()
        })
    }
}

/// `lines 12 and 57 are identical` (`rows …` for Parquet, prefixed with the part file).
pub fn duplicate_message(first: &LineRef, this: &LineRef) -> String {
    let part = first
        .part
        .as_deref()
        .map(|p| format!("{p}: "))
        .unwrap_or_default();
    let word = if first.is_row { "rows" } else { "lines" };
    format!("{part}{word} {} and {} are identical", first.n, this.n)
}

/// The keys are already hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_name_the_first_line_per_part() {
        let mut d = DuplicateRows::new();
        assert_eq!(d.check(7, &LineRef::line(2)), None);
        assert_eq!(d.check(8, &LineRef::line(3)), None);
        let again = d.check(7, &LineRef::line(9)).expect("repeat");
        assert_eq!(again.n, 2);
        assert_eq!(d.check(7, &LineRef::line(12)).map(|l| l.n), Some(2));
        assert_eq!(
            duplicate_message(&again, &LineRef::line(9)),
            "lines 2 and 9 are identical"
        );
        // A new part file starts a new index.
        let other = LineRef::line(9).in_part(Some("b.csv"));
        assert_eq!(d.check(7, &other), None);
    }
}
