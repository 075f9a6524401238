//! `iam/policy.json` lists exactly the EC2, Marketplace Catalog, IAM and CloudFormation actions
//! the code calls:
//! a new SDK call without its permission fails here, and so does a permission nothing uses.
//! (STS GetCallerIdentity needs no permission.)

use crate::common;

use std::collections::BTreeSet;

/// `describe_images` → `DescribeImages`.
fn pascal(operation: &str) -> String {
    let pascal: String = operation
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    pascal
}

/// Every AWS call in `src/`: EC2 calls go through the adapter's one layer, which names the
/// action (`.call("DescribeImages", …)`); Service Quotas errors name theirs
/// (`from_sdk("GetServiceQuota", …)` in `src/aws/quotas.rs`); the one-client adapters call
/// `self.client.operation()` (the Marketplace Catalog API in `aws/catalog.rs`, IAM in
/// `aws/iam.rs`; `aws/sts.rs` calls only GetCallerIdentity, which needs no permission); the
/// CloudFormation adapter calls `self.client(region).operation()`, and passes the stack's
/// service role (`.role_arn(…)` on CreateStack needs `iam:PassRole`).
fn called_actions() -> BTreeSet<String> {
    let ec2 = regex::Regex::new(r#"\.call\(\s*"([A-Za-z]+)""#).unwrap();
    let quotas = regex::Regex::new(r#"from_sdk\(\s*"([A-Za-z]+)""#).unwrap();
    let catalog = regex::Regex::new(r"self\s*\.client\s*\.([a-z_]+)\(\)").unwrap();
    let regional = regex::Regex::new(r"\.client\(region\)\s*\.([a-z_]+)\(\)").unwrap();
    let mut actions = BTreeSet::new();
    let mut stack = vec![common::repo().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let name = path.file_name().unwrap().to_string_lossy();
                if name == "ec2.rs" {
                    actions.extend(ec2.captures_iter(&text).map(|c| format!("ec2:{}", &c[1])));
                    // Tags given at creation need ec2:CreateTags (the policy allows it only
                    // with an ec2:CreateAction condition).
                    if text.contains(".tag_specifications(") {
                        actions.insert("ec2:CreateTags".to_owned());
                    }
                }
                if name == "quotas.rs" {
                    actions.extend(
                        quotas
                            .captures_iter(&text)
                            .map(|c| format!("servicequotas:{}", &c[1])),
                    );
                }
                if name == "cloudformation.rs" {
                    actions.extend(
                        regional
                            .captures_iter(&text)
                            .map(|c| format!("cloudformation:{}", pascal(&c[1]))),
                    );
                    if text.contains(".role_arn(") {
                        actions.insert("iam:PassRole".to_owned());
                    }
                }
                let service = match path.file_name().and_then(|n| n.to_str()) {
                    Some("iam.rs") => "iam",
                    Some("sts.rs") => continue,
                    _ => "aws-marketplace",
                };
                actions.extend(
                    catalog
                        .captures_iter(&text)
                        .map(|c| format!("{service}:{}", pascal(&c[1]))),
                );
            }
        }
    }
    actions
}

fn policy_actions() -> BTreeSet<String> {
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("iam/policy.json")).unwrap(),
    )
    .unwrap();
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().unwrap() {
        assert_eq!(statement["Effect"], "Allow");
        match &statement["Action"] {
            serde_json::Value::String(one) => {
                actions.insert(one.clone());
            }
            serde_json::Value::Array(many) => {
                actions.extend(many.iter().map(|a| a.as_str().unwrap().to_owned()))
            }
            other => panic!("unexpected Action {other}"),
        }
    }
    actions
        .into_iter()
        .filter(|a| {
            [
                "ec2:",
                "aws-marketplace:",
                "servicequotas:",
                "iam:",
                "cloudformation:",
            ]
            .iter()
            .any(|service| a.starts_with(service))
        })
        .collect()
}

#[test]
fn the_policy_grants_exactly_the_actions_the_code_calls() {
    let called = called_actions();
    assert!(
        called.len() >= 10,
        "the scan found too few calls: {called:?}"
    );
    let granted = policy_actions();
    let missing: Vec<_> = called.difference(&granted).collect();
    let unused: Vec<_> = granted.difference(&called).collect();
    assert!(
        missing.is_empty(),
        "iam/policy.json lacks actions the code calls: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "iam/policy.json grants actions the code never calls: {unused:?}"
    );
}

/// The policy test scans SDK calls wherever they are; the calls must all be in `src/aws/`,
/// the adapters that own the SDK (scripts/check-layout.sh checks the same in CI).
#[test]
fn sdk_calls_live_in_the_aws_adapters_only() {
    let mut stack = vec![common::repo().join("src")];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            files += 1;
            let relative = path.strip_prefix(common::repo()).unwrap().to_owned();
            if relative.starts_with("src/aws") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in [
                "aws_sdk_",
                "aws_config",
                "aws_smithy_",
                "aws_credential_types",
            ] {
                assert!(
                    !text.contains(needle),
                    "{} names {needle}: SDK calls go through src/aws/",
                    relative.display()
                );
            }
        }
    }
    assert!(files > 20, "the scan found too few files");
}

/// Tags are given only at creation (`TagSpecifications`), so the policy allows `CreateTags`
/// only with the `ec2:CreateAction` condition of the actions that create ("Grant permission to
/// tag Amazon EC2 resources during creation",
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html>).
#[test]
fn tags_are_allowed_only_while_creating() {
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("iam/policy.json")).unwrap(),
    )
    .unwrap();
    let tagging: Vec<&serde_json::Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].to_string().contains("ec2:CreateTags"))
        .collect();
    assert_eq!(tagging.len(), 1, "one statement allows ec2:CreateTags");
    let actions = &tagging[0]["Condition"]["StringEquals"]["ec2:CreateAction"];
    assert_eq!(
        actions,
        &serde_json::json!(["RunInstances", "CreateImage", "CopyImage"]),
        "CreateTags is allowed only while RunInstances, CreateImage and CopyImage create"
    );
    assert_eq!(
        tagging[0]["Action"], "ec2:CreateTags",
        "and alone in its statement"
    );
}

/// The CloudFormation calls are allowed only on stacks named with the verify stage's prefix,
/// and `iam:PassRole` only to CloudFormation ("Grant a user permissions to pass a role to an
/// AWS service", <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>:
/// the `iam:PassedToService` condition key), on roles named with the same prefix.
#[test]
fn the_test_stack_rights_are_scoped_to_our_stacks_and_cloudformation() {
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("iam/policy.json")).unwrap(),
    )
    .unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let with = |prefix: &str| -> Vec<&serde_json::Value> {
        statements
            .iter()
            .filter(|s| s["Action"].to_string().contains(prefix))
            .collect()
    };
    let prefix = marketplace_release::domain::stack::StackName::PREFIX;
    for statement in with("cloudformation:") {
        assert_eq!(
            statement["Resource"],
            format!("arn:aws:cloudformation:*:*:stack/{prefix}*/*"),
            "{statement}"
        );
    }
    let pass = with("iam:PassRole");
    assert_eq!(pass.len(), 1, "one statement allows iam:PassRole");
    assert_eq!(pass[0]["Action"], "iam:PassRole", "alone in its statement");
    assert_eq!(
        pass[0]["Condition"]["StringEquals"]["iam:PassedToService"],
        "cloudformation.amazonaws.com"
    );
    assert_eq!(
        pass[0]["Resource"],
        format!("arn:aws:iam::*:role/{prefix}*")
    );
}
