//! The `build` section: the builder instance, its base image and the AMI it makes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::types::{
    checked_string, non_empty, AtLeastOne, InstanceType, Invalid, Minutes, SecurityGroupId,
    SubnetId, Template, WorkspacePath,
};
use crate::domain::ami::{AmiId, Region};

/// How the AMI is built.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Build {
    /// Where the builder runs; AWS Marketplace ingests AMIs from us-east-1.
    #[serde(default = "us_east_1")]
    pub region: Region,
    /// Architectures to build: `x86_64` and/or `arm64`.
    #[serde(default = "default_architectures", deserialize_with = "architectures")]
    #[schemars(length(min = 1))]
    pub architectures: Vec<Architecture>,
    /// The base image: exactly one of `id: ami-…`, `ssm: /aws/service/…` (or
    /// `resolve:ssm:/…`), or `owner:` with a `name:` filter (the newest match is used).
    /// Needed with `script`, unless `image` is given.
    #[serde(default)]
    pub base_ami: Option<BaseAmi>,
    /// An AMI you already have in `region` (imported, or built by Packer), to release instead
    /// of building one: it is copied within `region` into an image of this release (named and
    /// tagged as a build would be), and no builder runs. Instead of `base-ami` and `script`.
    #[serde(default, deserialize_with = "existing_image")]
    pub image: Option<AmiId>,
    /// Builder instance type.
    #[serde(default = "default_instance_type")]
    pub instance_type: InstanceType,
    /// The builder's root volume.
    #[serde(default)]
    pub root_volume: RootVolume,
    /// Builder subnet; the default VPC otherwise.
    #[serde(default)]
    pub subnet_id: Option<SubnetId>,
    /// Builder security group; the subnet's default otherwise.
    #[serde(default)]
    pub security_group_id: Option<SecurityGroupId>,
    /// The build script, relative to the repository root. Needed with `base-ami`, unless
    /// `image` is given.
    #[serde(default)]
    pub script: Option<WorkspacePath>,
    /// How long the builder may run before it counts as hung (minutes, fractions allowed).
    #[serde(default = "default_build_timeout")]
    pub timeout_minutes: Minutes,
    /// How long to keep reading the builder's console for the result line after it stopped
    /// (minutes): EC2 posts console output some time after the instance stops.
    #[serde(default = "default_console_timeout")]
    pub console_timeout_minutes: Minutes,
    /// The AMI name, a template that also gets `architecture`: 3–128 characters that EC2
    /// accepts.
    #[serde(default = "default_ami_name")]
    pub ami_name: Template,
    /// The AMI description, a template like `ami-name`; `{{ product }} {{ version }} ({{
    /// architecture }})` when absent.
    #[serde(default)]
    pub ami_description: Option<Template>,
    /// Tags on the builder, its volumes, the image and its snapshots.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Where a release's image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// A builder boots `base_ami` and runs `script`.
    Script {
        /// The base image.
        base_ami: &'a BaseAmi,
        /// The build script.
        script: &'a WorkspacePath,
    },
    /// An existing AMI in `build.region`, copied into an image of the release.
    Image(&'a AmiId),
}

impl Build {
    /// Where the image comes from; `None` before the config is validated (which requires
    /// `base-ami` with `script`, or `image`).
    pub fn source(&self) -> Option<Source<'_>> {
        match (&self.image, &self.base_ami, &self.script) {
            (Some(image), _, _) => Some(Source::Image(image)),
            (None, Some(base_ami), Some(script)) => Some(Source::Script { base_ami, script }),
            _ => None,
        }
    }

    /// The build script, when the image is built.
    pub fn script(&self) -> Option<&WorkspacePath> {
        match self.source()? {
            Source::Script { script, .. } => Some(script),
            Source::Image(_) => None,
        }
    }
}

pub(super) fn existing_image<'de, D: Deserializer<'de>>(de: D) -> Result<Option<AmiId>, D::Error> {
    let Some(text) = Option::<String>::deserialize(de)? else {
        return Ok(None);
    };
    if !AmiId::is_ami_id(&text) {
        return Err(Invalid::new(
            format!("`{text}` is not an AMI ID (expected `ami-` and 8 or 17 lowercase hex digits)"),
            "give the ID of the AMI to release, in build.region, like ami-0123456789abcdef0",
        )
        .into_de());
    }
    Ok(Some(AmiId::new(&text, "build.image").expect("checked")))
}

fn us_east_1() -> Region {
    Region::new("us-east-1").expect("valid region")
}

