//! What a release would do, computed from the config, the version, the AMIs (real or
//! placeholders) and the template texts. Pure: the caller reads the files, nothing here touches
//! AWS, GitHub or the file system.

pub mod advice;
pub mod diff;
pub mod loadform;
pub mod manifests;
pub mod render;
pub mod submission;
pub mod target;
pub mod timeline;
pub mod userdata;

use indexmap::IndexMap;
use serde::Serialize;

use crate::config::{Architecture, Config, TemplateTarget};
use crate::diagnostic::{Diagnostic, Kind};
use crate::domain::ami::{AmiId, AmiSet, Region, RegionAmis};
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::template::{Change, TemplateError};
use loadform::{Field, SourceAmi};
use render::{code_span, RenderError};

/// Marketplace limits the version title to 64 characters.
pub const MAX_VERSION_TITLE: usize = 64;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A template could not be edited.
    #[error("{}", .error.render(.path))]
    Template {
        /// The template's path.
        path: String,
        /// What went wrong.
        error: TemplateError,
    },
    /// A name, title or body template could not be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A config value does not fit the templates (a key no region has).
    #[error("{message}\n  help: {help}")]
    Config {
        /// The config key at fault, dotted (`templates.0.keys.x86_64`), to locate it.
        key: String,
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },
    /// A rendered value is not acceptable.
    #[error("{message}\n  help: {help}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },
}

impl From<PlanError> for Diagnostic {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Template { path, error } => crate::template::template_error(&path, error),
            PlanError::Invalid { message, help } => Diagnostic::new(Kind::Run, message, help),
            PlanError::Config { message, help, .. } => Diagnostic::new(Kind::Config, message, help),
            other => Diagnostic::from_error(&anyhow::Error::new(other)),
        }
    }
}

/// A plan error, placed in the config file at `config_path` (whose text is `config_text`)
/// when it is about a config key: a key no template has, or a `build.ami-name`-like template
/// that does not render.
pub fn plan_error(e: PlanError, config_path: &str, config_text: &str) -> Diagnostic {
    let key = match &e {
        PlanError::Config { key, .. } => Some(key.clone()),
        PlanError::Render(r) if !r.what.contains(' ') => Some(r.what.clone()),
        _ => None,
    };
    let diagnostic = Diagnostic::from(e);
    match key {
        Some(key) => Diagnostic {
            kind: Kind::Config,
            ..diagnostic
        }
        .in_file(config_path, crate::config::locate_key(config_text, &key)),
        None => diagnostic,
    }
}

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

impl ReleasePlan {
    /// The plan as `plan` prints it: the AMIs, regions, branch, each template's diff and the PR.
    pub fn report(&self, config: &Config) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Release plan: {} {}\n\n",
            config.product.name, self.version
        ));
        for warning in &self.warnings {
            out.push_str(&format!("WARNING: {warning}\n"));
        }
        if !self.warnings.is_empty() {
            out.push('\n');
        }
        for (arch, name) in &self.ami_names {
            out.push_str(&format!(
                "AMI ({arch}): {name}, {} in {} from {}\n",
                if config.build.image.is_some() {
                    "copied"
                } else {
                    "built"
                },
                config.build.region,
                describe_base(config)
            ));
            if let Some(description) = self.ami_descriptions.get(arch) {
                out.push_str(&format!("AMI description ({arch}): {description}\n"));
            }
        }
        if let Some(script) = &self.build_script {
            out.push_str(&format!("Build script: {script}\n"));
        }
        let region_names: Vec<&str> = self.regions.iter().map(|r| r.as_str()).collect();
        if config.regions == crate::config::Regions::AllEnabled {
            out.push_str("Regions: all enabled in the account, resolved when copying (this plan shows us-east-1)\n");
        } else {
            out.push_str(&format!(
                "Regions ({}): {}\n",
                region_names.len(),
                region_names.join(", ")
            ));
        }
        if self.placeholder_amis {
            out.push_str("AMI IDs: placeholders (ami-000000000000001xx); pass --amis AMIS.json to plan with real ones\n");
        }
        out.push_str(&match &config.product.seller_account {
            Some(account) => format!(
                "AWS account: {account} (product.seller-account); a run with credentials of another account is refused\n"
            ),
            None => "AWS account: whichever the credentials belong to, not checked (set product.seller-account to have it checked; the run's summary names it)\n".to_owned(),
        });
        out.push_str(&format!(
            "Branch: {} → {}\n",
            self.branch,
            config
                .pull_request
                .base
                .as_deref()
                .unwrap_or("the repository's default branch")
        ));
        for t in &self.templates {
            out.push_str(&format!(
                "\nTemplate {}{}: {}\n",
                t.path,
                t.mapping
                    .as_ref()
                    .map(|m| format!(" (mapping {m})"))
                    .unwrap_or_default(),
                t.summary
            ));
            for note in &t.notes {
                out.push_str(&format!("  WARNING: {note}\n"));
            }
            out.push_str(&t.diff);
        }
        out.push_str(&format!(
            "\nPull request: {}\n\n{}",
            self.pr_title, self.pr_body
        ));
        out
    }
}

