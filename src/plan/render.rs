//! Text rendered from user-replaceable templates: the PR body, the PR title, branch and AMI
//! names. minijinja does the rendering; undefined variables are errors, so a typo in a user's
//! template fails the plan instead of producing an empty field.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The bundled PR body template (`templates/pr-body.md.j2`).
pub const DEFAULT_PR_BODY: &str = include_str!("../../templates/pr-body.md.j2");

/// A template could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("cannot render {what}: {message}\n  help: fix {what}; the README lists the variables each template gets, and undefined ones are errors")]
pub struct RenderError {
    /// Which template (the file or config key).
    pub what: String,
    /// minijinja's description, with the line when it has one.
    pub message: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.add_filter("cell", markdown_cell);
    env
}

/// Renders `source` (named `what` in errors) with `context`. An undefined variable is named,
/// with the closest variable the template gets ("did you mean").
pub fn render<C: Serialize>(what: &str, source: &str, context: C) -> Result<String, RenderError> {
    let env = environment();
    let context = minijinja::Value::from_serialize(&context);
    let error = |e: minijinja::Error, undefined: Option<String>| {
        let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
        let detail = e.detail().map(str::to_owned).unwrap_or_else(|| {
            // minijinja's own text ends with "(in <string>:1)", which names nothing of ours.
            let text = e.to_string();
            text.split(" (in <string>")
                .next()
                .unwrap_or(&text)
                .to_owned()
        });
        RenderError {
            what: what.to_owned(),
            message: match undefined {
                Some(name) => format!("{name}{line}"),
                None => format!("{detail}{line}"),
            },
        }
    };
    let template = env.template_from_str(source).map_err(|e| error(e, None))?;
    template.render(&context).map_err(|e| {
        let undefined = (e.kind() == minijinja::ErrorKind::UndefinedError)
            .then(|| undefined_variables(&template, &context))
            .flatten();
        error(e, undefined)
    })
}

/// "undefined variable `versoin` (did you mean `version`?; the variables are …)" for the
/// top-level names `template` uses that `context` lacks.
fn undefined_variables(
    template: &minijinja::Template<'_, '_>,
    context: &minijinja::Value,
) -> Option<String> {
    let known: Vec<String> = context
        .try_iter()
        .map(|keys| keys.map(|k| k.to_string()).collect())
        .unwrap_or_default();
    let mut missing: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !known.contains(name))
        .collect();
    missing.sort();
    let first = missing.first()?;
    let hint = crate::template::did_you_mean(first, known.iter().map(String::as_str))
        .map(|close| format!("did you mean `{close}`? "))
        .unwrap_or_default();
    Some(format!(
        "undefined variable `{}` ({hint}the variables are {})",
        missing.join("`, `"),
        known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Escapes a value for one Markdown table cell: `<`, `>` and `&` as entities (GitHub would
/// take `<public DNS>` for an HTML tag and drop it), pipes escaped, line breaks as `<br>`.
pub fn markdown_cell(value: String) -> String {
    value
        .trim()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_strict_variables() {
        assert_eq!(
            render(
                "t",
                "{{ a }}-{{ b | cell }}",
                minijinja::context!(a => 1, b => "x|y\n<z> & w")
            )
            .unwrap(),
            "1-x\\|y<br>&lt;z&gt; &amp; w"
        );
        let err = render(
            "title",
            "{{ versoin }}",
            minijinja::context!(version => "1"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("title"), "{err}");
        assert!(
            err.message
                .starts_with("undefined variable `versoin` (did you mean `version`? the variables are `version`)"),
            "{err}"
        );
        assert!(!err.message.contains("<string>"), "{err}");
    }
}
