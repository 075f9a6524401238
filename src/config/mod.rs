//! The project config file (`.github/marketplace-release.yml` in the user's repository).
//!
//! The config is types, one file per section, each value checking itself while the YAML is
//! read:
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | [`Config`], reading (`load`, `parse`), action input overrides, [`ConfigError`] |
//! | `types.rs` | values several sections share: account IDs, ARNs, instance types, CIDRs, URLs, workspace paths, minutes, templates |
//! | `product.rs` | `product`, `version`, `templates` |
//! | `build.rs` | `build`: architectures, the base image, the root volume |
//! | `sharing.rs` | `regions`, `copy`, `sharing` |
//! | `pull_request.rs` | `pull-request`: labels, users, teams |
//! | `load_form.rs` | `load-form`: security group rules, protocols |
//! | `submit.rs` | `submit`: intent, access endpoint |
//! | `verify.rs` | `verify`: the test instance, its checks, what a failure does |
//! | `verify_stack.rs` | `verify.stack`: the test stack's region, service role, template, parameters (secrets from the environment) |
//! | `validate.rs` | the rules between keys, checked once everything is read |
//! | `schema.rs` | the JSON Schema, derived from the types (`schema/marketplace-release.schema.json`) |
//! | `reference.rs` | the README's config reference, rendered from the schema |
//! | `starter.rs` | the starter config `init` writes from the repository's templates |
//!
//! Unknown keys are errors with a "did you mean" hint, and every value that AWS or GitHub would
//! reject later (regions, account IDs, ARNs, instance types, CIDRs, paths outside the
//! workspace) is rejected with the file, line and column, before anything is created anywhere.
//! A value's check gives its message and its help in one serde error (see
//! [`types::HELP_MARKER`]); [`Config::parse`] splits them into a [`ConfigError`]. serde_yaml is
//! used only in this module (and for the inputs' override values).

mod build;
mod load_form;
mod product;
mod pull_request;
pub mod reference;
pub mod root;
pub mod schema;
mod sharing;
pub mod starter;
mod submit;
pub mod types;
mod validate;
mod verify;
pub mod verify_stack;

use std::path::{Path, PathBuf};

pub use build::{Architecture, BaseAmi, Build, RootVolume, Source, SsmParameter, VolumeType};
pub use load_form::{catalog_groups, CatalogGroup, IpProtocol, LoadForm, SecurityGroupRule};
pub use product::{Product, ProductId, TemplateTarget, VersionSource};
pub use pull_request::{Label, Login, PullRequest, TeamSlug};
pub use root::Config;
pub use sharing::{Copy, Regions, Sharing};
pub use submit::{AccessEndpoint, EndpointProtocol, RelativePath, Submit, SubmitIntent};
pub use types::{
    check_workspace_path, strings, AccountId, AtLeastOne, Cidr, HttpsUrl, InstanceType, Minutes,
    OrganizationArn, OrganizationalUnitArn, RoleArn, SecurityGroupId, SubnetId, Template,
    WorkspacePath,
};
pub use verify::{OnFailure, SystemdUnit, Verify};

use crate::diagnostic::{did_you_mean, Diagnostic, Kind, Location, Subject};
use crate::template::tree::{LineIndex, Node};

/// A config file could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", Diagnostic::from(self.clone()))]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// The action input that set the value at fault, when one did.
    pub input: Option<String>,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// The key at fault, dotted (`build.script`, `regions.2`); empty when none.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

