//! The verify stage end to end (issue 16): the action on a tag push, against moto with the EC2
//! proxy playing the test instance's console as it plays the builder's, and the GitHub fake.
//! A passing verification shows each check in the pull request; a failing script, an instance
//! that never reports and a SIGTERM each leave no test instance, make no copy and open no
//! pull request, and a re-run never resumes from the image that failed.

use crate::common;

use std::time::{Duration, Instant};

use common::aws::{Ec2Stack, FIVE};
use common::scenario::{command, text, Ran, Scenario};
use serde_json::{json, Value};

/// What the proxy plays for a build whose test instance reports `check` failed with `detail`.
pub(crate) fn check_failing(check: &str, detail: &str) -> Value {
    json!({
        "builder": {"stop_after_s": 0.3},
        "verifier": {"stop_after_s": 0.5, "fail": {check: detail}},
    })
}

/// The `verify.stack` section of a config whose test stack launches the regenerated template in
/// us-east-1, its `Password` parameter from `EXAMPLE_DB_PASSWORD`.
pub(crate) const STACK: &str = "  stack:\n    region: us-east-1\n    role-arn: arn:aws:iam::123456789012:role/marketplace-release-verify-stack\n    template: cfn/product.template.yaml\n    parameters:\n      Password: {env: EXAMPLE_DB_PASSWORD}\n    timeout-minutes: 2\n";

/// The value of `EXAMPLE_DB_PASSWORD`: never in a log, the PR or the summary.
pub(crate) const STACK_SECRET: &str = "stack-secret-do-not-print";

/// A tag push whose config verifies (with `timeout` minutes and `extra` keys of the `verify`
/// section), with the verify script in the workspace, on the GitHub fake and on moto playing
/// `play`.
pub(crate) fn verifying(timeout: &str, extra: &str, play: Value) -> Scenario {
    let scenario = Scenario::new(
        &FIVE,
        &format!("verify:\n  service: example-db.service\n  script: build/verify.sh\n  timeout-minutes: {timeout}\n{extra}"),
    )
    .with_github()
    .playing(play);
    scenario.write(
        "build/verify.sh",
        "#!/bin/bash\ncurl -fsS http://localhost:7474/ >/dev/null\n",
    );
    scenario
}

/// The instances in `region` that EC2 does not report terminated or shutting down.
fn instances_left(stack: &Ec2Stack, region: &str) -> Vec<(String, String)> {
    let out = stack
        .block_on(stack.client(region).describe_instances().send())
        .unwrap();
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            (
                i.instance_id().unwrap_or_default().to_owned(),
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .filter(|(_, state)| state != "terminated" && state != "shutting-down")
        .collect()
}

/// The image's `marketplace-release:verification` tag.
fn verification_tag(stack: &Ec2Stack, image: &str) -> Option<String> {
    let out = stack
        .block_on(
            stack
                .client("us-east-1")
                .describe_images()
                .image_ids(image)
                .send(),
        )
        .unwrap();
    out.images()[0]
        .tags()
        .iter()
        .find(|t| t.key() == Some("marketplace-release:verification"))
        .and_then(|t| t.value())
        .map(str::to_owned)
}

/// The test instances the proxy saw launched.
fn test_instances(stack: &Ec2Stack) -> Vec<String> {
    stack.stats()["builders"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, b)| b["role"] == "verifier")
        .map(|(id, _)| id.clone())
        .collect()
}

/// What every failed verification leaves: no instance running, no copy, no pull request, the
/// image tagged `failed`, the reason in the manifest and in the log.
fn stopped_before_any_copy(scenario: &Scenario, ran: &Ran) {
    let (out, stack) = (&ran.out, scenario.stack());
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("the verification of image ") && log.contains("no copy of the image was made"),
        "{log}"
    );
    assert!(log.contains("no pull request was opened"), "{log}");
    assert_eq!(
        instances_left(stack, "us-east-1"),
        Vec::<(String, String)>::new()
    );
    assert_eq!(
        test_instances(stack).len(),
        1,
        "one test instance was launched"
    );
    for region in &FIVE[1..] {
        assert_eq!(stack.calls("CopyImage", region), 0, "{region}");
    }
    assert!(
        scenario.github().state().pulls.is_empty(),
        "no pull request"
    );
    let manifest = scenario.manifest();
    let verification = &manifest["verification"][0];
    assert_eq!(verification["region"], "us-east-1");
    assert_eq!(verification["terminated"], true);
    assert_eq!(manifest["incomplete"], true);
    let image = manifest["source_image_id"].as_str().unwrap();
    assert_eq!(verification["image_id"], image);
    assert_eq!(verification_tag(stack, image).as_deref(), Some("failed"));
    let summary = &ran.summary;
    assert!(
        summary.contains("#### Verification in us-east-1: failed"),
        "{summary}"
    );
}

