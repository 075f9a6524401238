//! Values shared by several config sections, each a type that checks itself while the YAML is
//! read: account IDs, ARNs, instance types, EC2 resource IDs, URLs, CIDRs, paths inside the
//! workspace, minutes and counts.
//!
//! A value that fails its check becomes a serde error whose text is the message, then
//! [`HELP_MARKER`], then the help; [`Config::parse`](super::Config::parse) splits the two again,
//! so the message a user sees still has its file, line, column, key and next step. Each type's
//! JSON Schema carries the same rule (`pattern`, `format`, bounds) for editors.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Separates a value's message from its help in the text of a deserialization error.
pub const HELP_MARKER: &str = "\n  help: ";

/// A config value that failed its check: what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{HELP_MARKER}{help}")]
pub struct Invalid {
    /// What is wrong, naming the value (`` `12345` is not a 12-digit AWS account ID ``).
    pub message: String,
    /// What to do (`write it like 123456789012`).
    pub help: String,
}

impl Invalid {
    /// An error with `message` and `help`.
    pub fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: help.into(),
        }
    }

    /// As a serde error, for `Deserialize` impls.
    pub fn into_de<E: serde::de::Error>(self) -> E {
        E::custom(self)
    }
}

/// Splits an error text made from an [`Invalid`] into its message and help; other texts have
/// no help.
pub fn split_help(text: &str) -> (&str, Option<&str>) {
    match text.split_once(HELP_MARKER) {
        Some((message, help)) => (message, Some(help)),
        None => (text, None),
    }
}

/// Declares a string newtype checked by a regular expression (ASCII, anchored), with the
/// accessors the rest of the crate uses (`as_str`, `Display`, `Deref<Target = str>`), serde
/// impls that check while reading, and a JSON Schema with the same `pattern`.
macro_rules! checked_string {
    (
        $(#[$meta:meta])*
        $name:ident {
            title: $title:literal,
            pattern: $pattern:literal,
            is_not: $what:literal,
            help: $help:expr,
            example: $example:literal $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The regular expression a value must match (also the schema's `pattern`).
            pub const PATTERN: &'static str = $pattern;

            /// Checks `text`.
            pub fn new(text: &str) -> Result<Self, $crate::config::types::Invalid> {
                static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
                    regex::Regex::new($pattern).expect("the pattern compiles")
                });
                if RE.is_match(text) {
                    Ok(Self(text.to_owned()))
                } else {
                    Err($crate::config::types::Invalid::new(
                        format!("`{text}` is not {}", $what),
                        $help,
                    ))
                }
            }

            /// The value as written.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
                let text = String::deserialize(de)?;
                Self::new(&text).map_err($crate::config::types::Invalid::into_de)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "title": $title,
                    "type": "string",
                    "pattern": $pattern,
                    "examples": [$example],
                })
            }
        }
    };
}
pub(crate) use checked_string;

checked_string! {
    /// A 12-digit AWS account ID.
    AccountId {
        title: "AWS account ID",
        pattern: r"^[0-9]{12}$",
        is_not: "a 12-digit AWS account ID",
        help: "write it like 123456789012",
        example: "123456789012",
    }
}

checked_string! {
    /// The ARN of an IAM role.
    RoleArn {
        title: "IAM role ARN",
        pattern: r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$",
        is_not: "an IAM role ARN",
        help: "give the ARN of the role with the AWSMarketplaceAmiIngestion policy, like arn:aws:iam::123456789012:role/MarketplaceAmiIngestion",
        example: "arn:aws:iam::123456789012:role/MarketplaceAmiIngestion",
    }
}

checked_string! {
    /// The ARN of an AWS organization.
    OrganizationArn {
        title: "organization ARN",
        pattern: r"^arn:aws[a-z-]*:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32}$",
        is_not: "an organization ARN",
        help: "write it like arn:aws:organizations::123456789012:organization/o-abcdefghij",
        example: "arn:aws:organizations::123456789012:organization/o-abcdefghij",
    }
}

checked_string! {
    /// The ARN of an organizational unit.
    OrganizationalUnitArn {
        title: "organizational unit ARN",
        pattern: r"^arn:aws[a-z-]*:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$",
        is_not: "an organizational unit ARN",
        help: "write it like arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34",
        example: "arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34",
    }
}

checked_string! {
    /// An EC2 instance type. Only the shape is checked (family, a dot, size): whether the
    /// type exists in a region is EC2's answer.
    InstanceType {
        title: "instance type",
        pattern: r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
        is_not: "an EC2 instance type",
        help: "write it like t3.medium or m7g.large",
        example: "t3.medium",
    }
}