fn default_architectures() -> Vec<Architecture> {
    vec![Architecture::X86_64]
}

fn architectures<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<Architecture>, D::Error> {
    non_empty(
        de,
        "no architectures are listed",
        "list x86_64, arm64 or both",
    )
}

fn default_instance_type() -> InstanceType {
    InstanceType::new("t3.medium").expect("valid instance type")
}

fn default_build_timeout() -> Minutes {
    Minutes::new(45.0).expect("valid minutes")
}

fn default_console_timeout() -> Minutes {
    Minutes::new(10.0).expect("valid minutes")
}

fn default_ami_name() -> Template {
    Template::new("{{ product | lower | replace(' ', '-') }}-{{ version }}-{{ architecture }}")
        .expect("valid template")
}

/// A CPU architecture, as EC2 names it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Intel and AMD.
    X86_64,
    /// Graviton.
    Arm64,
}

impl Architecture {
    /// Both architectures, as EC2 names them.
    pub const ALL: [Architecture; 2] = [Architecture::X86_64, Architecture::Arm64];

    /// The EC2 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// The architecture EC2 calls `name` (`x86_64`, `arm64`), if it is one of them.
    pub fn from_ec2_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// The base image: exactly one of `id`, `ssm`, or `owner` with `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum BaseAmi {
    /// An explicit AMI ID.
    Id {
        /// The AMI ID, in `build.region`.
        id: AmiId,
    },
    /// An SSM public parameter naming the AMI.
    Ssm {
        /// The parameter path (`/aws/service/ami-amazon-linux-latest/…`), optionally with
        /// `resolve:ssm:` in front.
        ssm: SsmParameter,
    },
    /// The newest image of `owner` whose name matches `name`.
    Filter {
        /// Image owner: an account ID or an alias such as `amazon`.
        owner: String,
        /// Image name filter with `*` wildcards; the newest match is used.
        name: String,
    },
}

impl BaseAmi {
    /// The form RunInstances and DescribeImages take for an SSM parameter:
    /// `resolve:ssm:/…`; `None` for the other sources.
    pub fn ssm_alias(&self) -> Option<String> {
        match self {
            BaseAmi::Ssm { ssm } => Some(match ssm.strip_prefix("resolve:ssm:") {
                Some(_) => ssm.to_string(),
                None => format!("resolve:ssm:{ssm}"),
            }),
            _ => None,
        }
    }
}

/// The base image as written, before exactly one source is picked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaseAmiFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    ssm: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl TryFrom<BaseAmiFields> for BaseAmi {
    type Error = Invalid;

    fn try_from(fields: BaseAmiFields) -> Result<Self, Invalid> {
        match (fields.id, fields.ssm, fields.owner, fields.name) {
            (Some(id), None, None, None) => match AmiId::is_ami_id(&id) {
                true => Ok(BaseAmi::Id {
                    id: AmiId::new(&id, "base").expect("checked"),
                }),
                false => Err(Invalid::new(
                    format!("`{id}` is not an AMI ID (expected `ami-` and 8 or 17 lowercase hex digits)"),
                    "give the base AMI ID, like ami-0123456789abcdef0",
                )),
            },
            (None, Some(ssm), None, None) => Ok(BaseAmi::Ssm {
                ssm: SsmParameter::new(&ssm)?,
            }),
            (None, None, Some(owner), Some(name))
                if !owner.trim().is_empty() && !name.trim().is_empty() =>
            {
                Ok(BaseAmi::Filter { owner, name })
            }
            _ => Err(Invalid::new(
                "give exactly one of `id`, `ssm`, or `owner` with `name`",
                "for example `owner: amazon` and `name: al2023-ami-2023.*-x86_64`",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for BaseAmi {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct BaseAmiVisitor;
        impl<'de> serde::de::Visitor<'de> for BaseAmiVisitor {
            type Value = BaseAmi;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map with `id`, `ssm`, or `owner` and `name`")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<BaseAmi, E> {
                Err(string_given(text).into_de())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<BaseAmi, A::Error> {
                BaseAmiFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?
                    .try_into()
                    .map_err(Invalid::into_de)
            }
        }
        de.deserialize_any(BaseAmiVisitor)
    }
}

/// The error for `base-ami: TEXT`: the map to write instead, in the shape the text has.
fn string_given(text: &str) -> Invalid {
    let instead = if AmiId::is_ami_id(text) {
        format!("id: {text}")
    } else if text.starts_with('/') || text.starts_with("resolve:ssm:") {
        format!("ssm: {text}")
    } else if let Some((owner, name)) = text.split_once('/') {
        format!("owner: {owner}, name: {name}")
    } else {
        "owner: amazon, name: al2023-ami-2023.*-x86_64".to_owned()
    };
    Invalid::new(
        format!("`{text}` is a string, but build.base-ami is a map with `id`, `ssm`, or `owner` and `name` (the action's `base-ami` input is the one that takes a string)"),
        format!("write it as `base-ami: {{{instead}}}`"),
    )
}

checked_string! {
    /// An SSM parameter path naming an AMI, optionally with `resolve:ssm:` in front.
    SsmParameter {
        title: "SSM parameter path",
        pattern: r"^(resolve:ssm:)?/[^ \t\r\n]+$",
        is_not: "an SSM parameter path",
        help: "write it like /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
        example: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    }
}

/// The builder's root volume.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct RootVolume {
    /// Root volume size in GiB.
    #[serde(default = "default_volume_size")]
    pub size_gib: AtLeastOne,
    /// EBS volume type.
    #[serde(default)]
    pub r#type: VolumeType,
}

impl Default for RootVolume {
    fn default() -> Self {
        Self {
            size_gib: default_volume_size(),
            r#type: VolumeType::default(),
        }
    }
}

fn default_volume_size() -> AtLeastOne {
    AtLeastOne::new(20).expect("positive")
}

/// An EBS volume type a root volume can have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VolumeType {
    /// General purpose SSD, previous generation.
    Gp2,
    /// General purpose SSD.
    #[default]
    Gp3,
    /// Provisioned IOPS SSD.
    Io1,
    /// Provisioned IOPS SSD, newer generation.
    Io2,
    /// Magnetic.
    Standard,
}

impl VolumeType {
    /// The EC2 name.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Gp2 => "gp2",
            VolumeType::Gp3 => "gp3",
            VolumeType::Io1 => "io1",
            VolumeType::Io2 => "io2",
            VolumeType::Standard => "standard",
        }
    }
}

