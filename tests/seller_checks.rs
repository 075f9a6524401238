//! The seller account and the ingestion role, checked against moto (STS and IAM) before any
//! EC2 call that creates something: a wrong account, a missing role, a role without the trust
//! and a role without the policy are each refused with the fix named.

use crate::common;

use common::aws::Ec2Stack;
use common::scenario::{command, Ran, Scenario};

fn build(scenario: &Scenario) -> (Option<i32>, String) {
    let ran = scenario.cli(&command("build", "1.2.3", &[]));
    (ran.code(), ran.stderr)
}

/// Sets `product.seller-account` to `account`.
fn seller_account(scenario: &Scenario, account: &str) {
    scenario.edit_config(
        "  name: Example DB\n",
        &format!("  name: Example DB\n  seller-account: \"{account}\"\n"),
    );
}

/// Nothing was created: no builder launched, no image made.
fn nothing_created(stack: &Ec2Stack) {
    for action in ["RunInstances", "CreateImage", "CopyImage"] {
        assert_eq!(stack.calls(action, "us-east-1"), 0, "{action} was called");
    }
}

const ROLE: &str = "  access-role-arn: arn:aws:iam::123456789012:role/MarketplaceAmiIngestion";

#[test]
fn a_wrong_account_is_refused_before_anything_is_created() {
    let scenario = Scenario::new(&["us-east-1"], "").with_moto();
    let stack = scenario.stack();
    seller_account(&scenario, "111111111111");
    let (code, stderr) = build(&scenario);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("the credentials belong to account 123456789012, but product.seller-account is 111111111111"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: run the release with credentials of account 111111111111"),
        "{stderr}"
    );
    nothing_created(stack);
}

#[test]
fn the_role_must_exist_be_trusted_and_carry_the_policy() {
    let scenario = Scenario::new(&["us-east-1"], "").with_moto();
    let stack = scenario.stack();
    stack.ingestion_role("Untrusted", false, true);
    stack.ingestion_role("WithoutPolicy", true, false);
    let cases = [
        (
            "NoSuchRole",
            "does not exist (IAM GetRole: NoSuchEntity)",
            "help: create it: a role trusted by assets.marketplace.amazonaws.com",
        ),
        (
            "Untrusted",
            "does not trust assets.marketplace.amazonaws.com",
            "help: add a trust policy statement",
        ),
        (
            "WithoutPolicy",
            "does not carry the AWS managed policy AWSMarketplaceAmiIngestion (attached: none)",
            "help: attach arn:aws:iam::aws:policy/AWSMarketplaceAmiIngestion",
        ),
    ];
    for (role, message, help) in cases {
        scenario.rewrite_repo(&["us-east-1"], "");
        scenario.edit_config(ROLE, &ROLE.replace("MarketplaceAmiIngestion", role));
        let (code, stderr) = build(&scenario);
        assert_eq!(code, Some(2), "{role}: {stderr}");
        assert!(
            stderr.contains(message) && stderr.contains(help),
            "{role}: {stderr}"
        );
        nothing_created(stack);
    }
    // A role in another account is refused without asking IAM.
    scenario.rewrite_repo(&["us-east-1"], "");
    scenario.edit_config(ROLE, &ROLE.replace("123456789012", "999999999999"));
    let (code, stderr) = build(&scenario);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is in account 999999999999, but the release runs in account 123456789012"),
        "{stderr}"
    );
    nothing_created(stack);
}

#[test]
fn a_seller_account_that_matches_and_a_good_role_let_the_build_run() {
    let scenario = Scenario::new(&["us-east-1"], "")
        .playing(serde_json::json!({"builder": {"stop_after_s": 0.2}}));
    let (code, stderr) = build(&scenario);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("seller: account 123456789012; not checked against the seller account (set product.seller-account to check it)"),
        "{stderr}"
    );
    assert!(stderr.contains("ingestion role: arn:aws:iam::123456789012:role/MarketplaceAmiIngestion is trusted by assets.marketplace.amazonaws.com and carries AWSMarketplaceAmiIngestion"), "{stderr}");
    seller_account(&scenario, "123456789012");
    let (code, stderr) = build(&scenario);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr
            .contains("seller: account 123456789012, the seller account (product.seller-account)"),
        "{stderr}"
    );
}

#[test]
fn a_used_version_title_is_refused_before_building_and_region_mismatches_warn() {
    let scenario = Scenario::new(&["us-east-1", "us-west-2"], "")
        .with_moto()
        .with_catalog(0);
    let (stack, catalog) = (scenario.stack(), scenario.catalog());
    scenario.edit_config(
        "  name: Example DB\n",
        "  name: Example DB\n  id: prod-example12345\n",
    );
    catalog.state().entity = common::catalog::product_entity(&[("1.2.3", &["AMI"])]);
    let Ran { out, stderr, .. } = scenario.cli(&command("build", "1.2.3", &[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("product prod-example12345 already has a version titled `1.2.3`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was built"), "{stderr}");
    nothing_created(stack);

    // A new title is released, with the regions the listing and the release don't share
    // and the recommended instance type it does not sell named in the log and the PR.
    stack.scenario(serde_json::json!({"builder": {"stop_after_s": 0.2}}));
    let mut entity = common::catalog::product_entity(&[("1.2.2", &["AMI"])]);
    entity["Compatibility"] =
        serde_json::json!({"AvailableInstanceTypes": ["t3.large", "m5.large"]});
    catalog.state().entity = entity;
    let scenario = scenario.with_github();
    let github = scenario.github();
    let Ran { out, stderr, .. } = scenario.cli(&command("release", "1.2.3", &[]));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let notes = [
        "prod-example12345 is not offered in `us-west-2`",
        "prod-example12345 is offered in `eu-west-1`, which this release does not copy to",
        "the recommended instance type `r6i.large` (load-form.recommended-instance-type) is not among the listing's instance types",
    ];
    let state = github.state();
    assert_eq!(state.pulls.len(), 1, "{stderr}");
    for note in notes {
        assert!(stderr.contains(note), "{note}: {stderr}");
        assert!(
            state.pulls[0]
                .body
                .contains(&format!("> [!WARNING]\n> The live listing: {note}")),
            "{note}:\n{}",
            state.pulls[0].body
        );
    }
    assert!(stderr.contains("version title `1.2.3` is new"), "{stderr}");
}
