//! Pull requests: finding, opening and editing one, and its labels, assignees and reviewers.

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{query_pair, GitHub};
use super::error::{GitHubError, Scope};

/// A user or team login.
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    /// The login.
    pub login: String,
}

/// A label.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    /// Its name.
    pub name: String,
}

/// One side of a pull request.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequestBranch {
    /// The branch name.
    #[serde(rename = "ref")]
    pub name: String,
}

/// The pull request fields we read.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// Its page.
    pub html_url: String,
    /// Its title.
    pub title: String,
    /// Its body (GitHub sends `null` for an empty one).
    #[serde(default)]
    pub body: Option<String>,
    /// The branch it merges into.
    pub base: PullRequestBranch,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Its assignees.
    #[serde(default)]
    pub assignees: Vec<Login>,
}

/// A new pull request.
#[derive(Debug, Clone, Serialize)]
pub struct NewPullRequest<'a> {
    /// Title.
    pub title: &'a str,
    /// Body.
    pub body: &'a str,
    /// The branch with the changes.
    pub head: &'a str,
    /// The branch to merge into.
    pub base: &'a str,
    /// Open as a draft.
    pub draft: bool,
    /// Let maintainers push to the branch.
    pub maintainer_can_modify: bool,
}

impl GitHub {
    /// The open pull request from `branch` of this repository, if any.
    ///
    /// GitHub operation `pulls/list`.
    pub async fn open_pull_request(
        &self,
        branch: &str,
    ) -> Result<Option<PullRequest>, GitHubError> {
        let action = format!("list the pull requests of {}", self.repo());
        let head: String = format!("{}:{branch}", self.repo().owner);
        let query = query_pair("head", &head);
        let url = self.route(&format!("/pulls?state=open&{query}&per_page=100"));
        let mut found: Vec<PullRequest> = self
            .typed(Method::GET, &url, None, &action, Scope::PullRequests)
            .await?;
        found.sort_by_key(|pr| pr.number);
        Ok(found.into_iter().next())
    }

    /// Opens a pull request.
    ///
    /// GitHub operation `pulls/create`.
    pub async fn create_pull_request(
        &self,
        new: &NewPullRequest<'_>,
    ) -> Result<PullRequest, GitHubError> {
        let action = format!(
            "open a pull request from {} into {} in {}",
            new.head,
            new.base,
            self.repo()
        );
        let body = serde_json::to_value(new).expect("serialises");
        self.typed(
            Method::POST,
            &self.route("/pulls"),
            Some(&body),
            &action,
            Scope::PullRequests,
        )
        .await
    }

    /// Sets a pull request's title and body.
    ///
    /// GitHub operation `pulls/update`.
    pub async fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, GitHubError> {
        let action = format!("update pull request #{number} of {}", self.repo());
        let url = self.route(&format!("/pulls/{number}"));
        let payload = json!({ "title": title, "body": body });
        self.typed(
            Method::PATCH,
            &url,
            Some(&payload),
            &action,
            Scope::PullRequests,
        )
        .await
    }

    /// A POST about a pull request that GitHub may refuse with 422 for a moment after
    /// creating it, so 422 is retried too.
    async fn post_about_new_pull_request(
        &self,
        tail: &str,
        body: Value,
        action: String,
    ) -> Result<(), GitHubError> {
        let url = self.route(tail);
        self.call(
            Method::POST,
            &url,
            Some(&body),
            &action,
            Scope::PullRequests,
            true,
        )
        .await
        .map(drop)
    }

    /// Adds labels (creating missing ones, as GitHub does).
    ///
    /// GitHub operation `issues/add-labels`.
    pub async fn add_labels(&self, number: u64, labels: &[String]) -> Result<(), GitHubError> {
        self.post_about_new_pull_request(
            &format!("/issues/{number}/labels"),
            json!({ "labels": labels }),
            format!("label pull request #{number} of {}", self.repo()),
        )
        .await
    }

    /// Adds assignees.
    ///
    /// GitHub operation `issues/add-assignees`.
    pub async fn add_assignees(
        &self,
        number: u64,
        assignees: &[String],
    ) -> Result<(), GitHubError> {
        self.post_about_new_pull_request(
            &format!("/issues/{number}/assignees"),
            json!({ "assignees": assignees }),
            format!("assign pull request #{number} of {}", self.repo()),
        )
        .await
    }

    /// Requests reviews from users and teams.
    ///
    /// GitHub operation `pulls/request-reviewers`.
    pub async fn request_reviewers(
        &self,
        number: u64,
        reviewers: &[String],
        team_reviewers: &[String],
    ) -> Result<(), GitHubError> {
        self.post_about_new_pull_request(
            &format!("/pulls/{number}/requested_reviewers"),
            json!({ "reviewers": reviewers, "team_reviewers": team_reviewers }),
            format!(
                "request reviewers for pull request #{number} of {}",
                self.repo()
            ),
        )
        .await
    }
}
