//! The runner environment, read once at start-up by the front end into typed values and
//! passed down: what GitHub Actions sets (`GITHUB_*`, the event payload) and the test knobs
//! (`MARKETPLACE_RELEASE_*`); and the secrets a test stack's `{env: …}` parameters name, read
//! when the stack is launched. Nothing below the engine reads the environment.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Result};
use secrecy::SecretString;
use serde::Deserialize;

use crate::diagnostic::{Diagnostic, Kind};
use crate::domain::version::Version;
use crate::stages::wait::PollSchedule;

/// What GitHub Actions sets (see "Store information in variables" in GitHub's documentation).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GitHubEnv {
    /// `true` in GitHub Actions.
    #[serde(default)]
    pub github_actions: Option<String>,
    /// The checkout.
    pub github_workspace: Option<PathBuf>,
    /// `branch` or `tag`.
    pub github_ref_type: Option<String>,
    /// The branch or tag name.
    pub github_ref_name: Option<String>,
    /// `owner/name`.
    pub github_repository: Option<String>,
    /// The REST API root.
    pub github_api_url: Option<String>,
    /// The web root.
    pub github_server_url: Option<String>,
    /// The run, for links.
    pub github_run_id: Option<String>,
    /// The event that started the run.
    pub github_event_name: Option<String>,
    /// The event payload file.
    pub github_event_path: Option<PathBuf>,
    /// The step outputs file.
    pub github_output: Option<PathBuf>,
    /// The step summary file.
    pub github_step_summary: Option<PathBuf>,
    /// A token passed as `env: GITHUB_TOKEN` (never printed).
    #[serde(default, deserialize_with = "secret")]
    pub github_token: Option<SecretString>,
}

fn secret<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<SecretString>, D::Error> {
    let text = Option::<String>::deserialize(de)?;
    Ok(text
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .map(SecretString::from))
}

/// The test and benchmark knobs (`MARKETPLACE_RELEASE_*`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Knobs {
    /// The shortest poll interval, in milliseconds.
    pub poll_min_ms: Option<u64>,
    /// The longest poll interval, in milliseconds.
    pub poll_max_ms: Option<u64>,
    /// Seconds between progress lines (default 60).
    pub progress_secs: Option<u64>,
    /// The first GitHub retry backoff, in milliseconds.
    pub github_backoff_ms: Option<u64>,
}

/// The whole runner environment.
#[derive(Debug, Clone, Default)]
pub struct RunnerEnv {
    /// GitHub Actions' variables.
    pub github: GitHubEnv,
    /// The knobs.
    pub knobs: Knobs,
    /// The event payload, when there is one.
    pub event: Option<serde_json::Value>,
}

impl RunnerEnv {
    /// Reads the environment. A variable that is set but not usable (not a number, not UTF-8)
    /// is an error naming the variable, never its value.
    pub fn read() -> Result<Self> {
        let github = envy::from_iter::<_, GitHubEnv>(utf8_vars("GITHUB_").map_err(not_utf8)?)
            .map_err(|e| env_error("GITHUB_*", &e))?;
        let knobs = envy::prefixed("MARKETPLACE_RELEASE_")
            .from_iter::<_, Knobs>(utf8_vars("MARKETPLACE_RELEASE_").map_err(not_utf8)?)
            .map_err(|e| env_error("MARKETPLACE_RELEASE_*", &e))?;
        let event = match &github.github_event_path {
            Some(path) => std::fs::read_to_string(path)
                .ok()
                .and_then(|text| serde_json::from_str(&text).ok()),
            None => None,
        };
        Ok(Self {
            github,
            knobs,
            event,
        })
    }

    /// Whether this is GitHub Actions.
    pub fn in_actions(&self) -> bool {
        self.github.github_actions.as_deref() == Some("true")
    }

    /// The repository root: `given`, else `GITHUB_WORKSPACE`, else the current directory.
    pub fn workspace(&self, given: Option<PathBuf>) -> Result<PathBuf> {
        match given.or_else(|| self.github.github_workspace.clone()) {
            Some(dir) => Ok(dir),
            None => std::env::current_dir()
                .map_err(|e| anyhow!("cannot read the current directory: {e}")),
        }
    }

