//! The stages that act on AWS and GitHub, in pipeline order: [`build`] the AMI, [`copy`] and
//! share it, [`publish`] the pull request, [`submit`] the version to AWS Marketplace; and what
//! they share: cancellation, [`StageError`], the [`wait`] schedule and progress lines.

pub mod build;
pub mod copy;
pub mod publish;
pub mod submit;
pub mod wait;

use std::time::Duration;

pub use tokio_util::sync::CancellationToken;

use crate::aws::ec2::Ec2Error;

/// Tag keys this tool puts on everything it creates.
pub mod tag {
    /// The run that created the resource.
    pub const RUN_ID: &str = "marketplace-release:run-id";
    /// The release version.
    pub const VERSION: &str = "marketplace-release:version";
    /// The product.
    pub const PRODUCT: &str = "marketplace-release:product";
    /// On copies: the source image, which is how a re-run finds copies it already made.
    pub const SOURCE_IMAGE: &str = "marketplace-release:source-image";
    /// `builder` on the builder instance.
    pub const ROLE: &str = "marketplace-release:role";
}

/// A stage failed. Every message names the object (region, instance, image) and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// SIGINT or SIGTERM arrived; what exists is in the manifest.
    #[error("cancelled by a signal; the manifest lists the images and snapshots that exist")]
    Cancelled,
    /// An EC2 call failed.
    #[error("{error}\n  help: {}", ec2_help(.error))]
    Ec2 {
        /// The failed call.
        #[from]
        error: Ec2Error,
    },
    /// No base image matched.
    #[error("no image owned by {owner} matches `{name}` for {architecture} in {region}\n  help: check build.base-ami (owner, name filter, architecture)")]
    NoBaseImage {
        /// Owner.
        owner: String,
        /// Name filter.
        name: String,
        /// Architecture.
        architecture: String,
        /// Region.
        region: String,
    },
    /// The build script (or the hardening) failed on the builder.
    #[error("the build script failed on builder {instance} in {region} (exit code {code}); the builder was terminated and no image was made. Last console lines:\n{tail}\n  help: fix build.script; run it on a test instance to see the whole log")]
    ScriptFailed {
        /// Builder instance.
        instance: String,
        /// Region.
        region: String,
        /// Exit code the wrapper reported.
        code: i32,
        /// Last console lines.
        tail: String,
    },
    /// The builder stopped without this run's result marker.
    #[error("builder {instance} in {region} stopped without reporting a result (no marker line on its console); the builder was terminated and no image was made. Last console lines:\n{tail}\n  help: check that the base image runs user-data (cloud-init) and that the script does not power the instance off itself")]
    NoResult {
        /// Builder instance.
        instance: String,
        /// Region.
        region: String,
        /// Last console lines.
        tail: String,
    },
    /// A wait ran out of time.
    #[error("{what} did not finish within {}{tail}\n  help: {help}", crate::stages::wait::short(std::time::Duration::from_secs(*.seconds)))]
    Timeout {
        /// What was waited for.
        what: String,
        /// The limit in seconds.
        seconds: u64,
        /// Console lines, when there are any.
        tail: String,
        /// What to do.
        help: String,
    },
    /// An image ended in state `failed`.
    #[error("image {image} in {region} failed: {reason}\n  help: check the EBS snapshot limits and KMS permissions in {region}, then run again")]
    ImageFailed {
        /// Image.
        image: String,
        /// Region.
        region: String,
        /// AWS's state reason.
        reason: String,
    },
    /// Public sharing is blocked in some regions.
    #[error("sharing.public is set, but block public access for AMIs is on in: {}\n  help: turn it off in those regions (aws ec2 disable-image-block-public-access --region REGION), or share with accounts or organizations instead", .regions.join(", "))]
    PublicAccessBlocked {
        /// The regions.
        regions: Vec<String>,
    },
    /// Required regions failed.
    #[error("the copy failed in {} required region(s): {}\n  help: see the table above for each region's reason; run again to retry the failed regions (finished copies are reused)", .regions.len(), .regions.join(", "))]
    CopyFailed {
        /// The regions.
        regions: Vec<String>,
    },
    /// Anything else (manifest I/O, bad input found late).
    #[error("{0}")]
    Other(String),
}

fn ec2_help(error: &Ec2Error) -> String {
    match error.code.as_str() {
        "UnauthorizedOperation" | "AccessDenied" | "AuthFailure" => {
            format!("the AWS credentials may not call ec2:{}: add it to the role's policy (see iam/policy.json)", error.action)
        }
        "RequestLimitExceeded" => {
            "EC2 kept throttling after retries: run again later, or lower copy.max-concurrency"
                .into()
        }
        code if code.starts_with("InvalidAMIID") => {
            "check the image ID and that it exists in that region".into()
        }
        _ => "check the AWS error above; the manifest lists what exists".into(),
    }
}

/// Sleeps for `duration` unless cancelled first.
pub async fn sleep_or_cancel(
    duration: Duration,
    cancel: &CancellationToken,
) -> Result<(), StageError> {
    tokio::select! {
        _ = tokio::time::sleep(duration) => Ok(()),
        _ = cancel.cancelled() => Err(StageError::Cancelled),
    }
}
