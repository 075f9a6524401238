//! What `submit` sends to the AWS Marketplace Catalog API, as data: the `AddDeliveryOptions`
//! details made from the config and the release (checked against AWS's shapes in
//! [`crate::domain::catalog`] before any call), the change sets' names and idempotency tokens.
//! Pure: the submit stage sends it.

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crate::config::{catalog_groups, Config};
use crate::diagnostic::Diagnostic;
use crate::domain::ami::RegionAmis;
use crate::domain::catalog::{self, ShapeViolation};
use crate::domain::manifest::Manifest;
use crate::domain::version::Version as ReleaseVersion;

/// The entity type of AMI products.
pub const ENTITY_TYPE: &str = "AmiProduct@1.0";
/// The change that adds a version.
pub const CHANGE_TYPE: &str = "AddDeliveryOptions";

/// A value breaks a documented Catalog API limit; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("submit: {field}: {message}\n  help: {help}")]
pub struct InvalidRequest {
    /// The field, as the config or the request names it.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// An [`InvalidRequest`] about `field`.
pub fn invalid(field: &str, message: impl Into<String>, help: impl Into<String>) -> InvalidRequest {
    InvalidRequest {
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
pub fn delivery_details(config: &Config, version: &Version<'_>) -> Result<Value, InvalidRequest> {
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

fn shape_error(violation: &ShapeViolation) -> InvalidRequest {
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
    pub fn check(&self) -> Result<(), InvalidRequest> {
        for apply in [false, true] {
            if let Some(violation) =
                catalog::check_request(&self.name(apply), &self.token(apply), CHANGE_TYPE)
                    .into_iter()
                    .next()
            {
                return Err(shape_error(&violation));
            }
        }
        Ok(())
    }

    /// The change set's name, for one intent.
    pub fn name(&self, apply: bool) -> String {
        change_set_name(&self.product, &self.version, apply)
    }

    /// The change set's idempotency token, for one intent.
    pub fn token(&self, apply: bool) -> String {
        request_token(
            &self.product_id,
            &self.version,
            &self.ami,
            apply,
            &self.details,
        )
    }
}

/// What the submit stage sends: the us-east-1 AMI of the (one) manifest, the rendered version
/// texts and the checked details. No call is made.
pub fn prepare(
    config: &Config,
    manifests: &[(String, Manifest)],
    version: &ReleaseVersion,
    date: &str,
) -> Result<Submission> {
    let (version, amis) =
        crate::plan::manifests::amis_from_manifests(config, manifests, Some(version))?;
    if amis.len() != 1 {
        bail!("submit takes the manifest of one architecture, but {} were given\n  help: a version has one AMI source; submit each architecture's product on its own", amis.len());
    }
    let (path, _) = &manifests[0];
    let ami = match amis.values().next().and_then(|set| set.get("us-east-1")) {
        Some(RegionAmis::Single(id)) => id.to_string(),
        _ => bail!("{path}: no available AMI in us-east-1, where AWS Marketplace ingests it from\n  help: copy the image to us-east-1 (keep us-east-1 in regions) and pass that manifest"),
    };
    let (title, notes) =
        crate::plan::version_texts(config, &version, date).map_err(Diagnostic::from)?;
    let details = delivery_details(
        config,
        &Version {
            title: &title,
            release_notes: &notes,
            ami: &ami,
        },
    )?;
    let submission = Submission {
        product_id: config
            .product
            .id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        version: version.to_string(),
        ami,
        details,
        product: config.product.name.clone(),
    };
    submission.check()?;
    Ok(submission)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
