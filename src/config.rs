//! The project config file (`.github/marketplace-release.yml` in the user's repository).
//!
//! Every key is documented in the README's config reference. Unknown keys are errors with a
//! "did you mean" hint, and every value that AWS or GitHub would reject later (regions, account
//! IDs, ARNs, instance types, paths outside the workspace) is rejected here, with the file,
//! line and column, before anything is created anywhere.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::ami::{AmiId, Region};
use crate::template::did_you_mean;
use crate::template::tree::{LineIndex, Location, Node};

/// A config file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// The key at fault, dotted (`build.script`, `regions.2`); empty when none.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

impl ConfigError {
    fn render(&self) -> String {
        let place = match self.location {
            Some(at) => format!("{}:{}:{}", self.path.display(), at.line, at.column),
            None => self.path.display().to_string(),
        };
        format!("{place}: {}\n  help: {}", self.message, self.help)
    }
}

/// The whole config. See the README's config reference for every key.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Config {
    /// The product being released.
    pub product: Product,
    /// Where the version comes from.
    #[serde(default)]
    pub version: VersionSource,
    /// Templates to regenerate.
    pub templates: Vec<TemplateTarget>,
    /// Regions the AMI is copied to and written into the templates.
    pub regions: Regions,
    /// How the AMI is built.
    pub build: Build,
    /// How the AMI is copied.
    #[serde(default)]
    pub copy: Copy,
    /// Who may launch the AMI.
    #[serde(default)]
    pub sharing: Sharing,
    /// The release pull request.
    #[serde(default)]
    pub pull_request: PullRequest,
    /// The AWS Marketplace product load form values.
    pub load_form: LoadForm,
    /// Submitting the version through the AWS Marketplace Catalog API; the `submit` stage is
    /// off unless this section exists.
    #[serde(default)]
    pub submit: Option<Submit>,
}

/// Target regions: a list, or `all` for every region enabled in the account (resolved with
/// DescribeRegions when copying).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Regions {
    /// Every region enabled in the account.
    AllEnabled,
    /// These regions.
    Listed(Vec<Region>),
}

impl Regions {
    /// The listed regions; empty for `all`.
    pub fn listed(&self) -> &[Region] {
        match self {
            Regions::AllEnabled => &[],
            Regions::Listed(regions) => regions,
        }
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
                } else {
                    Err(E::custom(format!(
                        "`{v}` is neither a list of regions nor `all`"
                    )))
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
                Ok(Regions::Listed(regions))
            }
        }
        deserializer.deserialize_any(RegionsVisitor)
    }
}

/// The product being released.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Product {
    /// Display name, used in titles.
    pub name: String,
    /// Marketplace product ID (`prod-…`), when known.
    #[serde(default)]
    pub id: Option<String>,
}

/// Where the release version comes from.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct VersionSource {
    /// Prefix stripped from a release tag (`v5.26.0` → `5.26.0`).
    #[serde(default = "default_tag_prefix")]
    pub tag_prefix: String,
}

impl Default for VersionSource {
    fn default() -> Self {
        Self {
            tag_prefix: default_tag_prefix(),
        }
    }
}

fn default_tag_prefix() -> String {
    "v".into()
}

/// One template to regenerate.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct TemplateTarget {
    /// Path relative to the workspace (the repository root).
    pub path: PathBuf,
    /// The AMI mapping; detected when absent.
    #[serde(default)]
    pub mapping: Option<String>,
    /// Mapping key per architecture (`x86_64: AMD64`, `arm64: ARM64`); when absent, each
    /// region's single key is used.
    #[serde(default)]
    pub keys: BTreeMap<Architecture, String>,
    /// The version parameter; detected when absent.
    #[serde(default)]
    pub version_parameter: Option<String>,
    /// Whether to write the version into the template.
    #[serde(default = "yes")]
    pub set_version: bool,
    /// Remove regions not in `regions`.
    #[serde(default)]
    pub prune: bool,
}

fn yes() -> bool {
    true
}

/// One action input laid over the config file.
#[derive(Debug, Clone)]
pub struct Override {
    /// The config key it replaces, as kebab-case steps (`["build", "instance-type"]`).
    pub key: &'static [&'static str],
    /// The input's name, for errors.
    pub input: &'static str,
    /// The value.
    pub value: serde_yaml::Value,
}

/// A CPU architecture, as EC2 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Intel and AMD.
    X86_64,
    /// Graviton.
    Arm64,
}

