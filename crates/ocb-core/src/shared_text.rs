//! [`SharedText`]: a text that repeats across the rows of a file (a date, a tag set), shared so
//! a row costs a reference count instead of an allocation and a copy.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A shared, immutable text.
///
/// Ingest clones these on its reader thread for every row while its writer thread reads them.
/// In an `Arc<str>` the reference counts and a short text share one cache line, so each clone
/// took that line away from the other core and each read took it back: about a tenth of the
/// reader's time at a million rows. Here the text sits behind a cache-line-aligned payload, so
/// the counts the reader writes and the bytes the writer reads are on different lines.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SharedText(Arc<Payload>);

/// Aligned to a cache line: `Arc` places it after its counts, on a line of its own.
#[repr(align(64))]
#[derive(Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Payload(Box<str>);

impl Deref for SharedText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0 .0
    }
}

impl Borrow<str> for SharedText {
    fn borrow(&self) -> &str {
        self
    }
}

impl AsRef<str> for SharedText {
    fn as_ref(&self) -> &str {
        self
    }
}

impl From<String> for SharedText {
    fn from(s: String) -> Self {
        Self(Arc::new(Payload(s.into_boxed_str())))
    }
}

impl From<&str> for SharedText {
    fn from(s: &str) -> Self {
        Self(Arc::new(Payload(s.into())))
    }
}

impl fmt::Debug for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl fmt::Display for SharedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::hash::{BuildHasher, RandomState};

    #[test]
    fn behaves_like_its_text() {
        let a = SharedText::from("2025-01-01T00:00:00Z");
        let b = SharedText::from(String::from("2025-01-01T00:00:00Z"));
        assert_eq!(a, b);
        assert_eq!(&*a, "2025-01-01T00:00:00Z");
        assert_eq!(
            format!("{a} {a:?}"),
            "2025-01-01T00:00:00Z \"2025-01-01T00:00:00Z\""
        );
        let (x, y) = (SharedText::from("a"), SharedText::from("b"));
        assert!(x < y);
        assert_eq!(&*SharedText::default(), "");
        // Hash and Borrow agree with str's, so maps keyed by it are searched with a &str.
        let s = RandomState::new();
        assert_eq!(s.hash_one(&a), s.hash_one("2025-01-01T00:00:00Z"));
        let map: HashMap<SharedText, u8> = [(a.clone(), 1)].into();
        assert_eq!(map.get("2025-01-01T00:00:00Z"), Some(&1));
    }

    #[test]
    fn the_text_starts_a_cache_line() {
        // `Arc` keeps its counts before the payload; a payload starting a line is off theirs.
        let a = SharedText::from("x");
        assert_eq!(Arc::as_ptr(&a.0) as usize % 64, 0);
    }
}
