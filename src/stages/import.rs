//! The import stage, the build stage's stand-in when the release starts from an AMI the vendor
//! already has (`build.image`, the action's `image` input): the AMI is copied *within* the
//! build region into an image of this release, named and tagged at creation as a build's
//! image is (so the tag and cleanup policies apply to it, and the copy stage, the templates,
//! publish and submit take it like a built one). No builder runs, so nothing here ran the
//! build script or the Marketplace hardening: the image's tags, the manifest and the pull
//! request say so.
//!
//! The AMI must exist in the build region, be available, and have unencrypted snapshots
//! (AWS Marketplace ingests no encrypted image, and none can be made public); each is checked
//! before anything is made.

use std::time::Instant;

use crate::aws::ec2::Ec2;
use crate::domain::manifest::{Manifest, RegionImage};
use crate::domain::state::ImageState;
use crate::domain::timeline::Span;
use crate::output::progress;
use crate::stages::cancel::CancellationToken;
use crate::stages::error::StageError;
use crate::stages::image::{finish_image, refuse_encrypted, save, Waiting};
use crate::stages::tag;

/// What the import needs.
pub struct ImportPlan<'a> {
    /// The existing AMI, in the manifest's source region.
    pub image: &'a str,
    /// The architecture the release is of (the AMI must be of it too).
    pub architecture: &'a str,
    /// Tags on the new image and its snapshots (the run's, the config's).
    pub tags: Vec<(String, String)>,
    /// The AMI description.
    pub description: &'a str,
    /// How long the copy may take, and how to poll.
    pub waiting: Waiting,
}

/// Copies `plan.image` within the source region into the release's image; on return the
/// manifest (rewritten at `path` after every step) names it as the source image.
pub async fn import(
    ec2: &Ec2,
    plan: &ImportPlan<'_>,
    manifest: &mut Manifest,
    path: &std::path::Path,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let region = manifest.source_region.clone();
    progress::open_group(&format!(
        "Copy the existing AMI {} into {} in {region}",
        plan.image, manifest.name
    ));
    let result = run(ec2, plan, manifest, path, &region, cancel).await;
    progress::close_group();
    result
}

async fn run(
    ec2: &Ec2,
    plan: &ImportPlan<'_>,
    manifest: &mut Manifest,
    path: &std::path::Path,
    region: &str,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    let started = Instant::now();
    check_source(ec2, plan, region).await?;
    manifest.imported_from = Some(plan.image.to_owned());
    if cancel.is_cancelled() {
        return Err(StageError::Cancelled);
    }
    let mut tags = plan.tags.clone();
    tags.extend([
        ("Name".to_owned(), manifest.name.clone()),
        (tag::ARCHITECTURE.to_owned(), plan.architecture.to_owned()),
        (tag::BUILD.to_owned(), tag::BUILD_IMPORTED.to_owned()),
        (tag::SOURCE_IMAGE.to_owned(), plan.image.to_owned()),
    ]);
    let token = format!("mr-import-{}-{}", manifest.run_id, plan.image);
    manifest.timeline.image = Some(Span::starting_now());
    let image_id = ec2
        .copy_image(
            region,
            (region, plan.image),
            &manifest.name,
            plan.description,
            &token,
            &tags,
        )
        .await?;
    manifest.source_image_id = Some(image_id.clone());
    manifest
        .regions
        .insert(region.to_owned(), RegionImage::pending(&image_id, true));
    save(manifest, path)?;
    progress::line(&format!(
        "image: {image_id} requested (a copy of {} in {region}); waiting for it to become available",
        plan.image
    ));
    progress::item("image", &format!("{image_id} pending"), false);
    let waiting = Waiting {
        started,
        ..plan.waiting
    };
    finish_image(ec2, manifest, path, region, &image_id, waiting, cancel).await?;
    progress::line(&format!(
        "image: {image_id} is available in {region}: a copy of {}, not built by marketplace-release (its hardening is not verified)",
        plan.image
    ));
    Ok(())
}

/// The existing AMI must be there, available, unencrypted and of the release's architecture.
async fn check_source(ec2: &Ec2, plan: &ImportPlan<'_>, region: &str) -> Result<(), StageError> {
    let image = plan.image;
    let found = match ec2.images(region, &[image.to_owned()]).await {
        Ok(found) => found,
        Err(e) if e.code.starts_with("InvalidAMIID") => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let Some(source) = found.into_iter().next() else {
        return Err(StageError::Other(format!(
            "the image {image} does not exist in {region}, or this account may not use it\n  help: check build.image (the action's `image` input) and build.region: the image must be in the build region"
        )));
    };
    if source.state != ImageState::Available {
        return Err(StageError::Other(format!(
            "the image {image} in {region} is {}, not available\n  help: wait until it is available, then run again",
            source.state
        )));
    }
    if let Some(arch) = source.architecture.as_deref() {
        if arch != plan.architecture {
            return Err(StageError::Other(format!(
                "the image {image} in {region} is {arch}, but this job releases {}\n  help: give the {} image, or set build.architectures to [{arch}]",
                plan.architecture, plan.architecture
            )));
        }
    }
    refuse_encrypted(&source, region)
}
