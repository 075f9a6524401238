//! The thin CloudFormation adapter of the verify stage's test stack: CreateStack,
//! DescribeStacks, DescribeStackEvents and DeleteStack, one client per region from the run's
//! shared SDK configuration. Every CloudFormation call of the project is in this file, which is
//! how `tests/iam_policy.rs` checks the policy against the code.
//!
//! - The stack is created under the user's service role (`RoleARN`): CloudFormation uses that
//!   role for every later operation on the stack, DeleteStack included, so only CreateStack
//!   passes it (CreateStack API reference, `RoleARN`,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>).
//! - `OnFailure=DELETE` with `TimeoutInMinutes`: a stack that fails to create, or is still
//!   creating at the timeout, is deleted by CloudFormation itself even when this process is
//!   gone; its events stay readable by the stack's unique ID ("You can list events for stacks
//!   that have failed to create or have been deleted by specifying the unique stack
//!   identifier", DescribeStackEvents API reference,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackEvents.html>).
//!   Every call after CreateStack names the stack by that ID, never by name: a deleted stack is
//!   found only by its ID (DescribeStacks API reference,
//!   <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html>).
//! - Throttling (`Throttling`, "Rate exceeded") is retried inside the SDK by its standard retry
//!   mode with backoff; the stage sees only what remains.
//! - CloudFormation documents no propagation delay after CreateStack; a stack ID it just
//!   returned that DescribeStacks does not find yet is answered as [`StackLookup::Missing`], and
//!   the stage retries it for [`crate::aws::ec2::SETTLE_LIMIT`] (by ID, a deleted stack is
//!   still found, so "does not exist" can only mean not visible yet).

use std::sync::Mutex;
use std::time::Instant;
use std::{collections::HashMap, time::Duration};

use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, OnFailure, Parameter, Tag};
use aws_sdk_cloudformation::Client;
use secrecy::ExposeSecret;

use crate::aws::config::AwsConfig;
pub use crate::aws::error::AwsError;
use crate::domain::stack::StackEvent;
use crate::domain::stack_parameter::ResolvedParameter;

/// The largest template CreateStack takes as `TemplateBody` (CreateStack API reference:
/// "a minimum length of 1 byte and a maximum length of 51,200 bytes"); a larger one must be
/// uploaded to S3 first (`TemplateURL`), which this tool does not do.
pub const TEMPLATE_BODY_MAX: usize = 51_200;

/// What CreateStack is asked.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The stack's name.
    pub name: String,
    /// The template text (at most [`TEMPLATE_BODY_MAX`] bytes).
    pub template_body: String,
    /// The CloudFormation service role.
    pub role_arn: String,
    /// The parameters.
    pub parameters: Vec<ResolvedParameter>,
    /// The capabilities acknowledged (`CAPABILITY_IAM`, …).
    pub capabilities: Vec<String>,
    /// The stack's tags (CloudFormation also puts them on the resources it creates).
    pub tags: Vec<(String, String)>,
    /// After how many minutes CloudFormation fails (and so deletes) a stack still creating.
    pub timeout_minutes: i32,
}

/// A stack as DescribeStacks reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInfo {
    /// Its unique ID.
    pub stack_id: String,
    /// `CREATE_IN_PROGRESS`, `CREATE_COMPLETE`, `DELETE_COMPLETE`, ….
    pub status: String,
    /// Why, when CloudFormation says.
    pub reason: Option<String>,
    /// Its outputs, in order.
    pub outputs: Vec<(String, String)>,
}

/// What DescribeStacks says of a stack ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackLookup {
    /// The stack (a deleted one reports `DELETE_COMPLETE`).
    Found(StackInfo),
    /// `ValidationError: Stack with id … does not exist`.
    Missing,
}

/// CloudFormation clients for every region from one shared configuration.
pub struct CloudFormation {
    config: AwsConfig,
    clients: Mutex<HashMap<String, Client>>,
    started: Instant,
}

impl CloudFormation {
    /// Clients made from the run's `config` (the one [`crate::aws::ec2::Ec2::config`] holds),
    /// with its retries (those of EC2).
    pub fn new(config: &AwsConfig) -> Self {
        Self {
            config: config.clone(),
            clients: Mutex::new(HashMap::new()),
            started: Instant::now(),
        }
    }

    /// Clients from a configuration of their own, loaded the standard way
    /// ([`AwsConfig::load`]; `AWS_ENDPOINT_URL` redirects them).
    pub async fn from_env() -> Self {
        Self::new(&AwsConfig::load().await)
    }

