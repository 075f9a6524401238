//! What a refused or failed call says: GitHub's answer, the permission the call needed, and the
//! next step.

use serde_json::Value;

/// Which permission a call needs, for the error message when GitHub refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Reading the repository.
    Read,
    /// Writing refs, commits, trees and blobs: `contents: write`.
    Contents,
    /// Opening and editing pull requests, their labels and reviewers: `pull-requests: write`.
    PullRequests,
}

/// A GitHub call that failed, with GitHub's answer and the next step.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct GitHubError {
    /// What we were doing, like "create the branch marketplace-release/5.26.0 in owner/repo".
    pub action: String,
    /// The HTTP status, when GitHub answered.
    pub status: Option<u16>,
    /// GitHub's `message`, or the transport error.
    pub message: String,
    /// GitHub's `errors` list (validation details), as sent.
    pub errors: Vec<Value>,
    /// GitHub's `documentation_url`.
    pub documentation_url: Option<String>,
    /// What to do.
    pub help: String,
}

impl GitHubError {
    fn render(&self) -> String {
        let mut text = format!("GitHub: could not {}: ", self.action);
        if let Some(status) = self.status {
            text.push_str(&format!("{status} "));
        }
        text.push_str(&self.message);
        if !self.errors.is_empty() {
            let details: Vec<String> = self.errors.iter().map(describe_error_entry).collect();
            text.push_str(&format!(" ({})", details.join("; ")));
        }
        if let Some(url) = &self.documentation_url {
            text.push_str(&format!(" [{url}]"));
        }
        text.push_str(&format!("\n  help: {}", self.help));
        text
    }

    /// An error GitHub's answer did not describe (transport, or an answer we cannot read).
    pub(super) fn local(action: &str, status: Option<u16>, message: String, help: &str) -> Self {
        Self {
            action: action.into(),
            status,
            message,
            errors: Vec::new(),
            documentation_url: None,
            help: help.into(),
        }
    }

    /// Whether GitHub answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    /// Whether GitHub answered 422 with this text in its message or errors.
    pub fn is_unprocessable_with(&self, text: &str) -> bool {
        self.status == Some(422)
            && (self.message.contains(text)
                || self.errors.iter().any(|e| e.to_string().contains(text)))
    }
}

fn describe_error_entry(entry: &Value) -> String {
    match entry {
        Value::String(text) => text.clone(),
        Value::Object(fields) => match fields.get("message").and_then(Value::as_str) {
            Some(message) => message.to_owned(),
            None => ["resource", "field", "code"]
                .iter()
                .filter_map(|k| fields.get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        },
        other => other.to_string(),
    }
}

/// The next step for a refused call.
pub fn help_for(status: u16, message: &str, scope: Scope) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("not permitted to create or approve pull requests") {
        return "allow it in the repository (or organisation) settings: Settings → Actions → General → Workflow permissions → tick \"Allow GitHub Actions to create and approve pull requests\", then re-run".into();
    }
    if lower.contains("rate limit") {
        return "GitHub kept rate-limiting the token; wait a few minutes and re-run (the run resumes: the branch and pull request are updated in place)".into();
    }
    let permission = match scope {
        Scope::Read => "contents: read",
        Scope::Contents => "contents: write",
        Scope::PullRequests => "pull-requests: write",
    };
    match status {
        401 => "the token is missing, invalid or expired; pass a valid token (in a workflow: env GITHUB_TOKEN: ${{ github.token }})".into(),
        403 => format!("the token may not do this: give the job `permissions: {permission}` (the release needs contents: write and pull-requests: write); with a personal token, give it those repository permissions"),
        404 => format!("check the repository name and branch; GitHub also answers 404 when the token cannot see the repository or lacks `{permission}` (give the job `permissions: contents: write, pull-requests: write`)"),
        422 => "GitHub rejected the request's content; check the names in the config's pull-request section (labels, assignees, reviewers, branches)".into(),
        s if s >= 500 => "GitHub kept failing; check https://www.githubstatus.com and re-run (the run resumes: the branch and pull request are updated in place)".into(),
        _ => "re-run; if it keeps failing, report the message above".into(),
    }
}

/// GitHub's refusal of one attempt: the status, the body it sent (JSON, or `null`) and its
/// message (GitHub's `message`, else the body's text, else the status's reason).
pub(super) struct Refusal {
    /// The HTTP status.
    pub(super) status: u16,
    /// The body, when it is JSON.
    body: Value,
    /// What GitHub said.
    pub(super) message: String,
}

impl Refusal {
    /// Reads a refusal from its status and body.
    pub(super) fn read(status: http::StatusCode, bytes: &[u8]) -> Self {
        let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                let text = String::from_utf8_lossy(bytes).trim().to_owned();
                if text.is_empty() {
                    status.canonical_reason().unwrap_or("error").to_owned()
                } else {
                    text.chars().take(500).collect()
                }
            });
        Self {
            status: status.as_u16(),
            body,
            message,
        }
    }

    /// The error of `action` that GitHub refused, with the next step for a call that needs
    /// `scope`.
    pub(super) fn into_error(self, action: &str, scope: Scope) -> GitHubError {
        let help = help_for(self.status, &self.message, scope);
        GitHubError {
            action: action.into(),
            status: Some(self.status),
            help,
            errors: self
                .body
                .get("errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            documentation_url: self
                .body
                .get("documentation_url")
                .and_then(Value::as_str)
                .map(str::to_owned),
            message: self.message,
        }
    }
}
