//! Unified diffs of template texts, as `plan`, the dry run's summary and `template --check`
//! show them. Pure.

use similar::TextDiff;

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
