//! Resolving a [`Request`] into a [`Release`]: every value resolved (the version, the
//! architectures, `regions: template`, where the pull request goes, the jobs, the manifests a
//! later job reads) and the local pre-flight checks run, all before any AWS call or GitHub
//! write, so that a bad value costs nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Result};

use super::env::RunnerEnv;
use super::job::{self, default_manifest, Job};
use super::prepared::{GitHubTarget, Release, Resolved};
use super::request::{Caller, Request};
use super::stage::Stage;
use crate::config::{Architecture, Config, Regions};
use crate::diagnostic::{Diagnostic, Kind};
use crate::domain::ami::Region;
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::files;
use crate::github::{RepoName, RetryPolicy};
use crate::plan;
use crate::stages::preflight::{advice, local, Check, CHECKS};
use crate::template::{template_error, Template};

impl Release {
    /// Resolves and checks everything `request` needs, with no AWS call and no GitHub write.
    pub fn prepare(mut request: Request, env: RunnerEnv) -> Result<Self> {
        resolve_template_regions(&mut request.config, &request.workspace)?;
        let version = resolve_version(&request, &env)?;
        let architectures = select_architectures(&request)?;
        require_sections(&request)?;
        let github = if request.stages.contains(Stage::Publish) {
            Some(resolve_github(&request, &env)?)
        } else {
            None
        };
        let body_template = read_body_template(&request.config, &request.workspace)?;
        let date = today();
        let jobs = job::prepare_jobs(&request, &env, &version, &architectures, &date)?;
        if request.stages.contains(Stage::Build) {
            advice::show(&advice::warnings(&request.config));
        }
        let reads_manifests =
            request.stages.contains(Stage::Publish) || request.stages.contains(Stage::Submit);
        let given = if jobs.is_empty() && reads_manifests {
            read_given_manifests(&request, &architectures)?
        } else {
            Vec::new()
        };
        let intent = request
            .intent
            .or_else(|| request.config.submit.as_ref().map(|s| s.intent))
            .unwrap_or_default();
        let resolved = Resolved {
            caller: request.caller,
            config: request.config,
            workspace: request.workspace,
            stages: request.stages,
            version,
            date,
            github,
            body_template,
            intent,
            wait: request.wait,
            env,
        };
        for check in CHECKS.iter().filter(|c| !c.reads_aws()) {
            run_local_check(*check, &resolved, &jobs, &given)?;
        }
        // A submit job without build or copy checks its whole request before any call.
        let submission = if resolved.stages.contains(Stage::Submit) && jobs.is_empty() {
            Some(plan::submission::prepare(
                &resolved.config,
                &given,
                &resolved.version,
                &resolved.date,
            )?)
        } else {
            None
        };
        Ok(Release {
            resolved,
            jobs,
            given,
            submission,
        })
    }
}

/// One local pre-flight check, over what it checks.
fn run_local_check(
    check: Check,
    release: &Resolved,
    jobs: &[Job],
    given: &[(String, Manifest)],
) -> Result<()> {
    let stages = release.stages;
    match check {
        Check::Templates
            if stages.contains(Stage::Templates)
                && (stages.contains(Stage::Build) || stages.contains(Stage::Copy)) =>
        {
            local::templates(&release.workspace, &release.config.templates)?;
        }
        Check::Branch if stages.contains(Stage::Publish) => {
            local::branch(&release.config, release.vars()).map_err(|d| match release.caller {
                Caller::Action => {
                    Diagnostic::new(Kind::Input, d.message, d.help).for_input("branch")
                }
                Caller::Cli => d,
            })?;
        }
        Check::Manifests => local::manifests(&release.config, given, &release.version)?,
        Check::ManifestPaths => local::manifest_paths(jobs.iter().map(|j| &j.manifest_path))?,
        Check::Submission if stages.contains(Stage::Submit) => {
            local::submission(&release.config, &release.version, &release.date)?;
        }
        _ => {}
    }
    Ok(())
}

/// A stage asked for needs its config section.
fn require_sections(request: &Request) -> Result<()> {
    let missing = |stage: Stage, section: &str, help: &str| -> Result<()> {
        Err(request
            .caller
            .about(
                stage.as_str(),
                "stages",
                format!(
                    "`{stage}` is asked for, but {} has no `{section}` section",
                    request.config_path
                ),
                help,
            )
            .into())
    };
    if request.stages.contains(Stage::Submit) && request.config.submit.is_none() {
        missing(
            Stage::Submit,
            "submit",
            "add `submit: {}` and product.id to the config to turn the submit stage on",
        )?;
    }
    if request.stages.contains(Stage::Verify) && request.config.verify.is_none() {
        missing(Stage::Verify, "verify", "add `verify: {}` to the config (with `service:` and `script:` to check the product too) to turn the verify stage on")?;
    }
    Ok(())
}

