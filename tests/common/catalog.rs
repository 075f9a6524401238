//! An in-process fake of the AWS Marketplace Catalog API (restJson1, as the SDK speaks it):
//! StartChangeSet with idempotency tokens, DescribeChangeSet with a change set that moves from
//! PREPARING through APPLYING to its end, and failures with AWS's ErrorDetailList.
//!
//! StartChangeSet refuses what AWS refuses, as AWS does: `ValidationException`, HTTP 422 (API
//! reference, StartChangeSet, "Errors"). The rules are transcribed here by hand, apart from
//! the crate's own checker, from two sources: the request members from the API reference
//! (`API_StartChangeSet`, `API_Change`: length constraints and patterns), and the
//! `DetailsDocument` from AWS's generated shapes of `AmiProduct@1.0`
//! (awslabs/aws-marketplace-catalog-api-shapes-for-python at e2fef22,
//! `aws_marketplace_catalog_shapes_amiproduct_1_0_changetypes/models/`). The integration test
//! `catalog_shapes` checks this transcription against the shapes themselves.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `POST /StartChangeSet`, `GET /DescribeChangeSet`.
    pub operation: String,
    /// The JSON body (`null` for GET).
    pub body: Value,
    /// The query string.
    pub query: String,
}

/// A change set the fake keeps.
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub id: String,
    pub token: String,
    pub intent: String,
    pub request: Value,
    /// Describes answered so far.
    pub describes: u32,
}

/// What the fake does.
#[derive(Default)]
pub struct State {
    pub requests: Vec<Request>,
    /// Each call as `common::iam` reads it: `service`, `action`, `region`, and for
    /// StartChangeSet its `intent` and `changes` (`change_type`, `entity_arn`), for the
    /// Describe calls the `resource` ARN. Checked against `iam/policy.json` on drop.
    pub calls: Vec<Value>,
    pub change_sets: Vec<ChangeSet>,
    /// Describes before a change set ends (the first ones say PREPARING, then APPLYING).
    pub describes_until_done: u32,
    /// Errors every VALIDATE change set ends with (FAILED), as (code, message).
    pub validation_errors: Vec<(String, String)>,
    /// Errors every APPLY change set ends with (FAILED).
    pub apply_errors: Vec<(String, String)>,
    /// The product's `DetailsDocument` for DescribeEntity; `null` answers one AMI-only version.
    pub entity: Value,
    /// DescribeEntity answers AccessDeniedException (a role without the permission).
    pub entity_denied: bool,
}

/// A product as DescribeEntity shows it (the shapes' entity type, `ami_product_entity_detail.py`,
/// `version.py`, `delivery_option.py`, `source.py`): one version per `(title, delivery option
/// types)`.
pub fn product_entity(versions: &[(&str, &[&str])]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .enumerate()
        .map(|(i, (title, types))| {
            json!({
                "Id": format!("version-{i}"),
                "VersionTitle": title,
                "ReleaseNotes": "Notes.",
                "CreationDate": "2026-01-01T00:00:00Z",
                "DeliveryOptions": types.iter().map(|t| json!({"Id": format!("do-{i}-{t}"), "Type": t, "SourceId": format!("source-{i}"), "Visibility": "Public"})).collect::<Vec<_>>(),
                "Sources": [{"Id": format!("source-{i}"), "Type": "AmazonMachineImage", "Image": format!("arn:aws:ec2:us-east-1::image/ami-0feedfacecafe{i:04}"), "Architecture": "x86_64", "VirtualizationType": "hvm"}],
            })
        })
        .collect();
    json!({"Versions": versions, "RegionAvailability": {"Regions": ["us-east-1", "eu-west-1"]}})
}

