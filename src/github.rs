//! A thin typed client for the GitHub REST endpoints the publish stage calls: the Git data API
//! (refs, commits, trees, blobs) and pull requests.
//!
//! octocrab carries the requests (authentication, TLS, timeouts); this module owns the routes,
//! the few fields we read, the retries and the error messages. An API error keeps GitHub's own
//! message and `errors` list, and says what to do about it. The token never appears in a log or
//! an error: it lives only inside octocrab's authorization header, marked sensitive.
//!
//! Every call is one operation of GitHub's OpenAPI description (npm `@octokit/openapi`), named
//! by its `operationId` on the method that makes it; `scripts/github-openapi/operations.txt`
//! lists them, and the tests' GitHub fake refuses any request, and any answer of its own, that
//! the description does not allow. The fields we read are those the operation's response
//! schema requires (or `Option`s), so any answer GitHub may give is one we can read.
//!
//! Headers: each request carries exactly one `User-Agent` ([`USER_AGENT`]), one
//! `Accept` ([`ACCEPT`]) and one `X-GitHub-Api-Version` ([`API_VERSION`]). octocrab's default
//! client appends its own `User-Agent: octocrab`, and its request builder appends its API
//! version, so adding ours with `add_header` sent both lines (RFC 9110 §5.3: a header that takes
//! one value must not be repeated). The client is therefore assembled from octocrab's parts
//! with [`SetHeadersLayer`] next to the wire, which sets ours in place of anything above it.

use crate::output::progress;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::BodyExt;
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::{AuthState, Octocrab, OctocrabBuilder};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Where GitHub's API is when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// The REST API version every request asks for (`X-GitHub-Api-Version`): the version the pinned
/// OpenAPI description describes. GitHub answers 400 to a version it does not support.
pub const API_VERSION: &str = "2022-11-28";

/// The `User-Agent` of every request: GitHub refuses requests without one and asks for the
/// name of the application.
pub const USER_AGENT: &str = concat!("marketplace-release/", env!("CARGO_PKG_VERSION"));

/// The `Accept` of every request, the media type GitHub recommends for its REST API.
pub const ACCEPT: &str = "application/vnd.github+json";

/// A tower layer that sets (inserts, never appends) fixed headers on every request, replacing
/// any value an outer layer or octocrab's request builder put there; placed next to the wire,
/// it makes each of its headers appear exactly once.
#[derive(Debug, Clone)]
pub struct SetHeadersLayer {
    headers: Arc<HeaderMap>,
}

impl SetHeadersLayer {
    /// The layer for `headers` (one value per name).
    pub fn new(headers: HeaderMap) -> Self {
        Self {
            headers: Arc::new(headers),
        }
    }

    /// The headers GitHub gets from this tool: [`USER_AGENT`], [`ACCEPT`], [`API_VERSION`].
    pub fn github() -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static(USER_AGENT),
        );
        headers.insert(http::header::ACCEPT, HeaderValue::from_static(ACCEPT));
        headers.insert(
            HeaderName::from_static("x-github-api-version"),
            HeaderValue::from_static(API_VERSION),
        );
        Self::new(headers)
    }
}

impl<S> tower::Layer<S> for SetHeadersLayer {
    type Service = SetHeaders<S>;

    fn layer(&self, inner: S) -> SetHeaders<S> {
        SetHeaders {
            inner,
            headers: self.headers.clone(),
        }
    }
}

/// The service of [`SetHeadersLayer`].
#[derive(Debug, Clone)]
pub struct SetHeaders<S> {
    inner: S,
    headers: Arc<HeaderMap>,
}

impl<S, B> tower::Service<http::Request<B>> for SetHeaders<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        for (name, value) in self.headers.iter() {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        self.inner.call(request)
    }
}

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoName {
    /// The user or organisation.
    pub owner: String,
    /// The repository.
    pub name: String,
}

impl RepoName {
    /// Parses `owner/name`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => Ok(Self {
                owner: owner.into(),
                name: name.into(),
            }),
            _ => Err(format!("`{text}` is not a repository name like owner/name")),
        }
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Which permission a call needs, for the error message when GitHub refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Reading the repository.
    Read,
    /// Writing refs, commits, trees and blobs: `contents: write`.
    Contents,
    /// Opening and editing pull requests, their labels and reviewers: `pull-requests: write`.
    PullRequests,
}

