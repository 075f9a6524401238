//! Issue 22, step 1: the order in which a whole run shows its stages, pinned before the
//! orchestrator is rewritten. The log of a `release` on the command line, of the action with
//! `stages: all`, and of a submit job after the merge is reduced to the sequence of its stages
//! (each progress line names its stage before the colon: `build: …`, `verify: …`, `copy: …`);
//! that sequence, not the wording of each line, is what must not change.

use serde_json::{json, Value};

use crate::common::scenario::{command, submit_job, Ran, Scenario, SUBMIT_INPUTS};
use crate::verify_stage::{verifying, STACK, STACK_SECRET};

/// What the proxy plays for a whole release: a builder and a test instance that report at
/// once, copies that take half a second, a test stack that takes half a second to create.
pub(crate) fn whole_release_play() -> Value {
    json!({
        "builder": {"stop_after_s": 0.3},
        "verifier": {"stop_after_s": 0.3},
        "stack": {"create_s": 0.5},
        "copy_delay_s": 0.5,
    })
}

/// A release that uses every AWS adapter: it verifies (with a test stack) and names its
/// product (`product.id`, so the live listing is read), on the GitHub fake and the Catalog
/// fake.
pub(crate) fn whole_release(play: Value) -> Scenario {
    let scenario = verifying("1", STACK, play).with_catalog(0);
    scenario.edit_config(
        "  name: Example DB\n",
        "  name: Example DB\n  id: prod-abcdefgh1234\n",
    );
    scenario
}

/// The stage each progress line names (`build: …` → `build`), in the order of `lines`, with
/// repeats of the same stage in a row kept once. `stages` are the names looked for
/// (comma-separated); a line that names none of them (a table row, a group marker, a warning)
/// is passed over.
pub(crate) fn stage_sequence<'a>(lines: &str, stages: &'a str) -> Vec<&'a str> {
    let stages: Vec<&str> = stages.split(", ").collect();
    let mut sequence: Vec<&str> = Vec::new();
    for line in lines.lines() {
        let Some(stage) = stages.iter().find(|s| line.starts_with(&format!("{s}: "))) else {
            continue;
        };
        if sequence.last() != Some(stage) {
            sequence.push(stage);
        }
    }
    sequence
}

/// Every stage name the release and submit paths print, comma-separated.
const STAGES: &str =
    "seller, ingestion role, listing, build, verify, copy, stack, ingestion preflight, template, publish, submit";

/// A whole release's stages up to the templates: the seller checks and the listing, then
/// build → verify (the image) → copy → the test stack (its own `stack:` lines, then the verify
/// stage's verdict) → the ingestion preflight.
const BEFORE_THE_TEMPLATES: [&str; 9] = [
    "seller",
    "ingestion role",
    "listing",
    "build",
    "verify",
    "copy",
    "stack",
    "verify",
    "ingestion preflight",
];

/// A whole release's groups of log lines, by the first word of their titles. (The test stack's
/// was opened twice before issue 22's engine: by the orchestrator and by the stage.)
const GROUPS: [&str; 5] = ["Build", "Verify", "Copy", "Test", "publish"];

/// The first words of the titles of the groups `log` opens (lines starting with `marker`).
fn groups<'a>(log: &'a str, marker: &str) -> Vec<&'a str> {
    log.lines()
        .filter_map(|l| l.strip_prefix(marker))
        .map(|title| title.split(' ').next().unwrap_or_default())
        .collect()
}

/// The command line's `release`: the stages up to the templates, then the templates in the
/// workspace → publish. Piped, the log is on standard error.
#[test]
fn a_release_on_the_command_line_logs_its_stages_in_pipeline_order() {
    let scenario = whole_release(whole_release_play());
    let Ran { out, stderr, .. } = scenario.cli_with(
        &command("release", "2025.6.0", &[]),
        &[("EXAMPLE_DB_PASSWORD", STACK_SECRET)],
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stage_sequence(&stderr, STAGES),
        [&BEFORE_THE_TEMPLATES[..], &["template", "publish"]].concat(),
        "{stderr}"
    );
    // The groups, headings when piped.
    assert_eq!(groups(&stderr, "== "), GROUPS, "{stderr}");
}

/// The action with `stages: all` (the default): the same order, without the workspace's
/// templates (the action commits the templates of the base branch: `publish: <path>: …`). In
/// GitHub Actions the log is on standard output, in `::group::` blocks.
#[test]
fn the_action_with_stages_all_logs_its_stages_in_pipeline_order() {
    let scenario = whole_release(whole_release_play());
    let Ran { out, stdout, .. } = scenario.action_with(
        &[("stages", "all")],
        &[("EXAMPLE_DB_PASSWORD", STACK_SECRET)],
    );
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        stage_sequence(&stdout, STAGES),
        [&BEFORE_THE_TEMPLATES[..], &["publish"]].concat(),
        "{stdout}"
    );
    assert_eq!(groups(&stdout, "::group::"), GROUPS, "{stdout}");
    assert_eq!(
        stdout.matches("::group::").count(),
        stdout.matches("::endgroup::").count(),
        "every group is closed: {stdout}"
    );
    assert!(
        stdout.contains("publish: cfn/product.template.yaml: "),
        "the template is edited on the release branch: {stdout}"
    );
    assert!(!stdout.contains("\ntemplate: "), "{stdout}");
}

/// A submit job after the merge: the account and the ingestion role again, the ingestion
/// preflight on the manifest's image again, then the change sets (VALIDATE, then APPLY).
#[test]
fn a_submit_job_checks_the_seller_and_the_image_again_then_submits() {
    let (scenario, _) = submit_job("submit:\n  intent: validate-then-apply\n", 0);
    let Ran { out, stdout, .. } = scenario.action(&SUBMIT_INPUTS);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        stage_sequence(&stdout, STAGES),
        ["seller", "ingestion role", "ingestion preflight", "submit"],
        "{stdout}"
    );
    // VALIDATE is followed to its end before APPLY starts; the job does not wait for APPLY.
    let submits: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("submit: "))
        .collect();
    assert_eq!(submits.len(), 3, "{submits:?}");
    assert!(
        submits[0].starts_with("submit: VALIDATE change set ")
            && submits[0].ends_with(" started")
            && submits[1].ends_with(" (VALIDATE): SUCCEEDED")
            && submits[2].starts_with("submit: APPLY change set ")
            && submits[2].contains(" started; the portal shows it at "),
        "{submits:?}"
    );
}
