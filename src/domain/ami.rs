//! Region names, AMI IDs and the region → AMI sets that flow between the stages.
//!
//! These are validated newtypes: once a value exists it is known to be well formed, so the
//! template editor never writes a malformed AMI ID or region key into a template.

use std::fmt;
use std::sync::LazyLock;

use indexmap::IndexMap;
use regex::Regex;
use serde::{Deserialize, Serialize};

/// Why an AMI set or one of its values was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmiInputError {
    /// A region key that is not an AWS region name.
    #[error(
        "`{0}` is not an AWS region name (expected something like `us-east-1`, `us-gov-west-1`, `cn-north-1` or `eusc-de-east-1`)"
    )]
    InvalidRegion(String),
    /// A value that is not an AMI ID.
    #[error("`{value}` (region {region}) is not an AMI ID (expected `ami-` and 8 or 17 lowercase hex digits)")]
    InvalidAmi {
        /// The region the value was given for.
        region: String,
        /// The rejected value.
        value: String,
    },
    /// The JSON is valid but not one of the two documented shapes.
    #[error("{0}")]
    Shape(String),
    /// The text is not JSON at all.
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
}

/// AWS's partitions and the pattern of each one's region names, copied verbatim from the
/// `regionRegex` fields of the endpoint partition data in `aws-sdk-ec2` 1.274.0
/// (`src/endpoint_lib.rs`, `PartitionResolver::new_from_json`, partition data version 1.1).
/// The SDK keeps this table private, so it is copied here; order as in the SDK.
const PARTITIONS: [(Partition, &str); 8] = [
    (Partition::Aws, r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$"),
    (Partition::AwsCn, r"^cn\-\w+\-\d+$"),
    (Partition::AwsEusc, r"^eusc\-(de)\-\w+\-\d+$"),
    (Partition::AwsIso, r"^us\-iso\-\w+\-\d+$"),
    (Partition::AwsIsoB, r"^us\-isob\-\w+\-\d+$"),
    (Partition::AwsIsoE, r"^eu\-isoe\-\w+\-\d+$"),
    (Partition::AwsIsoF, r"^us\-isof\-\w+\-\d+$"),
    (Partition::AwsUsGov, r"^us\-gov\-\w+\-\d+$"),
];

static PARTITION_RES: LazyLock<Vec<(Partition, Regex)>> = LazyLock::new(|| {
    PARTITIONS
        .iter()
        .map(|(p, re)| (*p, Regex::new(re).expect("partition pattern compiles")))
        .collect()
});

/// Our own shape check on top of the partition patterns: lower case, and a compass direction
/// before a one- or two-digit number, as every AWS region name has it. The SDK's `\w+` and
/// `\d+` would also accept typos such as `us-eats-1` or `US-EAST-1`, which would otherwise
/// reach EC2 (or count as a region row of a template) before failing.
static REGION_SHAPE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(REGION_PATTERN).expect("region pattern compiles"));

/// The shape of a region name (also the config schema's `pattern`); see `REGION_SHAPE_RE`.
pub const REGION_PATTERN: &str = r"^[a-z]+(-[a-z]+)*-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[0-9]{1,2}$";

/// The shape of an AMI ID (also the config schema's `pattern`).
pub const AMI_PATTERN: &str = r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$";

/// An AWS partition: a separate set of regions with its own accounts and endpoints. An AMI
/// can only be copied between regions of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Partition {
    /// `aws`: the commercial regions.
    #[serde(rename = "aws")]
    Aws,
    /// `aws-cn`: the China regions.
    #[serde(rename = "aws-cn")]
    AwsCn,
    /// `aws-eusc`: the AWS European Sovereign Cloud.
    #[serde(rename = "aws-eusc")]
    AwsEusc,
    /// `aws-iso`.
    #[serde(rename = "aws-iso")]
    AwsIso,
    /// `aws-iso-b`.
    #[serde(rename = "aws-iso-b")]
    AwsIsoB,
    /// `aws-iso-e`.
    #[serde(rename = "aws-iso-e")]
    AwsIsoE,
    /// `aws-iso-f`.
    #[serde(rename = "aws-iso-f")]
    AwsIsoF,
    /// `aws-us-gov`: AWS GovCloud (US).
    #[serde(rename = "aws-us-gov")]
    AwsUsGov,
}

impl Partition {
    /// The partition whose region pattern `name` matches, if any (no shape check).
    pub fn of(name: &str) -> Option<Self> {
        PARTITION_RES
            .iter()
            .find(|(_, re)| re.is_match(name))
            .map(|(p, _)| *p)
    }

    /// The partition's ID, as in ARNs: `aws`, `aws-cn`, `aws-us-gov`, …
    pub fn id(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsEusc => "aws-eusc",
            Partition::AwsIso => "aws-iso",
            Partition::AwsIsoB => "aws-iso-b",
            Partition::AwsIsoE => "aws-iso-e",
            Partition::AwsIsoF => "aws-iso-f",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

static AMI_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(AMI_PATTERN).expect("AMI pattern compiles"));

/// An AWS region name such as `us-east-1` or `us-gov-west-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Region(String);

impl Region {
    /// Validates `name` as a region name.
    pub fn new(name: &str) -> Result<Self, AmiInputError> {
        if Self::is_region_name(name) {
            Ok(Self(name.to_owned()))
        } else {
            Err(AmiInputError::InvalidRegion(name.to_owned()))
        }
    }

