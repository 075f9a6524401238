//! Deciding the parameters' update: the `AWS::EC2::Image::Id` parameter's default when the
//! template has no AMI mapping, and the version parameter's default (and `AllowedValues`).

use super::change::Change;
use super::editor::Editor;
use super::error::{ErrorKind, TemplateError};
use super::proof::Intent;
use super::request::EditRequest;
use super::splice::Splice;
use super::summary::{is_version_candidate, ssm_version_default};
use super::tree::{Entry, Node, NodeKind, ScalarStyle};
use crate::diagnostic::did_you_mean;
use crate::domain::ami::{AmiId, AmiSet, RegionAmis};

impl<'a, 't> Editor<'a, 't> {
    /// Without a mapping, the AMI lives in an `AWS::EC2::Image::Id` parameter's literal default.
    pub(super) fn update_image_parameter(
        &mut self,
        request: &EditRequest,
    ) -> Result<(), TemplateError> {
        let params = self
            .unique_value(&self.template.root, "Parameters", "Parameters")?
            .and_then(Node::entries)
            .unwrap_or_default();
        let literal: Vec<&Entry> = params
            .iter()
            .filter(|p| {
                p.value.get("Type").and_then(Node::as_scalar).map(str::trim)
                    == Some("AWS::EC2::Image::Id")
                    && p.value
                        .get("Default")
                        .and_then(Node::as_scalar)
                        .is_some_and(AmiId::is_ami_id)
            })
            .collect();
        for candidate in &literal {
            self.check_parameter(candidate)?;
        }
        let param = match literal.as_slice() {
            [only] => *only,
            [] if request.version.is_some() && self.has_ssm_image_parameter(params) => return Ok(()),
            [] => {
                return Err(self.err(
                    ErrorKind::NothingToUpdate,
                    None,
                    "the template has no mapping with AMI IDs and no `AWS::EC2::Image::Id` parameter with an AMI default",
                    "name the mapping with --mapping, or add a mapping of region → AMI ID; for an SSM ImageId parameter, pass --version",
                ))
            }
            several => {
                return Err(self.err(
                    ErrorKind::ImageParameter,
                    Some(&several[1].key),
                    format!(
                        "several `AWS::EC2::Image::Id` parameters have AMI defaults: {}",
                        several.iter().filter_map(|p| p.key.as_scalar()).collect::<Vec<_>>().join(", ")
                    ),
                    "keep the product AMI in one parameter (or in a region mapping) so the tool knows which to update",
                ))
            }
        };
        let name = param.key.as_scalar().unwrap_or_default().to_owned();
        self.check_parameter(param)?;
        let ami = single_ami_for(&request.amis, "us-east-1").map_err(|why| {
            self.err(
                ErrorKind::ImageParameter,
                Some(&param.key),
                format!("parameter `{name}` holds one AMI (for us-east-1, where Marketplace ingests it), but {why}"),
                "give AMIS.json with exactly one AMI for us-east-1",
            )
        })?;
        let default = param.value.get("Default").expect("filtered on Default");
        self.set_scalar(&name, default, &ami)
    }

    /// Refuses a parameter written twice under `Parameters`, or one whose `Type`, `Default` or
    /// `AllowedValues` is written twice: the edit reads and writes those.
    fn check_parameter(&self, param: &'a Entry) -> Result<(), TemplateError> {
        let name = param.key.as_scalar().unwrap_or_default();
        if let Some(params) = self.template.root.get("Parameters") {
            self.unique(params, name, &format!("Parameters.{name}"))?;
        }
        for field in ["Type", "Default", "AllowedValues"] {
            self.unique(&param.value, field, &format!("Parameters.{name}.{field}"))?;
        }
        Ok(())
    }

    /// Whether one of `params` is an SSM ImageId parameter whose default ends in a version.
    fn has_ssm_image_parameter(&self, params: &[Entry]) -> bool {
        params
            .iter()
            .any(|p| ssm_version_default(&p.value).is_some())
    }

    /// Writes `value` over the scalar `node`, the Default of `parameter`, keeping its quoting.
    fn set_scalar(
        &mut self,
        parameter: &str,
        node: &Node,
        value: &str,
    ) -> Result<(), TemplateError> {
        let NodeKind::Scalar { value: old, style } = &node.kind else {
            return Err(self.err(
                ErrorKind::Shape,
                Some(node),
                format!("the Default of parameter `{parameter}` is not a scalar"),
                "write the Default as a plain or quoted value",
            ));
        };
        if *style == ScalarStyle::Block || node.tag.is_some() {
            return Err(self.err(
                ErrorKind::Shape,
                Some(node),
                format!("the Default of parameter `{parameter}` is a block scalar or tagged value"),
                "write the Default as a plain or quoted value on one line",
            ));
        }
        if old != value {
            self.splices.push(Splice {
                range: node.span.clone(),
                text: self.layout.scalar(value, *style),
            });
            self.changes.push(Change::ParameterDefault {
                parameter: parameter.into(),
                old: old.clone(),
                new: value.into(),
            });
        }
        self.intents.push(Intent::SetParameterDefault {
            parameter: parameter.into(),
            value: value.into(),
        });
        Ok(())
    }

