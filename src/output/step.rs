//! What the action hands on: step outputs (`GITHUB_OUTPUT`) and the step summary
//! (`GITHUB_STEP_SUMMARY`). Formatting is pure; the two writers append to the files GitHub
//! names.

use crate::domain::state::ImageState;
use std::io::Write;

use indexmap::IndexMap;
use serde_json::{json, Value};

use crate::aws::catalog::ChangeSetState;
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::plan::{timeline, ReleasePlan};
use crate::stages::publish::Published;

/// The name of every output, as action.yml declares them.
pub const OUTPUT_NAMES: [&str; 10] = [
    "ami-id",
    "amis",
    "manifest",
    "pull-request-number",
    "pull-request-url",
    "pull-request-operation",
    "branch",
    "change-set-id",
    "change-set-arn",
    "change-set-status",
];

/// The step outputs (documented in `action.yml`).
#[derive(Debug, Default, Clone)]
pub struct ActionOutputs {
    /// The us-east-1 AMI (of the first architecture).
    pub ami_id: String,
    /// Region → AMI as JSON; region → architecture → AMI when several were built.
    pub amis: String,
    /// The manifest paths this run wrote or read, one per line.
    pub manifest: String,
    /// The pull request number.
    pub pull_request_number: String,
    /// The pull request page.
    pub pull_request_url: String,
    /// `created`, `updated` or `none`.
    pub pull_request_operation: String,
    /// The release branch.
    pub branch: String,
    /// The Catalog API change set the submit stage started last.
    pub change_set_id: String,
    /// Its ARN.
    pub change_set_arn: String,
    /// Its status when the stage ended.
    pub change_set_status: String,
}

impl ActionOutputs {
    /// The outputs for what exists: the available AMIs of `manifests` and the publish outcome.
    pub fn new(
        manifests: &[(String, Manifest)],
        published: Option<&Published>,
        branch: &str,
    ) -> Self {
        let amis = available_amis(manifests);
        let ami_id = amis
            .get("us-east-1")
            .and_then(|by_arch| by_arch.values().next())
            .cloned()
            .unwrap_or_default();
        let single = manifests.len() == 1;
        let json: serde_json::Map<String, Value> = amis
            .iter()
            .map(|(region, by_arch)| {
                let value = if single {
                    json!(by_arch.values().next().cloned().unwrap_or_default())
                } else {
                    json!(by_arch)
                };
                (region.clone(), value)
            })
            .collect();
        Self {
            ami_id,
            amis: Value::Object(json).to_string(),
            manifest: manifests
                .iter()
                .map(|(path, _)| path.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            pull_request_number: published
                .and_then(|p| p.number)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            pull_request_url: published.and_then(|p| p.url.clone()).unwrap_or_default(),
            pull_request_operation: published
                .map_or("none", |p| p.operation.as_str())
                .to_owned(),
            branch: published.map_or(branch, |p| p.branch.as_str()).to_owned(),
            ..Self::default()
        }
    }

    /// Adds the change set the submit stage left.
    pub fn with_change_set(mut self, state: Option<&ChangeSetState>) -> Self {
        if let Some(state) = state {
            self.change_set_id = state.id.clone();
            self.change_set_arn = state.arn.clone();
            self.change_set_status = state.status.to_string();
        }
        self
    }

    fn pairs(&self) -> [(&'static str, &str); 10] {
        let values = [
            &self.ami_id,
            &self.amis,
            &self.manifest,
            &self.pull_request_number,
            &self.pull_request_url,
            &self.pull_request_operation,
            &self.branch,
            &self.change_set_id,
            &self.change_set_arn,
            &self.change_set_status,
        ];
        std::array::from_fn(|i| (OUTPUT_NAMES[i], values[i].as_str()))
    }
}

/// Region → architecture → available AMI, regions in first-seen order.
fn available_amis(manifests: &[(String, Manifest)]) -> IndexMap<String, IndexMap<String, String>> {
    let mut amis: IndexMap<String, IndexMap<String, String>> = IndexMap::new();
    for (_, manifest) in manifests {
        for (region, image) in &manifest.regions {
            if image.state == ImageState::Available {
                amis.entry(region.clone())
                    .or_default()
                    .insert(manifest.architecture.clone(), image.image_id.clone());
            }
        }
    }
    amis
}

/// The `GITHUB_OUTPUT` text: every output in the `name<<DELIMITER` form, which is safe for any
/// value, multi-line ones included.
pub fn output_file_text(outputs: &ActionOutputs, delimiter: &str) -> String {
    let mut text = String::new();
    for (name, value) in outputs.pairs() {
        assert!(!value.contains(delimiter), "the delimiter is random");
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    text
}

fn append(variable: &str, text: &str) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os(variable) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot open {variable} ({}): {e}",
                std::path::Path::new(&path).display()
            )
        })?;
    file.write_all(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {variable}: {e}"))
}

