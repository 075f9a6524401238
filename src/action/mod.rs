//! Run mode: what the binary does as the GitHub Action (`runs: using: docker`). It holds no
//! stage logic: it reads the inputs ([`inputs`]), lays them over the config, hands the
//! orchestrator ([`crate::app::release`]) a request, and turns the outcome into step outputs
//! and a step summary ([`crate::output::step`]), also when a stage failed or the job was
//! cancelled.

pub mod inputs;

use std::process::ExitCode;

use anyhow::Result;

use crate::app::env::RunnerEnv;
use crate::app::local::make_plan;
use crate::app::release::{self, Caller, GitHubRequest, Outcome, Release, Request};
use crate::config::Config;
use crate::domain::version::Version;
use crate::output::diagnostic::Diagnostic;
use crate::output::step::{self, ActionOutputs, SummaryFacts};
use inputs::{ActionInputs, RawInputs};

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
    let mut config =
        Config::load_with_overrides(&config_path, &inputs.overrides).map_err(|mut e| {
            e.path = inputs.config.clone();
            Diagnostic::from(e)
        })?;
    crate::app::advice::resolve_template_regions(&mut config, &workspace)?;
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
    let mut stages = inputs.stages;
    // `all` verifies when the config has a `verify` section.
    stages.verify = stages.verify && (inputs.verify_named || config.verify.is_some());
    let request = Request {
        caller: Caller::Action,
        config_path: inputs.config.display().to_string(),
        config,
        workspace,
        stages,
        version,
        architecture: inputs.architecture,
        manifest: inputs.manifest,
        manifests: inputs.manifests,
        image: None,
        github: GitHubRequest {
            repository: None,
            base: None,
            token: inputs.token,
        },
        cleanup_on_failure: false,
        rebuild: inputs.rebuild,
        intent: None,
        wait: false,
    };
    if inputs.dry_run {
        return dry_run(request, env);
    }
    let release = Release::prepare(request, env)?;
    let outcome = release::run_async(|cancel| async move { Ok(release.run(&cancel).await) })?;
    hand_on(&outcome)?;
    outcome.exit()
}

/// Writes the step outputs and the step summary of `outcome`.
fn hand_on(outcome: &Outcome) -> Result<()> {
    let outputs = ActionOutputs::new(
        &outcome.manifests,
        outcome.published.as_ref(),
        &outcome.branch,
    )
    .with_change_set(outcome.change_set.as_ref());
    step::write_outputs(&outputs)?;
    step::write_summary(&step::summary_markdown(&SummaryFacts {
        title: outcome.title.clone(),
        stages: outcome.stages.describe(),
        manifests: &outcome.manifests,
        published: outcome.published.as_ref(),
        stopped: outcome.why_stopped(),
        change_set: outcome.change_set.as_ref(),
        ingestion: &outcome.ingestion,
        seller: outcome.seller.as_deref(),
        listing: &outcome.listing,
        stack: outcome.stack.as_ref(),
    }))
}

/// `dry-run: true`: validate everything and show the plan, with no AWS call and no GitHub
/// write.
fn dry_run(request: Request, env: RunnerEnv) -> Result<ExitCode> {
    let (config, workspace) = (request.config.clone(), request.workspace.clone());
    let config_path = workspace.join(&request.config_path);
    // The version is resolved as a real run resolves it; no stage runs.
    let prepared = Release::prepare(
        Request {
            stages: release::Stages::default(),
            ..request
        },
        env.clone(),
    )?;
    let version = prepared.version();
    let plan = make_plan(&config, &config_path, &workspace, version, None, &env)?;
    crate::output::report(&plan.report(&config));
    crate::app::advice::show(&plan.warnings);
    let outputs = ActionOutputs {
        pull_request_operation: "none".into(),
        branch: plan.branch.clone(),
        ..ActionOutputs::default()
    };
    step::write_outputs(&outputs)?;
    step::write_summary(&step::dry_run_markdown(
        &config.product.name,
        version,
        &plan,
    ))?;
    Ok(ExitCode::SUCCESS)
}