/// Replaces `regions: template` by the regions of the templates' AMI mappings (each template's
/// configured mapping, else its only mapping with AMI IDs). Other configs are left alone.
pub fn resolve_template_regions(config: &mut Config, workspace: &Path) -> Result<()> {
    if config.regions != Regions::FromTemplates {
        return Ok(());
    }
    let mut found = Vec::new();
    for target in &config.templates {
        let (_, bytes) =
            crate::files::read_bytes_in_workspace(workspace, &target.path, "templates[].path")?;
        let shown = target.path.display().to_string();
        let template = Template::parse_bytes(&bytes).map_err(|e| template_error(&shown, e))?;
        let mappings = template.mappings();
        let mapping = match &target.mapping {
            Some(name) => mappings.iter().find(|m| &m.name == name),
            None => mappings.iter().find(|m| m.ami_values > 0),
        };
        if let Some(mapping) = mapping {
            found.extend(mapping.regions.iter().filter_map(|r| Region::new(r).ok()));
        }
    }
    config.regions = Regions::from_templates(found)
        .map_err(|e| Diagnostic::new(Kind::Config, format!("`regions`: {}", e.message), e.help))?;
    Ok(())
}

/// The version: given, else the tag's; publish and submit jobs may take the manifests'.
fn resolve_version(request: &Request, env: &RunnerEnv) -> Result<Version> {
    if let Some(version) = &request.version {
        return Ok(version.clone());
    }
    if let Some(version) = env.tag_version(&request.config.version.tag_prefix)? {
        return Ok(version);
    }
    let from_manifests = !request.stages.has_jobs();
    if from_manifests {
        if let Some(version) = version_of_manifests(request)? {
            return Ok(version);
        }
    }
    Err(match request.caller {
        Caller::Cli => Diagnostic::new(
            Kind::Run,
            "no version given and this is not a tag build",
            "pass --version, like --version 5.26.0",
        ),
        Caller::Action => Diagnostic::new(
            Kind::Input,
            format!("no version: the {} run is not on a tag", env.event_name()),
            "pass `version` (for workflow_dispatch, an input of the workflow), or run on a release tag like v5.26.0",
        )
        .for_input("version"),
    }
    .into())
}

/// The version the given manifests name (checked against each other later).
fn version_of_manifests(request: &Request) -> Result<Option<Version>> {
    let paths = manifest_paths(request, &[])?;
    let Some(first) = paths.first() else {
        return Ok(None);
    };
    let manifest = Manifest::read(first)?;
    Version::new(&manifest.version).map(Some).map_err(|e| {
        anyhow!(
            "{}: {e}\n  help: pass the manifest the build and copy stages wrote",
            first.display()
        )
    })
}

fn select_architectures(request: &Request) -> Result<Vec<Architecture>> {
    let configured = &request.config.build.architectures;
    match request.architecture {
        None => Ok(configured.clone()),
        Some(arch) if configured.contains(&arch) => Ok(vec![arch]),
        Some(arch) => Err(request
            .caller
            .about(
                "--architecture",
                "architecture",
                format!(
                    "{} is not in build.architectures of {}",
                    arch.as_str(),
                    request.config_path
                ),
                "add it to the config, or pick one it lists",
            )
            .into()),
    }
}