checked_string! {
    /// A VPC subnet ID.
    SubnetId {
        title: "subnet ID",
        pattern: r"^subnet-[0-9a-f]{8,17}$",
        is_not: "a subnet ID",
        help: "write it like subnet-0123456789abcdef0",
        example: "subnet-0123456789abcdef0",
    }
}

checked_string! {
    /// A VPC security group ID.
    SecurityGroupId {
        title: "security group ID",
        pattern: r"^sg-[0-9a-f]{8,17}$",
        is_not: "a security group ID",
        help: "write it like sg-0123456789abcdef0",
        example: "sg-0123456789abcdef0",
    }
}

/// A path inside the workspace (the repository root): relative, without `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct WorkspacePath(PathBuf);

impl WorkspacePath {
    /// Checks `path`.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, Invalid> {
        let path = path.into();
        check_workspace_path(&path).map_err(|why| {
            Invalid::new(
                why,
                "use a path relative to the repository root, without `..`",
            )
        })?;
        Ok(Self(path))
    }

    /// The path, relative to the workspace.
    pub fn as_path(&self) -> &Path {
        &self.0
    }
}

impl Deref for WorkspacePath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for WorkspacePath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl<'de> Deserialize<'de> for WorkspacePath {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::new(PathBuf::deserialize(de)?).map_err(Invalid::into_de)
    }
}

impl JsonSchema for WorkspacePath {
    fn schema_name() -> Cow<'static, str> {
        "WorkspacePath".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "path",
            "description": "A path relative to the repository root, without `..`.",
            "type": "string",
            "minLength": 1,
            "not": {"pattern": "^/|(^|/)\\.\\.(/|$)"},
        })
    }
}

/// A config path must stay inside the workspace: relative, without `..`.
pub fn check_workspace_path(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("the path is empty".into());
    }
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "`{}` leaves the workspace through `..`",
                    path.display()
                ))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("`{}` is absolute", path.display()))
            }
        }
    }
    Ok(())
}

/// A timeout in minutes: finite, above 0, at most a day (1440); fractions allowed.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Minutes(f64);

impl Minutes {
    /// The longest timeout: a day.
    pub const MAX: f64 = 1440.0;

    /// Checks `minutes`.
    pub fn new(minutes: f64) -> Result<Self, Invalid> {
        if minutes.is_finite() && minutes > 0.0 && minutes <= Self::MAX {
            Ok(Self(minutes))
        } else {
            Err(Invalid::new(
                format!("{minutes} is not a number of minutes above 0 and at most a day (1440)"),
                "give the minutes, like 45 or 0.5",
            ))
        }
    }

    /// The minutes.
    pub fn get(self) -> f64 {
        self.0
    }

    /// As a duration.
    pub fn duration(self) -> Duration {
        Duration::from_secs_f64(self.0 * 60.0)
    }
}

impl PartialEq<f64> for Minutes {
    fn eq(&self, other: &f64) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Minutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Minutes {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::new(f64::deserialize(de)?).map_err(Invalid::into_de)
    }
}

impl JsonSchema for Minutes {
    fn schema_name() -> Cow<'static, str> {
        "Minutes".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "minutes",
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": Self::MAX,
        })
    }
}

/// A whole number of at least 1 (a count or a size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AtLeastOne(u32);

impl AtLeastOne {
    /// Checks `n`.
    pub fn new(n: u32) -> Result<Self, Invalid> {
        if n >= 1 {
            Ok(Self(n))
        } else {
            Err(Invalid::new(
                format!("{n} is below the least allowed value, 1"),
                "use a whole number of at least 1",
            ))
        }
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl PartialEq<u32> for AtLeastOne {
    fn eq(&self, other: &u32) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for AtLeastOne {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for AtLeastOne {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::new(u32::deserialize(de)?).map_err(Invalid::into_de)
    }
}

impl JsonSchema for AtLeastOne {
    fn schema_name() -> Cow<'static, str> {
        "AtLeastOne".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": u32::MAX,
        })
    }
}

/// A public `https://` URL. The text is kept as written (the `url` crate would add a `/` to a
/// bare host), after `url` has parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsUrl(String);

impl HttpsUrl {
    /// Checks `text`.
    pub fn new(text: &str) -> Result<Self, Invalid> {
        let invalid = |why: &str| {
            Invalid::new(
                format!("`{text}` is not an https:// URL{why}"),
                "give the public https:// address",
            )
        };
        let url = url::Url::parse(text).map_err(|e| invalid(&format!(" ({e})")))?;
        if url.scheme() != "https" || !text.starts_with("https://") {
            return Err(invalid(""));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid(" (it has no host)"));
        }
        Ok(Self(text.to_owned()))
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HttpsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HttpsUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HttpsUrl {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(de)?).map_err(Invalid::into_de)
    }
}

