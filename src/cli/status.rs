//! `status`: shows a Catalog API change set, waiting for it to end with `--wait`; fails when it
//! failed. Read-only.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};

use super::args::StatusArgs;
use crate::aws::catalog::Catalog;
use crate::output;
use crate::release::{self, env::RunnerEnv};
use crate::stages::submit;

/// `status`: shows a change set, waiting for it to end with `--wait`; fails when it failed.
pub fn run(args: &StatusArgs, env: &RunnerEnv) -> Result<ExitCode> {
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
        let change_set = &args.change_set;
        let state = if args.wait {
            submit::wait_for(&catalog, change_set, timeout, &schedule, &cancel).await?
        } else {
            catalog.describe_change_set(change_set).await?
        };
        output::report(&submit::describe(&state));
        if state.status.is_failure() {
            return Err(submit::SubmitError::Failed(Box::new(state)).into());
        }
        Ok(ExitCode::SUCCESS)
    })
}
