//! [`StageError`]: why a stage failed, with the object it failed on and what to do; an AWS
//! failure is said with its next step ([`aws_message`]).

use crate::aws::error::{AwsError, CredentialProblem};

/// A stage failed. Every message names the object (region, instance, image) and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// SIGINT or SIGTERM arrived; what exists is in the manifest.
    #[error("cancelled by a signal; the manifest lists the images and snapshots that exist")]
    Cancelled,
    /// An AWS call failed.
    #[error("{}", aws_message(.error))]
    Aws {
        /// The failed call.
        #[from]
        error: AwsError,
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
    /// The image failed its verification.
    #[error("the verification of image {image} in {region} failed on test instance {instance}: {failure}. The test instance was terminated{}; the image is tagged marketplace-release:verification=failed, so a re-run builds anew instead of resuming from it.{}\n  help: fix the build script (or verify.script, verify.service), then run the release again; the manifest lists the checks", if *.not_copied { " and no copy of the image was made" } else { "" }, if .tail.is_empty() { String::new() } else { format!(" Last console lines:\n{}", .tail) })]
    VerificationFailed {
        /// The image.
        image: String,
        /// Its region.
        region: String,
        /// The test instance.
        instance: String,
        /// Why, in one line.
        failure: String,
        /// The last console lines.
        tail: String,
        /// Whether it stopped the release before any copy.
        not_copied: bool,
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
    /// EC2 took the TerminateInstances calls but never reported the instance shutting down.
    #[error("{role} {instance} in {region} was asked to terminate, but EC2 still reported it {state} after {}\n  help: terminate it by hand: aws ec2 terminate-instances --region {region} --instance-ids {instance}", crate::stages::wait::short(crate::aws::ec2::SETTLE_LIMIT))]
    InstanceNotTerminated {
        /// `builder` or `test instance`.
        role: String,
        /// The instance.
        instance: String,
        /// Region.
        region: String,
        /// The last state EC2 reported.
        state: String,
    },
    /// An image's snapshots are encrypted.
    #[error("image {image} in {region} has encrypted snapshots ({}): AWS Marketplace does not ingest such an image and EC2 does not make it public\n  help: turn off EBS encryption by default in {region} for the release (aws ec2 disable-ebs-encryption-by-default --region {region}), and use a base image with unencrypted snapshots; then run again", .snapshots.join(", "))]
    Encrypted {
        /// Image.
        image: String,
        /// Region.
        region: String,
        /// The encrypted snapshots.
        snapshots: Vec<String>,
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

/// The failed call, what it means and what to do.
fn aws_message(error: &AwsError) -> String {
    let after = crate::stages::wait::short(error.after);
    match error.credential_problem() {
        Some(CredentialProblem::Missing) => format!(
            "no AWS credentials were found ({} in {}{})\n  help: in a workflow, add an aws-actions/configure-aws-credentials step with role-to-assume before this one, and `permissions: id-token: write` to the job; locally, set AWS_PROFILE or the AWS_* variables",
            error.action, error.region, error.message
        ),
        Some(CredentialProblem::Expired) => format!(
            "the AWS credentials expired after the run had been going for {after} ({} in {}: {})\n  help: ask for longer sessions: `role-duration-seconds: 14400` on configure-aws-credentials, and a MaxSessionDuration of at least that on the role; then run again with fresh credentials: the re-run resumes from the manifest and makes no duplicate",
            error.action, error.region, error.code
        ),
        Some(CredentialProblem::Invalid) => format!(
            "{error}\n  help: the credentials were refused in {}: check that they are valid, and that {} is enabled in the account (opt-in regions are refused until enabled)",
            error.region, error.region
        ),
        None => format!("{error}\n  help: {}", aws_help(error)),
    }
}

fn aws_help(error: &AwsError) -> String {
    if error.is_access_denied() {
        return format!(
            "the AWS credentials may not call {}: add it to the role's policy (see iam/policy.json)",
            error.action
        );
    }
    match error.code.as_str() {
        "RequestLimitExceeded" => {
            "EC2 kept throttling after retries: run again later, or lower copy.max-concurrency"
                .into()
        }
        code if code.starts_with("InvalidAMIID") => {
            "check the image ID and that it exists in that region".into()
        }
        crate::aws::error::REQUEST_FAILED => format!(
            "AWS did not answer in {}: check the network, the region and AWS_ENDPOINT_URL when it is set; run with --debug (in GitHub Actions: re-run with debug logging) for the SDK's whole error; the manifest lists what exists",
            error.region
        ),
        _ => "check the AWS error above; the manifest lists what exists".into(),
    }
}

impl StageError {
    /// What is wrong with the credentials, when that is why the stage failed.
    pub fn credential_problem(&self) -> Option<CredentialProblem> {
        match self {
            StageError::Aws { error } => error.credential_problem(),
            _ => None,
        }
    }
}
