//! The AWS adapters: thin, typed wrappers that own their SDK crates. Nothing outside this
//! module names an `aws_*` crate. [`ec2`] holds one EC2 client per region, [`catalog`] the AWS
//! Marketplace Catalog client, [`sts`] and [`iam`] read the account and the ingestion role;
//! all are made from one shared SDK config.

pub mod catalog;
pub mod ec2;
pub mod iam;
pub mod sts;
