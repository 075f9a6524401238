//! Run mode: what the binary does as the GitHub Action (`runs: using: docker`). It reads the
//! inputs, lays them over the config, runs the chosen stages for each architecture, then hands
//! on step outputs and a step summary, also when a stage failed or the job was cancelled.

pub mod inputs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};

use crate::config::{Architecture, Config};
use crate::aws::ec2::Ec2;
use crate::domain::manifest::Manifest;
use crate::app::pipeline::{self, Context, GitHubTarget};
use crate::stages::publish::Published;
use crate::output::diagnostic::Diagnostic;
use crate::stages::StageError;
use crate::domain::version::Version;
use inputs::{ActionInputs, RawInputs};
use crate::output::step::{self as outputs, ActionOutputs, SummaryFacts};

/// The manifest a job writes for `architecture` when the `manifest` input is empty.
fn default_manifest(architecture: Architecture, several: bool) -> PathBuf {
    if several {
        PathBuf::from(format!(
            "marketplace-release-manifest-{}.json",
            architecture.as_str()
        ))
    } else {
        PathBuf::from("marketplace-release-manifest.json")
    }
}

/// The `manifests` input: files, and directories whose `*.json` files (one level down too, as
/// `actions/download-artifact` lays them out) are manifests.
fn expand_manifests(workspace: &Path, given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in given {
        let path = workspace.join(entry);
        if path.is_dir() {
            let mut in_dir = walk_json(&path, 2)?;
            if in_dir.is_empty() {
                bail!("input `manifests`: {} holds no .json file\n  help: download the build jobs' manifest artifacts there first", entry.display());
            }
            in_dir.sort();
            found.extend(in_dir);
        } else if path.is_file() {
            found.push(path);
        } else {
            bail!("input `manifests`: {} does not exist\n  help: give the manifest files (or their directory) that the build jobs uploaded and this job downloaded", entry.display());
        }
    }
    Ok(found)
}

fn walk_json(dir: &Path, depth: u32) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| anyhow!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| anyhow!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() && depth > 1 {
            files.extend(walk_json(&path, depth - 1)?);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(files)
}

fn input_error(error: inputs::InputError) -> anyhow::Error {
    Diagnostic::from(error).into()
}

/// The version: the `version` input, else the tag this run is on.
fn version(inputs: &ActionInputs, config: &Config) -> Result<Version> {
    if let Some(text) = &inputs.version {
        return Version::new(text).map_err(|e| {
            input_error(inputs::InputError {
                input: "version",
                message: e.to_string(),
                help: "give a version like 5.26.0 or 2025.06.0".into(),
            })
        });
    }
    pipeline::tag_version(&config.version.tag_prefix)?.ok_or_else(|| {
        let event = std::env::var("GITHUB_EVENT_NAME").unwrap_or_else(|_| "this".into());
        input_error(inputs::InputError {
            input: "version",
            message: format!("no version: the {event} run is not on a tag"),
            help: "pass `version` (for workflow_dispatch, an input of the workflow), or run on a release tag like v5.26.0".into(),
        })
    })
}

