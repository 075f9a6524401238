//! The client's unit tests: names, routes, retries, refusals, and the answers GitHub's
//! description allows.

use super::client::{encode_ref, query_pair};
use super::git::{Blob, Created};
use super::*;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::time::Duration;

#[test]
fn repository_names() {
    assert_eq!(
        RepoName::parse("neo4j/neo4j-aws").unwrap().to_string(),
        "neo4j/neo4j-aws"
    );
    for bad in ["", "neo4j", "/x", "x/", "a b/c", "a/b/c"] {
        assert!(RepoName::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn refs_keep_slashes_and_escape_the_rest() {
    assert_eq!(
        encode_ref("marketplace-release/5.26.0+build"),
        "marketplace-release/5.26.0%2Bbuild"
    );
    assert_eq!(query_pair("head", "o:a/b"), "head=o%3Aa%2Fb");
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.insert(*k, v.parse().unwrap());
    }
    map
}

#[test]
fn retries_follow_github_rate_limit_guidance() {
    let backoff = Duration::from_secs(2);
    let none = HeaderMap::new();
    assert_eq!(
        retry_delay(502, &none, "Bad Gateway", false, backoff, 0),
        Some(backoff)
    );
    assert_eq!(
        retry_delay(404, &none, "Not Found", false, backoff, 0),
        None
    );
    assert_eq!(
        retry_delay(422, &none, "Validation Failed", false, backoff, 0),
        None
    );
    assert_eq!(
        retry_delay(422, &none, "Validation Failed", true, backoff, 0),
        Some(backoff)
    );
    assert_eq!(
        retry_delay(
            403,
            &headers(&[("retry-after", "7")]),
            "x",
            false,
            backoff,
            0
        ),
        Some(Duration::from_secs(7))
    );
    assert_eq!(
        retry_delay(
            403,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1030")
            ]),
            "API rate limit exceeded",
            false,
            backoff,
            1000
        ),
        Some(Duration::from_secs(31))
    );
    assert_eq!(
        retry_delay(
            403,
            &none,
            "You have exceeded a secondary rate limit",
            false,
            Duration::from_secs(2),
            0
        ),
        Some(Duration::from_secs(60))
    );
    // A permission refusal is not retried.
    assert_eq!(
        retry_delay(
            403,
            &none,
            "Resource not accessible by integration",
            false,
            backoff,
            0
        ),
        None
    );
}

#[test]
fn refusals_name_the_fix() {
    let setting = help_for(
        403,
        "GitHub Actions is not permitted to create or approve pull requests.",
        Scope::PullRequests,
    );
    assert!(setting.contains("Allow GitHub Actions to create and approve pull requests"));
    assert!(help_for(
        403,
        "Resource not accessible by integration",
        Scope::Contents
    )
    .contains("contents: write"));
    assert!(help_for(
        403,
        "Resource not accessible by integration",
        Scope::PullRequests
    )
    .contains("pull-requests: write"));
    assert!(help_for(404, "Not Found", Scope::Contents).contains("contents: write"));
}

/// The smallest answer GitHub's description allows for `schema`: required properties only,
/// `null` wherever null is allowed, one item per array (so item types are read too).
fn minimal(schema: &Value, defs: &serde_json::Map<String, Value>) -> Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return minimal(&defs[name], defs);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.contains(&"null") {
        return Value::Null;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema[key].as_array() {
            if branches.iter().any(|b| b["type"] == "null") {
                return Value::Null;
            }
            return minimal(&branches[0], defs);
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = serde_json::Map::new();
        for part in parts {
            match minimal(part, defs) {
                Value::Object(fields) => merged.extend(fields),
                other => return other,
            }
        }
        return Value::Object(merged);
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match types.first().copied() {
        Some("object") | None if schema.get("properties").is_some() => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            Value::Object(
                required
                    .into_iter()
                    .map(|name| {
                        let sub = &schema["properties"][name];
                        let value = if sub.is_null() {
                            Value::Null
                        } else {
                            minimal(sub, defs)
                        };
                        (name.to_owned(), value)
                    })
                    .collect(),
            )
        }
        Some("object") => json!({}),
        Some("array") => json!([minimal(&schema["items"], defs)]),
        Some("integer") | Some("number") => json!(0),
        Some("boolean") => json!(false),
        Some("string") => match schema["format"].as_str() {
            Some("date-time") => json!("2026-01-01T00:00:00Z"),
            Some("uri") => json!("https://api.github.com/"),
            _ => match schema["minLength"].as_u64() {
                Some(n) => json!("0".repeat(n as usize)),
                None => json!(""),
            },
        },
        _ => Value::Null,
    }
}

