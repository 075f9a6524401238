//! The thin STS adapter: whose credentials the release runs with (GetCallerIdentity, which
//! needs no permission).

use std::time::Duration;

use aws_sdk_sts::Client;

use crate::aws::error::AwsError;

/// GetCallerIdentity failed after the SDK's retries (expired or missing credentials, most
/// often).
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    /// The credential chain found none; its reason.
    #[error("no AWS credentials were found (STS GetCallerIdentity: {0})\n  help: in a workflow, add an aws-actions/configure-aws-credentials step with role-to-assume before this one, and `permissions: id-token: write` to the job; locally, set AWS_PROFILE or the AWS_* variables")]
    NoCredentials(String),
    /// Any other failure: AWS's code and message, or the root cause when it did not answer.
    #[error("STS GetCallerIdentity failed: {0}\n  help: check the AWS credentials the job runs with (aws-actions/configure-aws-credentials), and the network; run with --debug for the SDK's whole error")]
    Failed(String),
}

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
                let error = AwsError::from_sdk("GetCallerIdentity", "", Duration::ZERO, e);
                match error.missing_credentials() {
                    Some(reason) => StsError::NoCredentials(reason.to_owned()),
                    None => StsError::Failed(error.said()),
                }
            })?;
        out.account()
            .map(str::to_owned)
            .ok_or_else(|| StsError::Failed("the answer names no account".into()))
    }
}
