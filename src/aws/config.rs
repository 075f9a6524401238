//! The AWS config of a run, loaded once and handed to every adapter.

use aws_config::SdkConfig;

/// The run's AWS configuration (the standard credential chain, home region us-east-1, retries
/// for throttling), opaque outside the adapters.
#[derive(Debug, Clone)]
pub struct AwsConfig(SdkConfig);

impl AwsConfig {
    /// Loads the configuration the standard way (environment, profile, web identity, …;
    /// `AWS_ENDPOINT_URL` redirects every client).
    pub async fn load() -> Self {
        Self(crate::aws::ec2::shared_config(8).await)
    }

    /// The SDK's configuration, for the adapters.
    pub fn sdk(&self) -> &SdkConfig {
        &self.0
    }
}