/// Who may launch the copies, as the config says.
fn describe_sharing(config: &Config) -> String {
    let sharing = &config.sharing;
    let mut parts = Vec::new();
    if sharing.public {
        parts.push("**public**: anyone can launch them".to_owned());
    }
    if !sharing.accounts.is_empty() {
        parts.push(format!("{} account(s)", sharing.accounts.len()));
    }
    if !sharing.organizations.is_empty() {
        parts.push(format!("{} organization(s)", sharing.organizations.len()));
    }
    if !sharing.organizational_units.is_empty() {
        parts.push(format!(
            "{} organizational unit(s)",
            sharing.organizational_units.len()
        ));
    }
    if parts.is_empty() {
        "private: this account only".into()
    } else {
        parts.join("; ")
    }
}

/// The base image, as the config names it.
fn describe_base(config: &Config) -> String {
    use crate::config::{BaseAmi, Source};
    match config.build.source() {
        Some(Source::Script { base_ami, .. }) => match base_ami {
            BaseAmi::Id { id } => id.to_string(),
            BaseAmi::Ssm { ssm } => format!("SSM parameter {ssm}"),
            BaseAmi::Filter { owner, name } => format!("the newest `{name}` owned by {owner}"),
        },
        Some(Source::Image(id)) => {
            format!(
                "the existing AMI {id} (not built by marketplace-release: hardening not verified)"
            )
        }
        None => "(none configured)".into(),
    }
}

/// GitHub rejects pull request bodies longer than this many characters.
pub const MAX_PR_BODY: usize = 65_536;

/// One row of the region → AMI table.
#[derive(Debug, Clone, Serialize)]
struct RegionRow {
    region: String,
    amis: IndexMap<String, String>,
}

/// What the PR body template sees (documented in the README).
#[derive(Serialize)]
struct BodyContext<'a> {
    marker: String,
    product: &'a crate::config::Product,
    version: &'a str,
    version_title: &'a str,
    release_notes: &'a str,
    load_form: &'a crate::config::LoadForm,
    load_form_fields: Vec<Field>,
    us_east_1: Vec<SourceAmi>,
    regions: Vec<RegionRow>,
    architectures: Vec<&'a str>,
    templates: &'a [TemplatePlan],
    placeholder_amis: bool,
    run_url: Option<&'a str>,
    /// What was left out to stay within [`MAX_PR_BODY`]; the template says so.
    omitted: Vec<String>,
    /// Whether the `submit` stage adds the AMI version through the Catalog API.
    submit_automated: bool,
    /// The AMIs not built here (`build.image`): copies of an AMI the vendor had.
    imported: Vec<Imported>,
    /// The release timeline chart (Markdown), empty when the manifests record none.
    timeline: String,
    /// The ingestion preflight's checklist (Markdown), empty when it did not run.
    ingestion: &'a str,
    /// What the live listing says against this release (regions, instance type), one
    /// sentence each; empty when it was not checked.
    listing: &'a [String],
    /// The verify stage's test stack as Markdown, empty when it did not run.
    stack: String,
    /// Whether the test stack ran and passed: the checklist ticks it.
    stack_passed: bool,
    /// The verifications the manifests record (the verify stage), in manifest order.
    verification: Vec<VerificationView>,
    /// Whether every verification passed (and there was one): the checklist ticks it.
    verified: bool,
    /// Whether a verification failed: the failure leads the body (a draft pull request).
    verification_failed: bool,
}

