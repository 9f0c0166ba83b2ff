//! Hash maps keyed by strings that the import looks up once per row (tag-set caches):
//! one-shot xxh3 over the key instead of SipHash, which cost more than the lookup it served.
//! Not for keys an attacker chooses to collide on purpose over a long-lived map; the import
//! caches are bounded and short-lived.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`OneShotHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<OneShotHasher>>;

/// Hashes each written byte slice with one-shot xxh3 (a `str` key is one slice plus a marker
/// byte).
#[derive(Default)]
pub struct OneShotHasher(u64);

impl Hasher for OneShotHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = self.0.rotate_left(29) ^ xxhash_rust::xxh3::xxh3_64(bytes);
    }

    fn write_u8(&mut self, i: u8) {
        self.0 = self.0.rotate_left(7) ^ u64::from(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_map() {
        let mut m: FastMap<String, u32> = FastMap::default();
        for i in 0..1000u32 {
            m.insert(format!("{{\"pi_email\":\"pi{i}@x.edu\"}}"), i);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get("{\"pi_email\":\"pi7@x.edu\"}"), Some(&7));
        assert_eq!(m.get("nope"), None);
    }
}
