//! The AWS preflight: read-only questions to the account, asked before any AWS resource is made,
//! so that a release that can't finish fails first and costs nothing. Each check cites the
//! behaviour it guards against:
//!
//! 1. **Regions** ([`target_regions`]): every target region is enabled in the account. A region
//!    that is not answers `AuthFailure` to every call ("Specify which AWS Regions your account
//!    can use", <https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html>).
//! 2. **An earlier build** ([`Start`]): an image with this release's AMI name already in the
//!    build region is resumed from when an earlier run of this release built it successfully
//!    with the same build script (its tags say so) and no verification failed; otherwise the
//!    name is taken and the release is refused before a builder is launched.
//! 3. **EBS encryption by default**: where it is on, the image's or the copy's snapshots are
//!    encrypted, and such an image can be neither public nor ingested by AWS Marketplace
//!    ("Amazon EBS encryption by default",
//!    <https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html>).
//! 4. **The public-AMI quota**: a public release needs one more public image in each region
//!    than the account has ("Public AMIs", 5 per region unless raised; read from Service
//!    Quotas where the role may, else AWS's default).
//! 5. **Credentials' lifetime**: where the credentials say when they expire, a warning when
//!    that is sooner than the build and copy may take.

use std::time::{Duration, SystemTime};

use crate::aws::ec2::{Ec2, ImageInfo};
use crate::aws::quotas::{Quotas, PUBLIC_AMIS, PUBLIC_AMIS_DEFAULT};
use crate::output::progress;
use crate::stages::{tag, wait, StageError};

/// What the preflight checks.
pub struct Checks<'a> {
    /// Where the image is built.
    pub build_region: &'a str,
    /// The copy's target regions (the source included), once resolved; empty when not copying.
    pub regions: &'a [String],
    /// Whether this job builds (else it copies an existing image).
    pub building: bool,
    /// Whether the copies are made public.
    pub public: bool,
    /// Whether the release is meant for AWS Marketplace (`product.id` or `submit` is set).
    pub marketplace: bool,
    /// This release's AMI name.
    pub image_name: &'a str,
    /// Product, version and architecture, as the tags of an earlier build must say.
    pub release: (&'a str, &'a str, &'a str),
    /// Where the image comes from, as the tags of an earlier run's image must say.
    pub origin: Origin<'a>,
    /// How long the build and the copy may take together.
    pub budget: Duration,
}

/// Where a release's image comes from, as its tags record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// Built with the build script of this SHA-256 (empty when the job does not build).
    Script(&'a str),
    /// Copied from this existing AMI (`build.image`).
    Image(&'a str),
}

/// Where the build stage starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Launch a builder.
    Build,
    /// Take this image, which an earlier run of the release built, and launch nothing.
    Resume(Box<ImageInfo>),
}

/// The target regions: the listed ones, each checked to be enabled, or for `regions: all`
/// (an empty list) every enabled region, the source first.
pub async fn target_regions(
    ec2: &Ec2,
    listed: &[String],
    source: &str,
) -> Result<Vec<String>, StageError> {
    let known = ec2.regions(source).await?;
    if listed.is_empty() {
        let mut regions: Vec<String> = known
            .iter()
            .filter(|r| r.enabled() && r.name != source)
            .map(|r| r.name.clone())
            .collect();
        regions.insert(0, source.to_owned());
        progress::line(&format!(
            "preflight: regions: all {} enabled in the account",
            regions.len()
        ));
        return Ok(regions);
    }
    let mut wanted: Vec<&str> = listed.iter().map(String::as_str).collect();
    if !wanted.contains(&source) {
        wanted.insert(0, source);
    }
    let names: Vec<&str> = wanted
        .into_iter()
        .filter(|region| known.iter().any(|k| k.name == *region && !k.enabled()))
        .collect();
    if names.is_empty() {
        return Ok(listed.to_vec());
    }
    Err(StageError::Other(format!(
        "{} not enabled in this AWS account: {}; every call there would be refused (AuthFailure). Nothing was created\n  help: enable {} (aws account enable-region --region-name REGION, then wait until it is ENABLED), or drop {} from `regions`",
        if names.len() == 1 { "this region is" } else { "these regions are" },
        names.join(", "),
        if names.len() == 1 { "it" } else { "them" },
        if names.len() == 1 { "it" } else { "them" },
    )))
}

/// Runs the checks; where the build starts.
pub async fn run(ec2: &Ec2, checks: &Checks<'_>) -> Result<Start, StageError> {
    let start = if checks.building {
        existing_build(ec2, checks).await?
    } else {
        Start::Build
    };
    if checks.public || checks.marketplace {
        encryption(ec2, checks, &start).await?;
    }
    if checks.public && !checks.regions.is_empty() {
        public_quota(ec2, checks).await?;
    }
    credentials_lifetime(ec2, checks.budget).await;
    Ok(start)
}

