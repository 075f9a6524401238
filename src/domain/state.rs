//! The states the stages compare: an image's (EC2's `ImageState`, and `deregistered` after our
//! cleanup) and a Catalog change set's (`ChangeSetStatus`). Parsed once from the wire and the
//! manifest; every comparison is on the enum. The JSON text is EC2's and the Catalog API's own.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An image's state, as EC2 reports it (`DescribeImages`, `ImageState`) and the manifest keeps
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageState {
    /// Being created or copied.
    Pending,
    /// Ready to launch.
    Available,
    /// Not valid.
    Invalid,
    /// Deregistered (by EC2, or by this tool's cleanup).
    Deregistered,
    /// Between states.
    Transient,
    /// Creation or copy failed.
    Failed,
    /// An error occurred.
    Error,
    /// Disabled.
    Disabled,
    /// A state this version does not know (a newer EC2 or manifest).
    #[serde(other)]
    Unknown,
}

impl ImageState {
    /// EC2's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Invalid => "invalid",
            Self::Deregistered => "deregistered",
            Self::Transient => "transient",
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Disabled => "disabled",
            Self::Unknown => "unknown",
        }
    }

    /// From EC2's name; [`ImageState::Unknown`] for a name this version does not know.
    pub fn parse(name: &str) -> Self {
        [
            Self::Pending,
            Self::Available,
            Self::Invalid,
            Self::Deregistered,
            Self::Transient,
            Self::Failed,
            Self::Error,
            Self::Disabled,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
        .unwrap_or(Self::Unknown)
    }

    /// Still on its way to `available`.
    pub fn in_progress(self) -> bool {
        matches!(self, Self::Pending | Self::Transient)
    }
}

impl fmt::Display for ImageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Catalog API change set's status (`DescribeChangeSet`, `ChangeSetStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeSetStatus {
    /// Being prepared.
    Preparing,
    /// Being applied.
    Applying,
    /// Done.
    Succeeded,
    /// Cancelled.
    Cancelled,
    /// Failed; the change's `ErrorDetailList` says why.
    Failed,
    /// A status this version does not know.
    #[serde(other)]
    Unknown,
}

impl ChangeSetStatus {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preparing => "PREPARING",
            Self::Applying => "APPLYING",
            Self::Succeeded => "SUCCEEDED",
            Self::Cancelled => "CANCELLED",
            Self::Failed => "FAILED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// From the API's name; [`ChangeSetStatus::Unknown`] for one this version does not know.
    pub fn parse(name: &str) -> Self {
        [
            Self::Preparing,
            Self::Applying,
            Self::Succeeded,
            Self::Cancelled,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
        .unwrap_or(Self::Unknown)
    }

    /// Whether the change set has ended.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// Whether it ended badly.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Cancelled)
    }
}

impl fmt::Display for ChangeSetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_kept_apart() {
        for state in [
            "pending",
            "available",
            "failed",
            "deregistered",
            "transient",
        ] {
            assert_eq!(ImageState::parse(state).as_str(), state);
            let json = serde_json::to_string(&ImageState::parse(state)).unwrap();
            assert_eq!(json, format!("\"{state}\""));
        }
        assert_eq!(ImageState::parse("frozen"), ImageState::Unknown);
        assert_eq!(
            serde_json::from_str::<ImageState>("\"frozen\"").unwrap(),
            ImageState::Unknown
        );
        for status in ["PREPARING", "APPLYING", "SUCCEEDED", "CANCELLED", "FAILED"] {
            assert_eq!(ChangeSetStatus::parse(status).as_str(), status);
        }
        assert!(ChangeSetStatus::Cancelled.is_final() && ChangeSetStatus::Cancelled.is_failure());
        assert!(!ChangeSetStatus::Applying.is_final());
    }
}
