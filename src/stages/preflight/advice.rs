//! The warnings that never stop a release, shown before the build and by `plan`: the load
//! form's ([`crate::plan::advice`]), instance types the SDK does not list, and a test instance
//! type of the other architecture.

use crate::config::Config;
use crate::output::progress;
use crate::plan::advice::{self, Warning};

/// The warnings about `config`: the load form's, and instance types the SDK does not list.
pub fn warnings(config: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    for (key, name) in [
        ("build.instance-type", config.build.instance_type.as_str()),
        (
            "load-form.recommended-instance-type",
            config.load_form.recommended_instance_type.as_str(),
        ),
    ] {
        if !crate::aws::instance_types::is_known(name) {
            out.push(advice::instance_type(
                key,
                name,
                &crate::aws::instance_types::closest(name),
            ));
        }
    }
    out.extend(advice::load_form(config));
    out.extend(verify_instance_type(config));
    out
}

/// The test instance boots every built architecture's image with one instance type: a type of
/// the other architecture is refused by RunInstances, so it is worth saying before the build.
fn verify_instance_type(config: &Config) -> Vec<Warning> {
    let Some(verify) = &config.verify else {
        return Vec::new();
    };
    let (key, name) = match &verify.instance_type {
        Some(t) => ("verify.instance-type", t.as_str()),
        None => (
            "load-form.recommended-instance-type",
            config.load_form.recommended_instance_type.as_str(),
        ),
    };
    let mut out = Vec::new();
    if verify.instance_type.is_some() && !crate::aws::instance_types::is_known(name) {
        out.push(advice::instance_type(
            key,
            name,
            &crate::aws::instance_types::closest(name),
        ));
    }
    let arm = advice::is_graviton(name);
    let other: Vec<&str> = config
        .build
        .architectures
        .iter()
        .filter(|a| (**a == crate::config::Architecture::Arm64) != arm)
        .map(|a| a.as_str())
        .collect();
    if !other.is_empty() {
        out.push(Warning {
            key: "verify.instance-type".into(),
            message: format!(
                "the test instance is a `{name}` ({key}), which looks like {} type, but the {} image is built too: EC2 refuses to boot it on that type; verify that architecture in its own job with a matching verify.instance-type",
                if arm { "an arm64 (Graviton)" } else { "an x86_64" },
                other.join(" and ")
            ),
        });
    }
    out
}

/// Shows `warnings` (`::warning` annotations in GitHub Actions).
pub fn show(warnings: &[Warning]) {
    for warning in warnings {
        progress::warning(&warning.key, &warning.message);
    }
}
