//! A job's steps — the account checks, the image (built, imported or resumed), the verify
//! boot, the copy, the copies' boots — each a call into its stage with the job's plan, and the
//! end of a job: its manifest marked complete or not, with the commands that remove what a
//! failed run left, saved, and handed on.

use std::path::Path;

use super::context::Aws;
use super::job::{Job, Origin};
use super::prepared::Release;
use super::record::Record;
use super::stage::Stage;
use super::steps::{JobId, JobStep};
use crate::aws::ec2::Ec2;
use crate::domain::manifest::Manifest;
use crate::domain::state::ImageState;
use crate::output::{self, log};
use crate::stages::build::{self, BuildPlan};
use crate::stages::copy::{self, CopyPlan};
use crate::stages::image::{save, Waiting};
use crate::stages::import::{self, ImportPlan};
use crate::stages::preflight::account::{self as preflight, Start};
use crate::stages::verify;
use crate::stages::{tag, CancellationToken, StageError};

impl Release {
    /// Runs one step of job `id`.
    pub(super) async fn job_step(
        &mut self,
        id: JobId,
        step: JobStep,
        aws: &Aws,
        cancel: &CancellationToken,
    ) -> Result<(), StageError> {
        let ec2 = aws.ec2().await;
        let (resolved, job) = (&self.resolved, &mut self.jobs[id.index]);
        let stages = resolved.stages;
        let path = job.manifest_path.clone();
        match step {
            JobStep::Account => {
                let tags = self.tags(&self.jobs[id.index].manifest.run_id);
                let job = &mut self.jobs[id.index];
                job.copy_plan.tags.clone_from(&tags);
                if let Some(verify) = job.verify.as_mut() {
                    verify.tags = tags;
                }
                let start = self.account(&ec2, id.index).await?;
                self.jobs[id.index].start = Some(start);
            }
            JobStep::Build | JobStep::Import => self.make_image(&ec2, id.index, cancel).await?,
            JobStep::Verify => {
                let plan = job
                    .verify
                    .as_ref()
                    .expect("a verifying job has a verify plan");
                let source = job.manifest.source_region.clone();
                verify::verify_unless_done(&ec2, plan, &source, &mut job.manifest, &path, cancel)
                    .await?;
                job.copy_plan
                    .tags
                    .push((tag::VERIFICATION.into(), "passed".into()));
            }
            JobStep::Copy => {
                let manifest = job.manifest.clone();
                let (manifest, copied) =
                    copy::copy(ec2.clone(), job.copy_plan.clone(), manifest, &path, cancel).await;
                job.manifest = manifest;
                copied?;
                announce(&job.manifest, &path);
            }
            JobStep::VerifyCopies => {
                let plan = job
                    .verify
                    .as_ref()
                    .expect("a verifying job has a verify plan");
                let regions = resolved
                    .config
                    .verify
                    .as_ref()
                    .map(|v| v.regions.as_slice())
                    .unwrap_or_default();
                let copied = stages.contains(Stage::Copy);
                verify::verify_copies(
                    &ec2,
                    plan,
                    regions,
                    copied,
                    &mut job.manifest,
                    &path,
                    cancel,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The tags of everything a job makes: the config's, then the run, version and product.
    fn tags(&self, run_id: &str) -> Vec<(String, String)> {
        let config = &self.resolved.config;
        let mut tags: Vec<(String, String)> = config
            .build
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.push((tag::RUN_ID.into(), run_id.into()));
        tags.push((tag::VERSION.into(), self.resolved.version.to_string()));
        tags.push((tag::PRODUCT.into(), config.product.name.clone()));
        tags
    }

    /// The job's AWS pre-flight: resolves the target regions and asks the account what would
    /// stop the release ([`preflight`]); where the build starts.
    async fn account(&mut self, ec2: &Ec2, index: usize) -> Result<Start, StageError> {
        let config = &self.resolved.config;
        let copying = self.resolved.stages.contains(Stage::Copy);
        let job = &mut self.jobs[index];
        let origin = job.origin.preflight();
        let manifest = &job.manifest;
        let building = match origin {
            preflight::Origin::Script(sha256) => !sha256.is_empty(),
            preflight::Origin::Image(_) => true,
        };
        let plan: &mut CopyPlan = &mut job.copy_plan;
        if copying {
            plan.regions =
                preflight::target_regions(ec2, &plan.regions, &manifest.source_region).await?;
        } else {
            let source = manifest.source_region.clone();
            preflight::target_regions(ec2, std::slice::from_ref(&source), &source).await?;
        }
        let regions = if copying {
            plan.regions.clone()
        } else {
            Vec::new()
        };
        let budget = config.build.timeout_minutes.duration() * u32::from(building)
            + config.copy.timeout_minutes.duration() * u32::from(copying);
        let checks = preflight::Checks {
            build_region: &manifest.source_region,
            regions: &regions,
            building,
            public: config.sharing.public,
            marketplace: config.product.id.is_some() || config.submit.is_some(),
            image_name: &manifest.name,
            release: (&manifest.product, &manifest.version, &manifest.architecture),
            origin,
            budget,
        };
        preflight::run(ec2, &checks).await
    }

    /// The job's image: an earlier run's resumed, else built, else the existing AMI copied in.
    async fn make_image(
        &mut self,
        ec2: &Ec2,
        index: usize,
        cancel: &CancellationToken,
    ) -> Result<(), StageError> {
        let copying = self.resolved.stages.contains(Stage::Copy);
        let tags = self.tags(&self.jobs[index].manifest.run_id);
        let (resolved, job) = (&self.resolved, &mut self.jobs[index]);
        let config = &resolved.config;
        let path = job.manifest_path.clone();
        let schedule = resolved.env.poll_schedule();
        let made = match job.start.take() {
            Some(Start::Resume(image)) => {
                let timeout = config.copy.timeout_minutes.duration();
                build::resume(
                    ec2,
                    &image,
                    &mut job.manifest,
                    &path,
                    timeout,
                    schedule,
                    cancel,
                )
                .await
            }
            _ => make_new_image(job, config, tags, schedule, ec2, cancel).await,
        };
        job.manifest.incomplete = made.is_err() || copying;
        made?;
        let manifest = &job.manifest;
        log::say(&format!(
            "build: {}{} → {}",
            manifest.source_image_id.as_deref().unwrap_or("?"),
            manifest
                .imported_from
                .as_deref()
                .map(|from| format!(" (a copy of {from}, not built here)"))
                .unwrap_or_default(),
            path.display()
        ));
        Ok(())
    }

    /// Ends job `id` after its last step: the manifest complete (no cleanup commands), saved,
    /// handed on. A manifest that can't be saved is the job's failure.
    pub(super) fn close_job(&mut self, id: JobId, record: &mut Record) -> Result<(), StageError> {
        let job = &mut self.jobs[id.index];
        job.manifest.cleanup = if job.manifest.incomplete {
            job.manifest.cleanup_commands()
        } else {
            Vec::new()
        };
        let saved = save(&job.manifest, &job.manifest_path);
        record.manifests.push(hand_on(job));
        saved.map_err(|e| with_leftovers(e, &job.manifest, &job.manifest_path))
    }

    /// Ends job `id` after a step failed with `error`: the manifest marked incomplete, with the
    /// commands that remove what the run left, saved (unless `saves` is false: a pre-flight
    /// failure leaves the manifest as it was), handed on; the error, with what is left in the
    /// account when the run could not clean up after itself.
    pub(super) fn close_failed_job(
        &mut self,
        id: JobId,
        error: StageError,
        saves: bool,
        record: &mut Record,
    ) -> StageError {
        let job = &mut self.jobs[id.index];
        if !saves {
            record.manifests.push(hand_on(job));
            return error;
        }
        job.manifest.incomplete = true;
        job.manifest.cleanup = job.manifest.cleanup_commands();
        let error = match save(&job.manifest, &job.manifest_path) {
            Ok(()) => error,
            Err(saving) => StageError::Other(format!("{error}\n  and then: {saving}")),
        };
        record.manifests.push(hand_on(job));
        with_leftovers(error, &job.manifest, &job.manifest_path)
    }
}

/// A build with the wrapped build script, or the existing AMI copied into the release's image.
async fn make_new_image(
    job: &mut Job,
    config: &crate::config::Config,
    tags: Vec<(String, String)>,
    schedule: crate::stages::wait::PollSchedule,
    ec2: &Ec2,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let path = job.manifest_path.clone();
    match &job.origin {
        Origin::Build {
            user_data,
            base_ami,
            script_sha256,
        } => {
            let plan = BuildPlan {
                config,
                architecture: job.architecture,
                base_ami,
                user_data: user_data.clone(),
                tags,
                description: job.description.clone(),
                schedule,
                script_sha256: script_sha256.clone(),
            };
            build::build(ec2, &plan, &mut job.manifest, &path, cancel).await
        }
        Origin::Import(image) => {
            let plan = ImportPlan {
                image: image.as_str(),
                architecture: job.architecture.as_str(),
                tags,
                description: &job.description,
                waiting: Waiting {
                    timeout: config.copy.timeout_minutes.duration(),
                    schedule,
                    started: std::time::Instant::now(),
                },
            };
            import::import(ec2, &plan, &mut job.manifest, &path, cancel).await
        }
        Origin::Given => Ok(()),
    }
}

/// A job's manifest with its path, for the rest of the release.
fn hand_on(job: &Job) -> (String, Manifest) {
    (
        job.manifest_path.display().to_string(),
        job.manifest.clone(),
    )
}

/// Announces the available AMIs (a notice in GitHub Actions).
fn announce(manifest: &Manifest, path: &Path) {
    let amis: Vec<String> = manifest
        .regions
        .iter()
        .filter(|(_, image)| image.state == ImageState::Available)
        .map(|(region, image)| format!("{region}: {}", image.image_id))
        .collect();
    log::say(&format!(
        "copy: {} regions available → {}",
        amis.len(),
        path.display()
    ));
    output::notice(
        &format!(
            "AMIs of {} {} ({})",
            manifest.product, manifest.version, manifest.architecture
        ),
        &amis.join(", "),
    );
}

/// Adds what is still in the account, and how to remove it, to a failure the run can't clean
/// up after itself (credentials that expired or are gone).
fn with_leftovers(error: StageError, manifest: &Manifest, path: &Path) -> StageError {
    if error.credential_problem().is_none() || manifest.cleanup.is_empty() {
        return error;
    }
    let commands: String = manifest
        .cleanup
        .iter()
        .map(|c| format!("\n    {c}"))
        .collect();
    StageError::Other(format!(
        "{error}\n  still in the account, made by this run (listed in {} under `cleanup`); a re-run resumes from them, or remove them with:{commands}",
        path.display()
    ))
}
