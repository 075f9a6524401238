//! Warnings about a config that is valid but probably not what the user meant: they never
//! refuse a release. Pure: the orchestrator adds the instance-type warnings, whose list of
//! known types comes from the AWS adapter.

use serde::Serialize;

use crate::config::Config;

/// The operating system names of the AWS Marketplace product load form's drop-down (the
/// `OperatingSystemName` of an AMI delivery option), as the README cites them. A name outside
/// the list is a warning only: AWS adds names.
pub const OS_NAMES: &[&str] = &[
    "ALMALINUX",
    "AMAZONLINUX",
    "CENTOS",
    "DEBIAN",
    "FEDORA",
    "FREEBSD",
    "OPENSUSE",
    "ORACLELINUX",
    "OTHERLINUX",
    "REDHAT",
    "ROCKYLINUX",
    "SUSE",
    "UBUNTU",
    "WINDOWS",
];

/// One warning: the config key it is about and what to check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The config key, dotted (`load-form.os-name`).
    pub key: String,
    /// What to check, and what to do.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.key, self.message)
    }
}

/// The warnings about the load form of `config`.
pub fn load_form(config: &Config) -> Vec<Warning> {
    let form = &config.load_form;
    let mut out = Vec::new();
    if !OS_NAMES.contains(&form.os_name.as_str()) {
        let close = crate::template::did_you_mean(&form.os_name, OS_NAMES.iter().copied())
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        out.push(Warning {
            key: "load-form.os-name".into(),
            message: format!(
                "`{}` is not one of the operating system names the load form lists ({}); {close}check the name in the AWS Marketplace Management Portal",
                form.os_name,
                OS_NAMES.join(", ")
            ),
        });
    }
    if !config.templates.is_empty() {
        if form.template_url.is_none() {
            out.push(Warning {
                key: "load-form.template-url".into(),
                message: "no template URL, but the product has CloudFormation templates: buyers launch from the template you upload; set it to where the released template is published".into(),
            });
        }
        if form.architecture_diagram_url.is_none() {
            out.push(Warning {
                key: "load-form.architecture-diagram-url".into(),
                message: "no architecture diagram URL, but AWS Marketplace asks for one with every CloudFormation template; set it to the diagram's https:// address".into(),
            });
        }
    }
    out
}

/// The warning for an instance type EC2 does not list (`known` is false): a typo, or a type
/// newer than this build. `closest` are known types like it.
pub fn instance_type(key: &str, name: &str, closest: &[&str]) -> Warning {
    let hint = match closest {
        [] => String::new(),
        some => format!("did you mean `{}`? ", some.join("` or `")),
    };
    Warning {
        key: key.into(),
        message: format!("`{name}` is not an instance type this build knows; {hint}a type newer than this build is fine, a typo fails when EC2 is asked"),
    }
}

/// Whether an instance type looks like an AWS Graviton (arm64) one: `a1`, or a family whose
/// letters after the generation hold a `g` (`m7g`, `c6gn`, `r6gd`, `t4g`, `g5g`), as EC2's
/// naming goes ("Amazon EC2 instance type naming conventions",
/// <https://docs.aws.amazon.com/ec2/latest/instancetypes/instance-type-names.html>).
pub fn is_graviton(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    if family == "a1" {
        return true;
    }
    let Some(generation) = family.find(|c: char| c.is_ascii_digit()) else {
        return false;
    };
    family[generation..]
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .split('-')
        .next()
        .is_some_and(|options| options.contains('g'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graviton_types_are_told_apart() {
        for arm in [
            "m7g.large",
            "c6gn.xlarge",
            "r6gd.large",
            "t4g.micro",
            "g5g.xlarge",
            "a1.large",
            "hpc7g.4xlarge",
        ] {
            assert!(is_graviton(arm), "{arm}");
        }
        for x86 in [
            "r6i.large",
            "g4dn.xlarge",
            "m7i-flex.large",
            "t3.medium",
            "p4d.24xlarge",
            "c7a.large",
        ] {
            assert!(!is_graviton(x86), "{x86}");
        }
    }

    fn config(edit: impl Fn(&str) -> String) -> Config {
        Config::parse(
            &edit(crate::config::tests_support::MINIMAL),
            std::path::Path::new("c.yml"),
        )
        .unwrap()
    }

    #[test]
    fn unknown_os_names_and_missing_urls_warn() {
        let warnings = load_form(&config(|t| t.replace("AMAZONLINUX", "AMAZON LINUX")));
        let keys: Vec<&str> = warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "load-form.os-name",
                "load-form.template-url",
                "load-form.architecture-diagram-url"
            ]
        );
        assert!(
            warnings[0].message.contains("did you mean `AMAZONLINUX`"),
            "{}",
            warnings[0]
        );
        let quiet = config(|t| {
            t.replace(
                "  usage-instructions: Open port 22.",
                "  usage-instructions: Open port 22.\n  template-url: https://e.com/t.yaml\n  architecture-diagram-url: https://e.com/d.png",
            )
        });
        assert_eq!(load_form(&quiet), []);
    }
}