    /// Whether `name` is a region name of one of AWS's partitions ([`Partition`]). Template
    /// mappings mix regions with other keys (a name row called `AMI`, say), and only
    /// region-named keys are treated as regions.
    pub fn is_region_name(name: &str) -> bool {
        Self::partition_of(name).is_some()
    }

    /// The partition of the region name `name`; `None` when it is not a region name.
    pub fn partition_of(name: &str) -> Option<Partition> {
        if !REGION_SHAPE_RE.is_match(name) {
            return None;
        }
        Partition::of(name)
    }

    /// The region's partition.
    pub fn partition(&self) -> Partition {
        Self::partition_of(&self.0).expect("validated region names have a partition")
    }

    /// The region name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let name = String::deserialize(de)?;
        Region::new(&name).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Region {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Region".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "title": "region",
            "type": "string",
            "pattern": REGION_PATTERN,
            "examples": ["us-east-1"],
        })
    }
}

/// An EC2 image ID: `ami-` followed by 8 (legacy) or 17 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AmiId(String);

impl AmiId {
    /// Validates `id` as an AMI ID; `region` only names the value in the error.
    pub fn new(id: &str, region: &str) -> Result<Self, AmiInputError> {
        if Self::is_ami_id(id) {
            Ok(Self(id.to_owned()))
        } else {
            Err(AmiInputError::InvalidAmi {
                region: region.to_owned(),
                value: id.to_owned(),
            })
        }
    }

    /// Whether `text` is exactly an AMI ID.
    pub fn is_ami_id(text: &str) -> bool {
        AMI_RE.is_match(text)
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AmiId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl schemars::JsonSchema for AmiId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AmiId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "title": "AMI ID",
            "type": "string",
            "pattern": AMI_PATTERN,
            "examples": ["ami-0123456789abcdef0"],
        })
    }
}

/// The AMIs for one region: one image for the mapping's single key, or one per mapping key
/// (`AMD64`, `ARM64`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RegionAmis {
    /// One AMI; the mapping key comes from the template or from `--key`.
    Single(AmiId),
    /// AMIs by mapping key, in the order given.
    Keyed(IndexMap<String, AmiId>),
}

/// A region → AMI set in the order given: the contents of an `AMIS.json` file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AmiSet(IndexMap<Region, RegionAmis>);

impl AmiSet {
    /// Parses the documented `AMIS.json` shapes:
    /// `{"us-east-1": "ami-…"}` or `{"us-east-1": {"AMD64": "ami-…", "ARM64": "ami-…"}}`.
    pub fn from_json(text: &str) -> Result<Self, AmiInputError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| AmiInputError::Json {
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        Self::from_json_value(&value)
    }

    /// Validates an already parsed JSON value; see [`AmiSet::from_json`].
    pub fn from_json_value(value: &serde_json::Value) -> Result<Self, AmiInputError> {
        const SHAPE: &str = "expected an object of region → AMI ID, like {\"us-east-1\": \"ami-0123456789abcdef0\"}, or region → {mapping key → AMI ID}, like {\"us-east-1\": {\"AMD64\": \"ami-…\", \"ARM64\": \"ami-…\"}}";
        let object = value.as_object().ok_or_else(|| {
            AmiInputError::Shape(format!("the top level is not an object: {SHAPE}"))
        })?;
        if object.is_empty() {
            return Err(AmiInputError::Shape(format!("no regions given: {SHAPE}")));
        }
        let mut set = IndexMap::new();
        for (region_name, amis) in object {
            let region = Region::new(region_name)?;
            let amis = match amis {
                serde_json::Value::String(id) => RegionAmis::Single(AmiId::new(id, region_name)?),
                serde_json::Value::Object(keyed) if !keyed.is_empty() => {
                    let mut by_key = IndexMap::new();
                    for (key, id) in keyed {
                        let id = id.as_str().ok_or_else(|| {
                            AmiInputError::Shape(format!(
                                "region {region_name}, key `{key}`: the value is not a string: {SHAPE}"
                            ))
                        })?;
                        if key.trim().is_empty() {
                            return Err(AmiInputError::Shape(format!(
                                "region {region_name} has an empty mapping key: {SHAPE}"
                            )));
                        }
                        by_key.insert(key.clone(), AmiId::new(id, region_name)?);
                    }
                    RegionAmis::Keyed(by_key)
                }
                _ => {
                    return Err(AmiInputError::Shape(format!(
                        "region {region_name}: the value is neither an AMI ID string nor a non-empty object: {SHAPE}"
                    )))
                }
            };
            set.insert(region, amis);
        }
        Ok(Self(set))
    }

