//! The publish stage: regenerate the templates from the base branch's copies, commit them to
//! the release branch through the Git data API, and open or update the release pull request.
//!
//! Every decision is made before the first write: what changes, whether the branch already
//! holds exactly that, whether the pull request already says exactly that. A re-run with
//! nothing new makes no write call. When opening the pull request fails, the branch is put back
//! as it was, so a failed run leaves no half-made release behind.

mod branch;
mod outcome;
mod pull_request;
mod trees;

use anyhow::{anyhow, Result};
use indexmap::IndexMap;

use crate::config::{Architecture, Config};
use crate::diagnostic::Diagnostic;
use crate::domain::ami::AmiSet;
use crate::domain::facts::Facts;
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::github::GitHub;
use crate::output::progress;
use crate::plan::{self, PlanInputs, ReleasePlan};
use branch::{commit_updates, is_current, read_base, restore_branch, Base, BranchWrite};
pub use outcome::{Operation, Published};
use pull_request::open_or_update;
use trees::{git_blob_sha, repo_path, FileUpdate, OurPaths, Trees};

/// What [`publish`] needs besides the GitHub client.
pub struct PublishInputs<'a> {
    /// The config.
    pub config: &'a Config,
    /// The release version.
    pub version: &'a Version,
    /// The available AMIs per architecture.
    pub amis: &'a IndexMap<Architecture, AmiSet>,
    /// The base branch, when the caller knows it (input, config or event payload); else the
    /// repository's default branch is asked for.
    pub base: Option<String>,
    /// The PR body template source.
    pub body_template: &'a str,
    /// Link to the workflow run.
    pub run_url: Option<&'a str>,
    /// Today's date, for names.
    pub date: &'a str,
    /// The release's manifests, committed to `pull-request.manifests-path` when it is set.
    pub manifests: &'a [(String, Manifest)],
    /// What the release found: the listing's warnings, the ingestion checklist, the test
    /// stack's report (empty for a plan).
    pub facts: &'a Facts,
    /// Open the pull request as a draft whatever `pull-request.draft` says (a failed
    /// verification).
    pub draft: bool,
}

/// Regenerates the templates from the base branch, commits them to the release branch and opens
/// or updates the pull request: the base, the plan, the commit, the pull request, in that
/// order; when the pull request cannot be opened, the branch is put back as it was.
pub async fn publish(github: &GitHub, inputs: &PublishInputs<'_>) -> Result<Published> {
    let base = read_base(github, inputs.base.as_deref()).await?;
    let mut trees = Trees::new(github);
    let (plan, texts, modes) = plan_on_base(github, &mut trees, inputs, &base).await?;
    let (mut updates, notes) = template_updates(&plan, &texts, modes);
    if updates.is_empty() {
        return Ok(Published {
            operation: Operation::None,
            number: None,
            url: None,
            branch: plan.branch,
            message: format!("the templates on `{}` already hold these AMIs and this version, so there is nothing to review: no pull request opened", base.name),
            base: base.name,
            commit: None,
            notes,
        });
    }
    updates.extend(other_updates(&mut trees, inputs, &plan, &base).await?);
    let branch = plan.branch.clone();
    if branch == base.name {
        anyhow::bail!("the release branch `{branch}` is the base branch\n  help: the release goes through a pull request: set pull-request.branch (or the branch input) to its own name, like marketplace-release/{{{{ version }}}}");
    }
    let (commit_sha, written, up_to_date) =
        write_release_branch(github, &mut trees, inputs.config, &plan, &base, &updates).await?;
    let opened = open_or_update(
        github,
        inputs.config,
        &plan,
        (&base.name, inputs.draft),
        up_to_date,
    )
    .await;
    match opened {
        Ok((operation, pr)) => {
            let message = match operation {
                Operation::Created => format!("opened pull request #{} {}", pr.number, pr.html_url),
                Operation::Updated => {
                    format!("updated pull request #{} {}", pr.number, pr.html_url)
                }
                Operation::None => format!(
                    "pull request #{} {} is already up to date; nothing written",
                    pr.number, pr.html_url
                ),
            };
            Ok(Published {
                operation,
                number: Some(pr.number),
                url: Some(pr.html_url),
                branch,
                base: base.name,
                commit: Some(commit_sha),
                message,
                notes,
            })
        }
        Err(error) => {
            if let Some(write) = written {
                restore_branch(github, &branch, write).await;
            }
            Err(error)
        }
    }
}

