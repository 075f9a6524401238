//! The `verify` section: boot the new AMI before anything is copied or shared, run the built-in
//! checks and the vendor's verify script on it, and stop the release when it fails.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{checked_string, InstanceType, Minutes, WorkspacePath};
use crate::domain::ami::Region;

/// How the `verify` stage boots the new AMI (in `build.region`, before any copy) and checks
/// it. Its presence turns the stage on in `all`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Verify {
    /// The test instance's type; default `load-form.recommended-instance-type`.
    #[serde(default)]
    pub instance_type: Option<InstanceType>,
    /// The product's systemd unit (like `neo4j.service`): the built-in `service` check waits
    /// for it to be active. Without it the check is skipped.
    #[serde(default)]
    pub service: Option<SystemdUnit>,
    /// A script run on the test instance after the built-in checks, relative to the repository
    /// root; exit 0 means the product works. It runs as root, like the build script, with
    /// `MARKETPLACE_RELEASE_VERSION` set.
    #[serde(default)]
    pub script: Option<WorkspacePath>,
    /// How long the test instance may take to boot, check and report (minutes, fractions
    /// allowed); then it counts as never reporting.
    #[serde(default = "default_timeout")]
    pub timeout_minutes: Minutes,
    /// Regions to boot a copy in too, after the copy stage (each must be among `regions`).
    #[serde(default)]
    pub regions: Vec<Region>,
    /// What a failed verification does: `stop` (no pull request; the AMIs stay and the
    /// manifest says why) or `draft` (a draft pull request with the failure at the top). The
    /// run fails either way, and no copy is made of an image that failed.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// A test stack: after the copies, the regenerated template is launched as a
    /// CloudFormation stack in `region` under your service role, waited for, its outputs read
    /// (and one URL checked), and the stack always deleted. A failure stops the release
    /// before the pull request.
    #[serde(default)]
    pub stack: Option<super::verify_stack::StackConfig>,
}

fn default_timeout() -> Minutes {
    Minutes::new(20.0).expect("valid minutes")
}

/// What a failed verification does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnFailure {
    /// No pull request.
    #[default]
    Stop,
    /// A draft pull request with the failure at the top.
    Draft,
}

checked_string! {
    /// A systemd unit name (`name.service`, `name@instance.service`): letters, digits and
    /// `:_.@-`, ending in a unit suffix. It is written into the test instance's script, so
    /// nothing else is accepted.
    SystemdUnit {
        title: "systemd unit",
        pattern: r"^[A-Za-z0-9:_.@-]{1,240}\.(service|socket|target|timer|mount|path)$",
        is_not: "a systemd unit name",
        help: "write it like neo4j.service",
        example: "neo4j.service",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_values_are_checked() {
        let v: Verify = serde_yaml::from_str(
            "{service: neo4j.service, script: verify/check.sh, on-failure: draft, regions: [eu-west-1]}",
        )
        .unwrap();
        assert_eq!(v.service.unwrap().as_str(), "neo4j.service");
        assert_eq!(v.on_failure, OnFailure::Draft);
        assert_eq!(v.timeout_minutes, 20.0);
        assert_eq!(v.regions[0].as_str(), "eu-west-1");
        let v: Verify = serde_yaml::from_str("{}").unwrap();
        assert_eq!(v.on_failure, OnFailure::Stop);
        for (bad, why) in [
            ("{service: 'neo4j; reboot'}", "is not a systemd unit name"),
            ("{service: neo4j}", "is not a systemd unit name"),
            ("{on-failure: ignore}", "unknown variant `ignore`"),
            ("{instance-type: large}", "is not an EC2 instance type"),
            ("{script: ../x.sh}", "leaves the workspace"),
            ("{timeout-minutes: 0}", "is not a number of minutes"),
            ("{regions: [mars-1]}", "mars-1"),
        ] {
            let e = serde_yaml::from_str::<Verify>(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
