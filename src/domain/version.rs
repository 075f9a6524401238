//! Release versions: what a user may pass, and what in a template looks like one.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// A version string was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("version `{0}` is not allowed: use only letters, digits, `.`, `+` and `-`, starting with a letter or digit (for example 5.26.0 or 2025.06.0)")]
pub struct InvalidVersion(pub String);

/// A release version, such as `5.26.0`, `2025.06.0` or `4.4`.
///
/// The character set is closed (`[0-9A-Za-z.+-]`) because the version is written into YAML,
/// JSON, branch names and AMI names, and must never need escaping in any of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Version(String);

static VERSION_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9]+\.[0-9]+(\.[0-9]+)*([-+][0-9A-Za-z.+-]+)?$")
        .expect("version pattern compiles")
});

impl Version {
    /// Validates `text` as a version.
    pub fn new(text: &str) -> Result<Self, InvalidVersion> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-');
        let ok = !text.is_empty()
            && text.len() <= 128
            && text.chars().all(allowed)
            && text.starts_with(|c: char| c.is_ascii_alphanumeric());
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidVersion(text.to_owned()))
        }
    }

    /// Strips a tag prefix such as `v` (`v5.26.0` → `5.26.0`) and validates the rest.
    pub fn from_tag(tag: &str, prefix: &str) -> Result<Self, InvalidVersion> {
        Self::new(tag.strip_prefix(prefix).unwrap_or(tag))
    }

    /// The version text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a template value is clearly a version: semver (`4.4.11`, `5.1.0-rc1`), CalVer
/// (`2025.06.0`) or `x.y`. Placeholders such as `None` or `latest`, and bare numbers such as
/// `2013`, are not.
pub fn looks_like_version(text: &str) -> bool {
    VERSION_LIKE.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_semver_calver_and_short() {
        for v in [
            "5.26.0",
            "2025.06.0",
            "4.4",
            "5.1.0-rc.1+build.7",
            "16-1-3-2-004",
        ] {
            assert!(Version::new(v).is_ok(), "{v}");
        }
    }

    #[test]
    fn rejects_unsafe_text() {
        for v in [
            "", "5.0 ", "5.0\n", "'5.0'", "5.0;rm", "-5.0", ".5", "5.0/1", "ä",
        ] {
            assert!(Version::new(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn tag_prefix() {
        assert_eq!(
            Version::from_tag("v5.26.0", "v").unwrap().as_str(),
            "5.26.0"
        );
        assert_eq!(Version::from_tag("5.26.0", "v").unwrap().as_str(), "5.26.0");
        assert_eq!(
            Version::from_tag("release-2025.06.0", "release-")
                .unwrap()
                .as_str(),
            "2025.06.0"
        );
    }

    #[test]
    fn version_likeness() {
        for v in ["4.4.3", "2025.06.0", "5.1", "2026.03.1", "5.1.0-rc1"] {
            assert!(looks_like_version(v), "{v}");
        }
        for v in ["None", "latest", "2013", "16-1-2-2-0028", "ami-1", "4.4.x"] {
            assert!(!looks_like_version(v), "{v}");
        }
    }
}
