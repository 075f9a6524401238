//! The command line: the commands and their arguments, each turned into a [`Request`] for the
//! orchestrator (or, for `template`, `plan` and `status`, run by [`local`]). Exit codes: 0
//! success, 1 `template --check` found a change, 2 an error, 130 cancelled.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use super::env::RunnerEnv;
use super::local;
use super::release::{self, Caller, GitHubRequest, Release, Request, Stages};
use crate::config::{Architecture, Config, SubmitIntent};
use crate::domain::ami::AmiId;
use crate::domain::version::Version;
use crate::output::diagnostic::Diagnostic;
use crate::output::log;

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
    Init(super::init::InitArgs),
    /// Print the JSON Schema of the config file (for editors; the same as
    /// schema/marketplace-release.schema.json).
    Schema,
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
    #[arg(long, value_enum)]
    pub architecture: Option<ArchitectureArg>,
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
    /// Build again even though this release's AMI name is taken in the build region by an
    /// image that can't be resumed from; the new image is named `<ami-name>-<run ID>` (build
    /// and release).
    #[arg(long)]
    pub rebuild: bool,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The project config file (with a `verify` section).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The release manifest whose image is verified (and where the result is written).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "marketplace-release-manifest.json"
    )]
    pub manifest: PathBuf,
    /// The release version; default: the manifest's.
    #[arg(long)]
    pub version: Option<String>,
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
    #[arg(long, value_enum)]
    pub intent: Option<IntentArg>,
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

/// An architecture, as EC2 names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ArchitectureArg {
    /// Intel and AMD.
    #[value(name = "x86_64")]
    X86_64,
    /// Graviton.
    Arm64,
}

impl From<ArchitectureArg> for Architecture {
    fn from(arg: ArchitectureArg) -> Self {
        match arg {
            ArchitectureArg::X86_64 => Architecture::X86_64,
            ArchitectureArg::Arm64 => Architecture::Arm64,
        }
    }
}

/// Which change sets `submit` starts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IntentArg {
    /// VALIDATE, then APPLY when it succeeds.
    ValidateThenApply,
    /// VALIDATE only.
    Validate,
    /// APPLY only.
    Apply,
}

