//! The build stage: boot a builder from the base image with the wrapped build script as
//! user-data, wait for it to power off, check its console for the result marker, make the
//! image, require IMDSv2 and tag it. The builder is terminated on every path: success,
//! failure, timeout and cancellation.

use crate::domain::state::ImageState;
use crate::output::progress;
use std::time::{Duration, Instant};

use crate::aws::ec2::{Ec2, ImageInfo, LaunchRequest};
use crate::config::{Architecture, BaseAmi, Config};
use crate::domain::manifest::{Builder, Manifest, RegionImage};
use crate::plan::userdata::{self, BuildResult, UserData};
use crate::stages::wait::{self, PollSchedule};
use crate::stages::{sleep_or_cancel, tag, CancellationToken, StageError};

/// Console lines shown when a build fails.
const TAIL_LINES: usize = 25;

/// Everything the build stage needs, validated before any AWS resource exists.
pub struct BuildPlan<'a> {
    /// The config.
    pub config: &'a Config,
    /// The architecture to build.
    pub architecture: Architecture,
    /// The user-data (wrapper around the build script).
    pub user_data: UserData,
    /// Tags on the builder, its volumes, the image and its snapshots.
    pub tags: Vec<(String, String)>,
    /// The AMI description.
    pub description: String,
    /// How to poll.
    pub schedule: PollSchedule,
}

/// Runs the build; on return the builder is terminated and `manifest` (rewritten at `path`
/// after every step) says what exists.
pub async fn build(
    ec2: &Ec2,
    plan: &BuildPlan<'_>,
    manifest: &mut Manifest,
    path: &std::path::Path,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let config = plan.config;
    let region = config.build.region.as_str().to_owned();
    progress::open_group(&format!(
        "Build {} ({}) in {region}",
        manifest.name,
        plan.architecture.as_str()
    ));
    let started = Instant::now();
    let base = resolve_base(ec2, config, plan.architecture, &region).await?;
    manifest.base_image_id = Some(base.image_id.clone());
    progress::line(&format!(
        "build: base image {} ({})",
        base.image_id, base.name
    ));

    let root_volume = base.root_device_name.clone().map(|device| {
        (
            device,
            config.build.root_volume.size_gib.get() as i32,
            config.build.root_volume.r#type.as_str().to_owned(),
        )
    });
    let mut builder_tags = plan.tags.clone();
    builder_tags.push((tag::ROLE.into(), "builder".into()));
    builder_tags.push((
        "Name".into(),
        format!("marketplace-release builder {}", manifest.name),
    ));
    let request = LaunchRequest {
        image_id: base.image_id.clone(),
        instance_type: config.build.instance_type.to_string(),
        user_data: plan.user_data.base64.clone(),
        root_volume,
        subnet_id: config.build.subnet_id.as_ref().map(ToString::to_string),
        security_group_id: config
            .build
            .security_group_id
            .as_ref()
            .map(ToString::to_string),
        tags: builder_tags,
    };
    if cancel.is_cancelled() {
        return Err(StageError::Cancelled);
    }
    let instance = ec2.run_builder(&region, &request).await?;
    manifest.builder = Some(Builder {
        instance_id: instance.clone(),
        terminated: false,
    });
    save(manifest, path)?;
    progress::line(&format!("build: builder {instance} launched; waiting for the build script to finish and power it off"));

    let outcome = on_builder(ec2, plan, manifest, path, &region, &instance, cancel).await;

    // Always: the builder goes, whatever happened above.
    let terminated = ec2.terminate(&region, &instance).await;
    if let Some(builder) = manifest.builder.as_mut() {
        builder.terminated = terminated.is_ok();
    }
    match &terminated {
        Ok(()) => progress::line(&format!("build: builder {instance} terminated")),
        Err(e) => progress::line(&format!(
            "build: could not terminate builder {instance} in {region}: {e}; terminate it by hand"
        )),
    }
    manifest
        .timings
        .insert("build".into(), started.elapsed().as_secs_f64());
    save(manifest, path)?;
    progress::close_group();
    outcome?;
    terminated?;
    Ok(())
}

async fn resolve_base(
    ec2: &Ec2,
    config: &Config,
    architecture: Architecture,
    region: &str,
) -> Result<ImageInfo, StageError> {
    let base = &config.build.base_ami;
    if let BaseAmi::Id { id } = base {
        let id = id.to_string();
        return ec2.images(region, std::slice::from_ref(&id)).await?.into_iter().next().ok_or_else(|| {
            StageError::Other(format!("base image {id} does not exist in {region}\n  help: check build.base-ami.id and build.region"))
        });
    }
    if let Some(alias) = base.ssm_alias() {
        // DescribeImages resolves SSM aliases on AWS; without it the alias still works for
        // RunInstances, only the root volume keeps its default size.
        return Ok(
            match ec2.images(region, std::slice::from_ref(&alias)).await {
                Ok(found) if !found.is_empty() => found.into_iter().next().expect("non-empty"),
                _ => ImageInfo {
                    image_id: alias.clone(),
                    name: alias,
                    state: ImageState::Available,
                    state_reason: None,
                    creation_date: String::new(),
                    root_device_name: None,
                    snapshot_ids: Vec::new(),
                    tags: Vec::new(),
                },
            },
        );
    }
    let BaseAmi::Filter { owner, name } = base.clone() else {
        unreachable!("the id and ssm sources returned above")
    };
    ec2.newest_image(region, &owner, &name, architecture.as_str())
        .await?
        .ok_or(StageError::NoBaseImage {
            owner,
            name,
            architecture: architecture.as_str().into(),
            region: region.into(),
        })
}

