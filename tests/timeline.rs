//! The release timeline chart (issue 17, item 3): golden files of the step summary and the
//! pull request body for a 30-region release, rendered by the library from one manifest.

use std::path::Path;

use indexmap::IndexMap;
use marketplace_release::action::summary::{summary_markdown, SummaryFacts};
use marketplace_release::config::{Architecture, Config};
use marketplace_release::domain::facts::Facts;
use marketplace_release::domain::manifest::Manifest;
use marketplace_release::domain::timeline::{Span, Timestamp};
use marketplace_release::domain::version::Version;
use marketplace_release::plan::{self, render::DEFAULT_PR_BODY, PlanInputs};
use serde_json::json;

use crate::common;

/// Thirty regions, as a release to every commercial region of 2026 would list them.
const THIRTY: [&str; 30] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "ca-west-1",
    "sa-east-1",
    "mx-central-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "af-south-1",
    "ap-south-1",
    "ap-south-2",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
];

fn at(seconds: u64) -> Timestamp {
    let base = Timestamp::parse("2026-06-01T10:00:00Z").unwrap();
    let text = format!(
        "2026-06-01T{:02}:{:02}:{:02}Z",
        10 + seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    );
    let t = Timestamp::parse(&text).unwrap();
    assert!(base <= t);
    t
}

fn span(start: u64, end: u64) -> Span {
    Span {
        start: at(start),
        end: Some(at(end)),
    }
}

/// A finished 30-region release: the builder 11 minutes, the image 6, each copy between 4
/// and 41 minutes (far regions slower), one region failed.
fn manifest() -> Manifest {
    let mut regions = serde_json::Map::new();
    for (i, region) in THIRTY.iter().enumerate() {
        let failed = *region == "me-south-1";
        regions.insert(
            (*region).to_owned(),
            json!({
                "image_id": format!("ami-{:017x}", 0x700 + i),
                "state": if failed { "failed" } else { "available" },
                "created_by_this_run": true,
                "seconds": 240 + (i as u64 * 7919) % 2230,
                "error": if failed { Some("CopyImage in me-south-1 failed: InsufficientCapacity") } else { None },
            }),
        );
    }
    let mut manifest: Manifest = serde_json::from_value(json!({
        "schema_version": 2, "product": "Neo4j Enterprise Edition", "version": "5.26.0",
        "architecture": "x86_64", "run_id": "0123456789ab",
        "name": "neo4j-enterprise-5.26.0-x86_64-2026-06-01", "source_region": "us-east-1",
        "source_image_id": "ami-00000000000000700", "regions": regions, "incomplete": false,
    }))
    .unwrap();
    manifest.timeline.builder = Some(span(0, 660));
    manifest.timeline.image = Some(span(660, 1020));
    // The verify stage boots the image before any copy.
    manifest
        .timeline
        .verification
        .insert("us-east-1".into(), span(1020, 1275));
    manifest.verification = serde_json::from_value(verified()).unwrap();
    for (i, region) in THIRTY.iter().enumerate().skip(1) {
        let start = 1276 + (i as u64 % 4);
        let seconds = manifest.regions[*region].seconds.unwrap() as u64;
        manifest
            .timeline
            .copies
            .insert((*region).to_owned(), span(start, start + seconds));
    }
    manifest.timeline.publish = Some(span(3500, 3512));
    manifest
}

/// The verification of the example config (`verify.service: neo4j.service` and its script),
/// as the verify stage records it.
pub(crate) fn verified() -> serde_json::Value {
    json!([{
        "region": "us-east-1", "image_id": "ami-00000000000000700",
        "instance_id": "i-0123456789abcdef0", "terminated": true, "seconds": 255,
        "checks": [
            {"name": "cloud-init", "outcome": "passed", "seconds": 41, "detail": "status: done"},
            {"name": "service", "outcome": "passed", "seconds": 12, "detail": "neo4j.service is active"},
            {"name": "sshd", "outcome": "passed", "seconds": 0, "detail": "passwordauthentication no, permitrootlogin prohibit-password"},
            {"name": "authorized-keys", "outcome": "passed", "seconds": 1, "detail": "no authorized_keys with a key"},
            {"name": "shell-history", "outcome": "passed", "seconds": 0, "detail": "no shell history"},
            {"name": "script", "outcome": "passed", "seconds": 9, "detail": "exit code 0"},
        ],
    }])
}

/// Compares with the golden file; `UPDATE_GOLDEN=1` rewrites it.
fn check_golden(name: &str, actual: &str) {
    let path = common::repo().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        eprintln!("NOTE: rewrote {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("golden", "actual")
            .to_string();
        panic!("{name} differs (UPDATE_GOLDEN=1 rewrites it):\n{diff}");
    }
}

/// Every bar of the chart in `text`, in order, with the chart's checks: one bar per copy,
/// sorted by end time, the slowest named in a sentence under it.
fn check_chart(text: &str, with_publish: bool) {
    let chart = text
        .split("```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a mermaid block");
    assert!(chart.starts_with("gantt\n"), "{chart}");
    let ends: Vec<&str> = chart
        .lines()
        .skip_while(|l| *l != "    section copy")
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with("section"))
        .map(|l| l.rsplit(", ").next().unwrap())
        .collect();
    assert_eq!(ends.len(), 29, "{chart}");
    assert!(
        ends.windows(2).all(|w| w[0] <= w[1]),
        "sorted by end: {ends:?}"
    );
    assert!(
        chart.contains("me-south-1 :crit,"),
        "the failed copy is red"
    );
    assert_eq!(chart.contains("section publish"), with_publish, "{chart}");
    assert!(
        text.contains("The copy to 29 regions took ") && text.contains("the slowest were "),
        "{text}"
    );
}

