//! Issue 22, step 1: where each failure stops a release, as the user sees it, pinned before the
//! orchestrator is rewritten: the exit code, the error's first line and its last (the help),
//! and in the action the step summary's line that says why the run stopped (`**Stopped:** …`:
//! a build, verify or copy failure shown as its error, a publish or submit failure as `<stage>
//! failed: …`) and the step outputs it still writes. Other tests pin each failure's own message
//! and what it leaves in AWS and on GitHub (`ec2_stages`, `ec2_unkind`, `verify_stage`,
//! `seller_checks`, `ingestion_preflight`, `cli_publish`, `cli_submit`, `action_run`).

use std::time::Duration;

use serde_json::json;

use crate::common::aws::FIVE;
use crate::common::scenario::{
    available_manifest, command, submit_job, Ran, Scenario, SUBMIT_INPUTS,
};
use crate::stage_order::whole_release;
use crate::verify_stage::{check_failing, verifying, STACK_SECRET};

/// The error's first line, without `error: `.
fn error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or_else(|| panic!("no error: line in:\n{stderr}"))
}

/// What every refused run shows: exit code 2 and `help` as the last line of the error.
/// Returns the error's first line.
fn refused<'a>(ran: &'a Ran, help: &str) -> &'a str {
    assert_eq!(ran.code(), Some(2), "{}", ran.log);
    assert_eq!(
        ran.last_error_line(),
        format!("  help: {help}"),
        "{}",
        ran.stderr
    );
    error_line(&ran.stderr)
}

/// What every action run that a stage stopped shows: refused (exit code 2, `help` last), and
/// the summary's reason made of the error's first line: as it is for a build, verify or copy
/// failure (`failed` is `None`), as `<stage> failed: …` for the others. Returns the error's
/// first line.
fn stopped<'a>(ran: &'a Ran, failed: Option<&str>, help: &str) -> &'a str {
    let error = refused(ran, help);
    let why = ran
        .summary
        .lines()
        .find_map(|l| l.strip_prefix("**Stopped:** "))
        .unwrap_or_else(|| panic!("no **Stopped:** line in the summary:\n{}", ran.summary));
    match failed {
        None => assert_eq!(why, error, "{}", ran.summary),
        Some(stage) => assert_eq!(why, format!("{stage} failed: {error}"), "{}", ran.summary),
    }
    error
}

/// A tag push releasing to `FIVE` on the GitHub fake and moto playing `play`.
fn tag_push(play: serde_json::Value) -> Scenario {
    Scenario::new(&FIVE, "").with_github().playing(play)
}

/// A value refused while the release is prepared: exit 2, the error and its help last; in the
/// action the annotation, and neither step outputs nor a summary (nothing ran); no AWS call.
#[test]
fn a_bad_value_is_refused_before_any_aws_call_with_no_outputs_and_no_summary() {
    let scenario = tag_push(json!({}));
    let ran = scenario.action(&[("regions", "us-east-1, mars-north-1")]);
    let error = refused(
        &ran,
        "give a value the config key accepts (see the README's config reference) (the input overrides `regions` of the config)",
    );
    assert!(error.starts_with("input `regions`: "), "{error}");
    assert!(
        ran.stdout.contains("::error title=input regions::"),
        "{}",
        ran.stdout
    );
    assert!(ran.outputs.is_empty(), "{:?}", ran.outputs);
    assert_eq!(ran.summary, "");
    assert!(ran.manifest.is_none());

    // On the command line: the config's key is named, the help is last.
    scenario.edit_config(
        "  instance-type: t3.medium\n",
        "  instance-type: t3medium\n",
    );
    let ran = scenario.cli(&command("release", "2025.6.0", &[]));
    let error = refused(&ran, "write it like t3.medium or m7g.large");
    assert!(error.contains("not an EC2 instance type"), "{error}");
    assert!(ran.manifest.is_none());
    assert_eq!(scenario.stack().stats()["calls"], json!({}), "no AWS call");
    assert!(scenario.github().state().requests.is_empty());
}

/// An AWS pre-flight refusal (a region not enabled) stops the build stage before anything is
/// made: the outputs name the manifest, which was not written, and no AMI.
#[test]
fn an_aws_preflight_refusal_stops_the_build_stage() {
    let scenario = tag_push(json!({"disabled_regions": ["ap-south-1"]}));
    let ran = scenario.action(&[]);
    let error = stopped(
        &ran,
        None,
        "enable it (aws account enable-region --region-name REGION, then wait until it is ENABLED), or drop it from `regions`",
    );
    assert!(
        error.contains("not enabled in this AWS account: ap-south-1"),
        "{error}"
    );
    assert!(ran.manifest.is_none(), "nothing was made");
    ran.assert_outputs(&[
        ("ami-id", ""),
        ("amis", "{}"),
        ("manifest", &scenario.manifest_path()),
        ("pull-request-operation", "none"),
        ("branch", "marketplace-release/2025.6.0"),
    ]);
    assert!(scenario.github().state().requests.is_empty());
}

