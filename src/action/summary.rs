//! The step summary (`GITHUB_STEP_SUMMARY`): how the run ended, the AWS account, a region
//! table per architecture with its verification and timeline, the test stack, the ingestion
//! checklist, the pull request and the change set; for a dry run, the plan. Pure Markdown; the
//! action appends it to the file GitHub names.

use std::path::Path;

use crate::aws::catalog::ChangeSetState;
use crate::domain::facts::Facts;
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::plan::{timeline, ReleasePlan};
use crate::stages::publish::Published;

/// Appends Markdown to `GITHUB_STEP_SUMMARY` (`path`; nothing when it is not set).
pub fn write_summary(markdown: &str, path: Option<&Path>) -> anyhow::Result<()> {
    match path {
        Some(path) => super::outputs::append("GITHUB_STEP_SUMMARY", path, markdown),
        None => Ok(()),
    }
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
    /// What the release found: the seller account, the listing's warnings, the ingestion
    /// checklist, the test stack's report.
    pub found: &'a Facts,
}

/// The step summary of a dry run: a table of what the release would make (AMI names, base
/// image, regions, sharing, branch), the warnings, each template's diff (collapsed), the PR
/// body it would open, and the checks and steps of a release (`schedule`, collapsed).
pub fn dry_run_markdown(
    product: &str,
    version: &Version,
    plan: &ReleasePlan,
    schedule: &str,
) -> String {
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
    md.push_str(&format!(
        "\n<details><summary>The checks and steps of a release</summary>\n\n```text\n{}```\n\n</details>\n",
        schedule
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
    if let Some(seller) = &facts.found.seller {
        md.push_str(&format!("AWS: {}.\n\n", cell(seller)));
    }
    for note in &facts.found.listing {
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
    if let Some(stack) = &facts.found.stack {
        md.push_str(&format!("### Test stack\n\n{}\n", stack.markdown()));
    }
    if !facts.found.ingestion.is_empty() {
        md.push_str(&format!(
            "### AWS Marketplace ingestion preflight\n\n{}\n",
            facts.found.ingestion
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
    use crate::domain::state::ImageState;
    use serde_json::json;

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
            found: &Facts {
                ingestion: "- [x] ENA support: ami-1 has EnaSupport\n".into(),
                seller: Some("account 123456789012; not checked against the seller account (set product.seller-account to check it)".into()),
                listing: vec!["prod-x is not offered in `sa-east-1`".to_owned()],
                stack: None,
            },
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
            found: &Facts::default(),
        });
        assert!(
            md.contains("> [!WARNING]\n> `cfn/t.yaml`: NEW mapping key `ARM64` added"),
            "{md}"
        );
    }
}
