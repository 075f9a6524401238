//! Issue 22, step 1: how many times one run resolves the AWS credential chain. Each AWS adapter
//! loads the shared configuration itself today (`aws::ec2::shared_config`), and each load has
//! its own credentials cache, so each asks the chain once. The run gets its credentials from
//! the SDK's container credentials provider (`common::credentials`), which counts the requests:
//! no keys in the environment, no profile files. A test fails when the count changes either
//! way; the constants say what each count is made of today.

use crate::common::credentials::ContainerCredentials;
use crate::common::scenario::{command, submit_job, Ran, SUBMIT_INPUTS};
use crate::stage_order::{whole_release, whole_release_play};
use crate::verify_stage::STACK_SECRET;

/// A whole release: one load of the AWS config (src/aws/config.rs), shared by every adapter
/// (STS and IAM for the seller checks, the Catalog for the listing, EC2 for build, verify,
/// copy and the ingestion pre-flight, CloudFormation for the test stack), and one resolution
/// of the chain through it: the AWS pre-flight's credentials-expiry warning reads the same
/// remembered credentials. Before issue 22 the chain was resolved 7 times (6 loads, and the
/// expiry warning past the identity cache).
const RELEASE_LOADS: usize = 1;

/// A submit job after the merge: STS and IAM (the seller checks again), EC2 (the ingestion
/// preflight again) and the Catalog (the change sets), from one load. Before issue 22: 4.
const SUBMIT_LOADS: usize = 1;

#[test]
fn a_whole_release_resolves_the_credential_chain_release_loads_times() {
    let credentials = ContainerCredentials::start();
    let scenario = whole_release(whole_release_play()).with_container_credentials(&credentials.url);
    let Ran { out, stderr, .. } = scenario.cli_with(
        &command("release", "2025.6.0", &[]),
        &[("EXAMPLE_DB_PASSWORD", STACK_SECRET)],
    );
    assert!(out.status.success(), "{stderr}");
    // Every adapter ran: the seller checks, the listing, the build, the test stack, the
    // ingestion preflight and the pull request.
    for line in [
        "seller: account 123456789012",
        "listing: prod-abcdefgh1234: version title `2025.6.0` is new",
        "build: image ",
        "was created, checked and deleted",
        "keeps every rule",
        "publish: ",
    ] {
        assert!(stderr.contains(line), "{line}: {stderr}");
    }
    assert_eq!(scenario.github().state().pulls.len(), 1);
    assert_eq!(
        credentials.strays(),
        0,
        "only the credentials were asked for"
    );
    assert_eq!(
        credentials.served(),
        RELEASE_LOADS,
        "the credential chain was resolved {} times",
        credentials.served()
    );
}

#[test]
fn a_submit_job_resolves_the_credential_chain_submit_loads_times() {
    let credentials = ContainerCredentials::start();
    let (scenario, _) = submit_job("submit:\n  intent: validate-then-apply\n", 0);
    let scenario = scenario.with_container_credentials(&credentials.url);
    let Ran {
        out,
        stdout,
        outputs,
        ..
    } = scenario.action(&SUBMIT_INPUTS);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(outputs["change-set-status"], "SUCCEEDED");
    assert_eq!(
        credentials.strays(),
        0,
        "only the credentials were asked for"
    );
    assert_eq!(
        credentials.served(),
        SUBMIT_LOADS,
        "the credential chain was resolved {} times",
        credentials.served()
    );
}