/// The build script failing stops the build stage: the incomplete manifest in the outputs, no
/// AMI.
#[test]
fn a_failing_build_script_stops_the_build_stage() {
    let scenario = tag_push(
        json!({"builder": {"stop_after_s": 0.2, "exit": 3, "log": ["E: package neo4j not found"]}}),
    );
    let ran = scenario.action(&[]);
    let error = stopped(
        &ran,
        None,
        "fix build.script; run it on a test instance to see the whole log",
    );
    assert!(error.contains("the build script failed"), "{error}");
    assert_eq!(ran.manifest.as_ref().unwrap()["incomplete"], true);
    ran.assert_outputs(&[
        ("ami-id", ""),
        ("amis", "{}"),
        ("manifest", &scenario.manifest_path()),
        ("pull-request-operation", "none"),
    ]);
    assert!(scenario.github().state().requests.is_empty());
}

/// A release whose verification fails (`sshd` here) with `verify.on-failure` at `on_failure`:
/// stopped at the verify stage, shown as its error. Returns the scenario and the run.
fn failed_verification(on_failure: &str) -> (Scenario, Ran) {
    let scenario = verifying(
        "1",
        &format!("  on-failure: {on_failure}\n"),
        check_failing("sshd", "password login is on"),
    );
    let ran = scenario.action(&[]);
    let error = stopped(
        &ran,
        None,
        "fix the build script (or verify.script, verify.service), then run the release again; the manifest lists the checks",
    );
    assert!(
        error.starts_with("the verification of image ami-"),
        "{error}"
    );
    (scenario, ran)
}

/// `verify.on-failure: stop` (the default): no copy, no pull request; the ami-id output names
/// the image that failed (it is available in us-east-1).
#[test]
fn a_failed_verification_stops_the_verify_stage() {
    let (scenario, ran) = failed_verification("stop");
    let image = ran.manifest.as_ref().unwrap()["source_image_id"].clone();
    ran.assert_outputs(&[
        ("ami-id", image.as_str().unwrap()),
        ("pull-request-operation", "none"),
        ("pull-request-number", ""),
    ]);
    assert!(scenario.github().state().pulls.is_empty());
}

/// With `verify.on-failure: draft` the draft pull request is opened and the outputs name it,
/// and the run fails all the same, stopped at the verify stage.
#[test]
fn a_failed_verification_with_on_failure_draft_opens_the_draft_and_still_fails() {
    let (scenario, ran) = failed_verification("draft");
    ran.assert_outputs(&[
        ("pull-request-operation", "created"),
        ("pull-request-number", "1"),
        (
            "pull-request-url",
            "https://github.com/example/product/pull/1",
        ),
    ]);
    assert!(scenario.github().state().pulls[0].draft);
}

/// A required region that fails to copy stops the copy stage: the outputs hold the AMIs that
/// are available, not the failed region's.
#[test]
fn a_required_region_that_fails_to_copy_stops_the_copy_stage() {
    let scenario = tag_push(
        json!({"builder": {"stop_after_s": 0.2}, "copy_delay_s": 0.5, "fail_copy_regions": ["eu-west-1"]}),
    );
    let ran = scenario.action(&[]);
    let error = stopped(
        &ran,
        None,
        "see the table above for each region's reason; run again to retry the failed regions (finished copies are reused)",
    );
    assert_eq!(error, "the copy failed in 1 required region(s): eu-west-1");
    let regions = &ran.manifest.as_ref().unwrap()["regions"];
    let amis = json!({
        "us-east-1": regions["us-east-1"]["image_id"],
        "us-east-2": regions["us-east-2"]["image_id"],
        "us-west-2": regions["us-west-2"]["image_id"],
        "ap-south-1": regions["ap-south-1"]["image_id"],
    });
    ran.assert_outputs(&[
        ("ami-id", regions["us-east-1"]["image_id"].as_str().unwrap()),
        ("amis", &amis.to_string()),
        ("pull-request-operation", "none"),
    ]);
    assert!(scenario.github().state().pulls.is_empty());
}

/// A test stack that fails to create stops the verify stage after the copies: the copies in the
/// outputs, no pull request.
#[test]
fn a_failed_test_stack_stops_the_verify_stage() {
    let scenario = whole_release(json!({
        "builder": {"stop_after_s": 0.3},
        "verifier": {"stop_after_s": 0.3},
        "copy_delay_s": 0.5,
        "stack": {"create_s": 0.5, "fail": {"resource": "DatabaseInstance", "type": "AWS::EC2::Instance", "reason": "The image id '[ami-0123]' does not exist"}},
    }));
    let ran = scenario.action_with(&[], &[("EXAMPLE_DB_PASSWORD", STACK_SECRET)]);
    let error = stopped(
        &ran,
        None,
        "fix the template or the parameters (verify.stack.parameters) so that the stack creates; the first failed resource above is the cause",
    );
    assert!(error.contains("DatabaseInstance"), "{error}");
    let amis: serde_json::Value = serde_json::from_str(&ran.outputs["amis"]).unwrap();
    assert_eq!(amis.as_object().unwrap().len(), FIVE.len(), "{amis}");
    ran.assert_outputs(&[("pull-request-operation", "none")]);
    assert!(scenario.github().state().pulls.is_empty());
}