/// Appends the outputs to `GITHUB_OUTPUT`, or prints them when it is not set.
pub fn write_outputs(outputs: &ActionOutputs) -> anyhow::Result<()> {
    if std::env::var_os("GITHUB_OUTPUT").is_none() {
        for (name, value) in outputs.pairs() {
            println!("output {name}: {value}");
        }
        return Ok(());
    }
    let delimiter = format!("ghadelimiter_{:016x}", fastrand::u64(..));
    append("GITHUB_OUTPUT", &output_file_text(outputs, &delimiter))
}

/// Appends Markdown to `GITHUB_STEP_SUMMARY` (nothing when it is not set).
pub fn write_summary(markdown: &str) -> anyhow::Result<()> {
    append("GITHUB_STEP_SUMMARY", markdown)
}

fn duration(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    match whole {
        0..=59 => format!("{whole}s"),
        60..=3599 => format!("{}m {:02}s", whole / 60, whole % 60),
        _ => format!("{}h {:02}m", whole / 3600, (whole % 3600) / 60),
    }
}

/// One Markdown table cell, escaped as the PR body escapes it.
fn cell(text: &str) -> String {
    crate::plan::render::markdown_cell(text.to_owned())
}

/// What the summary reports.
pub struct SummaryFacts<'a> {
    /// `Neo4j Enterprise Edition 5.26.0`.
    pub title: String,
    /// The stages run.
    pub stages: String,
    /// The manifests of this run.
    pub manifests: &'a [(String, Manifest)],
    /// The publish outcome.
    pub published: Option<&'a Published>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// The change set the submit stage left.
    pub change_set: Option<&'a ChangeSetState>,
    /// The ingestion preflight's checklist (Markdown), empty when it did not run.
    pub ingestion: &'a str,
    /// The AWS account the release ran in, and whether it was checked against the seller
    /// account; `None` when no AWS stage ran.
    pub seller: Option<&'a str>,
    /// What the live listing says against this release, one sentence each.
    pub listing: &'a [String],
    /// The verify stage's test stack, when it ran.
    pub stack: Option<&'a crate::domain::stack::StackReport>,
}

/// The step summary of a dry run: a table of what the release would make (AMI names, base
/// image, regions, sharing, branch), the warnings, each template's diff (collapsed), and the PR
/// body it would open.
pub fn dry_run_markdown(product: &str, version: &Version, plan: &ReleasePlan) -> String {
    let mut md = format!(
        "## marketplace-release: {product} {version} (dry run)\n\nNo AMI was built and no pull request was opened. The release would make:\n\n| | |\n|---|---|\n"
    );
    for (arch, name) in &plan.ami_names {
        md.push_str(&format!("| AMI name ({arch}) | `{}` |\n", cell(name)));
    }
    md.push_str(&format!("| Base image | {} |\n", cell(&plan.base_image)));
    let regions: Vec<&str> = plan.regions.iter().map(|r| r.as_str()).collect();
    md.push_str(&format!(
        "| Regions ({}) | {} |\n| Sharing | {}{} |\n| Branch | `{}` |\n\n",
        regions.len(),
        regions.join(", "),
        plan.sharing,
        if plan.sharing.contains("public") {
            format!(", in {} region(s)", regions.len())
        } else {
            String::new()
        },
        plan.branch
    ));
    for warning in &plan.warnings {
        md.push_str(&format!(
            "> [!WARNING]\n> {}\n\n",
            cell(&warning.to_string())
        ));
    }
    for t in &plan.templates {
        md.push_str(&format!("- update `{}`: {}\n", t.path, t.summary));
        for note in &t.notes {
            md.push_str(&format!("  - **Warning:** {}\n", cell(note)));
        }
    }
    md.push('\n');
    for t in &plan.templates {
        if t.diff.is_empty() {
            continue;
        }
        let fence = if t.diff.contains("```") {
            "````"
        } else {
            "```"
        };
        md.push_str(&format!(
            "<details><summary>Diff of <code>{}</code></summary>\n\n{fence}diff\n{}\n{fence}\n\n</details>\n\n",
            t.path,
            t.diff.trim_end_matches('\n')
        ));
    }
    md.push_str(&format!(
        "Then commit to `{}` and open **{}**:\n\n<details><summary>Pull request body (placeholder AMI IDs)</summary>\n\n{}\n\n</details>\n",
        plan.branch, plan.pr_title, plan.pr_body
    ));
    md
}

