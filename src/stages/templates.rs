//! The templates stage: the manifests' available AMIs (and the version) written into every
//! configured template in the workspace, each edited through [`crate::plan::target`] (as the
//! plan and the publish stage edit them, so the three agree), written only when it changes.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::files::{self, write_atomically};
use crate::output::progress;
use crate::plan::{self, manifests::amis_from_manifests, target::TargetNotes};
use crate::template::Edited;

/// What the templates are regenerated from.
pub struct Sources<'a> {
    /// The config.
    pub config: &'a Config,
    /// The repository root.
    pub workspace: &'a Path,
    /// The release version.
    pub version: &'a Version,
    /// The release's manifests.
    pub manifests: &'a [(String, Manifest)],
}

/// Writes the available AMIs (and the version) into every configured template in the
/// workspace.
pub fn regenerate(sources: &Sources<'_>) -> Result<()> {
    for index in 0..sources.config.templates.len() {
        let shown = sources.config.templates[index].path.display().to_string();
        let (path, edited, checks) = regenerated(sources, index)?;
        for note in checks.sentences() {
            progress::warning(&format!("template {shown}"), &note);
        }
        if edited.changed {
            write_atomically(&path, &edited.text)?;
        }
        progress::line(&format!(
            "template: {shown}: {} change(s)",
            edited.changes.len()
        ));
    }
    Ok(())
}

/// The workspace template `templates[index]` with the manifests' AMIs (and the version)
/// written in, not saved: its path, the edit and the notes about it.
pub fn regenerated(sources: &Sources<'_>, index: usize) -> Result<(PathBuf, Edited, TargetNotes)> {
    let config = sources.config;
    let (_, by_arch) = amis_from_manifests(config, sources.manifests, Some(sources.version))?;
    let target = &config.templates[index];
    let (path, bytes) =
        files::read_bytes_in_workspace(sources.workspace, &target.path, "templates[].path")?;
    let (edited, checks) = plan::target::edit_target(
        index,
        target,
        &bytes,
        plan::amis_for_template(target, &by_arch),
        sources.version,
        Some(config.regions.listed()).filter(|r| !r.is_empty()),
    )
    .map_err(Diagnostic::from)?;
    Ok((path, edited, checks))
}
