//! The repository's settings we read (`repos/get`).

use http::Method;
use serde::Deserialize;

use super::client::GitHub;
use super::error::{GitHubError, Scope};

/// The repository fields we read.
#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    /// Its default branch.
    pub default_branch: String,
}

impl GitHub {
    /// The repository's settings we read.
    ///
    /// GitHub operation `repos/get`.
    pub async fn repository(&self) -> Result<Repository, GitHubError> {
        let action = format!("read the repository {}", self.repo());
        self.typed(Method::GET, &self.route(""), None, &action, Scope::Read)
            .await
    }
}
