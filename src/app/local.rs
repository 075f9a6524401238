//! The commands that need no AWS and no GitHub write: `template` (one template file), `plan`
//! (what a release would do), and `status` (a Catalog change set, read-only).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use indexmap::IndexMap;

use super::advice;
use super::cli::{load_config, parse_version, PlanArgs, StatusArgs, TemplateArgs};
use super::env::RunnerEnv;
use super::release::{self, read_body_template, today};
use crate::aws::catalog::Catalog;
use crate::config::{Architecture, Config};
use crate::domain::ami::AmiSet;
use crate::domain::version::Version;
use crate::files::{file_error, write_atomically};
use crate::output::{self, diagnostic};
use crate::plan;
use crate::stages::submit;
use crate::template::EditRequest;

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

/// `template`: edits one template.
pub fn template(args: TemplateArgs) -> Result<ExitCode> {
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
    let edited = release::edit_template(&shown, &bytes, &request)?;
    for change in &edited.changes {
        tracing::info!(template = %shown, "{}", serde_json::to_string(change).unwrap_or_default());
    }
    let old = std::str::from_utf8(&bytes).expect("parse_bytes checked UTF-8");
    if args.check {
        if edited.changed {
            output::report(&output::unified_diff(&shown, old, &edited.text));
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

/// The plan of a release from the workspace's templates (placeholder AMIs when `amis` is
/// `None`), with the same checks a build makes before its first AWS call: the build script is
/// read, wrapped and sized, and every name is rendered as the build renders it. Errors about a
/// config value point at its line in `config_path`.
pub fn make_plan(
    config: &Config,
    config_path: &Path,
    workspace: &Path,
    version: &Version,
    amis: Option<&IndexMap<Architecture, AmiSet>>,
    env: &RunnerEnv,
) -> Result<plan::ReleasePlan> {
    let mut texts = Vec::new();
    for target in &config.templates {
        let (_, bytes) =
            crate::files::read_bytes_in_workspace(workspace, &target.path, "templates[].path")?;
        texts.push(bytes);
    }
    let user_data = match config.build.script() {
        Some(script) => Some((
            script,
            release::read_user_data(config, script, workspace, "000000000000", version)?.0,
        )),
        None => None,
    };
    let body_template = read_body_template(config, workspace)?;
    let run_url = env.run_url();
    let date = today();
    let inputs = plan::PlanInputs {
        version,
        amis,
        template_texts: &texts,
        body_template: &body_template,
        run_url: run_url.as_deref(),
        date: &date,
        manifests: &[],
        ingestion: "",
        listing: &[],
        stack: None,
    };
    let mut plan = plan::plan(config, &inputs).map_err(|e| {
        let text = std::fs::read_to_string(config_path).unwrap_or_default();
        diagnostic::plan_error(e, &config_path.display().to_string(), &text)
    })?;
    plan.warnings = advice::warnings(config);
    plan.build_script = user_data.map(|(script, user_data)| {
        format!(
            "{}: {} bytes of user data{} (EC2's limit is {} bytes)",
            script.display(),
            user_data.bytes,
            if user_data.gzipped { ", gzipped" } else { "" },
            plan::userdata::USER_DATA_LIMIT
        )
    });
    Ok(plan)
}

/// `plan`: validates the config and templates and prints what a release would do.
pub fn plan(args: PlanArgs, env: &RunnerEnv) -> Result<ExitCode> {
    let mut config = load_config(&args.config)?;
    let workspace = env.workspace(args.workspace)?;
    advice::resolve_template_regions(&mut config, &workspace)?;
    let version = match &args.version {
        Some(text) => parse_version(text)?,
        None => env.tag_version(&config.version.tag_prefix)?.ok_or_else(|| {
            anyhow!("no version given and this is not a tag build\n  help: pass --version, like --version 5.26.0")
        })?,
    };
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
    let plan = make_plan(
        &config,
        &args.config,
        &workspace,
        &version,
        amis.as_ref(),
        env,
    )?;
    output::report(&plan.report(&config));
    if output::in_github_actions() {
        advice::show(&plan.warnings);
    }
    if let Some(path) = &args.load_form_csv {
        write_atomically(path, &plan::loadform::to_csv(&plan.load_form))?;
        eprintln!("wrote the load form values to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `status`: shows a change set, waiting for it to end with `--wait`; fails when it failed.
pub fn status(args: StatusArgs, env: &RunnerEnv) -> Result<ExitCode> {
    if !(args.timeout_minutes.is_finite()
        && args.timeout_minutes > 0.0
        && args.timeout_minutes <= 1440.0)
    {
        bail!(
            "--timeout-minutes {} is not a number of minutes between 0 and 1440",
            args.timeout_minutes
        );
    }
    let timeout = Duration::from_secs_f64(args.timeout_minutes * 60.0);
    let schedule = env.poll_schedule();
    release::run_async(|cancel| async move {
        let catalog = Catalog::from_env().await;
        let state = if args.wait {
            submit::wait_for(&catalog, &args.change_set, timeout, &schedule, &cancel).await?
        } else {
            catalog.describe_change_set(&args.change_set).await?
        };
        output::report(&submit::describe(&state));
        if state.status.is_failure() {
            return Err(submit::SubmitError::Failed(Box::new(state)).into());
        }
        Ok(ExitCode::SUCCESS)
    })
}
