//! AWS credentials served the way ECS and EKS serve them to a container: the SDK's container
//! credentials provider (`aws_config::ecs`, the fourth link of the default chain, after the
//! environment, the profile files and web identity) asks `AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! with a GET and reads `AccessKeyId`, `SecretAccessKey`, `Token` and `Expiration`. The fake
//! counts those requests: each is one resolution of the credential chain.
//!
//! Why this provider (aws-config 1.13, `src/default_provider/credentials.rs`, `src/ecs.rs`): it
//! is in the chain without any crate feature (the crate is built with `default-features =
//! false`; the `credential_process` link would need `credentials-process`), and it takes an
//! `http` URL when its host is a loopback address (`validate_full_uri`), so a local server
//! stands in for the container agent. The answer's `Expiration` is hours away, so that the
//! SDK's identity cache (one per loaded `SdkConfig`) never asks twice for the same config.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use time::format_description::well_known::Rfc3339;

use super::scenario::AWS_SECRET;

/// The path the provider is pointed at.
const PATH: &str = "/v2/credentials/marketplace-release-tests";

/// The container credentials endpoint, counting what it serves; stopped when dropped.
pub struct ContainerCredentials {
    /// The value for `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub url: String,
    served: Arc<AtomicUsize>,
    other: Arc<AtomicUsize>,
    _server: super::FakeServer,
}

impl ContainerCredentials {
    /// Starts the endpoint. It answers credentials moto accepts (the access key `testing`, the
    /// scenarios' secret key, a session token) that expire six hours from now.
    pub fn start() -> Self {
        let served = Arc::new(AtomicUsize::new(0));
        let other = Arc::new(AtomicUsize::new(0));
        let (counted, strays) = (served.clone(), other.clone());
        let server = super::FakeServer::serve(axum::Router::new().fallback(
            move |method: Method, uri: Uri| {
                let (counted, strays) = (counted.clone(), strays.clone());
                async move {
                    if method != Method::GET || uri.path() != PATH {
                        strays.fetch_add(1, Ordering::SeqCst);
                        return (StatusCode::NOT_FOUND, String::new()).into_response();
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    let expiration = (time::OffsetDateTime::now_utc() + time::Duration::hours(6))
                        .replace_nanosecond(0)
                        .unwrap()
                        .format(&Rfc3339)
                        .unwrap();
                    let body = serde_json::json!({
                        "AccessKeyId": "testing",
                        "SecretAccessKey": AWS_SECRET,
                        "Token": "container-session-token",
                        "Expiration": expiration,
                    });
                    (
                        StatusCode::OK,
                        [("content-type", "application/json")],
                        body.to_string(),
                    )
                        .into_response()
                }
            },
        ));
        Self {
            url: format!("{}{PATH}", server.url),
            served,
            other,
            _server: server,
        }
    }

    /// How many times credentials were served so far.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// Requests for anything else (another path or method), answered 404.
    pub fn strays(&self) -> usize {
        self.other.load(Ordering::SeqCst)
    }
}
