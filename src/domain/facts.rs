//! What a release found out on the way, besides its images: the facts the pull request body,
//! the plan and the step summary show, carried as one bundle.

use super::stack::StackReport;

/// The release's facts: who it ran as, what the live listing says, the ingestion checklist and
/// the test stack's report. Each is empty until its step ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The AWS account the release ran in, and whether it was checked against
    /// `product.seller-account`; `None` when no AWS stage ran.
    pub seller: Option<String>,
    /// What the live listing says against this release, one sentence each.
    pub listing: Vec<String>,
    /// The ingestion pre-flight's checklist (Markdown), empty when it did not run.
    pub ingestion: String,
    /// The verify stage's test stack, when it ran.
    pub stack: Option<StackReport>,
}