impl Architecture {
    /// The EC2 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// How the AMI is built.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Build {
    /// The region the builder runs in; Marketplace ingests from us-east-1.
    #[serde(default = "us_east_1")]
    pub region: Region,
    /// Architectures to build.
    #[serde(default = "default_architectures")]
    pub architectures: Vec<Architecture>,
    /// The base image.
    pub base_ami: BaseAmi,
    /// Builder instance type per architecture, or one for all.
    #[serde(default = "default_instance_type")]
    pub instance_type: String,
    /// The root volume.
    #[serde(default)]
    pub root_volume: RootVolume,
    /// Subnet for the builder; the default VPC when absent.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// Security group for the builder; the subnet's default when absent.
    #[serde(default)]
    pub security_group_id: Option<String>,
    /// The build script, relative to the workspace.
    pub script: PathBuf,
    /// How long the builder may run before it counts as hung (minutes, fractions allowed).
    #[serde(default = "default_build_timeout")]
    pub timeout_minutes: f64,
    /// The AMI name, a template with `version`, `architecture`, `product` and `date`.
    #[serde(default = "default_ami_name")]
    pub ami_name: String,
    /// The AMI description, a template like `ami-name`.
    #[serde(default)]
    pub ami_description: Option<String>,
    /// Tags on the builder, its volumes, the image and its snapshots.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn us_east_1() -> Region {
    Region::new("us-east-1").expect("valid region")
}

fn default_architectures() -> Vec<Architecture> {
    vec![Architecture::X86_64]
}

fn default_instance_type() -> String {
    "t3.medium".into()
}

fn default_build_timeout() -> f64 {
    45.0
}

fn default_ami_name() -> String {
    "{{ product | lower | replace(' ', '-') }}-{{ version }}-{{ architecture }}".into()
}

/// The base image: exactly one of `id`, `ssm`, or `owner` + `name`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct BaseAmi {
    /// An explicit AMI ID.
    #[serde(default)]
    pub id: Option<String>,
    /// An SSM parameter path (`/aws/service/ami-amazon-linux-latest/…`).
    #[serde(default)]
    pub ssm: Option<String>,
    /// Image owner (account ID or alias such as `amazon`) for a name filter.
    #[serde(default)]
    pub owner: Option<String>,
    /// Image name filter (`*` wildcards); the newest match is used.
    #[serde(default)]
    pub name: Option<String>,
}

/// The builder's root volume.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct RootVolume {
    /// Size in GiB.
    #[serde(default = "default_volume_size")]
    pub size_gib: u32,
    /// EBS volume type.
    #[serde(default = "default_volume_type")]
    pub r#type: String,
}

impl Default for RootVolume {
    fn default() -> Self {
        Self {
            size_gib: default_volume_size(),
            r#type: default_volume_type(),
        }
    }
}

fn default_volume_size() -> u32 {
    20
}

fn default_volume_type() -> String {
    "gp3".into()
}

/// How the AMI is copied to the regions.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Copy {
    /// Copies in flight at once.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: u32,
    /// How long one copy may take to become available (minutes, fractions allowed).
    #[serde(default = "default_copy_timeout")]
    pub timeout_minutes: f64,
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

fn default_concurrency() -> u32 {
    8
}

fn default_copy_timeout() -> f64 {
    90.0
}

/// Who may launch the AMI copies.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Sharing {
    /// Make every copy public.
    #[serde(default)]
    pub public: bool,
    /// AWS account IDs (12 digits).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Organization ARNs.
    #[serde(default)]
    pub organizations: Vec<String>,
    /// Organizational unit ARNs.
    #[serde(default)]
    pub organizational_units: Vec<String>,
    /// Also grant the accounts `createVolumePermission` on the snapshots.
    #[serde(default)]
    pub snapshot_permissions: bool,
}

/// The release pull request.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct PullRequest {
    /// Base branch; the repository's default branch when absent.
    #[serde(default)]
    pub base: Option<String>,
    /// Branch name, a template with `version` and `product`.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// Title, a template with `version` and `product`.
    #[serde(default = "default_title")]
    pub title: String,
    /// A replacement for the bundled `templates/pr-body.md.j2`, relative to the workspace.
    #[serde(default)]
    pub body_template: Option<PathBuf>,
    /// Labels to add.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Users to assign.
    #[serde(default)]
    pub assignees: Vec<String>,
    /// Users to ask for review.
    #[serde(default)]
    pub reviewers: Vec<String>,
    /// Teams to ask for review.
    #[serde(default)]
    pub team_reviewers: Vec<String>,
    /// Open the PR as a draft.
    #[serde(default)]
    pub draft: bool,
    /// Also commit the product load form values as a CSV file (one row per field) at this path
    /// in the repository, on the release branch.
    #[serde(default)]
    pub load_form_csv: Option<PathBuf>,
}

impl Default for PullRequest {
    fn default() -> Self {
        Self {
            base: None,
            branch: default_branch(),
            title: default_title(),
            body_template: None,
            labels: Vec::new(),
            assignees: Vec::new(),
            reviewers: Vec::new(),
            team_reviewers: Vec::new(),
            draft: false,
            load_form_csv: None,
        }
    }
}

fn default_branch() -> String {
    "marketplace-release/{{ version }}".into()
}

fn default_title() -> String {
    "Release {{ product }} {{ version }} on AWS Marketplace".into()
}

