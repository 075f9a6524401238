//! What an AWS call that failed says: the call, the region, AWS's code and message, and what
//! kind of failure it is, so that the stages can answer each kind with its own next step.
//!
//! The kinds that need a different answer from "check the error":
//! - **NotFound on an ID just created** is EC2's eventual consistency ("Eventual consistency in
//!   the Amazon EC2 API", <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>):
//!   the adapter retries it (see [`crate::aws::ec2`]);
//! - **credentials** that are missing, expired or invalid ("Error codes for the Amazon EC2 API",
//!   <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html>:
//!   `RequestExpired`, `AuthFailure`; STS and other services say `ExpiredToken`);
//! - **access denied**: the role's policy lacks the action.

use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_ec2::error::ProvideErrorMetadata;

/// An AWS call failed after the SDK's own retries.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{action} in {region} failed: {code}{message}")]
pub struct AwsError {
    /// The action, such as `CopyImage` or `GetServiceQuota`.
    pub action: &'static str,
    /// The region it was sent to.
    pub region: String,
    /// AWS's error code, such as `InvalidAMIID.NotFound`; [`NO_CREDENTIALS`] when the SDK found
    /// no credentials; `request failed` for a transport failure.
    pub code: String,
    /// AWS's message, prefixed with `: `.
    pub message: String,
    /// How long the run had been going when the call failed.
    pub after: Duration,
}

/// The code of an [`AwsError`] when the SDK's credential chain found no credentials.
pub const NO_CREDENTIALS: &str = "NoCredentials";

/// The code of an [`AwsError`] when no answer came: the connection, a timeout, a response that
/// could not be read.
pub const REQUEST_FAILED: &str = "request failed";

/// What is wrong with the credentials, when that is why a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialProblem {
    /// None were found (no `configure-aws-credentials` step, no profile).
    Missing,
    /// They were valid and have expired (`RequestExpired`, `ExpiredToken`).
    Expired,
    /// They are not valid here: a wrong key, or a region the account has not enabled.
    Invalid,
}

impl AwsError {
    /// Wraps an SDK error: AWS's code and message when it answered, else the transport or
    /// credential failure, without the SDK's debug dump.
    pub fn from_sdk<E, R>(
        action: &'static str,
        region: &str,
        after: Duration,
        error: aws_sdk_ec2::error::SdkError<E, R>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let (code, message) = match error.code() {
            Some(code) => (
                code.to_owned(),
                error
                    .message()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default(),
            ),
            None => {
                // The SDK's whole chain (with its debug dump) is for the debug log only.
                tracing::debug!(
                    action,
                    region,
                    "AWS call failed: {}",
                    aws_sdk_ec2::error::DisplayErrorContext(&error)
                );
                match credentials_error(&error) {
                    Some(reason) => (NO_CREDENTIALS.to_owned(), format!(": {reason}")),
                    None => (REQUEST_FAILED.to_owned(), format!(": {}", cause(&error))),
                }
            }
        };
        Self {
            action,
            region: region.to_owned(),
            code,
            message,
            after,
        }
    }

    /// AWS's code and message, or what stood in the way, in one line: `AccessDenied: …`,
    /// `NoCredentials: the credential provider was not enabled`, `request failed: tcp connect
    /// error: Connection refused (os error 111)`.
    pub fn said(&self) -> String {
        format!("{}{}", self.code, self.message)
    }

    /// The reason the credential chain gave, when it found none.
    pub fn missing_credentials(&self) -> Option<&str> {
        (self.code == NO_CREDENTIALS).then(|| self.message.trim_start_matches(": "))
    }

    /// Whether AWS said the resource does not exist (`InvalidAMIID.NotFound`,
    /// `InvalidInstanceID.NotFound`, `InvalidSnapshot.NotFound`, …).
    pub fn is_not_found(&self) -> bool {
        self.code.ends_with(".NotFound")
    }

    /// Whether the credentials, not the request, are the problem.
    pub fn credential_problem(&self) -> Option<CredentialProblem> {
        match self.code.as_str() {
            NO_CREDENTIALS => Some(CredentialProblem::Missing),
            "RequestExpired" | "ExpiredToken" | "ExpiredTokenException" => {
                Some(CredentialProblem::Expired)
            }
            "AuthFailure" | "InvalidClientTokenId" | "UnrecognizedClientException" => {
                Some(CredentialProblem::Invalid)
            }
            _ => None,
        }
    }

    /// Whether the role's policy does not allow the call.
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_str(),
            "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException"
        )
    }
}

/// The root cause of a failure that got no answer, in one short line: the last two messages
/// of the error's source chain (`tcp connect error: Connection refused (os error 111)`), with
/// none of the wrappers' names or debug dumps.
pub fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut source = Some(error);
    while let Some(current) = source {
        let text = current.to_string();
        if !text.is_empty() && messages.last() != Some(&text) {
            messages.push(text);
        }
        source = current.source();
    }
    let start = messages.len().saturating_sub(2);
    messages[start..].join(": ")
}

/// The credential chain's own reason, when the call failed for want of credentials.
fn credentials_error(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(credentials) = current.downcast_ref::<CredentialsError>() {
            return Some(credentials.to_string());
        }
        source = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str) -> AwsError {
        AwsError {
            action: "CopyImage",
            region: "eu-west-1".into(),
            code: code.into(),
            message: String::new(),
            after: Duration::ZERO,
        }
    }

    #[derive(Debug)]
    struct Chain(&'static str, Option<Box<Chain>>);

    impl std::fmt::Display for Chain {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Chain {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|c| c as _)
        }
    }

    /// A transport failure is named by its root cause, without the wrappers.
    #[test]
    fn a_transport_failure_is_its_root_cause() {
        let link = |text, next| Some(Box::new(Chain(text, next)));
        let error = Chain(
            "dispatch failure",
            link(
                "io error",
                link(
                    "client error (Connect)",
                    link(
                        "tcp connect error",
                        link("Connection refused (os error 111)", None),
                    ),
                ),
            ),
        );
        assert_eq!(
            cause(&error),
            "tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(cause(&Chain("timeout", None)), "timeout");
    }

    #[test]
    fn kinds() {
        assert!(error("InvalidAMIID.NotFound").is_not_found());
        assert!(error("InvalidInstanceID.NotFound").is_not_found());
        assert!(!error("InvalidAMIID.Malformed").is_not_found());
        assert_eq!(
            error("RequestExpired").credential_problem(),
            Some(CredentialProblem::Expired)
        );
        assert_eq!(
            error("ExpiredToken").credential_problem(),
            Some(CredentialProblem::Expired)
        );
        assert_eq!(
            error("AuthFailure").credential_problem(),
            Some(CredentialProblem::Invalid)
        );
        assert_eq!(
            error(NO_CREDENTIALS).credential_problem(),
            Some(CredentialProblem::Missing)
        );
        assert_eq!(error("UnauthorizedOperation").credential_problem(), None);
        assert!(error("UnauthorizedOperation").is_access_denied());
    }
}
