//! marketplace-release: turn an AWS Marketplace AMI release into one reviewed pull request.
//!
//! The modules are floors; each names only the floors below it (ARCHITECTURE.md is the code
//! map, `scripts/check-layout.sh` checks it). From the top:
//!
//! | floor | modules | what they hold |
//! |---|---|---|
//! | front ends | [`cli`], [`action`] | the command line and the GitHub Action: each maps its input to one [`release::Request`] and the [`release::Outcome`] to its output; siblings, neither names the other |
//! | engine | [`release`] | the schedule as data (`Step`, `steps()`), one loop that runs it, the record it keeps |
//! | stages | [`stages`] | one file per step, in pipeline order: the pre-flight checks, build, verify, copy, templates, publish, submit |
//! | adapters | [`aws`], [`github`] | the thin clients: only they name the AWS SDK crates and octocrab |
//! | pure core | [`plan`], [`template`] | what a release would do, rendering, format-preserving template editing with a semantic proof; no AWS, no GitHub |
//! | values | [`config`], [`domain`], [`files`] | the config file and its rules, the values that flow between stages (regions, AMI IDs, versions, the manifest), workspace files |
//! | ground | [`output`], [`diagnostic`] | the log, progress events and workflow commands; one diagnostics model |
//!
//! The binary (`src/main.rs`) picks the front end and renders the error that ends a run.

pub mod action;
pub mod aws;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod domain;
pub mod files;
pub mod github;
pub mod output;
pub mod plan;
pub mod release;
pub mod stages;
pub mod template;
