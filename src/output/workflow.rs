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

#[cfg(test)]
mod tests {
    use super::*;

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
