//! The thin STS adapter: whose credentials the release runs with (GetCallerIdentity, which
//! needs no permission).

use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sts::Client;

/// GetCallerIdentity failed after the SDK's retries (expired or missing credentials, most
/// often).
#[derive(Debug, thiserror::Error)]
#[error("STS GetCallerIdentity failed: {0}\n  help: check the AWS credentials the job runs with (aws-actions/configure-aws-credentials)")]
pub struct StsError(pub String);

/// The STS client.
pub struct Sts {
    client: Client,
}

impl Sts {
    /// A client from the standard AWS configuration chain (`AWS_ENDPOINT_URL` redirects it).
    pub async fn from_env() -> Self {
        Self {
            client: Client::new(&crate::aws::ec2::shared_config(3).await),
        }
    }

    /// The 12-digit account of the credentials.
    pub async fn caller_account(&self) -> Result<String, StsError> {
        let out = self
            .client
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                StsError(match e.code() {
                    Some(code) => format!("{code}: {}", e.message().unwrap_or_default()),
                    None => DisplayErrorContext(&e).to_string(),
                })
            })?;
        out.account()
            .map(str::to_owned)
            .ok_or_else(|| StsError("the answer names no account".into()))
    }
}