/// A manifest's verifications: each check with its result and time, and the last console
/// lines of one that failed; empty when none ran.
pub fn verification_markdown(manifest: &Manifest) -> String {
    use crate::domain::verification::CheckOutcome;
    let mut md = String::new();
    for v in &manifest.verification {
        md.push_str(&format!(
            "#### Verification in {}: {}

`{}`{}{}

",
            v.region,
            if v.passed() { "passed" } else { "failed" },
            v.image_id,
            v.instance_id
                .as_deref()
                .map(|i| format!(" on test instance `{i}`"))
                .unwrap_or_default(),
            v.failure()
                .map(|f| format!(": {}", cell(&f)))
                .unwrap_or_default()
        ));
        if !v.checks.is_empty() {
            md.push_str("| Check | Result | Time | Detail |\n|---|---|---|---|\n");
            for c in &v.checks {
                let result = match c.outcome {
                    CheckOutcome::Passed => "✅ passed",
                    CheckOutcome::Failed => "❌ failed",
                    CheckOutcome::Skipped => "➖ skipped",
                };
                md.push_str(&format!(
                    "| {} | {result} | {} s | {} |\n",
                    cell(&c.name),
                    c.seconds,
                    cell(&c.detail)
                ));
            }
            md.push('\n');
        }
        if let Some(tail) = v.console_tail.as_deref().filter(|_| !v.passed()) {
            md.push_str(&format!(
                "<details><summary>Last console lines</summary>\n\n```text\n{}\n```\n\n</details>\n\n",
                tail.replace("```", "'''")
            ));
        }
    }
    md
}

/// The summary's title, how the run ended, the AWS account and the listing's warnings.
fn summary_head(facts: &SummaryFacts<'_>) -> String {
    let mut md = format!("## marketplace-release: {}\n\n", facts.title);
    match &facts.stopped {
        Some(why) => md.push_str(&format!("**Stopped:** {}\n\n", cell(why))),
        None => md.push_str(&format!("Stages: {} — done.\n\n", facts.stages)),
    }
    if let Some(seller) = facts.seller {
        md.push_str(&format!("AWS: {}.\n\n", cell(seller)));
    }
    for note in facts.listing {
        md.push_str(&format!(
            "> [!WARNING]\n> The live listing: {}\n\n",
            cell(note)
        ));
    }
    md
}

