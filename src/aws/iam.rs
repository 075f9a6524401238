//! The thin IAM adapter: the ingestion role as IAM describes it (GetRole and
//! ListAttachedRolePolicies), read-only.

use std::time::Instant;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::Client;

use crate::aws::config::{self, AwsConfig};
use crate::aws::error::AwsError;

use crate::domain::seller::RoleFacts;

/// The region IAM's global endpoint is in.
const REGION: &str = "us-east-1";

/// An IAM call failed after the SDK's retries, for a reason other than the role's absence or
/// a missing permission: the call's [`AwsError`], said as an IAM failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("IAM {} failed: {}", .0.action, .0.said())]
pub struct IamError(pub AwsError);

/// An IAM failure is an [`AwsError`]: its code, message and kind are read through it.
impl std::ops::Deref for IamError {
    type Target = AwsError;

    fn deref(&self) -> &AwsError {
        &self.0
    }
}

/// What IAM says of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleLookup {
    /// The role, its trust policy and its managed policies.
    Found(RoleFacts),
    /// `NoSuchEntity`.
    Missing,
    /// The credentials may not read it (`AccessDenied`, with AWS's message).
    Denied(String),
}

/// The IAM client.
pub struct Iam {
    client: Client,
    started: Instant,
}

fn is_denied(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("AccessDenied") || c == "UnauthorizedOperation")
}

impl Iam {
    /// The client of the run's configuration, with 3 attempts a call.
    pub fn new(config: &AwsConfig) -> Self {
        let conf = aws_sdk_iam::config::Builder::from(config.sdk())
            .retry_config(config::retry(3))
            .build();
        Self {
            client: Client::from_conf(conf),
            started: Instant::now(),
        }
    }

    /// A client from a configuration of its own, loaded the standard way
    /// ([`AwsConfig::load`]; `AWS_ENDPOINT_URL` redirects it).
    pub async fn from_env() -> Self {
        Self::new(&AwsConfig::load().await)
    }

    /// The failure of `action`, as IAM or the SDK said it.
    fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        action: &'static str,
        error: aws_sdk_iam::error::SdkError<E>,
    ) -> IamError {
        IamError(AwsError::from_sdk(
            action,
            REGION,
            self.started.elapsed(),
            error,
        ))
    }

    /// The role named `name`: GetRole, then every page of ListAttachedRolePolicies.
    pub async fn role(&self, name: &str) -> Result<RoleLookup, IamError> {
        let role = match self.client.get_role().role_name(name).send().await {
            Ok(out) => out,
            Err(e) if e.code() == Some("NoSuchEntity") => return Ok(RoleLookup::Missing),
            Err(e) if is_denied(e.code()) => {
                return Ok(RoleLookup::Denied(
                    e.message().unwrap_or_default().to_owned(),
                ))
            }
            Err(e) => return Err(self.error("GetRole", e)),
        };
        let trust_policy = role
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .unwrap_or_default()
            .to_owned();
        let mut attached = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = match self
                .client
                .list_attached_role_policies()
                .role_name(name)
                .set_marker(marker.clone())
                .send()
                .await
            {
                Ok(page) => page,
                Err(e) if is_denied(e.code()) => {
                    return Ok(RoleLookup::Denied(
                        e.message().unwrap_or_default().to_owned(),
                    ))
                }
                Err(e) => return Err(self.error("ListAttachedRolePolicies", e)),
            };
            attached.extend(page.attached_policies().iter().map(|p| {
                (
                    p.policy_name().unwrap_or_default().to_owned(),
                    p.policy_arn().unwrap_or_default().to_owned(),
                )
            }));
            marker = page.marker().map(str::to_owned);
            if !page.is_truncated() || marker.is_none() {
                break;
            }
        }
        Ok(RoleLookup::Found(RoleFacts {
            trust_policy,
            attached,
        }))
    }
}
