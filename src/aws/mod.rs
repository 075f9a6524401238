//! The AWS adapters: thin, typed wrappers that own their SDK crates. Nothing outside this
//! module names an `aws_*` crate. [`ec2`] holds one EC2 client per region, [`catalog`] the AWS
//! Marketplace Catalog client; both are made from one shared SDK config. [`instance_types`]
//! is the SDK's list of instance types.

pub mod catalog;
pub mod ec2;
pub mod instance_types;