/// Waits for the builder to stop, checks the result, and makes the image.
#[allow(
    clippy::too_many_lines,
    reason = "the builder wait loop: its states, the timeout and the console reads share the loop's variables"
)]
async fn on_builder(
    ec2: &Ec2,
    plan: &BuildPlan<'_>,
    manifest: &mut Manifest,
    path: &std::path::Path,
    region: &str,
    instance: &str,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let timeout = plan.config.build.timeout_minutes.duration();
    let started = Instant::now();
    let mut last_progress = Instant::now();
    loop {
        let state = ec2.instance_state(region, instance).await?;
        match state.as_str() {
            "stopped" => break,
            "terminated" | "shutting-down" => {
                let tail = userdata::tail(
                    &ec2.console_output(region, instance)
                        .await
                        .unwrap_or_default(),
                    TAIL_LINES,
                );
                return Err(StageError::NoResult {
                    instance: instance.into(),
                    region: region.into(),
                    tail,
                });
            }
            _ => {}
        }
        let waited = started.elapsed();
        if waited >= timeout {
            let console = ec2
                .console_output(region, instance)
                .await
                .unwrap_or_default();
            return Err(StageError::Timeout {
                what: format!("the build on builder {instance} in {region}"),
                seconds: timeout.as_secs(),
                tail: format!(". Last console lines:\n{}", userdata::tail(&console, TAIL_LINES)),
                help: "raise build.timeout-minutes if the build is slow, or check that the script ends and the instance can power off; the builder was terminated".into(),
            });
        }
        if last_progress.elapsed() >= plan.schedule.progress {
            progress::line(&format!(
                "build: builder {instance} {state} for {}",
                wait::short(waited)
            ));
            last_progress = Instant::now();
        }
        sleep_or_cancel(
            plan.schedule
                .next(waited)
                .min(timeout.saturating_sub(waited))
                .max(Duration::from_millis(50)),
            cancel,
        )
        .await?;
    }
    let console = ec2.console_output(region, instance).await?;
    match userdata::parse_result(&console, &manifest.run_id) {
        BuildResult::Success => {
            progress::line("build: the build script and the hardening succeeded")
        }
        BuildResult::Failed(code) => {
            return Err(StageError::ScriptFailed {
                instance: instance.into(),
                region: region.into(),
                code,
                tail: userdata::tail(&console, TAIL_LINES),
            })
        }
        BuildResult::Unknown => {
            return Err(StageError::NoResult {
                instance: instance.into(),
                region: region.into(),
                tail: userdata::tail(&console, TAIL_LINES),
            })
        }
    }
    manifest
        .timings
        .insert("builder".into(), started.elapsed().as_secs_f64());

    let image_started = Instant::now();
    let mut image_tags = plan.tags.clone();
    image_tags.push(("Name".into(), manifest.name.clone()));
    let image_id = ec2
        .create_image(
            region,
            instance,
            &manifest.name,
            &plan.description,
            &image_tags,
        )
        .await?;
    manifest.source_image_id = Some(image_id.clone());
    manifest
        .regions
        .insert(region.into(), RegionImage::pending(&image_id, true));
    save(manifest, path)?;
    progress::line(&format!(
        "build: image {image_id} requested; waiting for it to become available"
    ));
    let image = wait_available(
        ec2,
        region,
        &image_id,
        plan.config.copy.timeout_minutes.duration(),
        plan.schedule,
        cancel,
    )
    .await?;
    ec2.require_imdsv2(region, &image_id).await?;
    // Snapshots are tagged once they exist (CreateImage's snapshot tag specification is not
    // accepted everywhere).
    let mut resources = vec![image_id.clone()];
    resources.extend(image.snapshot_ids.iter().cloned());
    ec2.tag(region, &resources, &image_tags).await?;
    let entry = manifest.regions.get_mut(region).expect("inserted above");
    entry.state = ImageState::Available;
    entry.snapshot_ids = image.snapshot_ids.clone();
    entry.seconds = Some(image_started.elapsed().as_secs_f64());
    manifest
        .timings
        .insert("image".into(), image_started.elapsed().as_secs_f64());
    save(manifest, path)?;
    progress::line(&format!(
        "build: image {image_id} is available in {region} (IMDSv2 required, tagged)"
    ));
    Ok(())
}

/// Polls one image until it is available; `failed` reports AWS's state reason.
pub async fn wait_available(
    ec2: &Ec2,
    region: &str,
    image_id: &str,
    timeout: Duration,
    schedule: PollSchedule,
    cancel: &CancellationToken,
) -> Result<ImageInfo, StageError> {
    let started = Instant::now();
    loop {
        if let Some(image) = ec2
            .images(region, &[image_id.to_owned()])
            .await?
            .into_iter()
            .next()
        {
            match image.state {
                ImageState::Available => return Ok(image),
                state if state.in_progress() => {}
                other => {
                    return Err(StageError::ImageFailed {
                        image: image_id.into(),
                        region: region.into(),
                        reason: image
                            .state_reason
                            .clone()
                            .unwrap_or_else(|| format!("state {other}")),
                    })
                }
            }
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(StageError::Timeout {
                what: format!("image {image_id} in {region}"),
                seconds: timeout.as_secs(),
                tail: String::new(),
                help: "raise copy.timeout-minutes; the image may still become available, and a re-run reuses it".into(),
            });
        }
        sleep_or_cancel(schedule.next(waited), cancel).await?;
    }
}

/// Writes the manifest, as a stage error.
pub fn save(manifest: &Manifest, path: &std::path::Path) -> Result<(), StageError> {
    manifest
        .write(path)
        .map_err(|e| StageError::Other(format!("{e:#}")))
}
