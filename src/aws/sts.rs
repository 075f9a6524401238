//! The thin STS adapter: whose credentials the release runs with (GetCallerIdentity, which
//! needs no permission).

use std::time::Duration;

use aws_sdk_sts::Client;

use crate::aws::config::{self, AwsConfig};
use crate::aws::error::AwsError;

/// The STS client.
pub struct Sts {
    client: Client,
}

impl Sts {
    /// The client of the run's configuration, in us-east-1, with 3 attempts a call.
    pub fn new(config: &AwsConfig) -> Self {
        let conf = aws_sdk_sts::config::Builder::from(config.sdk())
            .retry_config(config::retry(3))
            .build();
        Self {
            client: Client::from_conf(conf),
        }
    }

    /// A client from a configuration of its own, loaded the standard way
    /// ([`AwsConfig::load`]; `AWS_ENDPOINT_URL` redirects it).
    pub async fn from_env() -> Self {
        Self::new(&AwsConfig::load().await)
    }

    /// The 12-digit account of the credentials.
    /// Missing or expired credentials fail here first, as an [`AwsError`] that says so.
    pub async fn caller_account(&self) -> Result<String, AwsError> {
        let out = self
            .client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetCallerIdentity", "us-east-1", Duration::ZERO, e))?;
        out.account().map(str::to_owned).ok_or_else(|| AwsError {
            action: "GetCallerIdentity",
            region: "us-east-1".into(),
            code: "no account".into(),
            message: ": the answer names no account".into(),
            after: Duration::ZERO,
        })
    }
}
