//! `plan`: validates the config and the templates and prints what a release would do, with no
//! AWS call and no GitHub write (the engine's [`crate::release::plan`]).

use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};
use indexmap::IndexMap;

use super::args::PlanArgs;
use super::request::{load_config, parse_version};
use super::template::read_amis;
use crate::files::write_atomically;
use crate::output;
use crate::release::{self, env::RunnerEnv};

/// `plan`: validates the config and templates and prints what a release would do.
pub fn run(args: PlanArgs, env: &RunnerEnv) -> Result<ExitCode> {
    let mut config = load_config(&args.config)?;
    let workspace = env.workspace(args.workspace)?;
    release::resolve_template_regions(&mut config, &workspace)?;
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
    let plan = release::plan::make_plan(
        &config,
        &args.config,
        &workspace,
        &version,
        amis.as_ref(),
        env,
    )?;
    output::report(&plan.report(&config));
    output::report(&format!("\n{}", release::plan::schedule(&config)));
    if output::in_github_actions() {
        release::show_warnings(&plan.warnings);
    }
    if let Some(path) = &args.load_form_csv {
        write_atomically(path, &crate::plan::loadform::to_csv(&plan.load_form))?;
        eprintln!("wrote the load form values to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
