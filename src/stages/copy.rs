//! The copy stage: copy the source image to every target region at once, wait for each copy,
//! then share it (launch permissions, snapshot permissions), require IMDSv2 and tag it.
//!
//! - `copy.max-concurrency` bounds the EC2 requests in flight (the EC2 adapter holds the
//!   bound, so every call counts, polls included), not the copies: every region's copy runs at
//!   the same time, so the stage takes about as long as the slowest region.
//! - Copies are tagged at creation (CopyImage's tag specifications), snapshots included.
//! - A copy whose snapshots are encrypted (EBS encryption by default in its region) fails its
//!   region: it can be neither public nor ingested by AWS Marketplace.
//! - A re-run never makes a second copy: copies carry the source image ID as a tag (and the
//!   manifest lists them), and an existing copy is reused.
//! - One region's failure does not stop the others; the stage ends with a table and fails
//!   when a required region failed. With cleanup on failure, what this run created is
//!   removed: only in the plan's regions, and only images that carry this run's ID as a tag.

use crate::domain::state::ImageState;
use crate::output::progress;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::aws::ec2::{Ec2, LaunchPermissions};
use crate::domain::manifest::{Manifest, RegionImage};
use crate::domain::timeline::Span;
use crate::stages::cancel::CancellationToken;
use crate::stages::error::StageError;
use crate::stages::image::{refuse_encrypted, remove_image, save, wait_available};
use crate::stages::tag;
use crate::stages::wait::{self, PollSchedule};

/// What the copy stage needs.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    /// Target regions (the source region included, where only sharing applies).
    pub regions: Vec<String>,
    /// Regions whose failure fails the stage; all when empty.
    pub required: Vec<String>,
    /// Launch permissions.
    pub permissions: LaunchPermissions,
    /// Accounts that get `createVolumePermission` on the snapshots.
    pub snapshot_accounts: Vec<String>,
    /// Tags on every copy and its snapshots.
    pub tags: Vec<(String, String)>,
    /// The AMI description.
    pub description: String,
    /// How long one copy may take.
    pub timeout: Duration,
    /// How to poll.
    pub schedule: PollSchedule,
    /// Remove this run's images and snapshots when the stage fails.
    pub cleanup_on_failure: bool,
}

/// Live state of one region, for progress lines.
#[derive(Clone)]
struct Progress {
    state: String,
    since: Instant,
}

struct Shared {
    ec2: Arc<Ec2>,
    plan: CopyPlan,
    source_region: String,
    source_image_id: String,
    name: String,
    manifest: Mutex<Manifest>,
    path: PathBuf,
    progress: Mutex<HashMap<String, Progress>>,
    cancel: CancellationToken,
}

impl Shared {
    fn record(&self, region: &str, image: RegionImage) -> Result<(), StageError> {
        let mut manifest = self.manifest.lock().expect("manifest lock");
        manifest.regions.insert(region.to_owned(), image);
        save(&manifest, &self.path)
    }

    /// Records when `region`'s copy ran (saved with the next write of the manifest).
    fn record_span(&self, region: &str, span: Span) {
        let mut manifest = self.manifest.lock().expect("manifest lock");
        manifest.timeline.copies.insert(region.to_owned(), span);
    }

    fn set_progress(&self, region: &str, state: &str) {
        let done = matches!(state, "available" | "failed" | "unknown");
        progress::item(region, state, done);
        self.progress.lock().expect("progress lock").insert(
            region.to_owned(),
            Progress {
                state: state.into(),
                since: Instant::now(),
            },
        );
    }
}

