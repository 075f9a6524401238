//! The build stage: boot a builder from the base image with the wrapped build script as
//! user-data, wait for it to power off, read its console until the result marker shows, make
//! the image (tagged at creation, with the build's result and the script's digest), require
//! IMDSv2, and check that its snapshots are unencrypted. The builder is terminated on every
//! path after launch: success, failure, timeout, cancellation, a manifest that can't be
//! written; and EC2 is asked until it reports the builder shutting down.
//!
//! [`resume`] takes an image an earlier run of the same release built instead (the AWS
//! preflight decides which).

use crate::domain::state::ImageState;
use crate::output::progress;
use std::time::{Duration, Instant};

use crate::aws::ec2::{Ec2, ImageInfo, LaunchRequest};
use crate::config::{Architecture, BaseAmi, Config};
use crate::domain::manifest::{Builder, Manifest, RegionImage};
use crate::domain::timeline::Span;
use crate::plan::userdata::{self, BuildResult, UserData};
use crate::stages::cancel::CancellationToken;
use crate::stages::error::StageError;
use crate::stages::image::{finish_image, save, wait_available, Waiting};
use crate::stages::instance::{self, Console, Ended, Watched, TAIL_LINES};
use crate::stages::tag;
use crate::stages::wait::PollSchedule;

/// Everything the build stage needs, validated before any AWS resource exists.
pub struct BuildPlan<'a> {
    /// The config.
    pub config: &'a Config,
    /// The architecture to build.
    pub architecture: Architecture,
    /// The image the builder boots.
    pub base_ami: &'a BaseAmi,
    /// The user-data (wrapper around the build script).
    pub user_data: UserData,
    /// Tags on the builder, its volumes, the image and its snapshots.
    pub tags: Vec<(String, String)>,
    /// The AMI description.
    pub description: String,
    /// How to poll.
    pub schedule: PollSchedule,
    /// The build script's SHA-256, recorded on the image.
    pub script_sha256: String,
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
    terminate_leftover(ec2, manifest, path, &region).await?;
    let base = resolve_base(ec2, plan.base_ami, plan.architecture, &region).await?;
    manifest.base_image_id = Some(base.image_id.clone());
    progress::line(&format!(
        "build: base image {} ({})",
        base.image_id, base.name
    ));

    let request = launch_request(plan, &base, &manifest.name);
    if cancel.is_cancelled() {
        return Err(StageError::Cancelled);
    }
    let launched = Span::starting_now();
    let instance = ec2.launch(&region, &request).await?;
    manifest.timeline.builder = Some(launched);
    manifest.builder = Some(Builder {
        instance_id: instance.clone(),
        terminated: false,
    });
    progress::line(&format!("build: builder {instance} launched; waiting for the build script to finish and power it off"));
    // From here on nothing may skip the terminate below, not even a manifest write.
    let outcome = match save(manifest, path) {
        Ok(()) => on_builder(ec2, plan, manifest, path, &region, &instance, cancel).await,
        Err(e) => Err(e),
    };

    if let Some(span) = manifest.timeline.builder.filter(|s| s.end.is_none()) {
        manifest.timeline.builder = Some(span.ended_now());
    }
    let terminated = terminate_builder(ec2, &region, &instance).await;
    if let Some(builder) = manifest.builder.as_mut() {
        builder.terminated = terminated.is_ok();
    }
    match &terminated {
        Ok(()) => progress::line(&format!("build: builder {instance} terminated")),
        Err(e) => progress::line(&format!(
            "build: builder {instance} in {region} is not terminated: {}",
            e.to_string().lines().next().unwrap_or_default()
        )),
    }
    manifest
        .timings
        .insert("build".into(), started.elapsed().as_secs_f64());
    let saved = save(manifest, path);
    progress::close_group();
    match (outcome, terminated) {
        // Both are news: the build's failure, and a builder that may still be running
        // (when the credentials are gone, the manifest's cleanup list says so instead).
        (Err(failed), Err(not_terminated)) if failed.credential_problem().is_none() => {
            Err(StageError::Other(format!("{failed}\n{not_terminated}")))
        }
        (outcome, terminated) => outcome.and(terminated).and(saved),
    }
}

/// The builder's launch request: the base image, the wrapped script, the root volume, and
/// the tags of the builder and its volumes.
fn launch_request(plan: &BuildPlan<'_>, base: &ImageInfo, name: &str) -> LaunchRequest {
    let config = plan.config;
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
        format!("marketplace-release builder {}", name),
    ));
    LaunchRequest {
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
    }
}

/// A builder an interrupted run of this manifest left running is terminated before another
/// is launched.
async fn terminate_leftover(
    ec2: &Ec2,
    manifest: &mut Manifest,
    path: &std::path::Path,
    region: &str,
) -> Result<(), StageError> {
    let Some(old) = manifest.builder.clone().filter(|b| !b.terminated) else {
        return Ok(());
    };
    progress::line(&format!(
        "build: terminating builder {} that an earlier run of this release left",
        old.instance_id
    ));
    terminate_builder(ec2, region, &old.instance_id).await?;
    if let Some(builder) = manifest.builder.as_mut() {
        builder.terminated = true;
    }
    save(manifest, path)
}

/// Terminates the builder; an error unless EC2 reports it shutting down or terminated.
async fn terminate_builder(ec2: &Ec2, region: &str, instance: &str) -> Result<(), StageError> {
    instance::terminate(
        ec2,
        Watched {
            stage: "build",
            role: "builder",
            region,
            instance,
        },
    )
    .await
}

