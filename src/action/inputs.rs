//! The action's inputs: read from `INPUT_*` variables with envy, the way GitHub passes them to a
//! container action (the name upper-cased, hyphens kept, and `""` for an input not given), then
//! checked and turned into config overrides. Inputs win over the config file.

use std::path::PathBuf;

use serde::Deserialize;
use serde_yaml::Value;

use crate::config::{Architecture, Override};
use crate::release::{Stage, Stages};
use secrecy::{ExposeSecret, SecretString};

/// An input that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("input `{input}`: {message}\n  help: {help}")]
pub struct InputError {
    /// The input's name.
    pub input: &'static str,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

impl From<InputError> for crate::diagnostic::Diagnostic {
    fn from(e: InputError) -> Self {
        crate::diagnostic::Diagnostic::new(crate::diagnostic::Kind::Input, e.message, e.help)
            .for_input(e.input)
    }
}

fn invalid(input: &'static str, message: impl Into<String>, help: impl Into<String>) -> InputError {
    InputError {
        input,
        message: message.into(),
        help: help.into(),
    }
}

/// The name of every input, as action.yml declares them.
pub const INPUT_NAMES: [&str; 22] = [
    "config",
    "version",
    "tag-prefix",
    "stages",
    "regions",
    "architecture",
    "base-ami",
    "instance-type",
    "build-script",
    "image",
    "public",
    "accounts",
    "dry-run",
    "rebuild",
    "token",
    "base",
    "branch",
    "labels",
    "reviewers",
    "draft",
    "manifest",
    "manifests",
];

/// The inputs as GitHub passes them; every one optional, `""` meaning absent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawInputs {
    config: Option<String>,
    version: Option<String>,
    tag_prefix: Option<String>,
    stages: Option<String>,
    regions: Option<String>,
    architecture: Option<String>,
    base_ami: Option<String>,
    instance_type: Option<String>,
    build_script: Option<String>,
    image: Option<String>,
    public: Option<String>,
    accounts: Option<String>,
    dry_run: Option<String>,
    rebuild: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    token: Option<SecretString>,
    base: Option<String>,
    branch: Option<String>,
    labels: Option<String>,
    reviewers: Option<String>,
    draft: Option<String>,
    manifest: Option<String>,
    manifests: Option<String>,
}

fn secret<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(de)?.map(SecretString::from))
}

impl RawInputs {
    /// Reads `INPUT_*` from the environment.
    pub fn from_env() -> Result<Self, InputError> {
        let vars = crate::release::env::utf8_vars("INPUT_")
            .map_err(|e| invalid("*", e.to_string(), "give the input UTF-8 text"))?;
        envy::prefixed("INPUT_")
            .from_iter::<_, RawInputs>(vars)
            .map_err(|e| invalid("*", e.to_string(), "check the step's `with:` block"))
    }
}

/// Every stage the action runs by default: build, verify, copy, publish (verify only when the
/// config has a `verify` section; submit is never part of `all`).
pub const ALL: [Stage; 4] = [Stage::Build, Stage::Verify, Stage::Copy, Stage::Publish];

/// The stages the `stages` input may name (the action regenerates no workspace templates: its
/// publish stage commits them).
pub const NAMED: [Stage; 5] = [
    Stage::Build,
    Stage::Verify,
    Stage::Copy,
    Stage::Publish,
    Stage::Submit,
];

/// The `stages` input, and whether it names `verify` itself (not only through `all`).
fn parse_stages(text: &str) -> Result<(Stages, bool), InputError> {
    let mut stages = Stages::NONE;
    let mut verify_named = false;
    for name in list(text) {
        if name == "all" {
            stages = ALL.into_iter().fold(stages, Stages::with);
            continue;
        }
        match Stage::from_name(&name).filter(|s| NAMED.contains(s)) {
            Some(stage) => {
                verify_named |= stage == Stage::Verify;
                stages = stages.with(stage);
            }
            None => return Err(invalid(
                "stages",
                format!("`{name}` is not a stage"),
                "use `all`, or some of `build`, `verify`, `copy`, `publish`, `submit` separated by commas",
            )),
        }
    }
    if stages.is_empty() {
        return Err(invalid(
            "stages",
            "no stage given",
            "use `all`, or some of `build`, `verify`, `copy`, `publish`, `submit`",
        ));
    }
    if stages.contains(Stage::Build)
        && !stages.contains(Stage::Copy)
        && stages.contains(Stage::Publish)
    {
        return Err(invalid(
            "stages",
            "`build` and `publish` without `copy` would publish an AMI that exists in one region only",
            "add `copy`, or use `all`",
        ));
    }
    Ok((stages, verify_named))
}

