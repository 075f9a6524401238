//! Why a plan could not be made.

use super::render::RenderError;
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
