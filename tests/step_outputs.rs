//! Issue 22, step 1: the step outputs of each kind of job, pinned before the front ends are
//! rewritten: every output action.yml declares is written, each with its value (empty where
//! the job has none), for a build job, a copy job after it, a publish job and a submit job.

use serde_json::{json, Value};

use crate::common;
use crate::common::aws::FIVE;
use crate::common::scenario::{available_manifest, submit_job, Ran, Scenario, SUBMIT_INPUTS};

/// The outputs action.yml declares, by name.
fn declared() -> Vec<String> {
    let action: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(common::repo().join("action.yml")).unwrap())
            .unwrap();
    action["outputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// What a job writes as its step outputs, by kind.
struct Expected<'a> {
    /// `ami-id`.
    ami: &'a str,
    /// `amis`.
    amis: &'a str,
    /// `manifest`.
    manifest: &'a str,
    /// `pull-request-number`, `pull-request-url`, `pull-request-operation`.
    pull: [&'a str; 3],
    /// `change-set-id`, `change-set-arn`, `change-set-status`.
    change_set: [&'a str; 3],
}

impl<'a> Expected<'a> {
    /// A build or copy job's: its AMIs and manifest, no pull request, no change set.
    fn of_aws_job(ami: &'a str, amis: &'a str, manifest: &'a str) -> Self {
        Self {
            ami,
            amis,
            manifest,
            pull: NO_PULL,
            change_set: NO_CHANGE_SET,
        }
    }
}

/// The pull request outputs of a job that publishes nothing.
const NO_PULL: [&str; 3] = ["", "", "none"];

/// The change set outputs of a job that submits nothing.
const NO_CHANGE_SET: [&str; 3] = ["", "", ""];

/// `ran` wrote exactly the outputs action.yml declares, with the values `expected` says (the
/// branch is the release's in every job).
fn assert_job_outputs(ran: &Ran, expected: &Expected<'_>) {
    let mut names: Vec<String> = ran.outputs.keys().cloned().collect();
    let mut declared = declared();
    names.sort();
    declared.sort();
    assert_eq!(names, declared, "the outputs written are those declared");
    let [number, url, operation] = expected.pull;
    let [id, arn, status] = expected.change_set;
    ran.assert_outputs(&[
        ("ami-id", expected.ami),
        ("amis", expected.amis),
        ("manifest", expected.manifest),
        ("pull-request-number", number),
        ("pull-request-url", url),
        ("pull-request-operation", operation),
        ("branch", "marketplace-release/2025.6.0"),
        ("change-set-id", id),
        ("change-set-arn", arn),
        ("change-set-status", status),
    ]);
}

/// The AMIs of `manifest`'s available regions as the `amis` output shows one architecture.
fn amis_of(manifest: &Value) -> String {
    let amis: serde_json::Map<String, Value> = manifest["regions"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["state"] == "available")
        .map(|(region, r)| (region.clone(), r["image_id"].clone()))
        .collect();
    Value::Object(amis).to_string()
}

/// A build job (`stages: build`), then a copy job (`stages: copy`) on the manifest it wrote:
/// the build job's AMI is the us-east-1 image; the copy job's outputs hold every region.
#[test]
fn a_build_job_and_the_copy_job_after_it_write_every_output() {
    let scenario = Scenario::new(&FIVE, "")
        .with_github()
        .playing(json!({"builder": {"stop_after_s": 0.2}, "copy_delay_s": 0.5}));
    let built = scenario.action(&[("stages", "build")]);
    assert!(built.out.status.success(), "{}", built.stderr);
    let manifest = built.manifest.as_ref().unwrap();
    let source = manifest["source_image_id"].as_str().unwrap();
    let amis = amis_of(manifest);
    assert_eq!(amis, json!({"us-east-1": source}).to_string());
    let path = scenario.manifest_path();
    assert_job_outputs(&built, &Expected::of_aws_job(source, &amis, &path));

    let copied = scenario.action(&[("stages", "copy")]);
    assert!(copied.out.status.success(), "{}", copied.stderr);
    let manifest = copied.manifest.as_ref().unwrap();
    assert_eq!(
        manifest["source_image_id"], source,
        "the build's image was copied"
    );
    let amis = amis_of(manifest);
    let regions: serde_json::Map<String, Value> = serde_json::from_str(&amis).unwrap();
    assert_eq!(regions.keys().collect::<Vec<_>>(), FIVE, "{amis}");
    assert_job_outputs(&copied, &Expected::of_aws_job(source, &amis, &path));
}

/// A publish job on the manifest of a build and copy job: the pull request's number, page and
/// operation, the AMIs of the manifest it read, that manifest's path.
#[test]
fn a_publish_job_writes_every_output() {
    let scenario = Scenario::new(&FIVE, "").with_github();
    let manifest = available_manifest("x86_64", 40);
    scenario.write("manifests/x86_64.json", manifest.to_string());
    let ran = scenario.action(&[("stages", "publish"), ("manifests", "manifests")]);
    assert!(ran.out.status.success(), "{}", ran.stderr);
    assert_job_outputs(
        &ran,
        &Expected {
            ami: &common::fake_ami(40),
            amis: &amis_of(&manifest),
            manifest: &format!("{}/manifests/x86_64.json", scenario.workspace().display()),
            pull: ["1", "https://github.com/example/product/pull/1", "created"],
            change_set: NO_CHANGE_SET,
        },
    );
}

/// A submit job after the merge: the APPLY change set's ID, ARN and status, the image of the
/// manifest it read, no pull request.
#[test]
fn a_submit_job_writes_every_output() {
    let (scenario, image) = submit_job("submit:\n  intent: validate-then-apply\n", 0);
    let ran = scenario.action(&SUBMIT_INPUTS);
    assert!(ran.out.status.success(), "{}", ran.stderr);
    assert_job_outputs(
        &ran,
        &Expected {
            ami: &image,
            amis: &json!({"us-east-1": image}).to_string(),
            manifest: &format!("{}/manifests/x86_64.json", scenario.workspace().display()),
            pull: NO_PULL,
            change_set: [
                "cs00000000000000000000002",
                "arn:aws:aws-marketplace:us-east-1:123456789012:AWSMarketplace/ChangeSet/cs00000000000000000000002",
                "SUCCEEDED",
            ],
        },
    );
}
