//! What a person reads as the run goes, and the only place below the front ends that prints:
//! the log of progress lines, groups, warnings and the final error ([`log`], fed by the
//! [`progress`] events the stages emit; [`bars`] in a terminal), and GitHub's [`workflow`]
//! commands. How it shows them ([`Mode`]) is set once by the front end ([`set_mode`]).
//!
//! Architecture invariant: `output` names only [`crate::diagnostic`], and reads no environment
//! variable: the front end says whether this is GitHub Actions.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the output module is where the log, annotations and step files are printed"
)]

mod bars;
pub mod log;
pub mod progress;
pub mod workflow;

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// How the log is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// GitHub Actions: the log, `::group::` blocks, annotations.
    Actions,
    /// A terminal on stderr: progress bars while the stages wait.
    Terminal,
    /// Piped or redirected: plain lines, one a minute while waiting.
    Plain,
}

static MODE: OnceLock<(Mode, bool)> = OnceLock::new();

/// Decides how the log is shown, once, at start: GitHub Actions (`in_actions`, as the front
/// end read it), a terminal on stderr, or plain; `quiet` keeps only errors and the stages'
/// closing tables.
pub fn set_mode(in_actions: bool, quiet: bool) {
    let mode = if in_actions {
        Mode::Actions
    } else if std::io::stderr().is_terminal() {
        Mode::Terminal
    } else {
        Mode::Plain
    };
    let _ = MODE.set((mode, quiet));
}

/// How the log is shown ([`Mode::Plain`] until [`set_mode`]).
pub fn mode() -> Mode {
    MODE.get().map_or(Mode::Plain, |(mode, _)| *mode)
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    MODE.get().is_some_and(|(_, quiet)| *quiet)
}

/// Prints a report (a plan, a change set) on stdout, as it is.
pub fn report(text: &str) {
    if in_github_actions() {
        println!("{}", workflow::guard(text.trim_end_matches('\n')));
    } else {
        print!("{text}");
    }
}

/// Whether we run inside GitHub Actions (as [`set_mode`] was told).
pub fn in_github_actions() -> bool {
    mode() == Mode::Actions
}

/// Prints a `::notice title=…::message` line when running in GitHub Actions.
pub fn notice(title: &str, message: &str) {
    if in_github_actions() {
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            workflow::command("notice", &[("title", title.to_owned())], message)
        );
    }
}

/// Warns: a `::warning title=…::message` line in GitHub Actions, else a line on stderr.
pub fn warning(title: &str, message: &str) {
    if in_github_actions() {
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            workflow::command("warning", &[("title", title.to_owned())], message)
        );
    } else if !quiet() {
        let line = format!("warning: {title}: {message}");
        if !bars::println(&line) {
            eprintln!("{line}");
        }
    }
}
