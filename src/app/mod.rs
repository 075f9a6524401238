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
    init_log();
    // The container action starts the binary without arguments.
    let cli = if std::env::args_os().len() == 1 && output::in_github_actions() {
        Cli {
            command: Command::Action,
        }
    } else {
        Cli::parse()
    };
    match cli::run(cli) {
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

/// The log: progress events always, through [`ProgressLayer`]; everything else at the level
/// `MARKETPLACE_RELEASE_LOG` sets (default `warn`), on stderr.
fn init_log() {
    let filter = EnvFilter::try_from_env("MARKETPLACE_RELEASE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn"));
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