/// The values AWS's product load form asks for, shown in the PR body.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct LoadForm {
    /// Version title shown to buyers (at most 64 characters); a template with `version`.
    #[serde(default = "default_version_title")]
    pub version_title: String,
    /// Release notes; a template with `version`.
    pub release_notes: String,
    /// The IAM role Marketplace assumes to ingest the AMI.
    pub access_role_arn: String,
    /// The OS user buyers log in as.
    pub os_user_name: String,
    /// Operating system name, as the form lists it (`AMAZONLINUX`, `UBUNTU`, …).
    pub os_name: String,
    /// Operating system version.
    pub os_version: String,
    /// Recommended instance type.
    pub recommended_instance_type: String,
    /// Inbound rules buyers need.
    pub security_groups: Vec<SecurityGroupRule>,
    /// Usage instructions.
    pub usage_instructions: String,
    /// Where the released CloudFormation template is published.
    #[serde(default)]
    pub template_url: Option<String>,
    /// Architecture diagram URL.
    #[serde(default)]
    pub architecture_diagram_url: Option<String>,
}

fn default_version_title() -> String {
    "{{ version }}".into()
}

/// How the `submit` stage adds the version through the Catalog API.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Submit {
    /// `validate-then-apply` (default), `validate` or `apply`.
    #[serde(default)]
    pub intent: SubmitIntent,
    /// The port Marketplace's scanner uses to reach the AMI (AmiSource.ScanningPort).
    #[serde(default)]
    pub scanning_port: Option<u16>,
    /// Where buyers reach the running product (AccessEndpointUrl), when it has a web endpoint.
    #[serde(default)]
    pub access_endpoint: Option<AccessEndpoint>,
    /// How long `--wait` waits for the change set, in minutes.
    #[serde(default = "default_submit_minutes")]
    pub timeout_minutes: f64,
}

fn default_submit_minutes() -> f64 {
    120.0
}

/// Which change sets the `submit` stage starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubmitIntent {
    /// A VALIDATE change set, then, when it succeeds, an APPLY one.
    #[default]
    ValidateThenApply,
    /// Only VALIDATE: check the request without changing the product.
    Validate,
    /// Only APPLY.
    Apply,
}

/// The product's web endpoint, as the Catalog API's AccessEndpointUrl.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct AccessEndpoint {
    /// `http` or `https`.
    pub protocol: String,
    /// The port.
    pub port: u16,
    /// The path, starting with `/`.
    #[serde(default = "default_relative_path")]
    pub relative_path: String,
}

fn default_relative_path() -> String {
    "/".into()
}

/// One inbound rule for the product's security group.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct SecurityGroupRule {
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// First port.
    pub from_port: u16,
    /// Last port.
    pub to_port: u16,
    /// Source CIDR.
    pub cidr: String,
    /// What the rule is for.
    #[serde(default)]
    pub description: Option<String>,
}

