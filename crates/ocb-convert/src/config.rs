//! JSON configuration: the by-top-level-key merge of several files and typed, path-named access
//! with exact decimals (INTEGRATIONS.md §1.2).

use crate::error::{ConvertError, Result};
use crate::money::parse_decimal;
use crate::report::Warning;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One parsed configuration file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// How messages name it (the path as given).
    pub name: String,
    /// Its JSON value (must be an object).
    pub value: Value,
}

impl ConfigFile {
    /// Parses a file's bytes (UTF-8 with or without BOM, or UTF-16 with BOM).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Self> {
        let value = crate::text::parse_json(bytes, name).map_err(ConvertError::Config)?;
        Ok(Self {
            name: name.to_string(),
            value,
        })
    }
}

/// Merges files by top-level key; the same key in two files is an error. `_`-keys are dropped.
pub fn merge(files: &[ConfigFile]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let mut owner: BTreeMap<String, &str> = BTreeMap::new();
    for f in files {
        let Value::Object(map) = &f.value else {
            return Err(ConvertError::config(format!(
                "{} must hold a JSON object",
                f.name
            )));
        };
        for (k, v) in map {
            if k.starts_with('_') {
                continue;
            }
            if let Some(first) = owner.insert(k.clone(), &f.name) {
                return Err(ConvertError::config(format!(
                    "top-level key '{k}' is defined in both {first} and {}",
                    f.name
                )));
            }
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(out)
}

/// A JSON object being read, with the dotted path used in messages.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

/// `a.b` or `b` when `a` is empty.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn bad(path: &str, key: &str, want: &str, got: &Value) -> ConvertError {
    ConvertError::config(format!(
        "'{}' must be {want}, found {}",
        join(path, key),
        short(got)
    ))
}

/// A JSON value shortened for messages.
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

/// A decimal from a JSON number (exact literal text) or a numeric string.
pub fn value_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => parse_decimal(&n.to_string()),
        Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

impl<'a> Obj<'a> {
    /// Wraps an object found at `path`.
    pub fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Self { map, path }
    }

    /// The dotted path of this object.
    pub fn path(&self) -> &str {
        self.path
    }

    /// The underlying map.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// A present, non-null member.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string member.
    pub fn str(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(bad(self.path, key, "a string", v)),
        }
    }

    /// A decimal member (JSON number read from its literal text, or a numeric string).
    pub fn dec(&self, key: &str) -> Result<Option<Decimal>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_decimal(v)
                .map(Some)
                .ok_or_else(|| bad(self.path, key, "a number", v)),
        }
    }

    /// A non-negative decimal member.
    pub fn non_negative(&self, key: &str) -> Result<Option<Decimal>> {
        let d = self.dec(key)?;
        if let Some(x) = d {
            if x.is_sign_negative() && !x.is_zero() {
                return Err(ConvertError::config(format!(
                    "'{}' must not be negative, found {x}",
                    join(self.path, key)
                )));
            }
        }
        Ok(d)
    }

    /// A percentage in [0, 100].
    pub fn percent(&self, key: &str) -> Result<Option<Decimal>> {
        let d = self.dec(key)?;
        if let Some(x) = d {
            if x < Decimal::ZERO || x > Decimal::ONE_HUNDRED {
                return Err(ConvertError::config(format!(
                    "'{}' must be a percentage from 0 to 100, found {x}",
                    join(self.path, key)
                )));
            }
        }
        Ok(d)
    }

    /// A boolean member.
    pub fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(bad(self.path, key, "true or false", v)),
        }
    }

    /// An object member.
    pub fn obj(&self, key: &str) -> Result<Option<&'a Map<String, Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(bad(self.path, key, "an object", v)),
        }
    }

    /// An array member.
    pub fn arr(&self, key: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(bad(self.path, key, "an array", v)),
        }
    }

    /// An array of strings.
    pub fn str_list(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(items) = self.arr(key)? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(bad(self.path, key, "an array of strings", other)),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Warns `unknown_config_key` for every member not in `known` (and not `_`-prefixed).
    pub fn unknown(&self, known: &[&str], warnings: &mut Vec<Warning>) {
        for k in self.map.keys() {
            if !k.starts_with('_') && !known.contains(&k.as_str()) {
                warnings.push(Warning::new(
                    Some(join(self.path, k)),
                    "unknown_config_key",
                    format!(
                        "unknown configuration key '{}' is ignored",
                        join(self.path, k)
                    ),
                ));
            }
        }
    }
}

