//! The one AWS configuration of a run, loaded once and shared by every adapter.
//!
//! [`AwsConfig::load`] is the only place that resolves the standard chain (environment,
//! profile, web identity, …; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` redirect). Each
//! adapter builds its clients from it with its SDK's `config::Builder::from(&SdkConfig)`, which
//! copies the credentials provider (with its identity-cache partition) and the identity cache
//! itself: every client of the run reads its credentials through one cache, so the chain is
//! resolved once, not once per adapter. The chain's provider is also wrapped in [`Remembered`],
//! so that asking for the credentials' expiry (the AWS pre-flight's lifetime warning, which
//! reads the provider, not the cache) resolves nothing again either.

use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::{
    future, ProvideCredentials, Result as CredentialsResult, SharedCredentialsProvider,
};
use aws_credential_types::Credentials;

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
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .retry_config(retry(DEFAULT_ATTEMPTS))
            .load()
            .await;
        let Some(chain) = sdk.credentials_provider() else {
            return Self { sdk };
        };
        let remembered = SharedCredentialsProvider::new(Remembered::new(chain));
        Self {
            sdk: sdk.to_builder().credentials_provider(remembered).build(),
        }
    }

    /// When the run's credentials expire, if they say (resolving them once, as the first call
    /// of any adapter would).
    pub async fn credentials_expiry(&self) -> Option<SystemTime> {
        let provider = self.sdk.credentials_provider()?;
        provider.provide_credentials().await.ok()?.expiry()
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

/// How long before their expiry remembered credentials are resolved again. The SDK's identity
/// cache refreshes shortly before expiry too; this stays well before that.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// A credentials provider that remembers what the wrapped chain last gave until shortly before
/// it expires: every caller (the SDK's identity cache, the expiry warning) shares one
/// resolution.
#[derive(Debug)]
struct Remembered {
    chain: SharedCredentialsProvider,
    last: tokio::sync::Mutex<Option<Credentials>>,
}

impl Remembered {
    fn new(chain: SharedCredentialsProvider) -> Self {
        Self {
            chain,
            last: tokio::sync::Mutex::new(None),
        }
    }

    async fn credentials(&self) -> CredentialsResult {
        let mut last = self.last.lock().await;
        let fresh_enough = |c: &Credentials| {
            c.expiry().is_none_or(|at| {
                at.duration_since(SystemTime::now())
                    .is_ok_and(|left| left > REFRESH_BEFORE_EXPIRY)
            })
        };
        if let Some(credentials) = last.as_ref().filter(|c| fresh_enough(c)) {
            return Ok(credentials.clone());
        }
        let credentials = self.chain.provide_credentials().await?;
        *last = Some(credentials.clone());
        Ok(credentials)
    }
}

impl ProvideCredentials for Remembered {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.credentials())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    /// A chain that counts its resolutions and hands out credentials expiring `lifetime` on.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicUsize>,
        lifetime: Duration,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = SystemTime::now() + self.lifetime;
            future::ProvideCredentials::ready(Ok(Credentials::new(
                "AKID",
                "secret",
                None,
                Some(expiry),
                "test",
            )))
        }
    }

    fn remembered(lifetime: Duration) -> (Remembered, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let chain = SharedCredentialsProvider::new(Counting {
            calls: calls.clone(),
            lifetime,
        });
        (Remembered::new(chain), calls)
    }

    #[tokio::test]
    async fn credentials_are_resolved_once_until_they_near_their_expiry() {
        let (provider, calls) = remembered(Duration::from_secs(3600));
        for _ in 0..3 {
            provider.provide_credentials().await.unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let (expiring, calls) = remembered(Duration::from_secs(60));
        expiring.provide_credentials().await.unwrap();
        expiring.provide_credentials().await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "within the refresh window: resolved again"
        );
    }
}