    /// Sets the version parameter's Default (or the version segment of an SSM ImageId path),
    /// and adds the version to its `AllowedValues` when it has them.
    pub(super) fn set_version(
        &mut self,
        version: &str,
        named: Option<&str>,
    ) -> Result<(), TemplateError> {
        let param = self.version_parameter(named)?;
        let name = param.key.as_scalar().unwrap_or_default().to_owned();
        self.check_parameter(param)?;
        let Some(default) = param.value.get("Default") else {
            return Err(self.err(
                ErrorKind::VersionParameter,
                Some(&param.key),
                format!("parameter `{name}` has no Default to set the version in"),
                format!("add `Default:` to parameter `{name}`, or name another with --version-parameter"),
            ));
        };
        if let Some((prefix, _)) = ssm_version_default(&param.value) {
            return self.set_scalar(&name, default, &format!("{prefix}{version}"));
        }
        self.set_scalar(&name, default, version)?;
        if let Some(allowed) = param.value.get("AllowedValues") {
            self.allow_version(name, allowed, version);
        }
        Ok(())
    }

    /// The version parameter: the one `named`, or the only parameter that looks like it.
    fn version_parameter(&self, named: Option<&str>) -> Result<&'a Entry, TemplateError> {
        let params_node = self.unique_value(&self.template.root, "Parameters", "Parameters")?;
        let params = params_node.and_then(Node::entries).unwrap_or_default();
        if let Some(name) = named {
            return params
                .iter()
                .find(|p| p.key.as_scalar() == Some(name))
                .ok_or_else(|| {
                    let names: Vec<&str> =
                        params.iter().filter_map(|p| p.key.as_scalar()).collect();
                    let hint = did_you_mean(name, names.iter().copied())
                        .map(|c| format!("did you mean `{c}`? "))
                        .unwrap_or_default();
                    self.err(
                        ErrorKind::VersionParameter,
                        params_node,
                        format!("there is no parameter `{name}` under Parameters"),
                        format!("{hint}name an existing parameter with --version-parameter"),
                    )
                });
        }
        let candidates: Vec<&Entry> = params.iter().filter(|p| is_version_candidate(p)).collect();
        for candidate in &candidates {
            self.check_parameter(candidate)?;
        }
        match candidates.as_slice() {
            [only] => Ok(*only),
            [] => Err(self.err(
                ErrorKind::NoVersionParameter,
                params_node,
                "--version was given, but no parameter is clearly the version (a name ending in `Version` with a version default, or an SSM ImageId path ending in a version)",
                "name it with --version-parameter NAME, or drop --version",
            )),
            several => Err(self.err(
                ErrorKind::VersionParameter,
                Some(&several[0].key),
                format!(
                    "several parameters look like the version: {}",
                    several
                        .iter()
                        .map(|p| format!("{} (Default {})", p.key.as_scalar().unwrap_or_default(), p.value.get("Default").and_then(Node::as_scalar).unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "name the one to update with --version-parameter NAME",
            )),
        }
    }

    /// Puts `version` first in the `AllowedValues` list `allowed` of parameter `name`, quoted
    /// like the list's first item, unless the list is empty, not a list, or holds it already.
    fn allow_version(&mut self, name: String, allowed: &Node, version: &str) {
        let NodeKind::Seq { items, .. } = &allowed.kind else {
            return;
        };
        if items.is_empty() || items.iter().any(|i| i.as_scalar() == Some(version)) {
            return;
        }
        let style = match &items[0].kind {
            NodeKind::Scalar { style, .. } => *style,
            _ => ScalarStyle::Plain,
        };
        self.splices.push(self.layout.insert_before(
            allowed,
            0,
            &[self.layout.scalar(version, style)],
        ));
        self.intents.push(Intent::PrependAllowedValue {
            parameter: name.clone(),
            value: version.into(),
        });
        self.changes.push(Change::AllowedValueAdded {
            parameter: name,
            value: version.into(),
        });
    }
}

/// The one AMI for `region`, or why there is none.
fn single_ami_for(amis: &AmiSet, region: &str) -> Result<String, String> {
    match amis.get(region) {
        None => Err(format!("AMIS.json has no {region} entry")),
        Some(RegionAmis::Single(ami)) => Ok(ami.to_string()),
        Some(RegionAmis::Keyed(keyed)) if keyed.len() == 1 => Ok(keyed[0].to_string()),
        Some(RegionAmis::Keyed(keyed)) => Err(format!(
            "AMIS.json gives {region} several AMIs ({})",
            keyed.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
    }
}
