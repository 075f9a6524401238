//! The thin STS adapter: whose credentials the release runs with (GetCallerIdentity, which
//! needs no permission).

use std::time::Duration;

use aws_sdk_sts::Client;

use crate::aws::error::AwsError;

/// The STS client.
pub struct Sts {
    client: Client,
}

impl Sts {
    /// A client from the standard AWS configuration chain (`AWS_ENDPOINT_URL` redirects it).
    pub fn new(config: &crate::aws::config::AwsConfig) -> Self {
        Self {
            client: Client::new(config.sdk()),
        }
    }

    /// A client from the standard AWS configuration chain.
    pub async fn from_env() -> Self {
        Self {
            client: Client::new(&crate::aws::ec2::shared_config(3).await),
        }
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