/// The repository from the request or `GITHUB_REPOSITORY`, the token from the request or
/// `GITHUB_TOKEN`, the API from `GITHUB_API_URL`, and the base branch from the request,
/// `pull-request.base` or the event payload's default branch (never the checkout, which is a
/// detached HEAD on tag runs).
fn resolve_github(request: &Request, env: &RunnerEnv) -> Result<GitHubTarget> {
    let caller = request.caller;
    let repository = request
        .github
        .repository
        .clone()
        .or_else(|| env.github.github_repository.clone().filter(|r| !r.is_empty()))
        .ok_or_else(|| anyhow!("no repository to open the pull request in\n  help: pass --repository owner/name (GitHub Actions sets GITHUB_REPOSITORY), or `release --no-publish` to only regenerate the templates in the workspace"))?;
    let repo = RepoName::parse(&repository)
        .map_err(|e| anyhow!("{e}\n  help: pass --repository owner/name"))?;
    let token = request.github.token.clone().or_else(|| env.github.github_token.clone()).ok_or_else(|| {
        caller.about(
            "GITHUB_TOKEN",
            "token",
            "no GitHub token".into(),
            match caller {
                Caller::Cli => "set GITHUB_TOKEN (or run `release --no-publish` to only regenerate the templates); in a workflow, add `env: GITHUB_TOKEN: ${{ github.token }}` to the step and `permissions: contents: write, pull-requests: write` to the job",
                Caller::Action => "leave `token` at its default `${{ github.token }}` (with `permissions: contents: write, pull-requests: write`), or pass a token secret",
            },
        )
    })?;
    let api_url = env
        .github
        .github_api_url
        .clone()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| crate::github::DEFAULT_API_URL.into());
    let base = request
        .github
        .base
        .clone()
        .or_else(|| request.config.pull_request.base.clone())
        .or_else(|| env.default_branch());
    if let Some(base) = &base {
        plan::check_branch_name(base).map_err(|e| {
            caller.about(
                "--base",
                "base",
                format!("base branch: {e}"),
                "give the name of an existing branch",
            )
        })?;
    }
    let first_backoff = env
        .knobs
        .github_backoff_ms
        .map_or(Duration::from_secs(1), Duration::from_millis);
    Ok(GitHubTarget {
        api_url,
        token,
        repo,
        base,
        retry: RetryPolicy::with_first_backoff(first_backoff),
    })
}

/// The manifest files a publish or submit job reads: the given files, and the `*.json` files
/// of given directories (one level down too, as `actions/download-artifact` lays them out);
/// without any, the default manifest of each architecture.
fn manifest_paths(request: &Request, architectures: &[Architecture]) -> Result<Vec<PathBuf>> {
    if request.manifests.is_empty() {
        let several = architectures.len() > 1;
        return Ok(architectures
            .iter()
            .map(|&a| request.workspace.join(default_manifest(a, several)))
            .collect());
    }
    let mut found = Vec::new();
    for entry in &request.manifests {
        let path = match request.caller {
            Caller::Action => files::in_workspace(
                &request.workspace,
                entry,
                "the `manifests` input",
                files::Expect::FileOrDir,
            )?,
            Caller::Cli => request.workspace.join(entry),
        };
        if path.is_dir() {
            let mut in_dir = json_files(&path, 2)?;
            if in_dir.is_empty() {
                return Err(request
                    .caller
                    .about(
                        "--manifest",
                        "manifests",
                        format!("{} holds no .json file", entry.display()),
                        "download the build jobs' manifest artifacts there first",
                    )
                    .into());
            }
            in_dir.sort();
            if request.caller == Caller::Action {
                for file in &in_dir {
                    files::in_workspace(
                        &request.workspace,
                        file,
                        "the `manifests` input",
                        files::Expect::File,
                    )?;
                }
            }
            found.extend(in_dir);
        } else if path.is_file() {
            found.push(path);
        } else {
            return Err(request.caller.about("--manifest", "manifests", format!("{} does not exist", entry.display()), "give the manifest files (or their directory) that the build jobs uploaded and this job downloaded").into());
        }
    }
    Ok(found)
}

fn json_files(dir: &Path, depth: u32) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| anyhow!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| anyhow!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() && depth > 1 {
            files.extend(json_files(&path, depth - 1)?);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(files)
}

/// Reads the given manifests, ordered as build.architectures lists their architectures (not
/// by file name: the first architecture's AMI is the one the outputs and the PR lead with).
fn read_given_manifests(
    request: &Request,
    architectures: &[Architecture],
) -> Result<Vec<(String, Manifest)>> {
    let mut manifests = Vec::new();
    for path in manifest_paths(request, architectures)? {
        manifests.push((path.display().to_string(), Manifest::read(&path)?));
    }
    let order = |m: &Manifest| {
        request
            .config
            .build
            .architectures
            .iter()
            .position(|a| a.as_str() == m.architecture)
            .unwrap_or(usize::MAX)
    };
    manifests.sort_by_key(|(_, m)| order(m));
    Ok(manifests)
}

/// The PR body template: the config's replacement, else the bundled one.
pub fn read_body_template(config: &Config, workspace: &Path) -> Result<String> {
    match &config.pull_request.body_template {
        Some(relative) => {
            files::read_in_workspace(workspace, relative, "pull-request.body-template")
        }
        None => Ok(plan::render::DEFAULT_PR_BODY.to_owned()),
    }
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}
