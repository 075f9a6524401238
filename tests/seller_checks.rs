//! The seller account and the ingestion role, checked against moto (STS and IAM) before any
//! EC2 call that creates something: a wrong account, a missing role, a role without the trust
//! and a role without the policy are each refused with the fix named.

use crate::common;

use common::aws::{Ec2Stack, UserRepo};

fn build(repo: &UserRepo, stack: &Ec2Stack) -> (Option<i32>, String) {
    let out = repo.run(
        stack,
        &[
            "build",
            "--config",
            ".github/marketplace-release.yml",
            "--version",
            "1.2.3",
        ],
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let stack = Ec2Stack::start();
    let repo = UserRepo::new(&["us-east-1"], "");
    let config = repo.path().join(".github/marketplace-release.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "  name: Example DB\n",
            "  name: Example DB\n  seller-account: \"111111111111\"\n",
        ),
    )
    .unwrap();
    let (code, stderr) = build(&repo, &stack);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("the credentials belong to account 123456789012, but product.seller-account is 111111111111"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: run the release with credentials of account 111111111111"),
        "{stderr}"
    );
    nothing_created(&stack);
}

#[test]
fn the_role_must_exist_be_trusted_and_carry_the_policy() {
    let stack = Ec2Stack::start();
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
        let repo = UserRepo::new(&["us-east-1"], "");
        let config = repo.path().join(".github/marketplace-release.yml");
        let text = std::fs::read_to_string(&config).unwrap();
        std::fs::write(
            &config,
            text.replace(ROLE, &ROLE.replace("MarketplaceAmiIngestion", role)),
        )
        .unwrap();
        let (code, stderr) = build(&repo, &stack);
        assert_eq!(code, Some(2), "{role}: {stderr}");
        assert!(
            stderr.contains(message) && stderr.contains(help),
            "{role}: {stderr}"
        );
        nothing_created(&stack);
    }
    // A role in another account is refused without asking IAM.
    let repo = UserRepo::new(&["us-east-1"], "");
    let config = repo.path().join(".github/marketplace-release.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(ROLE, &ROLE.replace("123456789012", "999999999999")),
    )
    .unwrap();
    let (code, stderr) = build(&repo, &stack);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is in account 999999999999, but the release runs in account 123456789012"),
        "{stderr}"
    );
    nothing_created(&stack);
}

#[test]
fn a_seller_account_that_matches_and_a_good_role_let_the_build_run() {
    let stack = Ec2Stack::start();
    stack.scenario(serde_json::json!({"builder": {"stop_after_s": 0.2}}));
    let repo = UserRepo::new(&["us-east-1"], "");
    let (code, stderr) = build(&repo, &stack);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("seller: account 123456789012; not checked against the seller account (set product.seller-account to check it)"),
        "{stderr}"
    );
    assert!(stderr.contains("ingestion role: arn:aws:iam::123456789012:role/MarketplaceAmiIngestion is trusted by assets.marketplace.amazonaws.com and carries AWSMarketplaceAmiIngestion"), "{stderr}");
    let config = repo.path().join(".github/marketplace-release.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "  name: Example DB\n",
            "  name: Example DB\n  seller-account: \"123456789012\"\n",
        ),
    )
    .unwrap();
    let (code, stderr) = build(&repo, &stack);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr
            .contains("seller: account 123456789012, the seller account (product.seller-account)"),
        "{stderr}"
    );
}

#[test]
fn a_used_version_title_is_refused_before_building_and_region_mismatches_warn() {
    let stack = Ec2Stack::start();
    let catalog = common::catalog::FakeCatalog::start(0);
    let repo = UserRepo::new(&["us-east-1", "us-west-2"], "");
    let config = repo.path().join(".github/marketplace-release.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(
            "  name: Example DB\n",
            "  name: Example DB\n  id: prod-example12345\n",
        ),
    )
    .unwrap();
    let env = |stack: &Ec2Stack| {
        let mut env = vec![(
            "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG".to_owned(),
            catalog.url.clone(),
        )];
        env.extend(
            stack
                .env()
                .into_iter()
                .filter(|(k, _)| k != "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG"),
        );
        env
    };
    catalog.state().entity = common::catalog::product_entity(&[("1.2.3", &["AMI"])]);
    let args = [
        "build",
        "--config",
        ".github/marketplace-release.yml",
        "--version",
        "1.2.3",
    ];
    let out = repo.run_with(&stack, &args, env(&stack));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("product prod-example12345 already has a version titled `1.2.3`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was built"), "{stderr}");
    nothing_created(&stack);

    // A new title is released, with the regions the listing and the release don't share
    // and the recommended instance type it does not sell named in the log and the PR.
    stack.scenario(serde_json::json!({"builder": {"stop_after_s": 0.2}}));
    let mut entity = common::catalog::product_entity(&[("1.2.2", &["AMI"])]);
    entity["Compatibility"] =
        serde_json::json!({"AvailableInstanceTypes": ["t3.large", "m5.large"]});
    catalog.state().entity = entity;
    let original = std::fs::read(repo.path().join("cfn/product.template.yaml")).unwrap();
    let github = common::github::FakeGitHub::start(
        "example",
        "product",
        "main",
        &[("cfn/product.template.yaml", &original)],
    );
    let mut with_github = env(&stack);
    with_github.extend(github.env());
    let release = [
        "release",
        "--config",
        ".github/marketplace-release.yml",
        "--version",
        "1.2.3",
    ];
    let out = repo.run_with(&stack, &release, with_github);
    let stderr = String::from_utf8_lossy(&out.stderr);
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
