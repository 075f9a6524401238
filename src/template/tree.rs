//! A located document tree: every node knows the byte range of its source text.
//!
//! This is what lets the editor change a template by splicing bytes instead of re-serialising
//! it: comments, quoting, blank lines and line endings outside the spliced ranges cannot change.
//! YAML and JSON templates are both read into this one model.

use std::ops::Range;

/// How a scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    /// Unquoted YAML, or a JSON number, boolean or null.
    Plain,
    /// `'…'`, YAML only.
    SingleQuoted,
    /// `"…"`, YAML or JSON.
    DoubleQuoted,
    /// A YAML block scalar (`|` or `>`).
    Block,
}

/// What a node is.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar with its decoded value.
    Scalar {
        /// The decoded value.
        value: String,
        /// How it is written.
        style: ScalarStyle,
    },
    /// A mapping / JSON object.
    Map {
        /// Key/value pairs in source order.
        entries: Vec<Entry>,
        /// `{…}` (YAML flow or any JSON object) rather than YAML block style.
        flow: bool,
    },
    /// A sequence / JSON array.
    Seq {
        /// Items in source order.
        items: Vec<Node>,
        /// `[…]` rather than YAML block style.
        flow: bool,
    },
    /// A YAML alias (`*name`).
    Alias,
}

/// One key/value pair of a mapping.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key node (a scalar in every template we edit).
    pub key: Node,
    /// The value node.
    pub value: Node,
}

/// A node with the byte range of its source text.
#[derive(Debug, Clone)]
pub struct Node {
    /// Byte range of the node's own text: for scalars the token without its tag; for flow
    /// containers the brackets included; for block containers from the first key or item to the
    /// end of the last value.
    pub span: Range<usize>,
    /// What the node is.
    pub kind: NodeKind,
    /// The tag, such as `!Ref`, if any.
    pub tag: Option<String>,
    /// Whether the node carries a YAML anchor (`&name`).
    pub anchored: bool,
}

impl Node {
    /// The scalar value, if this is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Map { entries, .. } => Some(entries),
            _ => None,
        }
    }

    /// The value under the scalar key `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry with the scalar key `key`, if this is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()?
            .iter()
            .find(|e| e.key.as_scalar() == Some(key))
    }

    /// Moves the spans of this node and everything below it `by` bytes later: a reader that
    /// parsed the text after a byte-order mark gives spans in the whole text.
    pub fn shift(&mut self, by: usize) {
        self.span = self.span.start + by..self.span.end + by;
        match &mut self.kind {
            NodeKind::Map { entries, .. } => {
                for entry in entries {
                    entry.key.shift(by);
                    entry.value.shift(by);
                }
            }
            NodeKind::Seq { items, .. } => items.iter_mut().for_each(|i| i.shift(by)),
            NodeKind::Scalar { .. } | NodeKind::Alias => {}
        }
    }

    /// Whether this node or anything below it carries an anchor or is an alias.
    pub fn find_anchor_or_alias(&self) -> Option<&Node> {
        if self.anchored || matches!(self.kind, NodeKind::Alias) {
            return Some(self);
        }
        match &self.kind {
            NodeKind::Map { entries, .. } => entries.iter().find_map(|e| {
                e.key
                    .find_anchor_or_alias()
                    .or_else(|| e.value.find_anchor_or_alias())
            }),
            NodeKind::Seq { items, .. } => items.iter().find_map(Node::find_anchor_or_alias),
            _ => None,
        }
    }
}

/// Converts byte offsets to 1-based line and column numbers for messages.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the line starts of `text`.
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { line_starts }
    }

    /// The 1-based line and column (in characters) of byte offset `offset` in `text`. A
    /// byte-order mark at the start of the text takes no column, as editors show it.
    pub fn location(&self, text: &str, offset: usize) -> Location {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset += 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let mut start = self.line_starts[line - 1];
        if start == 0 && text.starts_with('\u{feff}') {
            start = 3;
            offset = offset.max(3);
        }
        let column = text[start..offset].chars().count() + 1;
        Location { line, column }
    }
}

pub use crate::diagnostic::Location;

/// The byte offset where the line holding `offset` starts.
pub fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The byte offset of the line break (`\r\n` or `\n`) ending the line that holds `offset`, or
/// the end of the text when that line has none.
pub fn line_end(text: &str, offset: usize) -> usize {
    match text[offset..].find('\n') {
        Some(i) if i > 0 && text.as_bytes()[offset + i - 1] == b'\r' => offset + i - 1,
        Some(i) => offset + i,
        None => text.len(),
    }
}

/// The byte offset just past the line break ending the line that holds `offset`, or the end
/// of the text.
pub fn next_line_start(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_and_count_characters() {
        let text = "a: 1\nbé: 2\r\nc";
        let index = LineIndex::new(text);
        assert_eq!(index.location(text, 0), Location { line: 1, column: 1 });
        let c = text.find('c').unwrap();
        assert_eq!(index.location(text, c), Location { line: 3, column: 1 });
        let two = text.find('2').unwrap();
        assert_eq!(index.location(text, two), Location { line: 2, column: 5 });
        let bom = "\u{feff}a: [";
        let index = LineIndex::new(bom);
        assert_eq!(index.location(bom, 3), Location { line: 1, column: 1 });
        assert_eq!(index.location(bom, 7), Location { line: 1, column: 5 });
        // An offset inside a character (or past the end) is rounded up, never a panic.
        assert_eq!(index.location(bom, 1), Location { line: 1, column: 1 });
        assert_eq!(index.location(bom, 99), Location { line: 1, column: 5 });
    }

    #[test]
    fn line_bounds_handle_crlf_and_missing_final_newline() {
        let text = "a\r\nbb\r\ncc";
        assert_eq!(line_end(text, 0), 1);
        assert_eq!(line_end(text, 4), 5);
        assert_eq!(line_end(text, 8), 9);
        assert_eq!(line_start(text, 4), 3);
        assert_eq!(next_line_start(text, 4), 7);
        assert_eq!(next_line_start(text, 8), 9);
    }
}