static ACCOUNT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9]{12}$").expect("compiles"));
static ORG_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws[a-z-]*:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32}$")
        .expect("compiles")
});
static OU_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws[a-z-]*:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$").expect("compiles")
});
static ROLE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$")
        .expect("compiles")
});
static INSTANCE_TYPE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$").expect("compiles"));
static CIDR_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$|^[0-9a-fA-F:]+/[0-9]{1,3}$")
        .expect("compiles")
});
static LOGIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}(?:\[bot\])?$").expect("compiles")
});
static TEAM_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$").expect("compiles"));
static PRODUCT_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(prod-[a-z0-9]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
    )
    .expect("compiles")
});
static SUBNET_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^subnet-[0-9a-f]{8,17}$").expect("compiles"));
static SG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^sg-[0-9a-f]{8,17}$").expect("compiles"));

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            location: None,
            key: String::new(),
            message: format!("cannot read the config file: {e}"),
            help: "pass the path of your marketplace-release config with --config (for example .github/marketplace-release.yml)".into(),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates config `text`; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let error = |location, key: String, message: String, help: String| ConfigError {
            path: path.to_owned(),
            location,
            key,
            message,
            help,
        };
        // The located parse first: it bounds the nesting depth before serde_yaml's parse.
        let located = crate::template::located_yaml(text)
            .map_err(|e| error(e.location, String::new(), e.message, e.help))?;
        let deserializer = serde_yaml::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let at_path = e.path().to_string();
            let inner = e.into_inner();
            let location = inner.location().map(|l| Location {
                line: l.line(),
                column: l.column(),
            });
            let raw = inner.to_string();
            let message = raw.split(" at line ").next().unwrap_or(&raw);
            // serde_yaml prefixes its own path (`build: unknown field …`); ours is more precise.
            let message = match message.split_once(": ") {
                Some((prefix, rest))
                    if !prefix.contains(' ') && !at_path.is_empty() && at_path != "." =>
                {
                    rest
                }
                _ => message,
            }
            .to_owned();
            let help = unknown_name_hint(&message)
                .unwrap_or_else(|| "see the config reference in the README".into());
            let place = if at_path == "." || at_path.is_empty() {
                String::new()
            } else {
                format!("`{at_path}`: ")
            };
            let key = at_path.replace('[', ".").replace(']', "");
            error(location, key, format!("{place}{message}"), help)
        })?;
        let lines = LineIndex::new(text);
        let locate = |path: &[&str]| -> Option<Location> {
            let mut node: &Node = &located;
            for step in path {
                node = match step.parse::<usize>() {
                    Ok(i) => match &node.kind {
                        crate::template::tree::NodeKind::Seq { items, .. } => items.get(i)?,
                        _ => return None,
                    },
                    Err(_) => node.get(step)?,
                };
            }
            Some(lines.location(text, node.span.start))
        };
        config.validate().map_err(|(steps, message, help)| {
            let refs: Vec<&str> = steps.iter().map(String::as_str).collect();
            error(
                locate(&refs),
                steps.join("."),
                format!("`{}`: {message}", steps.join(".")),
                help,
            )
        })?;
        Ok(config)
    }

    /// Reads the config at `path` with `overrides` (the action's inputs) laid over it: inputs
    /// win. The file is read as it is (its own errors are located in it); each input then
    /// replaces one typed value, and the whole is checked again. An error in an overridden key
    /// names the input.
    pub fn load_with_overrides(path: &Path, overrides: &[Override]) -> Result<Self, ConfigError> {
        let mut config = Self::load(path)?;
        if overrides.is_empty() {
            return Ok(config);
        }
        let input_error = |o: &Override, message: String, help: String| ConfigError {
            path: path.to_owned(),
            location: None,
            key: o.key.join("."),
            message: format!("input `{}`: {message}", o.input),
            help: format!(
                "{help} (the input overrides `{}` of the config)",
                o.key.join(".")
            ),
        };
        for o in overrides {
            config.apply(o).map_err(|e| {
                input_error(
                    o,
                    e,
                    "give a value the config key accepts (see the README's config reference)"
                        .into(),
                )
            })?;
        }
        config.validate().map_err(|(steps, message, help)| {
            let key = steps.join(".");
            match overrides.iter().find(|o| {
                let overridden = o.key.join(".");
                key == overridden || key.starts_with(&format!("{overridden}."))
            }) {
                Some(o) => input_error(o, format!("`{key}`: {message}"), help),
                None => ConfigError {
                    path: path.to_owned(),
                    location: None,
                    message: format!("`{key}`: {message}"),
                    key,
                    help,
                },
            }
        })?;
        Ok(config)
    }

    /// Replaces the value `o` names with its value, typed as the config reads it.
    fn apply(&mut self, o: &Override) -> Result<(), String> {
        fn typed<T: serde::de::DeserializeOwned>(o: &Override) -> Result<T, String> {
            serde_yaml::from_value(o.value.clone()).map_err(|e| e.to_string())
        }
        match o.key {
            ["regions"] => self.regions = typed(o)?,
            ["build", "base-ami"] => self.build.base_ami = typed(o)?,
            ["build", "instance-type"] => self.build.instance_type = typed(o)?,
            ["build", "script"] => self.build.script = typed(o)?,
            ["sharing", "public"] => self.sharing.public = typed(o)?,
            ["sharing", "accounts"] => self.sharing.accounts = typed(o)?,
            ["version", "tag-prefix"] => self.version.tag_prefix = typed(o)?,
            ["pull-request", "base"] => self.pull_request.base = typed(o)?,
            ["pull-request", "branch"] => self.pull_request.branch = typed(o)?,
            ["pull-request", "labels"] => self.pull_request.labels = typed(o)?,
            ["pull-request", "reviewers"] => self.pull_request.reviewers = typed(o)?,
            ["pull-request", "draft"] => self.pull_request.draft = typed(o)?,
            other => return Err(format!("`{}` cannot be set by an input", other.join("."))),
        }
        Ok(())
    }

    /// Checks what serde cannot: formats AWS would reject, and combinations that make no sense.
    fn validate(&self) -> Result<(), (Vec<String>, String, String)> {
        type Failure = (Vec<String>, String, String);
        fn fail(path: &[&str], message: impl Into<String>, help: impl Into<String>) -> Failure {
            (
                path.iter().map(|s| s.to_string()).collect(),
                message.into(),
                help.into(),
            )
        }
        fn check_list(
            section: &str,
            key: &str,
            values: &[String],
            re: &Regex,
            what: &str,
            example: &str,
        ) -> Result<(), Failure> {
            match values.iter().enumerate().find(|(_, v)| !re.is_match(v)) {
                Some((i, value)) => Err(fail(
                    &[section, key, &i.to_string()],
                    format!("`{value}` is not {what}"),
                    format!("write it like {example}"),
                )),
                None => Ok(()),
            }
        }
        if self.product.name.trim().is_empty() {
            return Err(fail(
                &["product", "name"],
                "the product name is empty",
                "set product.name to the listing's name",
            ));
        }
        if self.templates.is_empty() {
            return Err(fail(
                &["templates"],
                "no templates are listed",
                "list at least one template under `templates:` with its `path`",
            ));
        }
        for (i, target) in self.templates.iter().enumerate() {
            let index = i.to_string();
            check_workspace_path(&target.path).map_err(|why| {
                fail(
                    &["templates", &index, "path"],
                    why,
                    "use a path relative to the repository root, without `..`",
                )
            })?;
            for arch in target.keys.keys() {
                if !self.build.architectures.contains(arch) {
                    return Err(fail(
                        &["templates", &index, "keys"],
                        format!(
                            "a key is given for {}, which build.architectures does not list",
                            arch.as_str()
                        ),
                        "add the architecture to build.architectures, or remove its key",
                    ));
                }
            }
            if self.build.architectures.len() > 1
                && target.keys.len() != self.build.architectures.len()
            {
                return Err(fail(&["templates", &index], "several architectures are built, but this template does not say which mapping key holds each", "add `keys:` with one mapping key per architecture, like `x86_64: AMD64` and `arm64: ARM64`"));
            }
        }
        if self.regions == Regions::Listed(Vec::new()) {
            return Err(fail(
                &["regions"],
                "no regions are listed",
                "list the regions to copy the AMI to; us-east-1 is where Marketplace ingests it",
            ));
        }
        let listed = self.regions.listed();
        for (i, region) in listed.iter().enumerate() {
            if listed[..i].contains(region) {
                return Err(fail(
                    &["regions", &i.to_string()],
                    format!("{region} is listed twice"),
                    "remove the duplicate",
                ));
            }
        }
        let home = self.build.region.partition();
        if let Some((i, region)) = listed
            .iter()
            .enumerate()
            .find(|(_, r)| r.partition() != home)
        {
            return Err(fail(
                &["regions", &i.to_string()],
                format!(
                    "{region} is in partition {}, but build.region {} is in {home}; an AMI is copied only within its partition, so a release targets only its own",
                    region.partition(),
                    self.build.region
                ),
                format!("remove {region} from regions (its row in a template is kept as it is); release to {} with a separate config whose build.region is there", region.partition()),
            ));
        }
        if !listed.is_empty() && !listed.iter().any(|r| r.as_str() == "us-east-1") {
            return Err(fail(
                &["regions"],
                "us-east-1 is not listed, but AWS Marketplace ingests AMIs only from us-east-1",
                "add us-east-1 to regions",
            ));
        }
        for (i, region) in self.copy.required_regions.iter().enumerate() {
            if !listed.is_empty() && !listed.contains(region) {
                return Err(fail(
                    &["copy", "required-regions", &i.to_string()],
                    format!("{region} is required but not in regions"),
                    "add it to regions or remove it here",
                ));
            }
        }
        if self.copy.max_concurrency == 0 || !valid_minutes(self.copy.timeout_minutes) {
            return Err(fail(
                &["copy"],
                "max-concurrency must be at least 1, and timeout-minutes above 0 and at most a day (1440)",
                "use positive numbers",
            ));
        }
        let b = &self.build;
        if b.architectures.is_empty() {
            return Err(fail(
                &["build", "architectures"],
                "no architectures are listed",
                "list x86_64, arm64 or both",
            ));
        }
        let base = &b.base_ami;
        match (&base.id, &base.ssm, &base.owner, &base.name) {
            (Some(id), None, None, None) => {
                AmiId::new(id, b.region.as_str()).map_err(|e| {
                    fail(
                        &["build", "base-ami", "id"],
                        e.to_string(),
                        "give the base AMI ID, like ami-0123456789abcdef0",
                    )
                })?;
            }
            (None, Some(ssm), None, None) => {
                let path = ssm.strip_prefix("resolve:ssm:").unwrap_or(ssm);
                if !path.starts_with('/') || path.contains(char::is_whitespace) {
                    return Err(fail(&["build", "base-ami", "ssm"], format!("`{ssm}` is not an SSM parameter path"), "write it like /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"));
                }
            }
            (None, None, Some(_), Some(name)) if !name.trim().is_empty() => {}
            _ => {
                return Err(fail(
                    &["build", "base-ami"],
                    "give exactly one of `id`, `ssm`, or `owner` with `name`",
                    "for example `owner: amazon` and `name: al2023-ami-2023.*-x86_64`",
                ));
            }
        }
        if !INSTANCE_TYPE_RE.is_match(&b.instance_type) {
            return Err(fail(
                &["build", "instance-type"],
                format!("`{}` is not an EC2 instance type", b.instance_type),
                "write it like t3.medium or m7g.large",
            ));
        }
        check_workspace_path(&b.script).map_err(|why| {
            fail(
                &["build", "script"],
                why,
                "use a path relative to the repository root, without `..`",
            )
        })?;
        if !valid_minutes(b.timeout_minutes) {
            return Err(fail(
                &["build", "timeout-minutes"],
                format!(
                    "the build timeout {} is not above 0 and at most a day (1440)",
                    b.timeout_minutes
                ),
                "use the number of minutes the build script may take (default 45)",
            ));
        }
        if b.root_volume.size_gib == 0
            || !["gp2", "gp3", "io1", "io2", "standard"].contains(&b.root_volume.r#type.as_str())
        {
            return Err(fail(&["build", "root-volume"], "the root volume needs a size of at least 1 GiB and a type of gp2, gp3, io1, io2 or standard", "for example `size-gib: 20` and `type: gp3`"));
        }
        if let Some(subnet) = &b.subnet_id {
            if !SUBNET_RE.is_match(subnet) {
                return Err(fail(
                    &["build", "subnet-id"],
                    format!("`{subnet}` is not a subnet ID"),
                    "write it like subnet-0123456789abcdef0",
                ));
            }
        }
        if let Some(sg) = &b.security_group_id {
            if !SG_RE.is_match(sg) {
                return Err(fail(
                    &["build", "security-group-id"],
                    format!("`{sg}` is not a security group ID"),
                    "write it like sg-0123456789abcdef0",
                ));
            }
        }
        check_list(
            "sharing",
            "accounts",
            &self.sharing.accounts,
            &ACCOUNT_RE,
            "a 12-digit AWS account ID",
            "123456789012",
        )?;
        check_list(
            "sharing",
            "organizations",
            &self.sharing.organizations,
            &ORG_RE,
            "an organization ARN",
            "arn:aws:organizations::123456789012:organization/o-abcdefghij",
        )?;
        check_list(
            "sharing",
            "organizational-units",
            &self.sharing.organizational_units,
            &OU_RE,
            "an organizational unit ARN",
            "arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34",
        )?;
        if self.sharing.snapshot_permissions && self.sharing.accounts.is_empty() {
            return Err(fail(
                &["sharing", "snapshot-permissions"],
                "snapshot permissions are asked for, but no accounts are listed",
                "list the accounts under sharing.accounts, or drop snapshot-permissions",
            ));
        }
        if let Some(body) = &self.pull_request.body_template {
            check_workspace_path(body).map_err(|why| {
                fail(
                    &["pull-request", "body-template"],
                    why,
                    "use a path relative to the repository root, without `..`",
                )
            })?;
        }
        if let Some(csv) = &self.pull_request.load_form_csv {
            check_workspace_path(csv).map_err(|why| {
                fail(
                    &["pull-request", "load-form-csv"],
                    why,
                    "use a path relative to the repository root, without `..`",
                )
            })?;
        }
        // One commit writes each path once: a path listed twice would lose one of its changes.
        let normal = |p: &Path| {
            p.components()
                .filter(|c| *c != Component::CurDir)
                .collect::<PathBuf>()
        };
        let mut seen: Vec<PathBuf> = Vec::new();
        for (i, target) in self.templates.iter().enumerate() {
            let path = normal(&target.path);
            if seen.contains(&path) {
                return Err(fail(
                    &["templates", &i.to_string(), "path"],
                    format!("`{}` is listed twice", target.path.display()),
                    "list each template once; use keys for several architectures in one template",
                ));
            }
            seen.push(path);
        }
        if let Some(csv) = &self.pull_request.load_form_csv {
            if seen.contains(&normal(csv)) {
                return Err(fail(
                    &["pull-request", "load-form-csv"],
                    format!("`{}` is also a template", csv.display()),
                    "give the CSV its own path",
                ));
            }
        }
        check_pull_request_names(&self.pull_request)?;
        let form = &self.load_form;
        if !ROLE_RE.is_match(&form.access_role_arn) {
            return Err(fail(&["load-form", "access-role-arn"], format!("`{}` is not an IAM role ARN", form.access_role_arn), "give the ARN of the role with the AWSMarketplaceAmiIngestion policy, like arn:aws:iam::123456789012:role/MarketplaceAmiIngestion"));
        }
        if !INSTANCE_TYPE_RE.is_match(&form.recommended_instance_type) {
            return Err(fail(
                &["load-form", "recommended-instance-type"],
                format!(
                    "`{}` is not an EC2 instance type",
                    form.recommended_instance_type
                ),
                "write it like r6i.large",
            ));
        }
        if form.security_groups.is_empty() || form.security_groups.len() > 25 {
            return Err(fail(
                &["load-form", "security-groups"],
                "Marketplace needs 1 to 25 security group rules",
                "list the inbound rules buyers need, such as SSH or the product's ports",
            ));
        }
        for (i, rule) in form.security_groups.iter().enumerate() {
            let at = ["load-form", "security-groups", &i.to_string()].map(str::to_owned);
            let at: Vec<&str> = at.iter().map(String::as_str).collect();
            if !["tcp", "udp", "icmp"].contains(&rule.protocol.as_str()) {
                return Err(fail(
                    &at,
                    format!("protocol `{}` is not tcp, udp or icmp", rule.protocol),
                    "use tcp, udp or icmp",
                ));
            }
            if rule.from_port > rule.to_port {
                return Err(fail(
                    &at,
                    format!(
                        "from-port {} is above to-port {}",
                        rule.from_port, rule.to_port
                    ),
                    "swap the ports",
                ));
            }
            if !CIDR_RE.is_match(&rule.cidr) {
                return Err(fail(
                    &at,
                    format!("`{}` is not a CIDR block", rule.cidr),
                    "write it like 0.0.0.0/0 or 10.0.0.0/16",
                ));
            }
        }
        if let Some(submit) = &self.submit {
            let id_ok = self
                .product
                .id
                .as_deref()
                .is_some_and(|id| PRODUCT_ID_RE.is_match(id));
            if !id_ok {
                return Err(fail(
                    &["product", "id"],
                    "the submit stage needs the product ID",
                    "set product.id to the product's ID as the Marketplace Management Portal shows it (prod-…)",
                ));
            }
            if !valid_minutes(submit.timeout_minutes) {
                return Err(fail(
                    &["submit", "timeout-minutes"],
                    format!(
                        "{} is not a number of minutes between 0 and 1440",
                        submit.timeout_minutes
                    ),
                    "give the minutes --wait may wait, like 120",
                ));
            }
            if let Some(endpoint) = &submit.access_endpoint {
                if !["http", "https"].contains(&endpoint.protocol.as_str())
                    || !endpoint.relative_path.starts_with('/')
                {
                    return Err(fail(
                        &["submit", "access-endpoint"],
                        format!(
                            "`{}://…:{}{}` is not an access endpoint",
                            endpoint.protocol, endpoint.port, endpoint.relative_path
                        ),
                        "use protocol http or https and a relative-path starting with /",
                    ));
                }
            }
        }
        for (key, value) in [
            ("template-url", &form.template_url),
            ("architecture-diagram-url", &form.architecture_diagram_url),
        ] {
            if let Some(url) = value {
                if !url.starts_with("https://") {
                    return Err(fail(
                        &["load-form", key],
                        format!("`{url}` is not an https:// URL"),
                        "give the public https:// address",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A timeout in minutes: finite, positive, at most a day.
fn valid_minutes(minutes: f64) -> bool {
    minutes.is_finite() && minutes > 0.0 && minutes <= 1440.0
}

/// Labels, users and teams must be names GitHub accepts, or the PR would be opened without
/// them. Errors are (path, message, help), as [`Config::validate`] returns them.
fn check_pull_request_names(pr: &PullRequest) -> Result<(), (Vec<String>, String, String)> {
    let fail = |key: &str, i: usize, message: String, help: &str| {
        (
            vec!["pull-request".to_owned(), key.to_owned(), i.to_string()],
            message,
            help.to_owned(),
        )
    };
    for (i, label) in pr.labels.iter().enumerate() {
        if label.trim().is_empty() || label.chars().count() > 50 {
            return Err(fail(
                "labels",
                i,
                format!("`{label}` is not a GitHub label name (1 to 50 characters)"),
                "give the label's name as it appears in the repository",
            ));
        }
    }
    for (key, names) in [("assignees", &pr.assignees), ("reviewers", &pr.reviewers)] {
        for (i, login) in names.iter().enumerate() {
            if !LOGIN_RE.is_match(login) {
                return Err(fail(
                    key,
                    i,
                    format!("`{login}` is not a GitHub user name"),
                    "give the login without `@`, like octocat",
                ));
            }
        }
    }
    for (i, team) in pr.team_reviewers.iter().enumerate() {
        if !TEAM_RE.is_match(team) {
            return Err(fail(
                "team-reviewers",
                i,
                format!("`{team}` is not a team slug"),
                "give the team's slug without the organisation, like release-managers",
            ));
        }
    }
    Ok(())
}

/// A config path must stay inside the workspace: relative, without `..`.
pub fn check_workspace_path(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("the path is empty".into());
    }
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "`{}` leaves the workspace through `..`",
                    path.display()
                ))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("`{}` is absolute", path.display()))
            }
        }
    }
    Ok(())
}

