//! The `marketplace-release` binary, on top of everything: it picks the front end — the GitHub
//! Action ([`marketplace_release::action`]) when started without arguments in GitHub Actions,
//! else the command line ([`marketplace_release::cli`]) — and is the one exit point: the error
//! that ends a run is rendered here, once, as terminal text and, in Actions, an annotation.
//! Exit codes: 0 done, 1 `template --check` found a change, 2 an error, 130 cancelled.

use std::process::ExitCode;

use clap::Parser;
use marketplace_release::cli::{Cli, Command};
use marketplace_release::diagnostic::Diagnostic;
use marketplace_release::release::env::RunnerEnv;
use marketplace_release::{action, cli, files, output};

/// Exit code of an error.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let in_actions = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
    // The container action starts the binary without arguments.
    let cli = if std::env::args_os().len() == 1 && in_actions {
        Cli::action()
    } else {
        Cli::parse()
    };
    output::log::init(&log_directives(cli.debug || debug_requested()));
    output::set_mode(in_actions, cli.quiet);
    if let Err(e) = files::remove_temporary_files_on_signal() {
        tracing::debug!("cannot watch for signals: {e}");
    }
    let result = RunnerEnv::read().and_then(|env| match cli.command {
        Command::Action => action::run(env),
        command => cli::run(command, env),
    });
    output::log::finish();
    match result {
        Ok(code) => code,
        Err(error) => {
            output::log::fail(&Diagnostic::from_error(&error));
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
fn log_directives(debug: bool) -> String {
    ["MARKETPLACE_RELEASE_LOG", "RUST_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| {
            if debug {
                format!(
                    "warn,marketplace_release=debug,{}",
                    marketplace_release::aws::SDK_DEBUG_LOG
                )
            } else {
                "off,marketplace_release=warn".to_owned()
            }
        })
}
