//! The starter config `marketplace-release init` writes, from what the repository's templates
//! hold: each template's AMI mapping (or ImageId parameter) and its keys, mapped to
//! architectures where the key names say so (`AMD64`, `x86_64`, `HVM64` → x86_64; `ARM64`,
//! `arm64`, `aarch64`, `Graviton` → arm64); the regions already in the mappings; the version
//! parameter. What it cannot know is a placeholder containing [`PLACEHOLDER`], or a value with
//! a `# REPLACE` comment. Pure: the caller reads the templates.

use super::Architecture;
use crate::domain::ami::Region;
use crate::template::{MappingSummary, ParameterSummary};

/// The marker of every value `init` cannot know; the config is refused until it is replaced.
pub const PLACEHOLDER: &str = "REPLACE-ME";

/// What `init` read from one template.
#[derive(Debug, Clone)]
pub struct TemplateFacts {
    /// The path relative to the repository root.
    pub path: String,
    /// Its mappings.
    pub mappings: Vec<MappingSummary>,
    /// Its ImageId and version parameters.
    pub parameters: ParameterSummary,
}

/// The architecture a mapping key names, when its name says so.
pub fn architecture_of_key(key: &str) -> Option<Architecture> {
    let k = key.to_ascii_lowercase();
    if ["arm", "aarch64", "graviton"].iter().any(|n| k.contains(n)) {
        Some(Architecture::Arm64)
    } else if ["amd64", "x86", "x64", "hvm", "intel"]
        .iter()
        .any(|n| k.contains(n))
    {
        Some(Architecture::X86_64)
    } else {
        None
    }
}

/// The mapping a release would update: the one with the most AMI values.
fn ami_mapping(facts: &TemplateFacts) -> Option<&MappingSummary> {
    facts
        .mappings
        .iter()
        .filter(|m| m.ami_values > 0)
        .max_by_key(|m| m.ami_values)
}

/// The mapping key per architecture: keys whose names say their architecture; a single key of
/// no known architecture is x86_64's.
fn keys_by_architecture(mapping: &MappingSummary) -> Vec<(Architecture, String)> {
    let mut keys: Vec<(Architecture, String)> = Vec::new();
    for key in &mapping.keys {
        if let Some(arch) = architecture_of_key(key) {
            if !keys.iter().any(|(a, _)| *a == arch) {
                keys.push((arch, key.clone()));
            }
        }
    }
    if keys.is_empty() {
        if let Some(first) = mapping.keys.first() {
            keys.push((Architecture::X86_64, first.clone()));
        }
    }
    keys
}

/// A YAML scalar: plain when that reads back as the same string, else double-quoted.
fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !text.starts_with(['-', '.'])
        && !matches!(
            text,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).expect("strings serialize")
    }
}

/// The architectures every template with a mapping has a key for, x86_64 first (a product's
/// templates are built together); x86_64 when none says.
fn common_architectures(templates: &[TemplateFacts]) -> Vec<Architecture> {
    let mut common = vec![Architecture::X86_64, Architecture::Arm64];
    let mut constrained = false;
    for mapping in templates.iter().filter_map(ami_mapping) {
        let keys = keys_by_architecture(mapping);
        common.retain(|a| keys.iter().any(|(k, _)| k == a));
        constrained = true;
    }
    if !constrained || common.is_empty() {
        vec![Architecture::X86_64]
    } else {
        common
    }
}

/// The starter config for `templates` (at least one), with the schema line first.
pub fn starter_config(templates: &[TemplateFacts]) -> String {
    let architectures = common_architectures(templates);
    let mut regions: Vec<String> = Vec::new();
    let mut entries = String::new();
    for facts in templates {
        entries.push_str(&template_entry(facts, &architectures, &mut regions));
    }
    let us_east_1 = Region::new("us-east-1").expect("a region");
    let regions: Vec<String> = std::iter::once("us-east-1".to_owned())
        .chain(
            regions
                .into_iter()
                .filter(|r| Region::partition_of(r) == Some(us_east_1.partition())),
        )
        .fold(Vec::new(), |mut all, r| {
            if !all.contains(&r) {
                all.push(r);
            }
            all
        });
    let arch_list: Vec<&str> = architectures.iter().map(|a| a.as_str()).collect();
    let base_name = match architectures.as_slice() {
        [one] => format!("al2023-ami-2023.*-{}", one.as_str()),
        _ => "al2023-ami-2023.*".to_owned(),
    };
    let mut out = format!(
        "# yaml-language-server: $schema={}\n# Written by `marketplace-release init` from the templates below. Replace every {PLACEHOLDER} and\n# check every line marked REPLACE, then: marketplace-release plan --config .github/marketplace-release.yml --version 1.2.3\n\nproduct:\n  name: \"{PLACEHOLDER}: the listing's name\"\n\ntemplates:\n{entries}\n# The regions the templates' mappings hold (`regions: template` reads them at each release).\nregions:\n",
        super::schema::SCHEMA_ID
    );
    for region in &regions {
        out.push_str(&format!("  - {region}\n"));
    }
    out.push_str(&format!(
        "\nbuild:\n  architectures: [{}]\n  base-ami:                 # REPLACE: your base image (or `id: ami-…`, or `ssm: /aws/service/…`)\n    owner: amazon\n    name: {}\n  instance-type: t3.medium\n  script: build/install.sh  # REPLACE: your install script, run on the builder as root\n\nsharing:\n  public: false             # REPLACE: true makes every copy public\n\n",
        arch_list.join(", "),
        scalar(&base_name)
    ));
    out.push_str(&load_form_section());
    out
}

