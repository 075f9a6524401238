//! The ingestion preflight: what AWS Marketplace's AMI review refuses, checked on the built
//! image before the pull request and again before `submit`. Pure: the EC2 adapter reads the
//! image (`aws::ec2::Ec2::ingestion_facts`), the rules here judge it.
//!
//! The rules are the Seller Guide's "AMI-based product requirements" and the reasons sellers
//! meet in review: an HVM image with an EBS root, an architecture the listing offers, ENA
//! support, no product code (inherited from a Marketplace base AMI), unencrypted snapshots,
//! IMDSv2 required, the image in us-east-1 (where Marketplace ingests it from), and the
//! hardening the builder ran.

use anyhow::{anyhow, bail, Result};

use crate::aws::ec2::Ec2;
use crate::domain::manifest::{Manifest, RegionImage};
use crate::domain::state::ImageState;
use crate::domain::verification::CheckOutcome;
use crate::output::progress;
use serde::Serialize;

pub use crate::domain::ingestion::ImageFacts;

/// Whether the builder's hardening is known to have run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hardening {
    /// This tool built the image: the builder's wrapper ran the hardening and reported its
    /// result marker on the console (a failed marker fails the build).
    Built,
    /// The image was not built by this tool (an explicit `--image`, a manifest without a
    /// builder): not verified, which is shown but does not stop the release.
    NotVerified,
    /// The verify stage booted the image and these hardening checks passed on it (`sshd`,
    /// `authorized-keys`, `shell-history`): evidence from the image itself, whoever built it.
    Verified(Vec<String>),
}

/// The verify stage's checks that show the Marketplace hardening on a booted image.
pub const HARDENING_CHECKS: [&str; 3] = ["sshd", "authorized-keys", "shell-history"];

/// One rule and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestionCheck {
    /// The rule, in a few words (`ENA support`).
    pub rule: &'static str,
    /// Passed, failed, or not verified.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

/// A rule's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The image keeps the rule.
    Passed,
    /// The image breaks it: Marketplace would refuse the image.
    Failed,
    /// Not known (shown, does not stop the release).
    NotVerified,
}

fn check(rule: &'static str, passed: bool, detail: String) -> IngestionCheck {
    IngestionCheck {
        rule,
        status: if passed {
            Status::Passed
        } else {
            Status::Failed
        },
        detail,
    }
}

/// Every rule over `facts`: `declared` are the config's architectures, `us_east_1` whether
/// the release has an available image in us-east-1.
pub fn check_image(
    facts: &ImageFacts,
    declared: &[&str],
    us_east_1: bool,
    hardening: &Hardening,
) -> Vec<IngestionCheck> {
    let id = &facts.image_id;
    let or_none = |items: &[String]| items.join(", ");
    vec![
        check("HVM virtualization", facts.virtualization_type == "hvm",
            format!("{id} is {}", facts.virtualization_type)),
        check("EBS root device", facts.root_device_type == "ebs",
            format!("{id} has a {} root device", facts.root_device_type)),
        check("declared architecture", declared.contains(&facts.architecture.as_str()),
            format!("{id} is {}; build.architectures: {}", facts.architecture, declared.join(", "))),
        check("ENA support", facts.ena_support == Some(true), match facts.ena_support {
            Some(true) => format!("{id} has EnaSupport"),
            Some(false) => format!("{id} has EnaSupport off: install the ENA driver and register the image with ENA support"),
            None => format!("{id} does not report EnaSupport"),
        }),
        check("no product codes", facts.product_codes.is_empty(), if facts.product_codes.is_empty() {
            "none".to_owned()
        } else {
            format!("{id} carries product code(s) {} (inherited from a Marketplace base AMI): build from a base image without one", or_none(&facts.product_codes))
        }),
        check("unencrypted snapshots", facts.encrypted_snapshots.is_empty(), if facts.encrypted_snapshots.is_empty() {
            "every EBS snapshot is unencrypted".to_owned()
        } else {
            format!("{id} has encrypted snapshot(s) {}: Marketplace cannot ingest them (turn off EBS encryption by default for the build, or build with an unencrypted root volume)", or_none(&facts.encrypted_snapshots))
        }),
        check("IMDSv2 required", facts.imds_support.as_deref() == Some("v2.0"), match &facts.imds_support {
            Some(v) if v == "v2.0" => "ImdsSupport v2.0".to_owned(),
            other => format!("{id} has ImdsSupport {}: set it to v2.0", other.as_deref().unwrap_or("unset")),
        }),
        check("image in us-east-1", us_east_1, if us_east_1 {
            "available in us-east-1".to_owned()
        } else {
            "no available image in us-east-1, where Marketplace ingests it from: keep us-east-1 in regions".to_owned()
        }),
        match hardening {
            Hardening::Built => check("hardening", true,
                "run by the builder's wrapper, which reported success on the console".to_owned()),
            Hardening::NotVerified => IngestionCheck {
                rule: "hardening",
                status: Status::NotVerified,
                detail: "not verified: the image was not built by marketplace-release".to_owned(),
            },
            Hardening::Verified(checks) => check("hardening", true,
                format!("checked on a test instance booted from the image: {} passed", checks.join(", "))),
        },
    ]
}

