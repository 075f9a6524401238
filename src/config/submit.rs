//! The `submit` section: adding the version through the AWS Marketplace Catalog API.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::{checked_string, Minutes};

/// How the `submit` stage adds the version through the Catalog API.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Submit {
    /// Which change sets to start: VALIDATE then APPLY, only VALIDATE (check the request
    /// without changing the product), or only APPLY.
    #[serde(default)]
    pub intent: SubmitIntent,
    /// The port AWS's scanner uses to reach the AMI (`AmiSource.ScanningPort`).
    #[serde(default)]
    pub scanning_port: Option<u16>,
    /// How buyers reach the product (`AccessEndpointUrl`), when it has a web endpoint.
    #[serde(default)]
    pub access_endpoint: Option<AccessEndpoint>,
    /// How long `--wait` waits for a change set (minutes).
    #[serde(default = "default_submit_minutes")]
    pub timeout_minutes: Minutes,
}

impl Default for Submit {
    fn default() -> Self {
        Self {
            intent: SubmitIntent::default(),
            scanning_port: None,
            access_endpoint: None,
            timeout_minutes: default_submit_minutes(),
        }
    }
}

fn default_submit_minutes() -> Minutes {
    Minutes::new(120.0).expect("valid minutes")
}

/// Which change sets the `submit` stage starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SubmitIntent {
    /// A VALIDATE change set, then, when it succeeds, an APPLY one.
    #[default]
    ValidateThenApply,
    /// Only VALIDATE: check the request without changing the product.
    Validate,
    /// Only APPLY.
    Apply,
}

/// The product's web endpoint, as the Catalog API's AccessEndpointUrl.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct AccessEndpoint {
    /// The protocol buyers use.
    pub protocol: EndpointProtocol,
    /// The port.
    pub port: u16,
    /// The path after the host and port, like `browser/`. The Catalog API's RelativePath must
    /// not start with `/`: a leading `/` is stripped (with a warning), and `/` or none sends no
    /// RelativePath.
    #[serde(default)]
    pub relative_path: Option<RelativePath>,
}

/// The protocol of an access endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointProtocol {
    /// Plain HTTP.
    Http,
    /// HTTPS.
    Https,
}

impl EndpointProtocol {
    /// The name the Catalog API takes.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointProtocol::Http => "http",
            EndpointProtocol::Https => "https",
        }
    }
}

impl std::fmt::Display for EndpointProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

checked_string! {
    /// The path part of an access endpoint, without spaces, at most 2000 characters once a
    /// leading `/` is stripped (AWS's shapes: `access_endpoint_url.py`, `RelativePath`,
    /// `max_length=2000`, `^(?!\/)\S+[\S\s]*`).
    RelativePath {
        title: "URL path",
        pattern: r"^/?([^/\s]\S{0,1999})?$",
        is_not: "a URL path (no spaces, at most 2000 characters, not starting with //)",
        help: "write it like browser/ or index.html; leave it out for the root",
        example: "browser/",
    }
}

impl RelativePath {
    /// What the Catalog API gets: the path without a leading `/`; `None` for the root (`/`
    /// or empty), which is sent as no RelativePath.
    pub fn catalog_value(&self) -> Option<&str> {
        let path = self.as_str().strip_prefix('/').unwrap_or(self.as_str());
        (!path.is_empty()).then_some(path)
    }

    /// Whether a leading `/` is stripped before sending (worth a warning: AWS refuses it).
    pub fn strips_a_slash(&self) -> bool {
        self.as_str().len() > 1 && self.as_str().starts_with('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_values_are_checked() {
        let s: Submit = serde_yaml::from_str(
            "{intent: validate, access-endpoint: {protocol: https, port: 7473}}",
        )
        .unwrap();
        assert_eq!(s.intent, SubmitIntent::Validate);
        assert_eq!(s.access_endpoint.unwrap().relative_path, None);
        assert_eq!(s.timeout_minutes, 120.0);
        for (bad, why) in [
            ("{intent: publish}", "unknown variant `publish`"),
            (
                "{access-endpoint: {protocol: ftp, port: 21}}",
                "unknown variant `ftp`",
            ),
            (
                "{access-endpoint: {protocol: http, port: 80, relative-path: //browser}}",
                "`//browser` is not a URL path",
            ),
            (
                "{access-endpoint: {protocol: http, port: 80, relative-path: a b}}",
                "`a b` is not a URL path",
            ),
            ("{timeout-minutes: 2000}", "2000 is not a number of minutes"),
        ] {
            let e = serde_yaml::from_str::<Submit>(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn relative_paths_are_sent_without_a_leading_slash() {
        for (written, sent, warned) in [
            ("/", None, false),
            ("", None, false),
            ("browser/", Some("browser/"), false),
            ("/browser/", Some("browser/"), true),
            ("/index.html", Some("index.html"), true),
        ] {
            let path = RelativePath::new(written).unwrap();
            assert_eq!(path.catalog_value(), sent, "{written}");
            assert_eq!(path.strips_a_slash(), warned, "{written}");
        }
        RelativePath::new(&format!("/{}", "x".repeat(2000))).unwrap();
        assert!(RelativePath::new(&"x".repeat(2001)).is_err());
    }
}
