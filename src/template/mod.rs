//! Format-preserving regeneration of CloudFormation templates.
//!
//! [`Template::parse`] reads a YAML or JSON template into a located tree; [`Template::edit`]
//! turns an [`EditRequest`] (new AMIs, a version) into byte splices, applies them, and proves
//! with an independent parser that nothing but the intended paths changed. Everything outside
//! the spliced ranges (comments, quoting, blank lines, line endings, a missing final newline,
//! a byte-order mark, short-form tags) is kept byte for byte by construction.
//!
//! Who does what:
//! - **reading** — `tree` (the located [`tree::Node`]), `json` (strict JSON, with
//!   jsonc-parser) and `yaml` (everything else, with libyaml: see its docs for why), into
//!   `located` (the text with its tree, [`Format`] saying how it was read). Text that
//!   looks like JSON but is not strict JSON (a trailing comma, a raw line break in a string) is
//!   read as YAML, as CloudFormation reads it, and edited as YAML in its own JSON-looking style.
//!   Both readers refuse collections nested deeper than [`MAX_DEPTH`], and every syntax error
//!   carries a line and column. `summary` answers what a template holds (its mappings, the
//!   parameters a release could write, a stack's parameters and outputs);
//! - **deciding** — `edit` runs an [`EditRequest`] (decide, apply, prove) with the state in
//!   `editor`; `mapping` decides which mapping, keys and regions change, `parameter` the
//!   ImageId and version parameters; `change` lists what changed ([`Edited`]). A key written
//!   twice anywhere on an edited path is refused ([`ErrorKind::DuplicateKey`], in `editor`),
//!   because loaders and CloudFormation use the last one. Region rows of a partition that the
//!   AMIs do not cover are kept and reported ([`Edited::other_partitions`]);
//! - **laying out** — `splice`: new entries copy their neighbours' separators and quoting;
//! - **proving** — `proof`: serde_yaml or serde_json parse the original and the edited text
//!   (only once the located parse has bounded the nesting depth, on two threads for large
//!   templates) and the edited document must equal the original with the intended changes.
//!
//! `error` holds [`TemplateError`] (every error names the place and says what to do) and its
//! conversion into a [`crate::diagnostic::Diagnostic`] ([`template_error`]).
//!
//! This module is pure: no file system, no network.

mod change;
mod edit;
mod editor;
mod error;
mod format;
mod json;
mod located;
mod mapping;
mod parameter;
pub mod proof;
mod request;
pub mod splice;
mod summary;
pub mod tree;
mod yaml;

pub use crate::diagnostic::did_you_mean;
pub use change::{Change, Edited};
pub use error::{template_error, ErrorKind, TemplateError};
pub use format::Format;
pub use request::EditRequest;
pub use summary::{DeclaredParameter, MappingSummary, ParameterSummary, StackInterface};
pub use yaml::MAX_DEPTH;

use located::Located;
use tree::{LineIndex, Node};

/// A parsed template, ready to edit.
pub struct Template<'t> {
    located: Located<'t>,
}