/// One verification as the PR body template sees it.
#[derive(Debug, Clone, Serialize)]
struct VerificationView {
    architecture: String,
    region: String,
    image_id: String,
    passed: bool,
    /// Why it failed, in one line; empty when it passed.
    failure: String,
    checks: Vec<crate::domain::verification::Check>,
    /// The last console lines when it failed (no Markdown fence can close early); empty
    /// otherwise.
    console_tail: String,
}

/// The verifications the manifests record.
fn verification_views(manifests: &[(String, Manifest)]) -> Vec<VerificationView> {
    manifests
        .iter()
        .flat_map(|(_, m)| {
            m.verification.iter().map(|v| VerificationView {
                architecture: m.architecture.clone(),
                region: v.region.clone(),
                image_id: v.image_id.clone(),
                passed: v.passed(),
                failure: v.failure().unwrap_or_default(),
                checks: v.checks.clone(),
                console_tail: v
                    .console_tail
                    .as_deref()
                    .filter(|_| !v.passed())
                    .unwrap_or_default()
                    .replace("```", "'''"),
            })
        })
        .collect()
}

/// An architecture's AMI that marketplace-release did not build.
#[derive(Debug, Clone, Serialize)]
struct Imported {
    architecture: String,
    /// The existing AMI it is a copy of.
    image: String,
}

/// The AMIs not built here: as the manifests record them, else (a plan) as the config says.
fn imported(config: &Config, manifests: &[(String, Manifest)]) -> Vec<Imported> {
    if !manifests.is_empty() {
        return manifests
            .iter()
            .filter_map(|(_, m)| {
                Some(Imported {
                    architecture: m.architecture.clone(),
                    image: m.imported_from.clone()?,
                })
            })
            .collect();
    }
    let Some(image) = &config.build.image else {
        return Vec::new();
    };
    config
        .build
        .architectures
        .iter()
        .map(|a| Imported {
            architecture: a.as_str().to_owned(),
            image: image.to_string(),
        })
        .collect()
}

/// Longest text field kept whole when the body is too long.
const TRIMMED_FIELD: usize = 4_000;

