//! What went wrong with a template: the kind, the place in the file, and what to do.

use std::fmt;

use super::tree::Location;
use crate::diagnostic::{Diagnostic, Kind};

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
    /// An error of `kind` at `location`, saying what is wrong and what to do.
    pub(super) fn new(
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