/// The first failed rule, as an error text naming the rule and why.
pub fn first_failure(checks: &[IngestionCheck]) -> Option<String> {
    checks
        .iter()
        .find(|c| c.status == Status::Failed)
        .map(|c| format!("the ingestion preflight failed: {}: {}", c.rule, c.detail))
}

/// The results as a Markdown task list, marked done where a rule passed.
pub fn checklist(checks: &[IngestionCheck]) -> String {
    checks
        .iter()
        .map(|c| match c.status {
            Status::Passed => format!("- [x] {}: {}\n", c.rule, c.detail),
            Status::Failed => format!("- [ ] **{}: failed**: {}\n", c.rule, c.detail),
            Status::NotVerified => format!("- [ ] {}: {}\n", c.rule, c.detail),
        })
        .collect()
}

/// AWS Marketplace's ingestion rules over each manifest's us-east-1 image (else its source
/// image): the checklist for the PR body and the summary, or the first broken rule.
/// `declared` are the config's architectures; `before_submit` says which step it holds back
/// (the PR, or the Catalog request).
pub async fn check_manifests(
    ec2: &Ec2,
    declared: &[&str],
    manifests: &[(String, Manifest)],
    before_submit: bool,
) -> Result<String> {
    let stopped = if before_submit {
        "nothing was submitted"
    } else {
        "no pull request was opened"
    };
    let mut list = String::new();
    for (path, manifest) in manifests {
        let available = |r: &&RegionImage| r.state == ImageState::Available;
        let in_us_east_1 = manifest.regions.get("us-east-1").filter(available);
        let (region, image_id) = match (in_us_east_1, &manifest.source_image_id) {
            (Some(image), _) => ("us-east-1", image.image_id.clone()),
            (None, Some(source)) => (manifest.source_region.as_str(), source.clone()),
            (None, None) => continue,
        };
        let us_east_1 = in_us_east_1.is_some()
            || (manifest.regions.is_empty() && manifest.source_region == "us-east-1");
        let facts = ec2
            .ingestion_facts(region, &image_id)
            .await?
            .ok_or_else(|| anyhow!("{path}: image {image_id} is not in {region}"))?;
        let checks = check_image(&facts, declared, us_east_1, &hardening(manifest));
        if let Some(failure) = first_failure(&checks) {
            bail!("{path} ({}): {failure}\n  help: fix the image or the build, then run the release again; {stopped}", manifest.architecture);
        }
        progress::line(&format!(
            "ingestion preflight: {image_id} ({}) keeps every rule",
            manifest.architecture
        ));
        list.push_str(&format!(
            "`{image_id}` ({}):\n\n{}\n",
            manifest.architecture,
            checklist(&checks)
        ));
    }
    Ok(list)
}

