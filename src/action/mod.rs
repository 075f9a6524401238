//! The GitHub Action, a front end (`runs: using: docker`). It holds no stage logic: it reads
//! the inputs ([`inputs`]), lays them over the config, hands the engine one
//! [`Request`], and turns the [`Outcome`] into step outputs ([`outputs`]) and a step summary
//! ([`summary`]), also when a stage failed or the job was cancelled.
//!
//! Architecture invariant: nothing in the crate names `action`; it does not name
//! [`crate::cli`], its sibling (the binary picks one of the two).

#![allow(
    clippy::print_stdout,
    reason = "a front end prints: the step outputs when GITHUB_OUTPUT is not set"
)]

pub mod inputs;
pub mod outputs;
pub mod summary;

use std::process::ExitCode;

use anyhow::Result;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::domain::version::Version;
use crate::release::env::RunnerEnv;
use crate::release::{
    self, plan::make_plan, Caller, GitHubRequest, Outcome, Release, Request, Stage, Stages,
};
use inputs::{ActionInputs, RawInputs};
use outputs::ActionOutputs;
use summary::SummaryFacts;

/// Runs the action. Exit codes: 0 done, 2 an error, 130 cancelled.
pub fn run(env: RunnerEnv) -> Result<ExitCode> {
    let raw = RawInputs::from_env().map_err(Diagnostic::from)?;
    let inputs = ActionInputs::parse(raw).map_err(Diagnostic::from)?;
    let workspace = env.workspace(None)?;
    let config_path = crate::files::in_workspace(
        &workspace,
        &inputs.config,
        "the `config` input",
        crate::files::Expect::File,
    )?;
    let config =
        Config::load_with_overrides(&config_path, &inputs.overrides).map_err(|mut e| {
            e.path = inputs.config.clone();
            Diagnostic::from(e)
        })?;
    let version = inputs
        .version
        .as_deref()
        .map(|text| {
            Version::new(text).map_err(|e| {
                Diagnostic::from(inputs::InputError {
                    input: "version",
                    message: e.to_string(),
                    help: "give a version like 5.26.0 or 2025.06.0".into(),
                })
            })
        })
        .transpose()?;
    // `all` verifies when the config has a `verify` section.
    let verify =
        inputs.stages.contains(Stage::Verify) && (inputs.verify_named || config.verify.is_some());
    let mut request = Request::new(
        Caller::Action,
        config,
        inputs.config.display().to_string(),
        workspace,
        inputs.stages.set(Stage::Verify, verify),
    );
    request.version = version;
    request.architecture = inputs.architecture;
    request.manifest = inputs.manifest;
    request.manifests = inputs.manifests;
    request.github = GitHubRequest {
        repository: None,
        base: None,
        token: inputs.token,
    };
    request.rebuild = inputs.rebuild;
    if inputs.dry_run {
        return dry_run(request, env);
    }
    let (outputs_path, summary_path) = (
        env.github.github_output.clone(),
        env.github.github_step_summary.clone(),
    );
    let release = Release::prepare(request, env)?;
    let outcome = release::run_async(|cancel| async move { Ok(release.run(&cancel).await) })?;
    hand_on(&outcome, outputs_path.as_deref(), summary_path.as_deref())?;
    outcome.exit()
}

/// Writes the step outputs and the step summary of `outcome`.
fn hand_on(
    outcome: &Outcome,
    outputs_path: Option<&std::path::Path>,
    summary_path: Option<&std::path::Path>,
) -> Result<()> {
    let outputs = ActionOutputs::new(
        &outcome.manifests,
        outcome.published.as_ref(),
        &outcome.branch,
    )
    .with_change_set(outcome.change_set.as_ref());
    outputs::write_outputs(&outputs, outputs_path)?;
    summary::write_summary(
        &summary::summary_markdown(&SummaryFacts {
            title: outcome.title.clone(),
            stages: outcome.stages.describe(),
            manifests: &outcome.manifests,
            published: outcome.published.as_ref(),
            stopped: outcome.why_stopped(),
            change_set: outcome.change_set.as_ref(),
            found: &outcome.facts,
        }),
        summary_path,
    )
}

/// `dry-run: true`: validate everything and show the plan, with no AWS call and no GitHub
/// write.
fn dry_run(request: Request, env: RunnerEnv) -> Result<ExitCode> {
    let workspace = request.workspace.clone();
    let config_path = workspace.join(&request.config_path);
    let mut config = request.config.clone();
    release::resolve_template_regions(&mut config, &workspace)?;
    // The version is resolved as a real run resolves it; no stage runs.
    let prepared = Release::prepare(
        Request {
            stages: Stages::NONE,
            ..request
        },
        env.clone(),
    )?;
    let version = prepared.version();
    let plan = make_plan(&config, &config_path, &workspace, version, None, &env)?;
    crate::output::report(&plan.report(&config));
    release::show_warnings(&plan.warnings);
    let outputs = ActionOutputs {
        pull_request_operation: "none".into(),
        branch: plan.branch.clone(),
        ..ActionOutputs::default()
    };
    outputs::write_outputs(&outputs, env.github.github_output.as_deref())?;
    summary::write_summary(
        &summary::dry_run_markdown(
            &config.product.name,
            version,
            &plan,
            &release::plan::schedule(&config),
        ),
        env.github.github_step_summary.as_deref(),
    )?;
    Ok(ExitCode::SUCCESS)
}
