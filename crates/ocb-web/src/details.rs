//! Event details (audit events, charge history) as readable key/value pairs instead of raw JSON
//! (issue 16, item 14). Nested objects flatten to dotted keys (`changes.role`), a change recorded
//! as `{"old", "new"}` reads `viewer → admin`, lists of plain values are joined with commas.
//! The values are plain text: the template escapes them like any other value.

use serde::Serialize;
use serde_json::Value;

/// One line of the details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetailField {
    /// Dotted key path (`changes.role`).
    pub key: String,
    /// The value as text.
    pub value: String,
}

/// The fields of an event's details, in stored order. Details that are not an object become one
/// field named `details`; an empty object gives no field.
pub fn fields(details: &Value) -> Vec<DetailField> {
    let mut out = Vec::new();
    match details {
        Value::Object(_) => flatten("", details, &mut out),
        Value::Null => {}
        other => out.push(DetailField {
            key: "details".into(),
            value: text(other),
        }),
    }
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<DetailField>) {
    let Value::Object(map) = v else {
        out.push(DetailField {
            key: prefix.to_string(),
            value: text(v),
        });
        return;
    };
    if let Some(change) = old_new(map) {
        out.push(DetailField {
            key: prefix.to_string(),
            value: change,
        });
        return;
    }
    // An absent value (`"note": null`) says nothing; leaving it out keeps the lines short.
    for (k, v) in map.iter().filter(|(_, v)| !v.is_null()) {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        flatten(&key, v, out);
    }
}

/// `{"old": a, "new": b}` (and nothing else) as `a → b`.
fn old_new(map: &serde_json::Map<String, Value>) -> Option<String> {
    if map.len() != 2 {
        return None;
    }
    let (old, new) = (map.get("old")?, map.get("new")?);
    Some(format!("{} → {}", text(old), text(new)))
}

/// A value as text: strings as they are, `—` for null, lists joined, objects as `k: v` pairs.
fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", text(v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(v: Value) -> Vec<(String, String)> {
        fields(&v).into_iter().map(|f| (f.key, f.value)).collect()
    }

    #[test]
    fn objects_flatten_to_dotted_keys_and_changes_read_as_arrows() {
        let got = pairs(json!({
            "username": "alice",
            "changes": {"role": {"old": "viewer", "new": "admin"}, "email": {"old": null, "new": "a@x.edu"}},
            "periods": ["2025-01", "2025-02"],
            "read_only": true,
            "count": 3,
            "skipped": [],
            "note": null,
        }));
        assert_eq!(
            got,
            [
                ("username", "alice"),
                ("changes.role", "viewer → admin"),
                ("changes.email", "— → a@x.edu"),
                ("periods", "2025-01, 2025-02"),
                ("read_only", "yes"),
                ("count", "3"),
                ("skipped", "none"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn non_objects_and_lists_of_objects_stay_readable() {
        assert_eq!(pairs(json!("plain")), [("details".into(), "plain".into())]);
        assert!(pairs(Value::Null).is_empty());
        assert_eq!(
            pairs(json!({"scope": [{"id": 1}, {"id": 2}]})),
            [("scope".into(), "id: 1, id: 2".into())]
        );
    }

    #[test]
    fn markup_is_kept_as_text_for_the_template_to_escape() {
        assert_eq!(
            pairs(json!({"note": "<script>x</script>"})),
            [("note".into(), "<script>x</script>".into())]
        );
    }
}