/// A GitHub call that failed, with GitHub's answer and the next step.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct GitHubError {
    /// What we were doing, like "create the branch marketplace-release/5.26.0 in owner/repo".
    pub action: String,
    /// The HTTP status, when GitHub answered.
    pub status: Option<u16>,
    /// GitHub's `message`, or the transport error.
    pub message: String,
    /// GitHub's `errors` list (validation details), as sent.
    pub errors: Vec<Value>,
    /// GitHub's `documentation_url`.
    pub documentation_url: Option<String>,
    /// What to do.
    pub help: String,
}

impl GitHubError {
    fn render(&self) -> String {
        let mut text = format!("GitHub: could not {}: ", self.action);
        if let Some(status) = self.status {
            text.push_str(&format!("{status} "));
        }
        text.push_str(&self.message);
        if !self.errors.is_empty() {
            let details: Vec<String> = self.errors.iter().map(describe_error_entry).collect();
            text.push_str(&format!(" ({})", details.join("; ")));
        }
        if let Some(url) = &self.documentation_url {
            text.push_str(&format!(" [{url}]"));
        }
        text.push_str(&format!("\n  help: {}", self.help));
        text
    }

    /// An error GitHub's answer did not describe (transport, or an answer we cannot read).
    fn local(action: &str, status: Option<u16>, message: String, help: &str) -> Self {
        Self {
            action: action.into(),
            status,
            message,
            errors: Vec::new(),
            documentation_url: None,
            help: help.into(),
        }
    }

    /// Whether GitHub answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    /// Whether GitHub answered 422 with this text in its message or errors.
    pub fn is_unprocessable_with(&self, text: &str) -> bool {
        self.status == Some(422)
            && (self.message.contains(text)
                || self.errors.iter().any(|e| e.to_string().contains(text)))
    }
}

fn describe_error_entry(entry: &Value) -> String {
    match entry {
        Value::String(text) => text.clone(),
        Value::Object(fields) => match fields.get("message").and_then(Value::as_str) {
            Some(message) => message.to_owned(),
            None => ["resource", "field", "code"]
                .iter()
                .filter_map(|k| fields.get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        },
        other => other.to_string(),
    }
}

/// The next step for a refused call.
pub fn help_for(status: u16, message: &str, scope: Scope) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("not permitted to create or approve pull requests") {
        return "allow it in the repository (or organisation) settings: Settings → Actions → General → Workflow permissions → tick \"Allow GitHub Actions to create and approve pull requests\", then re-run".into();
    }
    if lower.contains("rate limit") {
        return "GitHub kept rate-limiting the token; wait a few minutes and re-run (the run resumes: the branch and pull request are updated in place)".into();
    }
    let permission = match scope {
        Scope::Read => "contents: read",
        Scope::Contents => "contents: write",
        Scope::PullRequests => "pull-requests: write",
    };
    match status {
        401 => "the token is missing, invalid or expired; pass a valid token (in a workflow: env GITHUB_TOKEN: ${{ github.token }})".into(),
        403 => format!("the token may not do this: give the job `permissions: {permission}` (the release needs contents: write and pull-requests: write); with a personal token, give it those repository permissions"),
        404 => format!("check the repository name and branch; GitHub also answers 404 when the token cannot see the repository or lacks `{permission}` (give the job `permissions: contents: write, pull-requests: write`)"),
        422 => "GitHub rejected the request's content; check the names in the config's pull-request section (labels, assignees, reviewers, branches)".into(),
        s if s >= 500 => "GitHub kept failing; check https://www.githubstatus.com and re-run (the run resumes: the branch and pull request are updated in place)".into(),
        _ => "re-run; if it keeps failing, report the message above".into(),
    }
}

/// How the client retries: server errors, rate limits and dropped connections always;
/// 422 only for calls that GitHub is known to refuse briefly after creating the pull request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first backoff; it doubles, with jitter.
    pub base: Duration,
    /// The longest single wait (a `retry-after` beyond it is still honoured up to
    /// [`RetryPolicy::max_retry_after`]).
    pub max_backoff: Duration,
    /// The longest `retry-after` or rate-limit reset we wait for.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The policy, with the first backoff `base` (1 s; tests shorten it).
    pub fn with_first_backoff(base: Duration) -> Self {
        Self {
            attempts: 5,
            base,
            max_backoff: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let doubled = self.base.saturating_mul(1 << retry.min(16));
        let jitter = 0.75 + fastrand::f64() * 0.5;
        doubled.min(self.max_backoff).mul_f64(jitter)
    }
}

