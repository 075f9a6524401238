//! What the AWS Marketplace Catalog API accepts, as local rules: the `AddDeliveryOptions`
//! details document of `AmiProduct@1.0`, and the request's `ChangeSetName`,
//! `ClientRequestToken` and `ChangeName`. Pure: it reads JSON, nothing else.
//!
//! The rules are AWS's own, read from two sources and cited at each rule:
//! - the generated shapes of `AmiProduct@1.0` change types (awslabs/
//!   aws-marketplace-catalog-api-shapes-for-python, commit e2fef22,
//!   `aws_marketplace_catalog_shapes_amiproduct_1_0_changetypes/models/*.py`): every field's
//!   `max_length`, `min_length`, `ge`/`le` and `field_validator` pattern;
//! - the Catalog API reference, `API_StartChangeSet` and `API_Change` ("Length Constraints",
//!   "Pattern").
//!
//! The checker walks the document that is sent, so what is checked is exactly what AWS gets.
//! It is never kinder than the shapes; it is stricter in two places, both harmless: Python's
//! `$` also matches before a final line break (we don't take one), and a value that is not a
//! string or an integer is refused where pydantic's strict mode refuses it too. Fields the
//! shapes don't know are refused (pydantic ignores them; AWS's service may not).

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// One value the Catalog API would refuse: where it is, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeViolation {
    /// The field, as a path in the details document (`DeliveryOptions[0].Details.…`) or the
    /// request's member (`ChangeSetName`).
    pub path: String,
    /// The rule, in AWS's terms (`at most 3 characters`, `must match ^ami-…$`).
    pub rule: String,
    /// The value, shortened for display.
    pub value: String,
}

impl fmt::Display for ShapeViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (got {})", self.path, self.rule, self.value)
    }
}

impl std::error::Error for ShapeViolation {}

/// The Catalog API's text rule "starts with a non-space character" (`^\S+[\S\s]*`).
const STARTS_NON_SPACE: &str = r"^\S+[\S\s]*";

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the pattern compiles")
}

static AMI_ID: LazyLock<Regex> = LazyLock::new(|| regex(AMI_ID_PATTERN));
static ROLE_ARN: LazyLock<Regex> = LazyLock::new(|| regex(ROLE_ARN_PATTERN));
static USER_NAME: LazyLock<Regex> = LazyLock::new(|| regex(USER_NAME_PATTERN));
static INSTANCE_TYPE: LazyLock<Regex> = LazyLock::new(|| regex(INSTANCE_TYPE_PATTERN));
static CHANGE_SET_NAME: LazyLock<Regex> = LazyLock::new(|| regex(CHANGE_SET_NAME_PATTERN));
static REQUEST_TOKEN: LazyLock<Regex> = LazyLock::new(|| regex(REQUEST_TOKEN_PATTERN));
static CHANGE_NAME: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-zA-Z]+$"));

/// `AmiSource.AmiId` (`ami_source.py`).
pub const AMI_ID_PATTERN: &str = r"^ami-([a-zA-Z0-9]{8}|[a-zA-Z0-9]{17})$";
/// `AmiSource.AccessRoleArn` (`ami_source.py`): the `aws` partition only.
pub const ROLE_ARN_PATTERN: &str = r"^arn:aws:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+$";
/// `AmiSource.UserName` (`ami_source.py`), at most 32 characters.
pub const USER_NAME_PATTERN: &str = r"^[a-zA-Z][a-zA-Z0-9_-]{0,31}$";
/// `RecommendedInstanceType` (`add_ami_delivery_option_details.py`).
pub const INSTANCE_TYPE_PATTERN: &str = r"^[a-z]+[0-9]+[a-z]*\.[0-9]*[a-z]+$";
/// `ChangeSetName` (API reference, StartChangeSet): 1 to 100 characters.
pub const CHANGE_SET_NAME_PATTERN: &str = r"^[\w\s+=.:@-]+$";
/// `ClientRequestToken` (API reference, StartChangeSet): 1 to 36 characters.
pub const REQUEST_TOKEN_PATTERN: &str = r"^[\w\-]+$";

