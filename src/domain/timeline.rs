//! The release timeline: when each phase of a release started and ended, as the manifest
//! records it (RFC 3339, UTC, whole seconds). The step summary and the pull request draw it as
//! a chart ([`crate::plan::timeline`]).

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A moment, in UTC to the second; written as RFC 3339 (`2026-06-01T10:42:07Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Now.
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    /// Parses RFC 3339 (any offset; kept in UTC).
    pub fn parse(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::from)
    }

    /// Whole seconds from `self` to `later` (0 when `later` is earlier).
    pub fn seconds_until(self, later: Timestamp) -> u64 {
        u64::try_from((later.0 - self.0).whole_seconds()).unwrap_or(0)
    }

    /// `2026-06-01T10:42:07`: the date and time in UTC without the zone, as charts take it.
    pub fn naive_utc(self) -> String {
        let text = self.to_string();
        text.trim_end_matches('Z').to_owned()
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(time::UtcOffset::UTC);
        Self(utc.replace_nanosecond(0).unwrap_or(utc))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Timestamp::parse(&text)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}")))
    }
}

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "title": "RFC 3339 time (UTC)",
            "type": "string",
            "format": "date-time",
            "examples": ["2026-06-01T10:42:07Z"],
        })
    }
}

/// When one phase ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Span {
    /// When it started.
    pub start: Timestamp,
    /// When it ended, successfully or not; absent while it runs (or when the run was cut off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
}

impl Span {
    /// A phase that starts now.
    pub fn starting_now() -> Self {
        Self {
            start: Timestamp::now(),
            end: None,
        }
    }

    /// The same phase, ended now.
    pub fn ended_now(self) -> Self {
        Self {
            end: Some(Timestamp::now()),
            ..self
        }
    }

    /// Whole seconds it took, once it ended.
    pub fn seconds(&self) -> Option<u64> {
        self.end.map(|end| self.start.seconds_until(end))
    }
}

/// When each phase of a release ran. Every field is optional: a manifest of an earlier
/// version has none, a copy job has no builder, and a publish job adds `publish` later.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Timeline {
    /// The builder: from its launch until the build script's result was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<Span>,
    /// The image in the build region: from CreateImage (or, for an existing AMI, CopyImage)
    /// until it was available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Span>,
    /// Each target region's copy, from CopyImage until it was available and shared (or failed).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub copies: IndexMap<String, Span>,
    /// Each region's verification of the image: from the test instance's launch until its
    /// result was read and it was terminated.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub verification: IndexMap<String, Span>,
    /// Committing the templates and opening or updating the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Span>,
}

impl Timeline {
    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        *self == Timeline::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_to_the_second() {
        let at = Timestamp::parse("2026-06-01T12:42:07.853+02:00").unwrap();
        assert_eq!(at.to_string(), "2026-06-01T10:42:07Z");
        assert_eq!(at.naive_utc(), "2026-06-01T10:42:07");
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(json, "\"2026-06-01T10:42:07Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"")
            .unwrap_err()
            .to_string()
            .contains("not an RFC 3339 time"));
        let later = Timestamp::parse("2026-06-01T11:00:00Z").unwrap();
        assert_eq!(at.seconds_until(later), 1073);
        assert_eq!(later.seconds_until(at), 0);
    }
}
