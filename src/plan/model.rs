//! What a plan takes and gives: the inputs besides the config, the release plan, and each
//! template as it would be regenerated.

use crate::domain::facts::Facts;
use indexmap::IndexMap;
use serde::Serialize;

use super::advice;
use super::loadform::Field;
use super::target;
use crate::config::Architecture;
use crate::domain::ami::{AmiSet, Region};
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::template::Change;

/// One template as it would be regenerated.
#[derive(Debug, Clone, Serialize)]
pub struct TemplatePlan {
    /// Path relative to the workspace.
    pub path: String,
    /// The mapping updated, if any.
    pub mapping: Option<String>,
    /// What changes.
    pub changes: Vec<Change>,
    /// One line saying what changes.
    pub summary: String,
    /// What the release does besides the changes, one sentence each with what to do: keys
    /// added, regions left on an earlier release's AMIs, the version not written.
    pub notes: Vec<String>,
    /// The same, as data.
    pub checks: target::TargetNotes,
    /// Unified diff, empty when nothing changes.
    #[serde(skip)]
    pub diff: String,
    /// The regenerated text.
    #[serde(skip)]
    pub new_text: String,
}

/// What a release would do.
#[derive(Debug, Clone, Serialize)]
pub struct ReleasePlan {
    /// The version.
    pub version: Version,
    /// AMI name per architecture.
    pub ami_names: IndexMap<String, String>,
    /// AMI description per architecture, rendered as the build renders it.
    pub ami_descriptions: IndexMap<String, String>,
    /// Target regions.
    pub regions: Vec<Region>,
    /// Whether the AMI IDs are placeholders (no AMIs were given).
    pub placeholder_amis: bool,
    /// The templates.
    pub templates: Vec<TemplatePlan>,
    /// Release branch.
    pub branch: String,
    /// PR title.
    pub pr_title: String,
    /// PR body.
    pub pr_body: String,
    /// The product load form fields (also in the PR body).
    pub load_form: Vec<Field>,
    /// Warnings about the config that do not stop the release (the load form's values; the
    /// orchestrator adds unknown instance types).
    pub warnings: Vec<advice::Warning>,
    /// The build script as the builder gets it (`build/install.sh: 2,345 bytes of user data,
    /// gzipped`), when the caller read and wrapped it.
    pub build_script: Option<String>,
    /// The base image, as the config names it.
    pub base_image: String,
    /// Who may launch the AMIs, in a few words (`public: anyone can launch them`).
    pub sharing: String,
}

/// Inputs of [`plan`](super::plan()) besides the config.
pub struct PlanInputs<'a> {
    /// The release version.
    pub version: &'a Version,
    /// AMIs by region: per architecture. `None` plans with placeholders.
    pub amis: Option<&'a IndexMap<Architecture, AmiSet>>,
    /// The text of each configured template, in config order.
    pub template_texts: &'a [Vec<u8>],
    /// The PR body template source.
    pub body_template: &'a str,
    /// Link to the workflow run, when known.
    pub run_url: Option<&'a str>,
    /// Today's date (`YYYY-MM-DD`) for AMI names.
    pub date: &'a str,
    /// The manifests the AMIs come from (with their paths), when the release made them; empty
    /// for a plan.
    pub manifests: &'a [(String, Manifest)],
    /// What the release found: the listing's warnings, the ingestion checklist, the test
    /// stack's report (empty for a plan).
    pub facts: &'a Facts,
}
