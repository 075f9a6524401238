//! The release pull request: found by its branch and brought up to date, or opened; labels,
//! assignees and reviewers added.

use anyhow::{Context as _, Result};

use super::outcome::Operation;
use crate::config::Config;
use crate::github::{GitHub, NewPullRequest, PullRequest};
use crate::output::progress;
use crate::plan::ReleasePlan;

/// Finds the open pull request from the release branch and brings it up to date, or opens one.
pub(super) async fn open_or_update(
    github: &GitHub,
    config: &Config,
    plan: &ReleasePlan,
    (base, draft): (&str, bool),
    branch_up_to_date: bool,
) -> Result<(Operation, PullRequest)> {
    let settings = &config.pull_request;
    let existing = github.open_pull_request(&plan.branch).await?;
    let Some(pr) = existing else {
        let created = match github
            .create_pull_request(&NewPullRequest {
                title: &plan.pr_title,
                body: &plan.pr_body,
                head: &plan.branch,
                base,
                draft: settings.draft || draft,
                maintainer_can_modify: true,
            })
            .await
        {
            Ok(pr) => pr,
            // A retried request that GitHub had already carried out.
            Err(e) if e.is_unprocessable_with("already exists") => github
                .open_pull_request(&plan.branch)
                .await?
                .ok_or(e)
                .context("the pull request exists but cannot be found")?,
            Err(e) => return Err(e.into()),
        };
        decorate(github, config, &created, true).await;
        return Ok((Operation::Created, created));
    };
    if pr.base.name != base {
        progress::warning(
            "pull request base",
            &format!(
                "pull request #{} merges into `{}`, not `{base}`; change its base on GitHub if that is wrong",
                pr.number, pr.base.name
            ),
        );
    }
    let text_changed = pr.title != plan.pr_title
        || !same_but_for_run_links(pr.body.as_deref().unwrap_or_default(), &plan.pr_body);
    let pr = if text_changed {
        github
            .update_pull_request(pr.number, &plan.pr_title, &plan.pr_body)
            .await?
    } else {
        pr
    };
    decorate(github, config, &pr, false).await;
    let operation = if text_changed || !branch_up_to_date {
        Operation::Updated
    } else {
        Operation::None
    };
    Ok((operation, pr))
}

static RUN_LINK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"/actions/runs/[0-9]+(/attempts/[0-9]+)?").expect("compiles")
});

/// Whether two bodies differ at most in their links to the workflow run: every run has its own,
/// and a re-run with nothing new must not rewrite the pull request just for that.
pub(super) fn same_but_for_run_links(old: &str, new: &str) -> bool {
    old == new
        || RUN_LINK.replace_all(old, "/actions/runs/")
            == RUN_LINK.replace_all(new, "/actions/runs/")
}

/// Adds the configured labels and assignees the pull request lacks, and on a new pull request
/// asks for reviews. A refusal here is a warning: the pull request itself is what matters.
pub(super) async fn decorate(github: &GitHub, config: &Config, pr: &PullRequest, new: bool) {
    let settings = &config.pull_request;
    let labels: Vec<String> = settings
        .labels
        .iter()
        .filter(|l| !pr.labels.iter().any(|have| have.name == l.as_str()))
        .map(ToString::to_string)
        .collect();
    let assignees: Vec<String> = settings
        .assignees
        .iter()
        .filter(|a| {
            !pr.assignees
                .iter()
                .any(|have| have.login.eq_ignore_ascii_case(a))
        })
        .map(ToString::to_string)
        .collect();
    let mut failures = Vec::new();
    if !labels.is_empty() {
        if let Err(e) = github.add_labels(pr.number, &labels).await {
            failures.push(e);
        }
    }
    if !assignees.is_empty() {
        if let Err(e) = github.add_assignees(pr.number, &assignees).await {
            failures.push(e);
        }
    }
    if new && !(settings.reviewers.is_empty() && settings.team_reviewers.is_empty()) {
        if let Err(e) = github
            .request_reviewers(
                pr.number,
                &crate::config::strings(&settings.reviewers),
                &crate::config::strings(&settings.team_reviewers),
            )
            .await
        {
            failures.push(e);
        }
    }
    for failure in failures {
        progress::warning("pull request settings", &failure.to_string());
    }
}