/// Copies and shares `manifest`'s source image; returns the updated manifest, also written to
/// `path`, whether the stage succeeded or not.
pub async fn copy(
    ec2: Arc<Ec2>,
    plan: CopyPlan,
    manifest: Manifest,
    path: &Path,
    cancel: &CancellationToken,
) -> (Manifest, Result<(), StageError>) {
    if plan.regions.is_empty() {
        return (
            manifest,
            Err(StageError::Other(
                "no target regions\n  help: list them under `regions`, or use `regions: all`"
                    .into(),
            )),
        );
    }
    let Some(source_image_id) = manifest.source_image_id.clone() else {
        return (manifest, Err(StageError::Other("the manifest has no source image\n  help: run the build stage first, or pass --image".into())));
    };
    progress::open_group(&format!(
        "Copy {source_image_id} to {} regions",
        plan.regions.len()
    ));
    let started = Instant::now();
    let shared = Arc::new(Shared {
        ec2,
        source_region: manifest.source_region.clone(),
        source_image_id,
        name: manifest.name.clone(),
        manifest: Mutex::new(manifest),
        path: path.to_owned(),
        progress: Mutex::new(HashMap::new()),
        cancel: cancel.clone(),
        plan,
    });
    let reporter = tokio::spawn(report_progress(shared.clone()));
    let result = run(&shared).await;
    reporter.abort();
    let _ = reporter.await;
    progress::close_group();
    let mut manifest = shared.manifest.lock().expect("manifest lock").clone();
    // Regions finish in any order; the manifest lists them in the config's order.
    let position = |region: &str| {
        shared
            .plan
            .regions
            .iter()
            .position(|r| r == region)
            .unwrap_or(usize::MAX)
    };
    manifest
        .regions
        .sort_by(|a, _, b, _| position(a).cmp(&position(b)));
    manifest
        .timings
        .insert("copy".into(), started.elapsed().as_secs_f64());
    manifest.incomplete = result.is_err();
    let saved = save(&manifest, &shared.path);
    (manifest, result.and(saved))
}

async fn run(shared: &Arc<Shared>) -> Result<(), StageError> {
    if shared.plan.permissions.public {
        check_public_sharing(shared).await?;
    }
    check_source(shared).await?;
    for region in &shared.plan.regions {
        shared.set_progress(region, "waiting");
    }
    let tasks: Vec<_> = shared
        .plan
        .regions
        .iter()
        .map(|region| {
            let shared = shared.clone();
            let region = region.clone();
            tokio::spawn(async move {
                let span = Span::starting_now();
                let outcome = copy_region(&shared, &region).await;
                let copied = region != shared.source_region;
                if copied && !matches!(outcome, Err(StageError::Cancelled)) {
                    shared.record_span(&region, span.ended_now());
                }
                (region, outcome)
            })
        })
        .collect();
    let mut failures = Failures::default();
    for task in tasks {
        let (region, outcome) = task.await.expect("region task does not panic");
        match outcome {
            Ok(()) => shared.set_progress(&region, "available"),
            Err(StageError::Cancelled) => {}
            Err(error) => failures.record(shared, region, error)?,
        }
    }
    let Failures {
        regions: failures,
        credentials,
    } = failures;
    print_table(shared);
    if shared.cancel.is_cancelled() {
        return Err(StageError::Cancelled);
    }
    if let Some(error) = credentials {
        return Err(error);
    }
    let required = &shared.plan.required;
    let failed_required: Vec<String> = failures
        .iter()
        .map(|(r, _)| r.clone())
        .filter(|r| required.is_empty() || required.contains(r))
        .collect();
    if failed_required.is_empty() {
        if !failures.is_empty() {
            progress::line(&format!(
                "copy: {} optional region(s) failed; the required ones succeeded",
                failures.len()
            ));
        }
        return Ok(());
    }
    if shared.plan.cleanup_on_failure {
        cleanup(shared).await;
    }
    Err(StageError::CopyFailed {
        regions: failed_required,
    })
}