#[test]
fn a_passing_verification_shows_each_check_in_the_pull_request() {
    let scenario = verifying(
        "1",
        "",
        json!({"builder": {"stop_after_s": 0.3}, "verifier": {"stop_after_s": 0.5}, "copy_delay_s": 1}),
    );
    let stack = scenario.stack();
    let Ran {
        out,
        stdout,
        summary,
        ..
    } = scenario.action(&[]);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("::group::Verify ami-"), "{stdout}");

    let manifest = scenario.manifest();
    let verification = &manifest["verification"][0];
    let checks = verification["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "cloud-init",
            "service",
            "sshd",
            "authorized-keys",
            "shell-history",
            "script"
        ]
    );
    assert!(
        checks.iter().all(|c| c["outcome"] == "passed"),
        "{checks:?}"
    );
    assert_eq!(verification["terminated"], true);
    assert!(manifest["timeline"]["verification"]["us-east-1"]["end"].is_string());
    // Verified before any copy: the copies started after the test instance was terminated.
    let verified_at = manifest["timeline"]["verification"]["us-east-1"]["end"]
        .as_str()
        .unwrap();
    for region in &FIVE[1..] {
        let copy_start = manifest["timeline"]["copies"][region]["start"]
            .as_str()
            .unwrap();
        assert!(
            copy_start >= verified_at,
            "{region}: {copy_start} < {verified_at}"
        );
    }
    let image = manifest["source_image_id"].as_str().unwrap();
    assert_eq!(verification_tag(stack, image).as_deref(), Some("passed"));
    assert_eq!(
        instances_left(stack, "us-east-1"),
        Vec::<(String, String)>::new()
    );
    let test_instance = &test_instances(stack)[0];
    let launched = stack.instance("us-east-1", test_instance);
    assert_eq!(launched.image_id(), Some(image), "it booted the new image");
    assert_eq!(
        launched.instance_type().map(|t| t.as_str()),
        Some("r6i.large"),
        "the load form's recommended type"
    );
    assert_eq!(
        launched
            .metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str()),
        Some("required"),
        "IMDSv2"
    );

    let state = scenario.github().state();
    let body = &state.pulls[0].body;
    assert!(body.contains("### Verification"), "{body}");
    for name in names {
        assert!(
            body.contains(&format!("| {name} | ✅ passed | 1 s | `{name} ok` |")),
            "{name}: {body}"
        );
    }
    assert!(
        body.contains("- [x] Boot the AMI and check the product works"),
        "{body}"
    );
    assert!(body.contains("- [ ] Launch a test stack"), "{body}");
    // Issue 15: the ingestion preflight's hardening line rests on what the booted image showed.
    assert!(
        body.contains("- [x] hardening: checked on a test instance booted from the image: sshd, authorized-keys, shell-history passed"),
        "{body}"
    );
    assert!(!body.contains("[!CAUTION]"), "{body}");
    assert!(
        summary.contains("#### Verification in us-east-1: passed")
            && summary.contains("| sshd | ✅ passed | 1 s | sshd ok |"),
        "{summary}"
    );
}

