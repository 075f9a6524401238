//! One diagnostics model. An error the user must act on is a [`Diagnostic`]: its kind, its
//! subject (a file and the place in it, or an action input), the message and the help, kept as
//! data. [`Diagnostic::render`] makes the terminal text and [`Diagnostic::annotation`] the
//! `::error` workflow command; [`crate::app`] calls them once, for the error that ends the run.
//!
//! The domain errors ([`crate::config::ConfigError`], [`crate::template::TemplateError`],
//! [`crate::action::inputs::InputError`]) convert into it. Any other error is rendered from its
//! text, whose `help:` line (the older convention of one string) is split off again.

use std::fmt;

use crate::template::tree::Location;

use super::workflow;

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

    /// The `::error` workflow command that makes GitHub annotate the file, the input or the
    /// run. The annotation carries the help too, as its second line.
    pub fn annotation(&self) -> String {
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
        workflow::command("error", &properties, &message)
    }
}

impl From<crate::template::TemplateError> for Diagnostic {
    fn from(e: crate::template::TemplateError) -> Self {
        Self {
            kind: Kind::Template,
            subject: Subject::None,
            message: e.message,
            help: e.help,
        }
        .in_file(String::new(), e.location)
    }
}

impl From<crate::plan::PlanError> for Diagnostic {
    fn from(e: crate::plan::PlanError) -> Self {
        match e {
            crate::plan::PlanError::Template { path, error } => template_error(&path, error),
            crate::plan::PlanError::Invalid { message, help } => {
                Self::new(Kind::Run, message, help)
            }
            crate::plan::PlanError::Config { message, help, .. } => {
                Self::new(Kind::Config, message, help)
            }
            other => Self::from_error(&anyhow::Error::new(other)),
        }
    }
}

impl From<crate::config::ConfigError> for Diagnostic {
    fn from(e: crate::config::ConfigError) -> Self {
        let subject = match &e.input {
            Some(name) => Subject::Input((*name).to_owned()),
            None => Subject::File {
                path: e.path.display().to_string(),
                location: e.location,
            },
        };
        Self {
            kind: Kind::Config,
            subject,
            message: e.message,
            help: e.help,
        }
    }
}

impl From<crate::action::inputs::InputError> for Diagnostic {
    fn from(e: crate::action::inputs::InputError) -> Self {
        Self::new(Kind::Input, e.message, e.help).for_input(e.input)
    }
}

/// A plan error, placed in the config file at `config_path` (whose text is `config_text`)
/// when it is about a config key: a key no template has, or a `build.ami-name`-like template
/// that does not render.
pub fn plan_error(e: crate::plan::PlanError, config_path: &str, config_text: &str) -> Diagnostic {
    let key = match &e {
        crate::plan::PlanError::Config { key, .. } => Some(key.clone()),
        crate::plan::PlanError::Render(r) if !r.what.contains(' ') => Some(r.what.clone()),
        _ => None,
    };
    let diagnostic = Diagnostic::from(e);
    match key {
        Some(key) => Diagnostic {
            kind: Kind::Config,
            ..diagnostic
        }
        .in_file(config_path, crate::config::locate_key(config_text, &key)),
        None => diagnostic,
    }
}

/// A template error about the file shown as `path`.
pub fn template_error(path: &str, error: crate::template::TemplateError) -> Diagnostic {
    let location = error.location;
    Diagnostic::from(error).in_file(path, location)
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
        assert_eq!(
            d.annotation(),
            "::error file=c.yml,line=3,col=7::`regions.2`: bad%0Ahelp: write it like us-east-1"
        );
        let input = Diagnostic::new(Kind::Input, "`x` is not a boolean", "use true or false")
            .for_input("draft");
        assert_eq!(
            input.render(),
            "input `draft`: `x` is not a boolean\n  help: use true or false"
        );
        assert!(input
            .annotation()
            .starts_with("::error title=input draft::"));
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
