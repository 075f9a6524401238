//! The command line, a front end: the commands and their arguments ([`args`]), each AWS and
//! GitHub command turned into one [`crate::release::Request`] ([`request`]) whose
//! [`crate::release::Outcome`] becomes the exit code and text; the commands that need no AWS
//! and no GitHub write ([`template`], [`plan`], [`status`], [`init`], `schema`) run here.
//! Exit codes: 0 success, 1 `template --check` found a change, 2 an error, 130 cancelled.
//!
//! Architecture invariant: nothing in the crate names `cli`; it does not name
//! [`crate::action`], its sibling (the binary picks one of the two).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a front end prints what its commands report"
)]

pub mod args;
pub mod init;
pub mod plan;
pub mod request;
pub mod status;
pub mod template;

use std::process::ExitCode;

use anyhow::{anyhow, Result};
use clap::{Parser, Subcommand};

use crate::release::env::RunnerEnv;
use args::{
    CopyArgs, PlanArgs, PublishArgs, ReleaseArgs, StageArgs, StatusArgs, SubmitArgs, TemplateArgs,
    VerifyArgs,
};

/// Turn an AWS Marketplace AMI release into one reviewed pull request.
#[derive(Debug, Parser)]
#[command(name = "marketplace-release", version, about, max_term_width = 100)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// Show debug logs, the AWS SDK's whole errors and its credential chain included (also
    /// on with RUNNER_DEBUG=1, as GitHub Actions sets it when a run is re-run with debug
    /// logging).
    #[arg(long, global = true)]
    pub debug: bool,
    /// Print only errors and the closing tables: no progress lines or bars.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Update the AMI IDs and version in one CloudFormation template, changing nothing else.
    Template(TemplateArgs),
    /// Validate the config and templates and show what a release would do (no AWS, no GitHub).
    Plan(PlanArgs),
    /// Build the AMI on EC2 and write the release manifest.
    Build(StageArgs),
    /// Boot the manifest's AMI on a test instance and check it (the config's `verify`
    /// section), in the build region and in verify.regions where copies exist; records the
    /// result in the manifest and on the image.
    Verify(VerifyArgs),
    /// Copy and share the AMI (from the manifest, or --image) to every configured region.
    Copy(CopyArgs),
    /// Commit the templates regenerated from the manifests to the release branch and open or
    /// update the pull request.
    Publish(PublishArgs),
    /// The whole pipeline: build, copy and share, regenerate the templates, then publish.
    Release(ReleaseArgs),
    /// Add the version to the AMI product through the AWS Marketplace Catalog API (after the
    /// release pull request is merged).
    Submit(SubmitArgs),
    /// Show a Catalog API change set (and wait for it with --wait); fails when it failed.
    Status(StatusArgs),
    /// Write a starter config and workflow from the repository's CloudFormation templates
    /// (never overwriting without --force), and print the setup left to do.
    Init(init::InitArgs),
    /// Print the JSON Schema of the config file (for editors; the same as
    /// schema/marketplace-release.schema.json).
    Schema,
    /// Run as the GitHub Action: read the INPUT_* variables and run the chosen stages (what the
    /// container does when started without arguments in GitHub Actions).
    Action,
}

impl Cli {
    /// The command line of the container action, which GitHub starts without arguments.
    pub fn action() -> Self {
        Cli {
            command: Command::Action,
            debug: false,
            quiet: false,
        }
    }
}

/// Runs a command of the command line. [`Command::Action`] is the other front end's, which the
/// binary runs itself.
pub fn run(command: Command, env: RunnerEnv) -> Result<ExitCode> {
    match command {
        Command::Template(args) => template::run(&args),
        Command::Plan(args) => plan::run(args, &env),
        Command::Status(args) => status::run(&args, &env),
        Command::Init(args) => init::init(args, &env),
        Command::Schema => {
            print!("{}", crate::config::schema::config_schema_text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Build(args) => request::build(&args, env),
        Command::Copy(args) => request::copy(&args, env),
        Command::Verify(args) => request::verify(&args, env),
        Command::Release(args) => request::release(&args, env),
        Command::Publish(args) => request::publish(&args, env),
        Command::Submit(args) => request::submit(&args, env),
        Command::Action => Err(anyhow!(
            "`action` runs the GitHub Action: start the binary as `marketplace-release action`"
        )),
    }
}
