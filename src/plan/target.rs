//! One configured template (`templates[N]`) edited for a release, with the checks that only
//! the config can ask for: each key of `templates[].keys` must be in the mapping (unless
//! `add-keys`), the mapping's regions that the release leaves out are named, and a template
//! without a version parameter is left without one when the config did not ask for it. The
//! plan, the templates stage and the publish stage all edit through [`edit_target`], so they
//! agree.

use serde::Serialize;

use super::error::PlanError;
use crate::config::TemplateTarget;
use crate::domain::ami::{AmiSet, Region};
use crate::domain::version::Version;
use crate::template::{did_you_mean, EditRequest, Edited, ErrorKind, Template, TemplateError};

/// What the release does to a template besides its changes, said loudly by the plan, the
/// step summary and the pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetNotes {
    /// Keys of `templates[].keys` that the mapping did not have and that were added to its
    /// regions (`add-keys: true`).
    pub added_keys: Vec<String>,
    /// Regions of the mapping that this release does not copy to: they keep the AMIs of an
    /// earlier release.
    pub stale_regions: Vec<String>,
    /// The template has no version parameter, so the version was not written.
    pub version_not_written: bool,
}

impl TargetNotes {
    /// One sentence per note, each with what to do.
    pub fn sentences(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.added_keys.is_empty() {
            out.push(format!(
                "NEW mapping key{} {} added to every region written (add-keys: true); check that this is not a typo of an existing key",
                plural(self.added_keys.len()),
                quoted(&self.added_keys)
            ));
        }
        if !self.stale_regions.is_empty() {
            out.push(format!(
                "{} region{} of the mapping keep{} the AMIs of an earlier release: {}. Add them to `regions` (or write `regions: template`), or set `prune: true` on the template to remove them",
                self.stale_regions.len(),
                plural(self.stale_regions.len()),
                if self.stale_regions.len() == 1 { "s" } else { "" },
                quoted(&self.stale_regions)
            ));
        }
        if self.version_not_written {
            out.push("the version is not written: the template has no version parameter (name one with `version-parameter`, or set `set-version: false` to silence this)".into());
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|k| super::render::code_span(k))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Edits `bytes`, the template of `templates[index]`, with `amis` (already under the
/// template's keys) and `version`. `release_regions` are the regions of the release when
/// they are known (not for `regions: all`), to name the mapping's regions left out.
pub fn edit_target(
    index: usize,
    target: &TemplateTarget,
    bytes: &[u8],
    amis: AmiSet,
    version: &Version,
    release_regions: Option<&[Region]>,
) -> Result<(Edited, TargetNotes), PlanError> {
    let path = target.path.display().to_string();
    let template_error = |error| PlanError::Template {
        path: path.clone(),
        error,
    };
    let template = Template::parse_bytes(bytes).map_err(template_error)?;
    let mut request = EditRequest {
        amis,
        mapping: target.mapping.clone(),
        key: None,
        prune: target.prune,
        prune_other_partitions: false,
        version: target.writes_version().then(|| version.clone()),
        version_parameter: target.version_parameter.clone(),
    };
    let mut notes = TargetNotes::default();
    let edited = match template.edit(&request) {
        Err(e) if e.kind == ErrorKind::NoVersionParameter && !target.version_required() => {
            notes.version_not_written = true;
            request.version = None;
            template.edit(&request)
        }
        other => other,
    }
    .map_err(|e| template_error(config_help(index, e)))?;
    if let Some(summary) = edited
        .mapping
        .as_ref()
        .and_then(|name| template.mappings().into_iter().find(|m| &m.name == name))
    {
        notes.added_keys = check_keys(index, target, &path, &summary)?;
        if let (false, Some(regions)) = (target.prune, release_regions) {
            notes.stale_regions = summary
                .regions
                .iter()
                .filter(|r| !regions.iter().any(|g| g.as_str() == r.as_str()))
                .filter(|r| !edited.other_partitions.contains(r))
                .cloned()
                .collect();
        }
    }
    Ok((edited, notes))
}

/// The template module's help names the `template` command's flags; a config names keys.
fn config_help(index: usize, mut e: TemplateError) -> TemplateError {
    match e.kind {
        ErrorKind::NoVersionParameter => {
            e.message = e.message.replace("--version was given, but no", "no");
            e.help = format!("name it with `templates[{index}].version-parameter: NAME`, or set `templates[{index}].set-version: false` to leave the version out");
        }
        ErrorKind::VersionParameter => {
            e.help = e
                .help
                .replace(
                    "with --version-parameter NAME",
                    &format!("with `templates[{index}].version-parameter: NAME`"),
                )
                .replace(
                    "with --version-parameter",
                    &format!("with `templates[{index}].version-parameter`"),
                );
        }
        ErrorKind::MappingNotFound | ErrorKind::MappingAmbiguous => {
            e.help = e
                .help
                .replace("--mapping", &format!("`templates[{index}].mapping`"));
        }
        _ => {}
    }
    e
}

/// The keys of `templates[index].keys` the mapping has none of: an error with "did you mean",
/// or with `add-keys`, the keys that were added.
fn check_keys(
    index: usize,
    target: &TemplateTarget,
    path: &str,
    mapping: &crate::template::MappingSummary,
) -> Result<Vec<String>, PlanError> {
    let mut added = Vec::new();
    for (arch, key) in &target.keys {
        if mapping.keys.iter().any(|k| k == key) || added.contains(key) {
            continue;
        }
        if target.add_keys {
            added.push(key.clone());
            continue;
        }
        let hint = match did_you_mean(key, mapping.keys.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`? "),
            None => String::new(),
        };
        return Err(PlanError::Config {
            key: format!("templates.{index}.keys.{}", arch.as_str()),
            message: format!(
                "`templates[{index}].keys.{}`: `{key}` is in no region of mapping `{}` in {path} (its keys: {})",
                arch.as_str(),
                mapping.name,
                quoted(&mapping.keys)
            ),
            help: format!("{hint}name a key the mapping has, or set `templates[{index}].add-keys: true` when `{key}` is a new key to add to every region"),
        });
    }
    Ok(added)
}