    /// The version a tag push gives, if this is one.
    pub fn tag_version(&self, tag_prefix: &str) -> Result<Option<Version>, Diagnostic> {
        if self.github.github_ref_type.as_deref() != Some("tag") {
            return Ok(None);
        }
        let Some(tag) = &self.github.github_ref_name else {
            return Ok(None);
        };
        Version::from_tag(tag, tag_prefix).map(Some).map_err(|e| {
            Diagnostic::new(
                Kind::Run,
                format!("the tag `{tag}` does not give a version: {e}"),
                "set version.tag-prefix in the config, or pass the version",
            )
        })
    }

    /// The repository's default branch, from the event payload.
    pub fn default_branch(&self) -> Option<String> {
        self.event
            .as_ref()?
            .pointer("/repository/default_branch")?
            .as_str()
            .filter(|b| !b.is_empty())
            .map(str::to_owned)
    }

    /// The link to this workflow run, in GitHub Actions.
    pub fn run_url(&self) -> Option<String> {
        let g = &self.github;
        match (&g.github_server_url, &g.github_repository, &g.github_run_id) {
            (Some(server), Some(repo), Some(run)) => {
                Some(format!("{server}/{repo}/actions/runs/{run}"))
            }
            _ => None,
        }
    }

    /// The value of the environment variable `name` that a test stack parameter takes
    /// (`{env: NAME}`), read when the stack is launched; never logged.
    pub fn secret(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    /// The event's name, for messages.
    pub fn event_name(&self) -> &str {
        self.github.github_event_name.as_deref().unwrap_or("this")
    }

    /// The poll schedule, with the knobs' floor and ceiling.
    pub fn poll_schedule(&self) -> PollSchedule {
        let default = PollSchedule::default();
        PollSchedule {
            min: self
                .knobs
                .poll_min_ms
                .map_or(default.min, Duration::from_millis),
            max: self
                .knobs
                .poll_max_ms
                .map_or(default.max, Duration::from_millis),
            progress: self
                .knobs
                .progress_secs
                .map_or(default.progress, Duration::from_secs),
            ..default
        }
    }
}

/// An environment variable of ours that is not UTF-8; it names the variable, never its value.
#[derive(Debug, thiserror::Error)]
#[error("the environment variable {0} is not UTF-8 text")]
pub struct NotUtf8(pub String);

/// The environment variables whose names start with `prefix`, for envy. envy's own `from_env`
/// reads `std::env::vars`, which panics on any variable that is not UTF-8, whoever set it:
/// other programs' variables are left alone here, and one of ours is a [`NotUtf8`].
pub fn utf8_vars(prefix: &str) -> Result<Vec<(String, String)>, NotUtf8> {
    let mut vars = Vec::new();
    for (name, value) in std::env::vars_os() {
        let shown = name.to_string_lossy();
        if !shown.starts_with(prefix) {
            continue;
        }
        match (name.to_str(), value.into_string()) {
            (Some(name), Ok(value)) => vars.push((name.to_owned(), value)),
            _ => return Err(NotUtf8(shown.escape_debug().to_string())),
        }
    }
    Ok(vars)
}

fn not_utf8(error: NotUtf8) -> anyhow::Error {
    Diagnostic::new(
        Kind::Run,
        error.to_string(),
        "give it a UTF-8 value, or unset it",
    )
    .into()
}

fn env_error(which: &str, error: &envy::Error) -> anyhow::Error {
    // envy's message names the variable; a value is never part of it for these types.
    Diagnostic::new(
        Kind::Run,
        format!("the environment variable {which} cannot be used: {error}"),
        "unset it or give it a valid value",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let token = "ghs_0123456789abcdefSECRET";
        let github = envy::from_iter::<_, GitHubEnv>([
            ("GITHUB_TOKEN".to_owned(), token.to_owned()),
            ("GITHUB_REPOSITORY".to_owned(), "o/r".to_owned()),
        ])
        .unwrap();
        assert!(github.github_token.is_some());
        let env = RunnerEnv {
            github,
            ..RunnerEnv::default()
        };
        assert!(!format!("{env:?}").contains(token), "{env:?}");
    }
}
