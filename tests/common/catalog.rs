//! An in-process fake of the AWS Marketplace Catalog API (restJson1, as the SDK speaks it):
//! StartChangeSet with idempotency tokens, DescribeChangeSet with a change set that moves from
//! PREPARING through APPLYING to its end, and failures with AWS's ErrorDetailList.

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
    pub change_sets: Vec<ChangeSet>,
    /// Describes before a change set ends (the first ones say PREPARING, then APPLYING).
    pub describes_until_done: u32,
    /// Errors every VALIDATE change set ends with (FAILED), as (code, message).
    pub validation_errors: Vec<(String, String)>,
    /// Errors every APPLY change set ends with (FAILED).
    pub apply_errors: Vec<(String, String)>,
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

fn answer(state: &mut State, method: &Method, path: &str, query: &str, body: &Value) -> Response {
    match (method.as_str(), path) {
        ("POST", "/StartChangeSet") => {
            if body["Catalog"] != "AWSMarketplace" {
                return aws_error(400, "ValidationException", "Catalog must be AWSMarketplace");
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
        _ => aws_error(404, "UnknownOperationException", "unknown operation"),
    }
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