/// The templates that change, as file updates, and the plan's notes about them (each also a
/// progress line).
fn template_updates(
    plan: &ReleasePlan,
    texts: &[Vec<u8>],
    modes: Vec<String>,
) -> (Vec<FileUpdate>, Vec<String>) {
    let updates = plan
        .templates
        .iter()
        .zip(texts)
        .zip(modes)
        .filter(|((t, old), _)| t.new_text.as_bytes() != old.as_slice())
        .map(|((t, _), mode)| {
            FileUpdate::new(t.path.clone(), mode, t.new_text.clone().into_bytes())
        })
        .collect();
    let mut notes = Vec::new();
    for t in &plan.templates {
        progress::line(&format!("publish: {}: {}", t.path, t.summary));
        for note in &t.notes {
            progress::line(&format!("publish: {}: WARNING: {note}", t.path));
            notes.push(format!("`{}`: {note}", t.path));
        }
    }
    (updates, notes)
}

/// The other files the release commit writes when they differ from the base's: the load
/// form CSV and the manifests, where the config asks for them.
async fn other_updates(
    trees: &mut Trees<'_>,
    inputs: &PublishInputs<'_>,
    plan: &ReleasePlan,
    base: &Base,
) -> Result<Vec<FileUpdate>> {
    let settings = &inputs.config.pull_request;
    let mut extra = Vec::new();
    if let Some(csv) = &settings.load_form_csv {
        extra.push((
            repo_path(csv),
            crate::plan::loadform::to_csv(&plan.load_form).into_bytes(),
        ));
    }
    if let Some(dir) = &settings.manifests_path {
        for (_, manifest) in inputs.manifests {
            let file = dir.join(format!("{}.json", manifest.architecture));
            extra.push((repo_path(&file), manifest.to_json().into_bytes()));
        }
    }
    let mut updates = Vec::new();
    for (path, bytes) in extra {
        let existing = trees.entry(&base.tree, &path).await?;
        if existing.as_ref().map(|e| e.sha.as_str()) != Some(git_blob_sha(&bytes).as_str()) {
            let mode = existing.map_or_else(|| "100644".to_owned(), |e| e.mode);
            updates.push(FileUpdate::new(path, mode, bytes));
        }
    }
    Ok(updates)
}

/// The release branch brought to the release commit, unless it already holds exactly this
/// release on this base: the commit, how the branch was moved (to put it back), and whether it
/// was up to date.
async fn write_release_branch(
    github: &GitHub,
    trees: &mut Trees<'_>,
    config: &Config,
    plan: &ReleasePlan,
    base: &Base,
    updates: &[FileUpdate],
) -> Result<(String, Option<BranchWrite>, bool)> {
    let branch = &plan.branch;
    let repo = github.repo().clone();
    let branch_head = github.branch_head(branch).await?;
    let up_to_date = match &branch_head {
        Some(head) => {
            let ours = OurPaths::of(config);
            is_current(github, trees, &repo, branch, head, base, updates, &ours).await?
        }
        None => false,
    };
    if let (Some(head), true) = (&branch_head, up_to_date) {
        progress::line(&format!(
            "publish: branch {branch} already holds this release on top of {}",
            base.name
        ));
        return Ok((head.clone(), None, true));
    }
    let (sha, written) =
        commit_updates(github, plan, base, branch, branch_head.as_deref(), updates).await?;
    Ok((sha, written, false))
}

/// The plan from the templates as they are on the base branch, with their texts and modes.
async fn plan_on_base(
    github: &GitHub,
    trees: &mut Trees<'_>,
    inputs: &PublishInputs<'_>,
    base: &Base,
) -> Result<(ReleasePlan, Vec<Vec<u8>>, Vec<String>)> {
    let repo = github.repo();
    let mut texts = Vec::new();
    let mut modes = Vec::new();
    for target in &inputs.config.templates {
        let path = repo_path(&target.path);
        let entry = trees
            .entry(&base.tree, &path)
            .await?
            .filter(|e| e.kind == "blob")
            .ok_or_else(|| {
                anyhow!("the template `{path}` is not on the base branch `{}` of {repo}\n  help: commit the template to `{}` first, or fix templates[].path in the config", base.name, base.name)
            })?;
        texts.push(github.blob(&entry.sha).await?);
        modes.push(entry.mode);
    }
    let plan = plan::plan(
        inputs.config,
        &PlanInputs {
            version: inputs.version,
            amis: Some(inputs.amis),
            template_texts: &texts,
            body_template: inputs.body_template,
            run_url: inputs.run_url,
            date: inputs.date,
            manifests: inputs.manifests,
            facts: inputs.facts,
        },
    )
    .map_err(|e| {
        let mut d = Diagnostic::from(e);
        d.message.push_str(&format!(
            " (the template was read from the base branch `{}` of {repo})",
            base.name
        ));
        d
    })?;
    Ok((plan, texts, modes))
}

#[cfg(test)]
mod tests;
