//! The verify stage: boot the new AMI in one region on a test instance, with no key pair and no
//! SSH, and read its checks off the serial console (`templates/verify-user-data.sh.j2` around
//! `templates/verify-checks.sh` and the vendor's `verify.script`). It runs in the build region
//! after the build and before any copy or sharing, so a bad AMI is never copied or made public;
//! and after the copy stage in each of `verify.regions`.
//!
//! The test instance is terminated on every path after launch: success, failure, timeout,
//! cancellation, a manifest that can't be written; and EC2 is asked until it reports it
//! shutting down. The result goes into the manifest (`verification`) and onto the image as the
//! tag `marketplace-release:verification` (`passed` or `failed`), which the preflight reads:
//! a re-run never resumes from an image whose verification failed.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::aws::ec2::{Ec2, LaunchRequest};
use crate::domain::ami::Region;
use crate::domain::manifest::Manifest;
use crate::domain::state::ImageState;
use crate::domain::timeline::Span;
use crate::domain::verification::Verification;
use crate::output::progress;
use crate::plan::userdata::{self, BuildResult, UserData};
use crate::stages::cancel::CancellationToken;
use crate::stages::error::StageError;
use crate::stages::image::save;
use crate::stages::instance::{self, Console, Ended, Watched, TAIL_LINES};
use crate::stages::tag;
use crate::stages::wait::{self, PollSchedule};

/// Everything the verify stage needs, made before any AWS call.
#[derive(Debug, Clone)]
pub struct VerifyPlan {
    /// The test instance's type.
    pub instance_type: String,
    /// Its user-data: the checks and the verify script.
    pub user_data: UserData,
    /// The release's tags (the run ID among them), for the instance and its volumes.
    pub tags: Vec<(String, String)>,
    /// How long it may take to boot, check and power off.
    pub timeout: Duration,
    /// How long to keep reading its console for the result after it stopped.
    pub console_timeout: Duration,
    /// Subnet and security group in the build region (`build.subnet-id`, …); other regions
    /// use their default VPC.
    pub build_network: (Option<String>, Option<String>),
    /// How to poll.
    pub schedule: PollSchedule,
    /// The SHA-256 of the user-data (what the test instance runs), recorded with the result.
    pub checks_sha256: String,
}

/// Verifies the image in `region`, unless the manifest already records a passed verification
/// of the same image there with the same checks and script (a re-run after a later stage
/// failed).
pub async fn verify_unless_done(
    ec2: &Ec2,
    plan: &VerifyPlan,
    region: &str,
    manifest: &mut Manifest,
    path: &Path,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let image = manifest.regions.get(region).map(|i| i.image_id.clone());
    let done = manifest.verification.iter().any(|v| {
        v.region == region
            && Some(&v.image_id) == image.as_ref()
            && v.checks_sha256.as_deref() == Some(plan.checks_sha256.as_str())
            && v.passed()
    });
    if done {
        progress::line(&format!(
            "verify: {} in {region} already passed its verification (run {}); not booted again",
            image.unwrap_or_default(),
            manifest.run_id
        ));
        return Ok(());
    }
    verify(ec2, plan, region, manifest, path, cancel).await
}

/// Verifies the copies in `regions` (`verify.regions`) that are available, one region after
/// another; `copied` says whether this run copied (then a region without a copy is named).
pub async fn verify_copies(
    ec2: &Ec2,
    plan: &VerifyPlan,
    regions: &[Region],
    copied: bool,
    manifest: &mut Manifest,
    path: &Path,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    for region in regions {
        let available = manifest
            .regions
            .get(region.as_str())
            .is_some_and(|i| i.state == ImageState::Available);
        if !available {
            if copied {
                progress::line(&format!(
                    "verify: no available copy in {region} to boot (see the copy table)"
                ));
            }
            continue;
        }
        verify_unless_done(ec2, plan, region.as_str(), manifest, path, cancel).await?;
    }
    Ok(())
}

/// Boots the manifest's available image in `region` and checks it; records the result in the
/// manifest (rewritten at `path`) and on the image. A failed verification is an error
/// ([`StageError::VerificationFailed`]) saying what was not copied.
pub async fn verify(
    ec2: &Ec2,
    plan: &VerifyPlan,
    region: &str,
    manifest: &mut Manifest,
    path: &std::path::Path,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let image = manifest
        .regions
        .get(region)
        .filter(|i| i.state == crate::domain::state::ImageState::Available)
        .map(|i| i.image_id.clone())
        .ok_or_else(|| {
            StageError::Other(format!(
                "the manifest has no available image in {region} to verify\n  help: run the build (and, for verify.regions, the copy) first"
            ))
        })?;
    progress::open_group(&format!("Verify {image} in {region}"));
    let result = run(ec2, plan, region, &image, manifest, path, cancel).await;
    progress::close_group();
    result
}

