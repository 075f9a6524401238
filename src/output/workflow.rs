//! GitHub Actions workflow commands (`::name prop=value::message`), with GitHub's escaping:
//! `%`, CR and LF in the message, and also `:` and `,` in property values. See "Workflow
//! commands for GitHub Actions" in GitHub's documentation.

/// Escapes a workflow command's message.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One workflow command line: `::name k=v,…::message`, every part escaped.
pub fn command(name: &str, properties: &[(&str, String)], message: &str) -> String {
    let properties: Vec<String> = properties
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect();
    let separator = if properties.is_empty() { "" } else { " " };
    format!(
        "::{name}{separator}{}::{}",
        properties.join(","),
        escape_data(message)
    )
}

/// The `::error` workflow command that makes GitHub annotate the file, the input or the run
/// of `diagnostic`; the annotation carries the help too, as its second line.
pub fn annotation(diagnostic: &crate::diagnostic::Diagnostic) -> String {
    let (properties, message) = diagnostic.annotation_parts();
    command("error", &properties, &message)
}

/// Untrusted text made safe to print in GitHub Actions: when a line of it would be read as a
/// workflow command (it starts with `::` once trimmed, as the runner reads lines), the whole
/// text is wrapped in `::stop-commands::TOKEN` … `::TOKEN::` with a random token, so the
/// runner prints it as it is and runs nothing. Other text is returned unchanged.
pub fn guard(text: &str) -> String {
    if !text.lines().any(|line| line.trim_start().starts_with("::")) {
        return text.to_owned();
    }
    let token = format!("marketplace-release-{:016x}", fastrand::u64(..));
    format!("::stop-commands::{token}\n{text}\n::{token}::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_would_start_a_command_is_wrapped() {
        assert_eq!(guard("copy: 3/5 available"), "copy: 3/5 available");
        let wrapped = guard("input `version`: `1.0\n  ::warning::x` is not a version");
        let lines: Vec<&str> = wrapped.lines().collect();
        let token = lines[0].strip_prefix("::stop-commands::").unwrap();
        assert!(token.starts_with("marketplace-release-"));
        assert_eq!(lines.last().unwrap(), &format!("::{token}::"));
        assert!(
            wrapped.contains("  ::warning::x"),
            "the text is kept as it is"
        );
    }

    #[test]
    fn annotations_name_the_file_or_the_input() {
        use crate::diagnostic::{Diagnostic, Kind, Location};
        let d = Diagnostic::new(Kind::Config, "`regions.2`: bad", "write it like us-east-1")
            .in_file("c.yml", Some(Location { line: 3, column: 7 }));
        assert_eq!(
            annotation(&d),
            "::error file=c.yml,line=3,col=7::`regions.2`: bad%0Ahelp: write it like us-east-1"
        );
        let input = Diagnostic::new(Kind::Input, "`x` is not a boolean", "use true or false")
            .for_input("draft");
        assert!(annotation(&input).starts_with("::error title=input draft::"));
    }

    #[test]
    fn commands_escape_properties_and_data() {
        assert_eq!(
            command(
                "error",
                &[("file", "a,b:c.yaml".into()), ("line", "3".into())],
                "50% bad\nnext"
            ),
            "::error file=a%2Cb%3Ac.yaml,line=3::50%25 bad%0Anext"
        );
        assert_eq!(command("group", &[], "Build"), "::group::Build");
    }
}
