//! What a verification of a release found: one [`Verification`] per run of checks (the AMI
//! booted in one region, or, later, a test stack), each a list of [`Check`]s with its outcome,
//! its time and what it saw. The manifest keeps them, the PR body and the step summary show
//! them, and the image's `marketplace-release:verification` tag records [`Verification::passed`].
//!
//! Nothing here knows how a check ran: the verify stage reads them off an instance's console
//! ([`crate::plan::userdata::parse_checks`]); any other source maps its results onto the same
//! [`Check`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckOutcome {
    /// It held.
    Passed,
    /// It did not.
    Failed,
    /// It did not apply (for example no systemd unit was named), or never ran.
    Skipped,
}

impl CheckOutcome {
    /// `passed`, `failed` or `skipped`, as the console marker and the manifest write it.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Passed => "passed",
            CheckOutcome::Failed => "failed",
            CheckOutcome::Skipped => "skipped",
        }
    }

    /// From the console marker's word; `None` for any other.
    pub fn parse(word: &str) -> Option<Self> {
        [Self::Passed, Self::Failed, Self::Skipped]
            .into_iter()
            .find(|o| o.as_str() == word)
    }
}

/// One check and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    /// Its name (`service`, `sshd`, `authorized-keys`, `shell-history`, `cloud-init`,
    /// `script`, …).
    pub name: String,
    /// How it ended.
    pub outcome: CheckOutcome,
    /// How long it took, in whole seconds.
    pub seconds: u64,
    /// What it saw, in one line (empty when there is nothing to say).
    #[serde(default)]
    pub detail: String,
}

/// One verification: where it ran, its checks, and why it failed when no check says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verification {
    /// The region the image was booted in.
    pub region: String,
    /// The image booted.
    pub image_id: String,
    /// The test instance, once launched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Whether EC2 reported the test instance shutting down or terminated.
    #[serde(default)]
    pub terminated: bool,
    /// Its checks, in the order they ran.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Why the verification failed when no check says (no result on the console, a timeout,
    /// a failed launch); `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The last console lines, kept when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_tail: Option<String>,
    /// Whole seconds from the launch until the result was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    /// The SHA-256 of what the test instance ran (the checks, the unit, the verify script): a
    /// re-run boots the image again only when it differs, or when this one did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks_sha256: Option<String>,
}

impl Verification {
    /// A verification of `image_id` in `region` that has not run yet.
    pub fn new(region: &str, image_id: &str) -> Self {
        Self {
            region: region.to_owned(),
            image_id: image_id.to_owned(),
            instance_id: None,
            terminated: false,
            checks: Vec::new(),
            reason: None,
            console_tail: None,
            seconds: None,
            checks_sha256: None,
        }
    }

    /// Whether it passed: it has checks, none failed, and nothing else went wrong.
    pub fn passed(&self) -> bool {
        self.reason.is_none()
            && !self.checks.is_empty()
            && self
                .checks
                .iter()
                .all(|c| c.outcome != CheckOutcome::Failed)
    }

    /// The checks that failed.
    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .filter(|c| c.outcome == CheckOutcome::Failed)
    }

    /// Why it failed, in one line: the reason, else the failed checks with their details;
    /// `None` when it passed.
    pub fn failure(&self) -> Option<String> {
        if self.passed() {
            return None;
        }
        if let Some(reason) = &self.reason {
            return Some(reason.clone());
        }
        let failed: Vec<String> = self
            .failed_checks()
            .map(|c| {
                if c.detail.is_empty() {
                    c.name.clone()
                } else {
                    format!("{} ({})", c.name, c.detail)
                }
            })
            .collect();
        Some(if failed.is_empty() {
            "no check reported".into()
        } else {
            format!("failed: {}", failed.join("; "))
        })
    }

    /// `passed` or `failed`, as the image's tag records it.
    pub fn tag_value(&self) -> &'static str {
        if self.passed() {
            "passed"
        } else {
            "failed"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, outcome: CheckOutcome, detail: &str) -> Check {
        Check {
            name: name.into(),
            outcome,
            seconds: 1,
            detail: detail.into(),
        }
    }

    #[test]
    fn passes_only_with_checks_none_failed_and_no_reason() {
        let mut v = Verification::new("us-east-1", "ami-0123456789abcdef0");
        assert!(!v.passed(), "no check ran");
        assert_eq!(v.failure().as_deref(), Some("no check reported"));
        v.checks.push(check("sshd", CheckOutcome::Passed, ""));
        v.checks
            .push(check("service", CheckOutcome::Skipped, "no unit"));
        assert!(v.passed());
        assert_eq!(v.tag_value(), "passed");
        assert_eq!(v.failure(), None);
        v.checks
            .push(check("script", CheckOutcome::Failed, "exit code 3"));
        assert!(!v.passed());
        assert_eq!(v.tag_value(), "failed");
        assert_eq!(v.failure().as_deref(), Some("failed: script (exit code 3)"));
        v.reason = Some("timed out".into());
        assert_eq!(v.failure().as_deref(), Some("timed out"));
    }

    #[test]
    fn outcomes_read_and_write_the_marker_words() {
        for o in [
            CheckOutcome::Passed,
            CheckOutcome::Failed,
            CheckOutcome::Skipped,
        ] {
            assert_eq!(CheckOutcome::parse(o.as_str()), Some(o));
            assert_eq!(
                serde_json::to_string(&o).unwrap(),
                format!("\"{}\"", o.as_str())
            );
        }
        assert_eq!(CheckOutcome::parse("ok"), None);
    }
}
