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

/// The work one render may do, in minijinja's fuel units (about one per instruction). The
/// bundled PR body for 30 regions renders within 50,000 (its golden tests pass at that limit);
/// a user's template
/// with nested loops over `range` stops here instead of spinning until it is killed.
pub const FUEL: u64 = 5_000_000;

/// The most text one render may write. GitHub takes at most 65,536 characters in a PR body, and
/// every other template (titles, branch and AMI names) is far shorter.
pub const OUTPUT_LIMIT: usize = 1024 * 1024;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    env.set_fuel(Some(FUEL));
    env.add_filter("cell", |v: String| table_code(&v));
    env.add_filter("code", |v: String| code_span(&v));
    env.add_filter("text", |v: String| html_text(&v));
    env
}

/// A writer that refuses to grow past [`OUTPUT_LIMIT`].
struct Bounded(Vec<u8>);

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > OUTPUT_LIMIT {
            return Err(std::io::Error::other("output limit"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
    let mut out = Bounded(Vec::new());
    template
        .render_captured_to(&context, &mut out)
        .map_err(|e| match e.kind() {
            minijinja::ErrorKind::OutOfFuel => RenderError {
                what: what.to_owned(),
                message: format!(
                    "the template does more work than a render may ({FUEL} steps): a loop runs too long"
                ),
            },
            minijinja::ErrorKind::WriteFailure => RenderError {
                what: what.to_owned(),
                message: format!(
                    "the template writes more than {} KiB",
                    OUTPUT_LIMIT / 1024
                ),
            },
            minijinja::ErrorKind::UndefinedError => {
                let undefined = undefined_variables(&template, &context);
                error(e, undefined)
            }
            _ => error(e, None),
        })?;
    Ok(String::from_utf8(out.0).expect("minijinja writes UTF-8"))
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

/// A Markdown code span holding `value` exactly: the fence is one backtick longer than the
/// longest run of backticks in it, with a space inside when the value starts or ends with one
/// (CommonMark, "Code spans"). Nothing inside is read as Markdown or HTML, so a value cannot open
/// an HTML comment or mention anyone, and users copy its characters as they are. Line breaks
/// become spaces, as they do in any code span.
pub fn code_span(value: &str) -> String {
    let value = value.replace("\r\n", " ").replace(['\n', '\r'], " ");
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each side of a span that has one at both ends.
    let spaced = value.starts_with(' ') && value.ends_with(' ') && !value.trim().is_empty();
    let pad = if value.starts_with('`') || value.ends_with('`') || spaced {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{value}{pad}{fence}")
}

/// A value for one cell of a Markdown table in the PR body: each line as a [`code_span`], lines
/// joined with `<br>`, and pipes escaped as GitHub's tables need inside code spans too (GFM
/// "Tables": `\|` in a cell is a pipe).
pub fn table_code(value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        return String::new();
    }
    value
        .lines()
        .map(|line| code_span(line).replace('|', "\\|"))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Text with `<`, `>` and `&` as entities, so that it is shown, never read as HTML (a heading
/// holding `<!--` would hide the rest of the body).
pub fn html_text(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Escapes a value for one Markdown table cell of the step summary: `<`, `>` and `&` as
/// entities (GitHub would take `<public DNS>` for an HTML tag and drop it), pipes escaped,
/// line breaks as `<br>`.
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
            "1-`x\\|y`<br>`<z> & w`"
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

    #[test]
    fn code_spans_hold_any_value_whole() {
        assert_eq!(code_span("a"), "`a`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x`"), "`` `x` ``");
        assert_eq!(code_span("<!-- @team"), "`<!-- @team`");
        assert_eq!(table_code("a|b\n@c"), "`a\\|b`<br>`@c`");
        assert_eq!(html_text("<!-- x & y -->"), "&lt;!-- x &amp; y --&gt;");
    }

    #[test]
    fn a_template_that_runs_too_long_or_writes_too_much_stops_with_a_clear_error() {
        let started = std::time::Instant::now();
        let err = render(
            "pull-request.branch",
            "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}",
            minijinja::context!(),
        )
        .unwrap_err();
        assert!(err.message.contains("a loop runs too long"), "{err}");
        assert!(err.to_string().contains("pull-request.branch"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let err = render(
            "pull-request.body-template",
            "{% for a in range(100) %}{{ 'x' * 100000 }}{% endfor %}",
            minijinja::context!(),
        )
        .unwrap_err();
        assert!(err.message.contains("writes more than 1024 KiB"), "{err}");
    }
}