/// What is known of the image's hardening: evidence from the image itself first (the verify
/// stage's hardening checks that passed), else the builder's success marker.
fn hardening(manifest: &Manifest) -> Hardening {
    let verified: Vec<String> = manifest
        .verification
        .iter()
        .filter(|v| v.passed())
        .flat_map(|v| &v.checks)
        .filter(|c| {
            c.outcome == CheckOutcome::Passed && HARDENING_CHECKS.contains(&c.name.as_str())
        })
        .map(|c| c.name.clone())
        .collect();
    if !verified.is_empty() {
        Hardening::Verified(verified)
    } else if manifest.builder.is_some() {
        Hardening::Built
    } else {
        Hardening::NotVerified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> ImageFacts {
        ImageFacts {
            image_id: "ami-0123456789abcdef0".into(),
            virtualization_type: "hvm".into(),
            root_device_type: "ebs".into(),
            architecture: "x86_64".into(),
            ena_support: Some(true),
            product_codes: vec![],
            encrypted_snapshots: vec![],
            imds_support: Some("v2.0".into()),
        }
    }

    fn failed(facts: &ImageFacts, us_east_1: bool) -> Vec<&'static str> {
        check_image(facts, &["x86_64"], us_east_1, &Hardening::Built)
            .into_iter()
            .filter(|c| c.status == Status::Failed)
            .map(|c| c.rule)
            .collect()
    }

    #[test]
    fn a_verified_image_shows_the_checks_that_passed_on_it() {
        let verified = Hardening::Verified(vec!["sshd".into(), "authorized-keys".into()]);
        let checks = check_image(&clean(), &["x86_64"], true, &verified);
        let hardening = checks.iter().find(|c| c.rule == "hardening").unwrap();
        assert_eq!(hardening.status, Status::Passed);
        assert!(hardening
            .detail
            .contains("booted from the image: sshd, authorized-keys passed"));
    }

    #[test]
    fn a_clean_image_passes_every_rule() {
        let checks = check_image(&clean(), &["x86_64"], true, &Hardening::Built);
        assert_eq!(checks.len(), 9);
        assert!(checks.iter().all(|c| c.status == Status::Passed));
        assert_eq!(first_failure(&checks), None);
        assert_eq!(checklist(&checks).matches("- [x] ").count(), 9);
    }

    #[test]
    fn each_rule_fails_on_its_own() {
        type Change = fn(&mut ImageFacts);
        let cases: [(Change, &str); 7] = [
            (
                |f| f.virtualization_type = "paravirtual".into(),
                "HVM virtualization",
            ),
            (
                |f| f.root_device_type = "instance-store".into(),
                "EBS root device",
            ),
            (|f| f.architecture = "arm64".into(), "declared architecture"),
            (|f| f.ena_support = Some(false), "ENA support"),
            (
                |f| f.product_codes = vec!["abcdefgh".into()],
                "no product codes",
            ),
            (
                |f| f.encrypted_snapshots = vec!["snap-1".into()],
                "unencrypted snapshots",
            ),
            (|f| f.imds_support = None, "IMDSv2 required"),
        ];
        for (change, rule) in cases {
            let mut facts = clean();
            change(&mut facts);
            assert_eq!(failed(&facts, true), [rule]);
        }
        assert_eq!(failed(&clean(), false), ["image in us-east-1"]);
        let mut coded = clean();
        coded.product_codes = vec!["abcdefgh".into()];
        let checks = check_image(&coded, &["x86_64"], true, &Hardening::Built);
        let error = first_failure(&checks).unwrap();
        assert!(error.starts_with("the ingestion preflight failed: no product codes: ami-0123456789abcdef0 carries product code(s) abcdefgh"), "{error}");
        assert!(checklist(&checks).contains("- [ ] **no product codes: failed**"));
    }

    #[test]
    fn hardening_of_an_image_not_built_here_is_not_verified() {
        let checks = check_image(&clean(), &["x86_64"], true, &Hardening::NotVerified);
        let hardening = checks.last().unwrap();
        assert_eq!(hardening.status, Status::NotVerified);
        assert_eq!(first_failure(&checks), None);
        assert!(checklist(&checks).contains("- [ ] hardening: not verified"));
    }
}
