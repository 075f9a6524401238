//! Byte-range splices, and the layout rules that make inserted text look like its neighbours.
//!
//! Every change the editor makes is a [`Splice`]: replace one byte range of the original text.
//! New entries copy the separators that the container already uses between its items (the
//! comma, line break and indentation of a JSON object; the line prefix of a YAML block), so
//! they come out in the file's own style.

use std::ops::Range;

use super::format::Format;
use super::tree::{line_end, line_start, next_line_start, Node, NodeKind, ScalarStyle};

/// Replace `range` of the original text by `text`. An empty range is an insertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Byte range of the original text to replace.
    pub range: Range<usize>,
    /// Replacement text.
    pub text: String,
}

/// Applies non-overlapping splices. At one offset, insertions go before a deletion that starts
/// there. Overlaps are a bug in the caller and are reported, never guessed at.
pub fn apply(original: &str, mut splices: Vec<Splice>) -> Result<String, String> {
    splices.sort_by_key(|s| (s.range.start, !s.range.is_empty()));
    let mut out =
        String::with_capacity(original.len() + splices.iter().map(|s| s.text.len()).sum::<usize>());
    let mut cursor = 0;
    for splice in &splices {
        if splice.range.start < cursor {
            return Err(format!("overlapping edits at byte {}", splice.range.start));
        }
        out.push_str(&original[cursor..splice.range.start]);
        out.push_str(&splice.text);
        cursor = splice.range.end;
    }
    out.push_str(&original[cursor..]);
    Ok(out)
}

/// The source text with what is needed to lay out new text like the old.
pub struct Layout<'t> {
    /// The original text.
    pub text: &'t str,
    /// YAML or JSON.
    pub format: Format,
    /// The file's line break: `\r\n` or `\n`.
    pub newline: &'static str,
}

/// One item of a container, as byte offsets: where it starts (the key, for a mapping entry)
/// and where its value ends.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    /// Start of the key (mapping) or value (sequence).
    pub start: usize,
    /// End of the value.
    pub end: usize,
}

impl<'t> Layout<'t> {
    /// Reads the line-break style of `text` from its first line.
    pub fn new(text: &'t str, format: Format) -> Self {
        let newline = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        Self {
            text,
            format,
            newline,
        }
    }