/// The step summary: outcome, a region table per architecture, and the pull request.
pub fn summary_markdown(facts: &SummaryFacts<'_>) -> String {
    let mut md = summary_head(facts);
    for (path, manifest) in facts.manifests {
        md.push_str(&format!(
            "### {} — `{}`\n\nManifest: `{path}`{}\n\n",
            manifest.architecture,
            manifest.name,
            if manifest.incomplete {
                " (incomplete)"
            } else {
                ""
            }
        ));
        if let Some(from) = &manifest.imported_from {
            md.push_str(&format!("> [!WARNING]\n> Not built by marketplace-release: a copy of `{from}` (hardening: not verified).\n\n"));
        }
        md.push_str("| Region | AMI | Status | Time |\n|---|---|---|---|\n");
        if manifest.regions.is_empty() {
            if let Some(source) = &manifest.source_image_id {
                md.push_str(&format!(
                    "| {} | `{source}` | built | |\n",
                    manifest.source_region
                ));
            }
        }
        for (region, image) in &manifest.regions {
            let status = match &image.error {
                Some(error) => format!("{}: {}", image.state, cell(error)),
                None => image.state.to_string(),
            };
            md.push_str(&format!(
                "| {region} | `{}` | {status} | {} |\n",
                image.image_id,
                image.seconds.map(duration).unwrap_or_default()
            ));
        }
        md.push('\n');
        md.push_str(&verification_markdown(manifest));
        if let Some(chart) = timeline::markdown(manifest, timeline::Phases::All) {
            md.push_str(&format!("#### Timeline\n\n{chart}\n"));
        }
    }
    if let Some(stack) = facts.stack {
        md.push_str(&format!("### Test stack\n\n{}\n", stack.markdown()));
    }
    if !facts.ingestion.is_empty() {
        md.push_str(&format!(
            "### AWS Marketplace ingestion preflight\n\n{}\n",
            facts.ingestion
        ));
    }
    if let Some(published) = facts.published {
        md.push_str("### Pull request\n\n");
        match (&published.url, published.number) {
            (Some(url), Some(number)) => md.push_str(&format!(
                "[#{number}]({url}) on `{}` → `{}`: {}.\n",
                published.branch, published.base, published.message
            )),
            _ => md.push_str(&format!("{}.\n", cell(&published.message))),
        }
        for note in &published.notes {
            md.push_str(&format!("\n> [!WARNING]\n> {}\n", cell(note)));
        }
    }
    if let Some(state) = facts.change_set {
        md.push_str(&format!(
            "\n### AWS Marketplace\n\nChange set [`{}`]({}) ({}): **{}**.\n",
            state.id,
            crate::stages::submit::portal_url(&state.id),
            state.intent,
            state.status
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::manifest::RegionImage;

    fn manifest(architecture: &str, regions: &[(&str, &str, &str)]) -> Manifest {
        let mut m: Manifest = serde_json::from_value(json!({
            "schema": 1, "product": "P", "version": "1.0.0", "architecture": architecture,
            "run_id": "r", "name": "p-1.0.0", "source_region": "us-east-1",
        }))
        .unwrap();
        for (region, id, state) in regions {
            let mut image = RegionImage::pending(id, true);
            image.state = ImageState::parse(state);
            image.seconds = Some(192.4);
            m.regions.insert(region.to_string(), image);
        }
        m
    }

    #[test]
    fn outputs_use_the_multiline_form_and_list_available_amis() {
        let manifests = vec![(
            "m.json".to_owned(),
            manifest(
                "x86_64",
                &[
                    ("us-east-1", "ami-1", "available"),
                    ("eu-west-1", "ami-2", "failed"),
                ],
            ),
        )];
        let outputs = ActionOutputs::new(&manifests, None, "release/1.0.0");
        assert_eq!(outputs.ami_id, "ami-1");
        assert_eq!(outputs.amis, r#"{"us-east-1":"ami-1"}"#);
        assert_eq!(outputs.pull_request_operation, "none");
        let text = output_file_text(&outputs, "EOF_x");
        assert!(
            text.starts_with("ami-id<<EOF_x\nami-1\nEOF_x\namis<<EOF_x\n"),
            "{text}"
        );
        assert!(
            text.contains("branch<<EOF_x\nrelease/1.0.0\nEOF_x\n"),
            "{text}"
        );
    }

    #[test]
    fn several_architectures_key_amis_by_architecture() {
        let manifests = vec![
            (
                "a.json".to_owned(),
                manifest("x86_64", &[("us-east-1", "ami-1", "available")]),
            ),
            (
                "b.json".to_owned(),
                manifest("arm64", &[("us-east-1", "ami-9", "available")]),
            ),
        ];
        let outputs = ActionOutputs::new(&manifests, None, "");
        assert_eq!(
            outputs.amis,
            r#"{"us-east-1":{"x86_64":"ami-1","arm64":"ami-9"}}"#
        );
        assert_eq!(outputs.manifest, "a.json\nb.json");
    }

    #[test]
    fn summary_has_a_region_table() {
        let manifests = vec![(
            "m.json".to_owned(),
            manifest("x86_64", &[("us-east-1", "ami-1", "available")]),
        )];
        let md = summary_markdown(&SummaryFacts {
            title: "P 1.0.0".into(),
            stages: "build, copy".into(),
            manifests: &manifests,
            published: None,
            stopped: None,
            change_set: None,
            ingestion: "- [x] ENA support: ami-1 has EnaSupport\n",
            seller: Some("account 123456789012; not checked against the seller account (set product.seller-account to check it)"),
            listing: &["prod-x is not offered in `sa-east-1`".to_owned()],
            stack: None,
        });
        assert!(
            md.contains("> [!WARNING]\n> The live listing: prod-x is not offered in `sa-east-1`"),
            "{md}"
        );
        assert!(
            md.contains("AWS: account 123456789012; not checked against the seller account"),
            "{md}"
        );
        assert!(
            md.contains("| us-east-1 | `ami-1` | available | 3m 12s |"),
            "{md}"
        );
        assert!(
            md.contains("### AWS Marketplace ingestion preflight\n\n- [x] ENA support"),
            "{md}"
        );
    }

    #[test]
    fn summary_says_the_templates_warnings_loudly() {
        let published = Published {
            operation: crate::stages::publish::Operation::Created,
            number: Some(7),
            url: Some("https://github.com/o/r/pull/7".into()),
            branch: "marketplace-release/1.0.0".into(),
            base: "main".into(),
            commit: None,
            message: "opened pull request #7".into(),
            notes: vec!["`cfn/t.yaml`: NEW mapping key `ARM64` added to every region written (add-keys: true)".into()],
        };
        let md = summary_markdown(&SummaryFacts {
            title: "P 1.0.0".into(),
            stages: "publish".into(),
            manifests: &[],
            published: Some(&published),
            stopped: None,
            change_set: None,
            ingestion: "",
            seller: None,
            listing: &[],
            stack: None,
        });
        assert!(
            md.contains("> [!WARNING]\n> `cfn/t.yaml`: NEW mapping key `ARM64` added"),
            "{md}"
        );
    }
}