/// Whether (and how long) to wait before retrying a response, following GitHub's guidance on
/// rate limits: `retry-after` first, then `x-ratelimit-reset` when no requests remain, else
/// backoff. `None`: do not retry.
pub fn retry_delay(
    status: u16,
    headers: &HeaderMap,
    message: &str,
    retry_unprocessable: bool,
    backoff: Duration,
    now_epoch_seconds: u64,
) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let rate_limited = (status == 403 || status == 429)
        && (header("retry-after").is_some()
            || header("x-ratelimit-remaining") == Some(0)
            || message.to_ascii_lowercase().contains("rate limit"));
    if rate_limited {
        if let Some(seconds) = header("retry-after") {
            return Some(Duration::from_secs(seconds));
        }
        if header("x-ratelimit-remaining") == Some(0) {
            if let Some(reset) = header("x-ratelimit-reset") {
                return Some(Duration::from_secs(
                    reset.saturating_sub(now_epoch_seconds) + 1,
                ));
            }
        }
        // A secondary rate limit without retry-after: GitHub asks for at least a minute. The
        // cap follows the backoff, so tests that shorten the backoff stay short.
        return Some(backoff.max(Duration::from_secs(60)).min(backoff * 60));
    }
    let retryable = status >= 500 || status == 429 || (status == 422 && retry_unprocessable);
    retryable.then_some(backoff)
}

/// A Git reference.
#[derive(Debug, Clone, Deserialize)]
pub struct GitRef {
    /// `refs/heads/…`.
    #[serde(rename = "ref")]
    pub name: String,
    /// What it points at.
    pub object: GitObject,
}

/// The object a reference points at.
#[derive(Debug, Clone, Deserialize)]
pub struct GitObject {
    /// Its SHA.
    pub sha: String,
}

/// A Git commit (the Git data API's shape).
#[derive(Debug, Clone, Deserialize)]
pub struct GitCommit {
    /// Its SHA.
    pub sha: String,
    /// Its tree.
    pub tree: GitObject,
    /// Its parents.
    pub parents: Vec<GitObject>,
    /// Its message.
    pub message: String,
}

/// A Git tree, one level.
#[derive(Debug, Clone, Deserialize)]
pub struct GitTree {
    /// Its SHA.
    pub sha: String,
    /// Its entries.
    pub tree: Vec<TreeEntry>,
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TreeEntry {
    /// The name (for one level, without directories).
    pub path: String,
    /// `100644`, `100755`, `040000`, `120000` or `160000`.
    pub mode: String,
    /// `blob`, `tree` or `commit`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The object's SHA.
    pub sha: String,
}

#[derive(Deserialize)]
struct Blob {
    content: String,
    encoding: String,
}

#[derive(Deserialize)]
struct Created {
    sha: String,
}

/// The repository fields we read.
#[derive(Debug, Clone, Deserialize)]
pub struct Repository {
    /// Its default branch.
    pub default_branch: String,
}

/// A user or team login.
#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    /// The login.
    pub login: String,
}

/// A label.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    /// Its name.
    pub name: String,
}

/// One side of a pull request.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequestBranch {
    /// The branch name.
    #[serde(rename = "ref")]
    pub name: String,
}

/// The pull request fields we read.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// Its page.
    pub html_url: String,
    /// Its title.
    pub title: String,
    /// Its body (GitHub sends `null` for an empty one).
    #[serde(default)]
    pub body: Option<String>,
    /// The branch it merges into.
    pub base: PullRequestBranch,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Its assignees.
    #[serde(default)]
    pub assignees: Vec<Login>,
}

/// A new pull request.
#[derive(Debug, Clone, Serialize)]
pub struct NewPullRequest<'a> {
    /// Title.
    pub title: &'a str,
    /// Body.
    pub body: &'a str,
    /// The branch with the changes.
    pub head: &'a str,
    /// The branch to merge into.
    pub base: &'a str,
    /// Open as a draft.
    pub draft: bool,
    /// Let maintainers push to the branch.
    pub maintainer_can_modify: bool,
}