impl JsonSchema for HttpsUrl {
    fn schema_name() -> Cow<'static, str> {
        "HttpsUrl".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "https URL",
            "type": "string",
            "format": "uri",
            "pattern": "^https://",
        })
    }
}

/// An IPv4 or IPv6 CIDR block, parsed by `ipnet` (so `999.1.1.1/99` is refused). The text is
/// kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    net: ipnet::IpNet,
    text: String,
}

impl Cidr {
    /// Checks `text`.
    pub fn new(text: &str) -> Result<Self, Invalid> {
        let net = text.parse::<ipnet::IpNet>().map_err(|_| {
            Invalid::new(
                format!("`{text}` is not a CIDR block"),
                "write it like 0.0.0.0/0 or 10.0.0.0/16 (IPv6: ::/0)",
            )
        })?;
        Ok(Self {
            net,
            text: text.to_owned(),
        })
    }

    /// The block as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed network.
    pub fn net(&self) -> ipnet::IpNet {
        self.net
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(de)?).map_err(Invalid::into_de)
    }
}

impl JsonSchema for Cidr {
    fn schema_name() -> Cow<'static, str> {
        "Cidr".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "CIDR block",
            "type": "string",
            "anyOf": [
                {"pattern": "^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])/(3[0-2]|[12]?[0-9])$"},
                {"pattern": "^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$"},
            ],
            "examples": ["0.0.0.0/0", "10.0.0.0/16"],
        })
    }
}

/// A minijinja template (`{{ version }}`, filters, …). Its syntax is checked while reading;
/// its variables are checked when it is rendered, where they are known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Template(String);

impl Template {
    /// Checks the syntax of `source`.
    pub fn new(source: &str) -> Result<Self, Invalid> {
        let env = minijinja::Environment::new();
        env.template_from_str(source).map_err(|e| {
            let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
            Invalid::new(
                format!(
                    "`{source}` is not a valid template: {}{line}",
                    e.detail().unwrap_or(&e.to_string())
                ),
                "fix the template syntax, like `{{ version }}`; the README lists the variables each template gets",
            )
        })?;
        Ok(Self(source.to_owned()))
    }

    /// The template source.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Template {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(de)?).map_err(Invalid::into_de)
    }
}

impl JsonSchema for Template {
    fn schema_name() -> Cow<'static, str> {
        "Template".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "template",
            "description": "A minijinja template; the README lists the variables it gets.",
            "type": "string",
        })
    }
}

/// The values of checked strings as plain strings, for the AWS and GitHub clients.
pub fn strings<T: AsRef<str>>(values: &[T]) -> Vec<String> {
    values.iter().map(|v| v.as_ref().to_owned()).collect()
}

