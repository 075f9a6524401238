//! The schedule as data: what a release runs is [`steps`], a pure function of the prepared
//! release's [`Shape`], printed and tested before anything runs (as cargo-dist's `BuildStep`
//! list is). The engine's loop ([`super::run`]) runs the list one step after another and maps a
//! failure to the step's [`Stage`].
//!
//! Adding a stage means: a [`Step`] variant, its file in `src/stages/`, its row in [`steps`]
//! (and [`Step::stage`]), and its arm in the loop's dispatch.

use std::fmt;

use super::stage::{Stage, Stages};
use crate::config::Architecture;

/// One job of a release: the build, verification and copy of one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobId {
    /// Its place in the order the jobs run in (`build.architectures` order).
    pub index: usize,
    /// Its architecture.
    pub architecture: Architecture,
}

/// A step of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStep {
    /// The AWS pre-flight of the job: regions, an earlier build, encryption, quota.
    Account,
    /// Build the image (or resume the earlier run's).
    Build,
    /// Copy the existing AMI (`build.image`) into the release's image.
    Import,
    /// Boot the image in the build region and check it, before any copy.
    Verify,
    /// Copy and share the image to the regions.
    Copy,
    /// Boot the copies in `verify.regions`.
    VerifyCopies,
}

/// One step of a release, in the order [`steps`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The seller account and the ingestion role, before anything is built.
    Seller,
    /// The live listing, before anything is built (`product.id` set).
    Listing,
    /// A step of one job.
    Job(JobId, JobStep),
    /// The regenerated template launched as a test stack, once the copies exist.
    TestStack,
    /// AWS Marketplace's ingestion rules over the images this run built.
    Ingestion,
    /// A submit job after the merge: the seller account and the images' attributes again.
    Recheck,
    /// Regenerate the templates in the workspace.
    Templates,
    /// Commit the templates and open or update the pull request.
    Publish,
    /// Add the version through the Marketplace Catalog API.
    Submit,
}

/// Where a job's image comes from, as the schedule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A builder boots the base image with the build script.
    Build,
    /// The existing AMI of `build.image` is copied into the release's image.
    Import,
    /// The image exists already (the manifest's, or `--image`): nothing is made.
    Given,
}

/// One job, as the schedule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobShape {
    /// Its architecture.
    pub architecture: Architecture,
    /// Where its image comes from.
    pub source: Source,
    /// Whether it boots and checks the image.
    pub verifies: bool,
}

/// What of a prepared release decides its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// The stages asked for.
    pub stages: Stages,
    /// The jobs (none when the run reads other jobs' manifests).
    pub jobs: Vec<JobShape>,
    /// `product.id` is set: the live listing is read before the build.
    pub listing: bool,
    /// `verify.regions` names regions whose copies are booted too.
    pub verify_copies: bool,
    /// `verify.stack` is configured: a test stack runs once the copies exist.
    pub test_stack: bool,
    /// A failed verification opens a draft pull request (`verify.on-failure: draft`, when
    /// this run publishes) instead of stopping the release at once.
    pub draft_on_failure: bool,
}

/// What the loop does when a step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Stop the release: nothing after the step runs.
    Stop,
    /// Record the failure, skip what must not run after it ([`Step::runs_after_deferred`]),
    /// go on, and fail the release at the end (a failed verification with
    /// `verify.on-failure: draft`).
    Defer,
}

/// The steps of a release, in order.
pub fn steps(shape: &Shape) -> Vec<Step> {
    let stages = shape.stages;
    let mut out = Vec::new();
    if !shape.jobs.is_empty() {
        out.push(Step::Seller);
        if shape.listing {
            out.push(Step::Listing);
        }
        for (index, job) in shape.jobs.iter().enumerate() {
            out.extend(job_steps(shape, index, job));
        }
        if shape.test_stack && stages.contains(Stage::Verify) {
            out.push(Step::TestStack);
        }
        if stages.contains(Stage::Publish) || stages.contains(Stage::Submit) {
            out.push(Step::Ingestion);
        }
    } else if stages.contains(Stage::Submit) {
        out.push(Step::Recheck);
    }
    for (stage, step) in [
        (Stage::Templates, Step::Templates),
        (Stage::Publish, Step::Publish),
        (Stage::Submit, Step::Submit),
    ] {
        if stages.contains(stage) {
            out.push(step);
        }
    }
    out
}

