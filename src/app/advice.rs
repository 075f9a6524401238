//! What the orchestrator adds to a config once it can read the workspace and ask the AWS
//! adapter: `regions: template` resolved from the templates' mappings, and the warnings that
//! never stop a release (the load form's, and instance types the SDK does not list).

use std::path::Path;

use anyhow::Result;

use crate::config::{Config, Regions};
use crate::domain::ami::Region;
use crate::output::diagnostic::{Diagnostic, Kind};
use crate::plan::advice::{self, Warning};
use crate::template::Template;

/// Replaces `regions: template` by the regions of the templates' AMI mappings (each template's
/// configured mapping, else its only mapping with AMI IDs). Other configs are left alone.
pub fn resolve_template_regions(config: &mut Config, workspace: &Path) -> Result<()> {
    if config.regions != Regions::FromTemplates {
        return Ok(());
    }
    let mut found = Vec::new();
    for target in &config.templates {
        let (_, bytes) =
            crate::files::read_bytes_in_workspace(workspace, &target.path, "templates[].path")?;
        let shown = target.path.display().to_string();
        let template = Template::parse_bytes(&bytes)
            .map_err(|e| crate::output::diagnostic::template_error(&shown, e))?;
        let mappings = template.mappings();
        let mapping = match &target.mapping {
            Some(name) => mappings.iter().find(|m| &m.name == name),
            None => mappings.iter().find(|m| m.ami_values > 0),
        };
        if let Some(mapping) = mapping {
            found.extend(mapping.regions.iter().filter_map(|r| Region::new(r).ok()));
        }
    }
    config.regions = Regions::from_templates(found)
        .map_err(|e| Diagnostic::new(Kind::Config, format!("`regions`: {}", e.message), e.help))?;
    Ok(())
}

/// The warnings about `config`: the load form's, and instance types the SDK does not list.
pub fn warnings(config: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    for (key, name) in [
        ("build.instance-type", config.build.instance_type.as_str()),
        (
            "load-form.recommended-instance-type",
            config.load_form.recommended_instance_type.as_str(),
        ),
    ] {
        if !crate::aws::instance_types::is_known(name) {
            out.push(advice::instance_type(
                key,
                name,
                &crate::aws::instance_types::closest(name),
            ));
        }
    }
    out.extend(advice::load_form(config));
    out
}

/// Prints `warnings` (`::warning` annotations in GitHub Actions).
pub fn show(warnings: &[Warning]) {
    for warning in warnings {
        crate::output::warning(&warning.key, &warning.message);
    }
}
