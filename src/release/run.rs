//! The loop: run each step of [`steps`](super::steps::steps) in order, hand a job's manifest on
//! (saved) when its last step ends, and map a failure to the step's stage — or, for a failed
//! verification with `verify.on-failure: draft`, defer it to the end and skip what must not
//! run after it.

use anyhow::anyhow;

use super::context::Aws;
use super::prepared::Release;
use super::record::{Outcome, Record, StepError, Stopped};
use super::stage::Stage;
use super::steps::{JobId, JobStep, OnFailure, Shape, Step};
use crate::domain::facts::Facts;
use crate::output::log;
use crate::plan;
use crate::stages::{CancellationToken, StageError};

impl Release {
    /// Runs the steps; the outcome says what exists, also after a failure or a signal.
    pub async fn run(mut self, cancel: &CancellationToken) -> Outcome {
        let shape = self.shape();
        let steps = super::steps::steps(&shape);
        let max_in_flight =
            usize::try_from(self.resolved.config.copy.max_concurrency.get()).unwrap_or(1);
        let aws = Aws::new(max_in_flight);
        let mut record = Record {
            manifests: std::mem::take(&mut self.given),
            facts: Facts::default(),
            published: None,
            change_set: None,
            deferred: None,
        };
        let stopped = self
            .run_steps(&shape, &steps, &aws, &mut record, cancel)
            .await;
        let resolved = &self.resolved;
        Outcome {
            branch: plan::release_branch(&resolved.config, resolved.vars()).unwrap_or_default(),
            title: format!("{} {}", resolved.config.product.name, resolved.version),
            stages: resolved.stages,
            manifests: record.manifests,
            published: record.published,
            change_set: record.change_set,
            facts: record.facts,
            stopped,
        }
    }

    async fn run_steps(
        &mut self,
        shape: &Shape,
        steps: &[Step],
        aws: &Aws,
        record: &mut Record,
        cancel: &CancellationToken,
    ) -> Option<Stopped> {
        let mut open: Option<JobId> = None;
        for &step in steps {
            if let Some(job) = open.filter(|job| step.job() != Some(*job)) {
                open = None;
                if let Err(error) = self.close_job(job, record) {
                    return Some(self.stopped(step_before(steps, job), error));
                }
            }
            if record
                .deferred
                .as_ref()
                .is_some_and(|(failed, _)| !step.runs_after_deferred(*failed))
            {
                continue;
            }
            match self.run_step(step, aws, record, cancel).await {
                Ok(()) => open = step.job(),
                Err(error) => {
                    open = None;
                    if let Some(stopped) = self.failed(shape, step, error, record) {
                        return Some(stopped);
                    }
                }
            }
        }
        if let Some(job) = open {
            if let Err(error) = self.close_job(job, record) {
                return Some(self.stopped(step_before(steps, job), error));
            }
        }
        let (_, error) = record.deferred.take()?;
        log::say("verify: the image failed its verification; a draft pull request shows why (verify.on-failure: draft)");
        Some(Stopped::Failed {
            stage: Stage::Verify,
            error,
        })
    }

    /// Runs one step.
    async fn run_step(
        &mut self,
        step: Step,
        aws: &Aws,
        record: &mut Record,
        cancel: &CancellationToken,
    ) -> Result<(), StepError> {
        match step {
            Step::Seller => self.seller(aws, record).await?,
            Step::Listing => self.listing(aws, record).await?,
            Step::Job(job, job_step) => self.job_step(job, job_step, aws, cancel).await?,
            Step::TestStack => self.test_stack(aws, record, cancel).await?,
            Step::Ingestion => self.ingestion(aws, record, false).await?,
            Step::Recheck => {
                self.seller(aws, record).await?;
                self.ingestion(aws, record, true).await?;
            }
            Step::Templates => self.templates(record)?,
            Step::Publish => self.publish(record).await?,
            Step::Submit => self.submit(aws, record, cancel).await?,
        }
        Ok(())
    }

    /// After `step` failed: why the release stops, or `None` when the failure is deferred.
    fn failed(
        &mut self,
        shape: &Shape,
        step: Step,
        error: StepError,
        record: &mut Record,
    ) -> Option<Stopped> {
        let error = match (step.job(), error) {
            (Some(job), StepError::Stage(error)) => {
                let saves = !matches!(step, Step::Job(_, JobStep::Account));
                self.close_failed_job(job, error, saves, record)
            }
            (_, StepError::Stage(error)) => error,
            (_, StepError::Other(error)) => {
                return Some(Stopped::Failed {
                    stage: step.stage(self.resolved.stages),
                    error,
                })
            }
        };
        let verification = matches!(error, StageError::VerificationFailed { .. });
        match (step.on_failure(shape, verification), step.job()) {
            (OnFailure::Defer, Some(job)) => {
                record.deferred.get_or_insert((job, anyhow!("{error}")));
                None
            }
            _ => {
                if verification && self.resolved.stages.contains(Stage::Publish) {
                    log::say("verify: the image failed its verification, so no pull request was opened (verify.on-failure: stop); the manifest records why");
                }
                Some(self.stopped(step, error))
            }
        }
    }

    /// Why the release stops after `step` failed with `error`.
    fn stopped(&self, step: Step, error: StageError) -> Stopped {
        match error {
            StageError::Cancelled => Stopped::Cancelled,
            error => Stopped::Failed {
                stage: step.stage(self.resolved.stages),
                error: anyhow!("{error}"),
            },
        }
    }
}

/// The last step of `job` in `steps`, which a failure to hand its manifest on is reported
/// under.
fn step_before(steps: &[Step], job: JobId) -> Step {
    steps
        .iter()
        .rev()
        .find(|s| s.job() == Some(job))
        .copied()
        .expect("a job that ran has steps")
}
