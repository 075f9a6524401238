//! The AWS adapters: thin, typed wrappers that own their SDK crates. Nothing outside this
//! module names an `aws_*` crate. [`config`] loads the run's one AWS configuration
//! ([`config::AwsConfig`]), from which every adapter makes its clients: [`ec2`] holds one EC2
//! client per region, [`quotas`] reads the public-AMI quota, [`catalog`] is the AWS Marketplace
//! Catalog client, [`sts`] and [`iam`] read the account and the ingestion role,
//! [`cloudformation`] runs the verify stage's test stack.
//! [`error`] says what kind of failure a call met; [`instance_types`] is the SDK's list of
//! instance types.

pub mod catalog;
pub mod cloudformation;
pub mod config;
pub mod ec2;
pub mod error;
pub mod iam;
pub mod instance_types;
pub mod quotas;
pub mod sts;

/// The `tracing` filter directives that show the AWS SDK's debug events (its credential chain,
/// its whole errors) when the user asks for debug logs.
pub const SDK_DEBUG_LOG: &str =
    "aws_config=debug,aws_credential_types=debug,aws_smithy_runtime=debug";
