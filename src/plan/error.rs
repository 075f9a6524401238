//! Why a plan could not be made.

use super::render::RenderError;
use crate::diagnostic::{Diagnostic, Kind};
use crate::template::TemplateError;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A template could not be edited.
    #[error("{}", .error.render(.path))]
    Template {
        /// The template's path.
        path: String,
        /// What went wrong.
        error: TemplateError,
    },
    /// A name, title or body template could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A config value does not fit the templates (a key no region has).
    #[error("{message}\n  help: {help}")]
    Config {
        /// The config key at fault, dotted (`templates.0.keys.x86_64`), to locate it.
        key: String,
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },
    /// A rendered value is not acceptable.
    #[error("{message}\n  help: {help}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },
}

impl From<PlanError> for Diagnostic {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Template { path, error } => crate::template::template_error(&path, error),
            PlanError::Invalid { message, help } => Diagnostic::new(Kind::Run, message, help),
            PlanError::Config { message, help, .. } => Diagnostic::new(Kind::Config, message, help),
            other => Diagnostic::from_error(&anyhow::Error::new(other)),
        }
    }
}

/// A plan error, placed in the config file at `config_path` (whose text is `config_text`)
/// when it is about a config key: a key no template has, or a `build.ami-name`-like template
/// that does not render.
pub fn plan_error(e: PlanError, config_path: &str, config_text: &str) -> Diagnostic {
    let key = match &e {
        PlanError::Config { key, .. } => Some(key.clone()),
        PlanError::Render(r) if !r.what.contains(' ') => Some(r.what.clone()),
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
