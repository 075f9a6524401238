//! The `submit` stage: adds the new version to the AMI product through the AWS Marketplace
//! Catalog API (`StartChangeSet`, `AmiProduct@1.0`, `AddDeliveryOptions`), and the `status`
//! command that follows a change set.
//!
//! The request is built and checked against the documented limits before any call. Each change
//! set gets an idempotency token derived from the product, version, intent, AMI and details, so
//! a re-run finds the change set it started before instead of submitting twice, and a re-run
//! after fixing the config starts a new one.

use crate::domain::state::ChangeSetStatus;
use crate::output::progress;
use std::time::{Duration, Instant};

use crate::aws::catalog::{Catalog, CatalogError, ChangeSetState, NewChangeSet};
use crate::config::SubmitIntent;
use crate::domain::catalog;
pub use crate::plan::submission::{
    change_set_name, delivery_details, request_token, Submission, Version, CHANGE_TYPE, ENTITY_TYPE,
};
use crate::plan::submission::{invalid, InvalidRequest};
use crate::stages::cancel::CancellationToken;
use crate::stages::wait::{self, PollSchedule};

/// Why a submission cannot be made or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// A value breaks a documented Catalog API limit; nothing was sent.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The Catalog API refused a call.
    #[error("{0}\n  help: check the role's aws-marketplace permissions (iam/policy.json) and the product ID; re-running is safe, the same change sets are found again")]
    Api(#[from] CatalogError),
    /// The product's versions deliver a CloudFormation template, which the Catalog API cannot
    /// add: an AMI-only version would be created, and no delivery option can be added to a
    /// version later.
    #[error("product {product} sells a CloudFormation template: its version `{version}` carries a CloudFormation delivery option. AWS adds every delivery option of a version when the version is created (\"Work with AMI-based products\", AWS Marketplace Catalog API guide), and AddDeliveryOptions takes one AMI delivery option, so submit would create an AMI-only version that can never get the template; nothing was sent\n  help: add this version with its AMI ({ami}) and template in the AWS Marketplace Management Portal (https://aws.amazon.com/marketplace/management/products/server → Request changes → Add new version) or with the product load form; remove the `submit` section for this product")]
    CloudFormationProduct {
        /// The product ID.
        product: String,
        /// The title of a version that delivers a template.
        version: String,
        /// The AMI that was to be submitted.
        ami: String,
    },
    /// The change set failed or was cancelled.
    #[error("{}", describe_failure(.0))]
    Failed(Box<ChangeSetState>),
    /// `--wait` ran out of time; the change set goes on.
    #[error("change set {} is still {} after {}\n  help: follow it with `marketplace-release status --change-set {} --wait`, or in the portal: {}", .0.id, .0.status, .1, .0.id, portal_url(&.0.id))]
    TimedOut(Box<ChangeSetState>, String),
    /// SIGINT or SIGTERM while waiting; the change set goes on.
    #[error("stopped waiting for change set {0}; it goes on in AWS Marketplace\n  help: follow it with `marketplace-release status --change-set {0}`")]
    Cancelled(String),
}

fn describe_failure(state: &ChangeSetState) -> String {
    let mut text = format!(
        "change set {} ({}) {}",
        state.id, state.intent, state.status
    );
    if let Some(code) = &state.failure_code {
        text.push_str(&format!(": {code}"));
    }
    if let Some(description) = &state.failure_description {
        text.push_str(&format!(" — {description}"));
    }
    text.push('\n');
    text.push_str(&change_errors(state));
    text.push_str(&format!(
        "  help: fix what the errors name (the load-form and submit sections of the config), then run submit again; the portal shows the request at {}",
        portal_url(&state.id)
    ));
    text
}

/// The request's page in the AWS Marketplace Management Portal.
pub fn portal_url(change_set_id: &str) -> String {
    format!("https://aws.amazon.com/marketplace/management/requests/{change_set_id}")
}

/// The change set of `submission` for one intent.
fn change_set(submission: &Submission, apply: bool) -> NewChangeSet {
    NewChangeSet {
        change_type: CHANGE_TYPE.into(),
        entity_type: ENTITY_TYPE.into(),
        entity_id: submission.product_id.clone(),
        details: submission.details.clone(),
        name: submission.name(apply),
        token: submission.token(apply),
        apply,
    }
}

/// Polls a change set until it is final (or `limit` passes, or a signal arrives).
pub async fn wait_for(
    catalog: &Catalog,
    id: &str,
    limit: Duration,
    schedule: &PollSchedule,
    cancel: &CancellationToken,
) -> Result<ChangeSetState, SubmitError> {
    let started = Instant::now();
    let mut last_status = None;
    loop {
        let state = catalog.describe_change_set(id).await?;
        if Some(state.status) != last_status {
            progress::line(&format!(
                "submit: change set {id} ({}): {}",
                state.intent, state.status
            ));
            last_status = Some(state.status);
        }
        if state.is_final() {
            return Ok(state);
        }
        let waited = started.elapsed();
        if waited >= limit {
            return Err(SubmitError::TimedOut(Box::new(state), wait::short(waited)));
        }
        tokio::select! {
            _ = tokio::time::sleep(schedule.next(waited)) => {}
            _ = cancel.cancelled() => return Err(SubmitError::Cancelled(id.to_owned())),
        }
    }
}

