//! The EC2 adapter: one client per region, built from the run's [`AwsConfig`], and one thin
//! method per EC2 action the stages use. Every EC2 call of the project is in this folder, which
//! is how `tests/iam_policy.rs` checks the shipped IAM policy against the code: `client` holds
//! the client and its one layer, `images` the image calls (describe, create, copy, share,
//! deregister), `instances` the builder's and the test instance's, `account` the region and
//! account settings.
//!
//! Every call goes through one layer, `Ec2::call`, which:
//! - bounds the EC2 requests in flight across all regions (`copy.max-concurrency`);
//! - for calls that name a resource this run may have just created, retries the NotFound that
//!   EC2's eventual consistency answers for a while after RunInstances, CreateImage and
//!   CopyImage ("Eventual consistency in the Amazon EC2 API",
//!   <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>), with
//!   exponential backoff for up to [`SETTLE_LIMIT`], as Packer's amazon plugin does;
//! - turns SDK errors into [`AwsError`] values that know whether the credentials are the
//!   problem.
//!
//! Throttling (`RequestLimitExceeded`) and transient errors are retried inside the SDK by its
//! standard retry mode with exponential backoff and jitter; the stages see only what remains.
//! Tags are given at creation (`TagSpecifications` on RunInstances, CreateImage and CopyImage),
//! so nothing this tool makes is ever untagged. The one tag written later is the verification
//! result on an image this run made ([`Ec2::tag_image`]); the policy allows that
//! CreateTags only on images carrying the run-ID tag, and only for that tag key.

mod account;
mod client;
mod images;
mod instances;

pub use crate::aws::error::AwsError;
pub use account::RegionStatus;
pub use client::{Ec2, SETTLE_LIMIT};
pub use images::{ImageInfo, LaunchPermissions};
pub use instances::{LaunchRequest, Termination};
