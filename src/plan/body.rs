//! The pull request's body: what its template sees (the AMIs by region, the load form, the
//! verification, the test stack, the timeline) and the rendering that keeps it within GitHub's
//! limit.

use indexmap::IndexMap;
use serde::Serialize;

use super::error::PlanError;
use super::loadform::{self, Field, SourceAmi};
use super::model::{PlanInputs, TemplatePlan};
use super::{render, timeline};
use crate::config::{Architecture, Config};
use crate::domain::ami::{AmiSet, RegionAmis};
use crate::domain::manifest::Manifest;

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
pub(super) struct BodyContext<'a> {
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
pub(super) fn render_within_limit(
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

/// What the PR body template sees for a release of `config`: the plan's values (`templates`,
/// the rendered version title and release notes), the AMIs, and what the run found.
pub(super) fn context<'a>(
    config: &'a Config,
    inputs: &PlanInputs<'a>,
    amis: &IndexMap<Architecture, AmiSet>,
    templates: &'a [TemplatePlan],
    version_title: &'a str,
    release_notes: &'a str,
) -> BodyContext<'a> {
    let version = inputs.version;
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
    let load_form_fields =
        loadform::fields(&config.load_form, version_title, release_notes, &us_east_1);
    let verification = verification_views(inputs.manifests);
    BodyContext {
        marker: format!(
            "<!-- marketplace-release: product={} version={} -->",
            comment_text(&config.product.name),
            version
        ),
        product: &config.product,
        version: version.as_str(),
        version_title,
        release_notes,
        load_form: &config.load_form,
        load_form_fields,
        us_east_1,
        regions,
        architectures,
        templates,
        placeholder_amis: inputs.amis.is_none(),
        run_url: inputs.run_url,
        omitted: Vec::new(),
        submit_automated: config.submit.is_some(),
        imported: imported(config, inputs.manifests),
        timeline: timeline::markdown_all(
            inputs.manifests.iter().map(|(_, m)| m),
            timeline::Phases::BeforePublish,
        ),
        ingestion: &inputs.facts.ingestion,
        listing: &inputs.facts.listing,
        stack: inputs
            .facts
            .stack
            .as_ref()
            .map(|s| s.markdown())
            .unwrap_or_default(),
        stack_passed: inputs.facts.stack.as_ref().is_some_and(|s| s.passed()),
        verified: !verification.is_empty() && verification.iter().all(|v| v.passed),
        verification_failed: verification.iter().any(|v| !v.passed),
        verification,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
