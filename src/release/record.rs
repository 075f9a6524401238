//! What a run keeps as it goes, and what it hands back: the manifests (each with its path), the
//! [`Facts`] bundle, the pull request and the change set, and why it stopped when it did.

use std::process::ExitCode;

use anyhow::Result;

use super::stage::{Stage, Stages};
use super::steps::JobId;
use crate::aws::catalog::ChangeSetState;
use crate::domain::facts::Facts;
use crate::domain::manifest::Manifest;
use crate::output::log;
use crate::stages::publish::Published;
use crate::stages::StageError;

/// Exit code after a cancellation (as shells report SIGINT).
pub const EXIT_CANCELLED: u8 = 130;

/// Why a release stopped early.
#[derive(Debug)]
pub enum Stopped {
    /// SIGINT or SIGTERM.
    Cancelled,
    /// A step failed; `stage` is the stage it belongs to.
    Failed {
        /// The stage the failed step belongs to.
        stage: Stage,
        /// What went wrong.
        error: anyhow::Error,
    },
}

/// What a release did.
#[derive(Debug)]
pub struct Outcome {
    /// The manifests written or read, in build.architectures order, with their paths.
    pub manifests: Vec<(String, Manifest)>,
    /// The pull request, when published.
    pub published: Option<Published>,
    /// The last change set, when submitted.
    pub change_set: Option<ChangeSetState>,
    /// The release branch (also when nothing was published).
    pub branch: String,
    /// Why it stopped early; `None` when every step ran.
    pub stopped: Option<Stopped>,
    /// `product version`, for titles.
    pub title: String,
    /// The stages that were to run.
    pub stages: Stages,
    /// What the release found out: the seller account, the listing's warnings, the ingestion
    /// checklist, the test stack's report.
    pub facts: Facts,
}

impl Outcome {
    /// One line saying why the release stopped, for summaries; `None` when it did not.
    pub fn why_stopped(&self) -> Option<String> {
        match &self.stopped {
            None => None,
            Some(Stopped::Cancelled) => Some("cancelled; the manifests list what exists".into()),
            Some(Stopped::Failed { stage, error }) => {
                let first = error
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                Some(if stage.shown_plainly() {
                    first
                } else {
                    format!("{stage} failed: {first}")
                })
            }
        }
    }

    /// The exit code: 0 done, 130 cancelled; a failure is the error itself.
    pub fn exit(self) -> Result<ExitCode> {
        match self.stopped {
            None => Ok(ExitCode::SUCCESS),
            Some(Stopped::Cancelled) => {
                let listed = self.manifests.last().map_or_else(String::new, |(path, _)| {
                    format!("; the manifest {path} lists what exists")
                });
                log::say(&format!("cancelled{listed}"));
                Ok(ExitCode::from(EXIT_CANCELLED))
            }
            Some(Stopped::Failed { error, .. }) => Err(error),
        }
    }
}

/// What the run has made and found so far.
pub struct Record {
    /// The manifests: the given ones, then each job's when it ended.
    pub manifests: Vec<(String, Manifest)>,
    /// What the steps found.
    pub facts: Facts,
    /// The pull request, once published.
    pub published: Option<crate::stages::publish::Published>,
    /// The last change set, once submitted.
    pub change_set: Option<crate::aws::catalog::ChangeSetState>,
    /// A failed verification deferred to the end (`verify.on-failure: draft`).
    pub deferred: Option<(JobId, anyhow::Error)>,
}

impl Record {
    /// The manifests as the pull request shows them: after a deferred failed verification the
    /// draft shows what exists (the failed image, uncopied), so those manifests are not held
    /// back as incomplete.
    pub fn shown_manifests(&self) -> Vec<(String, Manifest)> {
        let mut shown = self.manifests.clone();
        if self.deferred.is_some() {
            for (_, manifest) in &mut shown {
                if manifest.verification.iter().any(|v| !v.passed()) {
                    manifest.incomplete = false;
                }
            }
        }
        shown
    }
}

/// Why a step failed.
pub enum StepError {
    /// A stage's error (a job's steps, the test stack): a failed verification can be deferred.
    Stage(StageError),
    /// Anything else.
    Other(anyhow::Error),
}

impl From<StageError> for StepError {
    fn from(error: StageError) -> Self {
        StepError::Stage(error)
    }
}

impl From<anyhow::Error> for StepError {
    fn from(error: anyhow::Error) -> Self {
        StepError::Other(error)
    }
}
