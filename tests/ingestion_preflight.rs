//! The ingestion preflight on the built AMI, against moto behind the proxy (which reports
//! what moto leaves out of DescribeImages, and breaks it per scenario) and the GitHub fake:
//! an encrypted snapshot, a product code and ENA off each stop the release before the PR,
//! naming the rule; a clean AMI lists every check as passed in the PR body.

use crate::common;

use common::aws::Ec2Stack;
use common::scenario::{command, Scenario};
use serde_json::json;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// Runs `release` with `image` breaking the built image; returns the exit code, stderr and
/// the pull requests' bodies.
fn release(image: serde_json::Value) -> (Option<i32>, String, Vec<String>, Ec2Stack) {
    let scenario = Scenario::new(&REGIONS, "")
        .playing(json!({"builder": {"stop_after_s": 0.2}, "image": image}))
        .with_github();
    let ran = scenario.cli(&command("release", "1.0.0", &[]));
    let bodies = scenario
        .github()
        .state()
        .pulls
        .iter()
        .map(|p| p.body.clone())
        .collect();
    (ran.code(), ran.stderr, bodies, scenario.into_stack())
}

#[test]
fn a_clean_ami_lists_every_check_as_passed_in_the_pr_body() {
    let (code, stderr, bodies, _stack) = release(json!({}));
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert!(
        body.contains("### AWS Marketplace ingestion preflight"),
        "{body}"
    );
    for rule in [
        "HVM virtualization",
        "EBS root device",
        "declared architecture",
        "ENA support",
        "no product codes",
        "unencrypted snapshots",
        "IMDSv2 required",
        "image in us-east-1",
        "hardening",
    ] {
        assert!(body.contains(&format!("- [x] {rule}: ")), "{rule}:\n{body}");
    }
    assert!(stderr.contains("keeps every rule"), "{stderr}");
}

#[test]
fn an_encrypted_snapshot_a_product_code_and_ena_off_each_stop_before_the_pr() {
    // Encrypted snapshots are found earlier, by the build stage right after CreateImage:
    // the image is removed and nothing is copied.
    let (code, stderr, bodies, stack) = release(json!({"encrypted": true}));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("has encrypted snapshots (snap-")
            && stderr.contains("AWS Marketplace does not ingest such an image"),
        "{stderr}"
    );
    assert!(bodies.is_empty(), "a pull request was opened");
    assert_eq!(stack.calls("CopyImage", "eu-west-1"), 0);
    let cases = [
        (
            json!({"product_codes": ["abcdefgh1234"]}),
            "no product codes",
            "carries product code(s) abcdefgh1234",
        ),
        (json!({"ena": false}), "ENA support", "has EnaSupport off"),
    ];
    for (image, rule, detail) in cases {
        let (code, stderr, bodies, stack) = release(image);
        assert_eq!(code, Some(2), "{rule}: {stderr}");
        assert!(
            stderr.contains(&format!("the ingestion preflight failed: {rule}: "))
                && stderr.contains(detail),
            "{rule}: {stderr}"
        );
        assert!(stderr.contains("no pull request was opened"), "{stderr}");
        assert!(bodies.is_empty(), "{rule}: a pull request was opened");
        // The copies exist (they are in the manifest); nothing was published.
        assert!(stack.calls("CopyImage", "eu-west-1") >= 1);
    }
}