/// Runs the action. Exit codes: 0 done, 2 an error, 130 cancelled.
pub fn run() -> Result<ExitCode> {
    let raw = RawInputs::from_env().map_err(input_error)?;
    let inputs = ActionInputs::parse(raw).map_err(input_error)?;
    let workspace = match std::env::var_os("GITHUB_WORKSPACE") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_dir()?,
    };
    let shown = inputs.config.display().to_string();
    let config = Config::load_with_overrides(&workspace.join(&inputs.config), &inputs.overrides)
        .map_err(|mut e| {
            e.path = inputs.config.clone();
            Diagnostic::from(e)
        })?;
    let version = version(&inputs, &config)?;
    let architectures: Vec<Architecture> = match inputs.architecture {
        Some(arch) if config.build.architectures.contains(&arch) => vec![arch],
        Some(arch) => {
            return Err(input_error(inputs::InputError {
                input: "architecture",
                message: format!("{} is not in build.architectures of {shown}", arch.as_str()),
                help: "add it to the config, or pick one it lists".into(),
            }))
        }
        None => config.build.architectures.clone(),
    };
    if inputs.dry_run {
        return dry_run(&config, &workspace, &version);
    }
    if inputs.stages.submit && config.submit.is_none() {
        return Err(input_error(inputs::InputError {
            input: "stages",
            message: format!("`submit` is asked for, but {shown} has no `submit` section"),
            help: "add `submit: {}` and product.id to the config to turn the submit stage on"
                .into(),
        }));
    }
    let target = if inputs.stages.publish {
        Some(GitHubTarget::resolve(
            None,
            None,
            &config,
            inputs.token.clone(),
        )?)
    } else {
        None
    };
    let several = architectures.len() > 1;
    if inputs.manifest.is_some() && several {
        return Err(input_error(inputs::InputError {
            input: "manifest",
            message: format!("one manifest path, but this job handles {} architectures", architectures.len()),
            help: "set `architecture` (one job per architecture, as in a matrix), or leave `manifest` empty".into(),
        }));
    }
    let body_template = pipeline::read_body_template(&config, &workspace)?;

    // Everything that can be checked without AWS is checked before the first call.
    let mut jobs = Vec::new();
    if inputs.stages.build || inputs.stages.copy {
        for &architecture in &architectures {
            let manifest_path = workspace.join(
                inputs
                    .manifest
                    .clone()
                    .unwrap_or_else(|| default_manifest(architecture, several)),
            );
            let context = Context {
                config: config.clone(),
                workspace: workspace.clone(),
                version: version.clone(),
                architecture,
                manifest_path,
            };
            let prepared = context.prepare(inputs.stages.build, false)?;
            let manifest = if inputs.stages.build {
                context.new_manifest(&prepared.run_id)?
            } else {
                let manifest = Manifest::read(&context.manifest_path)?;
                if manifest.source_image_id.is_none() {
                    bail!(
                        "{}: the manifest has no built image\n  help: run the build stage first",
                        context.manifest_path.display()
                    );
                }
                manifest
            };
            jobs.push((context, prepared, manifest));
        }
    }
    let given_manifests = if (inputs.stages.publish || inputs.stages.submit) && jobs.is_empty() {
        let paths = if inputs.manifests.is_empty() {
            architectures
                .iter()
                .map(|&a| workspace.join(default_manifest(a, several)))
                .collect()
        } else {
            expand_manifests(&workspace, &inputs.manifests)?
        };
        let mut manifests = Vec::new();
        for path in paths {
            manifests.push((path.display().to_string(), Manifest::read(&path)?));
        }
        manifests
    } else {
        Vec::new()
    };
    // A submit-only job checks its request before any call.
    let early_submission = if inputs.stages.submit && jobs.is_empty() {
        Some(pipeline::prepare_submission(
            &config,
            &given_manifests,
            Some(&version),
        )?)
    } else {
        None
    };
    let intent = config.submit.as_ref().map(|s| s.intent).unwrap_or_default();
    let title = format!("{} {}", config.product.name, version);
    let stages = inputs.stages;

    pipeline::run_async(|cancel| async move {
        let mut manifests = given_manifests;
        let mut stopped: Option<StageError> = None;
        if !jobs.is_empty() {
            let ec2 = Arc::new(Ec2::from_env().await);
            for (context, prepared, manifest) in jobs {
                let (manifest, result) = pipeline::build_and_copy(
                    ec2.clone(),
                    &context,
                    prepared,
                    manifest,
                    stages.copy,
                    &cancel,
                )
                .await;
                manifests.push((context.manifest_path.display().to_string(), manifest));
                if let Err(e) = result {
                    stopped = Some(e);
                    break;
                }
            }
        }
        let mut published: Option<Published> = None;
        let mut publish_error = None;
        if stopped.is_none() {
            if let Some(target) = &target {
                let outcome = async {
                    let (version, amis) =
                        crate::stages::publish::amis_from_manifests(&config, &manifests, Some(&version))?;
                    pipeline::publish_and_report(target, &config, &version, &amis, &body_template)
                        .await
                }
                .await;
                match outcome {
                    Ok(p) => published = Some(p),
                    Err(e) => publish_error = Some(e),
                }
            }
        }
        let mut change_set = None;
        let mut submit_error = None;
        if stages.submit && stopped.is_none() && publish_error.is_none() {
            let outcome = async {
                let submission = match early_submission {
                    Some(submission) => submission,
                    None => pipeline::prepare_submission(&config, &manifests, Some(&version))?,
                };
                pipeline::submit_and_report(&config, &submission, intent, false, &cancel).await
            }
            .await;
            match outcome {
                Ok(state) => change_set = Some(state),
                Err(e) => submit_error = Some(e),
            }
        }
        let branch = crate::plan::render::render(
            "pull-request.branch",
            &config.pull_request.branch,
            minijinja::context!(version => version.as_str(), product => config.product.name.as_str()),
        )
        .unwrap_or_default();
        let outputs = ActionOutputs::new(&manifests, published.as_ref(), &branch)
            .with_change_set(change_set.as_ref());
        outputs::write_outputs(&outputs)?;
        let why = match (&stopped, &publish_error) {
            (Some(StageError::Cancelled), _) => {
                Some("cancelled; the manifests list what exists".to_owned())
            }
            (Some(e), _) => Some(e.to_string().lines().next().unwrap_or_default().to_owned()),
            (None, Some(e)) => Some(format!(
                "publish failed: {}",
                e.to_string().lines().next().unwrap_or_default()
            )),
            (None, None) => submit_error.as_ref().map(|e| {
                format!(
                    "submit failed: {}",
                    e.to_string().lines().next().unwrap_or_default()
                )
            }),
        };
        outputs::write_summary(&outputs::summary_markdown(&SummaryFacts {
            title,
            stages: stages.describe(),
            manifests: &manifests,
            published: published.as_ref(),
            stopped: why,
            change_set: change_set.as_ref(),
        }))?;
        if let Some(e) = stopped {
            let path = manifests
                .last()
                .map(|(p, _)| PathBuf::from(p))
                .unwrap_or_default();
            return pipeline::finish(e, &path);
        }
        if let Some(e) = publish_error.or(submit_error) {
            return Err(e);
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `dry-run: true`: validate everything and show the plan, with no AWS call and no GitHub write.
fn dry_run(config: &Config, workspace: &Path, version: &Version) -> Result<ExitCode> {
    let plan = pipeline::make_plan(config, workspace, version, None)?;
    print!("{}", plan.report(config));
    let outputs = ActionOutputs {
        pull_request_operation: "none".into(),
        branch: plan.branch.clone(),
        ..ActionOutputs::default()
    };
    outputs::write_outputs(&outputs)?;
    let mut md = format!(
        "## marketplace-release: {} {} (dry run)\n\nNo AMI was built and no pull request was opened. The release would:\n\n",
        config.product.name, version
    );
    for t in &plan.templates {
        md.push_str(&format!("- update `{}`: {}\n", t.path, t.summary));
    }
    md.push_str(&format!(
        "- commit to `{}` and open **{}**\n\n<details><summary>Pull request body (placeholder AMI IDs)</summary>\n\n{}\n\n</details>\n",
        plan.branch, plan.pr_title, plan.pr_body
    ));
    outputs::write_summary(&md)?;
    Ok(ExitCode::SUCCESS)
}
