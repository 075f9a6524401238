//! What a caller asks of an edit: the new AMIs, the mapping and key, pruning, the version.

use crate::domain::ami::AmiSet;
use crate::domain::version::Version;

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
