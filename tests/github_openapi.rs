//! The GitHub client and the GitHub fake held to GitHub's OpenAPI description
//! (`tests/support/github-openapi.json`, extracted from the pinned npm `@octokit/openapi` by
//! `scripts/github-openapi/extract.mjs`):
//! - every operation the client uses is called once through the real client, and the fake
//!   checks each request and each of its answers against the description;
//! - each request carries `User-Agent`, `Accept` and `X-GitHub-Api-Version` exactly once;
//! - requests that break the description are refused with the rule named: a bad enum, a
//!   missing required field, an unknown field, an unknown endpoint, a duplicated header;
//! - the extract is what the pinned package, `operations.txt` and `patches.json` give.

use crate::common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::github::{FakeGitHub, TOKEN};
use common::openapi::{self, Rule};
use marketplace_release::github::{
    GitHub, NewPullRequest, NewTreeEntry, RepoName, RetryPolicy, ACCEPT, API_VERSION, USER_AGENT,
};
use serde_json::{json, Value};

fn fake() -> FakeGitHub {
    FakeGitHub::start(
        "octo",
        "product",
        "main",
        &[
            ("README.md", b"# Product\n"),
            ("cfn/product.yaml", b"Resources: {}\n"),
        ],
    )
}

/// Calls every method of the client, so every operation it uses, once or more.
async fn walk(github: &GitHub) {
    let repository = github.repository().await.expect("repos/get");
    assert_eq!(repository.default_branch, "main");
    let head = github
        .branch_head("main")
        .await
        .expect("git/get-ref")
        .expect("main exists");
    // GitHub answers 404 for a missing ref; the client reads it as "no branch".
    assert!(github.branch_head("absent/branch").await.unwrap().is_none());
    let commit = github.commit(&head).await.expect("git/get-commit");
    let tree = github.tree(&commit.tree.sha).await.expect("git/get-tree");
    let readme = tree.tree.iter().find(|e| e.path == "README.md").unwrap();
    assert_eq!(
        github.blob(&readme.sha).await.expect("git/get-blob"),
        b"# Product\n"
    );
    let blob = github
        .create_blob("cfn/product.yaml", b"Resources: {Changed: 1}\n")
        .await
        .expect("git/create-blob");
    let new_tree = github
        .create_tree(
            &tree.sha,
            &[NewTreeEntry {
                path: "cfn/product.yaml".into(),
                mode: "100644".into(),
                kind: "blob",
                sha: blob,
            }],
        )
        .await
        .expect("git/create-tree");
    let new_commit = github
        .create_commit("Release 1.0.0", &new_tree, std::slice::from_ref(&head))
        .await
        .expect("git/create-commit");
    assert_eq!(new_commit.parents[0].sha, head);
    let branch = "marketplace-release/1.0.0+build";
    github
        .create_branch(branch, &new_commit.sha)
        .await
        .expect("git/create-ref");
    github
        .force_branch(branch, &new_commit.sha)
        .await
        .expect("git/update-ref");
    assert!(github
        .open_pull_request(branch)
        .await
        .expect("pulls/list")
        .is_none());
    let created = github
        .create_pull_request(&NewPullRequest {
            title: "Release 1.0.0",
            body: "",
            head: branch,
            base: "main",
            draft: false,
            maintainer_can_modify: true,
        })
        .await
        .expect("pulls/create");
    assert_eq!(created.body, None, "GitHub sends null for an empty body");
    let listed = github
        .open_pull_request(branch)
        .await
        .expect("pulls/list")
        .expect("the new pull request is listed");
    assert_eq!(
        (listed.number, listed.base.name.as_str()),
        (created.number, "main")
    );
    let updated = github
        .update_pull_request(created.number, "Release 1.0.0", "The body")
        .await
        .expect("pulls/update");
    assert_eq!(updated.body.as_deref(), Some("The body"));
    github
        .add_labels(created.number, &["release".into()])
        .await
        .expect("issues/add-labels");
    github
        .add_assignees(created.number, &["octocat".into()])
        .await
        .expect("issues/add-assignees");
    github
        .request_reviewers(
            created.number,
            &["hubot".into()],
            &["release-managers".into()],
        )
        .await
        .expect("pulls/request-reviewers");
    let listed = github.open_pull_request(branch).await.unwrap().unwrap();
    assert_eq!(listed.labels[0].name, "release");
    assert_eq!(listed.assignees[0].login, "octocat");
    github
        .create_branch("scratch", &head)
        .await
        .expect("git/create-ref");
    github
        .delete_branch("scratch")
        .await
        .expect("git/delete-ref");
    // Deleting it again: GitHub answers 422 "Reference does not exist", which a retried delete
    // takes as done.
    github
        .delete_branch("scratch")
        .await
        .expect("git/delete-ref again");
}

