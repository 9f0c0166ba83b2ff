//! Typed reading of the YAML tree: one `Section` per mapping, which hands out values by key with
//! their full key path, records every problem in a shared `Ctx` instead of stopping at the first,
//! and reports the keys nobody asked for as unknown-key warnings (SPEC §4.1).

use crate::error::Diagnostic;
use crate::yaml::{Entry, Kind, Node};
use std::path::{Component, Path, PathBuf};

/// Collects diagnostics while a config is being built.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    /// The config file, when there is one.
    pub file: Option<PathBuf>,
    /// Errors (any → the config is refused).
    pub errors: Vec<Diagnostic>,
    /// Warnings.
    pub warnings: Vec<Diagnostic>,
    /// Unset environment variables (shown by `serve` and `config check` only).
    pub unset_env: Vec<Diagnostic>,
    /// Notices about defaults in effect (shown by `serve` and `config check` only).
    pub notices: Vec<Diagnostic>,
}

impl Ctx {
    /// A diagnostic located in this config file.
    pub fn diag(&self, line: Option<usize>, key: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: self.file.clone(),
            line,
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// Records an error.
    pub fn error(&mut self, line: Option<usize>, key: &str, message: impl Into<String>) {
        let d = self.diag(line, key, message);
        self.errors.push(d);
    }

    /// Records a notice: shown once, where the operator checks the config, because the
    /// defaulted behaviour is fine to run with and every cron run repeating it would be noise.
    pub fn notice(&mut self, line: Option<usize>, key: &str, message: impl Into<String>) {
        let d = self.diag(line, key, message);
        self.notices.push(d);
    }

    /// Records a warning.
    pub fn warn(&mut self, line: Option<usize>, key: &str, message: impl Into<String>) {
        let d = self.diag(line, key, message);
        self.warnings.push(d);
    }
}

/// A value found under a key, with its full key path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Value<'a> {
    /// The node (never `Kind::Null`: null means "absent").
    pub node: &'a Node,
    /// 1-based line of the value.
    pub line: usize,
}

/// What a node is, for "expected X, found Y" messages.
pub(crate) fn describe(kind: &Kind) -> &'static str {
    match kind {
        Kind::Null => "null",
        Kind::Scalar(_) => "a single value",
        Kind::Seq(_) => "a list",
        Kind::Map(_) => "a mapping",
    }
}

/// Joins a key path: `web` + `port` → `web.port`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A mapping being read.
pub(crate) struct Section<'a> {
    /// Key path of this mapping (`""` for the top level).
    pub path: String,
    /// Line of this mapping's key (for "required key missing").
    pub line: Option<usize>,
    entries: &'a [Entry],
    used: Vec<bool>,
}

impl<'a> Section<'a> {
    /// Starts reading a mapping; duplicate keys are warned about (PyYAML keeps the last one).
    pub fn new(path: &str, line: Option<usize>, entries: &'a [Entry], ctx: &mut Ctx) -> Self {
        for (i, e) in entries.iter().enumerate() {
            if entries[..i].iter().any(|p| p.key == e.key) {
                ctx.warn(
                    Some(e.line),
                    &join(path, &e.key),
                    "duplicate key; the last value is used",
                );
            }
        }
        Self {
            path: path.to_string(),
            line,
            entries,
            used: vec![false; entries.len()],
        }
    }

    /// The full key path of a key of this section.
    pub fn key(&self, name: &str) -> String {
        join(&self.path, name)
    }

