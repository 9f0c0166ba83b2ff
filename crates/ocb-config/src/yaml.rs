//! A YAML document as a tree of nodes that remember their line, built from yaml-rust2's marked
//! event parser, so that every diagnostic can point at `FILE:LINE`.
//!
//! Scalars keep their text; the YAML type of a plain scalar is decided later by the key's schema
//! type (PyYAML compatibility: upstream configs were read with YAML 1.1 rules). Only null is
//! decided here, because a null value means "use the default" for every key. Aliases are
//! resolved by copying the anchored node, and `<<` merge keys are applied like PyYAML does.
//!
//! Any file a user hands us must be refused quickly and with bounded memory (issue 15): a
//! nine-line "billion laughs" alias bomb expands to 9^9 values, so the document is limited to
//! [`MAX_VALUES`] values and [`MAX_TEXT_BYTES`] of scalar text after alias expansion, and to
//! [`MAX_DEPTH`] levels of nesting (the tree is walked recursively later). Events are pulled one
//! at a time instead of through yaml-rust2's recursive `Parser::load`, which overflows the stack
//! on deeply nested input.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Most values a config document may hold, counting every alias expansion (a full config has a
/// few hundred; a list of ten thousand users would still fit).
pub(crate) const MAX_VALUES: usize = 100_000;

/// Most scalar text a config document may hold after alias expansion.
pub(crate) const MAX_TEXT_BYTES: usize = 16 << 20;

/// Deepest nesting of lists and mappings (a config needs five levels).
pub(crate) const MAX_DEPTH: usize = 64;

/// One node of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// 1-based line where the node starts.
    pub line: usize,
    /// The node's value.
    pub kind: Kind,
}

/// Node kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// `~`, `null`, or nothing at all.
    Null,
    /// Any other scalar, as written (after environment expansion, later).
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in document order (duplicates kept; readers use the last one).
    Map(Vec<Entry>),
}

/// One mapping entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The key text.
    pub key: String,
    /// 1-based line of the key.
    pub line: usize,
    /// The value.
    pub value: Node,
}

/// A structural problem found while building the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses the first document of `text`. `Ok(None)` for an empty document (all defaults).
pub(crate) fn parse(text: &str) -> Result<Option<Node>, Vec<YamlError>> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(e) => return Err(vec![syntax_error(&e)]),
        };
        let done = matches!(event, Event::DocumentEnd | Event::StreamEnd);
        builder.on_event(event, mark);
        if done || builder.refused {
            break;
        }
    }
    if !builder.errors.is_empty() {
        return Err(builder.errors);
    }
    Ok(builder
        .root
        .filter(|n| n.kind != Kind::Null)
        .map(apply_merges))
}

fn syntax_error(e: &yaml_rust2::ScanError) -> YamlError {
    let m = e.marker();
    YamlError {
        line: m.line(),
        message: format!(
            "YAML syntax error: {} (line {}, column {})",
            e.info(),
            m.line(),
            m.col() + 1
        ),
    }
}

/// How many values and how much scalar text a node holds (aliases included).
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    values: usize,
    text: usize,
}

impl Size {
    fn of(node: &Node) -> Size {
        let mut size = Size { values: 1, text: 0 };
        match &node.kind {
            Kind::Null => {}
            Kind::Scalar(s) => size.text = s.len(),
            Kind::Seq(items) => items.iter().for_each(|n| size.add(Size::of(n))),
            Kind::Map(entries) => entries.iter().for_each(|e| {
                size.text += e.key.len();
                size.add(Size::of(&e.value));
            }),
        }
        size
    }

    fn add(&mut self, other: Size) {
        self.values = self.values.saturating_add(other.values);
        self.text = self.text.saturating_add(other.text);
    }
}

enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<Entry>,
        key: Option<Node>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, Size)>,
    root: Option<Node>,
    errors: Vec<YamlError>,
    /// Values and text built so far, aliases expanded.
    total: Size,
    /// A limit was hit: the document is refused and further events are ignored.
    refused: bool,
}

impl Builder {
    /// Counts `size` more of the document; refuses it (error at `line`) past the limits.
    fn grow(&mut self, size: Size, line: usize) -> bool {
        self.total.add(size);
        if self.total.values > MAX_VALUES || self.total.text > MAX_TEXT_BYTES {
            self.refuse(
                line,
                format!(
                    "the document expands to more than {MAX_VALUES} values or {} MiB of text \
                     (counting every alias): refused; a YAML alias bomb?",
                    MAX_TEXT_BYTES >> 20
                ),
            );
        }
        !self.refused
    }

