//! The action end to end: the binary started as GitHub's runner starts a container action
//! (no arguments, `INPUT_*`, file commands, event payload), against moto and the GitHub fake.
//! The last test runs the release binary, built as the Dockerfile builds it, in an empty root
//! holding only what the Dockerfile's final stage copies.

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::action::copy_tree;
use common::aws::FIVE;
use common::scenario::{
    action_command, available_manifest, submit_job, text, Ran, Scenario, SUBMIT_INPUTS,
};
use serde_json::{json, Value};

const BRANCH: &str = "marketplace-release/2025.6.0";

/// A user's repository releasing to `FIVE` (with `extra` in its config), on a tag push of
/// `v2025.6.0`, and on the GitHub fake.
fn on_tag_push(extra: &str) -> Scenario {
    Scenario::new(&FIVE, extra).with_github()
}

/// What a successful tag-push run leaves: outputs, summary, the pull request and AWS state.
fn check_released(scenario: &Scenario, ran: &Ran) {
    let (out, stack) = (&ran.out, scenario.stack());
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("::group::Build example-db-2025.6.0-x86_64"),
        "{stdout}"
    );
    assert!(
        stdout.contains("::notice title=AMIs of Example DB 2025.6.0"),
        "{stdout}"
    );

    let manifest = scenario.manifest();
    let outputs = &ran.outputs;
    let source = manifest["regions"]["us-east-1"]["image_id"]
        .as_str()
        .unwrap();
    assert_eq!(outputs["ami-id"], source);
    let amis: Value = serde_json::from_str(&outputs["amis"]).unwrap();
    for region in FIVE {
        assert_eq!(
            amis[region], manifest["regions"][region]["image_id"],
            "{region}"
        );
    }
    assert_eq!(outputs["pull-request-operation"], "created");
    assert_eq!(outputs["pull-request-number"], "1");
    assert_eq!(
        outputs["pull-request-url"],
        "https://github.com/example/product/pull/1"
    );
    assert_eq!(outputs["branch"], BRANCH);
    assert_eq!(outputs["manifest"].lines().count(), 1);

    let summary = &ran.summary;
    assert!(
        summary.contains("## marketplace-release: Example DB 2025.6.0"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("| us-east-1 | `{source}` | available |")),
        "{summary}"
    );
    assert!(
        summary.contains("[#1](https://github.com/example/product/pull/1)"),
        "{summary}"
    );

    let state = scenario.github().state();
    assert_eq!(state.pulls.len(), 1);
    assert_eq!(state.pulls[0].base, "main");
    assert_eq!(state.pulls[0].labels, ["release", "marketplace"]);
    let on_branch = String::from_utf8(
        state
            .file(BRANCH, "cfn/product.template.yaml")
            .expect("the template on the release branch"),
    )
    .unwrap();
    assert!(on_branch.contains("Default: '2025.6.0'"));
    for region in FIVE {
        let image = manifest["regions"][region]["image_id"].as_str().unwrap();
        assert!(
            on_branch.contains(&format!("    {region}:\n      BYOL: {image}\n")),
            "{region}"
        );
    }
    drop(state);
    let builder = manifest["builder"]["instance_id"].as_str().unwrap();
    assert_eq!(stack.instance_state("us-east-1", builder), "terminated");
    assert_eq!(
        stack
            .images_tagged("us-west-2", "marketplace-release:version", "2025.6.0")
            .len(),
        1
    );
}

#[test]
fn tag_push_runs_every_stage_and_hands_on_outputs_and_summary() {
    let scenario =
        on_tag_push("").playing(json!({"builder": {"stop_after_s": 0.3}, "copy_delay_s": 1}));
    let ran = scenario.action(&[("labels", "release, marketplace")]);
    check_released(&scenario, &ran);
}