/// How a text field is checked, besides its length.
#[derive(Clone, Copy)]
enum Rule {
    /// Starts with a non-space character.
    NonSpace,
    /// Starts with a character that is neither a space nor `/` (`^(?!\/)\S+[\S\s]*`).
    NonSpaceNoSlash,
    /// Matches the pattern.
    Pattern(&'static LazyLock<Regex>, &'static str),
}

/// A text field: its rule and its maximum length in characters.
#[derive(Clone, Copy)]
struct Text(Rule, Option<usize>);

/// Walks a document and collects what breaks the shapes.
#[derive(Default)]
struct Walk {
    found: Vec<ShapeViolation>,
}

fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("`{s}`"),
        Value::Null => "nothing".to_owned(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

impl Walk {
    fn refuse(&mut self, path: &str, rule: impl Into<String>, value: &Value) {
        self.found.push(ShapeViolation {
            path: path.to_owned(),
            rule: rule.into(),
            value: shown(value),
        });
    }

    /// The object at `path`, refusing anything else; `None` when it is missing or wrong.
    fn object<'v>(
        &mut self,
        value: &'v Value,
        path: &str,
        keys: &[&str],
    ) -> Option<&'v Map<String, Value>> {
        let Some(fields) = value.as_object() else {
            self.refuse(path, "must be an object", value);
            return None;
        };
        for key in fields.keys().filter(|k| !keys.contains(&k.as_str())) {
            self.refuse(
                &join(path, key),
                format!(
                    "is not a field of this shape (it takes {})",
                    keys.join(", ")
                ),
                &fields[key],
            );
        }
        Some(fields)
    }

    fn required<'v>(
        &mut self,
        fields: &'v Map<String, Value>,
        path: &str,
        key: &str,
    ) -> Option<&'v Value> {
        let found = fields.get(key).filter(|v| !v.is_null());
        if found.is_none() {
            self.refuse(&join(path, key), "is required", &Value::Null);
        }
        found
    }

    fn text(&mut self, value: &Value, path: &str, Text(rule, max): Text) {
        let Some(text) = value.as_str() else {
            self.refuse(path, "must be a string", value);
            return;
        };
        let length = text.chars().count();
        if let Some(max) = max.filter(|max| length > *max) {
            self.refuse(
                path,
                format!("takes at most {max} characters, not {length}"),
                value,
            );
        }
        let first = text.chars().next();
        match rule {
            Rule::NonSpace if first.is_none_or(char::is_whitespace) => self.refuse(
                path,
                format!("must start with a non-space character ({STARTS_NON_SPACE})"),
                value,
            ),
            Rule::NonSpaceNoSlash if first.is_none_or(|c| c.is_whitespace() || c == '/') => self
                .refuse(
                    path,
                    r"must start with a character that is neither a space nor `/` (^(?!\/)\S+[\S\s]*)",
                    value,
                ),
            Rule::Pattern(re, pattern) if !re.is_match(text) => {
                self.refuse(path, format!("must match {pattern}"), value)
            }
            _ => {}
        }
    }

    fn field(&mut self, fields: &Map<String, Value>, path: &str, key: &str, text: Text) {
        if let Some(value) = self.required(fields, path, key) {
            self.text(value, &join(path, key), text);
        }
    }

    fn optional_field(&mut self, fields: &Map<String, Value>, path: &str, key: &str, text: Text) {
        if let Some(value) = fields.get(key).filter(|v| !v.is_null()) {
            self.text(value, &join(path, key), text);
        }
    }

    /// A port: an integer from 1 to 65535 (`Field(ge=1, le=65535, strict=True)`).
    fn port(&mut self, value: &Value, path: &str) {
        match value.as_u64() {
            Some(1..=65535) => {}
            Some(_) | None if value.is_number() => {
                self.refuse(path, "must be a port from 1 to 65535", value)
            }
            _ => self.refuse(path, "must be an integer", value),
        }
    }

    /// A list of `min` to `max` items.
    fn list<'v>(&mut self, value: &'v Value, path: &str, min: usize, max: usize) -> &'v [Value] {
        let Some(items) = value.as_array() else {
            self.refuse(path, "must be a list", value);
            return &[];
        };
        if items.len() < min || items.len() > max {
            let rule = if min == max {
                format!("takes exactly {min} item(s), not {}", items.len())
            } else {
                format!("takes {min} to {max} items, not {}", items.len())
            };
            self.refuse(path, rule, &Value::from(items.len()));
        }
        items
    }
}

