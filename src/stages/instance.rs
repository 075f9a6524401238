//! An instance this run launches to run a script and report on its serial console, with no key
//! pair and no SSH: the build stage's builder and the verify stage's test instance. Both power
//! themselves off when their script ends; the stage waits for `stopped`, reads the console
//! until this run's result marker shows, and terminates the instance on every path, asking EC2
//! until it reports it shutting down.

use std::time::{Duration, Instant};

use crate::aws::ec2::{Ec2, Termination};
use crate::output::progress;
use crate::plan::userdata::{self, BuildResult};
use crate::stages::cancel::{sleep_or_cancel, unless_cancelled, CancellationToken};
use crate::stages::error::StageError;
use crate::stages::wait::{self, PollSchedule};

/// Console lines shown when a script fails.
pub const TAIL_LINES: usize = 25;

/// Which instance, for progress lines and errors.
#[derive(Debug, Clone, Copy)]
pub struct Watched<'a> {
    /// The stage, as progress lines start (`build`, `verify`).
    pub stage: &'a str,
    /// What the instance is (`builder`, `test instance`).
    pub role: &'a str,
    /// Its region.
    pub region: &'a str,
    /// Its ID.
    pub instance: &'a str,
}

/// How waiting for the instance to power itself off ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// It is `stopped`: its script ended.
    Stopped,
    /// Something else ended it (`shutting-down` or `terminated`): the last console lines.
    Gone {
        /// The last console lines.
        tail: String,
    },
    /// It still ran after the timeout: the last console lines.
    TimedOut {
        /// The last console lines.
        tail: String,
    },
}

/// Polls the instance until it is `stopped` (its wrapper powers it off when the script ends),
/// gone, or `timeout` passed.
pub async fn wait_stopped(
    ec2: &Ec2,
    watched: Watched<'_>,
    timeout: Duration,
    schedule: PollSchedule,
    cancel: &CancellationToken,
) -> Result<Ended, StageError> {
    let Watched {
        stage,
        role,
        region,
        instance,
    } = watched;
    let started = Instant::now();
    let mut last_progress = Instant::now();
    loop {
        let state = unless_cancelled(ec2.instance_state(region, instance), cancel).await?;
        progress::item(role, &format!("{instance} {state}"), false);
        match state.as_str() {
            "stopped" => return Ok(Ended::Stopped),
            "terminated" | "shutting-down" => {
                let tail = Console::new(ec2, region, instance).tail().await;
                return Ok(Ended::Gone { tail });
            }
            _ => {}
        }
        let waited = started.elapsed();
        if waited >= timeout {
            let tail = Console::new(ec2, region, instance).tail().await;
            return Ok(Ended::TimedOut { tail });
        }
        if last_progress.elapsed() >= schedule.progress {
            progress::tick(&format!(
                "{stage}: {role} {instance} {state} for {}",
                wait::short(waited)
            ));
            last_progress = Instant::now();
        }
        sleep_or_cancel(schedule.next_within(waited, timeout), cancel).await?;
    }
}

/// Terminates the instance; an error unless EC2 reports it shutting down or terminated.
pub async fn terminate(ec2: &Ec2, watched: Watched<'_>) -> Result<(), StageError> {
    match ec2.terminate(watched.region, watched.instance).await? {
        Termination::Confirmed => Ok(()),
        Termination::Unconfirmed(state) => Err(StageError::InstanceNotTerminated {
            role: watched.role.into(),
            instance: watched.instance.into(),
            region: watched.region.into(),
            state,
        }),
    }
}

/// An instance's console. EC2 posts the output some time after a state transition, and
/// answers `Latest` only on Nitro instances (GetConsoleOutput,
/// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html>): it is
/// asked for the latest output first and without it after `UnsupportedOperation`.
pub struct Console<'a> {
    ec2: &'a Ec2,
    region: &'a str,
    instance: &'a str,
    latest: std::cell::Cell<bool>,
}

impl<'a> Console<'a> {
    /// The console of `instance` in `region`.
    pub fn new(ec2: &'a Ec2, region: &'a str, instance: &'a str) -> Self {
        Self {
            ec2,
            region,
            instance,
            latest: std::cell::Cell::new(true),
        }
    }

    async fn read(&self) -> Result<String, StageError> {
        match self
            .ec2
            .console_output(self.region, self.instance, self.latest.get())
            .await
        {
            Err(e) if self.latest.get() && e.code == "UnsupportedOperation" => {
                self.latest.set(false);
                Ok(self
                    .ec2
                    .console_output(self.region, self.instance, false)
                    .await?)
            }
            other => Ok(other?),
        }
    }

    /// The last lines, for an error that already has its own cause.
    pub async fn tail(&self) -> String {
        userdata::tail(&self.read().await.unwrap_or_default(), TAIL_LINES)
    }

    /// Reads until this run's result marker shows, or `limit` passed; the result and the
    /// console text last read.
    pub async fn await_marker(
        &self,
        watched: Watched<'_>,
        run_id: &str,
        limit: Duration,
        schedule: PollSchedule,
        cancel: &CancellationToken,
    ) -> Result<(BuildResult, String), StageError> {
        let started = Instant::now();
        let mut last_progress = Instant::now();
        loop {
            let text = unless_cancelled(self.read(), cancel).await?;
            let result = userdata::parse_result(&text, run_id);
            let waited = started.elapsed();
            if result != BuildResult::Unknown || waited >= limit {
                return Ok((result, text));
            }
            if last_progress.elapsed() >= schedule.progress {
                progress::tick(&format!(
                    "{}: {} {} stopped; its console has no result line yet after {} (EC2 posts it with a delay)",
                    watched.stage,
                    watched.role,
                    self.instance,
                    wait::short(waited)
                ));
                last_progress = Instant::now();
            }
            sleep_or_cancel(schedule.next_within(waited, limit), cancel).await?;
        }
    }
}