#[test]
fn workflow_dispatch_dry_run_plans_without_aws_or_github_writes() {
    let event = json!({"inputs": {"version": "2025.7.0", "dry-run": "true"}, "ref": "refs/heads/main", "repository": {"default_branch": "main"}});
    let scenario = on_tag_push("").on_event("workflow_dispatch", event, "refs/heads/main");
    let Ran {
        out,
        outputs,
        summary,
        ..
    } = scenario.action(&[("version", "2025.7.0"), ("dry-run", "true")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Release plan: Example DB 2025.7.0"));
    assert_eq!(outputs["branch"], "marketplace-release/2025.7.0");
    assert_eq!(outputs["pull-request-operation"], "none");
    assert_eq!(outputs["ami-id"], "");
    assert!(
        summary.contains("(dry run)") && summary.contains("Pull request body"),
        "{summary}"
    );
    // The header table and a collapsed diff per template (issue 17, item 8).
    for expected in [
        "| AMI name (x86_64) | `",
        "| Base image | ",
        "| Regions (",
        "| Sharing | ",
        "| Branch | `marketplace-release/2025.7.0` |",
        "<details><summary>Diff of <code>",
        "```diff\n--- a/",
    ] {
        assert!(
            summary.contains(expected),
            "missing {expected:?} in:\n{summary}"
        );
    }
    assert!(
        scenario.github().state().requests.is_empty(),
        "a dry run called GitHub"
    );
}

#[test]
fn workflow_dispatch_off_a_tag_needs_the_version_input() {
    let scenario = on_tag_push("").on_event(
        "workflow_dispatch",
        json!({"inputs": {}}),
        "refs/heads/main",
    );
    let Ran { out, .. } = scenario.action(&[]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("::error title=input version::"), "{stdout}");
    assert_eq!(
        stdout.matches("::error").count(),
        1,
        "one annotation:\n{stdout}"
    );
    assert!(
        text(&out.stderr).contains("help: pass `version`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_inputs_are_refused_before_any_call() {
    let scenario = on_tag_push("");
    for (given, expected) in [
        (
            vec![("regions", "us-east-1, mars-north-1")],
            "input `regions`",
        ),
        (vec![("instance-type", "large")], "input `instance-type`"),
        (
            vec![("public", "yes")],
            "input `public`: `yes` is not a boolean",
        ),
        (
            vec![("stages", "deploy")],
            "input `stages`: `deploy` is not a stage",
        ),
        (
            vec![("architecture", "arm64")],
            "arm64 is not in build.architectures",
        ),
    ] {
        let Ran { out, stderr, .. } = scenario.action(&given);
        assert_eq!(out.status.code(), Some(2), "{given:?}");
        assert!(
            stderr.contains(expected) && stderr.contains("help:"),
            "{given:?}: {stderr}"
        );
        assert!(
            text(&out.stdout).contains("::error"),
            "{given:?}: annotated"
        );
    }
    assert!(scenario.github().state().requests.is_empty());
}

#[test]
fn a_publish_job_reads_the_manifests_the_build_jobs_uploaded() {
    let scenario = on_tag_push("");
    let manifest = available_manifest("x86_64", 40);
    // As actions/download-artifact leaves them: one directory per artifact.
    scenario.write(
        "manifests/manifest-x86_64/manifest-x86_64.json",
        manifest.to_string(),
    );
    let Ran { out, outputs, .. } =
        scenario.action(&[("stages", "publish"), ("manifests", "manifests")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(outputs["pull-request-operation"], "created");
    assert_eq!(outputs["ami-id"], common::fake_ami(40));
    assert!(outputs["manifest"].ends_with("manifests/manifest-x86_64/manifest-x86_64.json"));
    assert_eq!(scenario.github().state().pulls.len(), 1);
}

#[test]
fn cancelling_the_job_still_hands_on_outputs_and_summary() {
    let scenario = on_tag_push("").playing(json!({"builder": {"stop_after_s": 600}}));
    let stack = scenario.stack();
    let child = scenario.spawn_action(&[]);
    let (
        Ran {
            out,
            outputs,
            summary,
            ..
        },
        _,
    ) = scenario.signal_when(
        child,
        "the builder's launch",
        || stack.calls("RunInstances", "us-east-1") > 0,
        Duration::from_millis(1500),
        "-TERM",
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(outputs["pull-request-operation"], "none");
    assert!(outputs["manifest"].ends_with("marketplace-release-manifest.json"));
    assert_eq!(outputs["ami-id"], "");
    assert!(summary.contains("**Stopped:** cancelled"), "{summary}");
    let manifest = scenario.manifest();
    let builder = manifest["builder"]["instance_id"].as_str().unwrap();
    assert_eq!(stack.instance_state("us-east-1", builder), "terminated");
    assert!(scenario.github().state().requests.is_empty());
}

/// The files the Dockerfile's final stage copies, as (source on this machine, path in the
/// image), and its entrypoint. The build stage's outputs map to what scripts/test.sh built
/// with the same flags.
fn final_stage(binary: &Path) -> (Vec<(PathBuf, String)>, String) {
    let dockerfile = std::fs::read_to_string(common::repo().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = dockerfile.split("\nFROM ").collect();
    let last = stages.last().unwrap();
    assert!(
        last.starts_with("scratch"),
        "the final stage is FROM scratch"
    );
    let mut files = Vec::new();
    let mut entrypoint = String::new();
    for line in last.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["COPY", "--from=build", "/marketplace-release", to] => {
                files.push((binary.to_owned(), to.to_string()))
            }
            ["COPY", "--from=build", from, to] => files.push((PathBuf::from(from), to.to_string())),
            ["COPY", from, to] => files.push((common::repo().join(from), to.to_string())),
            ["ENTRYPOINT", ..] => {
                let list: Vec<String> =
                    serde_json::from_str(line.trim_start_matches("ENTRYPOINT").trim()).unwrap();
                entrypoint = list[0].clone();
            }
            ["COPY", ..] => panic!("a COPY this test does not understand: {line}"),
            _ => {}
        }
    }
    (files, entrypoint)
}

/// `program` (a path inside `root`) run with `root` as `/` and `/github/workspace` as its
/// working directory, as `docker run` would: chroot as root, else an unprivileged user
/// namespace (`unshare --map-root-user --root`).
fn in_root(root: &Path, program: &str, env: &[(String, String)]) -> Command {
    use std::os::unix::fs::MetadataExt;
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false);
    if is_root {
        let mut command = Command::new(program);
        command.env_clear().envs(env.iter().cloned());
        let new_root = root.to_owned();
        // SAFETY: only async-signal-safe calls between fork and exec: chroot and chdir.
        #[allow(
            unsafe_code,
            reason = "pre_exec is unsafe; the closure only calls chroot and chdir"
        )]
        unsafe {
            command.pre_exec(move || {
                std::os::unix::fs::chroot(&new_root)?;
                std::env::set_current_dir("/github/workspace")
            });
        }
        command
    } else {
        let mut command = Command::new("/usr/bin/unshare");
        command
            .arg("--map-root-user")
            .arg(format!("--root={}", root.display()))
            .arg("--wd=/github/workspace")
            .arg(program)
            .env_clear()
            .envs(env.iter().cloned());
        command
    }
}

#[test]
fn the_release_binary_runs_the_action_in_an_empty_root() {
    let binary = std::env::var_os("MARKETPLACE_RELEASE_CONTAINER_BINARY").map(PathBuf::from).unwrap_or_else(|| {
        panic!("MARKETPLACE_RELEASE_CONTAINER_BINARY is not set: run the README's test command (bash scripts/test.sh), which builds the release binary with the Dockerfile's flags (scripts/container-binary.sh)")
    });
    assert!(binary.is_file(), "{} does not exist", binary.display());
    let scenario = on_tag_push("")
        .playing(json!({"builder": {"stop_after_s": 0.3}, "copy_delay_s": 1}))
        .seen_at("/github");

    // The image: the final stage's files, and GitHub's /github mount, nothing else.
    let root = tempfile::tempdir().unwrap();
    let (files, entrypoint) = final_stage(&binary);
    let mut size = 0;
    for (from, to) in &files {
        let target = root.path().join(to.trim_start_matches('/'));
        if from.is_dir() {
            copy_tree(from, &target);
        } else {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(from, &target).unwrap();
            size += std::fs::metadata(&target).unwrap().len();
        }
    }
    assert!(size < 50_000_000, "the image holds {size} bytes");
    let env = scenario.action_env(&[("labels", "release, marketplace")], &[]);
    copy_tree(scenario.root(), &root.path().join("github"));
    let out = in_root(root.path(), &entrypoint, &env)
        .output()
        .expect("the binary runs");
    // Read the results where the container wrote them.
    copy_tree(&root.path().join("github"), scenario.root());
    check_released(&scenario, &scenario.collect(out));
}

#[test]
fn a_submit_job_starts_the_change_sets_and_hands_on_their_ids() {
    // A submit job checks the account, the role and the image again first: moto holds them.
    let (scenario, image) = submit_job("submit:\n  intent: validate-then-apply\n", 0);
    let Ran {
        out,
        outputs,
        summary,
        ..
    } = scenario.action(&SUBMIT_INPUTS);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(outputs["change-set-id"], "cs00000000000000000000002");
    assert_eq!(outputs["change-set-status"], "SUCCEEDED");
    assert!(outputs["change-set-arn"].ends_with("/ChangeSet/cs00000000000000000000002"));
    assert_eq!(outputs["pull-request-operation"], "none");
    assert!(summary.contains("### AWS Marketplace"), "{summary}");
    let state = scenario.catalog().state();
    let intents: Vec<&str> = state
        .change_sets
        .iter()
        .map(|c| c.intent.as_str())
        .collect();
    assert_eq!(intents, ["VALIDATE", "APPLY"]);
    let ami = &state.change_sets[1].request["ChangeSet"][0]["DetailsDocument"]["DeliveryOptions"]
        [0]["Details"]["AmiDeliveryOptionDetails"]["AmiSource"]["AmiId"];
    assert_eq!(ami, &json!(image));
    assert!(scenario.github().state().requests.is_empty());
}

/// Issue 10, defect 3: a bad `branch`, `base` or `token` input is refused naming the input.
#[test]
fn bad_branch_base_and_token_inputs_name_the_input() {
    let scenario = on_tag_push("");
    for (given, expected) in [
        (
            vec![("branch", "release/{{ version }}..x")],
            "input `branch`",
        ),
        (vec![("base", "main..x")], "input `base`"),
        (vec![("token", "  ")], "input `token`"),
    ] {
        let Ran {
            out,
            stdout,
            stderr,
            ..
        } = scenario.action(&given);
        assert_eq!(out.status.code(), Some(2), "{given:?}");
        assert!(
            stderr.contains(expected) && stderr.contains("help:"),
            "{given:?}: {stderr}"
        );
        let name = given[0].0;
        assert!(
            stdout.contains(&format!("::error title=input {name}::")),
            "{given:?}: the annotation names the input: {stdout}"
        );
    }
    assert!(scenario.github().state().requests.is_empty());
}

/// Issue 10, defect 1: the `branch` output of a job that does not publish is the branch the
/// publish job will use, `{{ date }}` included.
#[test]
fn a_job_that_does_not_publish_still_names_the_release_branch() {
    let scenario = on_tag_push("pull-request:\n  branch: \"release/{{ version }}-{{ date }}\"\n");
    // Nothing listens for AWS, so the build fails; the outputs are written all the same.
    let Ran { out, outputs, .. } = scenario.action(&[("stages", "build, copy")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let today = time::OffsetDateTime::now_utc().date().to_string();
    assert_eq!(outputs["branch"], format!("release/2025.6.0-{today}"));
}

/// Issue 10, defect 2: a matrix publish job reads `manifest-x86_64.json` and
/// `manifest-arm64.json` (the names `examples/workflows/matrix-release.yml` gives them); the
/// outputs and the PR lead with the first architecture of `build.architectures`, not with the
/// first file name.
#[test]
fn a_matrix_publish_job_leads_with_the_first_configured_architecture() {
    let scenario = on_tag_push("");
    let config = scenario
        .config()
        .replace(
            "  timeout-minutes: 1\n",
            "  timeout-minutes: 1\n  architectures: [x86_64, arm64]\n",
        )
        .replace(
            "    version-parameter: GraphDatabaseVersion\n",
            "    version-parameter: GraphDatabaseVersion\n    keys: {x86_64: BYOL, arm64: ARM64}\n    add-keys: true\n",
        );
    assert!(
        config.contains("architectures: [x86_64, arm64]"),
        "{config}"
    );
    std::fs::write(scenario.config_path(), config).unwrap();
    for (arch, first) in [("x86_64", 40u64), ("arm64", 60)] {
        scenario.write(
            &format!("manifests/manifest-{arch}/manifest-{arch}.json"),
            available_manifest(arch, first).to_string(),
        );
    }
    let Ran { out, outputs, .. } =
        scenario.action(&[("stages", "publish"), ("manifests", "manifests")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(outputs["ami-id"], common::fake_ami(40), "the x86_64 AMI");
    let state = scenario.github().state();
    let body = &state.pulls[0].body;
    assert!(body.contains("| x86_64 | arm64 |"), "{body}");
    let x86 = body
        .find(&common::fake_ami(40))
        .expect("x86_64 AMI in the body");
    let arm = body
        .find(&common::fake_ami(60))
        .expect("arm64 AMI in the body");
    assert!(x86 < arm, "x86_64 first:\n{body}");
}

/// Issue 13: an input's text that would start a workflow command is printed inert: every line
/// that starts with `::` outside our own commands sits between `::stop-commands::TOKEN` and
/// `::TOKEN::`.
#[test]
fn untrusted_text_never_starts_a_workflow_command() {
    let scenario = on_tag_push("");
    let Ran { out, .. } = scenario.action(&[("version", "1.0\n::warning::injected")]);
    assert_eq!(out.status.code(), Some(2));
    for stream in [text(&out.stdout), text(&out.stderr)] {
        let mut stopped: Option<String> = None;
        for line in stream.lines() {
            let trimmed = line.trim_start();
            if let Some(token) = &stopped {
                if trimmed == format!("::{token}::") {
                    stopped = None;
                }
                continue;
            }
            if let Some(token) = trimmed.strip_prefix("::stop-commands::") {
                stopped = Some(token.to_owned());
                continue;
            }
            assert!(
                !trimmed.starts_with("::warning"),
                "a workflow command from the input:\n{stream}"
            );
        }
        assert!(stopped.is_none(), "stop-commands is closed:\n{stream}");
    }
    assert!(
        text(&out.stderr).contains("::warning::injected"),
        "the text is kept"
    );
}

/// Issue 13: a variable that is not UTF-8 was a panic (exit 101) that printed its value. One of
/// ours is now an error naming it; another program's is none of our business.
#[test]
fn an_environment_variable_that_is_not_utf8_is_named_not_printed() {
    use std::os::unix::ffi::OsStrExt;
    let scenario = on_tag_push("");
    let env = scenario.action_env(&[], &[]);
    let program = Path::new(env!("CARGO_BIN_EXE_marketplace-release"));
    let value = std::ffi::OsStr::from_bytes(b"2025.6.0-SECRET\xff");
    for name in [
        "INPUT_VERSION",
        "GITHUB_REF_NAME",
        "MARKETPLACE_RELEASE_POLL_MIN_MS",
    ] {
        let mut command = action_command(program, &scenario.workspace(), &env);
        command.env(name, value);
        let Ran { out, .. } = scenario.run(command);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{name}: {stdout}\n{stderr}");
        assert!(
            stderr.contains(&format!(
                "the environment variable {name} is not UTF-8 text"
            )),
            "{name}: {stderr}"
        );
        assert!(
            !stdout.contains("SECRET") && !stderr.contains("SECRET"),
            "{name}: {stderr}"
        );
    }
    // Another program's variable: the run goes on to its first real error (no AWS here).
    let mut command = action_command(program, &scenario.workspace(), &env);
    command.env("OTHER_TOOL_SETTING", value);
    let Ran { out, .. } = scenario.run(command);
    assert_ne!(out.status.code(), Some(101), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("not UTF-8"),
        "{}",
        text(&out.stderr)
    );
}

/// A link case: config to append, the link, its target, the inputs, what the error names.
type LinkCase<'a> = (
    &'a str,
    &'a str,
    &'a Path,
    &'a [(&'a str, &'a str)],
    &'a str,
);

/// Issue 13: config and input paths were checked as text only, so a committed link led out of
/// the workspace: a PR body template linked to `/proc/self/environ` put the token and the AWS
/// secret into the body, a build script linked the same way put them into the user-data, a
/// template path through a linked directory was rewritten outside. Each is refused now, before
/// any AWS call (none listens here) or GitHub write, naming the path; a link inside the
/// workspace still works.
#[test]
fn links_out_of_the_workspace_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("cfn")).unwrap();
    std::fs::write(outside.path().join("cfn/product.template.yaml"), "x").unwrap();
    let environ = Path::new("/proc/self/environ");
    let cases: [LinkCase<'_>; 4] = [
        (
            "pull-request:\n  body-template: .github/body.md\n",
            ".github/body.md",
            environ,
            &[],
            "pull-request.body-template `.github/body.md`",
        ),
        (
            "",
            "build/install.sh",
            environ,
            &[],
            "build.script `build/install.sh`",
        ),
        (
            "",
            "linked-manifest.json",
            &outside.path().join("m.json"),
            &[("manifest", "linked-manifest.json")],
            "the `manifest` input `linked-manifest.json`",
        ),
        (
            "",
            "other-config.yml",
            &outside.path().join("c.yml"),
            &[("config", "other-config.yml")],
            "the `config` input `other-config.yml`",
        ),
    ];
    std::fs::write(outside.path().join("c.yml"), "product: {name: x}\n").unwrap();
    std::fs::write(outside.path().join("m.json"), "{}").unwrap();
    for (extra, link, target, given, named) in cases {
        let scenario = on_tag_push(extra);
        let at = scenario.workspace().join(link);
        if at.is_dir() {
            std::fs::remove_dir_all(&at).unwrap();
        } else {
            let _ = std::fs::remove_file(&at);
        }
        std::os::unix::fs::symlink(target, &at).unwrap();
        let Ran { out, stderr, .. } = scenario.action(given);
        assert_eq!(out.status.code(), Some(2), "{link}: {stderr}");
        assert!(stderr.contains(named), "{link}: {stderr}");
        assert!(stderr.contains("outside the workspace"), "{link}: {stderr}");
        assert!(
            scenario.github().state().writes().is_empty(),
            "{link}: nothing written to GitHub"
        );
    }
    // The action reads templates from the base branch; the command line reads (and with
    // `template --in-place` or `release --templates` writes) them in the workspace.
    let scenario = on_tag_push("");
    std::fs::remove_dir_all(scenario.workspace().join("cfn")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("cfn"), scenario.workspace().join("cfn"))
        .unwrap();
    let out = common::run_binary(
        &scenario.workspace(),
        &[
            "plan",
            "--config",
            ".github/marketplace-release.yml",
            "--version",
            "2025.6.0",
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("templates[].path `cfn/product.template.yaml` leads to")
            && stderr.contains("outside the workspace"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(outside.path().join("cfn/product.template.yaml")).unwrap(),
        "x",
        "the template outside is untouched"
    );
}

/// The `image` input: the build stage copies the vendor's AMI within us-east-1 into a tagged
/// image of the release (no builder, the AWS preflight still asked), copy and publish follow,
/// and the pull request says the AMI was not built here. A re-run resumes from that copy.
#[test]
fn the_image_input_releases_an_existing_ami_without_a_build() {
    let scenario = on_tag_push("").playing(json!({"copy_delay_s": 0.3}));
    let stack = scenario.stack();
    let existing = stack.amazon_x86_image();
    let Ran {
        out,
        stdout,
        stderr,
        outputs,
        summary,
        ..
    } = scenario.action(&[("image", &existing)]);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "::group::Copy the existing AMI {existing} into example-db-2025.6.0-x86_64 in us-east-1"
        )),
        "{stdout}"
    );
    let manifest = scenario.manifest();
    assert_eq!(manifest["imported_from"], existing.as_str(), "{manifest}");
    assert!(manifest["builder"].is_null(), "no builder: {manifest}");
    let ours = manifest["source_image_id"].as_str().unwrap().to_owned();
    assert_ne!(ours, existing, "the release's image is a copy of ours");
    assert_eq!(manifest["regions"]["us-east-1"]["image_id"], ours.as_str());
    assert_eq!(
        manifest["regions"]["us-east-1"]["created_by_this_run"],
        true
    );
    for region in FIVE {
        assert_eq!(
            manifest["regions"][region]["state"], "available",
            "{region}"
        );
    }
    assert_eq!(stack.calls("RunInstances", "us-east-1"), 0);
    assert_eq!(stack.calls("CreateImage", "us-east-1"), 0);
    assert_eq!(
        stack.calls("CopyImage", "us-east-1"),
        1,
        "one copy within us-east-1"
    );
    assert!(
        stack.calls("DescribeRegions", "us-east-1") > 0,
        "the AWS preflight ran"
    );
    let tagged = stack.images_tagged("us-east-1", "marketplace-release:build", "imported");
    assert_eq!(tagged.len(), 1, "{tagged:?}");
    assert_eq!(tagged[0].0, ours);
    let described = stack
        .block_on(
            stack
                .client("us-east-1")
                .describe_images()
                .image_ids(&ours)
                .send(),
        )
        .unwrap();
    let image = &described.images()[0];
    assert_eq!(image.name(), Some("example-db-2025.6.0-x86_64"));
    let tag = |key: &str| {
        image
            .tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value())
            .map(str::to_owned)
    };
    assert_eq!(
        tag("marketplace-release:source-image"),
        Some(existing.clone())
    );
    assert_eq!(
        tag("marketplace-release:version").as_deref(),
        Some("2025.6.0")
    );
    assert_eq!(tag("Team").as_deref(), Some("release"));
    {
        let state = scenario.github().state();
        assert_eq!(state.pulls.len(), 1);
        let body = &state.pulls[0].body;
        assert!(
            body.contains(&format!("it is a copy of `{existing}`"))
                && body.contains("hardening: not verified"),
            "{body}"
        );
        assert!(body.contains(&ours), "the PR names our us-east-1 AMI");
    }
    assert_eq!(outputs["ami-id"], ours);
    assert!(
        summary.contains(&format!(
            "Not built by marketplace-release: a copy of `{existing}`"
        )),
        "{summary}"
    );

    // A re-run resumes from the copy it made: no second CopyImage anywhere.
    let Ran { out, .. } = scenario.action(&[("image", &existing)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for region in FIVE {
        assert_eq!(stack.calls("CopyImage", region), 1, "{region}");
    }
}

/// AWS out of reach (or no credentials): the error is one short line with the next step, in
/// the log and the step summary, with no colour codes and none of the SDK's dump; the SDK's
/// whole error and its credential chain show only with debug logging (RUNNER_DEBUG=1, as
/// GitHub sets it on a re-run with debug logging).
#[test]
fn aws_failures_are_short_without_debug_and_whole_with_it() {
    let dumps = [
        "dispatch failure",
        "DispatchFailure",
        "hyper_util",
        "ConnectorError",
    ];
    let scenario = on_tag_push("");
    let Ran {
        out,
        stdout,
        stderr,
        summary,
        ..
    } = scenario.action(&[]);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for (what, shown) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("summary", &summary),
    ] {
        assert!(
            !shown.contains("\x1b["),
            "colour codes in the {what}:\n{shown}"
        );
        for dump in dumps {
            assert!(!shown.contains(dump), "`{dump}` in the {what}:\n{shown}");
        }
    }
    // The first AWS call of a release (STS GetCallerIdentity, for the seller checks) fails.
    assert!(
        stderr.contains("failed: request failed: tcp connect error: Connection refused")
            && stderr.contains("help: ")
            && stderr.contains("--debug"),
        "{stderr}"
    );
    assert!(summary.contains("Connection refused"), "{summary}");

    let Ran { stderr, .. } = scenario.action_with(&[], &[("RUNNER_DEBUG", "1")]);
    assert!(
        stderr.contains("dispatch failure"),
        "debug shows the whole error:\n{stderr}"
    );
    assert!(!stderr.contains("\x1b["), "{stderr}");

    // No credentials at all: the chain's reason, and its warnings only with debug logging.
    let scenario = scenario.without_credentials();
    let Ran { stderr, .. } = scenario.action(&[]);
    assert!(
        stderr.contains("no AWS credentials were found")
            && stderr.contains("configure-aws-credentials"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("WARN"),
        "the SDK's warnings need debug logging:\n{stderr}"
    );
    assert!(!stderr.contains("\x1b["), "{stderr}");
    let Ran { stderr, .. } = scenario.action_with(&[], &[("RUNNER_DEBUG", "1")]);
    assert!(
        stderr.contains("AWS_SHARED_CREDENTIALS_FILE"),
        "debug shows the chain:\n{stderr}"
    );
    assert!(!stderr.contains("\x1b["), "{stderr}");
}
