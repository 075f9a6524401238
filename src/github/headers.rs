//! The headers every request carries, set next to the wire by a tower layer so each appears
//! exactly once (octocrab's builder and default client would add their own).

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

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