async fn check_public_sharing(shared: &Arc<Shared>) -> Result<(), StageError> {
    let checks = shared.plan.regions.iter().map(|region| {
        let shared = shared.clone();
        let region = region.clone();
        tokio::spawn(async move {
            (
                region.clone(),
                shared.ec2.public_sharing_blocked(&region).await,
            )
        })
    });
    let mut blocked = Vec::new();
    for check in checks.collect::<Vec<_>>() {
        let (region, result) = check.await.expect("check task does not panic");
        if result? {
            blocked.push(region);
        }
    }
    if blocked.is_empty() {
        Ok(())
    } else {
        Err(StageError::PublicAccessBlocked { regions: blocked })
    }
}

/// The source image must exist and be available before anything is copied.
async fn check_source(shared: &Shared) -> Result<(), StageError> {
    let (region, image) = (&shared.source_region, &shared.source_image_id);
    let found = match shared.ec2.images(region, std::slice::from_ref(image)).await {
        Ok(found) => found,
        Err(e) if e.code.starts_with("InvalidAMIID") => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    match found.first() {
        Some(source) if source.state == ImageState::Available => Ok(()),
        Some(source) => Err(StageError::Other(format!(
            "source image {image} in {region} is {}, not available\n  help: wait until it is available, then run copy again",
            source.state
        ))),
        None => Err(StageError::Other(format!(
            "source image {image} does not exist in {region}\n  help: check --image (or the manifest) and build.region"
        ))),
    }
}

/// The regions that failed, and why.
#[derive(Default)]
struct Failures {
    /// Region and message, for regions whose copy failed.
    regions: Vec<(String, String)>,
    /// Credentials that expired (or are gone) fail every region alike: that, not a copy
    /// failure, is the news.
    credentials: Option<StageError>,
}

impl Failures {
    /// Records a region's failure in the manifest (saved) and here.
    fn record(
        &mut self,
        shared: &Shared,
        region: String,
        error: StageError,
    ) -> Result<(), StageError> {
        let message = error.to_string();
        let first_line = message.lines().next().unwrap_or_default().to_owned();
        let mut manifest = shared.manifest.lock().expect("manifest lock");
        if error.credential_problem().is_some() {
            shared.set_progress(&region, "unknown");
            if let Some(entry) = manifest.regions.get_mut(&region) {
                // The image may well exist: keep its state for the re-run to look at.
                entry.error = Some(first_line);
            }
            save(&manifest, &shared.path)?;
            self.credentials.get_or_insert(error);
            return Ok(());
        }
        shared.set_progress(&region, "failed");
        let entry = manifest
            .regions
            .entry(region.clone())
            .or_insert_with(|| RegionImage {
                image_id: String::new(),
                snapshot_ids: Vec::new(),
                state: ImageState::Failed,
                created_by_this_run: false,
                seconds: None,
                error: None,
            });
        entry.state = ImageState::Failed;
        entry.error = Some(first_line);
        save(&manifest, &shared.path)?;
        self.regions.push((region, message));
        Ok(())
    }
}

/// One region: find or make the copy, wait for it, share it.
async fn copy_region(shared: &Shared, region: &str) -> Result<(), StageError> {
    let ec2 = &shared.ec2;
    let plan = &shared.plan;
    let started = Instant::now();
    let is_source = region == shared.source_region;
    let previous = shared
        .manifest
        .lock()
        .expect("manifest lock")
        .regions
        .get(region)
        .cloned();
    let (image_id, created_by_this_run) = if is_source {
        (
            shared.source_image_id.clone(),
            previous.as_ref().is_some_and(|p| p.created_by_this_run),
        )
    } else {
        if shared.cancel.is_cancelled() {
            return Err(StageError::Cancelled);
        }
        start_copy(shared, region, previous.as_ref()).await?
    };
    shared.set_progress(region, "pending");
    let image = wait_available(
        ec2,
        region,
        &image_id,
        plan.timeout,
        plan.schedule,
        &shared.cancel,
    )
    .await
    .inspect_err(|_| {
        // Keep the image in the manifest so a cleanup (or the next run) knows it.
        let _ = shared.record(region, RegionImage::pending(&image_id, created_by_this_run));
    })?;
    refuse_encrypted(&image, region)?;
    ec2.require_imdsv2(region, &image_id).await?;
    ec2.share(region, &image_id, &plan.permissions).await?;
    if !plan.snapshot_accounts.is_empty() {
        for snapshot in &image.snapshot_ids {
            ec2.share_snapshot(region, snapshot, &plan.snapshot_accounts)
                .await?;
        }
    }
    let seconds = if is_source {
        previous.and_then(|p| p.seconds)
    } else {
        Some(started.elapsed().as_secs_f64())
    };
    shared.record(
        region,
        RegionImage {
            image_id: image_id.clone(),
            snapshot_ids: image.snapshot_ids,
            state: ImageState::Available,
            created_by_this_run,
            seconds,
            error: None,
        },
    )?;
    progress::line(&format!("copy: {region}: {image_id} available and shared"));
    Ok(())
}

/// The copy of the source image in `region`: one this or an earlier run made (found by the
/// manifest or by tag), else a new CopyImage, tagged at creation; whether this run made it.
async fn start_copy(
    shared: &Shared,
    region: &str,
    previous: Option<&RegionImage>,
) -> Result<(String, bool), StageError> {
    let plan = &shared.plan;
    if let Some((image_id, created)) = find_copy(shared, region, previous).await? {
        progress::line(&format!("copy: {region}: reusing {image_id}"));
        return Ok((image_id, created));
    }
    let token = format!("mr-{}-{region}", shared.source_image_id);
    let mut copy_tags = plan.tags.clone();
    copy_tags.push((tag::SOURCE_IMAGE.into(), shared.source_image_id.clone()));
    copy_tags.push(("Name".into(), shared.name.clone()));
    let image_id = shared
        .ec2
        .copy_image(
            region,
            (&shared.source_region, &shared.source_image_id),
            &shared.name,
            &plan.description,
            &token,
            &copy_tags,
        )
        .await?;
    shared.record(region, RegionImage::pending(&image_id, true))?;
    Ok((image_id, true))
}

/// An existing copy of the source image in `region`: from the manifest, or found by tag.
async fn find_copy(
    shared: &Shared,
    region: &str,
    previous: Option<&RegionImage>,
) -> Result<Option<(String, bool)>, StageError> {
    let usable = |state: &ImageState| matches!(state, ImageState::Available | ImageState::Pending);
    if let Some(previous) = previous.filter(|p| !p.image_id.is_empty()) {
        let found = shared
            .ec2
            .images(region, std::slice::from_ref(&previous.image_id))
            .await
            .unwrap_or_default();
        if found.iter().any(|i| usable(&i.state)) {
            return Ok(Some((
                previous.image_id.clone(),
                previous.created_by_this_run,
            )));
        }
    }
    let tagged = shared
        .ec2
        .own_images_tagged(region, tag::SOURCE_IMAGE, &shared.source_image_id)
        .await?;
    let mut candidates: Vec<_> = tagged.into_iter().filter(|i| usable(&i.state)).collect();
    candidates.sort_by_key(|i| i.state != ImageState::Available);
    Ok(candidates.into_iter().next().map(|i| (i.image_id, false)))
}

async fn report_progress(shared: Arc<Shared>) {
    let interval = shared.plan.schedule.progress;
    loop {
        tokio::time::sleep(interval).await;
        let progress = shared.progress.lock().expect("progress lock").clone();
        let total = progress.len();
        let available = progress.values().filter(|p| p.state == "available").count();
        let failed = progress.values().filter(|p| p.state == "failed").count();
        let slowest = progress
            .iter()
            .filter(|(_, p)| p.state == "pending" || p.state == "waiting")
            .min_by_key(|(_, p)| p.since);
        let mut line = format!("copy: {available}/{total} available");
        if failed > 0 {
            line.push_str(&format!(", {failed} failed"));
        }
        if let Some((region, p)) = slowest {
            line.push_str(&format!(
                "; {region} {} {}",
                p.state,
                wait::short(p.since.elapsed())
            ));
        }
        progress::tick(&line);
    }
}

fn print_table(shared: &Shared) {
    let manifest = shared.manifest.lock().expect("manifest lock");
    let mut table = format!(
        "{:<16} {:<23} {:<11} {:>7}  {}\n",
        "region", "image", "state", "time", "note"
    );
    for region in &shared.plan.regions {
        let Some(image) = manifest.regions.get(region) else {
            table.push_str(&format!(
                "{region:<16} {:<23} {:<11} {:>7}  cancelled before starting\n",
                "-", "-", "-"
            ));
            continue;
        };
        let time = image
            .seconds
            .map(|s| wait::short(Duration::from_secs_f64(s)))
            .unwrap_or_else(|| "-".into());
        let note = match (&image.error, region == &shared.source_region) {
            (Some(error), _) => error.clone(),
            (None, true) => "source".into(),
            (None, false) => String::new(),
        };
        let id = if image.image_id.is_empty() {
            "-"
        } else {
            &image.image_id
        };
        table.push_str(&format!(
            "{region:<16} {id:<23} {:<11} {time:>7}  {note}\n",
            image.state.as_str()
        ));
    }
    progress::table(table.trim_end());
}

/// Deregisters the images and deletes the snapshots this run created, in the plan's regions.
/// An image is touched only when EC2 shows it carrying this run's ID as a tag: a manifest
/// that was edited, or belongs to another run, removes nothing.
async fn cleanup(shared: &Arc<Shared>) {
    progress::line("copy: cleaning up the images and snapshots this run created");
    let (run_id, created): (String, Vec<(String, RegionImage)>) = {
        let manifest = shared.manifest.lock().expect("manifest lock");
        let created = manifest
            .regions
            .iter()
            .filter(|(region, image)| {
                image.created_by_this_run
                    && !image.image_id.is_empty()
                    && shared.plan.regions.contains(region)
            })
            .map(|(r, i)| (r.clone(), i.clone()))
            .collect();
        (manifest.run_id.clone(), created)
    };
    for (region, image) in created {
        let note = match cleanup_region(&shared.ec2, &region, &image.image_id, &run_id).await {
            Ok(snapshots) => {
                progress::line(&format!(
                    "copy: {region}: removed {} and {snapshots} snapshot(s)",
                    image.image_id
                ));
                None
            }
            Err(problem) => {
                progress::line(&format!("copy: {region}: {problem}"));
                Some(problem)
            }
        };
        let mut manifest = shared.manifest.lock().expect("manifest lock");
        if let Some(entry) = manifest.regions.get_mut(&region) {
            match note {
                Some(problem) => entry.error = Some(problem),
                None => entry.state = ImageState::Deregistered,
            }
        }
        let _ = save(&manifest, &shared.path);
    }
}

/// Removes one image of this run and its snapshots (as EC2 lists them); the snapshot count.
async fn cleanup_region(
    ec2: &Ec2,
    region: &str,
    image_id: &str,
    run_id: &str,
) -> Result<usize, String> {
    let found = ec2
        .new_image(region, image_id)
        .await
        .map_err(|e| format!("cleanup: {e}"))?;
    let Some(image) = found else {
        return Err(format!("cleanup: {image_id} no longer exists"));
    };
    if image.tag(tag::RUN_ID) != Some(run_id) {
        return Err(format!(
            "cleanup: {image_id} was left alone: it does not carry this run's tag {}={run_id}",
            tag::RUN_ID
        ));
    }
    remove_image(ec2, region, &image).await.map_err(|e| {
        format!(
            "cleanup: {}",
            e.to_string().lines().next().unwrap_or_default()
        )
    })?;
    Ok(image.snapshot_ids.len())
}
