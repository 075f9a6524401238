//! The command line: argument definitions and the commands that do file I/O around the pure
//! core. Exit codes: 0 success, 1 `template --check` found a change, 2 an error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{ArgGroup, Args, Parser, Subcommand};
use indexmap::IndexMap;

use crate::ami::{AmiId, AmiSet};
use crate::config::Config;
use crate::files::{file_error, write_atomically};
use crate::pipeline::{self, Context as StageContext, CopySource, GitHubTarget};
use crate::report;
use crate::template::EditRequest;
use crate::version::Version;

/// Turn an AWS Marketplace AMI release into one reviewed pull request.
#[derive(Debug, Parser)]
#[command(name = "marketplace-release", version, about, max_term_width = 100)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
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
    /// Run as the GitHub Action: read the INPUT_* variables and run the chosen stages (what the
    /// container does when started without arguments in GitHub Actions).
    Action,
}

/// Arguments every AWS stage takes.
#[derive(Debug, Args)]
pub struct StageArgs {
    /// The project config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The release version; default: the tag being built (GITHUB_REF_NAME) without its prefix.
    #[arg(long)]
    pub version: Option<String>,
    /// The architecture to build (default: the first in build.architectures).
    #[arg(long, value_parser = ["x86_64", "arm64"])]
    pub architecture: Option<String>,
    /// The release manifest to write (and, for copy, to read).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "marketplace-release-manifest.json"
    )]
    pub manifest: PathBuf,
    /// The repository root that config paths are relative to; default: GITHUB_WORKSPACE, else
    /// the current directory.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
}

/// Arguments of `copy`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Common arguments.
    #[command(flatten)]
    pub stage: StageArgs,
    /// Copy this existing image (in build.region) instead of the manifest's.
    #[arg(long, value_name = "AMI")]
    pub image: Option<String>,
    /// When a required region fails, deregister the images and delete the snapshots this run
    /// created, in every region.
    #[arg(long)]
    pub cleanup_on_failure: bool,
}

/// Arguments of `release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// Common arguments.
    #[command(flatten)]
    pub stage: StageArgs,
    /// When a required region fails, deregister the images and delete the snapshots this run
    /// created, in every region.
    #[arg(long)]
    pub cleanup_on_failure: bool,
    /// Only regenerate the templates in the workspace; open no pull request.
    #[arg(long)]
    pub no_publish: bool,
    /// Where the pull request goes.
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// Where the release pull request goes. The token is read from GITHUB_TOKEN and the API from
/// GITHUB_API_URL (default `https://api.github.com`).
#[derive(Debug, Args)]
pub struct GitHubArgs {
    /// The repository; default: GITHUB_REPOSITORY.
    #[arg(long, value_name = "OWNER/NAME")]
    pub repository: Option<String>,
    /// The branch the pull request merges into; default: pull-request.base, else the
    /// repository's default branch.
    #[arg(long, value_name = "BRANCH")]
    pub base: Option<String>,
}

/// Arguments of `submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The project config file (with a `submit` section and product.id).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The release manifest whose us-east-1 AMI is submitted.
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,
    /// The release version; default: the manifest's (which must match the tag on tag runs).
    #[arg(long)]
    pub version: Option<String>,
    /// Override submit.intent.
    #[arg(long, value_parser = ["validate-then-apply", "validate", "apply"])]
    pub intent: Option<String>,
    /// Wait for the APPLY change set to end (AWS scans the AMI first; it can take hours).
    #[arg(long)]
    pub wait: bool,
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The change set ID.
    #[arg(long, value_name = "ID")]
    pub change_set: String,
    /// Wait until the change set ends.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 120.0)]
    pub timeout_minutes: f64,
}

