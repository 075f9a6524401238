//! What the publish stage did: the pull request's [`Operation`] and the [`Published`] record.

use serde::Serialize;

/// What happened to the pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// A new pull request was opened.
    Created,
    /// The existing pull request (or its branch) was updated.
    Updated,
    /// Nothing was written.
    None,
}

impl Operation {
    /// `created`, `updated` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Created => "created",
            Operation::Updated => "updated",
            Operation::None => "none",
        }
    }
}

/// The outcome of [`publish`].
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// What happened.
    pub operation: Operation,
    /// The pull request number, when one exists.
    pub number: Option<u64>,
    /// The pull request page, when one exists.
    pub url: Option<String>,
    /// The release branch.
    pub branch: String,
    /// The base branch.
    pub base: String,
    /// The release branch's commit, when there is one.
    pub commit: Option<String>,
    /// One sentence saying what happened.
    pub message: String,
    /// The plan's warnings about the templates (keys added, regions left on an earlier
    /// release's AMIs, the version not written), `path: sentence` each.
    pub notes: Vec<String>,
}
