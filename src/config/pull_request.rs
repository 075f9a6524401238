//! The `pull-request` section: the release pull request and who sees it. Labels, users and
//! teams are checked here because GitHub would otherwise open the pull request without them.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

use super::types::{checked_string, Invalid, Template, WorkspacePath};

/// The release pull request.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct PullRequest {
    /// The PR base branch; the repository's default branch when absent.
    #[serde(default)]
    pub base: Option<String>,
    /// The release branch, a template; it must render to a valid git ref.
    #[serde(default = "default_branch")]
    pub branch: Template,
    /// The PR title, a template.
    #[serde(default = "default_title")]
    pub title: Template,
    /// Your own minijinja PR body template, relative to the repository root; the bundled
    /// `templates/pr-body.md.j2` when absent.
    #[serde(default)]
    pub body_template: Option<WorkspacePath>,
    /// Labels to add.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Users to assign.
    #[serde(default)]
    pub assignees: Vec<Login>,
    /// Users to ask for review.
    #[serde(default)]
    pub reviewers: Vec<Login>,
    /// Teams to ask for review.
    #[serde(default)]
    pub team_reviewers: Vec<TeamSlug>,
    /// Open the PR as a draft.
    #[serde(default)]
    pub draft: bool,
    /// Also commit the load form values as a CSV file (one row per field) at this path on the
    /// release branch.
    #[serde(default)]
    pub load_form_csv: Option<WorkspacePath>,
    /// Also commit the release manifests (`<architecture>.json`, one per architecture) to this
    /// directory on the release branch, so a workflow that runs on the merge
    /// (`examples/workflows/submit-after-merge.yml`) reads them from the merge commit.
    #[serde(default)]
    pub manifests_path: Option<WorkspacePath>,
}

impl Default for PullRequest {
    fn default() -> Self {
        Self {
            base: None,
            branch: default_branch(),
            title: default_title(),
            body_template: None,
            labels: Vec::new(),
            assignees: Vec::new(),
            reviewers: Vec::new(),
            team_reviewers: Vec::new(),
            draft: false,
            load_form_csv: None,
            manifests_path: None,
        }
    }
}

fn default_branch() -> Template {
    Template::new("marketplace-release/{{ version }}").expect("valid template")
}

fn default_title() -> Template {
    Template::new("Release {{ product }} {{ version }} on AWS Marketplace").expect("valid template")
}

/// A GitHub label name: 1 to 50 characters, not only spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Label(String);

impl Label {
    /// Checks `name`.
    pub fn new(name: &str) -> Result<Self, Invalid> {
        if name.trim().is_empty() || name.chars().count() > 50 {
            return Err(Invalid::new(
                format!("`{name}` is not a GitHub label name (1 to 50 characters)"),
                "give the label's name as it appears in the repository",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Label {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for Label {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(de)?).map_err(Invalid::into_de)
    }
}

impl JsonSchema for Label {
    fn schema_name() -> Cow<'static, str> {
        "Label".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "title": "label",
            "type": "string",
            "minLength": 1,
            "maxLength": 50,
            "pattern": "[^ ]",
        })
    }
}

checked_string! {
    /// A GitHub user name (login), or an app's `name[bot]`.
    Login {
        title: "GitHub user",
        pattern: r"^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}(?:\[bot\])?$",
        is_not: "a GitHub user name",
        help: "give the login without `@`, like octocat",
        example: "octocat",
    }
}

checked_string! {
    /// A GitHub team's slug, without the organization.
    TeamSlug {
        title: "team slug",
        pattern: r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        is_not: "a team slug",
        help: "give the team's slug without the organisation, like release-managers",
        example: "release-managers",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_names_are_checked() {
        Label::new("release").unwrap();
        Label::new("needs review").unwrap();
        for bad in ["", "  ", &"x".repeat(51)] {
            assert!(Label::new(bad).is_err(), "{bad:?}");
        }
        for good in ["octocat", "a-b", "dependabot[bot]"] {
            Login::new(good).unwrap();
        }
        for bad in ["@octocat", "-a", "a--b", "a_b"] {
            let e = Login::new(bad).unwrap_err();
            assert_eq!(e.message, format!("`{bad}` is not a GitHub user name"));
            assert_eq!(e.help, "give the login without `@`, like octocat");
        }
        TeamSlug::new("release-managers").unwrap();
        assert!(TeamSlug::new("org/team").is_err());
    }
}
