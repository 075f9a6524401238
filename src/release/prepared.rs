//! A release, prepared: every value resolved and checked ([`Resolved`]), the jobs ready to
//! run, and what of it decides its steps ([`Release::shape`]).

use secrecy::SecretString;

use super::env::RunnerEnv;
use super::job::{self, Job};
use super::request::Caller;
use super::stage::{Stage, Stages};
use super::steps::{self, JobShape, Shape, Source, Step};
use crate::config::{Config, SubmitIntent};
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::github::{RepoName, RetryPolicy};
use crate::plan::submission::Submission;
use crate::plan::Vars;
use std::path::PathBuf;

/// A release, prepared: every value resolved and checked, the jobs ready to run.
pub struct Release {
    pub(super) resolved: Resolved,
    pub(super) jobs: Vec<Job>,
    /// Manifests read from files (publish or submit jobs), in build.architectures order.
    pub(super) given: Vec<(String, Manifest)>,
    /// What a submit job sends, checked while preparing.
    pub(super) submission: Option<Submission>,
}

impl Release {
    /// The version.
    pub fn version(&self) -> &Version {
        &self.resolved.version
    }

    /// What of the release decides its steps.
    pub fn shape(&self) -> Shape {
        let jobs = self
            .jobs
            .iter()
            .map(|job| JobShape {
                architecture: job.architecture,
                source: match job.origin {
                    job::Origin::Build { .. } => Source::Build,
                    job::Origin::Import(_) => Source::Import,
                    job::Origin::Given => Source::Given,
                },
                verifies: job.verify.is_some(),
            })
            .collect();
        shape_of(&self.resolved.config, self.resolved.stages, jobs)
    }

    /// The steps this release runs, in order.
    pub fn steps(&self) -> Vec<Step> {
        steps::steps(&self.shape())
    }
}

/// The shape of a release of `config` running `stages` with `jobs`: what the config adds to
/// the schedule (the listing check, the copies' boots, the test stack, a draft on a failed
/// verification).
pub fn shape_of(config: &Config, stages: Stages, jobs: Vec<JobShape>) -> Shape {
    let verify = config.verify.as_ref();
    let stack = verify.and_then(|v| v.stack.as_ref());
    Shape {
        stages,
        jobs,
        listing: config.product.id.is_some(),
        verify_copies: verify.is_some_and(|v| !v.regions.is_empty()),
        test_stack: stack.is_some_and(|s| config.templates.iter().any(|t| t.path == s.template)),
        draft_on_failure: stages.contains(Stage::Publish)
            && verify.is_some_and(|v| v.on_failure == crate::config::OnFailure::Draft),
    }
}

/// Where the release pull request goes, resolved before anything is built.
pub struct GitHubTarget {
    /// The REST API root.
    pub api_url: String,
    /// The token.
    pub token: SecretString,
    /// The repository.
    pub repo: RepoName,
    /// The base branch, when known (else the repository's default branch is asked for).
    pub base: Option<String>,
    /// How GitHub calls are retried.
    pub retry: RetryPolicy,
}

/// Every value of a release, resolved and checked; what the steps read.
pub struct Resolved {
    /// The command line or the action.
    pub caller: Caller,
    /// The config (`regions: template` resolved).
    pub config: Config,
    /// The repository root.
    pub workspace: PathBuf,
    /// The stages to run.
    pub stages: Stages,
    /// The release version.
    pub version: Version,
    /// Today's date, for names.
    pub date: String,
    /// Where the pull request goes, when publishing.
    pub github: Option<GitHubTarget>,
    /// The PR body template.
    pub body_template: String,
    /// Which change sets `submit` starts.
    pub intent: SubmitIntent,
    /// Whether `submit` waits for the APPLY change set.
    pub wait: bool,
    /// The runner environment.
    pub env: RunnerEnv,
}

impl Resolved {
    /// The template variables of names, titles and notes.
    pub fn vars(&self) -> Vars<'_> {
        Vars::new(&self.config, &self.version, &self.date)
    }
}