impl From<ConfigError> for Diagnostic {
    fn from(e: ConfigError) -> Self {
        let subject = match &e.input {
            Some(name) => Subject::Input(name.clone()),
            None => Subject::File {
                path: e.path.display().to_string(),
                location: e.location,
            },
        };
        Diagnostic {
            kind: Kind::Config,
            subject,
            message: e.message,
            help: e.help,
        }
    }
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

/// The help when a serde error brings none: the reference lists every key and its type.
const REFERENCE_HELP: &str = "see the config reference in the README";

/// Splits the text of a serde_yaml error into message and help: drops serde_yaml's location
/// suffix (the location is kept apart) and its own path prefix (`at_path` is more precise),
/// takes the help a value's check put after [`types::HELP_MARKER`], and otherwise derives one
/// ("did you mean …" for unknown keys and variants).
fn message_and_help(raw: &str, at_path: &str, located: bool) -> (String, String) {
    let message = match raw.rsplit_once(" at line ") {
        Some((message, _)) if located => message,
        _ => raw,
    };
    let message = match message.split_once(": ") {
        Some((prefix, rest)) if !prefix.contains(' ') && !at_path.is_empty() && at_path != "." => {
            rest
        }
        _ => message,
    };
    let (message, help) = types::split_help(message);
    let help = help
        .map(str::to_owned)
        .or_else(|| unknown_name_hint(message))
        .unwrap_or_else(|| REFERENCE_HELP.into());
    (message.to_owned(), help)
}

// A config error is made at most once per run, before anything else happens: its size (the
// path, key, message and help it carries) costs nothing worth boxing it for.
#[allow(clippy::result_large_err)]
impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_owned(),
            input: None,
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
            input: None,
            location,
            key,
            message,
            help,
        };
        // The located parse first: it bounds the nesting depth before serde_yaml's parse, whose
        // time grows with the square of the depth. Values are then located in that tree by
        // their key: serde_yaml's own location for an error raised by a value's check lags
        // behind (it points at an earlier key).
        let located = crate::template::located_yaml(text)
            .map_err(|e| error(e.location, String::new(), e.message, e.help))?;
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
        let deserializer = serde_yaml::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let at_path = e.path().to_string();
            let inner = e.into_inner();
            let serde_location = inner.location().map(|l| Location {
                line: l.line(),
                column: l.column(),
            });
            let (message, help) =
                message_and_help(&inner.to_string(), &at_path, serde_location.is_some());
            let key = match at_path.as_str() {
                "." => String::new(),
                path => path.replace('[', ".").replace(']', ""),
            };
            let place = match key.as_str() {
                "" => String::new(),
                key => format!("`{key}`: "),
            };
            // An unknown key is where serde_yaml stopped: on the key itself, which the tree
            // cannot find under its own name.
            let location = if message.starts_with("unknown field") || key.is_empty() {
                serde_location
            } else {
                let steps: Vec<&str> = key.split('.').collect();
                locate(&steps).or(serde_location)
            };
            error(location, key, format!("{place}{message}"), help)
        })?;
        validate::validate(&config).map_err(|failure| {
            let refs: Vec<&str> = failure.steps.iter().map(String::as_str).collect();
            let key = failure.steps.join(".");
            error(
                locate(&refs),
                key.clone(),
                format!("`{key}`: {}", failure.message),
                failure.help,
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
            input: Some(o.input.to_owned()),
            message,
            help: format!(
                "{help} (the input overrides `{}` of the config)",
                o.key.join(".")
            ),
        };
        for o in overrides {
            config.apply(o).map_err(|(message, help)| {
                let help = help.unwrap_or_else(|| {
                    "give a value the config key accepts (see the README's config reference)".into()
                });
                input_error(o, format!("`{}`: {message}", o.key.join(".")), help)
            })?;
        }
        validate::validate(&config).map_err(|failure| {
            let key = failure.steps.join(".");
            let message = format!("`{key}`: {}", failure.message);
            match overrides.iter().find(|o| {
                let overridden = o.key.join(".");
                key == overridden || key.starts_with(&format!("{overridden}."))
            }) {
                Some(o) => input_error(o, message, failure.help),
                None => ConfigError {
                    path: path.to_owned(),
                    input: None,
                    location: None,
                    message,
                    key,
                    help: failure.help,
                },
            }
        })?;
        Ok(config)
    }

    /// Replaces the value `o` names with its value, typed (and so checked) as the config
    /// reads it. Errors are the message and, when the value's check gave one, the help.
    fn apply(&mut self, o: &Override) -> Result<(), (String, Option<String>)> {
        fn typed<T: serde::de::DeserializeOwned>(
            o: &Override,
        ) -> Result<T, (String, Option<String>)> {
            serde_yaml::from_value(o.value.clone()).map_err(|e| {
                let text = e.to_string();
                let (message, help) = types::split_help(&text);
                (message.to_owned(), help.map(str::to_owned))
            })
        }
        match o.key {
            ["regions"] => self.regions = typed(o)?,
            ["build", "base-ami"] => self.build.base_ami = Some(typed(o)?),
            ["build", "image"] => {
                // The input starts from that image instead of the configured build.
                self.build.image = build::existing_image(o.value.clone()).map_err(|e| {
                    let text = e.to_string();
                    let (message, help) = types::split_help(&text);
                    (message.to_owned(), help.map(str::to_owned))
                })?;
                self.build.base_ami = None;
                self.build.script = None;
            }
            ["build", "instance-type"] => self.build.instance_type = typed(o)?,
            ["build", "script"] => self.build.script = Some(typed(o)?),
            ["sharing", "public"] => self.sharing.public = typed(o)?,
            ["sharing", "accounts"] => self.sharing.accounts = typed(o)?,
            ["version", "tag-prefix"] => self.version.tag_prefix = typed(o)?,
            ["pull-request", "base"] => self.pull_request.base = typed(o)?,
            ["pull-request", "branch"] => self.pull_request.branch = typed(o)?,
            ["pull-request", "labels"] => self.pull_request.labels = typed(o)?,
            ["pull-request", "reviewers"] => self.pull_request.reviewers = typed(o)?,
            ["pull-request", "draft"] => self.pull_request.draft = typed(o)?,
            other => {
                return Err((
                    format!("`{}` cannot be set by an input", other.join(".")),
                    None,
                ))
            }
        }
        Ok(())
    }
}

