//! The AWS and GitHub commands (`build`, `verify`, `copy`, `release`, `publish`, `submit`):
//! each turns its arguments into one [`Request`], runs it through the engine, and reports the
//! [`Outcome`](crate::release::Outcome) as the exit code and the last lines.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use super::args::{
    CopyArgs, GitHubArgs, PublishArgs, ReleaseArgs, StageArgs, SubmitArgs, VerifyArgs,
};
use crate::config::{Architecture, Config, SubmitIntent};
use crate::diagnostic::Diagnostic;
use crate::domain::ami::AmiId;
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::output::log;
use crate::release::env::RunnerEnv;
use crate::release::{self, Caller, GitHubRequest, Release, Request, Stage, Stages};

/// `build`: the build stage alone.
pub fn build(args: &StageArgs, env: RunnerEnv) -> Result<ExitCode> {
    let request = stage_request(args, &env, Stages::of(&[Stage::Build]))?;
    run(request, env)
}

/// `copy`: the copy stage alone, from the manifest or `--image`.
pub fn copy(args: &CopyArgs, env: RunnerEnv) -> Result<ExitCode> {
    let mut request = stage_request(&args.stage, &env, Stages::of(&[Stage::Copy]))?;
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
    run(request, env)
}

/// `verify`: the manifest's release (version and architecture) booted and checked.
pub fn verify(args: &VerifyArgs, env: RunnerEnv) -> Result<ExitCode> {
    let mut request = base_request(
        &args.config,
        args.workspace.clone(),
        &env,
        Stages::of(&[Stage::Verify]),
    )?;
    let path = absolute(std::slice::from_ref(&args.manifest))?.remove(0);
    let manifest = Manifest::read(&path)?;
    request.version = Some(match &args.version {
        Some(text) => parse_version(text)?,
        None => Version::new(&manifest.version).map_err(|e| {
            anyhow!(
                "{}: {e}\n  help: pass the manifest the build stage wrote",
                path.display()
            )
        })?,
    });
    request.architecture = Some(manifest_architecture(&path, &manifest)?);
    request.manifest = Some(path);
    run(request, env)
}

/// The architecture a manifest was built for; one EC2 does not name is an error naming the file
/// and the value.
fn manifest_architecture(path: &Path, manifest: &Manifest) -> Result<Architecture> {
    Architecture::from_ec2_name(&manifest.architecture).ok_or_else(|| {
        anyhow!(
            "{}: the manifest's architecture `{}` is not one EC2 builds (x86_64 or arm64)\n  help: pass the manifest the build stage wrote for this release",
            path.display(),
            manifest.architecture
        )
    })
}

/// `release`: the whole pipeline, verifying when the config has a `verify` section.
pub fn release(args: &ReleaseArgs, env: RunnerEnv) -> Result<ExitCode> {
    let stages = Stages::of(&[Stage::Build, Stage::Copy, Stage::Templates])
        .set(Stage::Publish, !args.no_publish);
    let mut request = stage_request(&args.stage, &env, stages)?;
    request.stages = request
        .stages
        .set(Stage::Verify, request.config.verify.is_some());
    request.cleanup_on_failure = args.cleanup_on_failure;
    request.github = github_request(&args.github);
    run(request, env)
}

/// `publish`: the pull request from the given manifests.
pub fn publish(args: &PublishArgs, env: RunnerEnv) -> Result<ExitCode> {
    let mut request = base_request(
        &args.config,
        args.workspace.clone(),
        &env,
        Stages::of(&[Stage::Publish]),
    )?;
    request.version = args.version.as_deref().map(parse_version).transpose()?;
    request.manifests = absolute(&args.manifest)?;
    request.github = github_request(&args.github);
    run(request, env)
}

/// `submit`: the version through the Catalog API, from the given manifest.
pub fn submit(args: &SubmitArgs, env: RunnerEnv) -> Result<ExitCode> {
    let mut request = base_request(&args.config, None, &env, Stages::of(&[Stage::Submit]))?;
    request.version = args.version.as_deref().map(parse_version).transpose()?;
    request.manifests = absolute(std::slice::from_ref(&args.manifest))?;
    request.intent = args.intent.map(SubmitIntent::from);
    request.wait = args.wait;
    run(request, env)
}

/// Prepares and runs a release, then reports its outcome.
fn run(request: Request, env: RunnerEnv) -> Result<ExitCode> {
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
    let loaded = load_config(config)?;
    Ok(Request::new(
        Caller::Cli,
        loaded,
        config.display().to_string(),
        workspace,
        stages,
    ))
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
pub fn load_config(path: &Path) -> Result<Config> {
    Config::load(path).map_err(|e| Diagnostic::from(e).into())
}

/// A version given on the command line.
pub fn parse_version(text: &str) -> Result<Version> {
    Version::new(text).map_err(|e| anyhow!("{e}\n  help: pass a version like 5.26.0 or 2025.06.0"))
}
