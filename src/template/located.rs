//! A template's text with its located tree: what the editor reads and points into.

use super::format::Format;
use super::tree::{LineIndex, Location, Node};

/// The text, the syntax it was read in, its located tree, and its line index.
pub(super) struct Located<'t> {
    /// The template's text, as given.
    pub(super) text: &'t str,
    /// How it was read.
    pub(super) format: Format,
    /// The located tree of its document.
    pub(super) root: Node,
    lines: LineIndex,
}

impl<'t> Located<'t> {
    /// Bundles a text with the tree read from it.
    pub(super) fn new(text: &'t str, format: Format, root: Node, lines: LineIndex) -> Self {
        Self {
            text,
            format,
            root,
            lines,
        }
    }

    /// The line and column of a byte offset into the text.
    pub(super) fn location(&self, offset: usize) -> Location {
        self.lines.location(self.text, offset)
    }
}