#[test]
fn every_operation_the_client_uses_is_called_and_checked_against_the_description() {
    let fake = fake();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let github = GitHub::new(
            &fake.url,
            &secrecy::SecretString::from(TOKEN),
            RepoName::parse("octo/product").unwrap(),
            RetryPolicy::with_first_backoff(std::time::Duration::from_millis(10)),
        )
        .expect("a client");
        walk(&github).await;
    });
    let violations = fake.take_violations();
    assert!(
        violations.is_empty(),
        "{}",
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let state = fake.state();
    let called: BTreeSet<&str> = state
        .requests
        .iter()
        .map(|r| {
            r.operation
                .as_deref()
                .expect("every request matched an operation")
        })
        .collect();
    let described: BTreeSet<&str> = openapi::description()
        .operations
        .iter()
        .map(|op| op.id.as_str())
        .collect();
    assert_eq!(
        called, described,
        "the walk must call exactly the operations of scripts/github-openapi/operations.txt"
    );
}

#[test]
fn each_request_carries_our_user_agent_accept_and_api_version_exactly_once() {
    let fake = fake();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let github = GitHub::new(
            &fake.url,
            &secrecy::SecretString::from(TOKEN),
            RepoName::parse("octo/product").unwrap(),
            RetryPolicy::with_first_backoff(std::time::Duration::from_millis(10)),
        )
        .unwrap();
        walk(&github).await;
    });
    assert_eq!(
        USER_AGENT,
        format!("marketplace-release/{}", env!("CARGO_PKG_VERSION"))
    );
    let state = fake.state();
    assert!(state.requests.len() >= 17);
    for request in &state.requests {
        let what = format!("{} {}: {:?}", request.method, request.path, request.headers);
        assert_eq!(request.header("user-agent"), [USER_AGENT], "{what}");
        assert_eq!(request.header("accept"), [ACCEPT], "{what}");
        assert_eq!(
            request.header("x-github-api-version"),
            [API_VERSION],
            "{what}"
        );
        let names: BTreeSet<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names.len(),
            request.headers.len(),
            "a header sent twice: {what}"
        );
    }
}

/// What a raw HTTP/1.1 request got back: status and JSON body.
fn send(url: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("the fake listens");
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(text.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status: u16 = answer[9..12].parse().expect("a status line");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

const AUTHORIZATION: &str = "Bearer ghs_fakeTokenThatMustNeverBePrinted0123456789";

/// The headers the client sends.
fn good_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Authorization", AUTHORIZATION),
        ("User-Agent", USER_AGENT),
        ("Accept", ACCEPT),
        ("X-GitHub-Api-Version", API_VERSION),
    ]
}

/// Sends a request that breaks `rule`: the fake answers `status` naming the rule and `needle`,
/// records exactly that rule, and leaves the state alone.
fn assert_refused(
    fake: &FakeGitHub,
    request: (&str, &str, &[(&str, &str)], &str),
    status: u16,
    rule: Rule,
    needle: &str,
) {
    let (method, path, headers, body) = request;
    let refs = fake.state().refs.clone();
    let (got, answer) = send(&fake.url, method, path, headers, body);
    let message = answer["message"].as_str().unwrap_or_default().to_owned();
    assert_eq!(got, status, "{method} {path}: {answer}");
    assert!(
        message.contains(&format!("rule {rule}")) && message.contains(needle),
        "{method} {path}: the answer must name rule {rule} and `{needle}`: {message}"
    );
    let violations = fake.take_violations();
    assert!(
        !violations.is_empty() && violations.iter().all(|v| v.rule == rule),
        "{violations:?}"
    );
    assert_eq!(fake.state().refs, refs, "a refused request changed nothing");
}