async fn run(
    ec2: &Ec2,
    plan: &VerifyPlan,
    region: &str,
    image: &str,
    manifest: &mut Manifest,
    path: &std::path::Path,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let span = start_record(ec2, plan, (region, image), manifest, path).await?;
    if cancel.is_cancelled() {
        return Err(StageError::Cancelled);
    }
    let started = Instant::now();
    let instance = launch(ec2, plan, (region, image), manifest, path, span).await?;
    entry(manifest, region).instance_id = Some(instance.clone());
    progress::line(&format!(
        "verify: test instance {instance} ({}) booting {image} in {region}; waiting for its checks",
        plan.instance_type
    ));
    let watched = Watched {
        stage: "verify",
        role: "test instance",
        region,
        instance: &instance,
    };
    // From here on nothing may skip the terminate below, not even a manifest write.
    let outcome = match save(manifest, path) {
        Ok(()) => read_checks(ec2, plan, watched, manifest, cancel).await,
        Err(e) => Err(e),
    };
    let terminated = instance::terminate(ec2, watched).await;
    let entry = entry(manifest, region);
    entry.terminated = terminated.is_ok();
    entry.seconds = Some(started.elapsed().as_secs());
    if let Err(e) = &outcome {
        entry.reason.get_or_insert_with(|| cut_short(e));
    }
    match &terminated {
        Ok(()) => progress::line(&format!("verify: test instance {instance} terminated")),
        Err(e) => progress::line(&format!(
            "verify: test instance {instance} in {region} is not terminated: {}",
            first_line(&e.to_string())
        )),
    }
    manifest
        .timeline
        .verification
        .insert(region.to_owned(), span.ended_now());
    let saved = save(manifest, path);
    // A cancelled verification, or one that AWS errors cut short, says nothing of the image.
    if outcome.is_ok() {
        record_on_image(ec2, region, image, manifest).await;
    }
    outcome.and(terminated).and(saved)?;
    let verification = manifest
        .verification
        .iter()
        .find(|v| v.region == region)
        .expect("recorded above");
    report(verification);
    match verification.failure() {
        None => Ok(()),
        Some(failure) => Err(StageError::VerificationFailed {
            image: image.into(),
            region: region.into(),
            instance,
            failure,
            tail: verification.console_tail.clone().unwrap_or_default(),
            not_copied: manifest.regions.len() <= 1,
        }),
    }
}

/// Before the test instance: leftovers of an earlier verification terminated, this region's
/// earlier result replaced by a new one, and the manifest saved; when it started.
async fn start_record(
    ec2: &Ec2,
    plan: &VerifyPlan,
    (region, image): (&str, &str),
    manifest: &mut Manifest,
    path: &std::path::Path,
) -> Result<Span, StageError> {
    terminate_leftovers(ec2, manifest, path).await?;
    manifest.verification.retain(|v| v.region != region);
    let mut verification = Verification::new(region, image);
    verification.checks_sha256 = Some(plan.checks_sha256.clone());
    manifest.verification.push(verification);
    let span = Span::starting_now();
    manifest
        .timeline
        .verification
        .insert(region.to_owned(), span);
    save(manifest, path)?;
    Ok(span)
}

/// Launches the test instance; when EC2 refuses, the manifest says why (the image is not
/// judged).
async fn launch(
    ec2: &Ec2,
    plan: &VerifyPlan,
    (region, image): (&str, &str),
    manifest: &mut Manifest,
    path: &std::path::Path,
    span: Span,
) -> Result<String, StageError> {
    match ec2
        .launch(region, &launch_request(plan, region, image, manifest))
        .await
    {
        Ok(instance) => Ok(instance),
        Err(e) => {
            let error = StageError::from(e);
            entry(manifest, region).reason = Some(first_line(&error.to_string()));
            manifest
                .timeline
                .verification
                .insert(region.to_owned(), span.ended_now());
            save(manifest, path)?;
            Err(error)
        }
    }
}

/// The manifest's entry for `region` (pushed before launch).
fn entry<'m>(manifest: &'m mut Manifest, region: &str) -> &'m mut Verification {
    manifest
        .verification
        .iter_mut()
        .find(|v| v.region == region)
        .expect("the entry is pushed before launch")
}

