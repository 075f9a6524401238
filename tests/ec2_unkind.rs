//! EC2 as it really behaves, played by `tests/support/ec2_proxy.py` in front of moto (each
//! behaviour cites its AWS page there): eventual consistency, console lag, `Latest` on
//! non-Nitro builders, regions not enabled, expiring credentials, EBS encryption by default,
//! the public-AMI quota, re-runs and stale manifests.
//!
//! Each scenario ends one of three ways: the release succeeds with one image per region and
//! no builder left but terminated; it fails before any resource is made, naming the fix; or,
//! when the credentials expire mid-run, the manifest is marked incomplete and lists what is
//! left, and a re-run with fresh credentials finishes with no duplicate.

use crate::common;

use std::time::Duration;

use common::aws::{Ec2Stack, FIVE};
use common::scenario::{command, text, Ran, Scenario, MANIFEST};
use serde_json::json;

const THREE: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

fn release(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = command("release", "1.0.0", &["--no-publish"]);
    args.extend_from_slice(extra);
    args
}

/// Images of this release (by its version tag) in `region`.
fn release_images(stack: &Ec2Stack, region: &str) -> Vec<(String, Vec<String>)> {
    stack.images_tagged(region, "marketplace-release:version", "1.0.0")
}

/// No builder in any state but `terminated`.
fn every_builder_terminated(stack: &Ec2Stack) {
    let stats = stack.stats();
    let builders = stats["builders"].as_object().unwrap();
    assert!(!builders.is_empty(), "a builder was launched");
    for (instance, builder) in builders {
        let region = builder["region"].as_str().unwrap();
        assert_eq!(
            stack.instance_state(region, instance),
            "terminated",
            "builder {instance} in {region}"
        );
    }
}

/// Nothing was made: no instance launched, no image made or copied.
fn nothing_made(stack: &Ec2Stack, regions: &[&str]) {
    let calls = stack.stats()["calls"].clone();
    for region in regions {
        for action in ["RunInstances", "CreateImage", "CopyImage"] {
            assert_eq!(
                stack.calls(action, region),
                0,
                "{action} in {region}: {calls}"
            );
        }
    }
}

#[test]
fn eventual_consistency_console_lag_and_a_xen_builder_end_in_one_image_per_region() {
    let scenario = Scenario::new(&THREE, "").playing(json!({
        "builder": {"stop_after_s": 0.3},
        "not_found_s": 5,
        "console_lag_s": 8,
        "copy_delay_s": 1,
    }));
    let stack = scenario.stack();
    // t2 is a Xen type: GetConsoleOutput with Latest answers UnsupportedOperation.
    scenario.edit_config("instance-type: t3.medium", "instance-type: t2.medium");

    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert!(out.status.success(), "{stderr}");
    let manifest = scenario.manifest();
    assert_eq!(manifest["incomplete"], false, "{manifest}");
    assert!(manifest.get("cleanup").is_none(), "{manifest}");
    every_builder_terminated(stack);
    let stats = stack.stats();
    for (key, what) in [
        ("DescribeInstances us-east-1", "the new builder"),
        ("DescribeImages us-east-1", "the new image"),
        ("DescribeImages eu-west-1", "a new copy"),
    ] {
        assert!(
            stats["not_found"][key].as_u64().unwrap_or(0) > 0,
            "EC2 answered NotFound for {what} ({key}) and the tool waited: {}",
            stats["not_found"]
        );
    }
    assert!(
        stats["unsupported"]["GetConsoleOutput us-east-1"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "Latest was asked first: {}",
        stats["unsupported"]
    );
    let run_id = manifest["run_id"].as_str().unwrap();
    for region in THREE {
        let images = release_images(stack, region);
        assert_eq!(images.len(), 1, "{region}: {images:?}");
        assert_eq!(manifest["regions"][region]["state"], "available");
        // Tagged at creation, snapshots included; nothing was tagged afterwards.
        assert_eq!(stack.calls("CreateTags", region), 0, "{region}");
        let snapshots = &images[0].1;
        assert!(!snapshots.is_empty(), "{region}");
        let tags = stack
            .block_on(
                stack
                    .client(region)
                    .describe_snapshots()
                    .snapshot_ids(&snapshots[0])
                    .send(),
            )
            .unwrap()
            .snapshots()[0]
            .tags()
            .to_vec();
        assert!(
            tags.iter().any(|t| t.key() == Some("marketplace-release:run-id")
                && t.value() == Some(run_id)),
            "{region}: snapshot tags {tags:?}"
        );
    }
}

#[test]
fn a_region_not_enabled_is_refused_before_anything_is_made() {
    let scenario = Scenario::new(&FIVE, "").playing(json!({"disabled_regions": ["ap-south-1"]}));
    let stack = scenario.stack();
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not enabled in this AWS account: ap-south-1")
            && stderr.contains("aws account enable-region")
            && stderr.contains("drop it from `regions`"),
        "{stderr}"
    );
    assert!(!stderr.contains("iam/policy.json"), "{stderr}");
    nothing_made(stack, &FIVE);
    assert!(
        !scenario.workspace().join(MANIFEST).exists(),
        "no manifest is written when nothing was made"
    );
}