/// One `templates:` entry, with the keys of `architectures`; adds the regions it has.
fn template_entry(
    facts: &TemplateFacts,
    architectures: &[Architecture],
    regions: &mut Vec<String>,
) -> String {
    let mut entry = format!("  - path: {}\n", scalar(&facts.path));
    match ami_mapping(facts) {
        Some(mapping) => {
            entry.push_str(&format!(
                "    mapping: {}  # {} region(s), key(s) {}\n",
                scalar(&mapping.name),
                mapping.regions.len(),
                mapping.keys.join(", ")
            ));
            let keys: Vec<(Architecture, String)> = keys_by_architecture(mapping)
                .into_iter()
                .filter(|(a, _)| architectures.contains(a))
                .collect();
            let written: Vec<String> = architectures
                .iter()
                .filter_map(|a| keys.iter().find(|(k, _)| k == a))
                .map(|(a, k)| format!("{}: {}", a.as_str(), scalar(k)))
                .collect();
            entry.push_str(&format!("    keys: {{{}}}\n", written.join(", ")));
            let others: Vec<&str> = mapping
                .keys
                .iter()
                .filter(|k| !keys.iter().any(|(_, w)| w == *k))
                .map(String::as_str)
                .collect();
            if !others.is_empty() {
                entry.push_str(&format!(
                    "    # Keys a release leaves as they are: {}\n",
                    others.join(", ")
                ));
            }
            regions.extend(mapping.regions.iter().cloned());
        }
        None => match facts.parameters.image_parameters.first() {
            Some(name) => entry.push_str(&format!(
                "    # No AMI mapping: the release writes the us-east-1 AMI into parameter {name}.\n"
            )),
            None => entry.push_str(
                "    # REPLACE: no AMI mapping or ImageId parameter was found; name the mapping with `mapping:`\n",
            ),
        },
    }
    match facts.parameters.version_parameters.as_slice() {
        [] => {
            entry.push_str("    # No version parameter was found, so the version is not written.\n")
        }
        [one] => entry.push_str(&format!("    version-parameter: {}\n", scalar(one))),
        [first, ..] => entry.push_str(&format!(
            "    version-parameter: {}  # REPLACE: the one of {} that holds the version\n",
            scalar(first),
            facts.parameters.version_parameters.join(", ")
        )),
    }
    entry
}

/// The `load-form` section: placeholders and common values marked REPLACE.
fn load_form_section() -> String {
    format!(
        "load-form:\n  version-title: \"{{{{ version }}}}\"\n  release-notes: \"{PLACEHOLDER}: what changed in {{{{ version }}}}\"\n  # The IngestionRoleArn output of iam/marketplace-release-role.yaml:\n  access-role-arn: {PLACEHOLDER}\n  os-user-name: ec2-user    # REPLACE: the user buyers log in as\n  os-name: AMAZONLINUX      # REPLACE: as the load form names it (UBUNTU, REDHAT, …)\n  os-version: \"2023\"        # REPLACE\n  recommended-instance-type: t3.medium  # REPLACE\n  security-groups:          # REPLACE: the inbound rules buyers need\n    - {{protocol: tcp, from-port: 22, to-port: 22, cidr: 0.0.0.0/0, description: SSH}}\n  usage-instructions: \"{PLACEHOLDER}: how buyers reach the product after launching the stack\"\n  # REPLACE: where the released template and the architecture diagram are published.\n  # template-url: https://example.com/product.template.yaml\n  # architecture-diagram-url: https://example.com/architecture.png\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_say_their_architecture() {
        for (key, arch) in [
            ("AMD64", Some(Architecture::X86_64)),
            ("x86_64", Some(Architecture::X86_64)),
            ("HVM64", Some(Architecture::X86_64)),
            ("ARM64", Some(Architecture::Arm64)),
            ("arm64", Some(Architecture::Arm64)),
            ("Graviton", Some(Architecture::Arm64)),
            ("BYOL", None),
        ] {
            assert_eq!(architecture_of_key(key), arch, "{key}");
        }
        assert_eq!(scalar("AMD64"), "AMD64");
        assert_eq!(scalar("5.1"), "\"5.1\"");
        assert_eq!(scalar("a b"), "\"a b\"");
    }
}
