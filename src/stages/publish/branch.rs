//! The base branch as publish finds it, and the release branch: whether it already holds this
//! release (and is ours to move), the release commit, and putting the branch back.

use anyhow::{anyhow, Result};

use super::trees::{FileUpdate, OurPaths, Trees};
use crate::github::{GitHub, GitHubError, NewTreeEntry, RepoName};
use crate::output::progress;
use crate::plan::ReleasePlan;

/// The base branch as publish found it.
pub(super) struct Base {
    /// Its name.
    pub name: String,
    /// Its head commit.
    pub sha: String,
    /// The head commit's tree.
    pub tree: String,
}

/// How the release branch was moved, to put it back if the pull request cannot be opened.
pub(super) enum BranchWrite {
    /// The branch was created.
    Created,
    /// The branch was moved from `previous`.
    Moved {
        /// Where it pointed before.
        previous: String,
    },
}

/// The base branch: given, else the repository's default; its head and tree.
pub(super) async fn read_base(github: &GitHub, given: Option<&str>) -> Result<Base> {
    let repo = github.repo();
    let name = match given {
        Some(base) => base.to_owned(),
        None => github.repository().await?.default_branch,
    };
    let sha = github.branch_head(&name).await?.ok_or_else(|| {
        anyhow!("the base branch `{name}` does not exist in {repo}\n  help: set pull-request.base (or the base input) to an existing branch")
    })?;
    let tree = github.commit(&sha).await?.tree.sha;
    Ok(Base { name, sha, tree })
}

/// Whether `sha` is the base head `head` or one of its last [`BASE_HISTORY`] first parents.
pub(super) async fn on_base_history(
    github: &GitHub,
    head: &str,
    sha: &str,
) -> Result<bool, GitHubError> {
    let mut at = head.to_owned();
    for _ in 0..BASE_HISTORY {
        if at == sha {
            return Ok(true);
        }
        match github.commit(&at).await?.parents.first() {
            Some(parent) => at = parent.sha.clone(),
            None => return Ok(false),
        }
    }
    Ok(false)
}

/// How far back in the base branch's first-parent history the parent of an earlier release
/// commit is looked for (the base moves on while a release waits for review).
pub(super) const BASE_HISTORY: usize = 100;