/// Every field the client reads from an answer is one GitHub's description requires, or
/// an `Option`: the client reads the smallest answer each operation may give (required
/// fields only, `null` wherever allowed), checked against the description first.
#[test]
fn the_client_reads_the_smallest_answer_githubs_description_allows() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/github-openapi.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}; run node scripts/github-openapi/extract.mjs"));
    let document: Value = serde_json::from_str(&text).unwrap();
    let defs = document["$defs"].as_object().unwrap();
    type Reader = fn(Value) -> Result<(), serde_json::Error>;
    fn reads<T: DeserializeOwned>(value: Value) -> Result<(), serde_json::Error> {
        serde_json::from_value::<T>(value).map(drop)
    }
    // operationId, status, what the client parses its answer into (`None`: nothing read).
    let client: [(&str, u16, Option<Reader>); 17] = [
        ("repos/get", 200, Some(reads::<Repository>)),
        ("git/get-ref", 200, Some(reads::<GitRef>)),
        ("git/create-ref", 201, None),
        ("git/update-ref", 200, None),
        ("git/delete-ref", 204, None),
        ("git/get-commit", 200, Some(reads::<GitCommit>)),
        ("git/create-commit", 201, Some(reads::<GitCommit>)),
        ("git/get-tree", 200, Some(reads::<GitTree>)),
        ("git/create-tree", 201, Some(reads::<Created>)),
        ("git/get-blob", 200, Some(reads::<Blob>)),
        ("git/create-blob", 201, Some(reads::<Created>)),
        ("pulls/list", 200, Some(reads::<Vec<PullRequest>>)),
        ("pulls/create", 201, Some(reads::<PullRequest>)),
        ("pulls/update", 200, Some(reads::<PullRequest>)),
        ("issues/add-labels", 200, None),
        ("issues/add-assignees", 201, None),
        ("pulls/request-reviewers", 201, None),
    ];
    let operations = document["operations"].as_array().unwrap();
    let listed: Vec<&str> = operations.iter().filter_map(|o| o["id"].as_str()).collect();
    let mut covered: Vec<&str> = client.iter().map(|(id, _, _)| *id).collect();
    covered.sort_unstable();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(
        covered, sorted,
        "this table lists each operation of the description once"
    );
    for (id, status, reader) in client {
        let operation = operations.iter().find(|o| o["id"] == id).unwrap();
        let schema = &operation["responses"][status.to_string()];
        let Some(reader) = reader else {
            continue;
        };
        assert!(!schema.is_null(), "{id} documents no {status} body");
        let smallest = minimal(schema, defs);
        let mut with_defs = schema.as_object().unwrap().clone();
        with_defs.insert("$defs".into(), Value::Object(defs.clone()));
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&Value::Object(with_defs))
            .unwrap();
        let wrong: Vec<String> = validator
            .iter_errors(&smallest)
            .map(|e| e.to_string())
            .collect();
        assert!(
            wrong.is_empty(),
            "{id}: the generated answer is not valid: {wrong:?}"
        );
        reader(smallest.clone()).unwrap_or_else(|e| {
            panic!("{id} {status}: the client cannot read the smallest answer GitHub may give ({e}): make the field an Option or #[serde(default)]\n{smallest:#}")
        });
    }
}

/// The methods name exactly the operations of `scripts/github-openapi/operations.txt`, the
/// ones the tests' fake accepts.
#[test]
fn each_operation_is_named_on_the_method_that_calls_it() {
    let marker = concat!("GitHub operation", " `");
    // Every file of the client but this one.
    let sources = [
        include_str!("mod.rs"),
        include_str!("client.rs"),
        include_str!("error.rs"),
        include_str!("git.rs"),
        include_str!("headers.rs"),
        include_str!("name.rs"),
        include_str!("pulls.rs"),
        include_str!("repo.rs"),
        include_str!("retry.rs"),
    ];
    let mut named: Vec<&str> = sources
        .iter()
        .flat_map(|source| source.split(marker).skip(1))
        .map(|rest| rest.split('`').next().unwrap())
        .collect();
    named.sort_unstable();
    let listed = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/github-openapi/operations.txt"
    ));
    let mut listed: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    listed.sort_unstable();
    assert_eq!(named, listed);
}

#[test]
fn errors_keep_githubs_details() {
    let error = GitHubError {
        action: "label pull request #3 of o/r".into(),
        status: Some(422),
        message: "Validation Failed".into(),
        errors: vec![json!({"resource": "Label", "field": "name", "code": "invalid"})],
        documentation_url: Some("https://docs.github.com/rest".into()),
        help: "fix it".into(),
    };
    let text = error.to_string();
    assert!(
        text.contains("422 Validation Failed (Label name invalid) [https://docs.github.com/rest]"),
        "{text}"
    );
    assert!(text.ends_with("help: fix it"));
}