    /// The items of a mapping or sequence node.
    pub fn items(node: &Node) -> Vec<Item> {
        match &node.kind {
            NodeKind::Map { entries, .. } => entries
                .iter()
                .map(|e| Item {
                    start: e.key.span.start,
                    end: e.value.span.end,
                })
                .collect(),
            NodeKind::Seq { items, .. } => items
                .iter()
                .map(|i| Item {
                    start: i.span.start,
                    end: i.span.end,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn is_flow(node: &Node) -> bool {
        matches!(
            node.kind,
            NodeKind::Map { flow: true, .. } | NodeKind::Seq { flow: true, .. }
        )
    }

    /// The text that goes between one item of `container` and the next: copied from the
    /// container itself, so that a new item is laid out like the existing ones.
    pub fn separator(&self, container: &Node) -> String {
        let items = Self::items(container);
        let Some(first) = items.first() else {
            return if Self::is_flow(container) {
                ", ".into()
            } else {
                self.newline.into()
            };
        };
        if Self::is_flow(container) {
            if let Some(second) = items.get(1) {
                let between = &self.text[first.end..second.start];
                if !between.contains('#') && !between.contains("//") {
                    return between.to_owned();
                }
            }
            let open_pad = &self.text[container.span.start + 1..first.start];
            return match open_pad.rfind('\n') {
                Some(i) => format!(",{}{}", self.newline, &open_pad[i + 1..]),
                None => ", ".into(),
            };
        }
        format!(
            "{}{}",
            self.newline,
            self.block_prefix(container, first.start)
        )
    }

    /// The text before a block item on its line: indentation, and for a sequence the `- `.
    fn block_prefix(&self, container: &Node, item_start: usize) -> String {
        let prefix = &self.text[line_start(self.text, item_start)..item_start];
        let is_seq = matches!(container.kind, NodeKind::Seq { .. });
        if is_seq && prefix.trim_start().starts_with('-') {
            let dash = prefix.find('-').unwrap_or(0);
            return format!("{}{}", blank(&prefix[..dash]), &prefix[dash..]);
        }
        blank(prefix)
    }

    /// Inserts `new_items` (already rendered, without separators) after item `index`.
    pub fn insert_after(&self, container: &Node, index: usize, new_items: &[String]) -> Splice {
        let items = Self::items(container);
        let sep = self.separator(container);
        let at = if Self::is_flow(container) {
            items[index].end
        } else {
            line_end(self.text, items[index].end)
        };
        let text = new_items
            .iter()
            .map(|item| format!("{sep}{item}"))
            .collect();
        Splice {
            range: at..at,
            text,
        }
    }

    /// Inserts `new_items` (rendered, without separators) before item `index`.
    pub fn insert_before(&self, container: &Node, index: usize, new_items: &[String]) -> Splice {
        let items = Self::items(container);
        let sep = self.separator(container);
        let at = items[index].start;
        let text = new_items
            .iter()
            .map(|item| format!("{item}{sep}"))
            .collect();
        Splice {
            range: at..at,
            text,
        }
    }

    /// Removes items `first..=last` of `container`, with their separators. At least one item
    /// of the container must remain; the caller guarantees it.
    pub fn delete_run(&self, container: &Node, first: usize, last: usize) -> Splice {
        let items = Self::items(container);
        let text = self.text;
        if Self::is_flow(container) {
            let range = if last + 1 < items.len() {
                items[first].start..items[last + 1].start
            } else {
                items[first - 1].end..items[last].end
            };
            return Splice {
                range,
                text: String::new(),
            };
        }
        let start = line_start(text, items[first].start);
        let end = next_line_start(text, items[last].end);
        let at_eof_without_newline = end == text.len() && !text.ends_with('\n');
        let range = if at_eof_without_newline && start > 0 {
            let break_len = if text[..start].ends_with("\r\n") {
                2
            } else {
                1
            };
            start - break_len..end
        } else {
            start..end
        };
        Splice {
            range,
            text: String::new(),
        }
    }

    /// The text between a key and its value in `entry_key..value`, reused for new entries;
    /// falls back to `: ` when it holds a comment or a line break.
    pub fn key_value_separator(&self, key: &Node, value: &Node) -> String {
        let between = &self.text[key.span.end..value.span.start];
        if between.contains('#') || between.contains('\n') || !between.contains(':') {
            ": ".into()
        } else {
            between.to_owned()
        }
    }

    /// `value` written as a scalar in `style`, quoted whenever the style would change its
    /// meaning (a plain `5.1` would be a YAML number; a plain `64` a YAML integer).
    pub fn scalar(&self, value: &str, style: ScalarStyle) -> String {
        if self.format == Format::Json {
            return serde_json::to_string(value).expect("a string serialises");
        }
        match style {
            ScalarStyle::DoubleQuoted => serde_json::to_string(value).expect("a string serialises"),
            ScalarStyle::SingleQuoted => format!("'{}'", value.replace('\'', "''")),
            ScalarStyle::Plain | ScalarStyle::Block if is_plain_safe(value) => value.to_owned(),
            ScalarStyle::Plain | ScalarStyle::Block => format!("'{}'", value.replace('\'', "''")),
        }
    }

    /// The line prefix (indentation) of the line holding `offset`, as blanks.
    pub fn indentation_at(&self, offset: usize) -> String {
        blank(&self.text[line_start(self.text, offset)..offset])
    }
}

/// `text` with every character but tabs turned into a space: the indentation of something
/// that stands at the same column.
fn blank(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect()
}

/// Whether `value` can be written as a plain YAML scalar and still read back as this string,
/// in block and in flow context.
pub fn is_plain_safe(value: &str) -> bool {
    let simple = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | '+' | ':'))
        && !value.starts_with(['-', ':'])
        && !value.contains(": ")
        && !value.ends_with(':');
    simple
        && matches!(serde_yaml::from_str::<serde_yaml::Value>(value), Ok(serde_yaml::Value::String(s)) if s == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_apply_in_order_and_refuse_overlaps() {
        let text = "abcdef";
        let out = apply(
            text,
            vec![
                Splice {
                    range: 4..6,
                    text: String::new(),
                },
                Splice {
                    range: 0..1,
                    text: "A".into(),
                },
                Splice {
                    range: 4..4,
                    text: "+".into(),
                },
            ],
        )
        .unwrap();
        assert_eq!(out, "Abcd+");
        assert!(apply(
            text,
            vec![
                Splice {
                    range: 0..3,
                    text: "x".into()
                },
                Splice {
                    range: 2..4,
                    text: "y".into()
                }
            ]
        )
        .is_err());
    }

    #[test]
    fn plain_safety() {
        for ok in [
            "ami-0123456789abcdef0",
            "us-east-1",
            "4.4.3",
            "2025.06.0",
            "BYOL",
            "5.1.0-rc1",
        ] {
            assert!(is_plain_safe(ok), "{ok}");
        }
        for quoted in [
            "5.1",
            "64",
            "true",
            "null",
            "1e5",
            "",
            "a: b",
            "-x",
            "2010-09-09x y",
        ] {
            assert!(!is_plain_safe(quoted), "{quoted}");
        }
    }

    #[test]
    fn scalars_keep_or_add_quoting() {
        let layout = Layout::new("a: b\n", Format::Yaml);
        assert_eq!(
            layout.scalar("4.4.12", ScalarStyle::SingleQuoted),
            "'4.4.12'"
        );
        assert_eq!(
            layout.scalar("4.4.12", ScalarStyle::DoubleQuoted),
            "\"4.4.12\""
        );
        assert_eq!(layout.scalar("4.4.12", ScalarStyle::Plain), "4.4.12");
        assert_eq!(layout.scalar("5.1", ScalarStyle::Plain), "'5.1'");
        let json = Layout::new("{}", Format::Json);
        assert_eq!(
            json.scalar("ami-1853ac65", ScalarStyle::Plain),
            "\"ami-1853ac65\""
        );
    }
}