/// Renders the body, dropping optional parts until it fits GitHub's limit: first the timeline
/// chart, then the region table (us-east-1, which the load form needs, stays), then the ends
/// of long text fields, and as a last resort the end of the body. The body names what it left
/// out.
fn render_body_within_limit(
    source: &str,
    mut body: BodyContext<'_>,
) -> Result<(String, Vec<Field>), PlanError> {
    let render = |body: &BodyContext<'_>| render::render("the PR body template", source, body);
    // Only the body is trimmed; the plan (and the CSV) keep every value whole.
    let full_fields = body.load_form_fields.clone();
    let mut text = render(&body)?;
    if text.chars().count() > MAX_PR_BODY && !body.timeline.is_empty() {
        body.timeline.clear();
        body.omitted
            .push("the release timeline chart (the run's step summary has it)".into());
        text = render(&body)?;
    }
    if text.chars().count() > MAX_PR_BODY && body.regions.len() > 1 {
        let dropped = body.regions.len() - 1;
        body.regions.retain(|r| r.region == "us-east-1");
        body.omitted.push(format!("the AMIs of {dropped} other regions (they are in the template diff and the release manifest)"));
        text = render(&body)?;
    }
    if text.chars().count() > MAX_PR_BODY {
        let mut cut = false;
        for field in &mut body.load_form_fields {
            if field.value.chars().count() > TRIMMED_FIELD {
                field.value = field.value.chars().take(TRIMMED_FIELD).collect::<String>() + "…";
                cut = true;
            }
        }
        if cut {
            body.omitted.push(format!("the end of load form values longer than {TRIMMED_FIELD} characters (see the config)"));
            text = render(&body)?;
        }
    }
    if text.chars().count() > MAX_PR_BODY {
        let note = "\n\n(The rest of this description was cut at GitHub's 65,536-character limit.)";
        text = text
            .chars()
            .take(MAX_PR_BODY - note.chars().count())
            .collect::<String>()
            + note;
    }
    Ok((text, full_fields))
}

/// Inputs of [`plan`] besides the config.
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
    /// The ingestion preflight's checklist (Markdown), empty when it did not run.
    pub ingestion: &'a str,
    /// The listing check's warnings, one sentence each.
    pub listing: &'a [String],
    /// The verify stage's test stack, when it ran.
    pub stack: Option<&'a crate::domain::stack::StackReport>,
}

/// Placeholder AMI IDs, recognisable and valid: `ami-000000000000000` + two digits.
pub fn placeholder_amis(config: &Config) -> IndexMap<Architecture, AmiSet> {
    config
        .build
        .architectures
        .iter()
        .enumerate()
        .map(|(a, &arch)| {
            let set = AmiSet::from_pairs(planned_regions(config).iter().enumerate().map(
                |(r, region)| {
                    let id = format!("ami-{:017x}", (a + 1) * 0x100 + r + 1);
                    (
                        region.clone(),
                        RegionAmis::Single(
                            AmiId::new(&id, region.as_str()).expect("placeholder is valid"),
                        ),
                    )
                },
            ));
            (arch, set)
        })
        .collect()
}

/// The regions a plan shows: the listed ones, or for `regions: all` only us-east-1 (the rest
/// is known when copying).
pub fn planned_regions(config: &Config) -> Vec<Region> {
    match config.regions.listed() {
        [] => vec![Region::new("us-east-1").expect("valid region")],
        listed => listed.to_vec(),
    }
}

/// The AMI set one template receives: per-architecture AMIs merged under the template's keys.
pub fn amis_for_template(
    target: &TemplateTarget,
    by_arch: &IndexMap<Architecture, AmiSet>,
) -> AmiSet {
    let single = |amis: &RegionAmis| match amis {
        RegionAmis::Single(id) => Some(id.clone()),
        RegionAmis::Keyed(_) => None,
    };
    if target.keys.is_empty() {
        // One architecture, the template's single key (or keyed AMIS.json passed through).
        return by_arch.values().next().cloned().unwrap_or_default();
    }
    let mut regions: IndexMap<Region, IndexMap<String, AmiId>> = IndexMap::new();
    for (arch, set) in by_arch {
        let Some(key) = target.keys.get(arch) else {
            continue;
        };
        for (region, amis) in set.iter() {
            if let Some(id) = single(amis) {
                regions
                    .entry(region.clone())
                    .or_default()
                    .insert(key.clone(), id);
            }
        }
    }
    AmiSet::from_pairs(
        regions
            .into_iter()
            .map(|(r, keyed)| (r, RegionAmis::Keyed(keyed))),
    )
}