#[test]
fn a_bad_enum_is_refused_with_the_rule() {
    let fake = fake();
    let headers = good_headers();
    assert_refused(
        &fake,
        (
            "GET",
            "/repos/octo/product/pulls?state=opened",
            &headers,
            "",
        ),
        400,
        Rule::QueryParameter,
        r#""opened" is not one of"#,
    );
    let head = fake.state().head("main").unwrap();
    let body = json!({"tree": [{"path": "a", "mode": "644", "type": "blob", "sha": head}]});
    assert_refused(
        &fake,
        (
            "POST",
            "/repos/octo/product/git/trees",
            &headers,
            &body.to_string(),
        ),
        400,
        Rule::RequestBody,
        "at /tree/0/mode",
    );
    assert_refused(
        &fake,
        (
            "GET",
            "/repos/octo/product/pulls?per_page=101",
            &headers,
            "",
        ),
        400,
        Rule::QueryParameter,
        "101 is greater than the maximum of 100",
    );
}

#[test]
fn a_missing_required_field_is_refused_with_the_rule() {
    let fake = fake();
    let headers = good_headers();
    assert_refused(
        &fake,
        (
            "POST",
            "/repos/octo/product/git/refs",
            &headers,
            r#"{"ref": "refs/heads/x"}"#,
        ),
        400,
        Rule::RequestBody,
        r#""sha" is a required property"#,
    );
    assert_refused(
        &fake,
        ("POST", "/repos/octo/product/pulls", &headers, ""),
        400,
        Rule::RequestBody,
        "pulls/create needs a JSON body",
    );
    // A field the description does not name: GitHub would ignore it, losing what we meant.
    assert_refused(
        &fake,
        (
            "POST",
            "/repos/octo/product/pulls",
            &headers,
            r#"{"head": "x", "base": "main", "drafts": true}"#,
        ),
        400,
        Rule::RequestBody,
        "drafts",
    );
    assert_refused(
        &fake,
        (
            "PATCH",
            "/repos/octo/product/pulls/first",
            &headers,
            r#"{"title": "t"}"#,
        ),
        400,
        Rule::PathParameter,
        "pull_number: `first` is not an integer",
    );
}

#[test]
fn an_unknown_endpoint_is_refused_with_the_rule() {
    let fake = fake();
    let headers = good_headers();
    assert_refused(
        &fake,
        (
            "GET",
            "/repos/octo/product/git/refz/heads/main",
            &headers,
            "",
        ),
        404,
        Rule::UnknownOperation,
        "no operation of the description has this path",
    );
    assert_refused(
        &fake,
        ("PUT", "/repos/octo/product/pulls", &headers, "{}"),
        404,
        Rule::UnknownOperation,
        "only for GET, POST",
    );
}

#[test]
fn a_duplicated_header_is_refused_with_the_rule() {
    let fake = fake();
    let mut headers = good_headers();
    headers.push(("X-GitHub-Api-Version", API_VERSION));
    assert_refused(
        &fake,
        ("GET", "/repos/octo/product", &headers, ""),
        400,
        Rule::DuplicateHeader,
        "x-github-api-version is sent on 2 lines",
    );
    let mut headers = good_headers();
    headers.retain(|(n, _)| *n != "X-GitHub-Api-Version");
    headers.push(("X-GitHub-Api-Version", "2022-11-28, 2022-11-28"));
    assert_refused(
        &fake,
        ("GET", "/repos/octo/product", &headers, ""),
        400,
        Rule::ApiVersion,
        "`2022-11-28, 2022-11-28`",
    );
    let mut headers = good_headers();
    headers.retain(|(n, _)| *n != "User-Agent");
    assert_refused(
        &fake,
        ("GET", "/repos/octo/product", &headers, ""),
        400,
        Rule::UserAgent,
        "no User-Agent",
    );
}

