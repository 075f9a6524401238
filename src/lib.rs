//! marketplace-release: turn an AWS Marketplace AMI release into one reviewed pull request.
//!
//! The modules follow the release pipeline:
//!
//! | stage | module | what it holds |
//! |---|---|---|
//! | config | [`config`] | the project's YAML config, validated with "did you mean" hints; action inputs laid over it |
//! | plan | [`plan`], [`loadform`] | what a release would do, computed without AWS or GitHub; the load form values |
//! | build | [`build`], [`userdata`] | the builder instance, its user data and the image, always cleaned up |
//! | copy | [`copy`] | concurrent, resumable copies and sharing to every region |
//! | template | [`template`] | format-preserving template regeneration with a semantic proof |
//! | publish | [`render`], [`publish`], [`github`] | the PR body; the commit and the pull request through the GitHub API |
//! | submit | [`submit`], [`catalog`] | the new version through the AWS Marketplace Catalog API |
//! | report | [`report`], [`manifest`], [`action`] | workflow commands, the manifest, step outputs and summary |
//!
//! [`ami`] and [`version`] hold the shared value types; [`ec2`] and [`catalog`] are the thin AWS
//! adapters (one shared SDK config, one EC2 client per region); [`stage`] and [`wait`] hold what
//! the long-running stages share. [`cli`] and [`pipeline`] wire the stages to the command line,
//! and [`action`] to GitHub Actions. The pure core (template, plan, render, loadform) knows
//! nothing of AWS, GitHub or the file system.

pub mod action;
pub mod ami;
pub mod build;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod copy;
pub mod ec2;
pub mod files;
pub mod github;
pub mod loadform;
pub mod manifest;
pub mod pipeline;
pub mod plan;
pub mod publish;
pub mod render;
pub mod report;
pub mod stage;
pub mod submit;
pub mod template;
pub mod userdata;
pub mod version;
pub mod wait;
