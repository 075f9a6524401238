//! The state of one edit (the template it reads, the splices, proof intents and changes it has
//! decided) and the rule every edited path keeps: a key written twice is never edited.

use super::change::Change;
use super::error::{ErrorKind, TemplateError};
use super::located::Located;
use super::proof::Intent;
use super::splice::{Layout, Splice};
use super::tree::{Entry, Node};
use crate::domain::ami::Partition;

/// The (mapping key, AMI ID) pairs one region receives.
pub(super) type KeyedAmis = Vec<(String, String)>;

/// One edit being worked out: the template it reads, the splices and proof intents it has
/// decided so far, and the changes it will report.
pub(super) struct Editor<'a, 't> {
    /// The template being edited.
    pub(super) template: &'a Located<'t>,
    /// How new text is laid out like the text around it.
    pub(super) layout: Layout<'t>,
    /// The byte replacements decided so far.
    pub(super) splices: Vec<Splice>,
    /// What the proof must find changed.
    pub(super) intents: Vec<Intent>,
    /// What changed, in order, for the report.
    pub(super) changes: Vec<Change>,
    /// The partitions of the AMIs' regions: a release has one, a hand-made AMIS.json may mix.
    pub(super) partitions: Vec<Partition>,
    /// Region rows of the edited mapping in a partition none of the AMIs is in.
    pub(super) other_partitions: Vec<String>,
}

impl<'a, 't> Editor<'a, 't> {
    /// An editor for `template`, for AMIs in `partitions`.
    pub(super) fn new(template: &'a Located<'t>, partitions: Vec<Partition>) -> Self {
        Self {
            template,
            layout: Layout::new(template.text, template.format),
            splices: Vec::new(),
            intents: Vec::new(),
            changes: Vec::new(),
            partitions,
            other_partitions: Vec::new(),
        }
    }

    /// An error of `kind` at the node `at`, saying what is wrong and what to do.
    pub(super) fn err(
        &self,
        kind: ErrorKind,
        at: Option<&Node>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> TemplateError {
        TemplateError::new(
            kind,
            at.map(|n| self.template.location(n.span.start)),
            message,
            help,
        )
    }

    /// The entry under `key` in the mapping `node`, refusing a key written twice: YAML and JSON
    /// loaders, CloudFormation included, keep the last, so an edit must never pick one of two.
    /// `path` names the key in the message (`Mappings.AMIs.us-east-1`).
    pub(super) fn unique(
        &self,
        node: &'a Node,
        key: &str,
        path: &str,
    ) -> Result<Option<&'a Entry>, TemplateError> {
        let mut found = node
            .entries()
            .unwrap_or_default()
            .iter()
            .filter(|e| e.key.as_scalar() == Some(key));
        let first = found.next();
        match (first, found.next_back()) {
            (Some(first), Some(last)) => {
                let a = self.template.location(first.key.span.start);
                let b = self.template.location(last.key.span.start);
                Err(TemplateError::new(
                    ErrorKind::DuplicateKey,
                    Some(b),
                    format!(
                        "`{path}` is written twice, at line {}, column {} and at line {}, column {}; CloudFormation (like every YAML and JSON loader) uses the last one, so this tool will not edit either",
                        a.line, a.column, b.line, b.column
                    ),
                    "delete the occurrence you do not mean (CloudFormation uses the last one today), then run again",
                ))
            }
            (first, _) => Ok(first),
        }
    }

    /// `unique` for the value: the node under `key`, if any.
    pub(super) fn unique_value(
        &self,
        node: &'a Node,
        key: &str,
        path: &str,
    ) -> Result<Option<&'a Node>, TemplateError> {
        Ok(self.unique(node, key, path)?.map(|e| &e.value))
    }
}