#[test]
fn ebs_encryption_by_default_is_refused_before_anything_is_made() {
    let scenario = Scenario::new(&FIVE, "sharing:\n  public: true\n")
        .playing(json!({"ebs_encryption_by_default": ["eu-west-1"]}));
    let stack = scenario.stack();
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("EBS encryption by default is on in eu-west-1")
            && stderr.contains("aws ec2 disable-ebs-encryption-by-default"),
        "{stderr}"
    );
    nothing_made(stack, &FIVE);
}

#[test]
fn an_encrypted_image_is_removed_and_stops_the_release_before_any_copy() {
    // Private release (no preflight refusal): the image's own snapshots are checked.
    let scenario = Scenario::new(&THREE, "").playing(
        json!({"builder": {"stop_after_s": 0.2}, "ebs_encryption_by_default": ["us-east-1"]}),
    );
    let stack = scenario.stack();
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("has encrypted snapshots"), "{stderr}");
    assert_eq!(stack.calls("CopyImage", "eu-west-1"), 0);
    assert!(
        release_images(stack, "us-east-1").is_empty(),
        "the encrypted image is removed"
    );
    every_builder_terminated(stack);
    assert_eq!(scenario.manifest()["incomplete"], true);
}

#[test]
fn the_public_ami_quota_is_checked_before_anything_is_made() {
    let scenario = Scenario::new(&FIVE, "sharing:\n  public: true\n").with_moto();
    let stack = scenario.stack();

    // The quota read from Service Quotas.
    stack.scenario(json!({"public_images": {"us-west-2": 5}, "public_ami_quota": 5}));
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("at the quota in us-west-2 (5 of 5)")
            && stderr.contains("request-service-quota-increase")
            && stderr.contains("Remove=[{Group=all}]"),
        "{stderr}"
    );
    assert!(!stderr.contains("assumed AWS's default"), "{stderr}");

    // The role may not read Service Quotas: AWS's default of 5.
    stack.scenario(json!({"public_images": {"eu-west-1": 5}, "service_quotas": "denied"}));
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("at the quota in eu-west-1 (5 of 5)")
            && stderr.contains("assumed AWS's default of 5"),
        "{stderr}"
    );
    nothing_made(stack, &FIVE);

    // A raised quota is honoured.
    stack.scenario(json!({
        "builder": {"stop_after_s": 0.2},
        "public_images": {"eu-west-1": 5},
        "public_ami_quota": 10,
    }));
    let Ran { out, .. } = scenario.cli(&release(&[]));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn credentials_that_expire_mid_copy_leave_a_manifest_that_a_rerun_finishes() {
    let scenario = Scenario::new(&FIVE, "").playing(json!({
        "builder": {"stop_after_s": 0.2},
        "copy_delay_s": 1,
        "expire": {"after_action": "CopyImage", "after_count": 3, "code": "RequestExpired"},
    }));
    let stack = scenario.stack();
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the AWS credentials expired after the run had been going for")
            && stderr.contains("role-duration-seconds"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("iam/policy.json"),
        "not an IAM problem:\n{stderr}"
    );
    let manifest = scenario.manifest();
    assert_eq!(manifest["incomplete"], true);
    let cleanup: Vec<&str> = manifest["cleanup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        cleanup
            .iter()
            .any(|c| c.starts_with("aws ec2 deregister-image --region us-east-1 --image-id ami-")),
        "{cleanup:?}"
    );
    for command in &cleanup {
        assert!(
            stderr.contains(command),
            "the error lists {command}:\n{stderr}"
        );
    }
    every_builder_terminated(stack);

    // Fresh credentials: the re-run resumes, and makes no second builder or copy.
    stack.scenario(json!({"copy_delay_s": 1}));
    let fresh = [("AWS_ACCESS_KEY_ID", "fresh")];
    let Ran { out, .. } = scenario.cli_with(&release(&[]), &fresh);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stack.calls("RunInstances", "us-east-1"), 1);
    let manifest = scenario.manifest();
    assert_eq!(manifest["incomplete"], false);
    for region in FIVE {
        assert_eq!(release_images(stack, region).len(), 1, "{region}");
        assert_eq!(manifest["regions"][region]["state"], "available");
    }
}