/// Finds an image with this release's name in the build region, and decides.
async fn existing_build(ec2: &Ec2, checks: &Checks<'_>) -> Result<Start, StageError> {
    let region = checks.build_region;
    let named = ec2.own_image_named(region, checks.image_name).await?;
    if let Some(image) = named.as_ref().filter(|i| resumable(i, checks).is_ok()) {
        return Ok(Start::Resume(Box::new(image.clone())));
    }
    // A successful build of this release under another name (an earlier `--rebuild`) is
    // found by its tags.
    let (_, version, _) = checks.release;
    let mut tagged: Vec<ImageInfo> = ec2
        .own_images_tagged(region, tag::VERSION, version)
        .await?
        .into_iter()
        .filter(|i| resumable(i, checks).is_ok())
        .collect();
    tagged.sort_by(|a, b| b.creation_date.cmp(&a.creation_date));
    if let Some(image) = tagged.into_iter().next() {
        return Ok(Start::Resume(Box::new(image)));
    }
    let Some(image) = named else {
        return Ok(Start::Build);
    };
    match resumable(&image, checks) {
        Ok(()) => Ok(Start::Resume(Box::new(image))),
        Err(why) => Err(StageError::Other(format!(
            "the AMI name {} is already taken in {region} by {}: {why}. An AMI name is unique in a region, so this build could not register its image; no builder was launched\n  help: pass --rebuild (action input `rebuild: true`) to build under a new name ({}-<run ID>), or deregister {} if nothing uses it",
            checks.image_name, image.image_id, checks.image_name, image.image_id
        ))),
    }
}

/// Whether `image` is a successful earlier build of this very release with the same script.
fn resumable(image: &ImageInfo, checks: &Checks<'_>) -> Result<(), String> {
    let (product, version, architecture) = checks.release;
    let expect = [
        (tag::PRODUCT, product, "another product"),
        (tag::VERSION, version, "another version"),
        (tag::ARCHITECTURE, architecture, "another architecture"),
    ];
    for (key, want, what) in expect {
        match image.tag(key) {
            Some(have) if have == want => {}
            Some(have) => return Err(format!("it was built for {what} ({key}={have})")),
            None => {
                return Err(format!(
                    "it was not built by marketplace-release (no {key} tag)"
                ))
            }
        }
    }
    match checks.origin {
        Origin::Script(sha256) => {
            if image.tag(tag::BUILD) != Some(tag::BUILD_SUCCEEDED) {
                return Err("its tags do not record a successful build".into());
            }
            if image.tag(tag::SCRIPT_SHA256) != Some(sha256) {
                return Err(
                    "it was built with another build script (its script digest differs)".into(),
                );
            }
        }
        Origin::Image(source) => {
            if image.tag(tag::BUILD) != Some(tag::BUILD_IMPORTED) {
                return Err("its tags do not record a copy of an existing image".into());
            }
            if image.tag(tag::SOURCE_IMAGE) != Some(source) {
                return Err(format!(
                    "it was copied from another image ({}={}, not {source})",
                    tag::SOURCE_IMAGE,
                    image.tag(tag::SOURCE_IMAGE).unwrap_or("none")
                ));
            }
        }
    }
    if image.tag(tag::VERIFICATION) == Some("failed") {
        return Err("its verification failed".into());
    }
    if !(image.state.in_progress() || image.state == crate::domain::state::ImageState::Available) {
        return Err(format!("it is {}", image.state));
    }
    Ok(())
}

/// Refuses where EBS encryption by default is on: the build region (when building) and every
/// target region.
async fn encryption(ec2: &Ec2, checks: &Checks<'_>, start: &Start) -> Result<(), StageError> {
    let mut regions: Vec<&str> = checks.regions.iter().map(String::as_str).collect();
    if checks.building && *start == Start::Build && !regions.contains(&checks.build_region) {
        regions.insert(0, checks.build_region);
    }
    let mut on = Vec::new();
    for region in regions {
        if ec2.encryption_by_default(region).await? {
            on.push(region);
        }
    }
    if on.is_empty() {
        return Ok(());
    }
    let why = if checks.public {
        "the release is public"
    } else {
        "the release is for AWS Marketplace"
    };
    Err(StageError::Other(format!(
        "EBS encryption by default is on in {}: images made or copied there get encrypted snapshots, which can't be made public or ingested by AWS Marketplace, and {why}. Nothing was created\n  help: turn it off for the release in each of those regions (aws ec2 disable-ebs-encryption-by-default --region REGION; turn it on again afterwards if you need it), or drop them from `regions`",
        on.join(", ")
    )))
}

