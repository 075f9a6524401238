//! The local pre-flight checks: files and values only, made while the release is prepared,
//! before any AWS call or GitHub write. Each takes what it checks.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::config::{Config, TemplateTarget};
use crate::diagnostic::Diagnostic;
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::files::{self, file_error};
use crate::output::progress;
use crate::plan::submission::{self, delivery_details};
use crate::plan::{self, Vars};
use crate::template::{template_error, Template};

/// Every template parses and holds what the release updates.
pub fn templates(workspace: &Path, targets: &[TemplateTarget]) -> Result<()> {
    for target in targets {
        let (_, bytes) =
            files::read_bytes_in_workspace(workspace, &target.path, "templates[].path")?;
        Template::parse_bytes(&bytes)
            .map_err(|e| template_error(&target.path.display().to_string(), e))?;
    }
    Ok(())
}

/// The release branch renders to a valid git ref.
pub fn branch(config: &Config, vars: Vars<'_>) -> Result<(), Diagnostic> {
    plan::release_branch(config, vars)
        .map(|_| ())
        .map_err(Diagnostic::from)
}

/// The given manifests belong to this release (product, version, architectures).
pub fn manifests(config: &Config, given: &[(String, Manifest)], version: &Version) -> Result<()> {
    if given.is_empty() {
        return Ok(());
    }
    plan::manifests::amis_from_manifests(config, given, Some(version))?;
    Ok(())
}

/// Every manifest this run writes can be written: its directory takes a new file, and an
/// existing manifest can be appended to.
pub fn manifest_paths<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> Result<()> {
    for path in paths {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let writable = tempfile::NamedTempFile::new_in(dir).and_then(|probe| {
            if path.exists() {
                std::fs::OpenOptions::new().append(true).open(path)?;
            }
            drop(probe);
            Ok(())
        });
        if let Err(e) = writable {
            return Err(file_error(
                format!("cannot write the manifest {}", path.display()),
                e,
                "give a manifest path in a directory this user may write (the manifest is written before the builder is launched, and after every step)",
            ));
        }
    }
    Ok(())
}

/// The submit stage's details, with a stand-in AMI until the real one exists, checked against
/// the Catalog API's shapes before anything is built; a leading `/` of the access endpoint's
/// path is stripped with a warning.
pub fn submission(config: &Config, version: &Version, date: &str) -> Result<()> {
    let Some(submit_config) = config.submit.as_ref() else {
        return Ok(());
    };
    let stripped = submit_config
        .access_endpoint
        .as_ref()
        .and_then(|e| e.relative_path.as_ref())
        .filter(|p| p.strips_a_slash());
    if let Some(path) = stripped {
        progress::warning(
            "submit.access-endpoint.relative-path",
            &format!(
                "`{path}` is sent as `{}`: the Catalog API's AccessEndpointUrl.RelativePath must not start with `/`; write it without the `/`",
                path.catalog_value().unwrap_or_default()
            ),
        );
    }
    let (title, notes) = plan::version_texts(config, version, date).map_err(Diagnostic::from)?;
    delivery_details(
        config,
        &submission::Version {
            title: &title,
            release_notes: &notes,
            ami: "ami-00000000000000000",
        },
    )?;
    Ok(())
}
