//! The `regions`, `copy` and `sharing` sections: where the AMI is copied, and who may launch
//! the copies.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

use super::types::{
    AccountId, AtLeastOne, Invalid, Minutes, OrganizationArn, OrganizationalUnitArn,
};
use crate::domain::ami::Region;

/// Target regions: a list, `all` for every region enabled in the account (resolved with
/// DescribeRegions when copying), or `template` for the regions the templates' AMI mappings
/// already hold (resolved when the templates are read, before anything else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Regions {
    /// Every region enabled in the account.
    AllEnabled,
    /// The regions of the templates' AMI mappings; replaced by the list when the templates
    /// are read ([`Regions::from_templates`]).
    FromTemplates,
    /// These regions: at least one, each once, us-east-1 among them.
    Listed(Vec<Region>),
}

impl Regions {
    /// The listed regions; empty for `all` (and for `template` until it is resolved).
    pub fn listed(&self) -> &[Region] {
        match self {
            Regions::AllEnabled | Regions::FromTemplates => &[],
            Regions::Listed(regions) => regions,
        }
    }

    /// The list for `regions: template`: the regions of the templates' mappings, in their
    /// order, each once, with us-east-1 first when no mapping has it (Marketplace ingests from
    /// there).
    pub fn from_templates(found: impl IntoIterator<Item = Region>) -> Result<Self, Invalid> {
        let mut regions: Vec<Region> = Vec::new();
        for region in found {
            if !regions.contains(&region) {
                regions.push(region);
            }
        }
        if regions.is_empty() {
            return Err(Invalid::new(
                "`regions: template` was given, but no template has an AMI mapping with regions",
                "list the regions instead, like [us-east-1, eu-west-1]",
            ));
        }
        if !regions.iter().any(|r| r.as_str() == "us-east-1") {
            regions.insert(0, Region::new("us-east-1").expect("a valid region"));
        }
        Self::checked(regions)
    }

    /// Checks a list: not empty, no region twice, us-east-1 present.
    fn checked(regions: Vec<Region>) -> Result<Self, Invalid> {
        if regions.is_empty() {
            return Err(Invalid::new(
                "no regions are listed",
                "list the regions to copy the AMI to; us-east-1 is where Marketplace ingests it",
            ));
        }
        if let Some(twice) = regions
            .iter()
            .enumerate()
            .find_map(|(i, r)| regions[..i].contains(r).then_some(r))
        {
            return Err(Invalid::new(
                format!("{twice} is listed twice"),
                "remove the duplicate",
            ));
        }
        if !regions.iter().any(|r| r.as_str() == "us-east-1") {
            return Err(Invalid::new(
                "us-east-1 is not listed, but AWS Marketplace ingests AMIs only from us-east-1",
                "add us-east-1 to regions",
            ));
        }
        Ok(Regions::Listed(regions))
    }
}

impl<'de> Deserialize<'de> for Regions {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RegionsVisitor;
        impl<'de> serde::de::Visitor<'de> for RegionsVisitor {
            type Value = Regions;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of regions, or `all`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Regions, E> {
                if v == "all" {
                    Ok(Regions::AllEnabled)
                } else if v == "template" {
                    Ok(Regions::FromTemplates)
                } else {
                    Err(Invalid::new(
                        format!("`{v}` is neither a list of regions, `all` nor `template`"),
                        "list the regions, like [us-east-1, eu-west-1], write `all` for every region enabled in the account, or `template` for the regions the templates' mappings hold",
                    )
                    .into_de())
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Regions, A::Error> {
                let mut regions = Vec::new();
                while let Some(region) = seq.next_element::<Region>()? {
                    regions.push(region);
                }
                Regions::checked(regions).map_err(Invalid::into_de)
            }
        }
        deserializer.deserialize_any(RegionsVisitor)
    }
}

impl JsonSchema for Regions {
    fn schema_name() -> Cow<'static, str> {
        "Regions".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let region = generator.subschema_for::<Region>();
        json_schema!({
            "title": "list of regions, `all` or `template`",
            "anyOf": [
                {"const": "all"},
                {"const": "template"},
                {"type": "array", "items": region, "minItems": 1, "uniqueItems": true},
            ],
        })
    }
}

/// How the AMI is copied to the regions.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Copy {
    /// EC2 requests in flight at once, across every region (polls included). Not a bound on
    /// the copies: every region's copy runs at the same time.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: AtLeastOne,
    /// How long one copy may take to become available (minutes, fractions allowed).
    #[serde(default = "default_copy_timeout")]
    pub timeout_minutes: Minutes,
    /// Regions whose failure fails the run; all regions when empty.
    #[serde(default)]
    pub required_regions: Vec<Region>,
}

impl Default for Copy {
    fn default() -> Self {
        Self {
            max_concurrency: default_concurrency(),
            timeout_minutes: default_copy_timeout(),
            required_regions: Vec::new(),
        }
    }
}

fn default_concurrency() -> AtLeastOne {
    AtLeastOne::new(8).expect("positive")
}

fn default_copy_timeout() -> Minutes {
    Minutes::new(90.0).expect("valid minutes")
}

/// Who may launch the AMI copies.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Sharing {
    /// Make every copy public.
    #[serde(default)]
    pub public: bool,
    /// AWS account IDs (12 digits) given launch permission.
    #[serde(default)]
    pub accounts: Vec<AccountId>,
    /// Organization ARNs given launch permission.
    #[serde(default)]
    pub organizations: Vec<OrganizationArn>,
    /// Organizational unit ARNs given launch permission.
    #[serde(default)]
    pub organizational_units: Vec<OrganizationalUnitArn>,
    /// Also give the accounts `createVolumePermission` on the snapshots.
    #[serde(default)]
    pub snapshot_permissions: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions(yaml: &str) -> Result<Regions, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn regions_are_a_checked_list_or_all() {
        assert_eq!(regions("all").unwrap(), Regions::AllEnabled);
        assert_eq!(regions("[us-east-1, eu-west-1]").unwrap().listed().len(), 2);
        for (bad, why) in [
            ("[]", "no regions are listed"),
            ("[us-east-1, us-east-1]", "us-east-1 is listed twice"),
            ("[eu-west-1]", "us-east-1 is not listed"),
            (
                "[us-east-1, mars-north-1]",
                "`mars-north-1` is not an AWS region name",
            ),
            (
                "every",
                "`every` is neither a list of regions, `all` nor `template`",
            ),
        ] {
            let e = regions(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
