//! What the user asked for. Each front end turns its input (the command line's flags, the
//! action's inputs) into one [`Request`]; the engine resolves it into a
//! [`Release`](super::Release) and runs it.

use std::path::PathBuf;

use secrecy::SecretString;

use super::stage::Stages;
use crate::config::{Architecture, Config, SubmitIntent};
use crate::diagnostic::{Diagnostic, Kind};
use crate::domain::ami::AmiId;
use crate::domain::version::Version;

/// Who asked: the command line names flags, the action names inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The command line.
    Cli,
    /// The GitHub Action.
    Action,
}

impl Caller {
    /// A diagnostic about the value given as `flag` on the command line or `input` in the
    /// action.
    pub fn about(self, flag: &str, input: &str, message: String, help: &str) -> Diagnostic {
        match self {
            Caller::Cli => Diagnostic::new(Kind::Run, format!("{flag}: {message}"), help),
            Caller::Action => Diagnostic::new(Kind::Input, message, help).for_input(input),
        }
    }
}

/// Where the pull request goes, as given.
#[derive(Debug, Default)]
pub struct GitHubRequest {
    /// `owner/name`; default `GITHUB_REPOSITORY`.
    pub repository: Option<String>,
    /// The base branch; default `pull-request.base`, else the event's default branch.
    pub base: Option<String>,
    /// The token; default `GITHUB_TOKEN`.
    pub token: Option<SecretString>,
}

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// The command line or the action.
    pub caller: Caller,
    /// The config, loaded and validated (`regions: template` is resolved by the engine).
    pub config: Config,
    /// The config's path as the user gave it.
    pub config_path: String,
    /// The repository root.
    pub workspace: PathBuf,
    /// The stages to run.
    pub stages: Stages,
    /// The version when given; else the tag's, else the manifests'.
    pub version: Option<Version>,
    /// The one architecture to build; all of `build.architectures` when `None`.
    pub architecture: Option<Architecture>,
    /// Where a build or copy job writes (copy alone: reads) its manifest; a default per
    /// architecture when `None`.
    pub manifest: Option<PathBuf>,
    /// What a publish or submit job without build or copy reads: manifest files, or
    /// directories of them.
    pub manifests: Vec<PathBuf>,
    /// Copy this existing image instead of the manifest's.
    pub image: Option<AmiId>,
    /// Where the pull request goes.
    pub github: GitHubRequest,
    /// Remove this run's images and snapshots when a required region fails.
    pub cleanup_on_failure: bool,
    /// Build even though the AMI name is taken by an image that can't be resumed from, under
    /// the name `<ami-name>-<run ID>`.
    pub rebuild: bool,
    /// Overrides submit.intent.
    pub intent: Option<SubmitIntent>,
    /// Wait for the APPLY change set to end.
    pub wait: bool,
}

impl Request {
    /// A request of `stages` with nothing else given: the version from the tag (or the
    /// manifests), every configured architecture, the default manifests.
    pub fn new(
        caller: Caller,
        config: Config,
        config_path: String,
        workspace: PathBuf,
        stages: Stages,
    ) -> Self {
        Self {
            caller,
            config,
            config_path,
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
        }
    }
}
