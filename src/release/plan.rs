//! What a release would do, as `plan` and the action's dry run show it: the plan of
//! [`crate::plan`] made from the workspace's files, with the same checks a build makes before
//! its first AWS call. No AWS call, no GitHub write.

use std::path::Path;

use anyhow::Result;
use indexmap::IndexMap;

use super::env::RunnerEnv;
use super::prepared::shape_of;
use super::resolve::{read_body_template, today};
use super::stage::{Stage, Stages};
use super::steps::{self, JobShape, Source};
use crate::config::Source as ImageSource;
use crate::config::{Architecture, Config};
use crate::domain::ami::AmiSet;
use crate::domain::facts::Facts;
use crate::domain::version::Version;
use crate::plan;
use crate::stages::preflight::{advice, CHECKS};

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
            super::job::read_user_data(config, script, workspace, "000000000000", version)?.0,
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
        facts: &Facts::default(),
    };
    let mut plan = plan::plan(config, &inputs).map_err(|e| {
        let text = std::fs::read_to_string(config_path).unwrap_or_default();
        plan::plan_error(e, &config_path.display().to_string(), &text)
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

/// What a release of `config` runs, as `plan` prints it: every pre-flight check in order, the
/// steps of the whole pipeline (the CLI's `release`, the action's `all`), and the steps of the
/// submit job after the merge when the config submits.
pub fn schedule(config: &Config) -> String {
    let mut text = String::from("Checks before anything is made, in order:\n");
    for (i, check) in CHECKS.iter().enumerate() {
        text.push_str(&format!("{:>2}. {}\n", i + 1, check.name()));
    }
    let source = match config.build.source() {
        Some(ImageSource::Image(_)) => Source::Import,
        _ => Source::Build,
    };
    let verifies = config.verify.is_some();
    let jobs = config
        .build
        .architectures
        .iter()
        .map(|&architecture| JobShape {
            architecture,
            source,
            verifies,
        })
        .collect();
    let stages = Stages::of(&[Stage::Build, Stage::Copy, Stage::Templates, Stage::Publish])
        .set(Stage::Verify, verifies);
    text.push_str(&format!(
        "\nSteps of a release ({}):\n{}",
        stages.describe(),
        steps::describe(&steps::steps(&shape_of(config, stages, jobs)))
    ));
    if config.submit.is_some() {
        let submit = Stages::of(&[Stage::Submit]);
        text.push_str(&format!(
            "\nSteps of the submit job after the merge:\n{}",
            steps::describe(&steps::steps(&shape_of(config, submit, Vec::new())))
        ));
    }
    text
}