/// The checked inputs.
#[derive(Debug)]
pub struct ActionInputs {
    /// The config file, relative to the workspace.
    pub config: PathBuf,
    /// The version, when given.
    pub version: Option<String>,
    /// The stages to run (`verify` through `all` is dropped when the config has no `verify`
    /// section: see [`ActionInputs::verify_named`]).
    pub stages: Stages,
    /// Whether `stages` names `verify` itself: then a config without a `verify` section is an
    /// error, not a stage left out.
    pub verify_named: bool,
    /// The one architecture of this job, when given (matrix jobs).
    pub architecture: Option<Architecture>,
    /// Plan only: no AWS call, no GitHub write.
    pub dry_run: bool,
    /// Build even though this release's AMI name is taken, under a new name.
    pub rebuild: bool,
    /// The GitHub token (never printed, `Debug` included).
    pub token: Option<SecretString>,
    /// Where this job writes (or, for `copy` alone, reads) its manifest.
    pub manifest: Option<PathBuf>,
    /// The manifests a publish job reads: files, or directories of `*.json` files.
    pub manifests: Vec<PathBuf>,
    /// Inputs that replace config values.
    pub overrides: Vec<Override>,
}

/// Splits a list input: commas or line breaks, blanks dropped.
fn list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// GitHub's boolean inputs (the YAML 1.2 core schema, as `core.getBooleanInput` reads them).
fn boolean(input: &'static str, text: &str) -> Result<bool, InputError> {
    match text.trim() {
        "true" | "True" | "TRUE" => Ok(true),
        "false" | "False" | "FALSE" => Ok(false),
        other => Err(invalid(
            input,
            format!("`{other}` is not a boolean"),
            "use true or false",
        )),
    }
}

fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn strings(items: Vec<String>) -> Value {
    Value::Sequence(items.into_iter().map(Value::String).collect())
}

fn base_ami(text: &str) -> Result<Value, InputError> {
    let mut map = serde_yaml::Mapping::new();
    if text.starts_with("ami-") {
        map.insert("id".into(), text.into());
    } else if text.starts_with('/') || text.starts_with("resolve:ssm:") {
        map.insert("ssm".into(), text.into());
    } else if let Some((owner, name)) = text.split_once('/') {
        map.insert("owner".into(), owner.into());
        map.insert("name".into(), name.into());
    } else {
        return Err(invalid(
            "base-ami",
            format!("`{text}` is neither an AMI ID, an SSM parameter nor OWNER/NAME-PATTERN"),
            "use ami-0123456789abcdef0, /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64, or amazon/al2023-ami-2023.*-x86_64",
        ));
    }
    Ok(Value::Mapping(map))
}

