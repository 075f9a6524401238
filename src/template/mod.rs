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
//!   jsonc-parser) and `yaml` (everything else, with libyaml: see its docs for why). Text that
//!   looks like JSON but is not strict JSON (a trailing comma, a raw line break in a string) is
//!   read as YAML, as CloudFormation reads it, and edited as YAML in its own JSON-looking style.
//!   Both readers refuse collections nested deeper than [`MAX_DEPTH`], and every syntax error
//!   carries a line and column;
//! - **deciding** — `edit`: which mapping, keys, regions and parameters change. A key written
//!   twice anywhere on an edited path is refused ([`ErrorKind::DuplicateKey`]), because
//!   loaders and CloudFormation use the last one. Region rows of a partition that the AMIs do
//!   not cover are kept and reported ([`Edited::other_partitions`]);
//! - **laying out** — `splice`: new entries copy their neighbours' separators and quoting;
//! - **proving** — `proof`: serde_yaml or serde_json parse the original and the edited text
//!   (only once the located parse has bounded the nesting depth, on two threads for large
//!   templates) and the edited document must equal the original with the intended changes.
//!
//! This module is pure: no file system, no network.

mod edit;
mod json;
pub mod proof;
pub mod splice;
pub mod tree;
mod yaml;

#[cfg(test)]
mod tests;

use std::fmt;

pub use crate::diagnostic::did_you_mean;
use crate::diagnostic::{Diagnostic, Kind};
use crate::domain::ami::{AmiId, AmiSet, Region};
use crate::domain::version::Version;
pub use edit::{Change, Edited};
use tree::{LineIndex, Location, Node};
pub use yaml::MAX_DEPTH;

/// For templates at least this large, the proof parses the original and the edited text at
/// once, on two threads.
const PARALLEL_PARSE_BYTES: usize = 32 * 1024;

/// The two template syntaxes CloudFormation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (including CloudFormation short-form tags, and JSON-looking text that is not
    /// strict JSON).
    Yaml,
    /// Strict JSON.
    Json,
}

impl Format {
    /// Whether the text looks like JSON: JSON when the first non-blank character (after a
    /// byte-order mark) opens an object, YAML otherwise. [`Template::parse`] reads JSON-looking
    /// text that is not strict JSON as YAML; [`Template::format`] says which it was.
    pub fn detect(text: &str) -> Self {
        if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{')
        {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// What went wrong, for callers that react to the kind (tests, exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file is not UTF-8.
    NotUtf8,
    /// YAML or JSON syntax error.
    Syntax,
    /// The top level is not a mapping.
    NotATemplate,
    /// No AMI mapping or ImageId parameter to update.
    NothingToUpdate,
    /// The named mapping does not exist.
    MappingNotFound,
    /// Several mappings hold AMI IDs and none was named.
    MappingAmbiguous,
    /// The second-level key could not be decided or does not exist.
    Key,
    /// A node has an unexpected shape (a region that is not a mapping, a block scalar).
    Shape,
    /// A YAML anchor or alias inside the edited mapping.
    AnchorOrAlias,
    /// A key on an edited path is written twice (loaders keep the last).
    DuplicateKey,
    /// The version parameter is unknown or ambiguous, or has no `Default`.
    VersionParameter,
    /// No parameter looks like the version, and none was named.
    NoVersionParameter,
    /// The ImageId parameter cannot be updated from the AMIs given.
    ImageParameter,
    /// The request cannot be carried out as asked (such as pruning every region).
    Request,
    /// The semantic proof failed: nothing was written.
    ProofFailed,
}

/// A template could not be edited. It names the place in the file when there is one, and
/// always says what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub struct TemplateError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where in the file, when it applies.
    pub location: Option<Location>,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub help: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = self.location {
            write!(f, "line {}, column {}: ", at.line, at.column)?;
        }
        write!(f, "{}", self.message)?;
        if !self.help.is_empty() {
            write!(f, "\n  help: {}", self.help)?;
        }
        Ok(())
    }
}

impl From<TemplateError> for Diagnostic {
    fn from(e: TemplateError) -> Self {
        Diagnostic::new(Kind::Template, e.message, e.help).in_file(String::new(), e.location)
    }
}

/// A template error about the file shown as `path`, as a [`Diagnostic`] placed at its line and
/// column.
pub fn template_error(path: &str, error: TemplateError) -> Diagnostic {
    let location = error.location;
    Diagnostic::from(error).in_file(path, location)
}

impl TemplateError {
    fn new(
        kind: ErrorKind,
        location: Option<Location>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            location,
            message: message.into(),
            help: help.into(),
        }
    }

    /// `path:line:column: message` plus the help line, as compilers print it.
    pub fn render(&self, path: &str) -> String {
        let place = match self.location {
            Some(at) => format!("{path}:{}:{}", at.line, at.column),
            None => path.to_owned(),
        };
        let mut text = format!("{place}: {}", self.message);
        if !self.help.is_empty() {
            text.push_str("\n  help: ");
            text.push_str(&self.help);
        }
        text
    }
}