    /// Builds a set from pairs; used by the planner and tests.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Region, RegionAmis)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The regions and their AMIs, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&Region, &RegionAmis)> {
        self.0.iter()
    }

    /// The AMIs for `region`, if given.
    pub fn get(&self, region: &str) -> Option<&RegionAmis> {
        self.0
            .iter()
            .find(|(r, _)| r.as_str() == region)
            .map(|(_, a)| a)
    }

    /// Number of regions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no region is given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The partitions of the regions, each once, in the order first seen.
    pub fn partitions(&self) -> Vec<Partition> {
        let mut seen = Vec::new();
        for region in self.0.keys() {
            let partition = region.partition();
            if !seen.contains(&partition) {
                seen.push(partition);
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in [
            "us-east-1",
            "us-gov-west-1",
            "ap-southeast-3",
            "il-central-1",
            "mx-central-1",
            "cn-northwest-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eusc-de-east-1",
            "eu-isoe-west-1",
            "us-isof-south-1",
        ] {
            assert!(Region::is_region_name(ok), "{ok}");
        }
        for bad in [
            "AMI",
            "64",
            "us-east",
            "us-eats-1",
            "US-EAST-1",
            "us-east-1 ",
            "useast1",
            "eu-west-123",
        ] {
            assert!(!Region::is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn one_region_per_partition() {
        for (region, partition) in [
            ("us-east-1", Partition::Aws),
            ("cn-northwest-1", Partition::AwsCn),
            ("eusc-de-east-1", Partition::AwsEusc),
            ("us-iso-east-1", Partition::AwsIso),
            ("us-isob-east-1", Partition::AwsIsoB),
            ("eu-isoe-west-1", Partition::AwsIsoE),
            ("us-isof-south-1", Partition::AwsIsoF),
            ("us-gov-west-1", Partition::AwsUsGov),
        ] {
            assert_eq!(Region::partition_of(region), Some(partition), "{region}");
            assert_eq!(
                Region::new(region).unwrap().partition().id(),
                partition.id()
            );
        }
        // Every partition of the table has a region above.
        assert_eq!(PARTITIONS.len(), 8);
        for bad in ["eusc-fr-east-1", "us-isoz-east-1", "xx-east-1", "cn-east"] {
            assert_eq!(Region::partition_of(bad), None, "{bad}");
        }
        let mixed = AmiSet::from_json(
            r#"{"us-east-1": "ami-0123456789abcdef0", "cn-north-1": "ami-0123456789abcdef1", "us-west-2": "ami-0123456789abcdef2"}"#,
        )
        .unwrap();
        assert_eq!(mixed.partitions(), [Partition::Aws, Partition::AwsCn]);
    }

    #[test]
    fn ami_ids() {
        assert!(AmiId::is_ami_id("ami-0123456789abcdef0"));
        assert!(AmiId::is_ami_id("ami-1853ac65"));
        assert!(!AmiId::is_ami_id("ami-2afbde4aXXX"));
        assert!(!AmiId::is_ami_id("ami-0123456789ABCDEF0"));
        assert!(!AmiId::is_ami_id("ami-0123456789abcdef"));
        assert!(!AmiId::is_ami_id(
            "{{resolve:ssm:/aws/service/ami-amazon-linux-latest/x}}"
        ));
    }

    #[test]
    fn parses_both_shapes_in_order() {
        let flat = AmiSet::from_json(
            r#"{"us-west-2":"ami-0123456789abcdef0","us-east-1":"ami-1853ac65"}"#,
        )
        .unwrap();
        let regions: Vec<_> = flat.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(regions, ["us-west-2", "us-east-1"]);
        let keyed = AmiSet::from_json(
            r#"{"us-east-1":{"AMD64":"ami-0123456789abcdef0","ARM64":"ami-0123456789abcdef1"}}"#,
        )
        .unwrap();
        match keyed.get("us-east-1").unwrap() {
            RegionAmis::Keyed(k) => assert_eq!(k.keys().collect::<Vec<_>>(), ["AMD64", "ARM64"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_bad_input_with_the_offending_value() {
        let err = AmiSet::from_json(r#"{"us-east-1": "ami-xyz"}"#).unwrap_err();
        assert!(
            err.to_string().contains("ami-xyz") && err.to_string().contains("us-east-1"),
            "{err}"
        );
        let err = AmiSet::from_json(r#"{"moon-1": "ami-0123456789abcdef0"}"#).unwrap_err();
        assert!(err.to_string().contains("moon-1"), "{err}");
        assert!(matches!(
            AmiSet::from_json("[1]"),
            Err(AmiInputError::Shape(_))
        ));
        assert!(matches!(
            AmiSet::from_json("{}"),
            Err(AmiInputError::Shape(_))
        ));
        assert!(matches!(
            AmiSet::from_json(r#"{"us-east-1": 5}"#),
            Err(AmiInputError::Shape(_))
        ));
        assert!(matches!(
            AmiSet::from_json(r#"{"us-east-1": {"A": 5}}"#),
            Err(AmiInputError::Shape(_))
        ));
        assert!(matches!(
            AmiSet::from_json("{\"us-east-1\": "),
            Err(AmiInputError::Json { line: 1, .. })
        ));
    }
}
