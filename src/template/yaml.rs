//! Reads YAML text into the located [`Node`] tree with saphyr-parser's spanned events.

use saphyr_parser::{Event, Parser, ScalarStyle as SaphyrStyle, Span};

use super::tree::{Entry, Node, NodeKind, ScalarStyle};

/// A YAML syntax error at a byte offset.
#[derive(Debug)]
pub struct YamlSyntaxError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// The parser's description.
    pub message: String,
}

/// Parses the first document of `text` into a located tree.
pub fn parse(text: &str) -> Result<Node, YamlSyntaxError> {
    let offsets = CharOffsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder {
        text,
        offsets: &offsets,
        stack: Vec::new(),
        root: None,
    };
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| YamlSyntaxError {
            offset: offsets.byte(e.marker().index()),
            message: e.info().to_owned(),
        })?;
        if builder.push(event, span)? {
            break;
        }
    }
    builder.root.ok_or_else(|| YamlSyntaxError {
        offset: 0,
        message: "the file holds no YAML document".into(),
    })
}

/// Converts saphyr's character indices to byte offsets.
struct CharOffsets {
    /// Byte offset of every character; empty when the text is ASCII and the two agree.
    bytes: Vec<usize>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let bytes = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        Self {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.bytes.is_empty() {
            char_index.min(self.len)
        } else {
            self.bytes.get(char_index).copied().unwrap_or(self.len)
        }
    }
}

enum Open {
    Map {
        start: usize,
        flow: bool,
        tag: Option<String>,
        anchored: bool,
        entries: Vec<Entry>,
        pending_key: Option<Node>,
    },
    Seq {
        start: usize,
        flow: bool,
        tag: Option<String>,
        anchored: bool,
        items: Vec<Node>,
    },
}

struct Builder<'a> {
    text: &'a str,
    offsets: &'a CharOffsets,
    stack: Vec<Open>,
    root: Option<Node>,
}

