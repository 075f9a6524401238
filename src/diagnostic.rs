//! The ground floor: one diagnostics model, below every other module. An error the user must
//! act on is a [`Diagnostic`]: its kind, its subject (a file and the place in it, or an action
//! input), the message and the help, kept as data, with the helpers every message uses: a
//! [`Location`] in a file and [`did_you_mean`]. [`Diagnostic::render`] makes the terminal text;
//! `output::workflow::annotation` makes the `::error` workflow command from the same data, once,
//! for the error that ends the run.
//!
//! Each domain error converts into it beside its own definition (`From<ConfigError>` in
//! `config`, `From<TemplateError>` in `template`, `From<PlanError>` in `plan`,
//! `From<InputError>` in `action`). Any other error is rendered from its text, whose `help:`
//! line (the older convention of one string) is split off again.
//!
//! Architecture invariant: this file names no other module of the crate.

use std::fmt;

/// A 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// The candidate closest to `wanted` (Jaro-Winkler above 0.8, case ignored), for "did you
/// mean" hints.
pub fn did_you_mean<'c>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&wanted.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// What kind of thing is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The config file.
    Config,
    /// An action input.
    Input,
    /// A CloudFormation template.
    Template,
    /// Anything else: a stage, a manifest, a file, AWS or GitHub.
    Run,
}

/// What the diagnostic is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Nothing in particular.
    None,
    /// A file, and where in it when known.
    File {
        /// The path as the user gave it.
        path: String,
        /// The line and column.
        location: Option<Location>,
    },
    /// An action input, by name.
    Input(String),
}

/// An error the user must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of thing is wrong.
    pub kind: Kind,
    /// What it is about.
    pub subject: Subject,
    /// What is wrong.
    pub message: String,
    /// What to do; empty when nothing useful can be said.
    pub help: String,
}

impl std::error::Error for Diagnostic {}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl Diagnostic {
    /// A diagnostic about nothing in particular.
    pub fn new(kind: Kind, message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            kind,
            subject: Subject::None,
            message: message.into(),
            help: help.into(),
        }
    }

    /// The same, about `path` (at `location`).
    pub fn in_file(mut self, path: impl Into<String>, location: Option<Location>) -> Self {
        self.subject = Subject::File {
            path: path.into(),
            location,
        };
        self
    }

    /// The same, about the action input `name`.
    pub fn for_input(mut self, name: impl Into<String>) -> Self {
        self.subject = Subject::Input(name.into());
        self
    }

    /// A diagnostic from any error: the [`Diagnostic`] in its chain when there is one, else
    /// one made of its text (`{:#}`), with a trailing `help:` line split off.
    pub fn from_error(error: &anyhow::Error) -> Self {
        if let Some(found) = error.chain().find_map(|e| e.downcast_ref::<Diagnostic>()) {
            return found.clone();
        }
        let text = format!("{error:#}");
        match text.split_once("\n  help: ") {
            Some((message, help)) => Self::new(Kind::Run, message, help),
            None => Self::new(Kind::Run, text, ""),
        }
    }

    /// The terminal text: `place: message`, then `  help: …`.
    pub fn render(&self) -> String {
        let mut text = match &self.subject {
            Subject::None => self.message.clone(),
            Subject::File {
                path,
                location: Some(at),
            } => format!("{path}:{}:{}: {}", at.line, at.column, self.message),
            Subject::File {
                path,
                location: None,
            } => format!("{path}: {}", self.message),
            Subject::Input(name) => format!("input `{name}`: {}", self.message),
        };
        if !self.help.is_empty() {
            text.push_str("\n  help: ");
            text.push_str(&self.help);
        }
        text
    }

    /// What a GitHub annotation (`::error`) of this diagnostic carries: its properties (the
    /// file, line and column; the input; else a title) and its message, with the help as the
    /// second line. `output::workflow::annotation` writes the command.
    pub fn annotation_parts(&self) -> (Vec<(&'static str, String)>, String) {
        let mut message = self.message.clone();
        if !self.help.is_empty() {
            message.push_str("\nhelp: ");
            message.push_str(&self.help);
        }
        let properties = match &self.subject {
            Subject::File { path, location } => {
                let mut p = vec![("file", path.clone())];
                if let Some(at) = location {
                    p.push(("line", at.line.to_string()));
                    p.push(("col", at.column.to_string()));
                }
                p
            }
            Subject::Input(name) => vec![("title", format!("input {name}"))],
            Subject::None => vec![("title", "marketplace-release".to_owned())],
        };
        (properties, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_place_message_and_help_once() {
        let d = Diagnostic::new(Kind::Config, "`regions.2`: bad", "write it like us-east-1")
            .in_file("c.yml", Some(Location { line: 3, column: 7 }));
        assert_eq!(
            d.render(),
            "c.yml:3:7: `regions.2`: bad\n  help: write it like us-east-1"
        );
        let input = Diagnostic::new(Kind::Input, "`x` is not a boolean", "use true or false")
            .for_input("draft");
        assert_eq!(
            input.render(),
            "input `draft`: `x` is not a boolean\n  help: use true or false"
        );
    }

    #[test]
    fn any_error_is_found_in_the_chain_or_split_at_its_help_line() {
        let inner = Diagnostic::new(Kind::Input, "m", "h").for_input("base");
        let wrapped = anyhow::Error::new(inner.clone()).context("publishing");
        assert_eq!(Diagnostic::from_error(&wrapped), inner);
        let plain = anyhow::anyhow!("no token\n  help: set GITHUB_TOKEN");
        let d = Diagnostic::from_error(&plain);
        assert_eq!(
            (d.message.as_str(), d.help.as_str()),
            ("no token", "set GITHUB_TOKEN")
        );
        assert_eq!(d.subject, Subject::None);
    }
}
