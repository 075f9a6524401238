//! GitHub's REST API description, as far as the client uses it: `tests/support/github-openapi.json`,
//! which `scripts/github-openapi/extract.mjs` copies out of the pinned npm `@octokit/openapi`
//! (OpenAPI 3.0, with `nullable` turned into JSON Schema types and `$ref`s into `$defs`). The
//! GitHub fake (`common::github`) checks every request it receives and every answer it gives
//! against it, and names the rule a request breaks.
//!
//! Where the fake is stricter than the description, the rule says so: a request body may hold
//! only the fields the description names (GitHub ignores others, so the client's intent would be
//! lost silently), and query parameters likewise.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde_json::{json, Value};

/// The rules a request (or an answer of the fake) can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// No operation of the description has this method and path.
    UnknownOperation,
    /// A path parameter is missing or of the wrong type.
    PathParameter,
    /// A query parameter is unknown, repeated, missing, mistyped or out of range.
    QueryParameter,
    /// The JSON body is missing, not JSON, or does not match the operation's request schema.
    RequestBody,
    /// A header is sent on more than one line (RFC 9110 §5.3; GitHub may join the lines).
    DuplicateHeader,
    /// No `User-Agent`: GitHub rejects such requests.
    UserAgent,
    /// `X-GitHub-Api-Version` names a version other than the one the description describes.
    ApiVersion,
    /// The fake answered with a status the operation does not document.
    ResponseStatus,
    /// The fake's answer does not match the operation's response schema.
    ResponseBody,
}

impl Rule {
    /// The rule's name, as messages and tests use it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::UnknownOperation => "unknown-operation",
            Rule::PathParameter => "path-parameter",
            Rule::QueryParameter => "query-parameter",
            Rule::RequestBody => "request-body",
            Rule::DuplicateHeader => "duplicate-header",
            Rule::UserAgent => "user-agent",
            Rule::ApiVersion => "api-version",
            Rule::ResponseStatus => "response-status",
            Rule::ResponseBody => "response-body",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which rule.
    pub rule: Rule,
    /// `METHOD /path` of the request, with the operation when one matched.
    pub request: String,
    /// What broke it.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GitHub's OpenAPI description, rule {}: {}: {}",
            self.rule, self.request, self.detail
        )
    }
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the path template.
    Path,
    /// In the query string.
    Query,
}

/// A path or query parameter.
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// Path or query.
    pub location: Location,
    /// Whether it must be given.
    pub required: bool,
    /// Whether a path parameter may span several segments (`x-multi-segment`, e.g. `heads/a/b`).
    pub multi_segment: bool,
    /// Its schema.
    pub schema: Value,
    validator: jsonschema::Validator,
}

/// A request body.
pub struct RequestBody {
    /// Whether it must be sent.
    pub required: bool,
    /// Its schema, as the description gives it.
    pub schema: Value,
    /// The schema with every object closed to the fields it names.
    validator: jsonschema::Validator,
}

/// One operation of the description.
pub struct Operation {
    /// The operationId, like `git/get-ref`.
    pub id: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path template, like `/repos/{owner}/{repo}/git/ref/{ref}`.
    pub path: String,
    /// GitHub's docs page for it.
    pub docs: String,
    /// Its parameters.
    pub parameters: Vec<Parameter>,
    /// Its JSON request body, if it takes one.
    pub request_body: Option<RequestBody>,
    /// Status → response schema (`None`: no body).
    pub responses: BTreeMap<u16, Option<Value>>,
    response_validators: BTreeMap<u16, Option<jsonschema::Validator>>,
}

impl Operation {
    fn label(&self, method: &str, path: &str) -> String {
        format!("{method} {path} ({}, {})", self.id, self.docs)
    }
}

/// Path parameters as matched: name → decoded value.
type PathValues = Vec<(String, String)>;

/// The description of the operations the client uses.
pub struct Description {
    /// The version of `@octokit/openapi` it comes from.
    pub version: String,
    /// Its operations, in `operations.txt`'s order.
    pub operations: Vec<Operation>,
    /// Its component schemas, by name.
    pub defs: serde_json::Map<String, Value>,
    /// The patches applied to it (`scripts/github-openapi/patches.json`).
    pub patches: Vec<Value>,
    basic_error: jsonschema::Validator,
}

/// The API version the description describes, the one a request may name.
pub const API_VERSION: &str = "2022-11-28";

/// The extracted description, loaded once per test binary.
pub fn description() -> &'static Description {
    static DESCRIPTION: OnceLock<Description> = OnceLock::new();
    DESCRIPTION.get_or_init(Description::load)
}