/// Checks an `AddDeliveryOptions` details document of `AmiProduct@1.0`
/// (`add_delivery_options_change_detail.py`); empty when AWS's shapes accept it.
pub fn check_add_delivery_options(details: &Value) -> Vec<ShapeViolation> {
    let mut walk = Walk::default();
    let Some(fields) = walk.object(details, "", &["Version", "DeliveryOptions"]) else {
        return walk.found;
    };
    if let Some(version) = walk.required(fields, "", "Version") {
        // add_version.py
        if let Some(v) = walk.object(version, "Version", &["VersionTitle", "ReleaseNotes"]) {
            walk.field(v, "Version", "VersionTitle", Text(Rule::NonSpace, Some(64)));
            walk.field(
                v,
                "Version",
                "ReleaseNotes",
                Text(Rule::NonSpace, Some(30000)),
            );
        }
    }
    if let Some(options) = walk.required(fields, "", "DeliveryOptions") {
        for (i, option) in walk
            .list(options, "DeliveryOptions", 1, 1)
            .iter()
            .enumerate()
        {
            let path = format!("DeliveryOptions[{i}]");
            // add_delivery_option.py, add_details.py
            let Some(o) = walk.object(option, &path, &["Details"]) else {
                continue;
            };
            let Some(details) = walk.required(o, &path, "Details") else {
                continue;
            };
            let path = join(&path, "Details");
            let Some(d) = walk.object(details, &path, &["AmiDeliveryOptionDetails"]) else {
                continue;
            };
            if let Some(ami) = walk.required(d, &path, "AmiDeliveryOptionDetails") {
                ami_delivery_option(&mut walk, ami, &join(&path, "AmiDeliveryOptionDetails"));
            }
        }
    }
    walk.found
}

/// `add_ami_delivery_option_details.py`.
fn ami_delivery_option(walk: &mut Walk, value: &Value, path: &str) {
    let keys = [
        "AmiSource",
        "UsageInstructions",
        "AccessEndpointUrl",
        "RecommendedInstanceType",
        "SecurityGroups",
    ];
    let Some(fields) = walk.object(value, path, &keys) else {
        return;
    };
    if let Some(source) = walk.required(fields, path, "AmiSource") {
        ami_source(walk, source, &join(path, "AmiSource"));
    }
    walk.field(
        fields,
        path,
        "UsageInstructions",
        Text(Rule::NonSpace, Some(4000)),
    );
    if let Some(endpoint) = fields.get("AccessEndpointUrl").filter(|v| !v.is_null()) {
        access_endpoint_url(walk, endpoint, &join(path, "AccessEndpointUrl"));
    }
    let instance_type = Rule::Pattern(&INSTANCE_TYPE, INSTANCE_TYPE_PATTERN);
    walk.field(
        fields,
        path,
        "RecommendedInstanceType",
        Text(instance_type, None),
    );
    if let Some(groups) = walk.required(fields, path, "SecurityGroups") {
        let groups_path = join(path, "SecurityGroups");
        for (i, group) in walk.list(groups, &groups_path, 1, 25).iter().enumerate() {
            security_group(walk, group, &format!("{groups_path}[{i}]"));
        }
    }
}

/// `ami_source.py`.
fn ami_source(walk: &mut Walk, value: &Value, path: &str) {
    let keys = [
        "AmiId",
        "AccessRoleArn",
        "UserName",
        "ScanningPort",
        "OperatingSystemName",
        "OperatingSystemVersion",
    ];
    let Some(fields) = walk.object(value, path, &keys) else {
        return;
    };
    walk.field(
        fields,
        path,
        "AmiId",
        Text(Rule::Pattern(&AMI_ID, AMI_ID_PATTERN), None),
    );
    let arn = Rule::Pattern(&ROLE_ARN, ROLE_ARN_PATTERN);
    walk.field(fields, path, "AccessRoleArn", Text(arn, None));
    let user = Rule::Pattern(&USER_NAME, USER_NAME_PATTERN);
    walk.field(fields, path, "UserName", Text(user, Some(32)));
    if let Some(port) = fields.get("ScanningPort").filter(|v| !v.is_null()) {
        walk.port(port, &join(path, "ScanningPort"));
    }
    walk.field(
        fields,
        path,
        "OperatingSystemName",
        Text(Rule::NonSpace, Some(100)),
    );
    walk.field(
        fields,
        path,
        "OperatingSystemVersion",
        Text(Rule::NonSpace, Some(100)),
    );
}

