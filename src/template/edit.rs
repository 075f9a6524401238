//! Runs an [`EditRequest`]: the editor decides the splices (`mapping`, `parameter`), `splice`
//! applies them, and `proof` checks the edited text against the original before anything is
//! returned.

use super::change::Edited;
use super::editor::Editor;
use super::error::{ErrorKind, TemplateError};
use super::format::Format;
use super::located::Located;
use super::proof;
use super::request::EditRequest;
use super::splice;

/// For templates at least this large, the proof parses the original and the edited text at
/// once, on two threads.
const PARALLEL_PARSE_BYTES: usize = 32 * 1024;

/// Edits and proves. The proof parses the original text while the edit is being worked out:
/// on a thread of its own for a large template. Either way it starts only now, after the
/// located parse has bounded the nesting depth.
pub(super) fn run(template: &Located<'_>, request: &EditRequest) -> Result<Edited, TemplateError> {
    let parse_original = || proof::semantic_value(template.text, template.format);
    if template.text.len() < PARALLEL_PARSE_BYTES {
        return edit_and_prove(template, request, parse_original);
    }
    std::thread::scope(|scope| {
        let original = scope.spawn(parse_original);
        edit_and_prove(template, request, || {
            original
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

/// Decides the splices, applies them, and proves the edited text against the original (parsed
/// by `original`).
fn edit_and_prove<'t>(
    template: &Located<'t>,
    request: &EditRequest,
    original: impl FnOnce() -> Result<proof::Value<'t>, proof::ParseFailure>,
) -> Result<Edited, TemplateError> {
    let mut editor = Editor::new(template, request.amis.partitions());
    let mapping = editor.select_mapping(request)?;
    match &mapping {
        Some((name, node)) => editor.update_mapping(name, node, request)?,
        None if request.prune => {
            return Err(TemplateError::new(
                ErrorKind::Request,
                None,
                "--prune was given, but the template has no AMI mapping to prune",
                "drop --prune, or name the mapping with --mapping",
            ))
        }
        None => editor.update_image_parameter(request)?,
    }
    if let Some(version) = &request.version {
        editor.set_version(version.as_str(), request.version_parameter.as_deref())?;
    }
    let Editor {
        splices,
        intents,
        changes,
        other_partitions,
        ..
    } = editor;
    let text = splice::apply(template.text, splices).map_err(|e| internal(&e))?;
    let edited = (text != template.text).then(|| proof::semantic_value(&text, template.format));
    let original = original().map_err(|failure| {
        TemplateError::new(
            ErrorKind::Syntax,
            failure.location,
            format!(
                "the proof's {} parser refuses the template: {}",
                parser_name(template.format),
                failure.message
            ),
            "fix the template at this place so that it parses; the template was not changed",
        )
    })?;
    let edited = match edited {
        None => original.clone(),
        Some(parsed) => parsed.map_err(|failure| {
            internal(&format!("the edited text no longer parses ({failure})"))
        })?,
    };
    proof::verify(&original, edited, &intents).map_err(|failure| {
        TemplateError::new(
            ErrorKind::ProofFailed,
            None,
            format!(
                "refusing to write: after editing, `{}` is not what was intended ({}); nothing was written",
                failure.path, failure.detail
            ),
            "this is a bug in marketplace-release: please report it with the template and AMIS.json",
        )
    })?;
    let changed = text != template.text;
    Ok(Edited {
        text,
        changes,
        mapping: mapping.map(|(name, _)| name),
        changed,
        other_partitions,
    })
}

/// The proof's parser for `format`, as its error names it.
fn parser_name(format: Format) -> &'static str {
    match format {
        Format::Json => "JSON (serde_json)",
        Format::Yaml => "YAML (serde_yaml)",
    }
}

/// An edit that went wrong inside this tool: nothing is written.
fn internal(message: &str) -> TemplateError {
    TemplateError::new(
        ErrorKind::ProofFailed,
        None,
        format!("refusing to write: {message}; nothing was written"),
        "this is a bug in marketplace-release: please report it with the template and AMIS.json",
    )
}