/// Arguments of `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The project config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The manifests of the release, one per architecture (repeat the option).
    #[arg(long, value_name = "FILE", required = true)]
    pub manifest: Vec<PathBuf>,
    /// The release version; default: the manifests' (which must match the tag on tag runs).
    #[arg(long)]
    pub version: Option<String>,
    /// The repository root that config paths are relative to; default: GITHUB_WORKSPACE, else
    /// the current directory.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Where the pull request goes.
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// Arguments of `template`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["output", "in_place", "check"])))]
pub struct TemplateArgs {
    /// The CloudFormation template (YAML or JSON).
    pub template: PathBuf,
    /// The new AMIs: {"us-east-1": "ami-…"} or {"us-east-1": {"AMD64": "ami-…", "ARM64": "ami-…"}}.
    #[arg(long, value_name = "AMIS.json")]
    pub amis: PathBuf,
    /// Set the version parameter's Default to this version.
    #[arg(long)]
    pub version: Option<String>,
    /// The version parameter (detected when there is exactly one).
    #[arg(long, value_name = "NAME", requires = "version")]
    pub version_parameter: Option<String>,
    /// The mapping to update (detected when exactly one mapping holds AMI IDs).
    #[arg(long, value_name = "NAME")]
    pub mapping: Option<String>,
    /// The second-level key for a flat AMIS.json, when regions have several keys.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Remove regions of the mapping that AMIS.json does not list (in the partitions it
    /// covers; rows of other partitions, such as cn-north-1 for an aws release, are kept).
    #[arg(long)]
    pub prune: bool,
    /// With --prune, remove the rows of other partitions too.
    #[arg(long, requires = "prune")]
    pub prune_other_partitions: bool,
    /// Write the result to this file (atomically).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace the template file (atomically).
    #[arg(long)]
    pub in_place: bool,
    /// Write nothing; print the diff and exit 1 if the template would change.
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The project config file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The release version; default: the tag being built (GITHUB_REF_NAME) without its prefix.
    #[arg(long)]
    pub version: Option<String>,
    /// AMIs to plan with, as for `template`; placeholder IDs when absent.
    #[arg(long, value_name = "AMIS.json")]
    pub amis: Option<PathBuf>,
    /// The repository root that config paths are relative to; default: GITHUB_WORKSPACE, else
    /// the current directory.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Also write the product load form values to this CSV file (one row per field).
    #[arg(long, value_name = "FILE")]
    pub load_form_csv: Option<PathBuf>,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Template(args) => template(args),
        Command::Plan(args) => plan(args),
        Command::Build(args) => pipeline::build_command(stage_context(&args)?),
        Command::Copy(args) => {
            let context = stage_context(&args.stage)?;
            let source = match &args.image {
                Some(image) => CopySource::Image(
                    AmiId::new(image, context.config.build.region.as_str())
                        .map_err(|e| anyhow!("--image: {e}\n  help: pass the AMI ID of the image to copy, in build.region"))?,
                ),
                None => CopySource::Manifest,
            };
            pipeline::copy_command(context, source, args.cleanup_on_failure)
        }
        Command::Action => crate::action::run(),
        Command::Submit(args) => {
            let config = load_config(&args.config)?;
            let version = match &args.version {
                Some(text) => Some(parse_version(text)?),
                None => pipeline::tag_version(&config.version.tag_prefix)?,
            };
            let intent = args.intent.as_deref().map(|i| match i {
                "validate" => crate::config::SubmitIntent::Validate,
                "apply" => crate::config::SubmitIntent::Apply,
                _ => crate::config::SubmitIntent::ValidateThenApply,
            });
            pipeline::submit_command(config, version, &args.manifest, intent, args.wait)
        }
        Command::Status(args) => {
            if !(args.timeout_minutes.is_finite()
                && args.timeout_minutes > 0.0
                && args.timeout_minutes <= 1440.0)
            {
                bail!(
                    "--timeout-minutes {} is not a number of minutes between 0 and 1440",
                    args.timeout_minutes
                );
            }
            pipeline::status_command(
                &args.change_set,
                args.wait,
                std::time::Duration::from_secs_f64(args.timeout_minutes * 60.0),
            )
        }
        Command::Publish(args) => {
            let config = load_config(&args.config)?;
            let version = match &args.version {
                Some(text) => Some(parse_version(text)?),
                None => pipeline::tag_version(&config.version.tag_prefix)?,
            };
            let target = GitHubTarget::resolve(
                args.github.repository.as_deref(),
                args.github.base.as_deref(),
                &config,
                None,
            )?;
            let workspace = workspace_dir(args.workspace)?;
            pipeline::publish_command(config, &workspace, version, &args.manifest, target)
        }
        Command::Release(args) => {
            let context = stage_context(&args.stage)?;
            let target = if args.no_publish {
                None
            } else {
                Some(
                    GitHubTarget::resolve(
                        args.github.repository.as_deref(),
                        args.github.base.as_deref(),
                        &context.config,
                        None,
                    )
                    .map_err(|e| anyhow!("{e}\n  help: or pass --no-publish to only regenerate the templates in the workspace"))?,
                )
            };
            pipeline::release_command(context, args.cleanup_on_failure, target)
        }
    }
}

fn workspace_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    match given.or_else(|| std::env::var_os("GITHUB_WORKSPACE").map(PathBuf::from)) {
        Some(dir) => Ok(dir),
        None => std::env::current_dir().context("cannot read the current directory"),
    }
}

/// Loads and validates the config; errors become annotations in GitHub Actions.
fn load_config(path: &Path) -> Result<Config> {
    let shown = path.display().to_string();
    Config::load(path).map_err(|e| {
        report::annotate_error(&shown, e.location, &e.message);
        anyhow!("{e}")
    })
}