/// `access_endpoint_url.py`.
fn access_endpoint_url(walk: &mut Walk, value: &Value, path: &str) {
    let Some(fields) = walk.object(value, path, &["Port", "Protocol", "RelativePath"]) else {
        return;
    };
    if let Some(port) = walk.required(fields, path, "Port") {
        walk.port(port, &join(path, "Port"));
    }
    walk.field(fields, path, "Protocol", Text(Rule::NonSpace, Some(5)));
    walk.optional_field(
        fields,
        path,
        "RelativePath",
        Text(Rule::NonSpaceNoSlash, Some(2000)),
    );
}

/// `security_group.py`.
fn security_group(walk: &mut Walk, value: &Value, path: &str) {
    let keys = ["FromPort", "IpProtocol", "IpRanges", "ToPort"];
    let Some(fields) = walk.object(value, path, &keys) else {
        return;
    };
    for key in ["FromPort", "ToPort"] {
        if let Some(port) = walk.required(fields, path, key) {
            walk.port(port, &join(path, key));
        }
    }
    walk.field(fields, path, "IpProtocol", Text(Rule::NonSpace, Some(3)));
    if let Some(ranges) = walk.required(fields, path, "IpRanges") {
        let ranges_path = join(path, "IpRanges");
        for (i, range) in walk.list(ranges, &ranges_path, 1, 5).iter().enumerate() {
            if !range.is_string() {
                walk.refuse(&format!("{ranges_path}[{i}]"), "must be a string", range);
            }
        }
    }
}

/// Checks the request members `submit` sets besides the details: `ChangeSetName` (1 to 100
/// characters, [`CHANGE_SET_NAME_PATTERN`]), `ClientRequestToken` (1 to 36,
/// [`REQUEST_TOKEN_PATTERN`]) and `ChangeName` (1 to 72 letters).
pub fn check_request(change_set_name: &str, token: &str, change_name: &str) -> Vec<ShapeViolation> {
    let mut walk = Walk::default();
    let checks = [
        (
            "ChangeSetName",
            change_set_name,
            100,
            &CHANGE_SET_NAME,
            CHANGE_SET_NAME_PATTERN,
        ),
        (
            "ClientRequestToken",
            token,
            36,
            &REQUEST_TOKEN,
            REQUEST_TOKEN_PATTERN,
        ),
        ("ChangeName", change_name, 72, &CHANGE_NAME, "^[a-zA-Z]+$"),
    ];
    for (path, value, max, re, pattern) in checks {
        walk.text(
            &Value::from(value),
            path,
            Text(Rule::Pattern(re, pattern), Some(max)),
        );
    }
    walk.found
}

/// A version of the product as DescribeEntity shows it (the shapes' entity type,
/// `aws_marketplace_catalog_shapes_amiproduct_1_0_entitytype/models/version.py`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedVersion {
    /// `VersionTitle`.
    pub title: String,
    /// Whether one of its delivery options delivers a CloudFormation template.
    pub cloudformation: bool,
    /// The AMIs of its sources (`Sources[].Image`, an image ARN or ID).
    pub amis: Vec<String>,
}

