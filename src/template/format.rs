//! The two syntaxes a template may be written in, and how the text says which.

/// The two template syntaxes CloudFormation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (including CloudFormation short-form tags, and JSON-looking text that is not
    /// strict JSON).
    Yaml,
    /// Strict JSON.
    Json,
}

impl Format {
    /// Whether the text looks like JSON: JSON when the first non-blank character (after a
    /// byte-order mark) opens an object, YAML otherwise. [`Template::parse`] reads JSON-looking
    /// text that is not strict JSON as YAML; [`Template::format`] says which it was.
    pub fn detect(text: &str) -> Self {
        if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('{')
        {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}