fn summarize(changes: &[Change]) -> String {
    let mut updated = 0;
    let mut added_keys = 0;
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut params = Vec::new();
    for change in changes {
        match change {
            Change::AmiUpdated { .. } => updated += 1,
            Change::AmiAdded { .. } => added_keys += 1,
            Change::RegionAdded { region } => added.push(region.as_str()),
            Change::RegionRemoved { region } => removed.push(region.as_str()),
            Change::ParameterDefault {
                parameter,
                old,
                new,
            } => params.push(format!(
                "{} {} → {}",
                code_span(parameter),
                code_span(old),
                code_span(new)
            )),
            Change::AllowedValueAdded { parameter, value } => params.push(format!(
                "{} added to {} AllowedValues",
                code_span(value),
                code_span(parameter)
            )),
        }
    }
    let mut parts = Vec::new();
    if updated > 0 {
        parts.push(format!(
            "{updated} AMI{} updated",
            if updated == 1 { "" } else { "s" }
        ));
    }
    if added_keys > 0 {
        parts.push(format!(
            "{added_keys} AMI key{} added",
            if added_keys == 1 { "" } else { "s" }
        ));
    }
    if !added.is_empty() {
        parts.push(format!(
            "{} region{} added ({})",
            added.len(),
            if added.len() == 1 { "" } else { "s" },
            added.join(", ")
        ));
    }
    if !removed.is_empty() {
        parts.push(format!(
            "{} region{} removed ({})",
            removed.len(),
            if removed.len() == 1 { "" } else { "s" },
            removed.join(", ")
        ));
    }
    parts.extend(params);
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join("; ")
    }
}

/// Validates a branch name against git's rules for ref names (`git check-ref-format`).
pub fn check_branch_name(name: &str) -> Result<(), String> {
    let bad_char = name
        .chars()
        .find(|&c| c.is_ascii_control() || " ~^:?*[\\".contains(c));
    let problem = if name.is_empty() {
        Some("it is empty".to_owned())
    } else if let Some(c) = bad_char {
        Some(format!("it contains {c:?}"))
    } else if name.contains("..") || name.contains("//") || name.contains("@{") || name == "@" {
        Some("it contains `..`, `//` or `@{`".into())
    } else if name.starts_with('/')
        || name.ends_with('/')
        || name.ends_with('.')
        || name.ends_with(".lock")
    {
        Some("it starts or ends with `/`, or ends with `.` or `.lock`".into())
    } else if name
        .split('/')
        .any(|part| part.starts_with('.') || part.starts_with('-'))
    {
        Some("a part starts with `.` or `-`".into())
    } else {
        None
    };
    problem.map_or(Ok(()), |why| {
        Err(format!(
            "branch name `{name}` is not a valid git ref: {why}"
        ))
    })
}

/// The variables every string template of the config sees (`build.ami-name`,
/// `build.ami-description`, `pull-request.branch` and `.title`, the load form's version title
/// and release notes): one set, so that a value renders the same wherever it is rendered.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// `{{ version }}`.
    pub version: &'a Version,
    /// `{{ product }}`: product.name.
    pub product: &'a str,
    /// `{{ date }}`: the run's date, `YYYY-MM-DD` (UTC).
    pub date: &'a str,
    /// `{{ architecture }}`, in the per-architecture names (AMI name and description).
    pub architecture: Option<Architecture>,
}

impl<'a> Vars<'a> {
    /// The variables of a release of `config`.
    pub fn new(config: &'a Config, version: &'a Version, date: &'a str) -> Self {
        Self {
            version,
            product: config.product.name.as_str(),
            date,
            architecture: None,
        }
    }

    /// The same, for one architecture.
    pub fn for_architecture(self, architecture: Architecture) -> Self {
        Self {
            architecture: Some(architecture),
            ..self
        }
    }

    /// The template context.
    pub fn context(&self) -> minijinja::Value {
        match self.architecture {
            Some(arch) => {
                minijinja::context!(version => self.version.as_str(), product => self.product, date => self.date, architecture => arch.as_str())
            }
            None => {
                minijinja::context!(version => self.version.as_str(), product => self.product, date => self.date)
            }
        }
    }
}