/// The inputs that lay values over the config file, as overrides (taken out of `raw`).
fn overrides(raw: &mut RawInputs) -> Result<Vec<Override>, InputError> {
    let mut overrides = Vec::new();
    let mut set = |key: &'static [&'static str], input: &'static str, value: Value| {
        overrides.push(Override { key, input, value });
    };
    if let Some(regions) = given(raw.regions.take()) {
        let value = if regions == "all" {
            Value::String(regions)
        } else {
            strings(list(&regions))
        };
        set(&["regions"], "regions", value);
    }
    if let Some(text) = given(raw.base_ami.take()) {
        set(&["build", "base-ami"], "base-ami", base_ami(&text)?);
    }
    if let Some(text) = given(raw.instance_type.take()) {
        set(&["build", "instance-type"], "instance-type", text.into());
    }
    if let Some(text) = given(raw.build_script.take()) {
        set(&["build", "script"], "build-script", text.into());
    }
    if let Some(text) = given(raw.image.take()) {
        set(&["build", "image"], "image", text.into());
    }
    if let Some(text) = given(raw.public.take()) {
        set(
            &["sharing", "public"],
            "public",
            boolean("public", &text)?.into(),
        );
    }
    if let Some(text) = given(raw.accounts.take()) {
        set(&["sharing", "accounts"], "accounts", strings(list(&text)));
    }
    if let Some(text) = given(raw.tag_prefix.take()) {
        set(&["version", "tag-prefix"], "tag-prefix", text.into());
    }
    if let Some(text) = given(raw.base.take()) {
        set(&["pull-request", "base"], "base", text.into());
    }
    if let Some(text) = given(raw.branch.take()) {
        set(&["pull-request", "branch"], "branch", text.into());
    }
    if let Some(text) = given(raw.labels.take()) {
        set(&["pull-request", "labels"], "labels", strings(list(&text)));
    }
    if let Some(text) = given(raw.reviewers.take()) {
        set(
            &["pull-request", "reviewers"],
            "reviewers",
            strings(list(&text)),
        );
    }
    if let Some(text) = given(raw.draft.take()) {
        set(
            &["pull-request", "draft"],
            "draft",
            boolean("draft", &text)?.into(),
        );
    }
    Ok(overrides)
}

