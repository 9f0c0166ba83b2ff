//! A YAML document as a tree of nodes that remember their line, built from yaml-rust2's marked
//! event parser, so that every diagnostic can point at `FILE:LINE`.
//!
//! Scalars keep their text; the YAML type of a plain scalar is decided later by the key's schema
//! type (PyYAML compatibility: upstream configs were read with YAML 1.1 rules). Only null is
//! decided here, because a null value means "use the default" for every key. Aliases are
//! resolved by copying the anchored node, and `<<` merge keys are applied like PyYAML does.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

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
    if let Err(e) = parser.load(&mut builder, false) {
        let m = e.marker();
        return Err(vec![YamlError {
            line: m.line(),
            message: format!(
                "YAML syntax error: {} (line {}, column {})",
                e.info(),
                m.line(),
                m.col() + 1
            ),
        }]);
    }
    if !builder.errors.is_empty() {
        return Err(builder.errors);
    }
    Ok(builder
        .root
        .filter(|n| n.kind != Kind::Null)
        .map(apply_merges))
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
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    errors: Vec<YamlError>,
}

impl Builder {
    fn complete(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
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
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tagged_str = tag.is_some_and(|t| t.suffix == "str");
                let kind = if is_null(&text, style, tagged_str) {
                    Kind::Null
                } else {
                    Kind::Scalar(text)
                };
                self.complete(Node { line, kind }, anchor);
            }
            Event::Alias(id) => {
                let node = match self.anchors.get(&id) {
                    Some(n) => Node {
                        line,
                        kind: n.kind.clone(),
                    },
                    None => Node {
                        line,
                        kind: Kind::Null,
                    },
                };
                self.complete(node, 0);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                line,
                anchor,
                items: vec![],
            }),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map {
                    line,
                    anchor,
                    entries: vec![],
                    key: None,
                });
            }
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

    #[test]
    fn complex_keys_are_errors() {
        let err = parse("? [a, b]\n: 1\n").expect_err("invalid");
        assert_eq!(err[0].message, "mapping keys must be plain strings");
    }
}