impl From<IntentArg> for SubmitIntent {
    fn from(arg: IntentArg) -> Self {
        match arg {
            IntentArg::ValidateThenApply => SubmitIntent::ValidateThenApply,
            IntentArg::Validate => SubmitIntent::Validate,
            IntentArg::Apply => SubmitIntent::Apply,
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let env = RunnerEnv::read()?;
    match cli.command {
        Command::Template(args) => local::template(args),
        Command::Plan(args) => local::plan(args, &env),
        Command::Status(args) => local::status(args, &env),
        Command::Init(args) => super::init::init(args, &env),
        Command::Schema => print_schema(),
        Command::Action => crate::action::run(env),
        Command::Build(args) => build(&args, env),
        Command::Copy(args) => run_release(copy_request(&args, &env)?, env),
        Command::Verify(args) => run_release(verify_request(&args, &env)?, env),
        Command::Release(args) => {
            let stages = Stages {
                build: true,
                verify: false,
                copy: true,
                templates: true,
                publish: !args.no_publish,
                submit: false,
            };
            let mut request = stage_request(&args.stage, &env, stages)?;
            // The whole pipeline verifies when the config has a `verify` section.
            request.stages.verify = request.config.verify.is_some();
            request.cleanup_on_failure = args.cleanup_on_failure;
            request.github = github_request(&args.github);
            run_release(request, env)
        }
        Command::Publish(args) => {
            let mut request = base_request(
                &args.config,
                args.workspace.clone(),
                &env,
                Stages {
                    publish: true,
                    ..Stages::default()
                },
            )?;
            request.version = args.version.as_deref().map(parse_version).transpose()?;
            request.manifests = absolute(&args.manifest)?;
            request.github = github_request(&args.github);
            run_release(request, env)
        }
        Command::Submit(args) => {
            let mut request = base_request(
                &args.config,
                None,
                &env,
                Stages {
                    submit: true,
                    ..Stages::default()
                },
            )?;
            request.version = args.version.as_deref().map(parse_version).transpose()?;
            request.manifests = absolute(std::slice::from_ref(&args.manifest))?;
            request.intent = args.intent.map(SubmitIntent::from);
            request.wait = args.wait;
            run_release(request, env)
        }
    }
}

/// `schema`: prints the config's JSON Schema.
fn print_schema() -> Result<ExitCode> {
    print!("{}", crate::config::schema::config_schema_text());
    Ok(ExitCode::SUCCESS)
}

/// `build`: the build stage alone.
fn build(args: &StageArgs, env: RunnerEnv) -> Result<ExitCode> {
    let stages = Stages {
        build: true,
        ..Stages::default()
    };
    let request = stage_request(args, &env, stages)?;
    run_release(request, env)
}

/// Prepares and runs a release, then reports its outcome.
fn run_release(request: Request, env: RunnerEnv) -> Result<ExitCode> {
    let release = Release::prepare(request, env)?;
    let outcome = release::run_async(|cancel| async move { Ok(release.run(&cancel).await) })?;
    if let Some(published) = &outcome.published {
        if published.url.is_none() {
            log::say(&format!("publish: {}", published.message));
        }
    }
    outcome.exit()
}

fn github_request(args: &GitHubArgs) -> GitHubRequest {
    GitHubRequest {
        repository: args.repository.clone(),
        base: args.base.clone(),
        token: None,
    }
}

/// Paths made absolute against the current directory (the workspace may be elsewhere).
fn absolute(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    paths
        .iter()
        .map(|p| std::path::absolute(p).map_err(|e| anyhow!("{}: {e}", p.display())))
        .collect()
}

fn base_request(
    config: &Path,
    workspace: Option<PathBuf>,
    env: &RunnerEnv,
    stages: Stages,
) -> Result<Request> {
    let workspace = env.workspace(workspace)?;
    let mut loaded = load_config(config)?;
    super::advice::resolve_template_regions(&mut loaded, &workspace)?;
    Ok(Request {
        caller: Caller::Cli,
        config: loaded,
        config_path: config.display().to_string(),
        workspace,
        stages,
        version: None,
        architecture: None,
        manifest: None,
        manifests: Vec::new(),
        image: None,
        github: GitHubRequest::default(),
        cleanup_on_failure: false,
        rebuild: false,
        intent: None,
        wait: false,
    })
}

/// The request of `copy`.
fn copy_request(args: &CopyArgs, env: &RunnerEnv) -> Result<Request> {
    let mut request = stage_request(
        &args.stage,
        env,
        Stages {
            copy: true,
            ..Stages::default()
        },
    )?;
    if args.stage.rebuild {
        bail!("--rebuild: copy builds nothing\n  help: pass --rebuild to build or release");
    }
    request.cleanup_on_failure = args.cleanup_on_failure;
    request.image = args
        .image
        .as_deref()
        .map(|image| AmiId::new(image, request.config.build.region.as_str()))
        .transpose()
        .map_err(|e| {
            anyhow!("--image: {e}\n  help: pass the AMI ID of the image to copy, in build.region")
        })?;
    Ok(request)
}

/// The request of `verify`: the manifest's release (version and architecture).
fn verify_request(args: &VerifyArgs, env: &RunnerEnv) -> Result<Request> {
    let mut request = base_request(
        &args.config,
        args.workspace.clone(),
        env,
        Stages {
            verify: true,
            ..Stages::default()
        },
    )?;
    let path = absolute(std::slice::from_ref(&args.manifest))?.remove(0);
    let manifest = crate::domain::manifest::Manifest::read(&path)?;
    request.version = Some(match &args.version {
        Some(text) => parse_version(text)?,
        None => Version::new(&manifest.version).map_err(|e| {
            anyhow!(
                "{}: {e}\n  help: pass the manifest the build stage wrote",
                path.display()
            )
        })?,
    });
    request.architecture = Some(match manifest.architecture.as_str() {
        "arm64" => Architecture::Arm64,
        _ => Architecture::X86_64,
    });
    request.manifest = Some(path);
    Ok(request)
}

/// The request of an AWS stage command.
fn stage_request(args: &StageArgs, env: &RunnerEnv, stages: Stages) -> Result<Request> {
    let mut request = base_request(&args.config, args.workspace.clone(), env, stages)?;
    request.version = args.version.as_deref().map(parse_version).transpose()?;
    request.architecture = Some(match args.architecture {
        Some(arch) => arch.into(),
        None => request.config.build.architectures[0],
    });
    request.manifest = Some(absolute(std::slice::from_ref(&args.manifest))?.remove(0));
    request.rebuild = args.rebuild;
    Ok(request)
}

/// Loads and validates the config.
pub(crate) fn load_config(path: &Path) -> Result<Config> {
    Config::load(path).map_err(|e| Diagnostic::from(e).into())
}

/// A version given on the command line.
pub(crate) fn parse_version(text: &str) -> Result<Version> {
    Version::new(text).map_err(|e| anyhow!("{e}\n  help: pass a version like 5.26.0 or 2025.06.0"))
}