impl ActionInputs {
    /// Checks the raw inputs.
    pub fn parse(mut raw: RawInputs) -> Result<Self, InputError> {
        let overrides = overrides(&mut raw)?;
        let architecture = match given(raw.architecture).as_deref() {
            None => None,
            Some(name) => Some(Architecture::from_ec2_name(name).ok_or_else(|| {
                invalid(
                    "architecture",
                    format!("`{name}` is not an architecture"),
                    "use x86_64 or arm64 (EC2's names)",
                )
            })?),
        };
        let (stages, verify_named) = match given(raw.stages) {
            Some(text) => parse_stages(&text)?,
            None => (Stages::of(&ALL), false),
        };
        let manifests: Vec<PathBuf> = given(raw.manifests)
            .map(|text| list(&text).into_iter().map(PathBuf::from).collect())
            .unwrap_or_default();
        if !manifests.is_empty() && (stages.contains(Stage::Build) || stages.contains(Stage::Copy))
        {
            return Err(invalid(
                "manifests",
                "`manifests` is for publish and submit jobs, but this job also builds or copies",
                "set `stages: publish` (or `submit`) in the job that reads the manifests of other jobs",
            ));
        }
        Ok(Self {
            config: given(raw.config)
                .map_or_else(|| ".github/marketplace-release.yml".into(), PathBuf::from),
            version: given(raw.version),
            stages,
            verify_named,
            architecture,
            dry_run: given(raw.dry_run)
                .map(|t| boolean("dry-run", &t))
                .transpose()?
                .unwrap_or(false),
            rebuild: given(raw.rebuild)
                .map(|t| boolean("rebuild", &t))
                .transpose()?
                .unwrap_or(false),
            token: raw
                .token
                .map(|t| SecretString::from(t.expose_secret().trim().to_owned()))
                .filter(|t| !t.expose_secret().is_empty()),
            manifest: given(raw.manifest).map(PathBuf::from),
            manifests,
            overrides,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        envy::prefixed("INPUT_")
            .from_iter::<_, RawInputs>(
                pairs
                    .iter()
                    .map(|(k, v)| (format!("INPUT_{}", k.to_uppercase()), v.to_string())),
            )
            .unwrap()
    }

    #[test]
    fn every_input_name_fills_a_field() {
        let pairs: Vec<(&str, &str)> = INPUT_NAMES.iter().map(|n| (*n, "x")).collect();
        let debug = format!("{:?}", raw(&pairs));
        assert!(!debug.contains("None"), "{debug}");
        assert_eq!(debug.matches("Some(").count(), INPUT_NAMES.len());
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        // Issue 13: the input structs derive Debug, and the token sits in them.
        let token = "ghs_0123456789abcdefSECRET";
        let raw = raw(&[("token", token), ("version", "1.0")]);
        assert!(!format!("{raw:?}").contains(token));
        let inputs = ActionInputs::parse(raw).unwrap();
        assert!(inputs.token.is_some());
        assert!(!format!("{inputs:?}").contains(token), "{inputs:?}");
        assert!(!format!("{inputs:#?}").contains(token));
    }

    #[test]
    fn empty_inputs_are_absent_and_defaults_apply() {
        let inputs = ActionInputs::parse(raw(&[
            ("config", ""),
            ("dry-run", ""),
            ("regions", "  "),
            ("stages", ""),
        ]))
        .unwrap();
        assert_eq!(
            inputs.config,
            PathBuf::from(".github/marketplace-release.yml")
        );
        assert!(!inputs.dry_run);
        assert_eq!(inputs.stages, Stages::of(&ALL));
        assert!(inputs.overrides.is_empty());
    }

    #[test]
    fn hyphenated_inputs_become_overrides() {
        let inputs = ActionInputs::parse(raw(&[
            ("base-ami", "amazon/al2023-ami-2023.*-x86_64"),
            ("instance-type", "c7i.large"),
            ("regions", "us-east-1, eu-west-1\nap-south-1"),
            ("dry-run", "true"),
            ("labels", "release,marketplace"),
            ("stages", "build, copy"),
            ("architecture", "arm64"),
        ]))
        .unwrap();
        assert!(inputs.dry_run);
        assert_eq!(inputs.architecture, Some(Architecture::Arm64));
        assert_eq!(inputs.stages.describe(), "build, copy");
        let by_input = |name: &str| {
            inputs
                .overrides
                .iter()
                .find(|o| o.input == name)
                .map(|o| serde_yaml::to_string(&o.value).unwrap())
                .unwrap()
        };
        assert_eq!(
            by_input("regions"),
            "- us-east-1\n- eu-west-1\n- ap-south-1\n"
        );
        assert_eq!(
            by_input("base-ami"),
            "owner: amazon\nname: al2023-ami-2023.*-x86_64\n"
        );
        assert_eq!(by_input("instance-type"), "c7i.large\n");
        let inputs = ActionInputs::parse(raw(&[("image", " ami-0123456789abcdef0 ")])).unwrap();
        assert_eq!(inputs.overrides[0].key, ["build", "image"]);
        assert_eq!(
            inputs.overrides[0].value,
            Value::from("ami-0123456789abcdef0")
        );
    }

    #[test]
    fn verify_is_in_all_and_can_be_named() {
        let all = ActionInputs::parse(raw(&[("stages", "all")])).unwrap();
        assert!(all.stages.contains(Stage::Verify) && !all.verify_named);
        let named = ActionInputs::parse(raw(&[("stages", "build, verify, copy")])).unwrap();
        assert!(named.stages.contains(Stage::Verify) && named.verify_named);
        assert_eq!(named.stages.describe(), "build, verify, copy");
        let without = ActionInputs::parse(raw(&[("stages", "build, copy")])).unwrap();
        assert!(!without.stages.contains(Stage::Verify));
    }

    #[test]
    fn bad_inputs_name_the_input_and_the_fix() {
        for (pairs, expected) in [
            (
                vec![("dry-run", "yes")],
                "input `dry-run`: `yes` is not a boolean",
            ),
            (
                vec![("stages", "build, deploy")],
                "input `stages`: `deploy` is not a stage",
            ),
            (vec![("stages", "build,publish")], "without `copy`"),
            (vec![("architecture", "amd64")], "use x86_64 or arm64"),
            (vec![("base-ami", "al2023")], "OWNER/NAME-PATTERN"),
            (vec![("manifests", "a.json")], "set `stages: publish`"),
        ] {
            let error = ActionInputs::parse(raw(&pairs)).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