impl<'t> Template<'t> {
    /// Reads raw bytes: they must be UTF-8.
    pub fn parse_bytes(bytes: &'t [u8]) -> Result<Self, TemplateError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let valid = &bytes[..e.valid_up_to()];
            let text = std::str::from_utf8(valid).expect("prefix is valid");
            let at = LineIndex::new(text).location(text, text.len());
            TemplateError::new(
                ErrorKind::NotUtf8,
                Some(at),
                format!("the file is not UTF-8 (invalid byte 0x{:02x})", bytes[e.valid_up_to()]),
                "CloudFormation templates must be UTF-8: re-save the file as UTF-8 (for example with `iconv -f latin1 -t utf-8`)",
            )
        })?;
        Self::parse(text)
    }

    /// Parses `text` into the located tree. Text that opens with `{` is read as strict JSON;
    /// when it is not strict JSON (a trailing comma, a raw line break in a string), it is read
    /// as YAML, as CloudFormation reads it, and edited as YAML in its own JSON-looking style.
    /// Everything else is YAML. A UTF-8 byte-order mark is accepted and kept.
    ///
    /// Only the located parse runs here; the proof's own parse of the text runs when an edit
    /// is proved, after this parse has bounded the nesting depth (see [`MAX_DEPTH`]).
    pub fn parse(text: &'t str) -> Result<Self, TemplateError> {
        let lines = LineIndex::new(text);
        let (format, root) = locate(text, &lines)?;
        if root.entries().is_none() {
            return Err(TemplateError::new(
                ErrorKind::NotATemplate,
                Some(lines.location(text, root.span.start)),
                "the top level is not a mapping, so this is not a CloudFormation template",
                "pass a CloudFormation template (a YAML or JSON object with Resources)",
            ));
        }
        Ok(Self {
            located: Located::new(text, format, root, lines),
        })
    }

    /// How the template was read: strict JSON, or YAML (which includes JSON-looking text that
    /// only a YAML parser reads).
    pub fn format(&self) -> Format {
        self.located.format
    }

    /// Every mapping under `Mappings`, with its regions, keys and number of AMI values.
    pub fn mappings(&self) -> Vec<MappingSummary> {
        summary::mappings(&self.located.root)
    }

    /// The parameters a release could write: ImageId parameters with an AMI default, and the
    /// version parameter candidates.
    pub fn parameters(&self) -> ParameterSummary {
        summary::release_parameters(&self.located.root)
    }

    /// The parameters a stack takes and the outputs it gives.
    pub fn stack_interface(&self) -> StackInterface {
        summary::stack_interface(&self.located.root)
    }

    /// Applies `request`, proves the result, and returns the new text with a list of changes.
    /// The original text is never modified; on error nothing is produced.
    pub fn edit(&self, request: &EditRequest) -> Result<Edited, TemplateError> {
        edit::run(&self.located, request)
    }
}

/// Reads `text` into the located tree and its format: strict JSON, else YAML (see
/// [`Template::parse`]). Every syntax error carries the line and column of both readers that
/// tried.
fn locate(text: &str, lines: &LineIndex) -> Result<(Format, Node), TemplateError> {
    let at = |offset: usize| lines.location(text, offset);
    if Format::detect(text) == Format::Json {
        let json_error = match json::parse(text) {
            Ok(root) => return Ok((Format::Json, root)),
            Err(e) => e,
        };
        return match yaml::parse(text) {
            Ok(root) => Ok((Format::Yaml, root)),
            Err(yaml_error) => {
                let yaml_at = at(yaml_error.offset);
                Err(TemplateError::new(
                    ErrorKind::Syntax,
                    Some(at(json_error.offset)),
                    format!(
                        "JSON syntax error: {}; read as YAML (as CloudFormation reads JSON templates), it fails too, at line {}, column {}: {}",
                        json_error.message, yaml_at.line, yaml_at.column, yaml_error.message
                    ),
                    "fix the JSON at this place; the template was not changed",
                ))
            }
        };
    }
    yaml::parse(text)
        .map(|root| (Format::Yaml, root))
        .map_err(|e| {
            TemplateError::new(
                ErrorKind::Syntax,
                Some(at(e.offset)),
                format!("YAML syntax error: {}", e.message),
                "fix the YAML at this place; the template was not changed",
            )
        })
}

/// The located tree of a YAML text (a config file), read as templates are read: with
/// libyaml's leniency and the nesting-depth limit. Parse this before handing the text to
/// serde_yaml, whose own parse has no depth limit until it builds values. The error names the
/// line and column.
pub fn located_yaml(text: &str) -> Result<Node, TemplateError> {
    let lines = LineIndex::new(text);
    yaml::parse(text).map_err(|e| {
        TemplateError::new(
            ErrorKind::Syntax,
            Some(lines.location(text, e.offset)),
            format!("YAML syntax error: {}", e.message),
            "fix the YAML at this place",
        )
    })
}

#[cfg(test)]
mod tests;