/// Loads and validates everything an AWS stage needs, before any AWS call.
fn stage_context(args: &StageArgs) -> Result<StageContext> {
    let shown = args.config.display().to_string();
    let config = load_config(&args.config)?;
    let version = resolve_version(args.version.as_deref(), &config.version.tag_prefix)?;
    let architecture = match args.architecture.as_deref() {
        None => config.build.architectures[0],
        Some(name) => *config
            .build
            .architectures
            .iter()
            .find(|a| a.as_str() == name)
            .ok_or_else(|| anyhow!("--architecture {name} is not in build.architectures of {shown}\n  help: add it to the config or pick one it lists"))?,
    };
    let workspace = workspace_dir(args.workspace.clone())?;
    Ok(StageContext {
        config,
        workspace,
        version,
        architecture,
        manifest_path: args.manifest.clone(),
    })
}

fn read_amis(path: &Path) -> Result<AmiSet> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        file_error(
            format!("cannot read AMIS.json file {}", path.display()),
            e,
            "check the path passed to --amis",
        )
    })?;
    AmiSet::from_json(&text).map_err(|e| {
        anyhow!(
            "{}: {e}\n  help: AMIS.json is {{\"us-east-1\": \"ami-…\", …}} or {{\"us-east-1\": {{\"AMD64\": \"ami-…\", \"ARM64\": \"ami-…\"}}, …}}",
            path.display()
        )
    })
}

fn parse_version(text: &str) -> Result<Version> {
    Version::new(text).map_err(|e| anyhow!("{e}\n  help: pass a version like 5.26.0 or 2025.06.0"))
}

fn template(args: TemplateArgs) -> Result<ExitCode> {
    let shown = args.template.display().to_string();
    let bytes = std::fs::read(&args.template).map_err(|e| {
        file_error(
            format!("cannot read template {shown}"),
            e,
            "check the template path",
        )
    })?;
    let amis = read_amis(&args.amis)?;
    let version = args.version.as_deref().map(parse_version).transpose()?;
    let request = EditRequest {
        amis,
        mapping: args.mapping,
        key: args.key,
        prune: args.prune,
        prune_other_partitions: args.prune_other_partitions,
        version,
        version_parameter: args.version_parameter,
    };
    let edited = pipeline::edit_template(&shown, &bytes, &request)?;
    for change in &edited.changes {
        tracing::info!(template = %shown, "{}", serde_json::to_string(change).unwrap_or_default());
    }
    let old = std::str::from_utf8(&bytes).expect("parse_bytes checked UTF-8");
    if args.check {
        if edited.changed {
            print!("{}", report::unified_diff(&shown, old, &edited.text));
            eprintln!(
                "{shown} would change ({} change(s)); run with --in-place or --output to write it",
                edited.changes.len()
            );
            return Ok(ExitCode::from(1));
        }
        eprintln!("{shown} is up to date");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(output) = &args.output {
        write_atomically(output, &edited.text)?;
        eprintln!(
            "wrote {} ({} change(s))",
            output.display(),
            edited.changes.len()
        );
    } else if edited.changed {
        write_atomically(&args.template, &edited.text)?;
        eprintln!("updated {shown} ({} change(s))", edited.changes.len());
    } else {
        eprintln!("{shown} is up to date; not rewritten");
    }
    Ok(ExitCode::SUCCESS)
}

/// The version from `--version`, else from a tag push (GITHUB_REF_TYPE=tag, GITHUB_REF_NAME).
fn resolve_version(given: Option<&str>, tag_prefix: &str) -> Result<Version> {
    if let Some(text) = given {
        return parse_version(text);
    }
    pipeline::tag_version(tag_prefix)?.ok_or_else(|| {
        anyhow!("no version given and this is not a tag build\n  help: pass --version, like --version 5.26.0")
    })
}

fn plan(args: PlanArgs) -> Result<ExitCode> {
    let config = load_config(&args.config)?;
    let workspace = workspace_dir(args.workspace)?;
    let version = resolve_version(args.version.as_deref(), &config.version.tag_prefix)?;
    let amis = match &args.amis {
        Some(path) => {
            let set = read_amis(path)?;
            let arch = config.build.architectures[0];
            if config.build.architectures.len() > 1 {
                bail!("{}: the config builds several architectures, so plan takes placeholder AMIs only\n  help: drop --amis, or plan one architecture at a time", path.display());
            }
            Some(IndexMap::from([(arch, set)]))
        }
        None => None,
    };
    let plan = pipeline::make_plan(&config, &workspace, &version, amis.as_ref())?;
    print!("{}", plan.report(&config));
    if let Some(path) = &args.load_form_csv {
        write_atomically(path, &crate::loadform::to_csv(&plan.load_form))?;
        eprintln!("wrote the load form values to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