#[test]
fn a_failing_script_stops_the_release_before_any_copy_and_a_rerun_does_not_resume_the_image() {
    let scenario = verifying("1", "", check_failing("script", "exit code 3"));
    let stack = scenario.stack();
    let ran = scenario.action(&[]);
    stopped_before_any_copy(&scenario, &ran);
    let log = &ran.log;
    assert!(log.contains("failed: script (exit code 3)"), "{log}");
    assert!(log.contains("Last console lines:"), "{log}");
    let manifest = scenario.manifest();
    let tail = manifest["verification"][0]["console_tail"]
        .as_str()
        .unwrap();
    assert!(tail.contains("name=script status=failed"), "{tail}");

    // The image is tagged failed: the preflight of a re-run refuses to resume from it.
    let Ran { out: again, .. } = scenario.action(&[]);
    let log = text(&again.stdout) + &text(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{log}");
    assert!(
        log.contains("its verification failed") && log.contains("--rebuild"),
        "{log}"
    );
    assert_eq!(test_instances(stack).len(), 1, "nothing was launched again");
}

#[test]
fn a_test_instance_that_never_reports_is_terminated_and_stops_the_release() {
    let scenario = verifying(
        "0.05",
        "",
        json!({"builder": {"stop_after_s": 0.3}, "verifier": {"stop_after_s": null}}),
    );
    let started = Instant::now();
    let ran = scenario.action(&[]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    stopped_before_any_copy(&scenario, &ran);
    let log = &ran.log;
    assert!(
        log.contains("without reporting a result on its console")
            && log.contains("raise verify.timeout-minutes"),
        "{log}"
    );
}

#[test]
fn a_failed_verification_with_on_failure_draft_opens_a_draft_with_the_failure_on_top() {
    let scenario = verifying(
        "1",
        "  on-failure: draft\n",
        check_failing("sshd", "password login is on (passwordauthentication yes)"),
    );
    let stack = scenario.stack();
    let Ran { out, .. } = scenario.action(&[]);
    let log = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the run fails all the same: {log}"
    );
    assert!(log.contains("a draft pull request shows why"), "{log}");
    for region in &FIVE[1..] {
        assert_eq!(stack.calls("CopyImage", region), 0, "{region}");
    }
    assert_eq!(
        instances_left(stack, "us-east-1"),
        Vec::<(String, String)>::new()
    );
    let state = scenario.github().state();
    assert_eq!(state.pulls.len(), 1);
    assert!(state.pulls[0].draft, "a draft");
    let body = &state.pulls[0].body;
    let caution = body.find("[!CAUTION]").expect("the failure is shown");
    assert!(
        caution < body.find("### Product load form").unwrap(),
        "{body}"
    );
    assert!(
        body.contains("sshd (password login is on (passwordauthentication yes))")
            && body.contains("| sshd | ❌ failed |")
            && body.contains("Last console lines")
            && !body.contains("- [x] Boot the AMI"),
        "{body}"
    );
}

#[test]
fn sigterm_during_the_verification_leaves_no_test_instance() {
    let scenario = verifying(
        "1",
        "",
        json!({"builder": {"stop_after_s": 0.3}, "verifier": {"stop_after_s": null}}),
    );
    let stack = scenario.stack();
    let child = scenario.spawn_action(&[]);
    let (Ran { out, .. }, took) = scenario.signal_when(
        child,
        "the test instance's launch",
        || !test_instances(stack).is_empty(),
        Duration::from_millis(1500),
        "-TERM",
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(
        instances_left(stack, "us-east-1"),
        Vec::<(String, String)>::new()
    );
    for region in &FIVE[1..] {
        assert_eq!(stack.calls("CopyImage", region), 0, "{region}");
    }
    let manifest = scenario.manifest();
    assert_eq!(manifest["verification"][0]["terminated"], true);
    assert!(
        manifest["verification"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("cancelled by a signal"),
        "{manifest}"
    );
    assert_eq!(manifest["incomplete"], true);
    let image = manifest["source_image_id"].as_str().unwrap();
    assert_eq!(
        verification_tag(stack, image),
        None,
        "a cancelled verification says nothing of the image"
    );
    assert!(scenario.github().state().pulls.is_empty());
}

#[test]
fn the_verify_command_checks_a_built_image_and_verify_regions_boot_the_copies() {
    let scenario = Scenario::new(
        &FIVE,
        "verify:\n  service: example-db.service\n  regions: [eu-west-1]\n  timeout-minutes: 1\n",
    )
    .playing(json!({"builder": {"stop_after_s": 0.3}, "verifier": {"stop_after_s": 0.3}}));
    let stack = scenario.stack();
    let args = |name: &'static str| command(name, "1.0.0", &[]);
    // `build` alone does not verify; `verify` reads the manifest it wrote.
    let Ran { out, .. } = scenario.cli(&args("build"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        test_instances(stack).is_empty(),
        "build alone boots no test instance"
    );
    let Ran { out, stderr, .. } =
        scenario.cli(&["verify", "--config", ".github/marketplace-release.yml"]);
    assert!(out.status.success(), "{stderr}");
    let manifest = scenario.manifest();
    let verification = manifest["verification"].as_array().unwrap();
    assert_eq!(verification.len(), 1, "no copy yet: {manifest}");
    let names: Vec<&str> = verification[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "cloud-init",
            "service",
            "sshd",
            "authorized-keys",
            "shell-history"
        ],
        "no script given: no script check"
    );
    let image = manifest["source_image_id"].as_str().unwrap();
    assert_eq!(verification_tag(stack, image).as_deref(), Some("passed"));
    assert_eq!(test_instances(stack).len(), 1);

    // `release` resumes the image, does not boot it again, copies, then boots the eu-west-1
    // copy.
    let mut release = args("release");
    release.push("--no-publish");
    let Ran { out, stderr, .. } = scenario.cli(&release);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("already passed its verification"),
        "{stderr}"
    );
    let manifest = scenario.manifest();
    let verification = manifest["verification"].as_array().unwrap();
    let regions: Vec<&str> = verification
        .iter()
        .map(|v| v["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["us-east-1", "eu-west-1"]);
    assert_eq!(
        verification[1]["image_id"], manifest["regions"]["eu-west-1"]["image_id"],
        "the copy was booted"
    );
    assert_eq!(test_instances(stack).len(), 2);
    for region in ["us-east-1", "eu-west-1"] {
        assert_eq!(
            instances_left(stack, region),
            Vec::<(String, String)>::new(),
            "{region}"
        );
    }
    // The copies were tagged as verified at creation.
    let copy = manifest["regions"]["us-west-2"]["image_id"]
        .as_str()
        .unwrap();
    let tags = stack
        .block_on(
            stack
                .client("us-west-2")
                .describe_images()
                .image_ids(copy)
                .send(),
        )
        .unwrap()
        .images()[0]
        .tags()
        .to_vec();
    assert!(
        tags.iter()
            .any(|t| t.key() == Some("marketplace-release:verification")
                && t.value() == Some("passed")),
        "{tags:?}"
    );

    // Other checks (another unit) boot the image and the eu-west-1 copy again.
    scenario.edit_config("example-db.service", "example-db@main.service");
    let Ran { out, .. } = scenario.cli(&["verify", "--config", ".github/marketplace-release.yml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(test_instances(stack).len(), 4, "both booted again");
}

/// `verify.stack`: the regenerated template (the release's AMIs in its mapping) launched after
/// the copies, the secret from the environment, checked and deleted; the PR shows it and ticks
/// the checklist. A stack that fails to create stops the release before the PR, naming the
/// first failed resource, and no stack remains either way.
#[test]
fn the_test_stack_runs_the_regenerated_template_and_its_failure_stops_the_release() {
    let (stack_config, secret) = (STACK, STACK_SECRET);
    let release = |play: Value| {
        let scenario = verifying(
            "1",
            stack_config,
            json!({"builder": {"stop_after_s": 0.3}, "verifier": {"stop_after_s": 0.3}, "stack": play}),
        );
        let Ran {
            out, log, summary, ..
        } = scenario.action_with(&[], &[("EXAMPLE_DB_PASSWORD", secret)]);
        assert!(!log.contains(secret), "the secret reached the log:\n{log}");
        let plays = scenario.stack().stats()["stacks"].clone();
        let plays: Vec<Value> = plays.as_object().unwrap().values().cloned().collect();
        assert_eq!(plays.len(), 1, "one test stack: {plays:?}");
        assert_eq!(plays[0]["status"], "DELETE_COMPLETE", "deleted: {plays:?}");
        (out, scenario, log, summary)
    };

    let (out, scenario, log, summary) = release(json!({"create_s": 1}));
    let stack = scenario.stack();
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("::group::Test stack marketplace-release-verify-"),
        "{log}"
    );
    assert!(log.contains("was created, checked and deleted"), "{log}");
    // It ran after the copies: every other region's copy exists.
    for region in FIVE.iter().filter(|r| **r != "us-east-1") {
        assert!(stack.calls("CopyImage", region) >= 1, "{region}");
    }
    let state = scenario.github().state();
    let body = &state.pulls[0].body;
    assert!(body.contains("### Test stack"), "{body}");
    assert!(
        body.contains(
            "- [x] Launch a test stack from the updated template and check the product works"
        ),
        "{body}"
    );
    assert!(!body.contains(secret));
    assert!(summary.contains("### Test stack"));
    drop(state);

    let (out, scenario, log, _) = release(json!({"create_s": 0.5, "fail": {
        "resource": "DatabaseInstance", "type": "AWS::EC2::Instance",
        "reason": "The image id '[ami-0123]' does not exist"}}));
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("DatabaseInstance") && log.contains("does not exist"),
        "the first failed resource and its reason: {log}"
    );
    assert!(log.contains("no pull request was opened"), "{log}");
    assert!(
        scenario.github().state().pulls.is_empty(),
        "a pull request was opened"
    );
}
