//! The `Tags` cell: a JSON object of resource tags (SPEC §3.5).
//!
//! No tag value ever aborts an import: invalid JSON keeps the cell text and yields no tags.

use serde_json::{Map, Value};

/// What a `Tags` cell held.
#[derive(Debug, Clone, PartialEq)]
pub enum TagsCell {
    /// The file has no `Tags` column.
    NoColumn,
    /// The cell is null.
    Null,
    /// A JSON object (key order preserved).
    Object(Map<String, Value>),
    /// Not JSON, or JSON but not an object: the verbatim cell text (warning `W_TAGS_INVALID`).
    Invalid(String),
}

impl TagsCell {
    /// Parses a cell (`None` = null cell).
    pub fn parse(cell: Option<&str>) -> Self {
        let Some(text) = cell else { return Self::Null };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Self::Object(map),
            Ok(Value::Null) => Self::Null,
            _ => Self::Invalid(text.to_string()),
        }
    }

    /// The tag object, if any.
    pub fn object(&self) -> Option<&Map<String, Value>> {
        match self {
            Self::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Canonical compact JSON of the object (`None` when there is no object).
    pub fn canonical_json(&self) -> Option<String> {
        self.object()
            .map(|m| serde_json::to_string(m).expect("a JSON map always serialises"))
    }
}

/// A tag value as text: strings as written, numbers as their JSON text, booleans `true`/`false`,
/// nested values as compact JSON; JSON null is absent.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// Looks up the first candidate key that yields a non-empty (trimmed) value.
///
/// Keys match case-insensitively after trimming; when two keys match one candidate, the one
/// spelled exactly like the candidate wins, else the first in object order.
pub fn lookup(tags: &Map<String, Value>, candidates: &[String]) -> Option<String> {
    for candidate in candidates {
        let want = candidate.trim();
        if want.is_empty() {
            continue;
        }
        let mut found: Option<&Value> = None;
        for (key, value) in tags {
            let k = key.trim();
            if k == want {
                found = Some(value);
                break;
            }
            if found.is_none() && eq_ignore_case(k, want) {
                found = Some(value);
            }
        }
        // Strings (the common case) are trimmed and copied once; other values go through their text.
        let text = match found {
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(v) => value_text(v).map(|t| t.trim().to_string()),
            None => None,
        };
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            return Some(t);
        }
    }
    None
}

/// Whether any key is written the way cloud providers write tag keys (`user:` prefixes, spaces,
/// capitals, `/`): only then is [`lookup_provider`] worth trying. Lite files with snake_case keys
/// skip it, so the ingest hot path pays one scan of the keys.
pub fn has_provider_keys(tags: &Map<String, Value>) -> bool {
    tags.keys().any(|k| {
        !k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// Provider spelling of a key: without a leading `user:` (AWS user-defined cost-allocation
/// tags in FOCUS exports), lower case, alphanumerics only (`PI Email`, `PIEmail` and
/// `user:pi_email` all read `piemail`).
fn provider_form(key: &str) -> String {
    let k = key.trim();
    let k = match k.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("user:") => &k[5..],
        _ => k,
    };
    k.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Fallback after [`lookup`]: the first candidate whose provider form equals a key's provider
/// form (INTEGRATIONS.md §3.1: AWS `user:pi_email`, Azure `PI Email`, `PIEmail`, `Fund/Org` …),
/// so native cloud exports attribute without a preprocessor.
pub fn lookup_provider(tags: &Map<String, Value>, candidates: &[String]) -> Option<String> {
    for candidate in candidates {
        let want = provider_form(candidate);
        if want.is_empty() {
            continue;
        }
        for (key, value) in tags {
            if provider_form(key) != want {
                continue;
            }
            let text = value_text(value).map(|t| t.trim().to_string());
            if let Some(t) = text.filter(|t| !t.is_empty()) {
                return Some(t);
            }
        }
    }
    None
}

/// Case-insensitive comparison; Unicode-aware only when needed (the ASCII path is per-row hot).
pub fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(json: &str) -> Map<String, Value> {
        TagsCell::parse(Some(json))
            .object()
            .cloned()
            .expect("object")
    }

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn numeric_and_boolean_values_become_text() {
        let t = obj(r#"{"fund_org": 12345, "flag": true, "n": null, "x": [1,2], "f": 1.50}"#);
        assert_eq!(lookup(&t, &keys(&["fund_org"])).as_deref(), Some("12345"));
        assert_eq!(lookup(&t, &keys(&["flag"])).as_deref(), Some("true"));
        assert_eq!(lookup(&t, &keys(&["n"])), None);
        assert_eq!(lookup(&t, &keys(&["x"])).as_deref(), Some("[1,2]"));
        assert_eq!(lookup(&t, &keys(&["f"])).as_deref(), Some("1.50"));
    }

    #[test]
    fn candidates_are_tried_in_order_and_blank_values_skipped() {
        let t = obj(r#"{"project": "p2", "project_id": "  "}"#);
        assert_eq!(
            lookup(&t, &keys(&["project_id", "project"])).as_deref(),
            Some("p2")
        );
    }

    #[test]
    fn case_insensitive_keys_prefer_exact_spelling() {
        let t = obj(r#"{"PI_Email": "a@x.edu", "pi_email": "b@x.edu"}"#);
        assert_eq!(lookup(&t, &keys(&["pi_email"])).as_deref(), Some("b@x.edu"));
        let t = obj(r#"{" PI_EMAIL ": "a@x.edu", "Pi_Email": "b@x.edu"}"#);
        assert_eq!(lookup(&t, &keys(&["pi_email"])).as_deref(), Some("a@x.edu"));
    }

    #[test]
    fn provider_spellings_match_after_the_configured_keys() {
        let aws = obj(r#"{"user:pi_email": "a@x.edu", "aws:createdBy": "x"}"#);
        assert!(has_provider_keys(&aws));
        assert_eq!(lookup(&aws, &keys(&["pi_email"])), None);
        assert_eq!(
            lookup_provider(&aws, &keys(&["pi_email"])).as_deref(),
            Some("a@x.edu")
        );
        let azure = obj(r#"{"PI Email": "b@x.edu", "Fund/Org": "F-1", "ProjectId": "p"}"#);
        assert_eq!(
            lookup_provider(&azure, &keys(&["pi_email"])).as_deref(),
            Some("b@x.edu")
        );
        assert_eq!(
            lookup_provider(&azure, &keys(&["fund_org"])).as_deref(),
            Some("F-1")
        );
        assert_eq!(
            lookup_provider(&azure, &keys(&["project_id", "project"])).as_deref(),
            Some("p")
        );
        assert!(!has_provider_keys(&obj(
            r#"{"pi_email": "a", "fund_org": "b"}"#
        )));
    }

    #[test]
    fn invalid_tags_keep_their_text() {
        assert_eq!(
            TagsCell::parse(Some("{oops")),
            TagsCell::Invalid("{oops".into())
        );
        assert_eq!(
            TagsCell::parse(Some("[1]")),
            TagsCell::Invalid("[1]".into())
        );
        assert_eq!(TagsCell::parse(None), TagsCell::Null);
    }

    #[test]
    fn canonical_json_keeps_key_order() {
        let t = TagsCell::parse(Some(r#"{ "b": "1",  "a": 2 }"#));
        assert_eq!(t.canonical_json().as_deref(), Some(r#"{"b":"1","a":2}"#));
    }
}
