//! The ingestion preflight: what AWS Marketplace's AMI review refuses, checked on the built
//! image before the pull request and again before `submit`. Pure: the EC2 adapter reads the
//! image (`aws::ec2::Ec2::ingestion_facts`), the rules here judge it.
//!
//! The rules are the Seller Guide's "AMI-based product requirements" and the reasons sellers
//! meet in review: an HVM image with an EBS root, an architecture the listing offers, ENA
//! support, no product code (inherited from a Marketplace base AMI), unencrypted snapshots,
//! IMDSv2 required, the image in us-east-1 (where Marketplace ingests it from), and the
//! hardening the builder ran.

use serde::Serialize;

/// What DescribeImages says of an image, as far as ingestion cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageFacts {
    /// The image.
    pub image_id: String,
    /// `hvm` or `paravirtual`.
    pub virtualization_type: String,
    /// `ebs` or `instance-store`.
    pub root_device_type: String,
    /// `x86_64`, `arm64`, …
    pub architecture: String,
    /// `EnaSupport`, when reported.
    pub ena_support: Option<bool>,
    /// The product codes (Marketplace base AMIs pass theirs on).
    pub product_codes: Vec<String>,
    /// The snapshots of encrypted EBS mappings.
    pub encrypted_snapshots: Vec<String>,
    /// `ImdsSupport` (`v2.0` when IMDSv2 is required), when reported.
    pub imds_support: Option<String>,
}

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