/// Refuses where one more public image would exceed the quota.
async fn public_quota(ec2: &Ec2, checks: &Checks<'_>) -> Result<(), StageError> {
    let quotas = Quotas::new(ec2.config());
    let mut full = Vec::new();
    let mut default_used = false;
    for region in checks.regions {
        let public = ec2.public_images(region).await?;
        // A re-run's own image is already public and needs no room.
        if public.iter().any(|i| i.name == checks.image_name) {
            continue;
        }
        let quota = match quotas.public_amis(region).await {
            Ok(quota) => quota,
            Err(e) if e.is_access_denied() || e.code == "NoSuchResourceException" => {
                default_used = true;
                PUBLIC_AMIS_DEFAULT
            }
            Err(e) => return Err(e.into()),
        };
        if public.len() as u64 >= u64::from(quota) {
            full.push(format!("{region} ({} of {quota})", public.len()));
        }
    }
    if default_used {
        progress::line(&format!(
            "preflight: could not read the Public AMIs quota ({PUBLIC_AMIS}) from Service Quotas (allow servicequotas:GetServiceQuota to read raised quotas); assumed AWS's default of {PUBLIC_AMIS_DEFAULT}"
        ));
    }
    if full.is_empty() {
        return Ok(());
    }
    Err(StageError::Other(format!(
        "the account's public AMIs are at the quota in {}: one more public image would be refused after the copy. Nothing was created\n  help: make older versions private (aws ec2 modify-image-attribute --region REGION --image-id AMI --launch-permission 'Remove=[{{Group=all}}]') or deregister them, or ask for more (aws service-quotas request-service-quota-increase --service-code ec2 --quota-code {PUBLIC_AMIS} --desired-value N --region REGION)",
        full.join(", ")
    )))
}

/// Warns when the credentials expire before the build and the copy may end.
async fn credentials_lifetime(ec2: &Ec2, budget: Duration) {
    let Some(expiry) = ec2.credentials_expiry().await else {
        return;
    };
    let left = expiry
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    if left < budget {
        progress::warning(
            "AWS credentials expire before the release may end",
            &format!(
                "the credentials expire in {}, but the build and the copy may take up to {} (build.timeout-minutes + copy.timeout-minutes). Ask for longer sessions: `role-duration-seconds` on configure-aws-credentials (and the role's MaxSessionDuration); a run cut short resumes when run again",
                wait::short(left),
                wait::short(budget)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::state::ImageState;

    fn checks() -> Checks<'static> {
        Checks {
            build_region: "us-east-1",
            regions: &[],
            building: true,
            public: false,
            marketplace: false,
            image_name: "db-1.0-x86_64",
            release: ("DB", "1.0", "x86_64"),
            origin: Origin::Script("abc"),
            budget: Duration::ZERO,
        }
    }

    fn image(tags: &[(&str, &str)]) -> ImageInfo {
        ImageInfo {
            image_id: "ami-0123456789abcdef0".into(),
            name: "db-1.0-x86_64".into(),
            state: ImageState::Available,
            state_reason: None,
            creation_date: String::new(),
            root_device_name: None,
            architecture: None,
            snapshot_ids: Vec::new(),
            encrypted_snapshots: Vec::new(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    const GOOD: [(&str, &str); 5] = [
        (tag::PRODUCT, "DB"),
        (tag::VERSION, "1.0"),
        (tag::ARCHITECTURE, "x86_64"),
        (tag::BUILD, "succeeded"),
        (tag::SCRIPT_SHA256, "abc"),
    ];

    #[test]
    fn a_successful_build_of_this_release_with_this_script_is_resumed() {
        assert_eq!(resumable(&image(&GOOD), &checks()), Ok(()));
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        let with = |key: &str, value: &str| {
            let mut tags: Vec<(&str, &str)> =
                GOOD.iter().filter(|(k, _)| *k != key).copied().collect();
            tags.push((key, value));
            resumable(&image(&tags), &checks()).unwrap_err()
        };
        assert!(with(tag::SCRIPT_SHA256, "def").contains("another build script"));
        assert!(with(tag::VERSION, "0.9").contains("another version"));
        assert!(with(tag::BUILD, "failed").contains("successful build"));
        assert!(with(tag::VERIFICATION, "failed").contains("verification failed"));
        assert!(resumable(&image(&[]), &checks())
            .unwrap_err()
            .contains("not built by marketplace-release"));
        let imported = Checks {
            origin: Origin::Image("ami-0000000000000000a"),
            ..checks()
        };
        assert!(resumable(&image(&GOOD), &imported)
            .unwrap_err()
            .contains("copy of an existing image"));
        let copy = |source: &str| {
            let mut tags: Vec<(&str, &str)> = GOOD[..3].to_vec();
            tags.extend([(tag::BUILD, "imported"), (tag::SOURCE_IMAGE, source)]);
            resumable(&image(&tags), &imported)
        };
        assert_eq!(copy("ami-0000000000000000a"), Ok(()));
        assert!(copy("ami-0000000000000000b")
            .unwrap_err()
            .contains("copied from another image"));
        let mut failed = image(&GOOD);
        failed.state = ImageState::Failed;
        assert!(resumable(&failed, &checks())
            .unwrap_err()
            .contains("failed"));
    }
}