/// Whether the release branch (at `head`) already holds exactly this release on the current
/// base. Refuses a branch whose head marketplace-release did not make: the head must carry our
/// trailer as a line of its own, have one parent that is on the base branch, and change only
/// our paths. A squash merge of an earlier release PR carries the trailer too: a branch
/// pointed at one passes only when that merge changed nothing but our paths, and then the
/// commit is on the base, so moving the branch loses nothing.
#[allow(
    clippy::too_many_arguments,
    reason = "the branch, its head, the base and what the release writes, each its own value"
)]
pub(super) async fn is_current(
    github: &GitHub,
    trees: &mut Trees<'_>,
    repo: &RepoName,
    branch: &str,
    head: &str,
    base: &Base,
    updates: &[FileUpdate],
    ours: &OurPaths,
) -> Result<bool> {
    let commit = github.commit(head).await?;
    let short = &head[..head.len().min(12)];
    let subject = commit.message.lines().next().unwrap_or_default().to_owned();
    let refuse = |why: String| {
        anyhow!("the branch `{branch}` of {repo} has a commit marketplace-release did not make ({short}: \"{subject}\": {why}), which a re-run would overwrite\n  help: merge or close its pull request and delete the branch, or set pull-request.branch to another name")
    };
    if !commit
        .message
        .lines()
        .any(|line| line.trim_end() == TRAILER)
    {
        return Err(refuse(format!("no `{TRAILER}` trailer")));
    }
    let [parent] = commit.parents.as_slice() else {
        return Err(refuse(format!(
            "{} parents, where ours have one",
            commit.parents.len()
        )));
    };
    let parent_tree = github.commit(&parent.sha).await?.tree.sha;
    let changed = trees.changed_paths(&parent_tree, &commit.tree.sha).await?;
    let others: Vec<&String> = changed.iter().filter(|p| !ours.allows(p)).collect();
    if !others.is_empty() {
        return Err(refuse(format!(
            "it changes {}, which a release does not write",
            others
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !on_base_history(github, &base.sha, &parent.sha).await? {
        return Err(refuse(format!(
            "its parent is not among the last {BASE_HISTORY} commits of `{}`",
            base.name
        )));
    }
    let on_base = parent.sha == base.sha;
    Ok(on_base
        && trees
            .is_base_plus(&base.tree, &commit.tree.sha, updates)
            .await?)
}

/// Commits `updates` on the base and points the release branch at the commit.
pub(super) async fn commit_updates(
    github: &GitHub,
    plan: &ReleasePlan,
    base: &Base,
    branch: &str,
    branch_head: Option<&str>,
    updates: &[FileUpdate],
) -> Result<(String, Option<BranchWrite>)> {
    let mut entries = Vec::new();
    for update in updates {
        let sha = github.create_blob(&update.path, &update.bytes).await?;
        entries.push(NewTreeEntry {
            path: update.path.clone(),
            mode: update.mode.clone(),
            kind: "blob",
            sha,
        });
    }
    let tree = github.create_tree(&base.tree, &entries).await?;
    let commit = github
        .create_commit(
            &commit_message(plan),
            &tree,
            std::slice::from_ref(&base.sha),
        )
        .await?;
    let written = write_branch(github, branch, &commit.sha, branch_head).await?;
    progress::line(&format!(
        "publish: committed {} file(s) to {branch} ({}) on top of {}",
        updates.len(),
        &commit.sha[..commit.sha.len().min(12)],
        base.name
    ));
    Ok((commit.sha, Some(written)))
}

/// The trailer that marks a commit as ours, so a branch is only ever moved when its head is
/// one of our commits.
pub(super) const TRAILER: &str = "Made-by: marketplace-release";

pub(super) fn commit_message(plan: &ReleasePlan) -> String {
    let mut message = format!("{}\n\n", plan.pr_title);
    for t in &plan.templates {
        message.push_str(&format!("- {}: {}\n", t.path, t.summary));
    }
    message.push_str(&format!("\n{TRAILER}\n"));
    message
}

pub(super) async fn write_branch(
    github: &GitHub,
    branch: &str,
    sha: &str,
    head: Option<&str>,
) -> Result<BranchWrite> {
    match head {
        Some(previous) => {
            github.force_branch(branch, sha).await?;
            Ok(BranchWrite::Moved {
                previous: previous.to_owned(),
            })
        }
        None => match github.create_branch(branch, sha).await {
            Ok(()) => Ok(BranchWrite::Created),
            // Our own retried request, or another run, created it since we looked.
            Err(e) if e.is_unprocessable_with("already exists") => {
                let previous = github.branch_head(branch).await?.unwrap_or_default();
                if previous == sha {
                    return Ok(BranchWrite::Created);
                }
                github.force_branch(branch, sha).await?;
                Ok(BranchWrite::Moved { previous })
            }
            Err(e) => Err(e.into()),
        },
    }
}

pub(super) async fn restore_branch(github: &GitHub, branch: &str, write: BranchWrite) {
    let restored = match &write {
        BranchWrite::Created => github.delete_branch(branch).await,
        BranchWrite::Moved { previous } => github.force_branch(branch, previous).await,
    };
    match restored {
        Ok(()) => progress::line(&format!(
            "publish: the pull request failed, so the branch {branch} was {}",
            match write {
                BranchWrite::Created => "deleted again",
                BranchWrite::Moved { .. } => "put back where it was",
            }
        )),
        Err(e) => progress::warning(
            "release branch left behind",
            &format!("the pull request failed and the branch {branch} could not be put back: {e}"),
        ),
    }
}