fn aws_error(status: u16, kind: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [
            ("x-amzn-errortype", kind),
            ("content-type", "application/json"),
        ],
        json!({"Message": message}).to_string(),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// `^\S+[\S\s]*` of the shapes, as `re.match` applies it: the first character is not a space.
const NON_SPACE: &str = r"^\S";

/// The `AddDeliveryOptions` details of `AmiProduct@1.0`, field by field, from the shapes'
/// files named in each comment. A spec is `{"string": {max, pattern}}`, `{"port": {}}` (an
/// integer from 1 to 65535: `ge=1, le=65535, strict=True`), `{"list": {min, max, items}}` or
/// `{"object": {field: [required, spec]}}`.
fn add_delivery_options_shape() -> Value {
    let text =
        |max: Option<u64>, pattern: &str| json!({"string": {"max": max, "pattern": pattern}});
    let port = json!({"port": {}});
    // security_group.py
    let group = json!({"object": {
        "FromPort": [true, port], "ToPort": [true, port],
        "IpProtocol": [true, text(Some(3), NON_SPACE)],
        "IpRanges": [true, {"list": {"min": 1, "max": 5, "items": text(None, "")}}],
    }});
    // ami_source.py
    let source = json!({"object": {
        "AmiId": [true, text(None, r"^ami-([a-zA-Z0-9]{8}|[a-zA-Z0-9]{17})$")],
        "AccessRoleArn": [true, text(None, r"^arn:aws:iam::\d{12}:role\/[a-zA-Z_0-9+=,.@\-_\/]+$")],
        "UserName": [true, text(Some(32), r"^[a-zA-Z][a-zA-Z0-9_-]{0,31}$")],
        "ScanningPort": [false, port],
        "OperatingSystemName": [true, text(Some(100), NON_SPACE)],
        "OperatingSystemVersion": [true, text(Some(100), NON_SPACE)],
    }});
    // access_endpoint_url.py: `^(?!\/)\S+[\S\s]*` is "the first character is neither a
    // space nor /".
    let endpoint = json!({"object": {
        "Port": [true, port],
        "Protocol": [true, text(Some(5), NON_SPACE)],
        "RelativePath": [false, text(Some(2000), r"^[^/\s]")],
    }});
    // add_ami_delivery_option_details.py
    let ami = json!({"object": {
        "AmiSource": [true, source],
        "UsageInstructions": [true, text(Some(4000), NON_SPACE)],
        "AccessEndpointUrl": [false, endpoint],
        "RecommendedInstanceType": [true, text(None, r"^[a-z]+[0-9]+[a-z]*\.[0-9]*[a-z]+$")],
        "SecurityGroups": [true, {"list": {"min": 1, "max": 25, "items": group}}],
    }});
    // add_delivery_options_change_detail.py, add_version.py, add_delivery_option.py,
    // add_details.py
    json!({"object": {
        "Version": [true, {"object": {
            "VersionTitle": [true, text(Some(64), NON_SPACE)],
            "ReleaseNotes": [true, text(Some(30000), NON_SPACE)],
        }}],
        "DeliveryOptions": [true, {"list": {"min": 1, "max": 1, "items": {"object": {
            "Details": [true, {"object": {"AmiDeliveryOptionDetails": [true, ami]}}],
        }}}}],
    }})
}

/// `pattern`, compiled once.
fn matches(pattern: &str, text: &str) -> bool {
    static CACHE: Mutex<Vec<(String, regex::Regex)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap();
    if !cache.iter().any(|(p, _)| p == pattern) {
        cache.push((pattern.to_owned(), regex::Regex::new(pattern).unwrap()));
    }
    cache
        .iter()
        .find(|(p, _)| p == pattern)
        .unwrap()
        .1
        .is_match(text)
}

/// What `value` breaks of `spec`, one line per field (`path: what`).
fn violations(spec: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let (kind, rule) = spec.as_object().unwrap().iter().next().unwrap();
    match kind.as_str() {
        "string" => {
            let Some(text) = value.as_str() else {
                return out.push(format!("{path}: expected a string"));
            };
            if rule["max"]
                .as_u64()
                .is_some_and(|max| text.chars().count() as u64 > max)
            {
                out.push(format!("{path}: longer than {}", rule["max"]));
            }
            let pattern = rule["pattern"].as_str().unwrap();
            if !pattern.is_empty() && !matches(pattern, text) {
                out.push(format!("{path}: does not match {pattern}"));
            }
        }
        "port" => {
            if !value.as_u64().is_some_and(|p| (1..=65535).contains(&p)) {
                out.push(format!("{path}: not an integer from 1 to 65535"));
            }
        }
        "list" => {
            let Some(items) = value.as_array() else {
                return out.push(format!("{path}: expected a list"));
            };
            let (min, max) = (rule["min"].as_u64().unwrap(), rule["max"].as_u64().unwrap());
            if (items.len() as u64) < min || items.len() as u64 > max {
                out.push(format!("{path}: {} items, not {min} to {max}", items.len()));
            }
            for (i, item) in items.iter().enumerate() {
                violations(&rule["items"], item, &format!("{path}[{i}]"), out);
            }
        }
        "object" => {
            let Some(fields) = value.as_object() else {
                return out.push(format!("{path}: expected an object"));
            };
            for (name, field) in rule.as_object().unwrap() {
                let inner = format!("{path}.{name}");
                match fields.get(name).filter(|v| !v.is_null()) {
                    Some(v) => violations(&field[1], v, &inner, out),
                    None if field[0] == true => out.push(format!("{inner}: required")),
                    None => {}
                }
            }
            for name in fields.keys().filter(|k| rule.get(k.as_str()).is_none()) {
                out.push(format!("{path}.{name}: unknown field"));
            }
        }
        other => unreachable!("{other}"),
    }
}

/// What the Catalog API refuses in an `AddDeliveryOptions` details document, one line per
/// field; empty when it accepts it.
pub fn details_violations(details: &Value) -> Vec<String> {
    let mut out = Vec::new();
    violations(
        &add_delivery_options_shape(),
        details,
        "DetailsDocument",
        &mut out,
    );
    out
}

/// What the Catalog API refuses in a StartChangeSet request (API reference: `Catalog`,
/// `ChangeSetName` 1–100 `^[\w\s+=.:@-]+$`, `ClientRequestToken` 1–36 `^[\w\-]+$`, one to
/// 20 changes, `ChangeType` `^[A-Z][\w]*$`, `ChangeName` 1–72 letters, `Entity.Identifier`
/// 1–255 `^[\w\-@]+$`), and, for `AddDeliveryOptions` on `AmiProduct@1.0`, its details.
pub fn request_violations(body: &Value) -> Vec<String> {
    let member =
        |name: &str, max: usize, pattern: &str, value: &Value, out: &mut Vec<String>| match value
            .as_str()
        {
            Some(text)
                if !text.is_empty() && text.chars().count() <= max && matches(pattern, text) => {}
            None if value.is_null() => {}
            _ => out.push(format!(
                "{name}: must be 1 to {max} characters matching {pattern}"
            )),
        };
    let mut out = Vec::new();
    if body["Catalog"] != "AWSMarketplace" {
        out.push("Catalog: must be AWSMarketplace".to_owned());
    }
    member(
        "ChangeSetName",
        100,
        r"^[\w\s+=.:@-]+$",
        &body["ChangeSetName"],
        &mut out,
    );
    member(
        "ClientRequestToken",
        36,
        r"^[\w\-]+$",
        &body["ClientRequestToken"],
        &mut out,
    );
    let changes = body["ChangeSet"].as_array().cloned().unwrap_or_default();
    if changes.is_empty() || changes.len() > 20 {
        out.push("ChangeSet: must hold 1 to 20 changes".to_owned());
    }
    for (i, change) in changes.iter().enumerate() {
        let at = |name: &str| format!("ChangeSet[{i}].{name}");
        member(
            &at("ChangeType"),
            255,
            r"^[A-Z][\w]*$",
            &change["ChangeType"],
            &mut out,
        );
        member(
            &at("ChangeName"),
            72,
            r"^[a-zA-Z]+$",
            &change["ChangeName"],
            &mut out,
        );
        member(
            &at("Entity.Identifier"),
            255,
            r"^[\w\-@]+$",
            &change["Entity"]["Identifier"],
            &mut out,
        );
        if change["ChangeType"] == "AddDeliveryOptions"
            && change["Entity"]["Type"] == "AmiProduct@1.0"
        {
            out.extend(
                details_violations(&change["DetailsDocument"])
                    .into_iter()
                    .map(|v| format!("ChangeSet[{i}].{v}")),
            );
        }
    }
    out
}

fn answer(state: &mut State, method: &Method, path: &str, query: &str, body: &Value) -> Response {
    match (method.as_str(), path) {
        ("POST", "/StartChangeSet") => {
            let refused = request_violations(body);
            if !refused.is_empty() {
                return aws_error(422, "ValidationException", &refused.join("; "));
            }
            let token = body["ClientRequestToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Some(existing) = state
                .change_sets
                .iter()
                .find(|c| !token.is_empty() && c.token == token)
            {
                // Idempotency: the same token names the same change set.
                return ok(
                    json!({"ChangeSetId": existing.id, "ChangeSetArn": format!("arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/ChangeSet/{}", existing.id)}),
                );
            }
            let entity = body["ChangeSet"][0]["Entity"]["Identifier"].clone();
            let busy = state.change_sets.iter().any(|c| {
                c.request["ChangeSet"][0]["Entity"]["Identifier"] == entity
                    && c.describes < state.describes_until_done
            });
            if busy {
                return aws_error(
                    400,
                    "ResourceInUseException",
                    "The entity is already in use by another change set",
                );
            }
            let id = format!("cs{:023}", state.change_sets.len() + 1);
            state.change_sets.push(ChangeSet {
                id: id.clone(),
                token,
                intent: body["Intent"].as_str().unwrap_or("APPLY").to_owned(),
                request: body.clone(),
                describes: 0,
            });
            ok(
                json!({"ChangeSetId": id, "ChangeSetArn": format!("arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/ChangeSet/{id}")}),
            )
        }
        ("GET", "/DescribeChangeSet") => {
            let id = query
                .split('&')
                .find_map(|p| p.strip_prefix("changeSetId="))
                .unwrap_or_default()
                .to_owned();
            let until = state.describes_until_done;
            let (validation_errors, apply_errors) =
                (state.validation_errors.clone(), state.apply_errors.clone());
            let Some(change_set) = state.change_sets.iter_mut().find(|c| c.id == id) else {
                return aws_error(404, "ResourceNotFoundException", "Change set not found");
            };
            change_set.describes += 1;
            let errors = if change_set.intent == "VALIDATE" {
                validation_errors
            } else {
                apply_errors
            };
            let status = if change_set.describes <= until / 2 {
                "PREPARING"
            } else if change_set.describes <= until {
                "APPLYING"
            } else if errors.is_empty() {
                "SUCCEEDED"
            } else {
                "FAILED"
            };
            let change = &change_set.request["ChangeSet"][0];
            let mut summary = json!({
                "ChangeType": change["ChangeType"],
                "Entity": {"Type": change["Entity"]["Type"], "Identifier": change["Entity"]["Identifier"]},
                "DetailsDocument": change["DetailsDocument"],
                "ChangeName": change["ChangeName"],
            });
            let mut answer = json!({
                "ChangeSetId": change_set.id,
                "ChangeSetArn": format!("arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/ChangeSet/{}", change_set.id),
                "ChangeSetName": change_set.request["ChangeSetName"],
                "Intent": change_set.intent,
                "StartTime": "2026-11-26T09:00:00Z",
                "Status": status,
            });
            if status == "FAILED" {
                summary["ErrorDetailList"] = errors
                    .iter()
                    .map(|(code, message)| json!({"ErrorCode": code, "ErrorMessage": message}))
                    .collect();
                answer["FailureCode"] = json!("CLIENT_ERROR");
                answer["FailureDescription"] =
                    json!("The change set has errors; see ErrorDetailList");
            }
            answer["ChangeSet"] = json!([summary]);
            ok(answer)
        }
        // API reference, DescribeEntity: GET /DescribeEntity?catalog=…&entityId=…; errors
        // AccessDeniedException (403), ResourceNotFoundException (404).
        ("GET", "/DescribeEntity") => {
            if state.entity_denied {
                return aws_error(
                    403,
                    "AccessDeniedException",
                    "User is not authorized to perform: aws-marketplace:DescribeEntity",
                );
            }
            let id = query
                .split('&')
                .find_map(|p| p.strip_prefix("entityId="))
                .unwrap_or_default()
                .to_owned();
            let details = if state.entity.is_null() {
                product_entity(&[("5.25.0", &["AMI"])])
            } else {
                state.entity.clone()
            };
            ok(json!({
                "EntityType": "AmiProduct@1.0",
                "EntityIdentifier": id,
                "EntityArn": format!("arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/AmiProduct/{id}"),
                "LastModifiedDate": "2026-11-26T09:00:00Z",
                "DetailsDocument": details,
            }))
        }
        _ => aws_error(404, "UnknownOperationException", "unknown operation"),
    }
}

/// An entity's ARN: `arn:aws:aws-marketplace:us-east-1:ACCOUNT:AWSMarketplace/TYPE/ID`, the
/// type without its version ("Resource types defined by AWS Marketplace Catalog", Service
/// Authorization Reference,
/// <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsmarketplacecatalog.html>;
/// "Allowing actions on specific resources",
/// <https://docs.aws.amazon.com/marketplace/latest/APIReference/catalog-api-access-control.html>).
pub fn entity_arn(entity_type: &str, id: &str) -> String {
    let kind = entity_type.split('@').next().unwrap_or_default();
    format!(
        "arn:aws:aws-marketplace:us-east-1:{}:AWSMarketplace/{kind}/{id}",
        super::iam::ACCOUNT
    )
}

/// The call log entry of one request (see [`State::calls`]).
fn logged(method: &Method, path: &str, query: &str, body: &Value) -> Value {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_owned()
    };
    let action = path.trim_start_matches('/');
    let mut call = json!({"service": "aws-marketplace", "action": action, "region": "us-east-1"});
    match (method.as_str(), action) {
        ("POST", "StartChangeSet") => {
            call["intent"] = body["Intent"].clone();
            call["changes"] = body["ChangeSet"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    json!({
                        "change_type": c["ChangeType"],
                        "entity_arn": entity_arn(
                            c["Entity"]["Type"].as_str().unwrap_or_default(),
                            c["Entity"]["Identifier"].as_str().unwrap_or_default(),
                        ),
                    })
                })
                .collect();
        }
        ("GET", "DescribeChangeSet") => {
            call["resource"] = json!(format!(
                "arn:aws:aws-marketplace:us-east-1:{}:AWSMarketplace/ChangeSet/{}",
                super::iam::ACCOUNT,
                param("changeSetId")
            ));
        }
        // The fake's entities are AMI products (its DescribeEntity answers AmiProduct@1.0).
        ("GET", "DescribeEntity") => {
            call["resource"] = json!(entity_arn("AmiProduct@1.0", &param("entityId")));
        }
        _ => {}
    }
    call
}