/// A tree entry to write: the blob `sha` at `path`.
#[derive(Debug, Clone, Serialize)]
pub struct NewTreeEntry {
    /// Path from the repository root.
    pub path: String,
    /// File mode.
    pub mode: String,
    /// Always `blob`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The blob.
    pub sha: String,
}

/// The client for one repository.
pub struct GitHub {
    octocrab: Octocrab,
    api_url: String,
    repo: RepoName,
    retry: RetryPolicy,
}

/// What stays unescaped in a path segment or query value: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a branch name for the ref routes, keeping its `/` separators.
fn encode_ref(name: &str) -> String {
    name.split('/')
        .map(|part| utf8_percent_encode(part, UNRESERVED).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// `key=value` for a query string.
fn query_pair(key: &str, value: &str) -> String {
    format!("{key}={}", utf8_percent_encode(value, UNRESERVED))
}

impl GitHub {
    /// A client for `repo` at `api_url` with `token`. Must be called inside a tokio runtime.
    pub fn new(
        api_url: &str,
        token: &secrecy::SecretString,
        repo: RepoName,
        retry: RetryPolicy,
    ) -> anyhow::Result<Self> {
        let api_url = api_url.trim_end_matches('/').to_owned();
        let base: Uri = api_url
            .parse()
            .ok()
            .filter(|uri: &Uri| uri.scheme().is_some() && uri.authority().is_some())
            .ok_or_else(|| anyhow::anyhow!("GITHUB_API_URL `{api_url}` is not a URL like {DEFAULT_API_URL}\n  help: unset it to use {DEFAULT_API_URL}"))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", secrecy::ExposeSecret::expose_secret(token))).map_err(|_| {
            anyhow::anyhow!("the GitHub token holds characters a token cannot hold (a line break?)\n  help: pass the token alone, e.g. GITHUB_TOKEN: ${{{{ github.token }}}}")
        })?;
        authorization.set_sensitive(true);
        // octocrab's default client, as its `build` assembles it (rustls with the platform's
        // roots, HTTP/1, timeouts), minus its extra-headers layer (which appends
        // `User-Agent: octocrab`), plus ours next to the wire.
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| anyhow::anyhow!("cannot set up the GitHub client: {e}\n  help: the machine needs CA certificates (ca-certificates)"))?
            .https_or_http()
            .enable_http1()
            .build();
        let connector = Octocrab::builder()
            .set_connect_timeout(Some(Duration::from_secs(15)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .set_connect_timeout_service(connector);
        let client: hyper_util::client::legacy::Client<_, octocrab::OctoBody> =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build(connector);
        let octocrab = OctocrabBuilder::new_empty()
            .with_service(client)
            .with_layer(&SetHeadersLayer::github())
            .with_layer(&AuthHeaderLayer::new(
                Some(authorization),
                base.clone(),
                base,
            ))
            .with_auth(AuthState::None)
            .build()
            .unwrap_or_else(|never| match never {});
        Ok(Self {
            octocrab,
            api_url,
            repo,
            retry,
        })
    }

    /// The repository.
    pub fn repo(&self) -> &RepoName {
        &self.repo
    }

    fn route(&self, tail: &str) -> String {
        format!(
            "{}/repos/{}/{}{tail}",
            self.api_url, self.repo.owner, self.repo.name
        )
    }

    /// Sends one call with retries; returns the status and the JSON body.
    #[allow(
        clippy::too_many_lines,
        reason = "the retry loop: send, classify the answer, wait or give up; its arms share the attempt's state"
    )]
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        action: &str,
        scope: Scope,
        retry_unprocessable: bool,
    ) -> Result<Value, GitHubError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            tracing::debug!(%method, url, attempt, "GitHub request");
            let backoff = self.retry.backoff(attempt - 1);
            let last = attempt >= self.retry.attempts;
            let response = match method.as_str() {
                "GET" => self.octocrab._get(url).await,
                "POST" => self.octocrab._post(url, body).await,
                "PATCH" => self.octocrab._patch(url, body).await,
                "DELETE" => self.octocrab._delete(url, body).await,
                other => unreachable!("no {other} calls"),
            };
            let response = match response {
                Ok(response) => response,
                Err(error) => {
                    if !last {
                        tracing::warn!("GitHub: {action}: {}; retrying", transport_message(&error));
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                    return Err(GitHubError::local(
                        action,
                        None,
                        transport_message(&error),
                        "check the network and GITHUB_API_URL, then re-run",
                    ));
                }
            };
            let (parts, body_stream) = response.into_parts();
            let bytes = match body_stream.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(error) if !last => {
                    tracing::warn!("GitHub: {action}: {}; retrying", transport_message(&error));
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                Err(error) => {
                    return Err(GitHubError::local(
                        action,
                        Some(parts.status.as_u16()),
                        transport_message(&error),
                        "check the network, then re-run",
                    ))
                }
            };
            if parts.status.is_success() {
                if bytes.is_empty() || parts.status == StatusCode::NO_CONTENT {
                    return Ok(Value::Null);
                }
                return serde_json::from_slice(&bytes).map_err(|e| {
                    GitHubError::local(
                        action,
                        Some(parts.status.as_u16()),
                        format!("the answer is not JSON: {e}"),
                        "check GITHUB_API_URL points at GitHub's REST API",
                    )
                });
            }
            let error_body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let message = error_body
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
                    if text.is_empty() {
                        parts
                            .status
                            .canonical_reason()
                            .unwrap_or("error")
                            .to_owned()
                    } else {
                        text.chars().take(500).collect()
                    }
                });
            let status = parts.status.as_u16();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            // GitHub's refusal right after creating a PR passes within seconds; a lasting 422
            // (a reviewer who cannot review) is not worth more than two retries.
            let delay = retry_delay(
                status,
                &parts.headers,
                &message,
                retry_unprocessable && attempt < 3,
                backoff,
                now,
            );
            if let Some(delay) = delay.filter(|d| !last && *d <= self.retry.max_retry_after) {
                tracing::warn!(
                    "GitHub: {action}: {status} {message}; retrying in {:.1}s",
                    delay.as_secs_f64()
                );
                progress::line(&format!(
                    "github: {action}: {status} {message}; retrying in {:.1}s",
                    delay.as_secs_f64()
                ));
                tokio::time::sleep(delay).await;
                continue;
            }
            return Err(GitHubError {
                action: action.into(),
                status: Some(status),
                help: help_for(status, &message, scope),
                message,
                errors: error_body
                    .get("errors")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                documentation_url: error_body
                    .get("documentation_url")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        }
    }

    async fn typed<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        action: &str,
        scope: Scope,
    ) -> Result<T, GitHubError> {
        let value = self.call(method, url, body, action, scope, false).await?;
        serde_json::from_value(value).map_err(|e| {
            GitHubError::local(
                action,
                None,
                format!("unexpected answer: {e}"),
                "check GITHUB_API_URL points at GitHub's REST API",
            )
        })
    }

    /// The repository's settings we read.
    ///
    /// GitHub operation `repos/get`.
    pub async fn repository(&self) -> Result<Repository, GitHubError> {
        let action = format!("read the repository {}", self.repo);
        self.typed(Method::GET, &self.route(""), None, &action, Scope::Read)
            .await
    }

    /// The commit a branch points at, or `None` when the branch does not exist.
    ///
    /// GitHub operation `git/get-ref`.
    pub async fn branch_head(&self, branch: &str) -> Result<Option<String>, GitHubError> {
        let action = format!("read the branch {branch} of {}", self.repo);
        let url = self.route(&format!("/git/ref/heads/{}", encode_ref(branch)));
        match self
            .typed::<GitRef>(Method::GET, &url, None, &action, Scope::Read)
            .await
        {
            Ok(found) => Ok(Some(found.object.sha)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A commit.
    ///
    /// GitHub operation `git/get-commit`.
    pub async fn commit(&self, sha: &str) -> Result<GitCommit, GitHubError> {
        let action = format!("read commit {sha} of {}", self.repo);
        let url = self.route(&format!("/git/commits/{sha}"));
        self.typed(Method::GET, &url, None, &action, Scope::Read)
            .await
    }

    /// One level of a tree.
    ///
    /// GitHub operation `git/get-tree`.
    pub async fn tree(&self, sha: &str) -> Result<GitTree, GitHubError> {
        let action = format!("read tree {sha} of {}", self.repo);
        let url = self.route(&format!("/git/trees/{sha}"));
        self.typed(Method::GET, &url, None, &action, Scope::Read)
            .await
    }

    /// A blob's bytes.
    ///
    /// GitHub operation `git/get-blob`.
    pub async fn blob(&self, sha: &str) -> Result<Vec<u8>, GitHubError> {
        let action = format!("read blob {sha} of {}", self.repo);
        let url = self.route(&format!("/git/blobs/{sha}"));
        let blob: Blob = self
            .typed(Method::GET, &url, None, &action, Scope::Read)
            .await?;
        let undecodable = |message: String| {
            GitHubError::local(
                &action,
                None,
                message,
                "re-run; if it keeps failing, report the message above",
            )
        };
        if blob.encoding != "base64" {
            return Err(undecodable(format!(
                "unexpected blob encoding `{}`",
                blob.encoding
            )));
        }
        // GitHub wraps the base64 at 60 characters.
        let packed: String = blob.content.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(packed)
            .map_err(|e| undecodable(format!("the blob is not valid base64: {e}")))
    }

    /// Stores a blob; returns its SHA.
    ///
    /// GitHub operation `git/create-blob`.
    pub async fn create_blob(&self, path: &str, bytes: &[u8]) -> Result<String, GitHubError> {
        let action = format!("upload {path} to {}", self.repo);
        let body = json!({
            "content": base64::engine::general_purpose::STANDARD.encode(bytes),
            "encoding": "base64",
        });
        let created: Created = self
            .typed(
                Method::POST,
                &self.route("/git/blobs"),
                Some(&body),
                &action,
                Scope::Contents,
            )
            .await?;
        Ok(created.sha)
    }

    /// Stores a tree: `base_tree` with `entries` replaced; returns its SHA.
    ///
    /// GitHub operation `git/create-tree`.
    pub async fn create_tree(
        &self,
        base_tree: &str,
        entries: &[NewTreeEntry],
    ) -> Result<String, GitHubError> {
        let action = format!("create a tree in {}", self.repo);
        let body = json!({ "base_tree": base_tree, "tree": entries });
        let created: Created = self
            .typed(
                Method::POST,
                &self.route("/git/trees"),
                Some(&body),
                &action,
                Scope::Contents,
            )
            .await?;
        Ok(created.sha)
    }

    /// Creates a commit. No author or committer is sent, so GitHub makes the token's identity
    /// both and signs the commit (it shows as verified).
    ///
    /// GitHub operation `git/create-commit`.
    pub async fn create_commit(
        &self,
        message: &str,
        tree: &str,
        parents: &[String],
    ) -> Result<GitCommit, GitHubError> {
        let action = format!("create a commit in {}", self.repo);
        let body = json!({ "message": message, "tree": tree, "parents": parents });
        self.typed(
            Method::POST,
            &self.route("/git/commits"),
            Some(&body),
            &action,
            Scope::Contents,
        )
        .await
    }

    /// Creates a branch at `sha`.
    ///
    /// GitHub operation `git/create-ref`.
    pub async fn create_branch(&self, branch: &str, sha: &str) -> Result<(), GitHubError> {
        let action = format!("create the branch {branch} in {}", self.repo);
        let body = json!({ "ref": format!("refs/heads/{branch}"), "sha": sha });
        self.call(
            Method::POST,
            &self.route("/git/refs"),
            Some(&body),
            &action,
            Scope::Contents,
            false,
        )
        .await
        .map(drop)
    }

    /// Points an existing branch at `sha`, even when that is not a fast-forward.
    ///
    /// GitHub operation `git/update-ref`.
    pub async fn force_branch(&self, branch: &str, sha: &str) -> Result<(), GitHubError> {
        let action = format!("update the branch {branch} in {}", self.repo);
        let url = self.route(&format!("/git/refs/heads/{}", encode_ref(branch)));
        let body = json!({ "sha": sha, "force": true });
        self.call(
            Method::PATCH,
            &url,
            Some(&body),
            &action,
            Scope::Contents,
            false,
        )
        .await
        .map(drop)
    }

    /// Deletes a branch.
    ///
    /// GitHub operation `git/delete-ref`.
    pub async fn delete_branch(&self, branch: &str) -> Result<(), GitHubError> {
        let action = format!("delete the branch {branch} in {}", self.repo);
        let url = self.route(&format!("/git/refs/heads/{}", encode_ref(branch)));
        match self
            .call(Method::DELETE, &url, None, &action, Scope::Contents, false)
            .await
        {
            // A retried delete that had already been carried out.
            Err(e) if e.is_unprocessable_with("does not exist") => Ok(()),
            other => other.map(drop),
        }
    }

    /// The open pull request from `branch` of this repository, if any.
    ///
    /// GitHub operation `pulls/list`.
    pub async fn open_pull_request(
        &self,
        branch: &str,
    ) -> Result<Option<PullRequest>, GitHubError> {
        let action = format!("list the pull requests of {}", self.repo);
        let head: String = format!("{}:{branch}", self.repo.owner);
        let query = query_pair("head", &head);
        let url = self.route(&format!("/pulls?state=open&{query}&per_page=100"));
        let mut found: Vec<PullRequest> = self
            .typed(Method::GET, &url, None, &action, Scope::PullRequests)
            .await?;
        found.sort_by_key(|pr| pr.number);
        Ok(found.into_iter().next())
    }

    /// Opens a pull request.
    ///
    /// GitHub operation `pulls/create`.
    pub async fn create_pull_request(
        &self,
        new: &NewPullRequest<'_>,
    ) -> Result<PullRequest, GitHubError> {
        let action = format!(
            "open a pull request from {} into {} in {}",
            new.head, new.base, self.repo
        );
        let body = serde_json::to_value(new).expect("serialises");
        self.typed(
            Method::POST,
            &self.route("/pulls"),
            Some(&body),
            &action,
            Scope::PullRequests,
        )
        .await
    }

    /// Sets a pull request's title and body.
    ///
    /// GitHub operation `pulls/update`.
    pub async fn update_pull_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, GitHubError> {
        let action = format!("update pull request #{number} of {}", self.repo);
        let url = self.route(&format!("/pulls/{number}"));
        let payload = json!({ "title": title, "body": body });
        self.typed(
            Method::PATCH,
            &url,
            Some(&payload),
            &action,
            Scope::PullRequests,
        )
        .await
    }

    /// A POST about a pull request that GitHub may refuse with 422 for a moment after
    /// creating it, so 422 is retried too.
    async fn post_about_new_pull_request(
        &self,
        tail: &str,
        body: Value,
        action: String,
    ) -> Result<(), GitHubError> {
        let url = self.route(tail);
        self.call(
            Method::POST,
            &url,
            Some(&body),
            &action,
            Scope::PullRequests,
            true,
        )
        .await
        .map(drop)
    }

    /// Adds labels (creating missing ones, as GitHub does).
    ///
    /// GitHub operation `issues/add-labels`.
    pub async fn add_labels(&self, number: u64, labels: &[String]) -> Result<(), GitHubError> {
        self.post_about_new_pull_request(
            &format!("/issues/{number}/labels"),
            json!({ "labels": labels }),
            format!("label pull request #{number} of {}", self.repo),
        )
        .await
    }

    /// Adds assignees.
    ///
    /// GitHub operation `issues/add-assignees`.
    pub async fn add_assignees(
        &self,
        number: u64,
        assignees: &[String],
    ) -> Result<(), GitHubError> {
        self.post_about_new_pull_request(
            &format!("/issues/{number}/assignees"),
            json!({ "assignees": assignees }),
            format!("assign pull request #{number} of {}", self.repo),
        )
        .await
    }

    /// Requests reviews from users and teams.
    ///
    /// GitHub operation `pulls/request-reviewers`.
    pub async fn request_reviewers(
        &self,
        number: u64,
        reviewers: &[String],
        team_reviewers: &[String],
    ) -> Result<(), GitHubError> {
        self.post_about_new_pull_request(
            &format!("/pulls/{number}/requested_reviewers"),
            json!({ "reviewers": reviewers, "team_reviewers": team_reviewers }),
            format!(
                "request reviewers for pull request #{number} of {}",
                self.repo
            ),
        )
        .await
    }
}

/// A transport error with its causes, which never include request headers.
fn transport_message(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut named: Vec<&str> = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", file!()))
            .split(marker)
            .skip(1)
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
            text.contains(
                "422 Validation Failed (Label name invalid) [https://docs.github.com/rest]"
            ),
            "{text}"
        );
        assert!(text.ends_with("help: fix it"));
    }
}
