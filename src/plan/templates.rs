//! Each configured template as the release would regenerate it: the edit (`target`), its
//! one-line summary and its diff.

use indexmap::IndexMap;

use super::amis::amis_for_template;
use super::error::PlanError;
use super::model::TemplatePlan;
use super::render::code_span;
use super::target;
use crate::config::{Architecture, Config, TemplateTarget};
use crate::domain::ami::{AmiSet, Region};
use crate::domain::version::Version;
use crate::template::Change;

/// Every configured template (with its text, in config order) as the release would regenerate
/// it with `amis`.
pub(super) fn plan_all(
    config: &Config,
    texts: &[Vec<u8>],
    amis: &IndexMap<Architecture, AmiSet>,
    version: &Version,
) -> Result<Vec<TemplatePlan>, PlanError> {
    let release_regions = match config.regions.listed() {
        [] => None,
        listed => Some(listed),
    };
    config
        .templates
        .iter()
        .zip(texts)
        .enumerate()
        .map(|(i, (target, bytes))| plan_template(i, target, bytes, amis, version, release_regions))
        .collect()
}

/// One template as the release would regenerate it.
fn plan_template(
    index: usize,
    target: &TemplateTarget,
    bytes: &[u8],
    amis: &IndexMap<Architecture, AmiSet>,
    version: &Version,
    release_regions: Option<&[Region]>,
) -> Result<TemplatePlan, PlanError> {
    let path = target.path.display().to_string();
    let (edited, checks) = target::edit_target(
        index,
        target,
        bytes,
        amis_for_template(target, amis),
        version,
        release_regions,
    )?;
    let old = std::str::from_utf8(bytes).expect("edit_target checked UTF-8");
    Ok(TemplatePlan {
        diff: super::diff::unified_diff(&path, old, &edited.text),
        summary: summarize(&edited.changes) + &edited.other_partitions_note(),
        notes: checks.sentences(),
        checks,
        path,
        mapping: edited.mapping,
        changes: edited.changes,
        new_text: edited.text,
    })
}

/// One line saying what `changes` change: counts of AMIs and regions, and each parameter.
fn summarize(changes: &[Change]) -> String {
    let mut updated = 0;
    let mut added_keys = 0;
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut params = Vec::new();
    for change in changes {
        match change {
            Change::AmiUpdated { .. } => updated += 1,
            Change::AmiAdded { .. } => added_keys += 1,
            Change::RegionAdded { region } => added.push(region.as_str()),
            Change::RegionRemoved { region } => removed.push(region.as_str()),
            Change::ParameterDefault {
                parameter,
                old,
                new,
            } => params.push(format!(
                "{} {} → {}",
                code_span(parameter),
                code_span(old),
                code_span(new)
            )),
            Change::AllowedValueAdded { parameter, value } => params.push(format!(
                "{} added to {} AllowedValues",
                code_span(value),
                code_span(parameter)
            )),
        }
    }
    let mut parts = Vec::new();
    if updated > 0 {
        parts.push(format!(
            "{updated} AMI{} updated",
            if updated == 1 { "" } else { "s" }
        ));
    }
    if added_keys > 0 {
        parts.push(format!(
            "{added_keys} AMI key{} added",
            if added_keys == 1 { "" } else { "s" }
        ));
    }
    if !added.is_empty() {
        parts.push(format!(
            "{} region{} added ({})",
            added.len(),
            if added.len() == 1 { "" } else { "s" },
            added.join(", ")
        ));
    }
    if !removed.is_empty() {
        parts.push(format!(
            "{} region{} removed ({})",
            removed.len(),
            if removed.len() == 1 { "" } else { "s" },
            removed.join(", ")
        ));
    }
    parts.extend(params);
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_changes() {
        let changes = vec![
            Change::AmiUpdated {
                region: "us-east-1".into(),
                key: "K".into(),
                old: "a".into(),
                new: "b".into(),
            },
            Change::RegionAdded {
                region: "eu-west-3".into(),
            },
            Change::ParameterDefault {
                parameter: "V".into(),
                old: "1".into(),
                new: "2".into(),
            },
        ];
        assert_eq!(
            summarize(&changes),
            "1 AMI updated; 1 region added (eu-west-3); `V` `1` → `2`"
        );
        assert_eq!(summarize(&[]), "no change");
        // A default from the template cannot open an HTML comment that hides the body.
        let hidden = summarize(&[Change::ParameterDefault {
            parameter: "V".into(),
            old: "<!-- @team".into(),
            new: "2".into(),
        }]);
        assert_eq!(hidden, "`V` `<!-- @team` → `2`");
    }
}