/// A list that must hold at least one item: `deserialize_with` helper, with the field's own
/// message and help.
pub(crate) fn non_empty<'de, D, T>(de: D, message: &str, help: &str) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Vec::<T>::deserialize(de)?;
    if items.is_empty() {
        return Err(D::Error::custom(Invalid::new(message, help)));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `yaml` as `T` and returns the message and help of the error.
    fn refused<T: serde::de::DeserializeOwned + fmt::Debug>(yaml: &str) -> (String, String) {
        let text = serde_yaml::from_str::<T>(yaml).unwrap_err().to_string();
        let text = text.split(" at line ").next().unwrap().to_owned();
        let (message, help) = split_help(&text);
        (message.to_owned(), help.expect("a help").to_owned())
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert_eq!(
            AccountId::new("123456789012").unwrap().as_str(),
            "123456789012"
        );
        for bad in ["12345", "1234567890123", "12345678901a", ""] {
            let e = AccountId::new(bad).unwrap_err();
            assert_eq!(
                e.message,
                format!("`{bad}` is not a 12-digit AWS account ID")
            );
            assert_eq!(e.help, "write it like 123456789012");
        }
        let (message, help) = refused::<AccountId>("'12345'");
        assert_eq!(message, "`12345` is not a 12-digit AWS account ID");
        assert_eq!(help, "write it like 123456789012");
    }

    #[test]
    fn arns_have_their_service_and_resource() {
        RoleArn::new("arn:aws:iam::123456789012:role/MarketplaceAmiIngestion").unwrap();
        RoleArn::new("arn:aws-us-gov:iam::123456789012:role/path/Role").unwrap();
        for bad in [
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::12345:role/x",
            "MarketplaceAmiIngestion",
        ] {
            assert!(RoleArn::new(bad).is_err(), "{bad}");
        }
        OrganizationArn::new("arn:aws:organizations::123456789012:organization/o-abcdefghij")
            .unwrap();
        assert!(OrganizationArn::new("o-abcdefghij").is_err());
        OrganizationalUnitArn::new(
            "arn:aws:organizations::123456789012:ou/o-abcdefghij/ou-ab12-cdefgh34",
        )
        .unwrap();
        let e = OrganizationalUnitArn::new("ou-abc").unwrap_err();
        assert_eq!(e.message, "`ou-abc` is not an organizational unit ARN");
    }

    #[test]
    fn instance_types_and_vpc_ids_are_shape_checked() {
        for good in ["t3.medium", "m7g.large", "u-6tb1.metal", "r6i.24xlarge"] {
            InstanceType::new(good).unwrap();
        }
        for bad in ["t3medium", "large", "T3.medium", "t3.", ".large"] {
            assert!(InstanceType::new(bad).is_err(), "{bad}");
        }
        SubnetId::new("subnet-0123456789abcdef0").unwrap();
        assert!(SubnetId::new("subnet-xyz").is_err());
        SecurityGroupId::new("sg-01234567").unwrap();
        assert!(SecurityGroupId::new("sg-0123").is_err());
    }

    #[test]
    fn workspace_paths_stay_inside() {
        WorkspacePath::new("build/install.sh").unwrap();
        WorkspacePath::new("./cfn/t.yaml").unwrap();
        let e = WorkspacePath::new("../outside.sh").unwrap_err();
        assert_eq!(
            e.message,
            "`../outside.sh` leaves the workspace through `..`"
        );
        assert!(WorkspacePath::new("/etc/passwd")
            .unwrap_err()
            .message
            .contains("is absolute"));
        assert!(WorkspacePath::new("").is_err());
    }

    #[test]
    fn minutes_are_finite_positive_and_at_most_a_day() {
        assert_eq!(
            Minutes::new(0.5).unwrap().duration(),
            Duration::from_secs(30)
        );
        Minutes::new(1440.0).unwrap();
        for bad in [0.0, -1.0, f64::INFINITY, f64::NAN, 1440.5] {
            assert!(Minutes::new(bad).is_err(), "{bad}");
        }
        let (message, _) = refused::<Minutes>(".inf");
        assert!(message.contains("is not a number of minutes"), "{message}");
    }

    #[test]
    fn counts_are_at_least_one() {
        assert_eq!(AtLeastOne::new(1).unwrap().get(), 1);
        assert!(AtLeastOne::new(0).is_err());
        let (message, _) = refused::<AtLeastOne>("0");
        assert!(
            message.contains("below the least allowed value, 1"),
            "{message}"
        );
    }

    #[test]
    fn urls_must_be_https_with_a_host() {
        assert_eq!(
            HttpsUrl::new("https://example.com").unwrap().as_str(),
            "https://example.com"
        );
        HttpsUrl::new("https://example.com/a/b.png?x=1").unwrap();
        for bad in [
            "http://example.com",
            "example.com",
            "https://",
            "ftp://x",
            "https ://x",
        ] {
            let e = HttpsUrl::new(bad).unwrap_err();
            assert!(
                e.message
                    .starts_with(&format!("`{bad}` is not an https:// URL")),
                "{e}"
            );
        }
    }

    #[test]
    fn cidrs_are_parsed_not_pattern_matched() {
        for good in [
            "0.0.0.0/0",
            "10.0.0.0/16",
            "192.168.1.1/32",
            "::/0",
            "2001:db8::/32",
        ] {
            assert_eq!(Cidr::new(good).unwrap().as_str(), good);
        }
        for bad in [
            "999.1.1.1/99",
            "10.0.0.0/33",
            "10.0.0.0",
            "10.0.0/8",
            "::/129",
            "x/1",
        ] {
            let e = Cidr::new(bad).unwrap_err();
            assert_eq!(e.message, format!("`{bad}` is not a CIDR block"));
        }
    }

    #[test]
    fn templates_are_syntax_checked() {
        Template::new("{{ product | lower }}-{{ version }}").unwrap();
        Template::new("{{ versoin }}").unwrap();
        let e = Template::new("{{ version").unwrap_err();
        assert!(
            e.message
                .starts_with("`{{ version` is not a valid template"),
            "{e}"
        );
    }

    #[test]
    fn schema_patterns_are_the_checks() {
        // The schema's pattern is the same text the check compiles.
        let schema = schemars::schema_for!(AccountId);
        assert_eq!(schema.get("pattern").unwrap(), AccountId::PATTERN);
    }
}
