//! The Git data API: refs, commits, trees and blobs, the objects a release commit is made of.

use base64::Engine;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::{encode_ref, GitHub};
use super::error::{GitHubError, Scope};

/// A Git reference.
#[derive(Debug, Clone, Deserialize)]
pub struct GitRef {
    /// `refs/heads/…`.
    #[serde(rename = "ref")]
    pub name: String,
    /// What it points at.
    pub object: GitObject,
}

/// The object a reference points at.
#[derive(Debug, Clone, Deserialize)]
pub struct GitObject {
    /// Its SHA.
    pub sha: String,
}

/// A Git commit (the Git data API's shape).
#[derive(Debug, Clone, Deserialize)]
pub struct GitCommit {
    /// Its SHA.
    pub sha: String,
    /// Its tree.
    pub tree: GitObject,
    /// Its parents.
    pub parents: Vec<GitObject>,
    /// Its message.
    pub message: String,
}

/// A Git tree, one level.
#[derive(Debug, Clone, Deserialize)]
pub struct GitTree {
    /// Its SHA.
    pub sha: String,
    /// Its entries.
    pub tree: Vec<TreeEntry>,
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TreeEntry {
    /// The name (for one level, without directories).
    pub path: String,
    /// `100644`, `100755`, `040000`, `120000` or `160000`.
    pub mode: String,
    /// `blob`, `tree` or `commit`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The object's SHA.
    pub sha: String,
}

/// A blob as `git/get-blob` sends it.
#[derive(Deserialize)]
pub(super) struct Blob {
    content: String,
    encoding: String,
}

/// The SHA of an object `git/create-blob` or `git/create-tree` stored.
#[derive(Deserialize)]
pub(super) struct Created {
    sha: String,
}

/// A tree entry to write: the blob `sha` at `path`.
#[derive(Debug, Clone, Serialize)]
pub struct NewTreeEntry {
    /// Path from the repository root.
    pub path: String,
    /// File mode.
    pub mode: String,
    /// Always `blob`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The blob.
    pub sha: String,
}

impl GitHub {
    /// The commit a branch points at, or `None` when the branch does not exist.
    ///
    /// GitHub operation `git/get-ref`.
    pub async fn branch_head(&self, branch: &str) -> Result<Option<String>, GitHubError> {
        let action = format!("read the branch {branch} of {}", self.repo());
        let url = self.route(&format!("/git/ref/heads/{}", encode_ref(branch)));
        match self
            .typed::<GitRef>(Method::GET, &url, None, &action, Scope::Read)
            .await
        {
            Ok(found) => Ok(Some(found.object.sha)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A commit.
    ///
    /// GitHub operation `git/get-commit`.
    pub async fn commit(&self, sha: &str) -> Result<GitCommit, GitHubError> {
        let action = format!("read commit {sha} of {}", self.repo());
        let url = self.route(&format!("/git/commits/{sha}"));
        self.typed(Method::GET, &url, None, &action, Scope::Read)
            .await
    }

    /// One level of a tree.
    ///
    /// GitHub operation `git/get-tree`.
    pub async fn tree(&self, sha: &str) -> Result<GitTree, GitHubError> {
        let action = format!("read tree {sha} of {}", self.repo());
        let url = self.route(&format!("/git/trees/{sha}"));
        self.typed(Method::GET, &url, None, &action, Scope::Read)
            .await
    }

    /// A blob's bytes.
    ///
    /// GitHub operation `git/get-blob`.
    pub async fn blob(&self, sha: &str) -> Result<Vec<u8>, GitHubError> {
        let action = format!("read blob {sha} of {}", self.repo());
        let url = self.route(&format!("/git/blobs/{sha}"));
        let blob: Blob = self
            .typed(Method::GET, &url, None, &action, Scope::Read)
            .await?;
        let undecodable = |message: String| {
            GitHubError::local(
                &action,
                None,
                message,
                "re-run; if it keeps failing, report the message above",
            )
        };
        if blob.encoding != "base64" {
            return Err(undecodable(format!(
                "unexpected blob encoding `{}`",
                blob.encoding
            )));
        }
        // GitHub wraps the base64 at 60 characters.
        let packed: String = blob.content.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(packed)
            .map_err(|e| undecodable(format!("the blob is not valid base64: {e}")))
    }

    /// Stores a blob; returns its SHA.
    ///
    /// GitHub operation `git/create-blob`.
    pub async fn create_blob(&self, path: &str, bytes: &[u8]) -> Result<String, GitHubError> {
        let action = format!("upload {path} to {}", self.repo());
        let body = json!({
            "content": base64::engine::general_purpose::STANDARD.encode(bytes),
            "encoding": "base64",
        });
        let created: Created = self
            .typed(
                Method::POST,
                &self.route("/git/blobs"),
                Some(&body),
                &action,
                Scope::Contents,
            )
            .await?;
        Ok(created.sha)
    }

    /// Stores a tree: `base_tree` with `entries` replaced; returns its SHA.
    ///
    /// GitHub operation `git/create-tree`.
    pub async fn create_tree(
        &self,
        base_tree: &str,
        entries: &[NewTreeEntry],
    ) -> Result<String, GitHubError> {
        let action = format!("create a tree in {}", self.repo());
        let body = json!({ "base_tree": base_tree, "tree": entries });
        let created: Created = self
            .typed(
                Method::POST,
                &self.route("/git/trees"),
                Some(&body),
                &action,
                Scope::Contents,
            )
            .await?;
        Ok(created.sha)
    }

    /// Creates a commit. No author or committer is sent, so GitHub makes the token's identity
    /// both and signs the commit (it shows as verified).
    ///
    /// GitHub operation `git/create-commit`.
    pub async fn create_commit(
        &self,
        message: &str,
        tree: &str,
        parents: &[String],
    ) -> Result<GitCommit, GitHubError> {
        let action = format!("create a commit in {}", self.repo());
        let body = json!({ "message": message, "tree": tree, "parents": parents });
        self.typed(
            Method::POST,
            &self.route("/git/commits"),
            Some(&body),
            &action,
            Scope::Contents,
        )
        .await
    }

    /// Creates a branch at `sha`.
    ///
    /// GitHub operation `git/create-ref`.
    pub async fn create_branch(&self, branch: &str, sha: &str) -> Result<(), GitHubError> {
        let action = format!("create the branch {branch} in {}", self.repo());
        let body = json!({ "ref": format!("refs/heads/{branch}"), "sha": sha });
        self.call(
            Method::POST,
            &self.route("/git/refs"),
            Some(&body),
            &action,
            Scope::Contents,
            false,
        )
        .await
        .map(drop)
    }

    /// Points an existing branch at `sha`, even when that is not a fast-forward.
    ///
    /// GitHub operation `git/update-ref`.
    pub async fn force_branch(&self, branch: &str, sha: &str) -> Result<(), GitHubError> {
        let action = format!("update the branch {branch} in {}", self.repo());
        let url = self.route(&format!("/git/refs/heads/{}", encode_ref(branch)));
        let body = json!({ "sha": sha, "force": true });
        self.call(
            Method::PATCH,
            &url,
            Some(&body),
            &action,
            Scope::Contents,
            false,
        )
        .await
        .map(drop)
    }

    /// Deletes a branch.
    ///
    /// GitHub operation `git/delete-ref`.
    pub async fn delete_branch(&self, branch: &str) -> Result<(), GitHubError> {
        let action = format!("delete the branch {branch} in {}", self.repo());
        let url = self.route(&format!("/git/refs/heads/{}", encode_ref(branch)));
        match self
            .call(Method::DELETE, &url, None, &action, Scope::Contents, false)
            .await
        {
            // A retried delete that had already been carried out.
            Err(e) if e.is_unprocessable_with("does not exist") => Ok(()),
            other => other.map(drop),
        }
    }
}