/// "did you mean" for serde's unknown-field and unknown-variant messages, which list the
/// expected names: "unknown field `regoins`, expected one of `product`, `regions`, …".
fn unknown_name_hint(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (wanted, expected) = rest.split_once('`')?;
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    Some(match did_you_mean(wanted, names.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if names.is_empty() => "remove it; no keys are allowed here".into(),
        None => format!("remove it or use one of: {}", names.join(", ")),
    })
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// A small valid config for unit tests.
    pub(crate) const MINIMAL: &str = r#"product:
  name: Example Product
templates:
  - path: cloudformation/product.template.yaml
regions: [us-east-1, eu-west-1]
build:
  base-ami: {owner: amazon, name: al2023-ami-2023.*-x86_64}
  script: build/install.sh
load-form:
  release-notes: Fixes.
  access-role-arn: arn:aws:iam::123456789012:role/MarketplaceAmiIngestion
  os-user-name: ec2-user
  os-name: AMAZONLINUX
  os-version: "2023"
  recommended-instance-type: t3.large
  security-groups:
    - {protocol: tcp, from-port: 22, to-port: 22, cidr: 0.0.0.0/0}
  usage-instructions: Open port 22.
"#;
}

#[cfg(test)]
mod tests {
    use super::tests_support::MINIMAL;
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("cfg.yml"))
    }

    #[test]
    fn inputs_replace_typed_values_and_leave_the_rest_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yml");
        std::fs::write(
            &path,
            MINIMAL.replace("os-version: \"2023\"", "os-version: 22.10"),
        )
        .unwrap();
        let labels = Override {
            key: &["pull-request", "labels"],
            input: "labels",
            value: serde_yaml::from_str("[release]").unwrap(),
        };
        let config = Config::load_with_overrides(&path, std::slice::from_ref(&labels)).unwrap();
        assert_eq!(config.load_form.os_version, "22.10");
        assert_eq!(config.pull_request.labels, ["release"]);
        let bad = Override {
            key: &["build", "instance-type"],
            input: "instance-type",
            value: "large".into(),
        };
        let error = Config::load_with_overrides(&path, &[bad])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("input `instance-type`: `build.instance-type`"),
            "{error}"
        );
        let region = Override {
            key: &["regions"],
            input: "regions",
            value: serde_yaml::from_str("[us-east-1, mars-north-1]").unwrap(),
        };
        let error = Config::load_with_overrides(&path, &[region])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("input `regions`: ") && error.contains("mars-north-1"),
            "{error}"
        );
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.build.region.as_str(), "us-east-1");
        assert_eq!(config.build.timeout_minutes, 45.0);
        assert_eq!(config.version.tag_prefix, "v");
        assert_eq!(config.copy.max_concurrency, 8);
        assert!(config.templates[0].set_version);
    }

    #[test]
    fn unknown_keys_suggest_the_right_one_with_a_location() {
        let err = parse(&MINIMAL.replace("regions:", "regoins:")).unwrap_err();
        assert!(err.to_string().contains("did you mean `regions`"), "{err}");
        assert_eq!(err.location.map(|l| l.line), Some(5), "{err}");
        let err = parse(&MINIMAL.replace("  script:", "  scirpt:")).unwrap_err();
        assert!(err.to_string().contains("did you mean `script`"), "{err}");
        assert!(err.to_string().contains("`build.scirpt`"), "{err}");
    }

    #[test]
    fn regions_stay_in_build_regions_partition_and_nesting_is_bounded() {
        let err = parse(&MINIMAL.replace("eu-west-1]", "eusc-de-east-1]")).unwrap_err();
        assert_eq!(err.key, "regions.1", "{err}");
        assert!(err.message.contains("partition aws-eusc"), "{err}");
        assert_eq!(err.location.map(|l| l.line), Some(5), "{err}");
        let deep = format!("{MINIMAL}x: {}\n", "[".repeat(200_000));
        let started = std::time::Instant::now();
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nest more than"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn bad_values_are_located() {
        let err = parse(&MINIMAL.replace("eu-west-1]", "eu-wets-1]")).unwrap_err();
        assert!(err.to_string().contains("eu-wets-1"), "{err}");
        let err = parse(&MINIMAL.replace("role/MarketplaceAmiIngestion", "user/x")).unwrap_err();
        assert_eq!(err.location.map(|l| l.line), Some(11), "{err}");
        assert!(
            err.to_string().contains("load-form.access-role-arn"),
            "{err}"
        );
        let err = parse(&MINIMAL.replace("build/install.sh", "../outside.sh")).unwrap_err();
        assert!(err.to_string().contains("leaves the workspace"), "{err}");
        let err =
            parse(&MINIMAL.replace("regions: [us-east-1, eu-west-1]", "regions: [eu-west-1]"))
                .unwrap_err();
        assert!(err.to_string().contains("us-east-1"), "{err}");
        let with_accounts = MINIMAL.replace(
            "load-form:",
            "sharing:\n  accounts: ['123456789012', '12345']\nload-form:",
        );
        let err = parse(&with_accounts).unwrap_err();
        assert!(
            err.to_string().contains("`12345`") && err.to_string().contains("sharing.accounts.1"),
            "{err}"
        );
    }

    #[test]
    fn timeouts_must_be_finite_positive_minutes() {
        for bad in ["0", "-1", ".inf", ".nan", "2000"] {
            let text = MINIMAL.replace(
                "  script: build/install.sh",
                &format!("  script: build/install.sh\n  timeout-minutes: {bad}"),
            );
            let err = parse(&text).unwrap_err();
            assert!(
                err.to_string().contains("build.timeout-minutes"),
                "{bad}: {err}"
            );
        }
        let text = MINIMAL.replace(
            "  script: build/install.sh",
            "  script: build/install.sh\n  timeout-minutes: 0.5",
        );
        assert_eq!(parse(&text).unwrap().build.timeout_minutes, 0.5);
    }

    #[test]
    fn regions_are_a_list_or_all() {
        let all =
            parse(&MINIMAL.replace("regions: [us-east-1, eu-west-1]", "regions: all")).unwrap();
        assert_eq!(all.regions, Regions::AllEnabled);
        let err = parse(&MINIMAL.replace("regions: [us-east-1, eu-west-1]", "regions: every"))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("neither a list of regions nor `all`"),
            "{err}"
        );
    }

    #[test]
    fn base_ami_needs_exactly_one_source() {
        let err = parse(&MINIMAL.replace(
            "{owner: amazon, name: al2023-ami-2023.*-x86_64}",
            "{id: ami-0123456789abcdef0, owner: amazon}",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("exactly one"), "{err}");
    }
}
