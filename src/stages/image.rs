//! What the stages that make images share: waiting for a new image to become available,
//! refusing one with encrypted snapshots (and removing it), removing an image this run made,
//! and saving the manifest after each step.

use std::time::{Duration, Instant};

use crate::aws::ec2::{Ec2, ImageInfo};
use crate::domain::manifest::Manifest;
use crate::domain::state::ImageState;
use crate::domain::timeline::Span;
use crate::output::progress;
use crate::stages::cancel::{sleep_or_cancel, unless_cancelled, CancellationToken};
use crate::stages::error::StageError;
use crate::stages::wait::PollSchedule;

/// How long a new image may take to become available, and since when it is waited for.
#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    /// How long it may take.
    pub timeout: Duration,
    /// How to poll.
    pub schedule: PollSchedule,
    /// When it was requested.
    pub started: Instant,
}

/// Waits for the new source image `image_id` (in the manifest as pending); refuses (and
/// removes) it when its snapshots are encrypted; requires IMDSv2; records it as available.
pub async fn finish_image(
    ec2: &Ec2,
    manifest: &mut Manifest,
    path: &std::path::Path,
    region: &str,
    image_id: &str,
    waiting: Waiting,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let image = wait_available(
        ec2,
        region,
        image_id,
        waiting.timeout,
        waiting.schedule,
        cancel,
    )
    .await?;
    if let Err(refused) = refuse_encrypted(&image, region) {
        // Nothing can use it: remove it rather than leave it behind.
        let removed = remove_image(ec2, region, &image).await;
        if let Some(entry) = manifest.regions.get_mut(region) {
            entry.snapshot_ids = image.snapshot_ids.clone();
            if removed.is_ok() {
                entry.state = ImageState::Deregistered;
            }
        }
        save(manifest, path)?;
        return Err(refused);
    }
    ec2.require_imdsv2(region, image_id).await?;
    let entry = manifest
        .regions
        .get_mut(region)
        .ok_or_else(|| StageError::Other(format!("the manifest lost {image_id} in {region}")))?;
    entry.state = ImageState::Available;
    entry.snapshot_ids = image.snapshot_ids.clone();
    entry.seconds = Some(waiting.started.elapsed().as_secs_f64());
    manifest
        .timings
        .insert("image".into(), waiting.started.elapsed().as_secs_f64());
    manifest.timeline.image = manifest.timeline.image.map(Span::ended_now);
    progress::item("image", &format!("{image_id} available"), true);
    save(manifest, path)?;
    progress::line(&format!(
        "build: image {image_id} is available in {region} (IMDSv2 required, snapshots unencrypted)"
    ));
    Ok(())
}

/// Deregisters an image this run made and deletes its snapshots.
pub async fn remove_image(ec2: &Ec2, region: &str, image: &ImageInfo) -> Result<(), StageError> {
    ec2.deregister(region, &image.image_id).await?;
    for snapshot in &image.snapshot_ids {
        ec2.delete_snapshot(region, snapshot).await?;
    }
    Ok(())
}

/// An image with encrypted snapshots can't be public or ingested by AWS Marketplace.
pub fn refuse_encrypted(image: &ImageInfo, region: &str) -> Result<(), StageError> {
    if image.encrypted_snapshots.is_empty() {
        return Ok(());
    }
    Err(StageError::Encrypted {
        image: image.image_id.clone(),
        region: region.into(),
        snapshots: image.encrypted_snapshots.clone(),
    })
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
        if let Some(image) = unless_cancelled(ec2.new_image(region, image_id), cancel).await? {
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
