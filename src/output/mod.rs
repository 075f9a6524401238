//! What a person reads, and the only place besides [`crate::app`] that prints: the log of
//! progress lines and groups ([`log`], fed by the [`progress`] events the stages emit),
//! [`diagnostic`]s and their annotations, [`workflow`] commands, unified diffs, and the step
//! outputs and summary ([`step`]).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the output module is where the log, annotations and step files are printed"
)]

mod bars;
pub mod diagnostic;
pub mod log;
pub mod progress;
pub mod step;
pub mod workflow;

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

use similar::TextDiff;

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

/// Decides how the log is shown, once, at start: GitHub Actions, a terminal on stderr, or
/// plain; `quiet` keeps only errors and the stages' closing tables.
pub fn set_mode(quiet: bool) {
    let mode = if in_github_actions() {
        Mode::Actions
    } else if std::io::stderr().is_terminal() {
        Mode::Terminal
    } else {
        Mode::Plain
    };
    let _ = MODE.set((mode, quiet));
}

/// How the log is shown ([`Mode::Plain`] until [`set_mode`]; GitHub Actions always wins).
pub fn mode() -> Mode {
    match MODE.get() {
        _ if in_github_actions() => Mode::Actions,
        Some((mode, _)) => *mode,
        None => Mode::Plain,
    }
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    MODE.get().is_some_and(|(_, quiet)| *quiet)
}

/// A unified diff of `old` → `new` with git-style `a/` and `b/` headers; empty when equal.
/// CRLF line endings are shown as plain line ends (a terminal or a Markdown code block would
/// show a raw `\r`); the header says the file has them.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    let diff = lf_unified_diff(path, old, new);
    if old.contains("\r\n") {
        let diff = diff.replace("\r\n", "\n").replace('\r', "");
        match diff.split_once('\n') {
            Some((first, rest)) => format!("{first} (CRLF line endings)\n{rest}"),
            None => diff,
        }
    } else {
        diff
    }
}

fn lf_unified_diff(path: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("a/{}", path.trim_start_matches('/')),
            &format!("b/{}", path.trim_start_matches('/')),
        )
        .missing_newline_hint(true)
        .to_string()
}

/// Prints a report (a plan, a change set) on stdout, as it is.
pub fn report(text: &str) {
    if in_github_actions() {
        println!("{}", workflow::guard(text.trim_end_matches('\n')));
    } else {
        print!("{text}");
    }
}

/// Whether we run inside GitHub Actions.
pub fn in_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
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

/// The link to this workflow run, when running in GitHub Actions.
pub fn run_url() -> Option<String> {
    match (
        std::env::var("GITHUB_SERVER_URL"),
        std::env::var("GITHUB_REPOSITORY"),
        std::env::var("GITHUB_RUN_ID"),
    ) {
        (Ok(server), Ok(repo), Ok(run)) => Some(format!("{server}/{repo}/actions/runs/{run}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_has_headers_and_marks_missing_newline() {
        let diff = unified_diff("t.yaml", "a\nb\n", "a\nc");
        assert!(diff.starts_with("--- a/t.yaml\n+++ b/t.yaml\n"), "{diff}");
        assert!(diff.contains("-b\n+c"), "{diff}");
        assert!(diff.contains("No newline at end of file"), "{diff}");
        assert_eq!(unified_diff("t", "x", "x"), "");
        let crlf = unified_diff("t.yaml", "a: 1\r\nb: 2\r\n", "a: 1\r\nb: 3\r\n");
        assert!(!crlf.contains('\r'), "{crlf:?}");
        assert!(
            crlf.starts_with("--- a/t.yaml (CRLF line endings)\n+++ b/t.yaml\n"),
            "{crlf}"
        );
        assert!(crlf.contains("-b: 2\n+b: 3\n"), "{crlf}");
    }
}
