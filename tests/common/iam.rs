//! Whether `iam/policy.json` allows the AWS calls a scenario made: the calls the EC2 proxy
//! (`tests/support/ec2_proxy.py`, `EC2_PROXY_CALL_LOG`) and the Catalog fake
//! (`tests/common/catalog.rs`) logged are turned into the authorizations AWS makes for them
//! ([`authorizations`]), and each is decided against the policy ([`Policy::decide`]).
//!
//! Nothing on PyPI or crates.io evaluates conditions for a request: moto's IAM access control
//! ignores every condition operator but StringEquals ("If the evaluation operation is not
//! supported, ignore condition evaluation", `moto/iam/policy_conditions.py`), policyuniverse and
//! policy-sentry parse and write policies, and the Rust `scratchstack-aspen` (last release
//! January 2023) has no `ForAnyValue`/`ForAllValues`. So this is a small evaluator for exactly
//! the policy language `iam/policy.json` uses, from "Policy evaluation logic"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>)
//! and "IAM JSON policy elements: Condition operators"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>):
//! - a request is allowed when a statement with `"Effect": "Allow"` matches it and none with
//!   `"Effect": "Deny"` does; otherwise it is denied (implicitly when nothing matched);
//! - a statement matches when one of its `Action`s matches the action (case-insensitive, `*`
//!   and `?` wildcards), one of its `Resource`s matches the resource ARN (case-sensitive
//!   wildcards; an action without resource-level permissions is authorized on `*`, which only
//!   `"Resource": "*"` matches), and every condition holds;
//! - conditions: every operator, every key within it, must hold (AND); the values listed for a
//!   key are alternatives (OR). Condition key names are case-insensitive. Operators:
//!   `StringEquals`, `StringLike` (case-sensitive, `*` and `?`), `ArnLike` (each of the six
//!   colon-separated ARN parts matched with wildcards), `Bool`, `Null` (`"true"`: the key is
//!   absent; `"false"`: present), with the `IfExists` suffix (an absent key holds) and the
//!   `ForAnyValue:` / `ForAllValues:` prefixes for multivalued keys (`aws:TagKeys`):
//!   `ForAnyValue` holds when some value of the request matches (never for an absent key),
//!   `ForAllValues` when every one does (always for an absent or empty key). Without a prefix,
//!   an absent key does not hold.
//!
//! Anything else (`NotAction`, `NotResource`, `Principal`, policy variables `${…}`, negated or
//! numeric operators) is refused when the policy is read, so a policy that grows beyond this
//! evaluator fails loudly instead of being judged wrongly.

use std::collections::BTreeMap;

use serde_json::Value;

/// moto's account (and the Catalog fake's).
pub const ACCOUNT: &str = "123456789012";

/// One authorization AWS makes for a call: an action on one resource, with the request
/// context its conditions read. Context keys are lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// `ec2:RunInstances`.
    pub action: String,
    /// The resource ARN, or `*` for actions without resource-level permissions.
    pub resource: String,
    /// Condition key (lowercase) → values (one for single-valued keys).
    pub context: BTreeMap<String, Vec<String>>,
}

impl Authorization {
    fn new(action: &str, resource: String) -> Self {
        Self {
            action: action.to_owned(),
            resource,
            context: BTreeMap::new(),
        }
    }

    fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.context
            .entry(key.to_ascii_lowercase())
            .or_default()
            .push(value.into());
        self
    }

    /// `aws:RequestTag/K` for each tag and `aws:TagKeys` (tags given in the request).
    fn request_tags(mut self, tags: &[(String, String)]) -> Self {
        for (key, value) in tags {
            self = self.with(&format!("aws:RequestTag/{key}"), value.clone());
            self = self.with("aws:TagKeys", key.clone());
        }
        self
    }

    /// `aws:ResourceTag/K` and `ec2:ResourceTag/K` for each tag of an existing resource.
    fn resource_tags(mut self, tags: &BTreeMap<String, String>) -> Self {
        for (key, value) in tags {
            self = self.with(&format!("aws:ResourceTag/{key}"), value.clone());
            self = self.with(&format!("ec2:ResourceTag/{key}"), value.clone());
        }
        self
    }
}

