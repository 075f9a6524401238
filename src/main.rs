//! The `marketplace-release` binary: parses the command line and maps errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use marketplace_release::cli::{self, Cli, Command};
use marketplace_release::report;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("MARKETPLACE_RELEASE_LOG")
                .unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
    // The container action starts the binary without arguments.
    let cli = if std::env::args_os().len() == 1 && report::in_github_actions() {
        Cli {
            command: Command::Action,
        }
    } else {
        Cli::parse()
    };
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            report::annotate_final_error(&format!("{error:#}"));
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
