//! The client: the transport assembled from octocrab's parts, the routes, and one call with its
//! retries (send, read the answer, wait or give up).

use crate::output::progress;
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use http::{Method, StatusCode, Uri};
use http_body_util::BodyExt;
use octocrab::service::middleware::auth_header::AuthHeaderLayer;
use octocrab::{AuthState, Octocrab, OctocrabBuilder};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{GitHubError, Refusal, Scope};
use super::headers::SetHeadersLayer;
use super::name::RepoName;
use super::retry::{retry_delay, RetryPolicy};

/// Where GitHub's API is when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

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
pub(super) fn encode_ref(name: &str) -> String {
    name.split('/')
        .map(|part| utf8_percent_encode(part, UNRESERVED).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// `key=value` for a query string.
pub(super) fn query_pair(key: &str, value: &str) -> String {
    format!("{key}={}", utf8_percent_encode(value, UNRESERVED))
}

/// An attempt whose request or answer did not travel: the transport's message, the status when
/// one came, and what to do.
struct Lost {
    status: Option<u16>,
    message: String,
    help: &'static str,
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

    /// The URL of `tail` (a path from the repository, like `/git/refs`).
    pub(super) fn route(&self, tail: &str) -> String {
        format!(
            "{}/repos/{}/{}{tail}",
            self.api_url, self.repo.owner, self.repo.name
        )
    }

    /// Sends one call with retries; returns the JSON body (`null` when there is none).
    pub(super) async fn call(
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
            let (parts, bytes) = match self.send(&method, url, body).await {
                Ok(answer) => answer,
                Err(lost) if !last => {
                    tracing::warn!("GitHub: {action}: {}; retrying", lost.message);
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                Err(lost) => {
                    return Err(GitHubError::local(
                        action,
                        lost.status,
                        lost.message,
                        lost.help,
                    ))
                }
            };
            if parts.status.is_success() {
                return success_body(parts.status, &bytes).map_err(|e| {
                    GitHubError::local(
                        action,
                        Some(parts.status.as_u16()),
                        format!("the answer is not JSON: {e}"),
                        "check GITHUB_API_URL points at GitHub's REST API",
                    )
                });
            }
            let refusal = Refusal::read(parts.status, &bytes);
            // GitHub's refusal right after creating a PR passes within seconds; a lasting 422
            // (a reviewer who cannot review) is not worth more than two retries.
            let delay = retry_delay(
                refusal.status,
                &parts.headers,
                &refusal.message,
                retry_unprocessable && attempt < 3,
                backoff,
                epoch_seconds(),
            );
            if let Some(delay) = delay.filter(|d| !last && *d <= self.retry.max_retry_after) {
                let (status, message) = (refusal.status, &refusal.message);
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
            return Err(refusal.into_error(action, scope));
        }
    }

    /// Sends one request and reads its whole answer.
    async fn send(
        &self,
        method: &Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(http::response::Parts, Vec<u8>), Lost> {
        let response = match method.as_str() {
            "GET" => self.octocrab._get(url).await,
            "POST" => self.octocrab._post(url, body).await,
            "PATCH" => self.octocrab._patch(url, body).await,
            "DELETE" => self.octocrab._delete(url, body).await,
            other => unreachable!("no {other} calls"),
        };
        let response = response.map_err(|error| Lost {
            status: None,
            message: transport_message(&error),
            help: "check the network and GITHUB_API_URL, then re-run",
        })?;
        let (parts, body_stream) = response.into_parts();
        match body_stream.collect().await {
            Ok(collected) => Ok((parts, collected.to_bytes().into())),
            Err(error) => Err(Lost {
                status: Some(parts.status.as_u16()),
                message: transport_message(&error),
                help: "check the network, then re-run",
            }),
        }
    }

    /// One call whose answer is read as `T`.
    pub(super) async fn typed<T: DeserializeOwned>(
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
}

/// The JSON of a successful answer (`null` when there is none).
fn success_body(status: StatusCode, bytes: &[u8]) -> serde_json::Result<Value> {
    if bytes.is_empty() || status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes)
}

/// Seconds since the Unix epoch, to read GitHub's `x-ratelimit-reset` against.
fn epoch_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