impl std::fmt::Display for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} on {} with {:?}",
            self.action, self.resource, self.context
        )
    }
}

/// What the policy says of one authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by the statement with this Sid (or its index).
    Allowed(String),
    /// No statement allows it.
    ImplicitDeny,
    /// Denied by the statement with this Sid.
    ExplicitDeny(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    StringEquals,
    StringLike,
    ArnLike,
    Bool,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Single,
    AnyValue,
    AllValues,
}

#[derive(Debug, Clone)]
struct Condition {
    operator: Operator,
    set: Set,
    if_exists: bool,
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Statement {
    sid: String,
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

/// An identity policy, read once.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, String> {
    let list = match value {
        Value::String(one) => vec![one.clone()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(many) => many
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(format!("{what}: {other} is not a string")),
            })
            .collect::<Result<_, _>>()?,
        other => return Err(format!("{what}: {other} is not a string or a list")),
    };
    if let Some(variable) = list.iter().find(|s| s.contains("${")) {
        return Err(format!(
            "{what}: policy variables are not evaluated here ({variable})"
        ));
    }
    Ok(list)
}

fn operator(name: &str) -> Result<(Operator, Set, bool), String> {
    let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Set::AnyValue, rest)
    } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Set::AllValues, rest)
    } else {
        (Set::Single, name)
    };
    let (rest, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let operator = match rest {
        "StringEquals" => Operator::StringEquals,
        "StringLike" => Operator::StringLike,
        "ArnLike" => Operator::ArnLike,
        "Bool" => Operator::Bool,
        "Null" if set == Set::Single && !if_exists => Operator::Null,
        _ => {
            return Err(format!(
                "the condition operator {name} is not one tests/common/iam.rs evaluates: add it there, with a test that it can deny"
            ))
        }
    };
    Ok((operator, set, if_exists))
}