/// The ingestion preflight refusing the built AMI stops the publish stage (`publish failed:`),
/// naming the manifest; the outputs hold the copies, and no pull request.
#[test]
fn the_ingestion_preflight_refusing_stops_the_publish_stage() {
    let scenario = tag_push(
        json!({"builder": {"stop_after_s": 0.2}, "copy_delay_s": 0.5, "image": {"ena": false}}),
    );
    let ran = scenario.action(&[]);
    let error = stopped(
        &ran,
        Some("publish"),
        "fix the image or the build, then run the release again; no pull request was opened",
    );
    let image = ran.manifest.as_ref().unwrap()["source_image_id"].clone();
    assert!(
        error.starts_with(&format!(
            "{} (x86_64): the ingestion preflight failed: ENA support: {} has EnaSupport off",
            scenario.manifest_path(),
            image.as_str().unwrap()
        )),
        "{error}"
    );
    ran.assert_outputs(&[
        ("ami-id", image.as_str().unwrap()),
        ("pull-request-operation", "none"),
    ]);
    assert!(scenario.github().state().pulls.is_empty());
}

/// GitHub refusing the pull request (403: Actions may not create pull requests) stops the
/// publish stage (`publish failed:`); the outputs still hold the AMIs and the branch, and no
/// pull request.
#[test]
fn github_refusing_the_pull_request_stops_the_publish_stage() {
    let scenario = Scenario::new(&FIVE, "").with_github();
    scenario.github().state().actions_may_create_pull_requests = false;
    scenario.write(
        "manifests/manifest-x86_64.json",
        available_manifest("x86_64", 40).to_string(),
    );
    let ran = scenario.action(&[("stages", "publish"), ("manifests", "manifests")]);
    let error = stopped(
        &ran,
        Some("publish"),
        "allow it in the repository (or organisation) settings: Settings → Actions → General → Workflow permissions → tick \"Allow GitHub Actions to create and approve pull requests\", then re-run",
    );
    assert!(
        error.contains("GitHub Actions is not permitted to create or approve pull requests"),
        "{error}"
    );
    ran.assert_outputs(&[
        ("ami-id", &crate::common::fake_ami(40)),
        ("pull-request-operation", "none"),
        ("pull-request-number", ""),
        ("branch", "marketplace-release/2025.6.0"),
    ]);
}

/// The Catalog ending a change set FAILED (the VALIDATE one, which the action follows to its
/// end) stops the submit stage (`submit failed:`); nothing is applied and the outputs name no
/// change set.
#[test]
fn a_failed_change_set_stops_the_submit_stage() {
    let (scenario, _) = submit_job("submit:\n  intent: validate-then-apply\n", 1);
    scenario.catalog().state().validation_errors = vec![(
        "INVALID_INPUT".into(),
        "Version title 2025.6.0 already exists for this product".into(),
    )];
    let ran = scenario.action(&SUBMIT_INPUTS);
    let error = stopped(
        &ran,
        Some("submit"),
        "fix what the errors name (the load-form and submit sections of the config), then run submit again; the portal shows the request at https://aws.amazon.com/marketplace/management/requests/cs00000000000000000000001",
    );
    assert!(error.contains("(VALIDATE) FAILED"), "{error}");
    ran.assert_outputs(&[
        ("change-set-id", ""),
        ("change-set-status", ""),
        ("pull-request-operation", "none"),
    ]);
    assert_eq!(scenario.catalog().state().change_sets.len(), 1);
}

/// SIGTERM on the command line: exit 130, and the last line says the run was cancelled and
/// where the manifest lists what exists.
#[test]
fn sigterm_on_the_command_line_exits_130_and_names_the_manifest_last() {
    let scenario = Scenario::new(&FIVE, "").playing(json!({"builder": {"stop_after_s": null}}));
    let stack = scenario.stack();
    let child = scenario.spawn_cli(&command("build", "1.0.0", &[]));
    let (ran, _) = scenario.signal_when(
        child,
        "the builder's launch",
        || stack.calls("RunInstances", "us-east-1") > 0,
        Duration::from_millis(800),
        "-TERM",
    );
    assert_eq!(ran.code(), Some(130), "{}", ran.stderr);
    assert_eq!(
        ran.last_error_line(),
        format!(
            "cancelled; the manifest {} lists what exists",
            scenario.manifest_path()
        ),
        "{}",
        ran.stderr
    );
}
