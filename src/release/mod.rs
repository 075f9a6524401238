//! The engine: the one place that runs a release, for every command and for the action.
//!
//! A front end makes a [`Request`] (what the user asked for). [`Release::prepare`] resolves
//! it ([`resolve`]: every value, the [`job`]s, the local pre-flight checks), before any AWS
//! resource is created or any GitHub write is made. What then runs is data: [`steps::steps`]
//! of the release's [`steps::Shape`], a list of [`steps::Step`]s that `plan` prints and the
//! tests snapshot. [`Release::run`] is one loop over that list ([`run`]): run the step (each
//! step is a call into its file of `src/stages/`, with explicit inputs), save the job's
//! manifest, and on a failure stop under the step's [`Stage`]. It returns one [`Outcome`]:
//! the manifests, the pull request, the change set, the [`Facts`](crate::domain::facts::Facts)
//! found on the way, and why it stopped when it did.
//!
//! The run's AWS config is loaded once, on first use, and every adapter is made from it
//! ([`context`]). The runner environment ([`env`]) is read once by the front end and passed in.
//!
//! Architecture invariant: the engine names the stages, the adapters and everything below; it
//! never names a front end ([`crate::cli`], [`crate::action`]).

pub mod context;
pub mod env;
pub mod job;
mod job_steps;
mod later_steps;
pub mod plan;
mod prepared;
pub mod record;
pub mod request;
pub mod resolve;
mod run;
pub mod signal;
pub mod stage;
pub mod steps;

pub use crate::stages::preflight::advice::show as show_warnings;
pub use prepared::Release;
pub use record::{Outcome, Stopped, EXIT_CANCELLED};
pub use request::{Caller, GitHubRequest, Request};
pub use resolve::{read_body_template, resolve_template_regions, today};
pub use signal::run_async;
pub use stage::{Stage, Stages};
