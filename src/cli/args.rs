//! The arguments of each command, as clap parses them. Values stay as the user typed them
//! until [`super::request`] checks them into a request.

use std::path::PathBuf;

use clap::{ArgGroup, Args, ValueEnum};

use crate::config::{Architecture, SubmitIntent};

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
