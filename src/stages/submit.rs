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

use serde_json::{json, Value};

use crate::aws::catalog::{Catalog, CatalogError, ChangeSetState, NewChangeSet};
use crate::config::{catalog_groups, Config, SubmitIntent};
use crate::domain::catalog::{self, ShapeViolation};
use crate::stages::wait::{self, PollSchedule};
use crate::stages::CancellationToken;

/// The entity type of AMI products.
pub const ENTITY_TYPE: &str = "AmiProduct@1.0";
/// The change that adds a version.
pub const CHANGE_TYPE: &str = "AddDeliveryOptions";

/// Why a submission cannot be made or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// A value breaks a documented Catalog API limit; nothing was sent.
    #[error("submit: {field}: {message}\n  help: {help}")]
    Invalid {
        /// The field, as the config or the request names it.
        field: String,
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },
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

fn invalid(field: &str, message: impl Into<String>, help: impl Into<String>) -> SubmitError {
    SubmitError::Invalid {
        field: field.to_owned(),
        message: message.into(),
        help: help.into(),
    }
}

/// What the details are made of, besides the config.
pub struct Version<'a> {
    /// The rendered version title.
    pub title: &'a str,
    /// The rendered release notes.
    pub release_notes: &'a str,
    /// The us-east-1 AMI.
    pub ami: &'a str,
}

/// The `AddDeliveryOptions` details for `version`, checked against AWS's shapes
/// ([`crate::domain::catalog`]) before anything is sent. An error names the config key, the
/// Catalog API's field and the rule.
pub fn delivery_details(config: &Config, version: &Version<'_>) -> Result<Value, SubmitError> {
    let details = details_document(config, version);
    match catalog::check_add_delivery_options(&details)
        .into_iter()
        .next()
    {
        None => Ok(details),
        Some(violation) => Err(shape_error(&violation)),
    }
}

/// The document, as the config and the version make it: rules with the same protocol and
/// ports go in one group of up to 5 IP ranges; an access endpoint's path is sent without its
/// leading `/`, and not at all for the root.
fn details_document(config: &Config, version: &Version<'_>) -> Value {
    let form = &config.load_form;
    let submit = config.submit.clone().unwrap_or_default();
    let mut source = json!({
        "AmiId": version.ami,
        "AccessRoleArn": form.access_role_arn,
        "UserName": form.os_user_name.trim(),
        "OperatingSystemName": form.os_name.trim(),
        "OperatingSystemVersion": form.os_version.trim(),
    });
    if let Some(port) = submit.scanning_port {
        source["ScanningPort"] = json!(port);
    }
    let groups: Vec<Value> = catalog_groups(&form.security_groups)
        .into_iter()
        .map(|group| {
            json!({
                "IpProtocol": group.protocol,
                "FromPort": group.from_port,
                "ToPort": group.to_port,
                "IpRanges": group.cidrs,
            })
        })
        .collect();
    let mut details = json!({
        "AmiSource": source,
        "UsageInstructions": form.usage_instructions.trim(),
        "RecommendedInstanceType": form.recommended_instance_type,
        "SecurityGroups": groups,
    });
    if let Some(endpoint) = &submit.access_endpoint {
        let mut url = json!({"Port": endpoint.port, "Protocol": endpoint.protocol});
        if let Some(path) = endpoint
            .relative_path
            .as_ref()
            .and_then(|p| p.catalog_value())
        {
            url["RelativePath"] = json!(path);
        }
        details["AccessEndpointUrl"] = url;
    }
    json!({
        "Version": {
            "VersionTitle": version.title,
            "ReleaseNotes": version.release_notes.trim(),
        },
        "DeliveryOptions": [
            {"Details": {"AmiDeliveryOptionDetails": details}}
        ],
    })
}