impl Builder<'_> {
    /// Handles one event; returns true once the first document is complete.
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<bool, YamlSyntaxError> {
        let start = self.offsets.byte(span.start.index());
        let end = self.offsets.byte(span.end.index());
        match event {
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    SaphyrStyle::Plain => ScalarStyle::Plain,
                    SaphyrStyle::SingleQuoted => ScalarStyle::SingleQuoted,
                    SaphyrStyle::DoubleQuoted => ScalarStyle::DoubleQuoted,
                    SaphyrStyle::Literal | SaphyrStyle::Folded => ScalarStyle::Block,
                };
                let span = self.scalar_token(start, end, style, tag.is_some() || anchor > 0);
                let node = Node {
                    span,
                    kind: NodeKind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    anchored: anchor > 0,
                };
                self.attach(node);
            }
            Event::Alias(_) => {
                self.attach(Node {
                    span: start..end,
                    kind: NodeKind::Alias,
                    tag: None,
                    anchored: false,
                });
            }
            Event::MappingStart(anchor, tag) => {
                let flow = self.text[start..end].contains('{');
                let start = if flow {
                    start + self.text[start..end].find('{').unwrap_or(0)
                } else {
                    start
                };
                self.stack.push(Open::Map {
                    start,
                    flow,
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    anchored: anchor > 0,
                    entries: Vec::new(),
                    pending_key: None,
                });
            }
            Event::SequenceStart(anchor, tag) => {
                let flow = self.text[start..end].contains('[');
                let start = if flow {
                    start + self.text[start..end].find('[').unwrap_or(0)
                } else {
                    start
                };
                self.stack.push(Open::Seq {
                    start,
                    flow,
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    anchored: anchor > 0,
                    items: Vec::new(),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let open = self.stack.pop().ok_or_else(|| YamlSyntaxError {
                    offset: start,
                    message: "unbalanced collection end".into(),
                })?;
                let node = match open {
                    Open::Map {
                        start: s,
                        flow,
                        tag,
                        anchored,
                        entries,
                        ..
                    } => {
                        let last_end = entries.last().map_or(s, |e| e.value.span.end);
                        let span_end = if flow { end } else { last_end };
                        Node {
                            span: s..span_end,
                            kind: NodeKind::Map { entries, flow },
                            tag,
                            anchored,
                        }
                    }
                    Open::Seq {
                        start: s,
                        flow,
                        tag,
                        anchored,
                        items,
                    } => {
                        let last_end = items.last().map_or(s, |i| i.span.end);
                        let span_end = if flow { end } else { last_end };
                        Node {
                            span: s..span_end,
                            kind: NodeKind::Seq { items, flow },
                            tag,
                            anchored,
                        }
                    }
                };
                self.attach(node);
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            Event::StreamEnd => return Ok(true),
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
        }
        Ok(false)
    }

    fn attach(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push(Entry { key, value: node }),
            },
        }
    }

    /// The byte range of a scalar's own token. saphyr's span includes a leading tag or anchor,
    /// and for quoted scalars it can run on past the closing quote, so quoted tokens are
    /// re-scanned from the opening quote.
    fn scalar_token(
        &self,
        start: usize,
        end: usize,
        style: ScalarStyle,
        has_prefix: bool,
    ) -> std::ops::Range<usize> {
        let text = self.text;
        let quote = match style {
            ScalarStyle::SingleQuoted => Some('\''),
            ScalarStyle::DoubleQuoted => Some('"'),
            _ => None,
        };
        let Some(quote) = quote else {
            if !has_prefix {
                return start..end.max(start);
            }
            // Skip `!Tag` / `&anchor` prefixes and the blanks after them.
            let mut pos = start;
            let bytes = text.as_bytes();
            while pos < end && (bytes[pos] == b'!' || bytes[pos] == b'&') {
                while pos < end && !bytes[pos].is_ascii_whitespace() {
                    pos += 1;
                }
                while pos < end && bytes[pos].is_ascii_whitespace() {
                    pos += 1;
                }
            }
            return pos..end.max(pos);
        };
        let open = start + text[start..].find(quote).unwrap_or(0);
        let bytes = text.as_bytes();
        let mut pos = open + 1;
        while pos < bytes.len() {
            match bytes[pos] {
                b'\\' if quote == '"' => pos += 2,
                b'\'' if quote == '\'' && bytes.get(pos + 1) == Some(&b'\'') => pos += 2,
                c if c == quote as u8 => return open..pos + 1,
                _ => pos += 1,
            }
        }
        open..end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token<'t>(text: &'t str, node: &Node) -> &'t str {
        &text[node.span.clone()]
    }

    #[test]
    fn scalar_spans_are_exact_tokens() {
        let text = "P:\n  D: 'x''y'   # c\n  E: \"a\\\"b\" # d\n  F: !Ref  AWS::Region\n  G: plain value # e\n";
        let root = parse(text).unwrap();
        let p = root.get("P").unwrap();
        assert_eq!(token(text, p.get("D").unwrap()), "'x''y'");
        assert_eq!(p.get("D").unwrap().as_scalar(), Some("x'y"));
        assert_eq!(token(text, p.get("E").unwrap()), "\"a\\\"b\"");
        assert_eq!(token(text, p.get("F").unwrap()), "AWS::Region");
        assert_eq!(p.get("F").unwrap().tag.as_deref(), Some("!Ref"));
        assert_eq!(token(text, p.get("G").unwrap()), "plain value");
    }

    #[test]
    fn containers_know_flow_and_spans() {
        let text = "M:\n  r1:\n    K: v1\n  r2: { K: v2, L: 'w' }\n";
        let root = parse(text).unwrap();
        let m = root.get("M").unwrap();
        assert!(matches!(m.kind, NodeKind::Map { flow: false, .. }));
        let r2 = m.get("r2").unwrap();
        assert!(matches!(r2.kind, NodeKind::Map { flow: true, .. }));
        assert_eq!(token(text, r2), "{ K: v2, L: 'w' }");
        assert_eq!(token(text, m), "r1:\n    K: v1\n  r2: { K: v2, L: 'w' }");
    }

    #[test]
    fn non_ascii_text_maps_to_bytes() {
        let text = "D: \"héllo wörld\"\nA: ami-0123456789abcdef0\n";
        let root = parse(text).unwrap();
        assert_eq!(token(text, root.get("A").unwrap()), "ami-0123456789abcdef0");
    }

    #[test]
    fn anchors_and_aliases_are_seen() {
        let text = "a: &x {k: v}\nb: *x\n";
        let root = parse(text).unwrap();
        assert!(root.get("a").unwrap().anchored);
        assert!(matches!(root.get("b").unwrap().kind, NodeKind::Alias));
    }

    #[test]
    fn syntax_errors_carry_an_offset() {
        let err = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(err.offset > 0, "{err:?}");
    }
}
