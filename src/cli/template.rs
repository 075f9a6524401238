//! `template`: updates the AMI IDs and the version in one CloudFormation template, changing
//! nothing else, with the template editor of [`crate::template`].

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, Result};

use super::args::TemplateArgs;
use super::request::parse_version;
use crate::domain::ami::AmiSet;
use crate::files::{file_error, write_atomically};
use crate::output;
use crate::plan::diff::unified_diff;
use crate::template::{template_error, EditRequest, Template};

/// Reads an AMIS.json file (`--amis`).
pub fn read_amis(path: &Path) -> Result<AmiSet> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        file_error(
            format!("cannot read AMIS.json file {}", path.display()),
            e,
            "check the path passed to --amis",
        )
    })?;
    AmiSet::from_json(&text).map_err(|e| {
        anyhow!(
            "{}: {e}\n  help: AMIS.json is {{\"us-east-1\": \"ami-…\", …}} or {{\"us-east-1\": {{\"AMD64\": \"ami-…\", \"ARM64\": \"ami-…\"}}, …}}",
            path.display()
        )
    })
}

/// `template`: edits one template.
pub fn run(args: &TemplateArgs) -> Result<ExitCode> {
    let shown = args.template.display().to_string();
    let bytes = std::fs::read(&args.template).map_err(|e| {
        file_error(
            format!("cannot read template {shown}"),
            e,
            "check the template path",
        )
    })?;
    let amis = read_amis(&args.amis)?;
    let version = args.version.as_deref().map(parse_version).transpose()?;
    let request = EditRequest {
        amis,
        mapping: args.mapping.clone(),
        key: args.key.clone(),
        prune: args.prune,
        prune_other_partitions: args.prune_other_partitions,
        version,
        version_parameter: args.version_parameter.clone(),
    };
    let edited = Template::parse_bytes(&bytes)
        .and_then(|t| t.edit(&request))
        .map_err(|e| template_error(&shown, e))?;
    for change in &edited.changes {
        tracing::info!(template = %shown, "{}", serde_json::to_string(change).unwrap_or_default());
    }
    let old = std::str::from_utf8(&bytes).expect("parse_bytes checked UTF-8");
    if args.check {
        if edited.changed {
            output::report(&unified_diff(&shown, old, &edited.text));
            eprintln!(
                "{shown} would change ({} change(s)); run with --in-place or --output to write it",
                edited.changes.len()
            );
            return Ok(ExitCode::from(1));
        }
        eprintln!("{shown} is up to date");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(output) = &args.output {
        write_atomically(output, &edited.text)?;
        eprintln!(
            "wrote {} ({} change(s))",
            output.display(),
            edited.changes.len()
        );
    } else if edited.changed {
        write_atomically(&args.template, &edited.text)?;
        eprintln!("updated {shown} ({} change(s))", edited.changes.len());
    } else {
        eprintln!("{shown} is up to date; not rewritten");
    }
    Ok(ExitCode::SUCCESS)
}