/// Takes `image`, which an earlier run of this release built (its tags say the build
/// succeeded with the same script), as this run's source image: no builder is launched.
pub async fn resume(
    ec2: &Ec2,
    image: &ImageInfo,
    manifest: &mut Manifest,
    path: &std::path::Path,
    timeout: Duration,
    schedule: PollSchedule,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let region = manifest.source_region.clone();
    progress::line(&format!(
        "build: {} already exists in {region} ({}, built by run {}); resuming from it without a builder",
        image.image_id,
        image.name,
        image.tag(tag::RUN_ID).unwrap_or("?")
    ));
    manifest.source_image_id = Some(image.image_id.clone());
    // Its copies carry its name (an earlier `--rebuild` named it `<ami-name>-<run ID>`).
    manifest.name = image.name.clone();
    let created = image.tag(tag::RUN_ID) == Some(manifest.run_id.as_str());
    manifest
        .regions
        .entry(region.clone())
        .or_insert_with(|| RegionImage::pending(&image.image_id, created));
    save(manifest, path)?;
    let image = wait_available(ec2, &region, &image.image_id, timeout, schedule, cancel).await?;
    let entry = manifest.regions.get_mut(&region).expect("inserted above");
    entry.state = ImageState::Available;
    entry.snapshot_ids = image.snapshot_ids;
    save(manifest, path)
}

async fn resolve_base(
    ec2: &Ec2,
    base: &BaseAmi,
    architecture: Architecture,
    region: &str,
) -> Result<ImageInfo, StageError> {
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
                    architecture: None,
                    snapshot_ids: Vec::new(),
                    encrypted_snapshots: Vec::new(),
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

/// Waits for the builder to stop, reads the result, and makes the image.
async fn on_builder(
    ec2: &Ec2,
    plan: &BuildPlan<'_>,
    manifest: &mut Manifest,
    path: &std::path::Path,
    region: &str,
    instance: &str,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let started = Instant::now();
    let watched = Watched {
        stage: "build",
        role: "builder",
        region,
        instance,
    };
    wait_stopped(ec2, plan, watched, cancel).await?;
    let console = Console::new(ec2, region, instance);
    progress::item(
        "builder",
        &format!("{instance} stopped; reading its console"),
        false,
    );
    let result = console
        .await_marker(
            watched,
            &manifest.run_id,
            plan.config.build.console_timeout_minutes.duration(),
            plan.schedule,
            cancel,
        )
        .await?;
    let said = match result.0 {
        BuildResult::Success => "the build script succeeded",
        BuildResult::Failed(_) => "the build script failed",
        BuildResult::Unknown => "no result on the console",
    };
    progress::item("builder", said, true);
    manifest.timeline.builder = manifest.timeline.builder.map(Span::ended_now);
    match result {
        (BuildResult::Success, _) => {
            progress::line("build: the build script and the hardening succeeded");
        }
        (BuildResult::Failed(code), text) => {
            return Err(StageError::ScriptFailed {
                instance: instance.into(),
                region: region.into(),
                code,
                tail: userdata::tail(&text, TAIL_LINES),
            })
        }
        (BuildResult::Unknown, text) => {
            return Err(StageError::NoResult {
                instance: instance.into(),
                region: region.into(),
                tail: userdata::tail(&text, TAIL_LINES),
            })
        }
    }
    manifest
        .timings
        .insert("builder".into(), started.elapsed().as_secs_f64());
    make_image(ec2, plan, manifest, path, region, instance, cancel).await
}

/// Waits for the builder to power itself off; a builder gone or still running at the time
/// limit is the build's failure (the caller terminates it).
async fn wait_stopped(
    ec2: &Ec2,
    plan: &BuildPlan<'_>,
    watched: Watched<'_>,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let (region, instance) = (watched.region, watched.instance);
    let timeout = plan.config.build.timeout_minutes.duration();
    match instance::wait_stopped(ec2, watched, timeout, plan.schedule, cancel).await? {
        Ended::Stopped => Ok(()),
        Ended::Gone { tail } => Err(StageError::NoResult {
            instance: instance.into(),
            region: region.into(),
            tail,
        }),
        Ended::TimedOut { tail } => Err(StageError::Timeout {
            what: format!("the build on builder {instance} in {region}"),
            seconds: timeout.as_secs(),
            tail: format!(". Last console lines:\n{tail}"),
            help: "raise build.timeout-minutes if the build is slow, or check that the script ends and the instance can power off; the builder was terminated".into(),
        }),
    }
}

/// Makes the image of the stopped builder, tagged at creation with the build's result and the
/// script's digest; waits for it; requires IMDSv2; refuses encrypted snapshots.
async fn make_image(
    ec2: &Ec2,
    plan: &BuildPlan<'_>,
    manifest: &mut Manifest,
    path: &std::path::Path,
    region: &str,
    instance: &str,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let image_started = Instant::now();
    manifest.timeline.image = Some(Span::starting_now());
    let mut image_tags = plan.tags.clone();
    image_tags.extend([
        ("Name".to_owned(), manifest.name.clone()),
        (
            tag::ARCHITECTURE.to_owned(),
            plan.architecture.as_str().to_owned(),
        ),
        (tag::BUILD.to_owned(), tag::BUILD_SUCCEEDED.to_owned()),
        (tag::SCRIPT_SHA256.to_owned(), plan.script_sha256.clone()),
    ]);
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
    manifest.script_sha256 = Some(plan.script_sha256.clone());
    manifest
        .regions
        .insert(region.into(), RegionImage::pending(&image_id, true));
    save(manifest, path)?;
    progress::line(&format!(
        "build: image {image_id} requested; waiting for it to become available"
    ));
    progress::item("image", &format!("{image_id} pending"), false);
    let waiting = Waiting {
        timeout: plan.config.copy.timeout_minutes.duration(),
        schedule: plan.schedule,
        started: image_started,
    };
    finish_image(ec2, manifest, path, region, &image_id, waiting, cancel).await
}