    fn client(&self, region: &str) -> Client {
        let mut clients = self.clients.lock().expect("client map lock");
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_cloudformation::config::Builder::from(self.config.sdk())
                    .region(aws_config::Region::new(region.to_owned()))
                    .build();
                Client::from_conf(config)
            })
            .clone()
    }

    fn error<E, R>(
        &self,
        action: &'static str,
        region: &str,
        error: aws_sdk_cloudformation::error::SdkError<E, R>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        AwsError::from_sdk(action, region, self.started.elapsed(), error)
    }

    /// Creates the stack; its unique ID.
    pub async fn create_stack(
        &self,
        region: &str,
        request: &CreateRequest,
    ) -> Result<String, AwsError> {
        let parameters = request
            .parameters
            .iter()
            .map(|p| {
                Parameter::builder()
                    .parameter_key(&p.name)
                    .parameter_value(p.value.expose_secret())
                    .build()
            })
            .collect();
        let tags = request
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let out = self
            .client(region)
            .create_stack()
            .stack_name(&request.name)
            .template_body(&request.template_body)
            .role_arn(&request.role_arn)
            .set_parameters(Some(parameters))
            .set_capabilities(Some(
                request
                    .capabilities
                    .iter()
                    .map(|c| Capability::from(c.as_str()))
                    .collect(),
            ))
            .set_tags(Some(tags))
            .on_failure(OnFailure::Delete)
            // The SDK retries a CreateStack whose answer was lost; with a token CloudFormation
            // knows the retry for the same request ("Specify this token if you plan to retry
            // requests so that CloudFormation knows that you're not attempting to create a
            // stack with the same name", CreateStack API reference, ClientRequestToken). The
            // stack name fits its pattern and length.
            .client_request_token(&request.name)
            .timeout_in_minutes(request.timeout_minutes)
            .send()
            .await
            .map_err(|e| self.error("CreateStack", region, e))?;
        out.stack_id().map(str::to_owned).ok_or_else(|| AwsError {
            action: "CreateStack",
            region: region.to_owned(),
            code: "no stack ID".into(),
            message: ": the answer names no stack ID".into(),
            after: self.started.elapsed(),
        })
    }

    /// The stack `stack_id` (its unique ID, which finds deleted stacks too).
    pub async fn stack(&self, region: &str, stack_id: &str) -> Result<StackLookup, AwsError> {
        let out = match self
            .client(region)
            .describe_stacks()
            .stack_name(stack_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_missing(e.code(), e.message()) => return Ok(StackLookup::Missing),
            Err(e) => return Err(self.error("DescribeStacks", region, e)),
        };
        let Some(stack) = out.stacks().first() else {
            return Ok(StackLookup::Missing);
        };
        Ok(StackLookup::Found(StackInfo {
            stack_id: stack.stack_id().unwrap_or(stack_id).to_owned(),
            status: stack
                .stack_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: stack.stack_status_reason().map(str::to_owned),
            outputs: stack
                .outputs()
                .iter()
                .filter_map(|o| {
                    Some((
                        o.output_key()?.to_owned(),
                        o.output_value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect(),
        }))
    }

    /// Every event of the stack, newest first (all pages).
    pub async fn events(&self, region: &str, stack_id: &str) -> Result<Vec<StackEvent>, AwsError> {
        let mut events = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client(region)
                .describe_stack_events()
                .stack_name(stack_id)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| self.error("DescribeStackEvents", region, e))?;
            events.extend(page.stack_events().iter().map(|e| {
                StackEvent {
                    logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: e.resource_type().unwrap_or_default().to_owned(),
                    status: e
                        .resource_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: e.resource_status_reason().map(str::to_owned),
                }
            }));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(events);
            }
        }
    }

    /// Asks CloudFormation to delete the stack (under the role it was created with).
    pub async fn delete_stack(&self, region: &str, stack_id: &str) -> Result<(), AwsError> {
        self.client(region)
            .delete_stack()
            .stack_name(stack_id)
            .send()
            .await
            .map_err(|e| self.error("DeleteStack", region, e))?;
        Ok(())
    }

    /// How long the adapter has existed (the run's clock for errors).
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// DescribeStacks's answer for a stack it does not know: "If the stack doesn't exist, a
/// ValidationError is returned" (DescribeStacks API reference), with the message
/// `Stack with id NAME does not exist`.
fn is_missing(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ValidationError") && message.is_some_and(|m| m.contains("does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_validation_error_saying_so_is_a_missing_stack() {
        assert!(is_missing(
            Some("ValidationError"),
            Some("Stack with id marketplace-release-verify-abc does not exist")
        ));
        assert!(!is_missing(
            Some("ValidationError"),
            Some("Template format error")
        ));
        assert!(!is_missing(Some("AccessDenied"), Some("does not exist")));
        assert!(!is_missing(None, None));
    }
}
