//! The build, copy and release stages end to end: the real binary against moto (through the
//! proxy that plays the builder and injects latency and faults), with the AWS state checked
//! through the API afterwards.

use crate::common;

use std::time::{Duration, Instant};

use common::aws::{Ec2Stack, FIVE};
use common::scenario::{command, text, Ran, Scenario};
use serde_json::json;

/// `COMMAND --config … --version 1.0.0 EXTRA…`, as the tests run the binary.
fn args<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = command(name, "1.0.0", &[]);
    if name == "release" {
        // These scenarios are about AWS; publishing is covered by the happy path and
        // tests/cli_publish.rs.
        all.push("--no-publish");
    }
    all.extend_from_slice(extra);
    all
}

#[test]
fn happy_path_builds_copies_shares_and_writes_manifest_and_template() {
    let scenario = Scenario::new(
        &FIVE,
        "sharing:\n  public: true\n  accounts: ['123456789012']\n  snapshot-permissions: true\npull-request:\n  labels: [release]\n",
    )
    .playing(json!({"builder": {"stop_after_s": 0.3}, "copy_delay_s": 1}))
    .with_github();
    let (stack, github) = (scenario.stack(), scenario.github());
    let Ran {
        out,
        stdout,
        stderr,
        ..
    } = scenario.cli(&command("release", "2025.06.0", &[]));
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        !stdout.contains("testing-secret-value") && !stderr.contains("testing-secret-value"),
        "a secret reached the log"
    );

    let manifest = scenario.manifest();
    assert_eq!(manifest["incomplete"], false);
    assert_eq!(manifest["version"], "2025.06.0");
    // The timeline: RFC 3339 UTC starts and ends of the builder, the image, each copy (the
    // source region is not copied) and publish.
    let timeline = &manifest["timeline"];
    for phase in ["builder", "image", "publish"] {
        for end in ["start", "end"] {
            let at = timeline[phase][end].as_str().unwrap_or_default();
            assert!(
                at.len() == 20 && at.ends_with('Z'),
                "{phase}.{end}: {timeline}"
            );
        }
    }
    let copied: Vec<&String> = timeline["copies"].as_object().unwrap().keys().collect();
    assert_eq!(copied.len(), FIVE.len() - 1, "{timeline}");
    assert!(!copied.iter().any(|r| *r == "us-east-1"), "{timeline}");
    assert!(timeline["image"]["start"].as_str() >= timeline["builder"]["end"].as_str());
    let order: Vec<&String> = manifest["regions"].as_object().unwrap().keys().collect();
    assert_eq!(
        order, FIVE,
        "the manifest lists regions in the config's order"
    );
    let run_id = manifest["run_id"].as_str().unwrap().to_owned();
    let source = manifest["source_image_id"].as_str().unwrap().to_owned();

    // The builder: IMDSv2 required, no key pair, tagged, terminated.
    let builder = manifest["builder"]["instance_id"].as_str().unwrap();
    assert_eq!(manifest["builder"]["terminated"], true);
    let instance = stack.instance("us-east-1", builder);
    assert_eq!(
        instance.state().unwrap().name().unwrap().as_str(),
        "terminated"
    );
    assert_eq!(
        instance
            .metadata_options()
            .unwrap()
            .http_tokens()
            .unwrap()
            .as_str(),
        "required"
    );
    assert!(instance.key_name().is_none());
    assert!(instance
        .tags()
        .iter()
        .any(|t| t.key() == Some("marketplace-release:role") && t.value() == Some("builder")));

    let imds = stack.stats()["imds"].clone();
    for region in FIVE {
        let entry = &manifest["regions"][region];
        assert_eq!(entry["state"], "available", "{region}: {entry}");
        let image = entry["image_id"].as_str().unwrap();
        // Exists in moto with this run's tags, public, shared with the account, IMDSv2.
        let out = stack
            .block_on(
                stack
                    .client(region)
                    .describe_images()
                    .image_ids(image)
                    .send(),
            )
            .unwrap();
        let found = &out.images()[0];
        assert!(
            found.tags().iter().any(
                |t| t.key() == Some("marketplace-release:run-id") && t.value() == Some(&run_id)
            ),
            "{region}: tags {:?}",
            found.tags()
        );
        assert!(found
            .tags()
            .iter()
            .any(|t| t.key() == Some("Team") && t.value() == Some("release")));
        let permissions = stack
            .block_on(
                stack
                    .client(region)
                    .describe_image_attribute()
                    .image_id(image)
                    .attribute("launchPermission".into())
                    .send(),
            )
            .unwrap();
        let groups: Vec<_> = permissions
            .launch_permissions()
            .iter()
            .filter_map(|p| p.group().map(|g| g.as_str().to_owned()))
            .collect();
        let users: Vec<_> = permissions
            .launch_permissions()
            .iter()
            .filter_map(|p| p.user_id().map(str::to_owned))
            .collect();
        assert_eq!(groups, ["all"], "{region}");
        assert_eq!(users, ["123456789012"], "{region}");
        assert_eq!(
            imds[image], "v2.0",
            "{region}: IMDSv2 not required on {image}"
        );
        let snapshots = entry["snapshot_ids"].as_array().unwrap();
        assert!(!snapshots.is_empty(), "{region}");
        let snapshot = snapshots[0].as_str().unwrap();
        let volume_permissions = stack
            .block_on(
                stack
                    .client(region)
                    .describe_snapshot_attribute()
                    .snapshot_id(snapshot)
                    .attribute("createVolumePermission".into())
                    .send(),
            )
            .unwrap();
        let accounts: Vec<_> = volume_permissions
            .create_volume_permissions()
            .iter()
            .filter_map(|p| p.user_id())
            .collect();
        assert_eq!(
            accounts,
            ["123456789012"],
            "{region}: snapshot {snapshot} is not shared with the account"
        );
        if region != "us-east-1" {
            assert_eq!(
                found
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some("marketplace-release:source-image"))
                    .and_then(|t| t.value()),
                Some(source.as_str())
            );
        }
    }
    assert_eq!(
        manifest["regions"]["us-east-1"]["image_id"],
        source.as_str()
    );

    // The template holds exactly the available AMIs and the version, in the workspace and on
    // the release branch, which one pull request proposes.
    let template =
        std::fs::read_to_string(scenario.workspace().join("cfn/product.template.yaml")).unwrap();
    let state = github.state();
    let on_branch = state
        .file("marketplace-release/2025.06.0", "cfn/product.template.yaml")
        .expect("the release branch holds the template");
    assert_eq!(String::from_utf8(on_branch).unwrap(), template);
    assert_eq!(state.pulls.len(), 1);
    assert_eq!(state.pulls[0].labels, ["release"]);
    assert!(
        state.pulls[0].body.contains(&source),
        "the PR names the us-east-1 AMI"
    );
    assert!(!stdout.contains(common::github::TOKEN) && !stderr.contains(common::github::TOKEN));
    drop(state);
    assert!(template.contains("Default: '2025.06.0'"));
    for region in FIVE {
        let image = manifest["regions"][region]["image_id"].as_str().unwrap();
        assert!(
            template.contains(&format!("    {region}:\n      BYOL: {image}\n")),
            "{region} missing:\n{template}"
        );
    }
}

