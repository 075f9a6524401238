//! marketplace-release: turn an AWS Marketplace AMI release into one reviewed pull request.
//!
//! The modules follow the release pipeline:
//!
//! | stage | module | what it holds |
//! |---|---|---|
//! | config | [`config`] | the project's YAML config, validated with "did you mean" hints |
//! | plan | [`plan`] | what a release would do, computed without AWS or GitHub |
//! | build / copy | [`ami`] | regions, AMI IDs and region → AMI sets (the EC2 adapter comes with the build stage) |
//! | template | [`template`] | format-preserving template regeneration with a semantic proof |
//! | publish | [`render`], [`publish`], [`github`] | the PR body, title and branch, rendered from replaceable templates; the commit and the pull request |
//! | report | [`report`] | unified diffs and GitHub Actions workflow commands |
//!
//! [`cli`] wires them to the command line. The pure core (template, plan, render) knows
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