/// A compiled schema that can reach every `$defs` entry.
fn compile(schema: &Value, defs: &serde_json::Map<String, Value>) -> jsonschema::Validator {
    let mut document = serde_json::Map::new();
    document.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    document.insert("$defs".into(), Value::Object(defs.clone()));
    match schema {
        Value::Object(fields) => {
            for (key, value) in fields {
                document.insert(key.clone(), value.clone());
            }
        }
        Value::Bool(true) => {}
        other => panic!("tests/support/github-openapi.json: {other} is not a schema"),
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&Value::Object(document))
        .unwrap_or_else(|e| {
            panic!("tests/support/github-openapi.json: a schema does not compile: {e}; regenerate it with node scripts/github-openapi/extract.mjs")
        })
}

/// `schema` with every object that lists `properties` closed to them
/// (`unevaluatedProperties: false`), so an unknown field is an error.
fn closed(schema: &Value) -> Value {
    match schema {
        Value::Object(fields) => {
            let mut out: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(key, value)| {
                    let value = match key.as_str() {
                        "properties" => Value::Object(
                            value
                                .as_object()
                                .expect("properties")
                                .iter()
                                .map(|(name, sub)| (name.clone(), closed(sub)))
                                .collect(),
                        ),
                        "items" | "additionalProperties" | "not" => closed(value),
                        "allOf" | "anyOf" | "oneOf" => Value::Array(
                            value.as_array().expect("list").iter().map(closed).collect(),
                        ),
                        _ => value.clone(),
                    };
                    (key.clone(), value)
                })
                .collect();
            if fields.contains_key("properties")
                && !fields.contains_key("additionalProperties")
                && !fields.contains_key("allOf")
            {
                out.insert("unevaluatedProperties".into(), json!(false));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The errors of `instance` against `validator`, one line each, with where they are.
fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| {
            let at = error.instance_path().to_string();
            let at = if at.is_empty() { "/".to_owned() } else { at };
            format!("at {at}: {error} (schema {})", error.schema_path())
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A raw parameter value typed as its schema says, or why it cannot be.
fn typed(raw: &str, schema: &Value) -> Result<Value, String> {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec!["string"],
    };
    if types.contains(&"integer") {
        return raw
            .parse::<i64>()
            .map(|n| json!(n))
            .map_err(|_| format!("`{raw}` is not an integer"));
    }
    if types.contains(&"number") {
        return raw
            .parse::<f64>()
            .map(|n| json!(n))
            .map_err(|_| format!("`{raw}` is not a number"));
    }
    if types.contains(&"boolean") {
        return match raw {
            "true" => Ok(json!(true)),
            "false" => Ok(json!(false)),
            _ => Err(format!("`{raw}` is not true or false")),
        };
    }
    Ok(json!(raw))
}

impl Description {
    fn load() -> Self {
        let path = super::repo().join("tests/support/github-openapi.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; generate it with node scripts/github-openapi/extract.mjs",
                path.display()
            )
        });
        let document: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        let defs = document["$defs"].as_object().expect("$defs").clone();
        let operations = document["operations"]
            .as_array()
            .expect("operations")
            .iter()
            .map(|op| {
                let parameters = op["parameters"]
                    .as_array()
                    .expect("parameters")
                    .iter()
                    .map(|p| Parameter {
                        name: p["name"].as_str().expect("name").to_owned(),
                        location: if p["in"] == "path" {
                            Location::Path
                        } else {
                            Location::Query
                        },
                        required: p["required"] == json!(true),
                        multi_segment: p["multi_segment"] == json!(true),
                        schema: p["schema"].clone(),
                        validator: compile(&p["schema"], &defs),
                    })
                    .collect();
                let request_body = (!op["request_body"].is_null()).then(|| RequestBody {
                    required: op["request_body"]["required"] == json!(true),
                    schema: op["request_body"]["schema"].clone(),
                    validator: compile(&closed(&op["request_body"]["schema"]), &defs),
                });
                let mut responses = BTreeMap::new();
                let mut response_validators = BTreeMap::new();
                for (status, schema) in op["responses"].as_object().expect("responses") {
                    let status: u16 = status.parse().expect("a numeric status");
                    let schema = (!schema.is_null()).then(|| schema.clone());
                    response_validators.insert(status, schema.as_ref().map(|s| compile(s, &defs)));
                    responses.insert(status, schema);
                }
                Operation {
                    id: op["id"].as_str().expect("id").to_owned(),
                    method: op["method"].as_str().expect("method").to_owned(),
                    path: op["path"].as_str().expect("path").to_owned(),
                    docs: op["docs"].as_str().unwrap_or_default().to_owned(),
                    parameters,
                    request_body,
                    responses,
                    response_validators,
                }
            })
            .collect();
        let basic_error = compile(&json!({"$ref": "#/$defs/basic-error"}), &defs);
        Self {
            version: document["source"]["version"]
                .as_str()
                .expect("source.version")
                .to_owned(),
            operations,
            defs,
            patches: document["patches"].as_array().cloned().unwrap_or_default(),
            basic_error,
        }
    }

    /// The operation with this operationId.
    pub fn operation(&self, id: &str) -> &Operation {
        self.operations
            .iter()
            .find(|op| op.id == id)
            .unwrap_or_else(|| panic!("{id} is not in tests/support/github-openapi.json; add it to scripts/github-openapi/operations.txt and run node scripts/github-openapi/extract.mjs"))
    }

    /// The operation `method path` calls and its path parameters (decoded), most literal
    /// template first. `Err`: the methods the description has for that path, if any.
    fn route(&self, method: &str, path: &str) -> Result<(&Operation, PathValues), Vec<String>> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut matches: Vec<(usize, &Operation, PathValues)> = Vec::new();
        for op in &self.operations {
            let template: Vec<&str> = op.path.trim_start_matches('/').split('/').collect();
            let mut values = Vec::new();
            let mut literal = 0;
            let mut i = 0;
            let mut ok = true;
            for (t, part) in template.iter().enumerate() {
                let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
                    if segments.get(i) != Some(part) {
                        ok = false;
                        break;
                    }
                    literal += 1;
                    i += 1;
                    continue;
                };
                let multi = op
                    .parameters
                    .iter()
                    .any(|p| p.name == name && p.multi_segment);
                let last = t + 1 == template.len();
                let take = if multi && last {
                    segments.len().saturating_sub(i)
                } else {
                    1
                };
                if take == 0 || i + take > segments.len() {
                    ok = false;
                    break;
                }
                let raw = segments[i..i + take].join("/");
                values.push((name.to_owned(), percent_decode(&raw)));
                i += take;
            }
            if ok && i == segments.len() {
                matches.push((literal, op, values));
            }
        }
        matches.sort_by_key(|(literal, _, _)| std::cmp::Reverse(*literal));
        if let Some((_, op, values)) = matches.iter().find(|(_, op, _)| op.method == method) {
            return Ok((op, values.clone()));
        }
        Err(matches.iter().map(|(_, op, _)| op.method.clone()).collect())
    }

    /// Checks a request. `Ok`: the operation it calls. `Err`: every rule it breaks.
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<&Operation, (Option<&Operation>, Vec<Violation>)> {
        let mut found = Vec::new();
        let mut request = format!("{method} {path}");
        // Headers first: they break any operation.
        for name in headers.keys() {
            let lines = headers.get_all(name).iter().count();
            if lines > 1 {
                let values: Vec<String> = headers
                    .get_all(name)
                    .iter()
                    .map(|v| format!("`{}`", v.to_str().unwrap_or("<binary>")))
                    .collect();
                found.push((
                    Rule::DuplicateHeader,
                    format!(
                        "{name} is sent on {lines} lines ({}); a header that takes one value must be sent once (RFC 9110 §5.3), and GitHub may read the lines joined as `a, b`",
                        values.join(", ")
                    ),
                ));
            }
        }
        // https://docs.github.com/rest/using-the-rest-api/getting-started-with-the-rest-api#user-agent
        if headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.trim().is_empty())
        {
            found.push((
                Rule::UserAgent,
                "no User-Agent: GitHub rejects requests without one (docs: getting-started-with-the-rest-api#user-agent)".into(),
            ));
        }
        // https://docs.github.com/rest/about-the-rest-api/api-versions: an unsupported version
        // is answered 400.
        if let Some(version) = headers.get("x-github-api-version") {
            let version = version.to_str().unwrap_or("<binary>");
            if version != API_VERSION {
                found.push((
                    Rule::ApiVersion,
                    format!("X-GitHub-Api-Version `{version}`: the description describes {API_VERSION} and GitHub answers 400 to a version it does not support"),
                ));
            }
        }
        let operation = match self.route(method, path) {
            Ok((op, values)) => {
                request = op.label(method, path);
                self.check_parameters(op, &values, query, &mut found);
                self.check_body(op, body, &mut found);
                Some(op)
            }
            Err(methods) if methods.is_empty() => {
                found.push((Rule::UnknownOperation, "no operation of the description has this path (the client may call only those in scripts/github-openapi/operations.txt; if GitHub documents this one, add its operationId there and run node scripts/github-openapi/extract.mjs)".into()));
                None
            }
            Err(methods) => {
                found.push((
                    Rule::UnknownOperation,
                    format!(
                        "the description has this path only for {}",
                        methods.join(", ")
                    ),
                ));
                None
            }
        };
        if found.is_empty() {
            return Ok(operation.expect("an operation when nothing is wrong"));
        }
        let violations = found
            .into_iter()
            .map(|(rule, detail)| Violation {
                rule,
                request: request.clone(),
                detail,
            })
            .collect();
        Err((operation, violations))
    }

    fn check_parameters(
        &self,
        op: &Operation,
        path_values: &[(String, String)],
        query: &str,
        found: &mut Vec<(Rule, String)>,
    ) {
        for (name, value) in path_values {
            let parameter = op
                .parameters
                .iter()
                .find(|p| p.location == Location::Path && p.name == *name)
                .expect("the template's parameters are described");
            if value.is_empty() {
                found.push((Rule::PathParameter, format!("{name} is empty")));
                continue;
            }
            match typed(value, &parameter.schema) {
                Err(why) => found.push((Rule::PathParameter, format!("{name}: {why}"))),
                Ok(typed) => {
                    for error in errors(&parameter.validator, &typed) {
                        found.push((Rule::PathParameter, format!("{name} {error}")));
                    }
                }
            }
        }
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key);
            let value = percent_decode(raw);
            *seen.entry(key.clone()).or_default() += 1;
            let Some(parameter) = op
                .parameters
                .iter()
                .find(|p| p.location == Location::Query && p.name == key)
            else {
                let known: Vec<&str> = op
                    .parameters
                    .iter()
                    .filter(|p| p.location == Location::Query)
                    .map(|p| p.name.as_str())
                    .collect();
                found.push((
                    Rule::QueryParameter,
                    format!(
                        "`{key}` is not a query parameter of {} (GitHub ignores it; known: {})",
                        op.id,
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
                continue;
            };
            match typed(&value, &parameter.schema) {
                Err(why) => found.push((Rule::QueryParameter, format!("{key}: {why}"))),
                Ok(typed) => {
                    for error in errors(&parameter.validator, &typed) {
                        found.push((Rule::QueryParameter, format!("{key} {error}")));
                    }
                }
            }
        }
        for (key, count) in &seen {
            if *count > 1 {
                found.push((
                    Rule::QueryParameter,
                    format!("`{key}` is given {count} times"),
                ));
            }
        }
        for parameter in &op.parameters {
            if parameter.location == Location::Query
                && parameter.required
                && !seen.contains_key(&parameter.name)
            {
                found.push((
                    Rule::QueryParameter,
                    format!(
                        "the required query parameter `{}` is missing",
                        parameter.name
                    ),
                ));
            }
        }
    }

    fn check_body(&self, op: &Operation, body: &[u8], found: &mut Vec<(Rule, String)>) {
        let Some(schema) = &op.request_body else {
            if !body.is_empty() {
                found.push((
                    Rule::RequestBody,
                    format!(
                        "{} takes no request body, but {} bytes were sent",
                        op.id,
                        body.len()
                    ),
                ));
            }
            return;
        };
        if body.is_empty() {
            if schema.required {
                found.push((Rule::RequestBody, format!("{} needs a JSON body", op.id)));
            }
            return;
        }
        let value: Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(e) => {
                found.push((Rule::RequestBody, format!("the body is not JSON: {e}")));
                return;
            }
        };
        for error in errors(&schema.validator, &value) {
            found.push((Rule::RequestBody, error));
        }
    }

    /// Checks an answer to a request that called `op`: a documented status, and a body that
    /// matches its schema. An error the operation does not document (GitHub answers 401 or 404
    /// to anything), or documents without a body, must still be GitHub's basic error.
    pub fn check_response(&self, op: &Operation, status: u16, body: &Value) -> Vec<Violation> {
        let mut found = Vec::new();
        match op.response_validators.get(&status) {
            Some(Some(validator)) => {
                for error in errors(validator, body) {
                    found.push((Rule::ResponseBody, format!("{status} {error}")));
                }
            }
            // An error the description lists without a body (git/delete-ref's 422,
            // pulls/request-reviewers' 422) still carries GitHub's error JSON in real answers
            // ("Reference does not exist"); OpenAPI's "no content" means "none described".
            Some(None) | None if status >= 400 => {
                for error in errors(&self.basic_error, body) {
                    found.push((
                        Rule::ResponseBody,
                        format!("{status} (basic-error) {error}"),
                    ));
                }
            }
            Some(None) => {
                if !body.is_null() {
                    found.push((
                        Rule::ResponseBody,
                        format!("{status} documents no body, but the answer has one"),
                    ));
                }
            }
            None => found.push((
                Rule::ResponseStatus,
                format!(
                    "{status} is not among the documented statuses {:?}",
                    op.responses.keys().collect::<Vec<_>>()
                ),
            )),
        }
        found
            .into_iter()
            .map(|(rule, detail)| Violation {
                rule,
                request: format!("{} {} ({})", op.method, op.path, op.id),
                detail,
            })
            .collect()
    }
}