fn job_steps(shape: &Shape, index: usize, job: &JobShape) -> Vec<Step> {
    let id = JobId {
        index,
        architecture: job.architecture,
    };
    let mut steps = vec![JobStep::Account];
    match job.source {
        Source::Build => steps.push(JobStep::Build),
        Source::Import => steps.push(JobStep::Import),
        Source::Given => {}
    }
    if job.verifies {
        steps.push(JobStep::Verify);
    }
    if shape.stages.contains(Stage::Copy) {
        steps.push(JobStep::Copy);
    }
    if job.verifies && shape.verify_copies {
        steps.push(JobStep::VerifyCopies);
    }
    steps.into_iter().map(|s| Step::Job(id, s)).collect()
}

impl Step {
    /// The stage a failure of this step is reported under.
    pub fn stage(self, stages: Stages) -> Stage {
        let first = || {
            [Stage::Build, Stage::Verify]
                .into_iter()
                .find(|s| stages.contains(*s))
                .unwrap_or(Stage::Copy)
        };
        match self {
            Step::Seller | Step::Listing | Step::Job(_, JobStep::Account) => first(),
            Step::Job(_, JobStep::Build | JobStep::Import) => Stage::Build,
            Step::Job(_, JobStep::Verify | JobStep::VerifyCopies) | Step::TestStack => {
                Stage::Verify
            }
            Step::Job(_, JobStep::Copy) => Stage::Copy,
            Step::Ingestion if stages.contains(Stage::Publish) => Stage::Publish,
            Step::Ingestion | Step::Recheck | Step::Submit => Stage::Submit,
            Step::Templates => Stage::Templates,
            Step::Publish => Stage::Publish,
        }
    }

    /// The job the step belongs to, if any.
    pub fn job(self) -> Option<JobId> {
        match self {
            Step::Job(id, _) => Some(id),
            _ => None,
        }
    }

    /// What happens when the step fails, `verification` saying whether the failure is a
    /// failed verification of the image (rather than, say, an AWS error).
    pub fn on_failure(self, shape: &Shape, verification: bool) -> OnFailure {
        let verifying = matches!(self, Step::Job(_, JobStep::Verify | JobStep::VerifyCopies));
        if verifying && verification && shape.draft_on_failure {
            OnFailure::Defer
        } else {
            OnFailure::Stop
        }
    }

    /// Whether the step still runs after a failed verification of job `failed` was deferred:
    /// the other jobs, the templates and the draft pull request do; the failed job's later
    /// steps, the test stack, the ingestion checks and submit do not.
    pub fn runs_after_deferred(self, failed: JobId) -> bool {
        match self {
            Step::Job(id, _) => id != failed,
            Step::Seller | Step::Listing | Step::Templates | Step::Publish => true,
            Step::TestStack | Step::Ingestion | Step::Recheck | Step::Submit => false,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Step::Seller => "seller: the account and the ingestion role",
            Step::Listing => "listing: the live listing",
            Step::Job(id, step) => {
                let what = match step {
                    JobStep::Account => "account checks",
                    JobStep::Build => "build the image",
                    JobStep::Import => "import the existing AMI",
                    JobStep::Verify => "verify it in the build region",
                    JobStep::Copy => "copy and share it",
                    JobStep::VerifyCopies => "verify the copies in verify.regions",
                };
                return write!(f, "{}: {what}", id.architecture.as_str());
            }
            Step::TestStack => "test stack: launch, check, delete",
            Step::Ingestion => "ingestion checks on the built images",
            Step::Recheck => "seller and ingestion checks again, before submitting",
            Step::Templates => "templates: regenerate in the workspace",
            Step::Publish => "publish: the release pull request",
            Step::Submit => "submit: the version through the Catalog API",
        };
        f.write_str(text)
    }
}

/// The steps as `plan` lists them, one a line, numbered.
pub fn describe(steps: &[Step]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| format!("{:>2}. {step}\n", i + 1))
        .collect()
}

#[cfg(test)]
mod tests;