/// The versions in DescribeEntity's details of an `AmiProduct@1.0`.
///
/// The shapes type a delivery option's `Type` and a source's `Type` as free strings, so a
/// version counts as delivering a CloudFormation template when a delivery option's or a
/// source's `Type` names CloudFormation, or a source carries the fields only template sources
/// have (`Template`, `NestedDocuments`, `ConsumedSources`, `AWSDependentServices`;
/// `source.py`).
pub fn listed_versions(entity: &Value) -> Vec<ListedVersion> {
    let names_cloudformation = |item: &Value| {
        item["Type"]
            .as_str()
            .is_some_and(|t| t.to_ascii_lowercase().contains("cloudformation"))
    };
    let template_fields = [
        "Template",
        "NestedDocuments",
        "ConsumedSources",
        "AWSDependentServices",
    ];
    let items = |version: &Value, key: &str| version[key].as_array().cloned().unwrap_or_default();
    entity["Versions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|version| ListedVersion {
            title: version["VersionTitle"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            cloudformation: items(version, "DeliveryOptions")
                .iter()
                .any(names_cloudformation)
                || items(version, "Sources").iter().any(|source| {
                    names_cloudformation(source)
                        || template_fields.iter().any(|f| !source[*f].is_null())
                }),
            amis: items(version, "Sources")
                .iter()
                .filter_map(|source| source["Image"].as_str())
                .map(|image| image.rsplit('/').next().unwrap_or(image).to_owned())
                .collect(),
        })
        .collect()
}

/// The regions the listing offers (`RegionAvailability.Regions`, `region_availability.py`).
pub fn listed_regions(entity: &Value) -> Vec<String> {
    strings(&entity["RegionAvailability"]["Regions"])
}

/// The strings of a JSON array (none when it is not one).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// The instance types the listing sells (`Compatibility.AvailableInstanceTypes` of the
/// `AmiProduct@1.0` entity) and those it restricts (`RestrictedInstanceTypes`).
pub fn listed_instance_types(entity: &Value) -> (Vec<String>, Vec<String>) {
    let compatibility = &entity["Compatibility"];
    (
        strings(&compatibility["AvailableInstanceTypes"]),
        strings(&compatibility["RestrictedInstanceTypes"]),
    )
}

/// What the live listing says against a release, one sentence each, for the PR and the
/// summary: release regions the listing does not offer, listing regions the release does not
/// copy to (only when `regions` is the release's whole list), and a recommended instance type
/// the listing does not sell.
pub fn listing_notes(
    entity: &Value,
    product: &str,
    regions: &[String],
    regions_are_complete: bool,
    recommended: &str,
) -> Vec<String> {
    let mut notes = Vec::new();
    let listed = listed_regions(entity);
    let shown = |items: &[&String]| {
        items
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let not_offered: Vec<&String> = regions.iter().filter(|r| !listed.contains(r)).collect();
    if !listed.is_empty() && !not_offered.is_empty() {
        notes.push(format!(
            "{product} is not offered in {}: the template's AMIs there are not sold (add the regions to the listing, or leave them out of `regions`)",
            shown(&not_offered)
        ));
    }
    let lacking: Vec<&String> = listed.iter().filter(|r| !regions.contains(r)).collect();
    if regions_are_complete && !lacking.is_empty() {
        notes.push(format!(
            "{product} is offered in {}, which this release does not copy to: buyers there launch an AMI the template does not map (add them to `regions`)",
            shown(&lacking)
        ));
    }
    let (available, restricted) = listed_instance_types(entity);
    let recommended = recommended.to_owned();
    if restricted.contains(&recommended) {
        notes.push(format!(
            "the recommended instance type `{recommended}` (load-form.recommended-instance-type) is restricted in the listing: choose one it sells"
        ));
    } else if !available.is_empty() && !available.contains(&recommended) {
        notes.push(format!(
            "the recommended instance type `{recommended}` (load-form.recommended-instance-type) is not among the listing's instance types: choose one it sells, or add it to the listing"
        ));
    }
    notes
}

/// What the listing says of a version about to be released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionStatus {
    /// No version has this title.
    New,
    /// A version has this title and holds the AMI: the release is already done.
    AlreadyThere,
    /// A version has this title with other AMIs: the title is taken.
    TitleTaken {
        /// The AMIs that version holds.
        amis: Vec<String>,
    },
}

/// Whether `title` is taken among `versions`, and whether its version holds `ami`.
pub fn version_status(versions: &[ListedVersion], title: &str, ami: Option<&str>) -> VersionStatus {
    match versions.iter().find(|v| v.title == title) {
        None => VersionStatus::New,
        Some(v) if ami.is_some_and(|a| v.amis.iter().any(|x| x == a)) => {
            VersionStatus::AlreadyThere
        }
        Some(v) => VersionStatus::TitleTaken {
            amis: v.amis.clone(),
        },
    }
}

#[cfg(test)]
mod tests;