#[test]
fn credentials_that_expire_mid_build_list_the_builder_and_a_rerun_removes_it() {
    let scenario = Scenario::new(&THREE, "").playing(json!({
        "builder": {"stop_after_s": null},
        "expire": {"after_action": "DescribeInstances", "after_count": 2, "code": "ExpiredToken"},
    }));
    let stack = scenario.stack();
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the AWS credentials expired"), "{stderr}");
    let manifest = scenario.manifest();
    let builder = manifest["builder"]["instance_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(manifest["builder"]["terminated"], false);
    let command =
        format!("aws ec2 terminate-instances --region us-east-1 --instance-ids {builder}");
    assert_eq!(manifest["cleanup"][0], command.as_str());
    assert!(stderr.contains(&command), "{stderr}");

    stack.scenario(json!({"builder": {"stop_after_s": 0.2}, "copy_delay_s": 1}));
    let fresh = [("AWS_ACCESS_KEY_ID", "fresh")];
    let Ran { out, .. } = scenario.cli_with(&release(&[]), &fresh);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stack.instance_state("us-east-1", &builder), "terminated");
    every_builder_terminated(stack);
    for region in THREE {
        assert_eq!(release_images(stack, region).len(), 1, "{region}");
    }
}

#[test]
fn missing_credentials_say_how_to_get_them() {
    let scenario = Scenario::new(&THREE, "").with_moto().without_credentials();
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no AWS credentials were found")
            && stderr.contains("configure-aws-credentials")
            && stderr.contains("id-token: write"),
        "{stderr}"
    );
    assert!(!stderr.contains("iam/policy.json"), "{stderr}");
}