/// The config key (or the manifest) a field of the details document comes from.
pub fn config_key(path: &str) -> &'static str {
    const KEYS: [(&str, &str); 17] = [
        ("Version.VersionTitle", "load-form.version-title"),
        ("Version.ReleaseNotes", "load-form.release-notes"),
        ("AmiSource.AmiId", "the manifest's us-east-1 AMI"),
        ("AmiSource.AccessRoleArn", "load-form.access-role-arn"),
        ("AmiSource.UserName", "load-form.os-user-name"),
        ("AmiSource.ScanningPort", "submit.scanning-port"),
        ("AmiSource.OperatingSystemName", "load-form.os-name"),
        ("AmiSource.OperatingSystemVersion", "load-form.os-version"),
        ("UsageInstructions", "load-form.usage-instructions"),
        (
            "RecommendedInstanceType",
            "load-form.recommended-instance-type",
        ),
        ("AccessEndpointUrl.Port", "submit.access-endpoint.port"),
        (
            "AccessEndpointUrl.Protocol",
            "submit.access-endpoint.protocol",
        ),
        (
            "AccessEndpointUrl.RelativePath",
            "submit.access-endpoint.relative-path",
        ),
        ("IpProtocol", "load-form.security-groups[].protocol"),
        ("Port", "load-form.security-groups[] ports"),
        ("SecurityGroups", "load-form.security-groups"),
        ("DeliveryOptions", "the submit stage (one AMI per version)"),
    ];
    KEYS.iter()
        .find(|(field, _)| path.contains(field))
        .map_or("the submit request", |(_, key)| key)
}

fn shape_error(violation: &ShapeViolation) -> SubmitError {
    invalid(
        config_key(&violation.path),
        format!(
            "the Catalog API refuses {}: it {} (got {})",
            violation.path, violation.rule, violation.value
        ),
        "change the value in the config so that it keeps AWS's rule; nothing was sent",
    )
}

/// The idempotency token of one change set: the same product, version, AMI, intent and details
/// always give the same token, so a re-run finds its change set. Changed details (a fix after a
/// failed validation) give a new one. The API takes at most 36 printable characters.
pub fn request_token(
    product_id: &str,
    version: &str,
    ami: &str,
    apply: bool,
    details: &Value,
) -> String {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(
        format!(
            "{product_id}\n{version}\n{ami}\n{}\n{details}",
            if apply { "APPLY" } else { "VALIDATE" }
        )
        .as_bytes(),
    );
    let hex = hasher.digest().to_string();
    format!("mr-{}", &hex[..32])
}

/// A change set name: letters, digits, spaces and `_+=.:@-`, at most 100 characters.
pub fn change_set_name(product: &str, version: &str, apply: bool) -> String {
    let raw = format!(
        "marketplace-release {} {product} {version}",
        if apply { "apply" } else { "validate" }
    );
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " _+=.:@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect()
}

/// Everything one submission sends.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The product ID.
    pub product_id: String,
    /// The version.
    pub version: String,
    /// The us-east-1 AMI.
    pub ami: String,
    /// The details document.
    pub details: Value,
    /// Product name, for change set names.
    pub product: String,
}

impl Submission {
    /// Checks the request members besides the details (`ChangeSetName`, `ClientRequestToken`,
    /// `ChangeName`) against the API reference, for both intents.
    pub fn check(&self) -> Result<(), SubmitError> {
        for apply in [false, true] {
            let new = self.change_set(apply);
            if let Some(violation) = catalog::check_request(&new.name, &new.token, &new.change_type)
                .into_iter()
                .next()
            {
                return Err(shape_error(&violation));
            }
        }
        Ok(())
    }