/// Why a verification that an error or a signal cut short has no result.
fn cut_short(error: &StageError) -> String {
    match error {
        StageError::Cancelled => {
            "cancelled by a signal before the checks reported; the image was not judged".into()
        }
        e => first_line(&e.to_string()),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// The test instance's launch request: the image's own root volume, the tags of the release
/// and `marketplace-release:role=verifier`, which TerminateInstances is allowed on.
fn launch_request(
    plan: &VerifyPlan,
    region: &str,
    image: &str,
    manifest: &Manifest,
) -> LaunchRequest {
    let mut tags = plan.tags.clone();
    tags.push((tag::ROLE.into(), tag::ROLE_VERIFIER.into()));
    tags.push((
        "Name".into(),
        format!("marketplace-release test instance {}", manifest.name),
    ));
    let in_build_region = region == manifest.source_region;
    LaunchRequest {
        image_id: image.to_owned(),
        instance_type: plan.instance_type.clone(),
        user_data: plan.user_data.base64.clone(),
        root_volume: None,
        subnet_id: plan.build_network.0.clone().filter(|_| in_build_region),
        security_group_id: plan.build_network.1.clone().filter(|_| in_build_region),
        tags,
    }
}

/// Waits for the test instance to power itself off and reads its checks into the manifest.
async fn read_checks(
    ec2: &Ec2,
    plan: &VerifyPlan,
    watched: Watched<'_>,
    manifest: &mut Manifest,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let Watched {
        region, instance, ..
    } = watched;
    let run_id = manifest.run_id.clone();
    let never_reported = |how: &str| {
        format!(
            "test instance {instance} {how} without reporting a result on its console: the image may not boot, or may not run user-data (cloud-init)"
        )
    };
    let (result, text) =
        match instance::wait_stopped(ec2, watched, plan.timeout, plan.schedule, cancel).await? {
            Ended::Stopped => {
                progress::item(
                    watched.role,
                    &format!("{instance} stopped; reading its console"),
                    false,
                );
                Console::new(ec2, region, instance)
                    .await_marker(
                        watched,
                        &run_id,
                        plan.console_timeout,
                        plan.schedule,
                        cancel,
                    )
                    .await?
            }
            Ended::Gone { tail } => {
                let entry = entry(manifest, region);
                entry.reason = Some(never_reported("ended"));
                entry.console_tail = Some(tail);
                return Ok(());
            }
            Ended::TimedOut { tail } => {
                let entry = entry(manifest, region);
                entry.reason = Some(
                    never_reported(&format!("ran for {}", wait::short(plan.timeout)))
                        + "; raise verify.timeout-minutes if the checks are slow",
                );
                entry.console_tail = Some(tail);
                return Ok(());
            }
        };
    let checks = userdata::parse_checks(&text, &run_id);
    let entry = entry(manifest, region);
    entry.checks = checks;
    match result {
        BuildResult::Success => {}
        BuildResult::Failed(code) if entry.failed_checks().next().is_none() => {
            entry.reason = Some(format!(
                "the verification stopped before its checks ended (exit {code})"
            ));
        }
        BuildResult::Failed(_) => {}
        BuildResult::Unknown => entry.reason = Some(never_reported("stopped")),
    }
    if !entry.passed() {
        entry.console_tail = Some(userdata::tail(&text, TAIL_LINES));
    }
    Ok(())
}

/// Tags the image with the result, so that the preflight of a re-run never resumes from an
/// image that failed; a tag that can't be written is a warning (the manifest has the result).
async fn record_on_image(ec2: &Ec2, region: &str, image: &str, manifest: &Manifest) {
    let Some(verification) = manifest.verification.iter().find(|v| v.region == region) else {
        return;
    };
    let value = verification.tag_value();
    if let Err(e) = ec2.tag_image(region, image, tag::VERIFICATION, value).await {
        progress::warning(
            "verification not tagged",
            &format!(
                "{image} in {region}: the tag {}={value} was not written ({}); the manifest records the result; allow ec2:CreateTags on the release's images (iam/policy.json)",
                tag::VERIFICATION,
                first_line(&e.to_string())
            ),
        );
    }
}

/// One line per check.
fn report(verification: &Verification) {
    for check in &verification.checks {
        progress::line(&format!(
            "verify: {} {} ({}s){}",
            check.name,
            check.outcome.as_str(),
            check.seconds,
            if check.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", check.detail)
            }
        ));
    }
    progress::line(&format!(
        "verify: {} in {}: {}",
        verification.image_id,
        verification.region,
        verification.failure().unwrap_or_else(|| "passed".into())
    ));
}

/// Terminates test instances an interrupted run of this manifest left running.
async fn terminate_leftovers(
    ec2: &Ec2,
    manifest: &mut Manifest,
    path: &std::path::Path,
) -> Result<(), StageError> {
    let leftovers: Vec<(String, String)> = manifest
        .verification
        .iter()
        .filter(|v| !v.terminated)
        .filter_map(|v| Some((v.region.clone(), v.instance_id.clone()?)))
        .collect();
    for (region, instance) in leftovers {
        progress::line(&format!(
            "verify: terminating test instance {instance} that an earlier run of this release left"
        ));
        instance::terminate(
            ec2,
            Watched {
                stage: "verify",
                role: "test instance",
                region: &region,
                instance: &instance,
            },
        )
        .await?;
        for v in manifest
            .verification
            .iter_mut()
            .filter(|v| v.instance_id.as_deref() == Some(instance.as_str()))
        {
            v.terminated = true;
        }
        save(manifest, path)?;
    }
    Ok(())
}