impl std::fmt::Display for VolumeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(yaml: &str) -> Result<BaseAmi, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn base_ami_as_a_string_says_which_map_to_write() {
        let error = base("ami-0123456789abcdef0").unwrap_err();
        assert!(
            error.contains("is a string, but build.base-ami is a map")
                && error.contains("write it as `base-ami: {id: ami-0123456789abcdef0}`"),
            "{error}"
        );
        let error = base("amazon/al2023-ami-2023.*-x86_64").unwrap_err();
        assert!(
            error.contains("{owner: amazon, name: al2023-ami-2023.*-x86_64}"),
            "{error}"
        );
        assert!(!error.contains("expected struct"), "{error}");
    }

    #[test]
    fn base_ami_is_one_of_three_shapes() {
        assert!(matches!(
            base("{id: ami-0123456789abcdef0}").unwrap(),
            BaseAmi::Id { .. }
        ));
        let ssm =
            base("{ssm: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64}")
                .unwrap();
        assert_eq!(
            ssm.ssm_alias().unwrap(),
            "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
        );
        assert_eq!(
            base("{ssm: 'resolve:ssm:/a/b'}")
                .unwrap()
                .ssm_alias()
                .unwrap(),
            "resolve:ssm:/a/b"
        );
        assert_eq!(
            base("{owner: amazon, name: al2023-*}").unwrap(),
            BaseAmi::Filter {
                owner: "amazon".into(),
                name: "al2023-*".into()
            }
        );
        for bad in [
            "{id: ami-0123456789abcdef0, owner: amazon}",
            "{owner: amazon}",
            "{owner: amazon, name: ' '}",
            "{}",
        ] {
            assert!(base(bad).unwrap_err().contains("exactly one"), "{bad}");
        }
        assert!(base("{id: ami-12}")
            .unwrap_err()
            .contains("`ami-12` is not an AMI ID"));
        assert!(base("{ssm: 'aws/service'}")
            .unwrap_err()
            .contains("is not an SSM parameter path"));
        assert!(base("{idd: ami-0123456789abcdef0}")
            .unwrap_err()
            .contains("unknown field `idd`"));
    }

    #[test]
    fn volume_types_are_ebs_names() {
        let t: VolumeType = serde_yaml::from_str("io2").unwrap();
        assert_eq!(t.as_str(), "io2");
        let e = serde_yaml::from_str::<VolumeType>("gp4")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `gp4`"), "{e}");
    }
}
