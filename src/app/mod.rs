//! The application edge, and the one exit point. [`main`] sets up the log, reads the command
//! line (or, started without arguments in GitHub Actions, the action's inputs), runs it, and
//! renders the error that ends a run once, as terminal text and, in Actions, an annotation.
//!
//! [`cli`] defines the commands and turns them into a [`release::Request`]; [`release`] is the
//! orchestrator every command and the action run through; [`env`] is the runner environment,
//! read once.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the application edge prints: the final error, the outcome"
)]

pub mod advice;
pub mod cli;
pub mod env;
pub mod init;
pub mod local;
pub mod release;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::output::diagnostic::Diagnostic;
use crate::output::{self, log::ProgressLayer, progress};
use cli::{Cli, Command};

/// Exit code of an error.
pub const EXIT_ERROR: u8 = 2;

/// Runs the binary: 0 done, 1 `template --check` found a change, 2 an error, 130 cancelled.
pub fn main() -> ExitCode {
    // The container action starts the binary without arguments.
    let cli = if std::env::args_os().len() == 1 && output::in_github_actions() {
        Cli {
            command: Command::Action,
            debug: false,
            quiet: false,
        }
    } else {
        Cli::parse()
    };
    init_log(cli.debug || debug_requested());
    output::set_mode(cli.quiet);
    if let Err(e) = crate::files::remove_temporary_files_on_signal() {
        tracing::debug!("cannot watch for signals: {e}");
    }
    let result = cli::run(cli);
    output::log::finish();
    match result {
        Ok(code) => code,
        Err(error) => {
            let diagnostic = Diagnostic::from_error(&error);
            if output::in_github_actions() {
                println!("{}", diagnostic.annotation());
            }
            let text = format!("error: {}", diagnostic.render());
            if output::in_github_actions() {
                eprintln!("{}", output::workflow::guard(&text));
            } else {
                eprintln!("{text}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Whether the environment asks for debug logs: `RUNNER_DEBUG=1` (GitHub Actions, re-run with
/// debug logging), or `ACTIONS_STEP_DEBUG` / `ACTIONS_RUNNER_DEBUG` set to `true`.
fn debug_requested() -> bool {
    std::env::var("RUNNER_DEBUG").is_ok_and(|v| v == "1")
        || ["ACTIONS_STEP_DEBUG", "ACTIONS_RUNNER_DEBUG"]
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|v| v.eq_ignore_ascii_case("true")))
}

/// The log filter: `MARKETPLACE_RELEASE_LOG`, else `RUST_LOG`, else with `debug` our debug
/// events and the AWS SDK's (its credential chain, whole errors), else our warnings only: the
/// SDK's own warnings and errors are details, and each failure reaches the user once, as our
/// error with its next step.
fn log_filter(debug: bool) -> EnvFilter {
    EnvFilter::try_from_env("MARKETPLACE_RELEASE_LOG")
        .or_else(|_| EnvFilter::try_from_env("RUST_LOG"))
        .unwrap_or_else(|_| {
            EnvFilter::new(if debug {
                format!(
                    "warn,marketplace_release=debug,{}",
                    crate::aws::SDK_DEBUG_LOG
                )
            } else {
                "off,marketplace_release=warn".to_owned()
            })
        })
}

/// The log: progress events always, through [`ProgressLayer`]; everything else as
/// [`log_filter`] says, on stderr, never with colour codes (they would reach the Actions log
/// and the step summary as text).
fn init_log(debug: bool) {
    let filter = log_filter(debug);
    let diagnostics = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .with_filter(filter)
        .with_filter(filter_fn(|meta| meta.target() != progress::TARGET));
    let progress = ProgressLayer.with_filter(filter_fn(|meta| meta.target() == progress::TARGET));
    tracing_subscriber::registry()
        .with(diagnostics)
        .with(progress)
        .init();
}