/// A running fake.
pub struct FakeCatalog {
    /// The endpoint for `AWS_ENDPOINT_URL_MARKETPLACE_CATALOG`.
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: super::FakeServer,
}

impl FakeCatalog {
    /// Starts the fake; change sets end after `describes_until_done` describes.
    pub fn start(describes_until_done: u32) -> Self {
        let shared = Arc::new(Mutex::new(State {
            describes_until_done,
            ..State::default()
        }));
        let for_server = shared.clone();
        let server = super::FakeServer::serve(axum::Router::new().fallback(
            move |method: Method, uri: Uri, body: Bytes| {
                let shared = for_server.clone();
                async move {
                    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let query = uri.query().unwrap_or_default().to_owned();
                    let mut state = shared.lock().unwrap();
                    let call = logged(&method, uri.path(), &query, &json_body);
                    state.calls.push(call);
                    state.requests.push(Request {
                        operation: format!("{method} {}", uri.path()),
                        body: json_body.clone(),
                        query: query.clone(),
                    });
                    answer(&mut state, &method, uri.path(), &query, &json_body)
                }
            },
        ));
        Self {
            url: server.url.clone(),
            state: shared,
            _server: server,
        }
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The calls so far, checked against `iam/policy.json` (`common::iam`).
    pub fn iam_report(&self) -> super::iam::Report {
        let calls = self.state().calls.clone();
        super::iam::check(&super::iam::Policy::shipped(), &calls)
    }

    /// The environment that points the SDK's Catalog client (only) at this fake.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL_MARKETPLACE_CATALOG", self.url.as_str()),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing-secret-value"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("MARKETPLACE_RELEASE_POLL_MIN_MS", "20"),
            ("MARKETPLACE_RELEASE_POLL_MAX_MS", "50"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for FakeCatalog {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        // Every call the scenario made, against the shipped policy (issue 13).
        let report = self.iam_report();
        eprintln!("IAM policy check (Catalog): {report}");
        assert!(
            report.denied.is_empty(),
            "iam/policy.json would deny Catalog calls this scenario made:\n{}",
            report.denied.join("\n")
        );
    }
}