/// What to change in a template.
#[derive(Debug, Clone, Default)]
pub struct EditRequest {
    /// The new AMIs by region.
    pub amis: AmiSet,
    /// The mapping to update; detected when `None`.
    pub mapping: Option<String>,
    /// The second-level key for a flat AMI set; detected when `None`.
    pub key: Option<String>,
    /// Remove regions of the mapping that `amis` does not name, in the partitions that
    /// `amis` covers: rows of other partitions are kept (a release targets its own partition).
    pub prune: bool,
    /// With `prune`, remove the rows of the other partitions too. A release never asks for it;
    /// `template --prune-other-partitions` does, for a listing that goes back to us-east-1 only.
    pub prune_other_partitions: bool,
    /// The version to write into the version parameter's `Default`.
    pub version: Option<Version>,
    /// The version parameter; detected when `None`.
    pub version_parameter: Option<String>,
}

/// Summary of one mapping, for detection and for the plan output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSummary {
    /// The mapping's name under `Mappings`.
    pub name: String,
    /// Region-named keys, in order.
    pub regions: Vec<String>,
    /// Second-level keys under the regions, in first-seen order.
    pub keys: Vec<String>,
    /// How many second-level values are AMI IDs.
    pub ami_values: usize,
}

impl MappingSummary {
    /// Summarises the mapping `node` called `name`.
    fn of(name: &str, node: &Node) -> Self {
        let mut summary = MappingSummary {
            name: name.to_owned(),
            regions: Vec::new(),
            keys: Vec::new(),
            ami_values: 0,
        };
        for region in node.entries().unwrap_or_default() {
            let Some(region_name) = region.key.as_scalar().filter(|r| Region::is_region_name(r))
            else {
                continue;
            };
            summary.regions.push(region_name.to_owned());
            for inner in region.value.entries().unwrap_or_default() {
                let Some(key) = inner.key.as_scalar() else {
                    continue;
                };
                if !summary.keys.iter().any(|k| k == key) {
                    summary.keys.push(key.to_owned());
                }
                if inner.value.as_scalar().is_some_and(AmiId::is_ami_id) {
                    summary.ami_values += 1;
                }
            }
        }
        summary
    }
}

/// The parameters of a template that a release could write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterSummary {
    /// `AWS::EC2::Image::Id` parameters with a literal AMI default.
    pub image_parameters: Vec<String>,
    /// Parameters that look like the version (a name ending in `Version` with a version
    /// default, or an SSM ImageId path ending in a version).
    pub version_parameters: Vec<String>,
}

/// A template parameter as a stack sees it: its name, whether it has a default, and whether
/// its value is hidden (`NoEcho`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredParameter {
    /// Its name.
    pub name: String,
    /// Whether it has a `Default` (a stack may then leave it out).
    pub has_default: bool,
    /// `NoEcho: true`: a secret, which a config may not hold.
    pub no_echo: bool,
}

/// What a stack made from the template takes and gives: its parameters and the names of its
/// outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackInterface {
    /// Every parameter under `Parameters`, in order.
    pub parameters: Vec<DeclaredParameter>,
    /// Every output name under `Outputs`, in order.
    pub outputs: Vec<String>,
}

/// A parsed template, ready to edit.
pub struct Template<'t> {
    text: &'t str,
    format: Format,
    root: Node,
    lines: LineIndex,
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
            text,
            format,
            root,
            lines,
        })
    }

    /// How the template was read: strict JSON, or YAML (which includes JSON-looking text that
    /// only a YAML parser reads).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Every mapping under `Mappings`, with its regions, keys and number of AMI values.
    pub fn mappings(&self) -> Vec<MappingSummary> {
        let Some(entries) = self.root.get("Mappings").and_then(Node::entries) else {
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|entry| Some(MappingSummary::of(entry.key.as_scalar()?, &entry.value)))
            .collect()
    }

    /// The parameters a release could write: ImageId parameters with an AMI default, and the
    /// version parameter candidates.
    pub fn parameters(&self) -> ParameterSummary {
        edit::release_parameters(&self.root)
    }

    /// The parameters a stack takes and the outputs it gives.
    pub fn stack_interface(&self) -> StackInterface {
        let names = |section: &str| -> Vec<&tree::Entry> {
            self.root
                .get(section)
                .and_then(Node::entries)
                .map(|entries| entries.iter().collect())
                .unwrap_or_default()
        };
        StackInterface {
            parameters: names("Parameters")
                .into_iter()
                .filter_map(|entry| {
                    Some(DeclaredParameter {
                        name: entry.key.as_scalar()?.to_owned(),
                        has_default: entry.value.get("Default").is_some(),
                        no_echo: entry
                            .value
                            .get("NoEcho")
                            .and_then(Node::as_scalar)
                            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
                    })
                })
                .collect(),
            outputs: names("Outputs")
                .into_iter()
                .filter_map(|entry| entry.key.as_scalar().map(str::to_owned))
                .collect(),
        }
    }

    /// Applies `request`, proves the result, and returns the new text with a list of changes.
    /// The original text is never modified; on error nothing is produced.
    pub fn edit(&self, request: &EditRequest) -> Result<Edited, TemplateError> {
        edit::run(self, request)
    }

    fn location(&self, offset: usize) -> Location {
        self.lines.location(self.text, offset)
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
