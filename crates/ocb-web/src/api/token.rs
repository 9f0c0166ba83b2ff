//! API token format and hashing (SPEC §14.5): `ocb_` followed by 32 random bytes in RFC 4648
//! base32 (upper case, no padding: 52 characters). The database keeps only
//! HMAC-SHA-256(web.secret_key, token) in hex, so a stolen database copy does not yield usable
//! tokens without the server secret. Changing `web.secret_key` invalidates every token.

use sha2::{Digest, Sha256};

/// Longest token name.
pub const NAME_MAX: usize = 100;

/// A new token named `name` (required, at most [`NAME_MAX`] characters) for the tokens page and
/// `users token create`: the plain token, to show once, and the row to store (its keyed hash
/// under `secret`, never the token).
pub fn issue(
    secret: &str,
    name: &str,
    read_only: bool,
    expires_at: Option<String>,
) -> Result<(String, ocb_store::NewApiToken), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("A token name is required.".into());
    }
    if name.chars().count() > NAME_MAX {
        return Err(format!(
            "The token name is longer than {NAME_MAX} characters."
        ));
    }
    let plain = generate();
    let row = ocb_store::NewApiToken {
        name: name.to_string(),
        token_hash: hash(secret, &plain),
        read_only,
        expires_at,
    };
    Ok((plain, row))
}

/// Every token starts with this, so secret scanners and people recognise it.
pub const PREFIX: &str = "ocb_";

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding.
fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A new random token (256 bits from the OS).
pub fn generate() -> String {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    format!("{PREFIX}{}", base32(&buf))
}

/// HMAC-SHA-256 (RFC 2104) of `message` keyed with `key`, in hex.
pub fn keyed_hash(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|x| x ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    hex::encode(outer)
}

/// What the database stores for `token` under the server secret.
pub fn hash(secret: &str, token: &str) -> String {
    keyed_hash(secret.as_bytes(), token.as_bytes())
}

/// True when `s` has the token shape (checked before any database lookup).
pub fn well_formed(s: &str) -> bool {
    s.strip_prefix(PREFIX)
        .is_some_and(|b| b.len() == 52 && b.bytes().all(|c| ALPHABET.contains(&c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_named_and_stored_only_as_their_keyed_hash() {
        assert_eq!(
            issue("k", "  ", false, None).err().as_deref(),
            Some("A token name is required.")
        );
        assert_eq!(
            issue("k", &"x".repeat(101), false, None).err().as_deref(),
            Some("The token name is longer than 100 characters.")
        );
        let (plain, row) =
            issue("k", " ci ", true, Some("2030-01-01T00:00:00Z".into())).expect("ok");
        assert!(well_formed(&plain), "{plain}");
        assert_eq!(row.name, "ci");
        assert_eq!(row.token_hash, hash("k", &plain));
        assert_ne!(row.token_hash, hash("other key", &plain));
        assert!(row.read_only && row.expires_at.is_some());
    }

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn hmac_matches_rfc_4231_test_cases() {
        // Test case 2 (short key) and 6 (key longer than the block).
        assert_eq!(
            keyed_hash(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            keyed_hash(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn tokens_are_well_formed_distinct_and_hashed_with_the_secret() {
        let (a, b) = (generate(), generate());
        assert!(well_formed(&a) && well_formed(&b), "{a}");
        assert_eq!(a.len(), 56);
        assert_ne!(a, b);
        assert_ne!(hash("k1", &a), hash("k2", &a));
        assert!(!well_formed("ocb_short") && !well_formed(&a.to_lowercase()));
    }
}