impl Policy {
    /// Reads a policy document; refuses what this evaluator does not evaluate.
    pub fn parse(document: &Value) -> Result<Self, String> {
        let statements = match &document["Statement"] {
            Value::Array(many) => many.clone(),
            one @ Value::Object(_) => vec![one.clone()],
            other => return Err(format!("Statement: {other} is not a list")),
        };
        let mut out = Vec::new();
        for (n, statement) in statements.iter().enumerate() {
            let object = statement
                .as_object()
                .ok_or_else(|| format!("statement {n} is not an object"))?;
            let sid = object
                .get("Sid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("statement {n}"), str::to_owned);
            for key in object.keys() {
                if !["Sid", "Effect", "Action", "Resource", "Condition"].contains(&key.as_str()) {
                    return Err(format!("{sid}: {key} is not evaluated here"));
                }
            }
            let allow = match object.get("Effect").and_then(Value::as_str) {
                Some("Allow") => true,
                Some("Deny") => false,
                other => return Err(format!("{sid}: Effect {other:?}")),
            };
            let actions = strings(&statement["Action"], &format!("{sid}: Action"))?;
            let resources = strings(&statement["Resource"], &format!("{sid}: Resource"))?;
            let mut conditions = Vec::new();
            if let Some(block) = object.get("Condition") {
                let block = block
                    .as_object()
                    .ok_or_else(|| format!("{sid}: Condition is not an object"))?;
                for (name, keys) in block {
                    let (operator, set, if_exists) = operator(name)?;
                    let keys = keys
                        .as_object()
                        .ok_or_else(|| format!("{sid}: {name} is not an object"))?;
                    for (key, values) in keys {
                        conditions.push(Condition {
                            operator,
                            set,
                            if_exists,
                            key: key.to_ascii_lowercase(),
                            values: strings(values, &format!("{sid}: {name} {key}"))?,
                        });
                    }
                }
            }
            out.push(Statement {
                sid,
                allow,
                actions,
                resources,
                conditions,
            });
        }
        Ok(Self { statements: out })
    }

    /// `iam/policy.json`.
    pub fn shipped() -> Self {
        let path = super::repo().join("iam/policy.json");
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        Self::parse(&document).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Allowed, implicitly denied or explicitly denied.
    pub fn decide(&self, request: &Authorization) -> Decision {
        let mut allowed = None;
        for statement in &self.statements {
            if !statement.matches(request) {
                continue;
            }
            if !statement.allow {
                return Decision::ExplicitDeny(statement.sid.clone());
            }
            allowed.get_or_insert_with(|| statement.sid.clone());
        }
        allowed.map_or(Decision::ImplicitDeny, Decision::Allowed)
    }
}

impl Statement {
    fn matches(&self, request: &Authorization) -> bool {
        self.actions.iter().any(|a| {
            glob(
                &a.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        }) && self.resources.iter().any(|r| glob(r, &request.resource))
            && self.conditions.iter().all(|c| c.holds(&request.context))
    }
}

impl Condition {
    fn holds(&self, context: &BTreeMap<String, Vec<String>>) -> bool {
        let present = context.get(&self.key).filter(|v| !v.is_empty());
        if self.operator == Operator::Null {
            return self
                .values
                .iter()
                .any(|v| (v == "true") == present.is_none());
        }
        let one = |value: &String| self.values.iter().any(|p| self.compare(p, value));
        match (self.set, present) {
            (Set::Single, None) => self.if_exists,
            (Set::Single, Some(values)) => {
                assert_eq!(
                    values.len(),
                    1,
                    "{} has several values in the request: the policy needs ForAnyValue or ForAllValues",
                    self.key
                );
                one(&values[0])
            }
            (Set::AnyValue, None) => false,
            (Set::AnyValue, Some(values)) => values.iter().any(one),
            (Set::AllValues, None) => true,
            (Set::AllValues, Some(values)) => values.iter().all(one),
        }
    }

    fn compare(&self, pattern: &str, value: &str) -> bool {
        match self.operator {
            Operator::StringEquals => pattern == value,
            Operator::StringLike => glob(pattern, value),
            Operator::ArnLike => arn_like(pattern, value),
            Operator::Bool => pattern.eq_ignore_ascii_case(value),
            Operator::Null => unreachable!("Null reads presence only"),
        }
    }
}

/// `*` (any run, empty too) and `?` (one character) wildcards over the whole text.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // matched[j]: the pattern so far matches the text's first j characters.
    let mut matched = vec![false; t.len() + 1];
    matched[0] = true;
    for c in &p {
        let mut next = vec![false; t.len() + 1];
        match c {
            '*' => {
                let mut seen = false;
                for j in 0..=t.len() {
                    seen |= matched[j];
                    next[j] = seen;
                }
            }
            _ => {
                for j in 1..=t.len() {
                    next[j] = matched[j - 1] && (*c == '?' || *c == t[j - 1]);
                }
            }
        }
        matched = next;
    }
    matched[t.len()]
}

/// ArnLike: both are ARNs, and each of the six parts (`arn`, partition, service, region,
/// account, resource) matches with wildcards.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    let (p, a): (Vec<&str>, Vec<&str>) = (
        pattern.splitn(6, ':').collect(),
        arn.splitn(6, ':').collect(),
    );
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a))
}

// --- What AWS authorizes for each call --------------------------------------------------------

fn params(call: &Value) -> BTreeMap<String, String> {
    call["params"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The values of `name` and `name.N`, in N order.
fn indexed(params: &BTreeMap<String, String>, name: &str) -> Vec<String> {
    let mut numbered: Vec<(u32, String)> = params
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix(name)?.strip_prefix('.')?.parse().ok()?;
            Some((n, v.clone()))
        })
        .collect();
    numbered.sort();
    params
        .get(name)
        .cloned()
        .into_iter()
        .chain(numbered.into_iter().map(|(_, v)| v))
        .collect()
}

/// `TagSpecification.N`: resource type → tags.
fn tag_specifications(
    params: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for n in 1.. {
        let prefix = format!("TagSpecification.{n}.");
        let Some(kind) = params.get(&format!("{prefix}ResourceType")) else {
            break;
        };
        let tags = out.entry(kind.clone()).or_default();
        for m in 1.. {
            let Some(key) = params.get(&format!("{prefix}Tag.{m}.Key")) else {
                break;
            };
            let value = params
                .get(&format!("{prefix}Tag.{m}.Value"))
                .cloned()
                .unwrap_or_default();
            tags.push((key.clone(), value));
        }
    }
    out
}

