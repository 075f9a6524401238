//! What a person reads: unified diffs, and GitHub Actions workflow commands for errors.

use std::io::Write;

use similar::TextDiff;

use crate::template::tree::Location;

/// A unified diff of `old` → `new` with git-style `a/` and `b/` headers; empty when equal.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
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

/// Whether we run inside GitHub Actions.
pub fn in_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Escapes a workflow command's message (GitHub's rules: `%`, CR and LF).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The `::error file=…,line=…,col=…::message` line that makes GitHub annotate the file.
pub fn error_annotation(file: &str, location: Option<Location>, message: &str) -> String {
    let mut properties = format!("file={}", escape_property(file));
    if let Some(at) = location {
        properties.push_str(&format!(",line={},col={}", at.line, at.column));
    }
    format!("::error {properties}::{}", escape_data(message))
}

/// Prints a `::notice title=…::message` line when running in GitHub Actions.
pub fn notice(title: &str, message: &str) {
    if in_github_actions() {
        let _ = writeln!(
            std::io::stdout(),
            "::notice title={}::{}",
            escape_property(title),
            escape_data(message)
        );
    }
}

/// Warns: a `::warning title=…::message` line in GitHub Actions, else a line on stderr.
pub fn warning(title: &str, message: &str) {
    if in_github_actions() {
        let _ = writeln!(
            std::io::stdout(),
            "::warning title={}::{}",
            escape_property(title),
            escape_data(message)
        );
    } else {
        eprintln!("warning: {title}: {message}");
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

/// Whether an error annotation was printed, so the final error need not be annotated again.
static ANNOTATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether an error annotation has been printed.
pub fn annotated() -> bool {
    ANNOTATED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Annotates an error in an action input (GitHub Actions only).
pub fn annotate_input(input: &str, message: &str) {
    if in_github_actions() {
        ANNOTATED.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = writeln!(
            std::io::stdout(),
            "::error title={}::{}",
            escape_property(&format!("input {input}")),
            escape_data(message)
        );
    }
}

/// Annotates the error that ends the run, unless one was annotated already (GitHub Actions
/// only).
pub fn annotate_final_error(message: &str) {
    if in_github_actions() && !annotated() {
        let _ = writeln!(
            std::io::stdout(),
            "::error title=marketplace-release::{}",
            escape_data(message)
        );
    }
}

/// Prints an error annotation to stdout when running in GitHub Actions.
pub fn annotate_error(file: &str, location: Option<Location>, message: &str) {
    if in_github_actions() {
        ANNOTATED.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            error_annotation(file, location, message)
        );
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
    }

    #[test]
    fn annotations_escape_properties_and_data() {
        let line = error_annotation(
            "a,b:c.yaml",
            Some(Location { line: 3, column: 7 }),
            "50% bad\nnext",
        );
        assert_eq!(
            line,
            "::error file=a%2Cb%3Ac.yaml,line=3,col=7::50%25 bad%0Anext"
        );
    }
}