#[test]
fn rerunning_a_completed_release_makes_nothing_and_a_changed_script_is_refused() {
    let scenario = Scenario::new(&THREE, "")
        .playing(json!({"builder": {"stop_after_s": 0.2}, "copy_delay_s": 1}));
    let stack = scenario.stack();
    let Ran { out, .. } = scenario.cli(&release(&[]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let first = scenario.manifest();
    let copies = stack.calls("CopyImage", "eu-west-1");

    // Again: no builder, no copy; the completed manifest stays completed, with the same images.
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("resuming from it without a builder"),
        "{stderr}"
    );
    assert_eq!(stack.calls("RunInstances", "us-east-1"), 1);
    assert_eq!(stack.calls("CopyImage", "eu-west-1"), copies);
    let again = scenario.manifest();
    assert_eq!(again["incomplete"], false);
    assert_eq!(again["run_id"], first["run_id"]);
    for region in THREE {
        assert_eq!(
            again["regions"][region]["image_id"], first["regions"][region]["image_id"],
            "{region}"
        );
    }

    // A changed build script: the name is taken by an image built with another script.
    scenario.write(
        "build/install.sh",
        "#!/bin/bash\nset -e\necho installing v2\n",
    );
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already taken in us-east-1")
            && stderr.contains("another build script")
            && stderr.contains("--rebuild"),
        "{stderr}"
    );
    assert_eq!(stack.calls("RunInstances", "us-east-1"), 1);
    assert_eq!(
        scenario.manifest(),
        again,
        "a refused run leaves the manifest alone"
    );

    // --rebuild builds under a new name.
    let Ran { out, .. } = scenario.cli(&release(&["--rebuild"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rebuilt = scenario.manifest();
    assert_eq!(
        rebuilt["name"].as_str().unwrap(),
        format!(
            "example-db-1.0.0-x86_64-{}",
            rebuilt["run_id"].as_str().unwrap()
        )
    );
    assert_eq!(stack.calls("RunInstances", "us-east-1"), 2);

    // Without the manifest (a fresh checkout), the rebuilt image is found by its tags.
    std::fs::remove_file(scenario.workspace().join(MANIFEST)).unwrap();
    let Ran { out, stderr, .. } = scenario.cli(&release(&[]));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("resuming from it without a builder"),
        "{stderr}"
    );
    assert_eq!(stack.calls("RunInstances", "us-east-1"), 2);
    assert_eq!(
        scenario.manifest()["source_image_id"],
        rebuilt["source_image_id"],
        "the rebuilt image is the source"
    );
}

#[test]
fn a_stale_manifest_is_refused_and_cleanup_touches_only_this_runs_images() {
    let scenario = Scenario::new(&THREE, "")
        .playing(json!({"builder": {"stop_after_s": 0.2}, "copy_delay_s": 1}));
    let stack = scenario.stack();
    let Ran { out, .. } = scenario.cli(&release(&[]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let manifest_path = scenario.workspace().join(MANIFEST);
    let before: Vec<_> = THREE.iter().map(|r| release_images(stack, r)).collect();

    // A manifest of another version: refused before any call.
    let calls = stack.stats()["calls"].clone();
    let Ran { out, stderr, .. } =
        scenario.cli(&command("copy", "2.0.0", &["--cleanup-on-failure"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "the manifest is of Example DB 1.0.0 (x86_64), not of this run's Example DB 2.0.0"
        ),
        "{stderr}"
    );
    assert_eq!(stack.stats()["calls"], calls, "no AWS call");

    // The same release's manifest, edited to claim another run's images as this run's, with a
    // region that fails: the cleanup removes only what carries this run's tag.
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    edited["run_id"] = json!("0000000000ff");
    for region in THREE {
        edited["regions"][region]["created_by_this_run"] = json!(true);
    }
    edited["regions"]
        .as_object_mut()
        .unwrap()
        .remove("eu-west-1");
    std::fs::write(&manifest_path, edited.to_string()).unwrap();
    stack.scenario(json!({"fail_copy_regions": ["eu-west-1"]}));
    let Ran { out, stderr, .. } =
        scenario.cli(&command("copy", "1.0.0", &["--cleanup-on-failure"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("was left alone"), "{stderr}");
    for (region, images) in THREE.iter().zip(&before) {
        let now = release_images(stack, region);
        for (image, snapshots) in images {
            assert!(
                now.iter().any(|(id, _)| id == image),
                "{region}: {image} of the earlier run was removed"
            );
            for snapshot in snapshots {
                assert!(
                    stack.snapshot_exists(region, snapshot),
                    "{region}: {snapshot}"
                );
            }
        }
    }
    assert!(
        stack
            .images_tagged("eu-west-1", "marketplace-release:run-id", "0000000000ff")
            .is_empty(),
        "this run's failed copy is removed"
    );
}

#[test]
fn copy_max_concurrency_bounds_the_requests_in_flight() {
    let scenario = Scenario::new(&FIVE, "").playing(json!({
        "builder": {"stop_after_s": 0.2},
        "copy_delay_s": 2,
        "not_found_s": 1,
        "reset_stats": true,
    }));
    let stack = scenario.stack();
    scenario.edit_config("max-concurrency: 4", "max-concurrency: 2");
    let Ran { out, .. } = scenario.cli(&release(&[]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stats = stack.stats();
    let most = stats["in_flight_max_by_service"]["ec2"].as_u64().unwrap();
    assert!(
        (1..=2).contains(&most),
        "copy.max-concurrency 2, but {most} EC2 requests were in flight at once"
    );
}

#[test]
fn a_manifest_that_cannot_be_written_is_refused_before_any_call() {
    let scenario = Scenario::new(&THREE, "").with_moto();
    let stack = scenario.stack();
    let Ran { out, stderr, .. } =
        scenario.cli(&release(&["--manifest", "no-such-dir/manifest.json"]));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write the manifest"), "{stderr}");
    assert_eq!(stack.stats()["calls"], json!({}), "no AWS call may be made");
}

#[test]
fn sigint_while_the_new_builder_is_not_visible_yet_still_terminates_it() {
    let scenario = Scenario::new(&THREE, "")
        .playing(json!({"builder": {"stop_after_s": null}, "not_found_s": 5}));
    let stack = scenario.stack();
    let child = scenario.spawn_cli(&command("build", "1.0.0", &[]));
    let (Ran { out, .. }, _) = scenario.signal_when(
        child,
        "a builder launched",
        || stack.calls("RunInstances", "us-east-1") > 0,
        Duration::from_millis(500),
        "-INT",
    );
    let status = out.status;
    assert_eq!(status.code(), Some(130));
    let manifest = scenario.manifest();
    assert_eq!(manifest["builder"]["terminated"], true, "{manifest}");
    every_builder_terminated(stack);
    assert!(
        stack.stats()["not_found"]["TerminateInstances us-east-1"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "TerminateInstances met NotFound and was retried: {}",
        stack.stats()["not_found"]
    );
}