/// Where the value of the dotted `key` (`templates.0.keys.x86_64`) is in the config `text`,
/// for errors found after reading (a key no template has, a template that does not render).
pub fn locate_key(text: &str, key: &str) -> Option<Location> {
    let located = crate::template::located_yaml(text).ok()?;
    let mut node: &Node = &located;
    for step in key.split('.') {
        node = match step.parse::<usize>() {
            Ok(i) => match &node.kind {
                crate::template::tree::NodeKind::Seq { items, .. } => items.get(i)?,
                _ => return None,
            },
            Err(_) => node.get(step)?,
        };
    }
    Some(LineIndex::new(text).location(text, node.span.start))
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

    #[allow(clippy::result_large_err)]
    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("cfg.yml"))
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
    fn a_product_name_with_a_control_character_is_refused() {
        // A newline would start a shell command in the builder's user-data (issue 13).
        let err = parse(&MINIMAL.replace("name: Example Product", "name: \"Example\\npoweroff\""))
            .unwrap_err();
        assert_eq!(err.key, "product.name", "{err}");
        assert!(err.message.contains("control character"), "{err}");
        assert!(err.help.contains("one line"), "{err}");
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
        assert!(config.templates[0].writes_version());
        assert!(!config.templates[0].version_required());
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
                .contains("neither a list of regions, `all` nor `template`"),
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

    /// `build.image` releases an existing AMI: instead of base-ami and script, never with
    /// them; without it both are needed. The `image` input replaces the configured build.
    #[test]
    fn an_existing_image_replaces_base_ami_and_script() {
        let image_only = MINIMAL.replace(
            "  base-ami: {owner: amazon, name: al2023-ami-2023.*-x86_64}\n  script: build/install.sh\n",
            "  image: ami-0123456789abcdef0\n",
        );
        let config = parse(&image_only).unwrap();
        assert!(
            matches!(config.build.source(), Some(Source::Image(id)) if id.as_str() == "ami-0123456789abcdef0")
        );
        assert!(config.build.script().is_none());
        let both = MINIMAL.replace(
            "  script: build/install.sh\n",
            "  script: build/install.sh\n  image: ami-0123456789abcdef0\n",
        );
        let err = parse(&both).unwrap_err();
        assert_eq!(err.key, "build.base-ami");
        assert!(
            err.message.contains("released as it is")
                && err.help.contains("drop base-ami and script"),
            "{err}"
        );
        let no_script = MINIMAL.replace("  script: build/install.sh\n", "");
        let err = parse(&no_script).unwrap_err();
        assert!(
            err.message.contains("no script") && err.help.contains("image: ami-"),
            "{err}"
        );
        let err = parse(&image_only.replace("ami-0123456789abcdef0", "ami-12")).unwrap_err();
        assert!(
            err.to_string().contains("`ami-12` is not an AMI ID"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg.yml");
        std::fs::write(&path, MINIMAL).unwrap();
        let input = Override {
            key: &["build", "image"],
            input: "image",
            value: "ami-0123456789abcdef1".into(),
        };
        let config = Config::load_with_overrides(&path, &[input]).unwrap();
        assert!(
            matches!(config.build.source(), Some(Source::Image(id)) if id.as_str() == "ami-0123456789abcdef1")
        );
        let bad = Override {
            key: &["build", "image"],
            input: "image",
            value: "ami-XYZ".into(),
        };
        let error = Config::load_with_overrides(&path, &[bad])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("input `image`") && error.contains("`ami-XYZ` is not an AMI ID"),
            "{error}"
        );
    }

    #[test]
    fn an_impossible_cidr_is_refused_where_it_is_written() {
        // The old pattern check took any four numbers and any prefix length.
        let err = parse(&MINIMAL.replace("cidr: 0.0.0.0/0", "cidr: 999.1.1.1/99")).unwrap_err();
        assert_eq!(err.key, "load-form.security-groups.0.cidr");
        assert_eq!(
            err.message,
            "`load-form.security-groups.0.cidr`: `999.1.1.1/99` is not a CIDR block"
        );
        assert_eq!(
            err.help,
            "write it like 0.0.0.0/0 or 10.0.0.0/16 (IPv6: ::/0)"
        );
        let at = err.location.expect("located");
        assert_eq!((at.line, at.column), (17, 57), "{err}");
        assert!(
            err.to_string().starts_with("cfg.yml:17:57: "),
            "the file, line and column come first: {err}"
        );
    }

    #[test]
    fn value_checks_keep_their_help_and_point_at_the_value() {
        let err = parse(&MINIMAL.replace("t3.large", "large")).unwrap_err();
        assert_eq!(err.key, "load-form.recommended-instance-type");
        assert_eq!(err.help, "write it like t3.medium or m7g.large");
        let at = err.location.unwrap();
        assert_eq!((at.line, at.column), (15, 30), "{err}");
        let err = parse(&MINIMAL.replace(
            "load-form:",
            "pull-request:\n  labels: [release, ' ']\nload-form:",
        ))
        .unwrap_err();
        assert_eq!(err.key, "pull-request.labels.1");
        assert_eq!(
            err.help,
            "give the label's name as it appears in the repository"
        );
        let err = parse(&MINIMAL.replace(
            "  release-notes: Fixes.",
            "  release-notes: \"{{ version \"",
        ))
        .unwrap_err();
        assert!(err.message.contains("is not a valid template"), "{err}");
        assert_eq!(err.location.map(|l| l.line), Some(10), "{err}");
        // A value of the wrong shape still gets the reference as its help.
        let err = parse(&MINIMAL.replace("regions: [us-east-1, eu-west-1]", "regions: {a: 1}"))
            .unwrap_err();
        assert_eq!(err.help, REFERENCE_HELP, "{err}");
    }

    #[test]
    fn rules_between_keys_are_checked_after_reading() {
        let two_arch = MINIMAL.replace(
            "  script: build/install.sh",
            "  script: build/install.sh\n  architectures: [x86_64, arm64]",
        );
        let err = parse(&two_arch).unwrap_err();
        assert_eq!(err.key, "templates.0", "{err}");
        let ports = MINIMAL.replace("from-port: 22, to-port: 22", "from-port: 23, to-port: 22");
        let err = parse(&ports).unwrap_err();
        assert!(
            err.message.contains("from-port 23 is above to-port 22"),
            "{err}"
        );
        let icmp = MINIMAL.replace("protocol: tcp", "protocol: icmp");
        let err = parse(&icmp).unwrap_err();
        assert_eq!(err.key, "load-form.security-groups.0.protocol", "{err}");
        assert!(err.message.contains("takes at most 3 characters"), "{err}");
        let zero = MINIMAL.replace("from-port: 22", "from-port: 0");
        let err = parse(&zero).unwrap_err();
        assert_eq!(err.key, "load-form.security-groups.0.from-port", "{err}");
    }

    #[test]
    fn inputs_are_checked_by_the_same_types() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yml");
        std::fs::write(&path, MINIMAL).unwrap();
        let bad = Override {
            key: &["pull-request", "reviewers"],
            input: "reviewers",
            value: serde_yaml::from_str("['@octocat']").unwrap(),
        };
        let err = Config::load_with_overrides(&path, &[bad]).unwrap_err();
        assert_eq!(err.input.as_deref(), Some("reviewers"));
        assert_eq!(
            err.message,
            "`pull-request.reviewers`: `@octocat` is not a GitHub user name"
        );
        assert_eq!(
            err.help,
            "give the login without `@`, like octocat (the input overrides `pull-request.reviewers` of the config)"
        );
        let regions = Override {
            key: &["regions"],
            input: "regions",
            value: serde_yaml::from_str("[eu-west-1]").unwrap(),
        };
        let err = Config::load_with_overrides(&path, &[regions]).unwrap_err();
        assert!(err.message.contains("us-east-1 is not listed"), "{err}");
        assert_eq!(err.input.as_deref(), Some("regions"));
    }
}