    fn change_set(&self, apply: bool) -> NewChangeSet {
        NewChangeSet {
            change_type: CHANGE_TYPE.into(),
            entity_type: ENTITY_TYPE.into(),
            entity_id: self.product_id.clone(),
            details: self.details.clone(),
            name: change_set_name(&self.product, &self.version, apply),
            token: request_token(
                &self.product_id,
                &self.version,
                &self.ami,
                apply,
                &self.details,
            ),
            apply,
        }
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
        catalog::VersionStatus::TitleTaken { amis } => Err(invalid(
            "load-form.version-title",
            format!(
                "product {} already has a version titled `{title}`, with AMI {}; AWS Marketplace refuses a second one",
                submission.product_id,
                if amis.is_empty() { "unknown".to_owned() } else { amis.join(", ") }
            ),
            "release a new version, or change load-form.version-title; nothing was sent",
        )),
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
            .start_change_set(&submission.change_set(false))
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
            .start_change_set(&submission.change_set(true))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "{}\nsubmit:\n  scanning-port: 22\n{extra}",
            crate::config::tests_support::MINIMAL.replace(
                "  name: Example Product\n",
                "  name: Example Product\n  id: prod-abcdefgh1234\n"
            )
        );
        Config::parse(&text, std::path::Path::new("c.yml")).unwrap()
    }

    fn version<'a>(title: &'a str, ami: &'a str) -> Version<'a> {
        Version {
            title,
            release_notes: "Fixes.",
            ami,
        }
    }

    #[test]
    fn details_follow_the_catalog_api_shape() {
        let config = config("");
        let details =
            delivery_details(&config, &version("1.0.0", "ami-0123456789abcdef0")).unwrap();
        let option = &details["DeliveryOptions"][0]["Details"]["AmiDeliveryOptionDetails"];
        assert_eq!(details["Version"]["VersionTitle"], "1.0.0");
        assert_eq!(option["AmiSource"]["AmiId"], "ami-0123456789abcdef0");
        assert_eq!(option["AmiSource"]["ScanningPort"], 22);
        assert_eq!(option["SecurityGroups"][0]["IpRanges"][0], "0.0.0.0/0");
        assert!(option.get("AccessEndpointUrl").is_none());
    }

    #[test]
    fn limits_are_checked_locally() {
        let config = config("");
        let long = "x".repeat(65);
        let error =
            delivery_details(&config, &version(&long, "ami-0123456789abcdef0")).unwrap_err();
        assert!(
            error.to_string().starts_with("submit: load-form.version-title: the Catalog API refuses Version.VersionTitle: it takes at most 64 characters, not 65"),
            "{error}"
        );
        let error = delivery_details(&config, &version("1.0.0", "ami-12")).unwrap_err();
        assert!(error.to_string().contains("the manifest's us-east-1 AMI: the Catalog API refuses DeliveryOptions[0].Details.AmiDeliveryOptionDetails.AmiSource.AmiId: it must match"), "{error}");
        let mut user = self::config("");
        user.load_form.os_user_name = "ec2.user".into();
        let error =
            delivery_details(&user, &version("1.0.0", "ami-0123456789abcdef0")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("submit: load-form.os-user-name:"),
            "{error}"
        );
    }

    #[test]
    fn the_access_endpoint_path_is_sent_without_its_slash() {
        for (written, sent) in [
            ("", None),
            ("  relative-path: /\n", None),
            ("  relative-path: /browser/\n", Some("browser/")),
        ] {
            let config = config(&format!(
                "  access-endpoint:\n    protocol: http\n    port: 7474\n{}",
                written.replace("  relative-path", "    relative-path")
            ));
            let details =
                delivery_details(&config, &version("1.0.0", "ami-0123456789abcdef0")).unwrap();
            let url = &details["DeliveryOptions"][0]["Details"]["AmiDeliveryOptionDetails"]
                ["AccessEndpointUrl"];
            assert_eq!(url["Port"], 7474);
            assert_eq!(
                url.get("RelativePath").and_then(Value::as_str),
                sent,
                "{written}"
            );
        }
    }

    #[test]
    fn tokens_are_stable_short_and_distinct_per_intent() {
        let details = json!({"Version": {"VersionTitle": "1.0.0"}});
        let fixed = json!({"Version": {"VersionTitle": "1.0.0 (fixed)"}});
        let a = request_token("prod-1", "1.0.0", "ami-1", false, &details);
        assert_eq!(
            a,
            request_token("prod-1", "1.0.0", "ami-1", false, &details)
        );
        assert_ne!(a, request_token("prod-1", "1.0.0", "ami-1", true, &details));
        assert_ne!(
            a,
            request_token("prod-1", "1.0.1", "ami-1", false, &details)
        );
        assert_ne!(a, request_token("prod-1", "1.0.0", "ami-1", false, &fixed));
        assert!(a.len() <= 36);
        assert_eq!(
            change_set_name("Neo4j (EE)", "5.26.0", true),
            "marketplace-release apply Neo4j -EE- 5.26.0"
        );
    }
}