    fn entry(&mut self, name: &str) -> Option<&'a Entry> {
        let mut found = None;
        for (i, e) in self.entries.iter().enumerate() {
            if e.key == name {
                self.used[i] = true;
                found = Some(e);
            }
        }
        found
    }

    /// The value of a key; `None` when absent or null.
    pub fn value(&mut self, name: &str) -> Option<Value<'a>> {
        self.entry(name)
            .filter(|e| e.value.kind != Kind::Null)
            .map(|e| Value {
                node: &e.value,
                line: e.value.line,
            })
    }

    /// A nested mapping; `None` when absent or null, error when something else.
    pub fn section(&mut self, ctx: &mut Ctx, name: &str) -> Option<Section<'a>> {
        let entry = self.entry(name)?;
        let key = self.key(name);
        match &entry.value.kind {
            Kind::Null => None,
            Kind::Map(entries) => Some(Section::new(&key, Some(entry.line), entries, ctx)),
            other => {
                let msg = format!("expected a mapping, found {}", describe(other));
                ctx.error(Some(entry.value.line), &key, msg);
                None
            }
        }
    }

    /// All entries, marked as used (for mappings whose keys are names: users, sources).
    pub fn all_entries(&mut self) -> &'a [Entry] {
        self.used.iter_mut().for_each(|u| *u = true);
        self.entries
    }

    /// Reports every key that was not read as an unknown-key warning.
    pub fn finish(self, ctx: &mut Ctx) {
        for (e, used) in self.entries.iter().zip(&self.used) {
            if !used {
                ctx.warn(
                    Some(e.line),
                    &join(&self.path, &e.key),
                    "unknown key (ignored)",
                );
            }
        }
    }

    /// A string value as written (any scalar); error for lists and mappings.
    pub fn opt_str(&mut self, ctx: &mut Ctx, name: &str) -> Option<String> {
        let v = self.value(name)?;
        scalar_text(ctx, v.node, &self.key(name))
    }

    /// A string with a default.
    pub fn str_or(&mut self, ctx: &mut Ctx, name: &str, default: &str) -> String {
        self.opt_str(ctx, name)
            .unwrap_or_else(|| default.to_string())
    }

    /// A required, non-empty string of a present section.
    pub fn required_str(&mut self, ctx: &mut Ctx, name: &str) -> Option<String> {
        let key = self.key(name);
        if self.value(name).is_none() {
            ctx.error(self.line, &key, "required key is missing");
            return None;
        }
        let line = self.value(name).map(|v| v.line);
        let text = self.opt_str(ctx, name)?;
        if text.trim().is_empty() {
            ctx.error(line, &key, "must not be empty");
            return None;
        }
        Some(text)
    }

    /// A boolean (YAML 1.1 spellings accepted: true/false, yes/no, on/off).
    pub fn bool_or(&mut self, ctx: &mut Ctx, name: &str, default: bool) -> bool {
        let key = self.key(name);
        let Some(v) = self.value(name) else {
            return default;
        };
        let Some(text) = scalar_text(ctx, v.node, &key) else {
            return default;
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => true,
            "false" | "no" | "off" => false,
            _ => {
                ctx.error(
                    Some(v.line),
                    &key,
                    format!("expected true or false, found '{text}'"),
                );
                default
            }
        }
    }

    /// An integer within `min..=max`.
    pub fn int_in(&mut self, ctx: &mut Ctx, name: &str, default: i64, min: i64, max: i64) -> i64 {
        let key = self.key(name);
        let Some(v) = self.value(name) else {
            return default;
        };
        let Some(text) = scalar_text(ctx, v.node, &key) else {
            return default;
        };
        match text.trim().replace('_', "").parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            Ok(n) if max == i64::MAX => {
                ctx.error(
                    Some(v.line),
                    &key,
                    format!("must be {min} or greater, found {n}"),
                );
                default
            }
            Ok(n) => {
                ctx.error(
                    Some(v.line),
                    &key,
                    format!("must be between {min} and {max}, found {n}"),
                );
                default
            }
            Err(_) => {
                ctx.error(
                    Some(v.line),
                    &key,
                    format!("expected an integer, found '{text}'"),
                );
                default
            }
        }
    }

    /// A value from a fixed set, parsed by `parse`; `allowed` lists the spellings for the message.
    pub fn choice<T>(
        &mut self,
        ctx: &mut Ctx,
        name: &str,
        default: T,
        parse: impl Fn(&str) -> Option<T>,
        allowed: &[&str],
    ) -> T {
        let key = self.key(name);
        let Some(v) = self.value(name) else {
            return default;
        };
        let Some(text) = scalar_text(ctx, v.node, &key) else {
            return default;
        };
        parse(text.trim()).unwrap_or_else(|| {
            let msg = format!("expected one of {}, found '{text}'", allowed.join(", "));
            ctx.error(Some(v.line), &key, msg);
            default
        })
    }

    /// A list of strings with each item's key path (`key[i]`) and line; `None` when absent.
    pub fn str_list(&mut self, ctx: &mut Ctx, name: &str) -> Option<Vec<Item>> {
        let key = self.key(name);
        let v = self.value(name)?;
        let Kind::Seq(items) = &v.node.kind else {
            ctx.error(
                Some(v.line),
                &key,
                format!("expected a list, found {}", describe(&v.node.kind)),
            );
            return None;
        };
        let mut out = Vec::new();
        for (i, node) in items.iter().enumerate() {
            let item_key = format!("{key}[{i}]");
            if node.kind == Kind::Null {
                ctx.error(Some(node.line), &item_key, "empty list item");
            } else if let Some(text) = scalar_text(ctx, node, &item_key) {
                out.push(Item {
                    text,
                    key: item_key,
                    line: Some(node.line),
                });
            }
        }
        Some(out)
    }

    /// A `keys` value: a string (empty = no keys) or a list of strings.
    pub fn keys_or(&mut self, ctx: &mut Ctx, name: &str, default: &[String]) -> Vec<String> {
        let Some(v) = self.value(name) else {
            return default.to_vec();
        };
        match &v.node.kind {
            Kind::Scalar(s) if s.trim().is_empty() => vec![],
            Kind::Scalar(s) => vec![s.trim().to_string()],
            _ => self
                .str_list(ctx, name)
                .unwrap_or_default()
                .into_iter()
                .map(|i| i.text.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }

    /// A path with a default; resolved against `cwd` (SPEC §4.1) and made absolute.
    pub fn path_or(&mut self, ctx: &mut Ctx, name: &str, default: &str, cwd: &Path) -> PathBuf {
        let line = self.value(name).map(|v| v.line);
        match self.opt_str(ctx, name) {
            Some(p) if p.trim().is_empty() => {
                ctx.error(line, &self.key(name), "must not be empty");
                resolve(cwd, default)
            }
            Some(p) => resolve(cwd, p.trim()),
            None => resolve(cwd, default),
        }
    }

    /// An optional path: absent, null or empty → `None`.
    pub fn opt_path(&mut self, ctx: &mut Ctx, name: &str, cwd: &Path) -> Option<PathBuf> {
        self.opt_str(ctx, name)
            .filter(|p| !p.trim().is_empty())
            .map(|p| resolve(cwd, p.trim()))
    }

    /// The line of a key's value, when written.
    pub fn line_of(&mut self, name: &str) -> Option<usize> {
        let was = self.used.clone();
        let line = self.value(name).map(|v| v.line);
        self.used = was;
        line
    }
}

/// One string item of a list.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The text.
    pub text: String,
    /// Its key path (`review.flag_patterns[2]`).
    pub key: String,
    /// Its line.
    pub line: Option<usize>,
}

/// The text of a scalar; error (and `None`) for lists and mappings.
pub(crate) fn scalar_text(ctx: &mut Ctx, node: &Node, key: &str) -> Option<String> {
    match &node.kind {
        Kind::Scalar(s) => Some(s.clone()),
        Kind::Null => None,
        other => {
            let msg = format!("expected a single value, found {}", describe(other));
            ctx.error(Some(node.line), key, msg);
            None
        }
    }
}

/// Resolves a config path against the working directory, dropping `.` components.
pub(crate) fn resolve(cwd: &Path, path: &str) -> PathBuf {
    let joined = cwd.join(path);
    joined
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect()
}
