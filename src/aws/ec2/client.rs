//! The EC2 client of every region and the one layer every EC2 call goes through: the in-flight
//! bound, the retries of NotFound for what this run just created, and the errors.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use aws_sdk_ec2::Client;
use tokio::sync::Semaphore;

use crate::aws::config::AwsConfig;
use crate::aws::error::AwsError;

/// How long a NotFound for a resource this run just created is retried before it counts.
/// EC2 documents no bound; its changes usually show within seconds.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(120);

/// Whether a call names resources this run may have created moments ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ids {
    /// Created by this run: NotFound is retried until [`SETTLE_LIMIT`].
    Fresh,
    /// Anything else: NotFound is the answer.
    Settled,
}

/// Tags as the SDK wants them.
pub(super) fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// One tag specification for `kind`.
pub(super) fn tag_specification(
    kind: ResourceType,
    pairs: &[(String, String)],
) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags(pairs)))
        .build()
}

/// EC2 clients for every region from one shared configuration.
pub struct Ec2 {
    config: AwsConfig,
    clients: Mutex<HashMap<String, Client>>,
    in_flight: Semaphore,
    started: Instant,
}

impl Ec2 {
    /// Clients made from the run's `config`, with its retries (8 attempts for throttling). At
    /// most `max_in_flight` EC2 requests are in flight at once, across all regions.
    pub fn new(config: &AwsConfig, max_in_flight: usize) -> Self {
        Self {
            config: config.clone(),
            clients: Mutex::new(HashMap::new()),
            in_flight: Semaphore::new(max_in_flight.max(1)),
            started: Instant::now(),
        }
    }

    /// Clients from a configuration of their own, loaded the standard way
    /// ([`AwsConfig::load`]; `AWS_ENDPOINT_URL` redirects every client).
    pub async fn from_env(max_in_flight: usize) -> Self {
        Self::new(&AwsConfig::load().await, max_in_flight)
    }

    /// The run's configuration, for the other adapters of the same run.
    pub fn config(&self) -> &AwsConfig {
        &self.config
    }

    /// How long ago the clients were made, for the errors' "after".
    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The client for `region`.
    fn client(&self, region: &str) -> Client {
        let mut clients = self.clients.lock().expect("client map lock");
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_ec2::config::Builder::from(self.config.sdk())
                    .region(aws_config::Region::new(region.to_owned()))
                    .build();
                Client::from_conf(config)
            })
            .clone()
    }

    /// The one layer every call goes through: a permit of the in-flight bound, the call, and,
    /// for [`Ids::Fresh`], retries of NotFound with backoff (1 s doubling to 8 s) until
    /// [`SETTLE_LIMIT`].
    pub(super) async fn call<T, E, F, Fut>(
        &self,
        action: &'static str,
        region: &str,
        ids: Ids,
        send: F,
    ) -> Result<T, AwsError>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let first = Instant::now();
        let mut backoff = Duration::from_secs(1);
        loop {
            let result = {
                let _permit = self.in_flight.acquire().await.expect("never closed");
                send(self.client(region)).await
            };
            let error = match result {
                Ok(out) => return Ok(out),
                Err(e) => AwsError::from_sdk(action, region, self.started.elapsed(), e),
            };
            if ids == Ids::Fresh && error.is_not_found() && first.elapsed() < SETTLE_LIMIT {
                tracing::debug!(action, region, code = %error.code, "not visible yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(8));
                continue;
            }
            return Err(error);
        }
    }
}
