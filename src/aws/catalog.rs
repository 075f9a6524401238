//! The thin AWS Marketplace Catalog API adapter: one client in us-east-1 (the only region the
//! Catalog API serves), and the calls the `submit` and `status` commands make. Every SDK call
//! is here, so `iam/policy.json` can be checked against this file.

use crate::aws::config::{self, AwsConfig};
use crate::aws::error::AwsError;
use crate::domain::state::ChangeSetStatus;
use std::time::Instant;

use aws_sdk_marketplacecatalog::error::ProvideErrorMetadata;
use aws_sdk_marketplacecatalog::types::{Change, ChangeStatus, Entity, Intent};
use aws_sdk_marketplacecatalog::Client;
use aws_smithy_types::{Document, Number};
use serde_json::Value;

/// The catalog every seller product lives in.
pub const CATALOG: &str = "AWSMarketplace";

/// The one region the Catalog API serves.
const REGION: &str = "us-east-1";

/// A Catalog API call failed after the SDK's retries: the call's [`AwsError`] (its action,
/// AWS's code and message, what kind of failure it is), said as a Catalog API failure.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Marketplace Catalog API {} failed: {}", .0.action, .0.said())]
pub struct CatalogError(pub AwsError);

/// A Catalog failure is an [`AwsError`]: its code, message and kind are read through it.
impl std::ops::Deref for CatalogError {
    type Target = AwsError;

    fn deref(&self) -> &AwsError {
        &self.0
    }
}

/// A change set to start.
#[derive(Debug, Clone)]
pub struct NewChangeSet {
    /// `AddDeliveryOptions`, …
    pub change_type: String,
    /// `AmiProduct@1.0`.
    pub entity_type: String,
    /// The product ID.
    pub entity_id: String,
    /// The change's details (sent as `DetailsDocument`).
    pub details: Value,
    /// A name for people.
    pub name: String,
    /// The idempotency token: the same token starts no second change set.
    pub token: String,
    /// Validate only, or apply.
    pub apply: bool,
}

/// A change set as DescribeChangeSet reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSetState {
    /// Its ID.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Where it is.
    pub status: ChangeSetStatus,
    /// `VALIDATE` or `APPLY`.
    pub intent: String,
    /// `CLIENT_ERROR` or `SERVER_FAULT`, when it failed.
    pub failure_code: Option<String>,
    /// Why it failed.
    pub failure_description: Option<String>,
    /// Each change's errors, as (change type, code, message).
    pub errors: Vec<(String, String, String)>,
}

impl ChangeSetState {
    /// Whether it will not change any more.
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }
}

/// JSON as the SDK's document type.
pub fn document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Document::Number(Number::PosInt(u)),
            (None, Some(i)) => Document::Number(Number::NegInt(i)),
            _ => Document::Number(Number::Float(n.as_f64().unwrap_or_default())),
        },
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(document).collect()),
        Value::Object(fields) => Document::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), document(v)))
                .collect(),
        ),
    }
}

/// The SDK's document type as JSON.
fn json_of(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Document::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), json_of(v)))
                .collect(),
        ),
    }
}

/// The Catalog API client.
pub struct Catalog {
    client: Client,
    started: Instant,
}

impl Catalog {
    /// The client of the run's configuration, in us-east-1, with 5 attempts a call. Tests
    /// point it at a fake with `AWS_ENDPOINT_URL_MARKETPLACE_CATALOG`.
    pub fn new(config: &AwsConfig) -> Self {
        let conf = aws_sdk_marketplacecatalog::config::Builder::from(config.sdk())
            .retry_config(config::retry(5))
            .build();
        Self {
            client: Client::from_conf(conf),
            started: Instant::now(),
        }
    }

    /// A client from a configuration of its own, loaded the standard way
    /// ([`AwsConfig::load`]).
    pub async fn from_env() -> Self {
        Self::new(&AwsConfig::load().await)
    }

    /// The failure of `action`, as the Catalog API or the SDK said it.
    fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        action: &'static str,
        error: aws_sdk_marketplacecatalog::error::SdkError<E>,
    ) -> CatalogError {
        CatalogError(AwsError::from_sdk(
            action,
            REGION,
            self.started.elapsed(),
            error,
        ))
    }

    /// Starts a change set; returns its ID and ARN.
    pub async fn start_change_set(
        &self,
        new: &NewChangeSet,
    ) -> Result<(String, String), CatalogError> {
        let entity = Entity::builder()
            .r#type(&new.entity_type)
            .identifier(&new.entity_id)
            .build()
            .expect("entity type is set");
        let change = Change::builder()
            .change_type(&new.change_type)
            .entity(entity)
            .details_document(document(&new.details))
            .change_name(new.change_type.clone())
            .build()
            .expect("change type is set");
        let out = self
            .client
            .start_change_set()
            .catalog(CATALOG)
            .change_set(change)
            .change_set_name(&new.name)
            .client_request_token(&new.token)
            .intent(if new.apply {
                Intent::Apply
            } else {
                Intent::Validate
            })
            .send()
            .await
            .map_err(|e| self.error("StartChangeSet", e))?;
        Ok((
            out.change_set_id().unwrap_or_default().to_owned(),
            out.change_set_arn().unwrap_or_default().to_owned(),
        ))
    }

    /// An entity's details (DescribeEntity's `DetailsDocument`, else its `Details` string
    /// parsed), as JSON.
    pub async fn describe_entity(&self, entity_id: &str) -> Result<Value, CatalogError> {
        let out = self
            .client
            .describe_entity()
            .catalog(CATALOG)
            .entity_id(entity_id)
            .send()
            .await
            .map_err(|e| self.error("DescribeEntity", e))?;
        Ok(match (out.details_document(), out.details()) {
            (Some(document), _) => json_of(document),
            (None, Some(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
            (None, None) => Value::Null,
        })
    }

    /// A change set's state.
    pub async fn describe_change_set(&self, id: &str) -> Result<ChangeSetState, CatalogError> {
        let out = self
            .client
            .describe_change_set()
            .catalog(CATALOG)
            .change_set_id(id)
            .send()
            .await
            .map_err(|e| self.error("DescribeChangeSet", e))?;
        let errors = out
            .change_set()
            .iter()
            .flat_map(|change| {
                let kind = change.change_type().unwrap_or_default().to_owned();
                change.error_detail_list().iter().map(move |e| {
                    (
                        kind.clone(),
                        e.error_code().unwrap_or_default().to_owned(),
                        e.error_message().unwrap_or_default().to_owned(),
                    )
                })
            })
            .collect();
        Ok(ChangeSetState {
            id: out.change_set_id().unwrap_or(id).to_owned(),
            arn: out.change_set_arn().unwrap_or_default().to_owned(),
            status: ChangeSetStatus::parse(
                out.status().map(ChangeStatus::as_str).unwrap_or_default(),
            ),
            intent: out
                .intent()
                .map(|i| i.as_str().to_owned())
                .unwrap_or_default(),
            failure_code: out.failure_code().map(|c| c.as_str().to_owned()),
            failure_description: out.failure_description().map(str::to_owned),
            errors,
        })
    }
}