/// The release branch, rendered from `pull-request.branch` and checked against git's rules.
pub fn release_branch(config: &Config, vars: Vars<'_>) -> Result<String, PlanError> {
    let branch = render::render(
        "pull-request.branch",
        &config.pull_request.branch,
        vars.context(),
    )?;
    check_branch_name(&branch).map_err(|message| PlanError::Invalid {
        message: format!("pull-request.branch: {message}"),
        help: "change the branch pattern in the config (or the `branch` input)".into(),
    })?;
    Ok(branch)
}

/// The AMI description, rendered from `build.ami-description` (default
/// `{{ product }} {{ version }} ({{ architecture }})`).
pub fn ami_description(config: &Config, vars: Vars<'_>) -> Result<String, PlanError> {
    let template = config
        .build
        .ami_description
        .as_deref()
        .unwrap_or("{{ product }} {{ version }} ({{ architecture }})");
    Ok(render::render(
        "build.ami-description",
        template,
        vars.context(),
    )?)
}

/// One template as the release would regenerate it.
fn plan_template(
    index: usize,
    target: &TemplateTarget,
    bytes: &[u8],
    amis: &IndexMap<Architecture, AmiSet>,
    version: &Version,
    release_regions: Option<&[Region]>,
) -> Result<TemplatePlan, PlanError> {
    let path = target.path.display().to_string();
    let (edited, checks) = target::edit_target(
        index,
        target,
        bytes,
        amis_for_template(target, amis),
        version,
        release_regions,
    )?;
    let old = std::str::from_utf8(bytes).expect("edit_target checked UTF-8");
    Ok(TemplatePlan {
        diff: diff::unified_diff(&path, old, &edited.text),
        summary: summarize(&edited.changes) + &edited.other_partitions_note(),
        notes: checks.sentences(),
        checks,
        path,
        mapping: edited.mapping,
        changes: edited.changes,
        new_text: edited.text,
    })
}

/// One AMI ID for a table cell: keyed AMIs joined with ` / `.
fn single_id(amis: &RegionAmis) -> String {
    match amis {
        RegionAmis::Single(id) => id.to_string(),
        RegionAmis::Keyed(keyed) => keyed
            .values()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" / "),
    }
}

/// The region table: one row per region, one column per architecture, in first-seen order.
fn region_rows(amis: &IndexMap<Architecture, AmiSet>) -> Vec<RegionRow> {
    let mut regions: Vec<RegionRow> = Vec::new();
    for (arch, set) in amis {
        for (region, ids) in set.iter() {
            let row = match regions.iter_mut().find(|r| r.region == region.as_str()) {
                Some(row) => row,
                None => {
                    regions.push(RegionRow {
                        region: region.to_string(),
                        amis: IndexMap::new(),
                    });
                    regions.last_mut().expect("just pushed")
                }
            };
            row.amis.insert(arch.as_str().to_owned(), single_id(ids));
        }
    }
    regions
}