    fn refuse(&mut self, line: usize, message: String) {
        self.refused = true;
        self.errors.push(YamlError { line, message });
    }

    fn push(&mut self, frame: Frame, line: usize) {
        if self.stack.len() >= MAX_DEPTH {
            let message = format!("lists and mappings are nested more than {MAX_DEPTH} deep");
            self.refuse(line, message);
            return;
        }
        if self.grow(Size { values: 1, text: 0 }, line) {
            self.stack.push(frame);
        }
    }

    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            // Sizes are bounded by the limits already, so measuring here is cheap.
            let size = Size::of(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => match k.kind {
                    Kind::Scalar(text) => entries.push(Entry {
                        key: text,
                        line: k.line,
                        value: node,
                    }),
                    Kind::Null => entries.push(Entry {
                        key: String::new(),
                        line: k.line,
                        value: node,
                    }),
                    _ => self.errors.push(YamlError {
                        line: k.line,
                        message: "mapping keys must be plain strings".into(),
                    }),
                },
            },
        }
    }
}

fn is_null(text: &str, style: TScalarStyle, tagged_str: bool) -> bool {
    style == TScalarStyle::Plain
        && !tagged_str
        && matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.refused {
            return;
        }
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                if !self.grow(
                    Size {
                        values: 1,
                        text: text.len(),
                    },
                    line,
                ) {
                    return;
                }
                let tagged_str = tag.is_some_and(|t| t.suffix == "str");
                let kind = if is_null(&text, style, tagged_str) {
                    Kind::Null
                } else {
                    Kind::Scalar(text)
                };
                self.complete(Node { line, kind }, anchor);
            }
            Event::Alias(id) => {
                let size = self
                    .anchors
                    .get(&id)
                    .map_or(Size { values: 1, text: 0 }, |a| a.1);
                // Counted before it is copied: a bomb is refused at its first oversized copy.
                if !self.grow(size, line) {
                    return;
                }
                let kind = self
                    .anchors
                    .get(&id)
                    .map_or(Kind::Null, |a| a.0.kind.clone());
                self.complete(Node { line, kind }, 0);
            }
            Event::SequenceStart(anchor, _) => self.push(
                Frame::Seq {
                    line,
                    anchor,
                    items: vec![],
                },
                line,
            ),
            Event::MappingStart(anchor, _) => self.push(
                Frame::Map {
                    line,
                    anchor,
                    entries: vec![],
                    key: None,
                },
                line,
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        line,
                        anchor,
                        items,
                    }) => (
                        Node {
                            line,
                            kind: Kind::Seq(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        line,
                        anchor,
                        entries,
                        ..
                    }) => (
                        Node {
                            line,
                            kind: Kind::Map(entries),
                        },
                        anchor,
                    ),
                    None => return,
                };
                self.complete(node, anchor);
            }
            _ => {}
        }
    }
}