fn tags_of(call: &Value, id: &str) -> BTreeMap<String, String> {
    call["tags"][id]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn ec2_arn(region: &str, kind: &str, id: &str) -> String {
    // Images and snapshots have no account in their ARN (Service Authorization Reference for
    // Amazon EC2, "Resource types defined by Amazon EC2").
    let account = if matches!(kind, "image" | "snapshot") {
        ""
    } else {
        ACCOUNT
    };
    format!("arn:aws:ec2:{region}:{account}:{kind}/{id}")
}

/// The authorizations AWS makes for one logged call, from the Service Authorization Reference
/// (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html>,
/// `…/list_awsmarketplacecatalog.html`, `…/list_awsidentityandaccessmanagementiam.html`,
/// `…/list_servicequotas.html`, `…/list_awscloudformation.html`): one per resource type the action authorizes, with the
/// condition keys listed for it; and the tag-on-create rule of "Grant permission to tag Amazon
/// EC2 resources during creation"
/// (<https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html>):
/// tags given in `TagSpecifications` are also authorized as `ec2:CreateTags` on each new
/// resource, with `ec2:CreateAction` set to the creating action.
///
/// Where the reference leaves open whether a request-level key reaches a resource that is not
/// being created (the image, subnet and security group of RunInstances; the source image of
/// CopyImage, which is authorized since October 2024, "Grant permissions to copy Amazon EC2
/// AMIs", <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/copy-ami-permissions.html>),
/// it is left out: a policy that relies on it is refused here rather than at AWS.
///
/// An action this model does not know is an error naming it, so a new call (another Catalog
/// action, another CloudFormation action) fails the check until its authorization is added
/// here.
pub fn authorizations(call: &Value) -> Result<Vec<Authorization>, String> {
    let service = call["service"].as_str().unwrap_or_default();
    let action = call["action"].as_str().unwrap_or_default();
    let region = call["region"].as_str().unwrap_or("us-east-1");
    let params = params(call);
    let name = format!("{service}:{action}");
    let at = |kind: &str, id: &str| Authorization::new(&name, ec2_arn(region, kind, id));
    let on_create = |kind: &str, tags: &[(String, String)]| {
        Authorization::new("ec2:CreateTags", ec2_arn(region, kind, "*"))
            .with("ec2:CreateAction", action)
            .request_tags(tags)
    };
    let specs = tag_specifications(&params);
    let spec = |kind: &str| specs.get(kind).cloned().unwrap_or_default();
    let mut out = Vec::new();
    match (service, action) {
        // No resource-level permissions: "*" only.
        (
            "ec2",
            "DescribeImages" | "DescribeInstances" | "DescribeRegions" | "DescribeSnapshots"
            | "GetEbsEncryptionByDefault" | "GetImageBlockPublicAccessState",
        ) => out.push(Authorization::new(&name, "*".into()).with("ec2:Region", region)),
        ("ec2", "RunInstances") => {
            let mut instance = at("instance", "*")
                .with("ec2:Region", region)
                .request_tags(&spec("instance"));
            if let Some(tokens) = params.get("MetadataOptions.HttpTokens") {
                instance = instance.with("ec2:MetadataHttpTokens", tokens.clone());
            }
            if let Some(kind) = params.get("InstanceType") {
                instance = instance.with("ec2:InstanceType", kind.clone());
            }
            out.push(instance);
            // The root volume is created with every launch.
            out.push(
                at("volume", "*")
                    .with("ec2:Region", region)
                    .request_tags(&spec("volume")),
            );
            let image = params.get("ImageId").cloned().unwrap_or_default();
            if let Some(parameter) = image.strip_prefix("resolve:ssm:") {
                // RunInstances' dependent action ssm:GetParameters; a public parameter's ARN
                // has no account.
                let account = if parameter.starts_with("/aws/service/") {
                    ""
                } else {
                    ACCOUNT
                };
                out.push(Authorization::new(
                    "ssm:GetParameters",
                    format!("arn:aws:ssm:{region}:{account}:parameter{parameter}"),
                ));
                out.push(at("image", "*").with("ec2:Region", region));
            } else {
                out.push(at("image", &image).with("ec2:Region", region));
            }
            // The default subnet and security group when none is given.
            let subnet = params.get("SubnetId").cloned().unwrap_or_else(|| "*".into());
            out.push(at("subnet", &subnet).with("ec2:Region", region));
            out.push(at("network-interface", "*").with("ec2:Region", region));
            let groups = indexed(&params, "SecurityGroupId");
            for group in if groups.is_empty() { vec!["*".into()] } else { groups } {
                out.push(at("security-group", &group).with("ec2:Region", region));
            }
            for (kind, tags) in &specs {
                out.push(on_create(kind, tags));
            }
        }
        ("ec2", "CreateImage") => {
            let instance = params.get("InstanceId").cloned().unwrap_or_default();
            out.push(
                at("instance", &instance)
                    .with("ec2:Region", region)
                    .resource_tags(&tags_of(call, &instance)),
            );
            out.push(at("image", "*").with("ec2:Region", region).request_tags(&spec("image")));
            out.push(
                at("snapshot", "*")
                    .with("ec2:Region", region)
                    .request_tags(&spec("snapshot")),
            );
            for (kind, tags) in &specs {
                out.push(on_create(kind, tags));
            }
        }
        ("ec2", "CopyImage") => {
            let source_region = params.get("SourceRegion").cloned().unwrap_or_default();
            let source = params.get("SourceImageId").cloned().unwrap_or_default();
            out.push(
                Authorization::new(&name, ec2_arn(&source_region, "image", &source))
                    .with("ec2:Region", region),
            );
            out.push(at("image", "*").with("ec2:Region", region).request_tags(&spec("image")));
            out.push(
                at("snapshot", "*")
                    .with("ec2:Region", region)
                    .request_tags(&spec("snapshot")),
            );
            for (kind, tags) in &specs {
                out.push(on_create(kind, tags));
            }
        }
        (
            "ec2",
            "GetConsoleOutput" | "TerminateInstances" | "ModifyImageAttribute" | "DeregisterImage"
            | "ModifySnapshotAttribute" | "DeleteSnapshot",
        ) => {
            let (kind, parameter) = match action {
                "GetConsoleOutput" | "TerminateInstances" => ("instance", "InstanceId"),
                "ModifyImageAttribute" | "DeregisterImage" => ("image", "ImageId"),
                _ => ("snapshot", "SnapshotId"),
            };
            let ids = indexed(&params, parameter);
            if ids.is_empty() {
                return Err(format!("{name} names no {parameter}"));
            }
            for id in ids {
                out.push(
                    at(kind, &id)
                        .with("ec2:Region", region)
                        .resource_tags(&tags_of(call, &id)),
                );
            }
        }
        // CreateTags on existing resources: no ec2:CreateAction.
        ("ec2", "CreateTags") => {
            let tags: Vec<(String, String)> = (1..)
                .map_while(|m| {
                    let key = params.get(&format!("Tag.{m}.Key"))?;
                    Some((key.clone(), params.get(&format!("Tag.{m}.Value")).cloned().unwrap_or_default()))
                })
                .collect();
            for id in indexed(&params, "ResourceId") {
                let kind = match id.split('-').next() {
                    Some("i") => "instance",
                    Some("ami") => "image",
                    Some("snap") => "snapshot",
                    Some("vol") => "volume",
                    other => return Err(format!("CreateTags on {other:?} resources is not modelled")),
                };
                out.push(
                    at(kind, &id)
                        .with("ec2:Region", region)
                        .request_tags(&tags)
                        .resource_tags(&tags_of(call, &id)),
                );
            }
        }
        // "No permissions are required to perform this operation" (STS API reference,
        // GetCallerIdentity).
        ("sts", "GetCallerIdentity") => {}
        ("iam", "GetRole" | "ListAttachedRolePolicies") => {
            let role = params.get("RoleName").cloned().unwrap_or_default();
            out.push(Authorization::new(
                &name,
                format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
            ));
        }
        ("servicequotas", "GetServiceQuota" | "GetAWSDefaultServiceQuota") => {
            out.push(Authorization::new(&name, "*".into()));
        }
        // Service Authorization Reference for AWS CloudFormation
        // (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html>):
        // each stack action authorizes the `stack` resource,
        // `arn:${Partition}:cloudformation:${Region}:${Account}:stack/${StackName}/${Id}`;
        // CreateStack with the request's tags and `cloudformation:RoleArn`, and passing the
        // service role is `iam:PassRole` on it with `iam:PassedToService` ("Grant a user
        // permissions to pass a role to an AWS service",
        // <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>).
        ("cloudformation", "CreateStack" | "DescribeStacks" | "DescribeStackEvents" | "DeleteStack") => {
            let stack = params.get("StackName").cloned().unwrap_or_default();
            // A unique stack ID is the stack's ARN; a name stands for any of its IDs.
            let arn = if stack.starts_with("arn:") {
                stack
            } else {
                format!("arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{stack}/*")
            };
            let mut request = Authorization::new(&name, arn);
            if action == "CreateStack" {
                let mut tags = Vec::new();
                for n in 1.. {
                    let Some(key) = params.get(&format!("Tags.member.{n}.Key")) else {
                        break;
                    };
                    let value = params
                        .get(&format!("Tags.member.{n}.Value"))
                        .cloned()
                        .unwrap_or_default();
                    tags.push((key.clone(), value));
                }
                request = request.request_tags(&tags);
                if let Some(role) = params.get("RoleARN") {
                    request = request.with("cloudformation:RoleArn", role.clone());
                    out.push(
                        Authorization::new("iam:PassRole", role.clone())
                            .with("iam:PassedToService", "cloudformation.amazonaws.com"),
                    );
                }
            }
            out.push(request);
        }
        // The Catalog fake's log (tests/common/catalog.rs): the entities and change types.
        ("aws-marketplace", "StartChangeSet") => {
            let intent = call["intent"].as_str().unwrap_or("APPLY");
            for change in call["changes"].as_array().cloned().unwrap_or_default() {
                out.push(
                    Authorization::new(&name, change["entity_arn"].as_str().unwrap_or_default().into())
                        .with("catalog:ChangeType", change["change_type"].as_str().unwrap_or_default())
                        .with("aws-marketplace:Intent", intent),
                );
            }
        }
        ("aws-marketplace", "DescribeChangeSet" | "DescribeEntity") => {
            out.push(Authorization::new(
                &name,
                call["resource"].as_str().unwrap_or_default().into(),
            ));
        }
        _ => {
            return Err(format!(
                "{name} is not modelled in tests/common/iam.rs: add the authorizations the Service Authorization Reference lists for it"
            ))
        }
    }
    Ok(out)
}

/// What [`check`] found over a scenario's calls.
#[derive(Debug, Default)]
pub struct Report {
    /// Calls per action (`ec2:RunInstances` → 1).
    pub calls: BTreeMap<String, usize>,
    /// Authorizations decided.
    pub authorizations: usize,
    /// One line per denied authorization (or call the model does not know).
    pub denied: Vec<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let calls: Vec<String> = self.calls.iter().map(|(a, n)| format!("{a} {n}")).collect();
        write!(
            f,
            "{} calls, {} authorizations ({}), {} denied",
            self.calls.values().sum::<usize>(),
            self.authorizations,
            calls.join(", "),
            self.denied.len()
        )
    }
}

/// Decides every authorization of `calls` against `policy`.
pub fn check(policy: &Policy, calls: &[Value]) -> Report {
    let mut report = Report::default();
    for call in calls {
        let name = format!(
            "{}:{}",
            call["service"].as_str().unwrap_or_default(),
            call["action"].as_str().unwrap_or_default()
        );
        *report.calls.entry(name.clone()).or_default() += 1;
        match authorizations(call) {
            Ok(requests) => {
                for request in requests {
                    report.authorizations += 1;
                    let decision = policy.decide(&request);
                    if !matches!(decision, Decision::Allowed(_)) {
                        report.denied.push(format!(
                            "{decision:?}: {request} (call {name} in {})",
                            call["region"]
                        ));
                    }
                }
            }
            Err(unknown) => report.denied.push(unknown),
        }
    }
    report
}

/// The lines of a JSON-lines call log; none when the file does not exist.
pub fn read_log(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}