#[test]
fn the_timeline_of_a_30_region_release_in_the_summary_and_the_pr_body() {
    let manifest = manifest();
    let manifests = vec![(
        "marketplace-release-manifest.json".to_owned(),
        manifest.clone(),
    )];
    let summary = summary_markdown(&SummaryFacts {
        title: "Neo4j Enterprise Edition 5.26.0".into(),
        stages: "build, copy, publish".into(),
        manifests: &manifests,
        published: None,
        stopped: None,
        change_set: None,
        found: &Facts {
            seller: Some(
                "account 123456789012, the seller account (product.seller-account)".into(),
            ),
            ..Facts::default()
        },
    });
    check_chart(&summary, true);
    check_golden("timeline-30-regions-summary.md", &summary);

    let example =
        std::fs::read_to_string(common::repo().join("examples/neo4j/marketplace-release.yml"))
            .unwrap();
    let listed: String = THIRTY.iter().map(|r| format!("  - {r}\n")).collect();
    let start = example.find("regions:\n").unwrap();
    let end = start + example[start..].find("\n\n").unwrap();
    let config_text = format!(
        "{}regions:\n{listed}{}",
        &example[..start],
        &example[end + 1..]
    );
    let config = Config::parse(&config_text, Path::new("marketplace-release.yml")).unwrap();
    let template =
        std::fs::read(common::repo().join("examples/neo4j/neo4j.template.yaml")).unwrap();
    let mut amis = IndexMap::new();
    amis.insert(Architecture::X86_64, manifest.available_amis());
    let version = Version::new("5.26.0").unwrap();
    let plan = plan::plan(
        &config,
        &PlanInputs {
            version: &version,
            amis: Some(&amis),
            template_texts: &[template],
            body_template: DEFAULT_PR_BODY,
            run_url: None,
            date: "2026-06-01",
            manifests: &manifests,
            facts: &Facts::default(),
        },
    )
    .unwrap();
    check_chart(&plan.pr_body, false);
    check_golden("timeline-30-regions-pr-body.md", &plan.pr_body);
}

/// Near GitHub's limit the chart goes first: the load-form values stay whole.
#[test]
fn a_long_body_drops_the_chart_before_the_load_form_values() {
    let manifest = manifest();
    let manifests = vec![("m.json".to_owned(), manifest.clone())];
    let example =
        std::fs::read_to_string(common::repo().join("examples/neo4j/marketplace-release.yml"))
            .unwrap();
    let config = Config::parse(&example, Path::new("marketplace-release.yml")).unwrap();
    let template =
        std::fs::read(common::repo().join("examples/neo4j/neo4j.template.yaml")).unwrap();
    let mut amis = IndexMap::new();
    amis.insert(Architecture::X86_64, manifest.available_amis());
    let version = Version::new("5.26.0").unwrap();
    let facts = Facts::default();
    let inputs = |body: &'static str| PlanInputs {
        version: &version,
        amis: Some(&amis),
        template_texts: std::slice::from_ref(&template),
        body_template: body,
        run_url: None,
        date: "2026-06-01",
        manifests: &manifests,
        facts: &facts,
    };
    let full = plan::plan(&config, &inputs(DEFAULT_PR_BODY))
        .unwrap()
        .pr_body;
    assert!(full.contains("```mermaid"));
    // Pad the body so that it fits without the chart only.
    let chart = full.split("### Release timeline").nth(1).unwrap().len();
    let pad = plan::MAX_PR_BODY - full.chars().count() + chart / 2;
    let padded: &'static str =
        Box::leak(format!("{DEFAULT_PR_BODY}<!-- {} -->\n", "x".repeat(pad)).into_boxed_str());
    let body = plan::plan(&config, &inputs(padded)).unwrap().pr_body;
    assert!(body.chars().count() <= plan::MAX_PR_BODY);
    assert!(!body.contains("```mermaid"), "the chart is dropped");
    assert!(
        body.contains("the release timeline chart"),
        "and the body says so"
    );
    assert!(
        !body.contains("load form values longer than"),
        "the load form stays whole"
    );
    assert!(body.contains("| ap-south-1 |"), "the region table stays");
}

/// The README's "What a release looks like" shows the golden files as they are.
#[test]
fn the_readme_shows_the_golden_release() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).unwrap();
    let mut shown = 0;
    for section in readme.split("<!-- golden: ").skip(1) {
        let (path, rest) = section.split_once(" -->\n").expect("a golden marker line");
        let (text, _) = rest
            .split_once("<!-- end golden -->")
            .expect("an end marker");
        let golden = std::fs::read_to_string(common::repo().join(path)).unwrap();
        assert_eq!(
            text.trim_end(),
            golden.trim_end(),
            "the README's copy of {path} is stale: paste the file between its markers"
        );
        shown += 1;
    }
    assert_eq!(shown, 2, "the summary and the pull request body");
}