/// Applies `<<: *anchor` (or a list of them): merged keys come after the mapping's own keys'
/// precedence, i.e. a key written in the mapping wins.
fn apply_merges(node: Node) -> Node {
    let kind = match node.kind {
        Kind::Seq(items) => Kind::Seq(items.into_iter().map(apply_merges).collect()),
        Kind::Map(entries) => {
            let (merges, own): (Vec<Entry>, Vec<Entry>) =
                entries.into_iter().partition(|e| e.key == "<<");
            let mut out: Vec<Entry> = own
                .into_iter()
                .map(|e| Entry {
                    value: apply_merges(e.value),
                    ..e
                })
                .collect();
            for merge in merges {
                let sources = match merge.value.kind {
                    Kind::Seq(items) => items,
                    other => vec![Node {
                        line: merge.value.line,
                        kind: other,
                    }],
                };
                for source in sources {
                    match apply_merges(source).kind {
                        Kind::Map(extra) => {
                            for e in extra {
                                if !out.iter().any(|o| o.key == e.key) {
                                    out.push(e);
                                }
                            }
                        }
                        _ => out.push(Entry {
                            key: "<<".into(),
                            line: merge.line,
                            value: Node {
                                line: merge.line,
                                kind: Kind::Null,
                            },
                        }),
                    }
                }
            }
            Kind::Map(out)
        }
        other => other,
    };
    Node {
        line: node.line,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(node: &Node) -> &[Entry] {
        match &node.kind {
            Kind::Map(e) => e,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn empty_documents_are_none() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("# only a comment\n"), Ok(None));
        assert_eq!(parse("---\n"), Ok(None));
    }

    #[test]
    fn nodes_carry_lines() {
        let root = parse("a: 1\nb:\n  c: x\n  d:\n    - p\n    - q\n")
            .expect("valid")
            .expect("doc");
        let top = map(&root);
        assert_eq!((top[0].key.as_str(), top[0].line), ("a", 1));
        assert_eq!(top[0].value.kind, Kind::Scalar("1".into()));
        let b = map(&top[1].value);
        assert_eq!((b[1].key.as_str(), b[1].line), ("d", 4));
        let Kind::Seq(items) = &b[1].value.kind else {
            panic!("seq")
        };
        assert_eq!(items.iter().map(|n| n.line).collect::<Vec<_>>(), [5, 6]);
    }

    #[test]
    fn null_only_for_plain_null_spellings() {
        let root = parse("a: ~\nb: ''\nc: 'null'\nd:\ne: !!str null\n")
            .expect("valid")
            .expect("doc");
        let kinds: Vec<&Kind> = map(&root).iter().map(|e| &e.value.kind).collect();
        assert_eq!(kinds[0], &Kind::Null);
        assert_eq!(kinds[1], &Kind::Scalar(String::new()));
        assert_eq!(kinds[2], &Kind::Scalar("null".into()));
        assert_eq!(kinds[3], &Kind::Null);
        assert_eq!(kinds[4], &Kind::Scalar("null".into()));
    }

    #[test]
    fn aliases_and_merge_keys() {
        let text = "base: &b\n  x: 1\n  y: 2\nc:\n  <<: *b\n  y: 3\nd: *b\n";
        let root = parse(text).expect("valid").expect("doc");
        let c = map(&map(&root)[1].value);
        let pairs: Vec<(&str, &Kind)> = c.iter().map(|e| (e.key.as_str(), &e.value.kind)).collect();
        assert_eq!(
            pairs,
            [
                ("y", &Kind::Scalar("3".into())),
                ("x", &Kind::Scalar("1".into()))
            ]
        );
        assert_eq!(map(&map(&root)[2].value).len(), 2);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let err = parse("a: 1\nb: [1, 2\n").expect_err("invalid");
        assert_eq!(err.len(), 1);
        assert!(
            err[0].message.starts_with("YAML syntax error: "),
            "{}",
            err[0].message
        );
        assert!(err[0].message.contains("column"), "{}", err[0].message);
    }

    /// Issue 15, item 8a: this nine-line file made `config check` grow to 23.5 GB until the
    /// kernel killed it. Expansion is now counted and the document refused at the limit.
    #[test]
    fn issue_15_billion_laughs_is_refused_quickly() {
        let bomb =
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n\
                    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n\
                    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n\
                    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n\
                    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n\
                    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n\
                    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n\
                    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n\
                    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
        let started = std::time::Instant::now();
        let err = parse(bomb).expect_err("refused");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].line, 6, "{err:?}");
        assert!(err[0].message.contains("alias bomb"), "{}", err[0].message);
    }

    #[test]
    fn one_big_string_copied_by_aliases_is_refused() {
        let big = "x".repeat(1 << 20);
        let text = format!("a: &a '{big}'\nb: [{}]\n", vec!["*a"; 20].join(","));
        let err = parse(&text).expect_err("refused");
        assert!(err[0].message.contains("MiB of text"), "{}", err[0].message);
    }

    #[test]
    fn modest_alias_use_is_fine() {
        let text = "base: &b {x: 1, y: [1, 2, 3]}\nc: [*b, *b, *b]\nd:\n  <<: *b\n";
        assert!(parse(text).is_ok());
    }

    #[rstest::rstest]
    #[case::flow("[".repeat(200) + &"]".repeat(200))]
    #[case::block("- ".repeat(100_000) + "x\n")]
    #[case::mapping((0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>())]
    fn deep_nesting_is_an_error_not_a_stack_overflow(#[case] text: String) {
        let err = parse(&text).expect_err("refused");
        assert!(
            err[0].message.contains("nested more than") || err[0].message.contains("YAML syntax"),
            "{}",
            err[0].message
        );
    }

    #[test]
    fn complex_keys_are_errors() {
        let err = parse("? [a, b]\n: 1\n").expect_err("invalid");
        assert_eq!(err[0].message, "mapping keys must be plain strings");
    }
}