/// Computes the plan.
#[allow(
    clippy::too_many_lines,
    reason = "assembles the one ReleasePlan from its parts, each computed by its own function"
)]
pub fn plan(config: &Config, inputs: &PlanInputs<'_>) -> Result<ReleasePlan, PlanError> {
    let version = inputs.version;
    let placeholders;
    let amis = match inputs.amis {
        Some(amis) => amis,
        None => {
            placeholders = placeholder_amis(config);
            &placeholders
        }
    };
    let vars = Vars::new(config, version, inputs.date);
    let mut ami_names = IndexMap::new();
    let mut ami_descriptions = IndexMap::new();
    for &arch in &config.build.architectures {
        ami_names.insert(
            arch.as_str().to_owned(),
            ami_name(config, version, arch, inputs.date)?,
        );
        ami_descriptions.insert(
            arch.as_str().to_owned(),
            ami_description(config, vars.for_architecture(arch))?,
        );
    }

    let release_regions = match config.regions.listed() {
        [] => None,
        listed => Some(listed),
    };
    let templates = config
        .templates
        .iter()
        .zip(inputs.template_texts)
        .enumerate()
        .map(|(i, (target, bytes))| plan_template(i, target, bytes, amis, version, release_regions))
        .collect::<Result<Vec<_>, _>>()?;

    let branch = release_branch(config, vars)?;
    let pr_title = render::render(
        "pull-request.title",
        &config.pull_request.title,
        vars.context(),
    )?;
    let (version_title, release_notes) = version_texts(config, version, inputs.date)?;

    let architectures: Vec<&str> = config
        .build
        .architectures
        .iter()
        .map(|a| a.as_str())
        .collect();
    let regions = region_rows(amis);
    let us_east_1: Vec<SourceAmi> = amis
        .iter()
        .filter_map(|(arch, set)| {
            set.get("us-east-1").map(|ids| SourceAmi {
                architecture: arch.as_str().into(),
                ami: single_id(ids),
            })
        })
        .collect();
    let load_form_fields = loadform::fields(
        &config.load_form,
        &version_title,
        &release_notes,
        &us_east_1,
    );
    let verification = verification_views(inputs.manifests);
    let body = BodyContext {
        marker: format!(
            "<!-- marketplace-release: product={} version={} -->",
            comment_text(&config.product.name),
            version
        ),
        product: &config.product,
        version: version.as_str(),
        version_title: &version_title,
        release_notes: &release_notes,
        load_form: &config.load_form,
        load_form_fields,
        us_east_1,
        regions,
        architectures,
        templates: &templates,
        placeholder_amis: inputs.amis.is_none(),
        run_url: inputs.run_url,
        omitted: Vec::new(),
        submit_automated: config.submit.is_some(),
        imported: imported(config, inputs.manifests),
        timeline: timeline::markdown_all(
            inputs.manifests.iter().map(|(_, m)| m),
            timeline::Phases::BeforePublish,
        ),
        ingestion: inputs.ingestion,
        listing: inputs.listing,
        stack: inputs.stack.map(|s| s.markdown()).unwrap_or_default(),
        stack_passed: inputs.stack.is_some_and(|s| s.passed()),
        verified: !verification.is_empty() && verification.iter().all(|v| v.passed),
        verification_failed: verification.iter().any(|v| !v.passed),
        verification,
    };
    let (pr_body, load_form) = render_body_within_limit(inputs.body_template, body)?;

    Ok(ReleasePlan {
        warnings: advice::load_form(config),
        build_script: None,
        base_image: describe_base(config),
        sharing: describe_sharing(config),
        load_form,
        version: version.clone(),
        ami_names,
        ami_descriptions,
        regions: planned_regions(config),
        placeholder_amis: inputs.amis.is_none(),
        templates,
        branch,
        pr_title,
        pr_body,
    })
}

/// `text` for inside an HTML comment: without `<`, `>` and `!` nothing in it can close the
/// comment (`-->`, `--!>`) or open another, and without `--` it stays valid HTML.
fn comment_text(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '!'))
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out
}

/// The version title and release notes, rendered from the load form templates; the title is
/// checked against Marketplace's 64-character limit.
pub fn version_texts(
    config: &Config,
    version: &Version,
    date: &str,
) -> Result<(String, String), PlanError> {
    let names = Vars::new(config, version, date).context();
    let version_title = render::render(
        "load-form.version-title",
        &config.load_form.version_title,
        names.clone(),
    )?;
    let length = version_title.chars().count();
    if length == 0 || length > MAX_VERSION_TITLE {
        return Err(PlanError::Invalid {
            message: format!("load-form.version-title renders to {length} characters, but Marketplace allows 1 to {MAX_VERSION_TITLE}: `{version_title}`"),
            help: "shorten load-form.version-title".into(),
        });
    }
    let release_notes = render::render(
        "load-form.release-notes",
        &config.load_form.release_notes,
        names,
    )?;
    if release_notes.trim().is_empty() {
        return Err(PlanError::Invalid {
            message: "load-form.release-notes renders to nothing".into(),
            help: "write the release notes buyers see for this version".into(),
        });
    }
    Ok((version_title, release_notes))
}

