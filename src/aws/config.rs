//! The one AWS configuration of a run, loaded once and shared by every adapter.
//!
//! [`AwsConfig::load`] is the only place that resolves the standard chain (environment,
//! profile, web identity, …; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` redirect). Each
//! adapter builds its clients from it with its SDK's `config::Builder::from(&SdkConfig)`, which
//! copies the credentials provider (with its identity-cache partition) and the identity cache
//! itself: every client of the run reads its credentials through one cache, so the chain is
//! resolved once, not once per adapter.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// The attempts (the first included) of a call whose adapter sets none of its own: EC2's, which
/// the Service Quotas and CloudFormation clients share.
pub(super) const DEFAULT_ATTEMPTS: u32 = 8;

/// The first backoff of the SDK's standard retries; it doubles, with jitter.
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);

/// The AWS configuration of one run: the credentials chain, the home region us-east-1, and
/// standard retries with backoff for throttling. Cheap to clone (the SDK's parts are shared).
#[derive(Debug, Clone)]
pub struct AwsConfig {
    sdk: SdkConfig,
}

impl AwsConfig {
    /// Loads the configuration the standard way, once a run: every adapter of the run is made
    /// from the value returned.
    pub async fn load() -> Self {
        Self {
            sdk: aws_config::defaults(BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .retry_config(retry(DEFAULT_ATTEMPTS))
                .load()
                .await,
        }
    }

    /// The SDK's configuration, for the adapters' client builders.
    pub(super) fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }
}

/// A configuration an SDK config already holds: tests point the adapters at a stand-in this
/// way (an endpoint, fixed credentials, short backoffs).
impl From<SdkConfig> for AwsConfig {
    fn from(sdk: SdkConfig) -> Self {
        Self { sdk }
    }
}

/// The SDK's standard retries with `attempts` attempts in all (the first included) and the
/// run's first backoff.
pub(super) fn retry(attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(INITIAL_BACKOFF)
}