#[test]
fn a_failing_build_script_shows_the_console_and_leaves_nothing() {
    let scenario = Scenario::new(&FIVE, "").playing(json!({"builder": {"stop_after_s": 0.2, "exit": 3, "log": ["installing the product", "E: package neo4j not found"]}}));
    let stack = scenario.stack();
    let Ran { out, stderr, .. } = scenario.cli(&args("build", &[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the build script failed") && stderr.contains("exit code 3"),
        "{stderr}"
    );
    assert!(
        stderr.contains("E: package neo4j not found"),
        "the console tail is shown:\n{stderr}"
    );
    let manifest = scenario.manifest();
    assert_eq!(manifest["incomplete"], true);
    assert!(manifest["source_image_id"].is_null());
    let builder = manifest["builder"]["instance_id"].as_str().unwrap();
    assert_eq!(stack.instance_state("us-east-1", builder), "terminated");
    assert!(
        stack
            .images_tagged(
                "us-east-1",
                "marketplace-release:run-id",
                manifest["run_id"].as_str().unwrap()
            )
            .is_empty(),
        "no image may exist"
    );
    assert_eq!(stack.calls("CreateImage", "us-east-1"), 0);
}

#[test]
fn a_builder_that_never_stops_times_out_and_is_terminated() {
    let scenario = Scenario::new(&FIVE, "").playing(json!({"builder": {"stop_after_s": null}}));
    let stack = scenario.stack();
    scenario.edit_config("  timeout-minutes: 1\n", "  timeout-minutes: 0.04\n");
    let started = Instant::now();
    let Ran { out, stderr, .. } = scenario.cli(&args("build", &[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("did not finish within 2s") && stderr.contains("build.timeout-minutes"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let builder = scenario.manifest()["builder"]["instance_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stack.instance_state("us-east-1", &builder), "terminated");
}

#[test]
fn a_failed_region_is_reported_throttling_is_retried_and_cleanup_leaves_nothing() {
    let scenario = Scenario::new(&FIVE, "").playing(json!({
        "builder": {"stop_after_s": 0.2},
        "copy_delay_s": 1,
        "fail_copy_regions": ["eu-west-1"],
        "throttle": {"us-west-2": {"CopyImage": 2}},
    }));
    let stack = scenario.stack();
    let Ran { out, stderr, .. } = scenario.cli(&args("release", &["--cleanup-on-failure"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the copy failed in 1 required region(s): eu-west-1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("eu-west-1")
            && stderr.contains("Copy failed: snapshot could not be copied"),
        "the table names the reason:\n{stderr}"
    );
    // The throttled region was retried until it succeeded.
    assert_eq!(stack.stats()["throttled"]["CopyImage us-west-2"], 2);
    assert_eq!(stack.calls("CopyImage", "us-west-2"), 3);
    let manifest = scenario.manifest();
    let run_id = manifest["run_id"].as_str().unwrap();
    for region in FIVE {
        assert_eq!(
            manifest["regions"][region]["state"], "deregistered",
            "{region}: {}",
            manifest["regions"][region]
        );
        assert!(
            stack
                .images_tagged(region, "marketplace-release:run-id", run_id)
                .is_empty(),
            "{region}: an image of this run is left"
        );
        for snapshot in manifest["regions"][region]["snapshot_ids"]
            .as_array()
            .unwrap()
        {
            assert!(
                !stack.snapshot_exists(region, snapshot.as_str().unwrap()),
                "{region}: snapshot {snapshot} is left"
            );
        }
    }
    // The template was not touched.
    let template =
        std::fs::read_to_string(scenario.workspace().join("cfn/product.template.yaml")).unwrap();
    assert_eq!(
        template,
        std::fs::read_to_string(common::repo().join("examples/neo4j/neo4j.template.yaml")).unwrap()
    );
}

#[test]
fn sigterm_during_the_copy_stops_fast_and_a_rerun_makes_no_duplicate() {
    let scenario = Scenario::new(&FIVE, "")
        .playing(json!({"builder": {"stop_after_s": 0.2}, "copy_delay_s": 120}));
    let stack = scenario.stack();
    let child = scenario.spawn_cli(&args("release", &[]));
    let (Ran { out, .. }, stopped_after) = scenario.signal_when(
        child,
        "the copies",
        || FIVE[1..].iter().all(|r| stack.calls("CopyImage", r) > 0),
        // Long enough for progress lines (every second here, every minute by default).
        Duration::from_millis(2500),
        "-TERM",
    );
    assert!(
        stopped_after < Duration::from_secs(10),
        "took {stopped_after:?} to stop"
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("received SIGTERM"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("copy: 1/5 available; ") && l.contains(" pending ")),
        "progress lines while waiting:\n{stderr}"
    );

    let manifest = scenario.manifest();
    assert_eq!(manifest["incomplete"], true);
    assert_eq!(manifest["builder"]["terminated"], true);
    let builder = manifest["builder"]["instance_id"].as_str().unwrap();
    assert_eq!(stack.instance_state("us-east-1", builder), "terminated");
    for region in &FIVE[1..] {
        assert_eq!(
            manifest["regions"][*region]["state"], "pending",
            "{region}: the manifest lists the copy in flight"
        );
    }

    // Re-run the copy from the manifest once the copies can finish: every copy is reused.
    stack.scenario(json!({"copy_delay_s": 0}));
    let Ran { out, .. } = scenario.cli(&args("copy", &[]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let source = manifest["source_image_id"].as_str().unwrap();
    let rerun = scenario.manifest();
    for region in &FIVE[1..] {
        let copies = stack.images_tagged(region, "marketplace-release:source-image", source);
        assert_eq!(copies.len(), 1, "{region}: {copies:?}");
        assert_eq!(
            stack.calls("CopyImage", region),
            1,
            "{region}: copied twice"
        );
        assert_eq!(
            rerun["regions"][*region]["image_id"],
            manifest["regions"][*region]["image_id"]
        );
        assert_eq!(rerun["regions"][*region]["state"], "available");
    }
}

#[test]
fn public_sharing_blocked_fails_before_any_copy() {
    let scenario = Scenario::new(&FIVE, "sharing:\n  public: true\n")
        .playing(json!({"block_public_access": ["eu-west-1"]}));
    let stack = scenario.stack();
    let Ran { out, stderr, .. } =
        scenario.cli(&args("copy", &["--image", "ami-0123456789abcdef0"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("block public access for AMIs is on in: eu-west-1")
            && stderr.contains("disable-image-block-public-access"),
        "{stderr}"
    );
    for region in FIVE {
        assert_eq!(stack.calls("CopyImage", region), 0);
    }
}

#[test]
fn bad_input_is_refused_before_any_aws_call() {
    let scenario = Scenario::new(&FIVE, "").with_moto();
    let stack = scenario.stack();
    let cases: [(&str, &str, &str); 6] = [
        ("  - ap-south-1\n", "  - ap-south-9x\n", "ap-south-9x"),
        (
            "  instance-type: t3.medium\n",
            "  instance-type: t3medium\n",
            "not an EC2 instance type",
        ),
        (
            "copy:\n",
            "sharing:\n  accounts: ['1234']\ncopy:\n",
            "`1234` is not a 12-digit AWS account ID",
        ),
        (
            "copy:\n",
            "sharing:\n  organizational-units: ['ou-abc']\ncopy:\n",
            "not an organizational unit ARN",
        ),
        (
            "  script: build/install.sh\n",
            "  script: build/missing.sh\n",
            "cannot read build.script `build/missing.sh`",
        ),
        (
            "  script: build/install.sh\n",
            "  script: build/empty.sh\n",
            "the build script is empty",
        ),
    ];
    for (from, to, expected) in cases {
        scenario.rewrite_repo(&FIVE, "");
        scenario.write("build/empty.sh", "\n");
        let config = scenario.config_path();
        let original = std::fs::read_to_string(&config).unwrap();
        assert!(original.contains(from), "fixture lacks {from:?}");
        std::fs::write(&config, original.replacen(from, to, 1)).unwrap();
        let Ran { out, stderr, .. } = scenario.cli(&args("release", &[]));
        assert_eq!(out.status.code(), Some(2), "{to}: {stderr}");
        assert!(
            stderr.contains(expected) && stderr.contains("help:"),
            "{to}: expected {expected:?} in {stderr}"
        );
    }
    scenario.rewrite_repo(&FIVE, "");
    let Ran { out, .. } = scenario.cli(&args("copy", &["--image", "ami-bad"]));
    assert!(
        text(&out.stderr).contains("`ami-bad`"),
        "{}",
        text(&out.stderr)
    );
    let calls = stack.stats()["calls"].as_object().unwrap().len();
    assert_eq!(
        calls,
        0,
        "no AWS call may be made: {}",
        stack.stats()["calls"]
    );
}

#[test]
fn sigterm_during_the_build_terminates_the_builder() {
    let scenario = Scenario::new(&FIVE, "").playing(json!({"builder": {"stop_after_s": null}}));
    let stack = scenario.stack();
    let child = scenario.spawn_cli(&args("build", &[]));
    let (Ran { out, .. }, stopped_after) = scenario.signal_when(
        child,
        "the builder",
        || stack.calls("RunInstances", "us-east-1") > 0,
        Duration::from_millis(800),
        "-INT",
    );
    assert!(
        stopped_after < Duration::from_secs(10),
        "took {stopped_after:?} to stop"
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let manifest = scenario.manifest();
    assert_eq!(manifest["incomplete"], true);
    assert_eq!(manifest["builder"]["terminated"], true);
    let builder = manifest["builder"]["instance_id"].as_str().unwrap();
    assert_eq!(stack.instance_state("us-east-1", builder), "terminated");
    assert_eq!(stack.calls("CreateImage", "us-east-1"), 0);
}

#[test]
fn regions_all_copies_to_every_enabled_region() {
    let scenario = Scenario::new(&FIVE, "")
        .playing(json!({"enabled_regions": ["eu-west-1", "us-east-1", "ap-south-1"]}));
    let listed: String = FIVE.iter().map(|r| format!("  - {r}\n")).collect();
    scenario.edit_config(&format!("regions:\n{listed}"), "regions: all\n");
    let Ran { out, .. } = scenario.cli_with(
        &args("copy", &["--image", &source_image(scenario.stack())]),
        &[("GITHUB_ACTIONS", "true")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("::notice title=AMIs of Example DB 1.0.0 (x86_64)::us-east-1: ami-"),
        "{stdout}"
    );
    assert!(stdout.contains("::group::Copy "), "{stdout}");
    let manifest = scenario.manifest();
    let mut regions: Vec<&String> = manifest["regions"].as_object().unwrap().keys().collect();
    regions.sort();
    assert_eq!(regions, ["ap-south-1", "eu-west-1", "us-east-1"]);
    assert!(
        manifest["regions"]
            .as_object()
            .unwrap()
            .values()
            .all(|r| r["state"] == "available"),
        "{manifest}"
    );
}

/// An image moto ships in us-east-1, to copy, tagged as an earlier build of ours: `copy
/// --image` takes "a release whose image already is one of ours" (README), and it requires
/// IMDSv2 on and shares that image itself, which `iam/policy.json` allows only on images
/// carrying a `marketplace-release:run-id` tag (the policy check of `Ec2Stack` would fail
/// otherwise).
fn source_image(stack: &Ec2Stack) -> String {
    let client = stack.client("us-east-1");
    let out = stack
        .block_on(client.describe_images().owners("amazon").send())
        .unwrap();
    let image = out.images()[0].image_id().unwrap().to_owned();
    let tag = |key: &str, value: &str| {
        aws_sdk_ec2::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
    };
    stack
        .block_on(
            client
                .create_tags()
                .resources(&image)
                .tags(tag("marketplace-release:run-id", "an-earlier-run"))
                .tags(tag("marketplace-release:build", "succeeded"))
                .send(),
        )
        .unwrap();
    image
}

#[test]
fn copying_an_image_that_does_not_exist_fails_before_any_copy() {
    let scenario = Scenario::new(&FIVE, "").with_moto();
    let stack = scenario.stack();
    let Ran { out, stderr, .. } =
        scenario.cli(&args("copy", &["--image", "ami-0123456789abcdef0"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("source image ami-0123456789abcdef0 does not exist in us-east-1")
            && stderr.contains("help:"),
        "{stderr}"
    );
    for region in FIVE {
        assert_eq!(stack.calls("CopyImage", region), 0);
    }
}

/// In a terminal (a pseudo-terminal, as `script` makes one) the copy's waits show progress
/// bars: a line per region with its state and time, under an overall bar. Piped, the same run
/// prints plain lines (one a minute while waiting) and no cursor codes; `--quiet` only the
/// closing table.
#[test]
fn a_terminal_shows_progress_bars_and_a_pipe_plain_lines() {
    let binary = env!("CARGO_BIN_EXE_marketplace-release");
    let run_in_terminal = |scenario: &Scenario, image: &str| {
        let command = format!(
            "{binary} copy --config .github/marketplace-release.yml --version 1.0.0 --image {image}"
        );
        std::process::Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .current_dir(scenario.workspace())
            .env_remove("GITHUB_ACTIONS")
            .env("TERM", "xterm")
            .envs(scenario.stack().env())
            .output()
            .expect("script runs")
    };
    let scenario = Scenario::new(&FIVE, "").playing(json!({"copy_delay_s": 2}));
    let out = run_in_terminal(&scenario, &source_image(scenario.stack()));
    let transcript = text(&out.stdout);
    assert!(out.status.success(), "{transcript}");
    assert!(
        transcript.contains("\x1b[") && transcript.contains("5/5 done"),
        "the bars are drawn:\n{transcript}"
    );
    for region in FIVE {
        assert!(
            transcript.contains(&format!("{region:<16} available")),
            "{region}'s line:\n{transcript}"
        );
    }
    assert!(!transcript.contains("::group::"), "{transcript}");
    assert!(
        !transcript.contains("copy: 0/5 available"),
        "no once-a-minute lines under the bars:\n{transcript}"
    );

    let scenario = Scenario::new(&FIVE, "").playing(json!({"copy_delay_s": 2}));
    let Ran { out, stderr, .. } =
        scenario.cli(&args("copy", &["--image", &source_image(scenario.stack())]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("copy: eu-west-1: ami-") && stderr.contains("available and shared"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/5 available"),
        "the periodic line:\n{stderr}"
    );
    assert!(
        !stderr.contains("\x1b[") && !stderr.contains("done,"),
        "{stderr}"
    );

    let Ran { out, stderr, .. } = scenario.cli(&args(
        "copy",
        &["--image", &source_image(scenario.stack()), "--quiet"],
    ));
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.starts_with("region "), "only the table:\n{stderr}");
    assert!(!stderr.contains("copy: "), "{stderr}");
}
