//! What an edit did: each change, for reports and PR bodies, and the edited text.

use serde::Serialize;

use crate::domain::ami::Region;

/// One change made to a template, for reports and PR bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// An existing AMI value was replaced.
    AmiUpdated {
        /// Region.
        region: String,
        /// Second-level key.
        key: String,
        /// Previous value.
        old: String,
        /// New AMI.
        new: String,
    },
    /// A key was added to an existing region.
    AmiAdded {
        /// Region.
        region: String,
        /// Second-level key.
        key: String,
        /// New AMI.
        new: String,
    },
    /// A region was added to the mapping.
    RegionAdded {
        /// Region.
        region: String,
    },
    /// A region was removed from the mapping (`--prune`).
    RegionRemoved {
        /// Region.
        region: String,
    },
    /// A parameter default was changed.
    ParameterDefault {
        /// Parameter name.
        parameter: String,
        /// Previous default.
        old: String,
        /// New default.
        new: String,
    },
    /// The version was added to a parameter's AllowedValues.
    AllowedValueAdded {
        /// Parameter name.
        parameter: String,
        /// The value added.
        value: String,
    },
}

/// The result of an edit.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The new template text (equal to the input when nothing changed).
    pub text: String,
    /// What changed, in order.
    pub changes: Vec<Change>,
    /// The mapping that was updated, if any.
    pub mapping: Option<String>,
    /// Whether `text` differs from the input.
    pub changed: bool,
    /// Region rows of the edited mapping in a partition that none of the AMIs' regions is in
    /// (`cn-north-1` in a release for `aws`): kept as they are, never written to or pruned.
    pub other_partitions: Vec<String>,
}

impl Edited {
    /// `; kept (other partition): cn-north-1 (aws-cn), …` for a plan's summary line, or
    /// nothing when every region row is in the release's partition.
    pub fn other_partitions_note(&self) -> String {
        if self.other_partitions.is_empty() {
            return String::new();
        }
        let rows: Vec<String> = self
            .other_partitions
            .iter()
            .map(|r| match Region::partition_of(r) {
                Some(p) => format!("{r} ({p})"),
                None => r.clone(),
            })
            .collect();
        format!(
            "; kept, not copied to (other partition): {}",
            rows.join(", ")
        )
    }
}