/// The client before this fix: octocrab's default client with our API version added by
/// `add_header`, which appends to the one octocrab's request builder sets.
#[test]
fn octocrab_add_header_sends_the_api_version_twice_which_the_fake_refuses() {
    let fake = fake();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        let octocrab = octocrab::Octocrab::builder()
            .base_uri(fake.url.as_str())
            .unwrap()
            .personal_token(TOKEN.to_owned())
            .add_header(
                http::HeaderName::from_static("x-github-api-version"),
                API_VERSION.into(),
            )
            .build()
            .unwrap();
        let response = octocrab
            ._get(format!("{}/repos/octo/product", fake.url))
            .await
            .unwrap();
        response.status().as_u16()
    });
    assert_eq!(status, 400);
    let violations = fake.take_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].rule, Rule::DuplicateHeader);
    assert!(violations[0].detail.contains("x-github-api-version"));
    let state = fake.state();
    assert_eq!(state.requests[0].header("user-agent"), ["octocrab"]);
}

#[test]
fn a_fake_dropped_with_violations_fails_its_test_naming_the_rule() {
    let outcome = std::panic::catch_unwind(|| {
        let fake = fake();
        send(
            &fake.url,
            "GET",
            "/repos/octo/product/pulls?state=opened",
            &good_headers(),
            "",
        );
    });
    let panic = outcome.expect_err("dropping the fake must fail the test");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("rule query-parameter")
            && message.contains("GET /repos/octo/product/pulls (pulls/list"),
        "{message}"
    );
}

#[test]
fn the_fakes_own_answers_are_checked_too() {
    let fake = fake();
    // A planted answer that lacks `url`, which short-blob requires.
    fake.fail("POST", "/git/blobs", 201, json!({"sha": "0".repeat(40)}), 1);
    let (status, _) = send(
        &fake.url,
        "POST",
        "/repos/octo/product/git/blobs",
        &good_headers(),
        r#"{"content": "eA==", "encoding": "base64"}"#,
    );
    assert_eq!(status, 201);
    let violations = fake.take_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].rule, Rule::ResponseBody);
    assert!(
        violations[0]
            .detail
            .contains(r#""url" is a required property"#),
        "{}",
        violations[0]
    );
    // Formats are checked too: git-ref's `url` is a URI.
    let head = fake.state().head("main").unwrap();
    fake.fail(
        "GET",
        "/git/ref/",
        200,
        json!({"ref": "refs/heads/main", "node_id": "REF_x", "url": "not a uri", "object": {"type": "commit", "sha": head, "url": "https://api.github.com/"}}),
        1,
    );
    let (status, _) = send(
        &fake.url,
        "GET",
        "/repos/octo/product/git/ref/heads/main",
        &good_headers(),
        "",
    );
    assert_eq!(status, 200);
    let violations = fake.take_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].detail.contains("at /url") && violations[0].detail.contains("uri"),
        "{}",
        violations[0]
    );
}

/// The package directory of the pinned `@octokit/openapi`: `$MARKETPLACE_RELEASE_GITHUB_OPENAPI`
/// (scripts/test.sh sets it), else `scripts/github-openapi/node_modules`. Panics, never skips,
/// when it or node is missing.
#[test]
fn the_extract_is_what_the_pinned_description_gives() {
    let root = common::repo();
    let installed = std::env::var_os("MARKETPLACE_RELEASE_GITHUB_OPENAPI")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("scripts/github-openapi/node_modules/@octokit/openapi"));
    assert!(
        installed.join("package.json").is_file(),
        "@octokit/openapi not found at {}: run the README's test command (bash scripts/test.sh), or (cd scripts/github-openapi && npm ci)",
        installed.display()
    );
    let out = Command::new("node")
        .arg(root.join("scripts/github-openapi/extract.mjs"))
        .arg("--check")
        .env("MARKETPLACE_RELEASE_GITHUB_OPENAPI", &installed)
        .output()
        .unwrap_or_else(|e| panic!("node could not be run ({e}): install Node.js 18 or later (apt-get install nodejs npm)"));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let description = openapi::description();
    let listed: Vec<String> =
        std::fs::read_to_string(root.join("scripts/github-openapi/operations.txt"))
            .unwrap()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
    let extracted: Vec<String> = description
        .operations
        .iter()
        .map(|op| op.id.clone())
        .collect();
    assert_eq!(listed, extracted);
    for patch in &description.patches {
        let source = patch["source"].as_str().unwrap_or_default();
        assert!(
            source.starts_with("https://github.com/github/rest-api-description/issues/")
                || source.starts_with("https://docs.github.com/"),
            "every patch cites an upstream issue or GitHub's docs: {patch}"
        );
    }
}
