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
                // The EC2 adapter is the folder src/aws/ec2/.
                if path.parent().is_some_and(|dir| dir.ends_with("aws/ec2")) {
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
/// with the `ec2:CreateAction` condition of the actions that create ("Grant permission to
/// tag Amazon EC2 resources during creation",
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html>);
/// the one tag written later, the verification result, only on images that carry our run-ID
/// tag and only for that key ("Control access to EC2 resources using resource tags",
/// <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/control-access-with-tags.html>).
#[test]
fn tags_are_allowed_only_while_creating_and_for_the_verification_result() {
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
    assert_eq!(tagging.len(), 2, "two statements allow ec2:CreateTags");
    for statement in &tagging {
        assert_eq!(
            statement["Action"], "ec2:CreateTags",
            "alone in its statement"
        );
    }
    let actions = &tagging[0]["Condition"]["StringEquals"]["ec2:CreateAction"];
    assert_eq!(
        actions,
        &serde_json::json!(["RunInstances", "CreateImage", "CopyImage"]),
        "CreateTags is allowed while RunInstances, CreateImage and CopyImage create"
    );
    let later = tagging[1];
    assert_eq!(later["Resource"], "arn:aws:ec2:*::image/*", "images only");
    assert_eq!(
        later["Condition"]["Null"]["aws:ResourceTag/marketplace-release:run-id"], "false",
        "only images that carry our run-ID tag"
    );
    assert_eq!(
        later["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"],
        serde_json::json!(["marketplace-release:verification"]),
        "only the verification result's key"
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

// --- The policy against the calls (issue 13) --------------------------------------------------
//
// Nothing in the tests enforces IAM, so a condition that denies our own calls would pass a test
// that only reads the policy. Every `Ec2Stack` and `FakeCatalog` checks, when dropped, every
// call its scenario made against `iam/policy.json` (`common::iam`), so all the end-to-end
// scenarios of this binary fail when the policy would deny one of their calls. The tests below
// show that the evaluator, the logged calls and the lint can each fail.

use common::iam::{arn_like, authorizations, check, glob, Authorization, Decision, Policy};
use common::scenario::{command, Ran, Scenario};
use serde_json::{json, Value};

fn shipped_document() -> Value {
    serde_json::from_str(&std::fs::read_to_string(common::repo().join("iam/policy.json")).unwrap())
        .unwrap()
}

/// The shipped policy with `edit` applied to its statement `sid`.
fn variant(sid: &str, edit: impl FnOnce(&mut Value)) -> Policy {
    let mut document = shipped_document();
    let statement = document["Statement"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no statement {sid}"));
    edit(statement);
    Policy::parse(&document).unwrap()
}

fn one_statement(statement: Value) -> Policy {
    Policy::parse(&json!({"Version": "2012-10-17", "Statement": [statement]})).unwrap()
}

fn request(action: &str, resource: &str, context: &[(&str, &[&str])]) -> Authorization {
    Authorization {
        action: action.into(),
        resource: resource.into(),
        context: context
            .iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect(),
    }
}

fn allowed(policy: &Policy, request: &Authorization) -> bool {
    matches!(policy.decide(request), Decision::Allowed(_))
}

/// A request context as the cases below write it: (key, values).
type Context<'a> = Vec<(&'a str, &'a [&'a str])>;

/// Each operator the evaluator knows allows the matching request and denies the other one.
#[test]
fn each_condition_operator_can_deny() {
    let arn = "arn:aws:ec2:us-east-1:123456789012:instance/i-1";
    let cases: Vec<(Value, Context, Context)> = vec![
        (
            json!({"StringEquals": {"ec2:MetadataHttpTokens": "required"}}),
            vec![("ec2:MetadataHttpTokens", &["required"])],
            vec![("ec2:MetadataHttpTokens", &["optional"])],
        ),
        // An absent key does not hold without IfExists.
        (
            json!({"StringEquals": {"ec2:MetadataHttpTokens": "required"}}),
            vec![("ec2:MetadataHttpTokens", &["required"])],
            vec![],
        ),
        (
            json!({"StringEqualsIfExists": {"ec2:InstanceType": "t3.medium"}}),
            vec![],
            vec![("ec2:InstanceType", &["t3.large"])],
        ),
        (
            json!({"StringLike": {"aws:RequestTag/marketplace-release:run-id": "run-*"}}),
            vec![("aws:RequestTag/marketplace-release:run-id", &["run-42"])],
            vec![("aws:RequestTag/marketplace-release:run-id", &["other-42"])],
        ),
        (
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*:*:instance/*"}}),
            vec![(
                "aws:SourceArn",
                &["arn:aws:ec2:eu-west-1:123456789012:instance/i-9"],
            )],
            vec![(
                "aws:SourceArn",
                &["arn:aws:ec2:eu-west-1:123456789012:volume/vol-9"],
            )],
        ),
        (
            json!({"Bool": {"aws:SecureTransport": "true"}}),
            vec![("aws:SecureTransport", &["true"])],
            vec![("aws:SecureTransport", &["false"])],
        ),
        (
            json!({"Null": {"aws:ResourceTag/marketplace-release:run-id": "false"}}),
            vec![("aws:ResourceTag/marketplace-release:run-id", &["run-1"])],
            vec![("aws:ResourceTag/Name", &["someone else's"])],
        ),
        (
            json!({"Null": {"aws:ResourceTag/marketplace-release:run-id": "true"}}),
            vec![],
            vec![("aws:ResourceTag/marketplace-release:run-id", &["run-1"])],
        ),
        (
            json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["marketplace-release:run-id"]}}),
            vec![("aws:TagKeys", &["Name", "marketplace-release:run-id"])],
            vec![("aws:TagKeys", &["Name"])],
        ),
        (
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["Name", "marketplace-release:run-id"]}}),
            vec![("aws:TagKeys", &["Name", "marketplace-release:run-id"])],
            vec![("aws:TagKeys", &["Name", "Owner"])],
        ),
        // Two keys of one operator must both hold.
        (
            json!({"StringEquals": {"ec2:MetadataHttpTokens": "required", "aws:RequestTag/marketplace-release:role": "builder"}}),
            vec![
                ("ec2:MetadataHttpTokens", &["required"]),
                ("aws:RequestTag/marketplace-release:role", &["builder"]),
            ],
            vec![("ec2:MetadataHttpTokens", &["required"])],
        ),
    ];
    for (condition, allow, deny) in cases {
        let policy = one_statement(
            json!({"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "arn:aws:ec2:*:*:instance/*", "Condition": condition}),
        );
        assert!(
            allowed(&policy, &request("ec2:RunInstances", arn, &allow)),
            "{condition} should allow {allow:?}"
        );
        assert_eq!(
            policy.decide(&request("ec2:RunInstances", arn, &deny)),
            Decision::ImplicitDeny,
            "{condition} should deny {deny:?}"
        );
    }
    // Action, Resource and Deny.
    let policy =
        one_statement(json!({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}));
    assert!(allowed(&policy, &request("ec2:DescribeImages", "*", &[])));
    assert!(allowed(&policy, &request("EC2:describeimages", "*", &[])));
    assert!(!allowed(&policy, &request("ec2:DeregisterImage", "*", &[])));
    let policy = one_statement(
        json!({"Effect": "Allow", "Action": "ec2:DeregisterImage", "Resource": "arn:aws:ec2:*::image/*"}),
    );
    assert!(allowed(
        &policy,
        &request(
            "ec2:DeregisterImage",
            "arn:aws:ec2:us-east-1::image/ami-1",
            &[]
        )
    ));
    assert!(!allowed(
        &policy,
        &request(
            "ec2:DeregisterImage",
            "arn:aws:ec2:us-east-1::snapshot/snap-1",
            &[]
        )
    ));
    assert!(
        !allowed(&policy, &request("ec2:DescribeImages", "*", &[])),
        "an ARN pattern is not `*`"
    );
    let policy = Policy::parse(&json!({"Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Sid": "NoPublicImages", "Effect": "Deny", "Action": "ec2:ModifyImageAttribute", "Resource": "*"},
    ]}))
    .unwrap();
    assert_eq!(
        policy.decide(&request(
            "ec2:ModifyImageAttribute",
            "arn:aws:ec2:us-east-1::image/ami-1",
            &[]
        )),
        Decision::ExplicitDeny("NoPublicImages".into())
    );
}

#[test]
fn wildcards_match_whole_strings_and_arns_part_by_part() {
    assert!(glob(
        "arn:aws:ec2:*::image/*",
        "arn:aws:ec2:eu-west-1::image/ami-1"
    ));
    assert!(!glob(
        "arn:aws:ec2:*::image/*",
        "arn:aws:ec2:eu-west-1:123456789012:instance/i-1"
    ));
    assert!(glob("a?c", "abc") && !glob("a?c", "ac") && glob("*", "") && !glob("ab", "abc"));
    assert!(arn_like(
        "arn:aws:iam::*:role/*",
        "arn:aws:iam::123456789012:role/Release"
    ));
    // `*` in ArnLike stays within its part.
    assert!(!arn_like(
        "arn:aws:ec2:*:instance/*",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-1"
    ));
    assert!(!arn_like("arn:aws:ec2:*:*:instance/*", "not-an-arn"));
}

/// What this evaluator does not evaluate is refused, never judged.
#[test]
fn unknown_operators_and_elements_are_refused() {
    for statement in [
        json!({"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"StringNotEquals": {"ec2:Region": "us-east-1"}}}),
        json!({"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"NumericLessThan": {"ec2:VolumeSize": "10"}}}),
        json!({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        json!({"Effect": "Allow", "Action": "ec2:*", "NotResource": "*"}),
        json!({"Effect": "Allow", "Action": "ec2:*", "Resource": "arn:aws:ec2:*:${aws:PrincipalAccount}:instance/*"}),
    ] {
        assert!(
            Policy::parse(&json!({"Statement": [statement]})).is_err(),
            "{statement} must be refused"
        );
    }
    let unknown = json!({"service": "cloudformation", "action": "UpdateStack", "region": "us-east-1", "params": {}});
    let message = authorizations(&unknown).unwrap_err();
    assert!(message.contains("cloudformation:UpdateStack"), "{message}");
}

/// A RunInstances as the proxy logs it: the builder's tags on the instance and its volumes.
fn run_instances(http_tokens: Option<&str>, role: &str) -> Value {
    let mut params = json!({
        "Action": "RunInstances", "ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.medium",
        "MinCount": "1", "MaxCount": "1",
        "TagSpecification.1.ResourceType": "instance",
        "TagSpecification.1.Tag.1.Key": "marketplace-release:run-id", "TagSpecification.1.Tag.1.Value": "run-1",
        "TagSpecification.1.Tag.2.Key": "marketplace-release:role", "TagSpecification.1.Tag.2.Value": role,
        "TagSpecification.2.ResourceType": "volume",
        "TagSpecification.2.Tag.1.Key": "marketplace-release:run-id", "TagSpecification.2.Tag.1.Value": "run-1",
        "TagSpecification.2.Tag.2.Key": "marketplace-release:role", "TagSpecification.2.Tag.2.Value": role,
    });
    if let Some(tokens) = http_tokens {
        params["MetadataOptions.HttpTokens"] = json!(tokens);
    }
    json!({"service": "ec2", "action": "RunInstances", "region": "eu-west-1", "params": params, "tags": {}})
}

fn denied_actions(policy: &Policy, call: &Value) -> Vec<String> {
    let report = check(policy, std::slice::from_ref(call));
    report.denied
}

/// The issue's example of a test that can fail: a policy variant that lets RunInstances
/// through only with `HttpTokens=optional` denies the builder's launch, and the shipped
/// policy denies a launch that does not require IMDSv2.
#[test]
fn a_launch_is_allowed_only_with_imdsv2_required() {
    let shipped = Policy::shipped();
    assert!(denied_actions(&shipped, &run_instances(Some("required"), "builder")).is_empty());
    let optional = variant("LaunchOnlyTaggedBuildersThatRequireImdsv2", |s| {
        s["Condition"]["StringEquals"]["ec2:MetadataHttpTokens"] = json!("optional");
    });
    let denied = denied_actions(&optional, &run_instances(Some("required"), "builder"));
    assert!(
        denied.iter().any(
            |d| d.contains("ec2:RunInstances on arn:aws:ec2:eu-west-1:123456789012:instance/*")
        ),
        "{denied:?}"
    );
    for call in [
        run_instances(Some("optional"), "builder"),
        run_instances(None, "builder"),
        run_instances(Some("required"), "worker"),
    ] {
        assert!(
            !denied_actions(&shipped, &call).is_empty(),
            "the shipped policy must deny {call}"
        );
    }
}

/// The findings of the security review, as calls: each is denied by the shipped policy.
#[test]
fn the_shipped_policy_denies_what_the_review_found() {
    let shipped = Policy::shipped();
    let untagged = json!({"i-0someone": {"Name": "database"}, "ami-0someone": {"Name": "private"}, "snap-0someone": {}});
    let calls = [
        // Tagging after creation (an instance tagged as a builder).
        json!({"service": "ec2", "action": "CreateTags", "region": "us-east-1", "params": {"ResourceId.1": "i-0someone", "Tag.1.Key": "marketplace-release:role", "Tag.1.Value": "builder", "Tag.2.Key": "marketplace-release:run-id", "Tag.2.Value": "x"}, "tags": untagged}),
        // Terminating, reading the console of, imaging any instance.
        json!({"service": "ec2", "action": "TerminateInstances", "region": "us-east-1", "params": {"InstanceId.1": "i-0someone"}, "tags": untagged}),
        json!({"service": "ec2", "action": "GetConsoleOutput", "region": "us-east-1", "params": {"InstanceId": "i-0someone"}, "tags": untagged}),
        json!({"service": "ec2", "action": "CreateImage", "region": "us-east-1", "params": {"InstanceId": "i-0someone", "Name": "x", "TagSpecification.1.ResourceType": "image", "TagSpecification.1.Tag.1.Key": "marketplace-release:run-id", "TagSpecification.1.Tag.1.Value": "x"}, "tags": untagged}),
        // Publishing or deleting any image or snapshot.
        json!({"service": "ec2", "action": "ModifyImageAttribute", "region": "us-east-1", "params": {"ImageId": "ami-0someone", "LaunchPermission.Add.1.Group": "all"}, "tags": untagged}),
        json!({"service": "ec2", "action": "ModifySnapshotAttribute", "region": "us-east-1", "params": {"SnapshotId": "snap-0someone", "CreateVolumePermission.Add.1.Group": "all"}, "tags": untagged}),
        json!({"service": "ec2", "action": "DeregisterImage", "region": "us-east-1", "params": {"ImageId": "ami-0someone"}, "tags": untagged}),
        json!({"service": "ec2", "action": "DeleteSnapshot", "region": "us-east-1", "params": {"SnapshotId": "snap-0someone"}, "tags": untagged}),
        // A copy without our tags.
        json!({"service": "ec2", "action": "CopyImage", "region": "eu-west-1", "params": {"SourceRegion": "us-east-1", "SourceImageId": "ami-0someone", "Name": "x"}, "tags": {}}),
        // Any other change type, or another kind of entity.
        json!({"service": "aws-marketplace", "action": "StartChangeSet", "region": "us-east-1", "intent": "APPLY", "changes": [{"change_type": "UpdateVisibility", "entity_arn": "arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/AmiProduct/prod-1"}]}),
        json!({"service": "aws-marketplace", "action": "StartChangeSet", "region": "us-east-1", "intent": "APPLY", "changes": [{"change_type": "AddDeliveryOptions", "entity_arn": "arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/ContainerProduct/prod-1"}]}),
    ];
    for call in calls {
        assert!(
            !denied_actions(&shipped, &call).is_empty(),
            "the shipped policy must deny {call}"
        );
    }
    // And allows the same calls on what the tool made.
    let ours = json!({"i-0builder": {"marketplace-release:role": "builder", "marketplace-release:run-id": "r"}, "ami-0ours": {"marketplace-release:run-id": "r"}});
    for call in [
        json!({"service": "ec2", "action": "TerminateInstances", "region": "us-east-1", "params": {"InstanceId.1": "i-0builder"}, "tags": ours}),
        json!({"service": "ec2", "action": "ModifyImageAttribute", "region": "us-east-1", "params": {"ImageId": "ami-0ours", "LaunchPermission.Add.1.Group": "all"}, "tags": ours}),
        json!({"service": "aws-marketplace", "action": "StartChangeSet", "region": "us-east-1", "intent": "APPLY", "changes": [{"change_type": "AddDeliveryOptions", "entity_arn": "arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/AmiProduct/prod-1"}]}),
    ] {
        assert!(
            denied_actions(&shipped, &call).is_empty(),
            "the shipped policy must allow {call}"
        );
    }
}

/// A real release (build, copy to two regions, share publicly and with an account, snapshots
/// too): the proxy's log carries what the conditions read, so the shipped policy allows every
/// call, and variants with one condition turned around deny the calls that condition guards.
#[test]
fn a_release_is_allowed_and_each_condition_guards_its_calls() {
    let scenario = Scenario::new(
        &["us-east-1", "eu-west-1"],
        "sharing:\n  public: true\n  accounts: ['210987654321']\n  snapshot-permissions: true\n",
    )
    .playing(json!({"builder": {"stop_after_s": 0.2}}));
    let stack = scenario.stack();
    let Ran { out, .. } = scenario.cli(&command("release", "1.0.0", &["--no-publish"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = stack.call_log();
    let report = check(&Policy::shipped(), &calls);
    assert!(report.denied.is_empty(), "{:?}", report.denied);
    for action in [
        "ec2:RunInstances",
        "ec2:GetConsoleOutput",
        "ec2:TerminateInstances",
        "ec2:CreateImage",
        "ec2:CopyImage",
        "ec2:ModifyImageAttribute",
        "ec2:ModifySnapshotAttribute",
    ] {
        assert!(
            report.calls.get(action).is_some_and(|n| *n > 0),
            "no {action} in {report}"
        );
    }
    let denied = |policy: Policy| -> Vec<String> {
        check(&policy, &calls)
            .denied
            .iter()
            .map(|d| d.split(" on ").next().unwrap().to_owned())
            .collect()
    };
    let expect = |policy: Policy, actions: &[&str]| {
        let denied = denied(policy);
        for action in actions {
            assert!(
                denied.iter().any(|d| d.ends_with(action)),
                "{action} not denied: {denied:?}"
            );
        }
    };
    expect(
        variant("LaunchOnlyTaggedBuildersThatRequireImdsv2", |s| {
            s["Condition"]["StringEquals"]["ec2:MetadataHttpTokens"] = json!("optional");
        }),
        &["ec2:RunInstances"],
    );
    expect(
        variant("WatchOnlyTheBuilder", |s| {
            s["Condition"]["StringEquals"]["aws:ResourceTag/marketplace-release:role"] =
                json!("worker");
        }),
        &["ec2:GetConsoleOutput", "ec2:TerminateInstances"],
    );
    expect(
        variant("ImageOnlyTheBuilder", |s| {
            s["Condition"]["StringEquals"]["aws:ResourceTag/marketplace-release:role"] =
                json!("worker");
        }),
        &["ec2:CreateImage"],
    );
    expect(
        variant("ShareAndRemoveOnlyImagesAndSnapshotsTaggedWithARun", |s| {
            s["Condition"]["Null"]["aws:ResourceTag/marketplace-release:run-id"] = json!("true");
        }),
        &["ec2:ModifyImageAttribute", "ec2:ModifySnapshotAttribute"],
    );
    expect(
        variant("MakeOnlyImagesAndSnapshotsTaggedWithARun", |s| {
            s["Condition"]["Null"]["aws:RequestTag/marketplace-release:run-id"] = json!("true");
        }),
        &["ec2:CreateImage", "ec2:CopyImage"],
    );
    expect(
        variant("TagOnlyWhileCreating", |s| {
            s["Condition"]["StringEquals"]["ec2:CreateAction"] = json!(["CreateImage"]);
        }),
        &["ec2:CreateTags"],
    );
}

/// parliament (PyPI) checks the actions, condition keys and resource ARNs against its copy of
/// AWS's Service Authorization Reference (`tests/support/lint_policy.py`): the shipped policy
/// has no finding, and a misspelt condition key or action is one.
#[test]
fn the_policy_lints_clean_with_parliament() {
    let python = common::venv_python();
    let has = std::process::Command::new(&python)
        .args(["-c", "import parliament"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has,
        "parliament is not installed for {}: run the README's test command (bash scripts/test.sh), which installs tests/requirements.txt",
        python.display()
    );
    let lint = |path: &std::path::Path| {
        std::process::Command::new(&python)
            .arg(common::repo().join("tests/support/lint_policy.py"))
            .arg(path)
            .output()
            .unwrap()
    };
    let out = lint(&common::repo().join("iam/policy.json"));
    assert!(
        out.status.success(),
        "parliament finds:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    for (needle, replacement, finding) in [
        (
            "ec2:MetadataHttpTokens",
            "ec2:MetadataHttpToken",
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
        (
            "catalog:ChangeType",
            "catalog:ChangeTypes",
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
        (
            "\"ec2:GetConsoleOutput\"",
            "\"ec2:GetConsoleOutputs\"",
            "UNKNOWN_ACTION",
        ),
    ] {
        let text = std::fs::read_to_string(common::repo().join("iam/policy.json")).unwrap();
        assert!(text.contains(needle));
        let path = dir.path().join("policy.json");
        std::fs::write(&path, text.replacen(needle, replacement, 1)).unwrap();
        let out = lint(&path);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() && stdout.contains(finding),
            "{replacement}: {stdout}"
        );
    }
}