/// A map keyed by ASCII-lower-cased identifiers; two keys differing only by case are an error.
#[derive(Debug, Clone)]
pub struct CiMap<T> {
    entries: BTreeMap<String, (String, T)>,
}

impl<T> Default for CiMap<T> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl<T> CiMap<T> {
    /// Inserts `key`; `path` names the collection in the error.
    pub fn insert(&mut self, path: &str, key: &str, value: T) -> Result<()> {
        let lower = key.to_ascii_lowercase();
        if let Some((first, _)) = self.entries.get(&lower) {
            return Err(ConvertError::config(format!(
                "'{path}' lists '{first}' and '{key}', which differ only by case"
            )));
        }
        self.entries.insert(lower, (key.to_string(), value));
        Ok(())
    }

    /// Case-insensitive lookup.
    pub fn get(&self, key: &str) -> Option<&T> {
        self.entries.get(&key.to_ascii_lowercase()).map(|(_, v)| v)
    }

    /// Whether the map holds `key` (any case).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A list of case-insensitive identifiers with duplicate detection.
pub fn ci_set(path: &str, items: &[String]) -> Result<CiMap<()>> {
    let mut m = CiMap::default();
    for i in items {
        if m.contains(i) && !items.iter().any(|o| o != i && o.eq_ignore_ascii_case(i)) {
            continue; // exact repeats are harmless
        }
        m.insert(path, i, ())?;
    }
    Ok(m)
}

/// Compiles regexes, naming the bad one (config error).
pub fn regexes(
    path: &str,
    patterns: &[String],
    case_insensitive: bool,
) -> Result<Vec<regex::Regex>> {
    patterns
        .iter()
        .map(|p| {
            regex::RegexBuilder::new(p)
                .case_insensitive(case_insensitive)
                .build()
                .map_err(|e| ConvertError::config(format!("'{path}': invalid regex '{p}': {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file(name: &str, v: Value) -> ConfigFile {
        ConfigFile {
            name: name.into(),
            value: v,
        }
    }

    #[test]
    fn merge_by_top_level_key_and_reject_duplicates() {
        let a = file("a.json", json!({"x": 1, "_comment": "c"}));
        let b = file("b.json", json!({"y": 2, "_comment": "d"}));
        let m = merge(&[a.clone(), b]).expect("merge");
        assert_eq!(m.len(), 2);
        let c = file("c.json", json!({"x": 3}));
        let e = merge(&[a, c]).unwrap_err();
        assert!(
            e.to_string()
                .contains("'x' is defined in both a.json and c.json"),
            "{e}"
        );
    }

    #[test]
    fn decimals_are_read_exactly_from_the_literal() {
        let v: Value =
            serde_json::from_str(r#"{"r": 0.10000000000000000000001, "s": "12.5", "b": true}"#)
                .expect("json");
        let o = Obj::new(v.as_object().expect("obj"), "t");
        assert_eq!(
            o.dec("r").expect("ok").expect("some").to_string(),
            "0.10000000000000000000001"
        );
        assert_eq!(o.dec("s").expect("ok").expect("some").to_string(), "12.5");
        assert!(o
            .dec("b")
            .unwrap_err()
            .to_string()
            .contains("'t.b' must be a number"));
    }

    #[test]
    fn case_duplicates_are_config_errors() {
        let mut m = CiMap::default();
        m.insert("accounts", "abc", 1).expect("first");
        assert!(m.insert("accounts", "ABC", 2).is_err());
        assert_eq!(m.get("aBc"), Some(&1));
    }

    #[test]
    fn unknown_keys_warn() {
        let v = json!({"a": 1, "zz": 2, "_c": 3});
        let mut w = Vec::new();
        Obj::new(v.as_object().expect("obj"), "").unknown(&["a"], &mut w);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, "unknown_config_key");
    }
}
