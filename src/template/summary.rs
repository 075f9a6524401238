//! What a template holds that a release reads: its mappings, the parameters a release could
//! write, and the interface of a stack made from it. Queries on the located tree; no edits.

use super::tree::{Entry, Node};
use crate::domain::ami::{AmiId, Region};
use crate::domain::version::looks_like_version;

/// Summary of one mapping, for detection and for the plan output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSummary {
    /// The mapping's name under `Mappings`.
    pub name: String,
    /// Region-named keys, in order.
    pub regions: Vec<String>,
    /// Second-level keys under the regions, in first-seen order.
    pub keys: Vec<String>,
    /// How many second-level values are AMI IDs.
    pub ami_values: usize,
}

impl MappingSummary {
    /// Summarises the mapping `node` called `name`.
    pub(super) fn of(name: &str, node: &Node) -> Self {
        let mut summary = MappingSummary {
            name: name.to_owned(),
            regions: Vec::new(),
            keys: Vec::new(),
            ami_values: 0,
        };
        for region in node.entries().unwrap_or_default() {
            let Some(region_name) = region.key.as_scalar().filter(|r| Region::is_region_name(r))
            else {
                continue;
            };
            summary.regions.push(region_name.to_owned());
            for inner in region.value.entries().unwrap_or_default() {
                let Some(key) = inner.key.as_scalar() else {
                    continue;
                };
                if !summary.keys.iter().any(|k| k == key) {
                    summary.keys.push(key.to_owned());
                }
                if inner.value.as_scalar().is_some_and(AmiId::is_ami_id) {
                    summary.ami_values += 1;
                }
            }
        }
        summary
    }
}

/// The parameters of a template that a release could write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParameterSummary {
    /// `AWS::EC2::Image::Id` parameters with a literal AMI default.
    pub image_parameters: Vec<String>,
    /// Parameters that look like the version (a name ending in `Version` with a version
    /// default, or an SSM ImageId path ending in a version).
    pub version_parameters: Vec<String>,
}

/// A template parameter as a stack sees it: its name, whether it has a default, and whether
/// its value is hidden (`NoEcho`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredParameter {
    /// Its name.
    pub name: String,
    /// Whether it has a `Default` (a stack may then leave it out).
    pub has_default: bool,
    /// `NoEcho: true`: a secret, which a config may not hold.
    pub no_echo: bool,
}

/// What a stack made from the template takes and gives: its parameters and the names of its
/// outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackInterface {
    /// Every parameter under `Parameters`, in order.
    pub parameters: Vec<DeclaredParameter>,
    /// Every output name under `Outputs`, in order.
    pub outputs: Vec<String>,
}

/// Every mapping under `Mappings` of `root`, with its regions, keys and number of AMI values.
pub(super) fn mappings(root: &Node) -> Vec<MappingSummary> {
    let Some(entries) = root.get("Mappings").and_then(Node::entries) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|entry| Some(MappingSummary::of(entry.key.as_scalar()?, &entry.value)))
        .collect()
}

/// The parameters a stack made from `root` takes and the outputs it gives.
pub(super) fn stack_interface(root: &Node) -> StackInterface {
    let names = |section: &str| -> Vec<&Entry> {
        root.get(section)
            .and_then(Node::entries)
            .map(|entries| entries.iter().collect())
            .unwrap_or_default()
    };
    StackInterface {
        parameters: names("Parameters")
            .into_iter()
            .filter_map(|entry| {
                Some(DeclaredParameter {
                    name: entry.key.as_scalar()?.to_owned(),
                    has_default: entry.value.get("Default").is_some(),
                    no_echo: entry
                        .value
                        .get("NoEcho")
                        .and_then(Node::as_scalar)
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
                })
            })
            .collect(),
        outputs: names("Outputs")
            .into_iter()
            .filter_map(|entry| entry.key.as_scalar().map(str::to_owned))
            .collect(),
    }
}

/// The parameters a release could write in `root`: `AWS::EC2::Image::Id` parameters with a
/// literal AMI default, and the parameters that look like the version (as detection reads
/// them).
pub(super) fn release_parameters(root: &Node) -> ParameterSummary {
    let params = root
        .get("Parameters")
        .and_then(Node::entries)
        .unwrap_or_default();
    let name = |p: &Entry| p.key.as_scalar().map(str::to_owned);
    ParameterSummary {
        image_parameters: params
            .iter()
            .filter(|p| {
                p.value.get("Type").and_then(Node::as_scalar).map(str::trim)
                    == Some("AWS::EC2::Image::Id")
                    && p.value
                        .get("Default")
                        .and_then(Node::as_scalar)
                        .is_some_and(AmiId::is_ami_id)
            })
            .filter_map(name)
            .collect(),
        version_parameters: params
            .iter()
            .filter(|p| is_version_candidate(p))
            .filter_map(name)
            .collect(),
    }
}

/// A parameter whose name ends in `Version` with a version default, or an SSM ImageId
/// parameter whose default path ends in a version.
pub(super) fn is_version_candidate(param: &Entry) -> bool {
    let named_version = param
        .key
        .as_scalar()
        .is_some_and(|n| n.ends_with("Version"))
        && param
            .value
            .get("Default")
            .and_then(Node::as_scalar)
            .is_some_and(looks_like_version);
    named_version || ssm_version_default(&param.value).is_some()
}

/// For an `AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>` parameter whose default ends in a
/// version (`/aws/service/marketplace/prod-…/2026.03.1`): the path up to the version, and the
/// version.
pub(super) fn ssm_version_default(param: &Node) -> Option<(&str, &str)> {
    let kind = param.get("Type")?.as_scalar()?;
    if !(kind.starts_with("AWS::SSM::Parameter::Value<") && kind.contains("AWS::EC2::Image::Id")) {
        return None;
    }
    let default = param.get("Default")?.as_scalar()?;
    let cut = default.rfind('/')? + 1;
    let (prefix, version) = default.split_at(cut);
    looks_like_version(version).then_some((prefix, version))
}
