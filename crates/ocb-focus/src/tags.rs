//! Reading `Tags` cells fast (SPEC §3.5).
//!
//! Nearly every real `Tags` cell is a flat JSON object of plain strings. For those, one pass
//! builds both the tag map and its canonical compact JSON (a string without escapes serialises
//! exactly as written), skipping serde's generic `Value` machinery and the second serialisation
//! pass, which together were the largest per-row cost after splitting. Anything else (escapes,
//! numbers, booleans, nesting, duplicate keys, invalid JSON) goes through
//! [`TagsCell::parse`] and [`TagsCell::canonical_json`], and the tests check that both paths
//! agree.

use ocb_core::tags::TagsCell;
use serde_json::{Map, Value};

/// Parses a non-null `Tags` cell: the cell and its canonical JSON (when it is an object).
pub(crate) fn parse_tags(text: &str) -> (TagsCell, Option<String>) {
    if let Some(fast) = flat_string_object(text) {
        return fast;
    }
    let tags = TagsCell::parse(Some(text));
    let canonical = tags.canonical_json();
    (tags, canonical)
}

/// The fast path: `{"k": "v", ...}` with plain strings only; `None` means "use serde".
fn flat_string_object(text: &str) -> Option<(TagsCell, Option<String>)> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    // Sized up front: growing the index map entry by entry costs more than the count.
    let mut map = Map::with_capacity(memchr::memchr_iter(b':', b).count());
    let mut canonical = String::with_capacity(text.len());
    canonical.push('{');
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let (key, next) = plain_string(text, i)?;
            i = skip_ws(b, next);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            let (value, next) = plain_string(text, i)?;
            if !map.is_empty() {
                canonical.push(',');
            }
            canonical.push('"');
            canonical.push_str(key);
            canonical.push_str("\":\"");
            canonical.push_str(value);
            canonical.push('"');
            // A repeated key would make serde keep the first position with the last value.
            if map
                .insert(key.to_string(), Value::String(value.to_string()))
                .is_some()
            {
                return None;
            }
            i = skip_ws(b, next);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return None;
    }
    canonical.push('}');
    Some((TagsCell::Object(map), Some(canonical)))
}

/// JSON whitespace (RFC 8259: space, tab, LF, CR).
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// A string token at `i` without escapes or control characters: (contents, index after it).
fn plain_string(text: &str, i: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let len = b[start..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    let end = start + len;
    if b[end] != b'"' {
        return None;
    }
    Some((text.get(start..end)?, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn slow(text: &str) -> (TagsCell, Option<String>) {
        let tags = TagsCell::parse(Some(text));
        let canonical = tags.canonical_json();
        (tags, canonical)
    }

    #[rstest]
    #[case(r#"{"pi_email": "a@x.edu", "project_id": "p1"}"#, true)]
    #[case(" {\r\n\t\"a\" :\"b\" , \"c\":\"é€\" } ", true)]
    #[case("{}", true)]
    #[case(r#"{"a":"b\"c"}"#, false)]
    #[case(r#"{"n": 12345}"#, false)]
    #[case(r#"{"a": "1", "a": "2"}"#, false)]
    #[case(r#"{"a": {"b": "c"}}"#, false)]
    #[case(r#"{"a": "b",}"#, false)]
    #[case(r#"{"a": "b"} x"#, false)]
    #[case(r#"["a"]"#, false)]
    #[case("null", false)]
    #[case("{oops", false)]
    #[case("{\"a\": \"tab\there\"}", false)]
    fn fast_path_agrees_with_serde(#[case] text: &str, #[case] fast: bool) {
        assert_eq!(flat_string_object(text).is_some(), fast, "{text}");
        assert_eq!(parse_tags(text), slow(text), "{text}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        #[test]
        fn both_paths_agree_on_random_objects(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "\"", ":", ",", " ", "\n", "\\", "\\\"", "a", "é", "1", "true",
                    "null", "[", "]", "\t", "\u{1}",
                ]),
                0..24,
            ),
        ) {
            let text: String = parts.concat();
            proptest::prop_assert_eq!(parse_tags(&text), slow(&text));
        }

        #[test]
        fn both_paths_agree_on_well_formed_objects(
            entries in proptest::collection::vec(("[a-c]{0,3}", "[ -~é]{0,6}"), 0..5),
            ws in "[ \t\r\n]{0,2}",
        ) {
            let body: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{ws}{}{ws}:{ws}{}{ws}", Value::from(k.as_str()), Value::from(v.as_str())))
                .collect();
            let text = format!("{ws}{{{}}}{ws}", body.join(","));
            proptest::prop_assert_eq!(parse_tags(&text), slow(&text));
        }
    }
}
