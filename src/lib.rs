//! marketplace-release: turn an AWS Marketplace AMI release into one reviewed pull request.
//!
//! The modules follow the release pipeline:
//!
//! | stage | module | what it holds |
//! |---|---|---|
//! | config | [`config`] | the project's YAML config, validated with "did you mean" hints; action inputs laid over it |
//! | plan | [`plan`] | what a release would do, computed without AWS or GitHub; the load form, rendering, the builder's user data |
//! | build, copy, publish, submit | [`stages`] | the stages that act on AWS and GitHub, always cleaning up |
//! | template | [`template`] | format-preserving template regeneration with a semantic proof |
//! | report | [`output`] | workflow commands, diffs, step outputs and the step summary |
//!
//! [`domain`] holds the values that flow between the stages (regions, AMI IDs, versions, the
//! manifest). [`aws`] and [`github`] are the thin adapters: only they name the AWS SDK crates
//! and octocrab. [`app`] wires the stages to the command line and [`action`] to GitHub Actions.
//! The pure core (template, plan) knows nothing of AWS, GitHub or the file system.

pub mod action;
pub mod app;
pub mod aws;
pub mod config;
pub mod domain;
pub mod files;
pub mod github;
pub mod output;
pub mod plan;
pub mod stages;
pub mod template;