/// The AMI name for `architecture`, rendered from `build.ami-name` and checked against EC2's
/// rules.
pub fn ami_name(
    config: &Config,
    version: &Version,
    architecture: Architecture,
    date: &str,
) -> Result<String, PlanError> {
    let context = Vars::new(config, version, date)
        .for_architecture(architecture)
        .context();
    let name = render::render("build.ami-name", &config.build.ami_name, context)?;
    check_ami_name(&name)?;
    Ok(name)
}

/// EC2 AMI names: 3–128 characters of letters, digits and `()[] ./-'@_`.
fn check_ami_name(name: &str) -> Result<(), PlanError> {
    let ok = (3..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(c));
    if ok {
        Ok(())
    } else {
        Err(PlanError::Invalid {
            message: format!(
                "build.ami-name renders to `{name}`, which EC2 does not accept as an AMI name"
            ),
            help: "use 3 to 128 letters, digits, spaces and ( ) [ ] . / - ' @ _".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_follow_git_rules() {
        assert!(check_branch_name("marketplace-release/5.26.0").is_ok());
        for bad in [
            "",
            "a..b",
            "a b",
            "a/",
            "/a",
            "a.lock",
            "a~1",
            "a:b",
            "x/.hidden",
            "a//b",
            "a@{b",
        ] {
            assert!(check_branch_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn placeholders_are_valid_and_distinct() {
        let config = crate::config::Config::parse(
            crate::config::tests_support::MINIMAL,
            std::path::Path::new("c.yml"),
        )
        .unwrap();
        let sets = placeholder_amis(&config);
        let ids: Vec<String> = sets[0]
            .iter()
            .map(|(_, a)| match a {
                RegionAmis::Single(id) => id.to_string(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(ids, ["ami-00000000000000101", "ami-00000000000000102"]);
    }

    #[test]
    fn summary_counts_changes() {
        let changes = vec![
            Change::AmiUpdated {
                region: "us-east-1".into(),
                key: "K".into(),
                old: "a".into(),
                new: "b".into(),
            },
            Change::RegionAdded {
                region: "eu-west-3".into(),
            },
            Change::ParameterDefault {
                parameter: "V".into(),
                old: "1".into(),
                new: "2".into(),
            },
        ];
        assert_eq!(
            summarize(&changes),
            "1 AMI updated; 1 region added (eu-west-3); `V` `1` → `2`"
        );
        assert_eq!(summarize(&[]), "no change");
        // A default from the template cannot open an HTML comment that hides the body.
        let hidden = summarize(&[Change::ParameterDefault {
            parameter: "V".into(),
            old: "<!-- @team".into(),
            new: "2".into(),
        }]);
        assert_eq!(hidden, "`V` `<!-- @team` → `2`");
    }

    #[test]
    fn the_hidden_marker_cannot_be_closed_by_the_product_name() {
        for name in ["a --->b", "a--!>b", "<!-- x", "a - - > b"] {
            let text = comment_text(name);
            let marker = format!("<!-- marketplace-release: product={text} version=1 -->");
            assert_eq!(marker.matches("-->").count(), 1, "{marker}");
            assert!(
                !marker.contains("--!>") && marker.matches("<!--").count() == 1,
                "{marker}"
            );
            assert!(!text.contains("--"), "{text}");
        }
        assert_eq!(comment_text("Neo4j Enterprise 5-x"), "Neo4j Enterprise 5-x");
    }
}