/// Reads the product (DescribeEntity) before any change set: a product whose versions deliver
/// a CloudFormation template is refused, and so is a version title already used with other
/// AMIs; `true` when a version with this title already holds this AMI (nothing to submit).
/// When the role may not describe the product, says that this was not checked and goes on.
pub async fn check_listing(
    catalog: &Catalog,
    submission: &Submission,
) -> Result<bool, SubmitError> {
    let entity = match catalog.describe_entity(&submission.product_id).await {
        Ok(entity) => entity,
        Err(error) if error.code == "AccessDeniedException" => {
            progress::warning(
                "submit: listing not checked",
                &format!("the role may not call DescribeEntity on {}, so whether its versions deliver a CloudFormation template (which submit cannot add) or already hold this version was not checked; allow aws-marketplace:DescribeEntity (iam/policy.json)", submission.product_id),
            );
            return Ok(false);
        }
        Err(error) => return Err(error.into()),
    };
    let versions = catalog::listed_versions(&entity);
    if let Some(version) = versions.iter().find(|v| v.cloudformation) {
        return Err(SubmitError::CloudFormationProduct {
            product: submission.product_id.clone(),
            version: version.title.clone(),
            ami: submission.ami.clone(),
        });
    }
    let title = submission.details["Version"]["VersionTitle"]
        .as_str()
        .unwrap_or_default();
    match catalog::version_status(&versions, title, Some(&submission.ami)) {
        catalog::VersionStatus::New => Ok(false),
        catalog::VersionStatus::AlreadyThere => Ok(true),
        catalog::VersionStatus::TitleTaken { amis } => Err(SubmitError::Invalid(invalid(
            "load-form.version-title",
            format!(
                "product {} already has a version titled `{title}`, with AMI {}; AWS Marketplace refuses a second one",
                submission.product_id,
                if amis.is_empty() { "unknown".to_owned() } else { amis.join(", ") }
            ),
            "release a new version, or change load-form.version-title; nothing was sent",
        ))),
    }
}

/// Starts the change sets `intent` asks for: VALIDATE (waited for: it takes minutes) then
/// APPLY, which is waited for only when `wait_apply`. Returns the last change set's state.
/// The listing is read first ([`check_listing`]); `None` when the version already holds this
/// AMI, so there is nothing to submit.
pub async fn submit(
    catalog: &Catalog,
    submission: &Submission,
    intent: SubmitIntent,
    wait_apply: bool,
    limit: Duration,
    schedule: &PollSchedule,
    cancel: &CancellationToken,
) -> Result<Option<ChangeSetState>, SubmitError> {
    if check_listing(catalog, submission).await? {
        progress::line(&format!(
            "submit: product {} already has this version with {}: nothing to submit",
            submission.product_id, submission.ami
        ));
        return Ok(None);
    }
    let mut last = None;
    if intent != SubmitIntent::Apply {
        let (id, _) = catalog
            .start_change_set(&change_set(submission, false))
            .await?;
        progress::line(&format!("submit: VALIDATE change set {id} started"));
        let state = wait_for(catalog, &id, limit, schedule, cancel).await?;
        if state.status != ChangeSetStatus::Succeeded {
            return Err(SubmitError::Failed(Box::new(state)));
        }
        last = Some(state);
    }
    if intent != SubmitIntent::Validate {
        let (id, _) = catalog
            .start_change_set(&change_set(submission, true))
            .await?;
        progress::line(&format!(
            "submit: APPLY change set {id} started; the portal shows it at {}",
            portal_url(&id)
        ));
        let state = if wait_apply {
            wait_for(catalog, &id, limit, schedule, cancel).await?
        } else {
            catalog.describe_change_set(&id).await?
        };
        if state.status.is_failure() {
            return Err(SubmitError::Failed(Box::new(state)));
        }
        last = Some(state);
    }
    Ok(Some(
        last.expect("an intent starts at least one change set"),
    ))
}

/// One line per fact of a change set, for `status`.
pub fn describe(state: &ChangeSetState) -> String {
    let mut text = format!(
        "change set {} ({}): {}\n  arn: {}\n  portal: {}\n",
        state.id,
        state.intent,
        state.status,
        state.arn,
        portal_url(&state.id)
    );
    if let Some(code) = &state.failure_code {
        text.push_str(&format!(
            "  failure: {code}{}\n",
            state
                .failure_description
                .as_deref()
                .map(|d| format!(" — {d}"))
                .unwrap_or_default()
        ));
    }
    text.push_str(&change_errors(state));
    text
}

/// One indented line per error AWS reported for a change.
fn change_errors(state: &ChangeSetState) -> String {
    state
        .errors
        .iter()
        .map(|(change, code, message)| format!("  {change}: {code}: {message}\n"))
        .collect()
}
