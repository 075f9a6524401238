//! The publish stage end to end: the real binary against the in-process GitHub fake, which keeps
//! Git objects, refs and pull requests the way GitHub does.

use crate::common;

use std::path::Path;

use common::github::{FakeGitHub, TOKEN};
use serde_json::{json, Value};

const TEMPLATE: &str = "cfn/neo4j.template.yaml";
const CONFIG: &str = ".github/marketplace-release.yml";
const BRANCH: &str = "marketplace-release/5.26.0";
const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"];

fn example_template() -> Vec<u8> {
    std::fs::read(common::repo().join("examples/neo4j/neo4j.template.yaml")).unwrap()
}

/// The example config, pointed at `cfn/neo4j.template.yaml`, with `pull_request` as its
/// pull-request section and `extra` appended.
fn config(pull_request: &str, extra: &str) -> String {
    let example =
        std::fs::read_to_string(common::repo().join("examples/neo4j/marketplace-release.yml"))
            .unwrap();
    let start = example.find("pull-request:").unwrap();
    let end = example.find("load-form:").unwrap();
    let mut text = format!(
        "{}pull-request:\n{pull_request}\n{}{extra}",
        &example[..start],
        &example[end..]
    );
    text = text.replace("examples/neo4j/neo4j.template.yaml", TEMPLATE);
    let regions_start = text.find("regions:\n").unwrap();
    let regions_end = text.find("\nbuild:").unwrap();
    let regions: String = REGIONS.iter().map(|r| format!("  - {r}\n")).collect();
    text.replace_range(regions_start..regions_end, &format!("regions:\n{regions}"));
    text
}

const DEFAULT_PR: &str = "  branch: \"marketplace-release/{{ version }}\"\n  labels: [release, marketplace]\n  assignees: [octocat]\n  reviewers: [hubot]\n  team-reviewers: [release-managers]\n  load-form-csv: marketplace/load-form.csv\n";

/// A user's checkout (the workspace) and their repository on the fake.
struct Setup {
    workspace: tempfile::TempDir,
    github: FakeGitHub,
}

impl Setup {
    fn new(config_text: &str) -> Self {
        let workspace = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(workspace.path().join(".github")).unwrap();
        std::fs::write(workspace.path().join(CONFIG), config_text).unwrap();
        let template = example_template();
        let github = FakeGitHub::start(
            "neo4j",
            "marketplace",
            "main",
            &[
                ("README.md", b"# Neo4j on AWS Marketplace\n"),
                (TEMPLATE, &template),
                (CONFIG, config_text.as_bytes()),
            ],
        );
        Self { workspace, github }
    }

    /// Writes a manifest of available AMIs (`n` picks the IDs) and returns its file name.
    fn manifest(&self, name: &str, version: &str, architecture: &str, n: u64) -> String {
        let regions: serde_json::Map<String, Value> = REGIONS
            .iter()
            .enumerate()
            .map(|(i, region)| {
                (
                    region.to_string(),
                    json!({"image_id": ami(n, i), "snapshot_ids": [], "state": "available", "created_by_this_run": true}),
                )
            })
            .collect();
        let manifest = json!({
            "schema": 1, "product": "Neo4j Enterprise Edition", "version": version,
            "architecture": architecture, "run_id": "0123456789ab", "name": "neo4j",
            "source_region": "us-east-1", "source_image_id": ami(n, 0),
            "regions": regions, "timings": {}, "incomplete": false,
        });
        std::fs::write(
            self.workspace.path().join(name),
            serde_json::to_string_pretty(&manifest).unwrap(),
        )
        .unwrap();
        name.to_owned()
    }

    fn publish(&self, manifest: &str, extra_args: &[&str], extra_env: &[(&str, &str)]) -> Run {
        let mut args = vec!["publish", "--config", CONFIG, "--manifest", manifest];
        args.extend_from_slice(extra_args);
        let mut env = self.github.env();
        env.extend(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = common::run_binary(self.workspace.path(), &args, &env);
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
            "the token reached the output:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        run
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn assert_ok(&self) {
        assert_eq!(
            self.code,
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
    }
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn ami(n: u64, region: usize) -> String {
    common::fake_ami(n * 100 + region as u64)
}

fn file_on(setup: &Setup, branch: &str, path: &str) -> String {
    String::from_utf8(
        setup
            .github
            .state()
            .file(branch, path)
            .expect("file on branch"),
    )
    .unwrap()
}

#[test]
fn first_run_creates_branch_signed_commit_and_pull_request() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    let main_head = setup.github.state().head("main").unwrap();
    let manifest = setup.manifest("m1.json", "5.26.0", "x86_64", 1);
    let run = setup.publish(&manifest, &[], &[]);
    run.assert_ok();
    assert!(
        run.all().contains("opened pull request #1"),
        "{}",
        run.all()
    );

    let state = setup.github.state();
    // The branch: one commit on top of main, sent without author or committer (so GitHub signs
    // it), holding main's files with the template and the load form CSV replaced.
    let head = state.head(BRANCH).expect("the release branch exists");
    let commit = &state.commits[&head];
    assert_eq!(commit.parents, [main_head]);
    assert!(
        !commit.custom_identity,
        "the commit named an author or committer"
    );
    assert!(commit
        .message
        .starts_with("Release Neo4j Enterprise Edition 5.26.0 on AWS Marketplace\n"));
    let commit_request = state
        .requests
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/git/commits"))
        .unwrap();
    let mut sent: Vec<&String> = commit_request.body.as_object().unwrap().keys().collect();
    sent.sort();
    assert_eq!(sent, ["message", "parents", "tree"]);
    // On the wire, as the binary sends them: our User-Agent, Accept and API version, once each.
    let user_agent = format!("marketplace-release/{}", env!("CARGO_PKG_VERSION"));
    for request in &state.requests {
        assert_eq!(
            request.header("user-agent"),
            [user_agent.as_str()],
            "{request:?}"
        );
        assert_eq!(
            request.header("accept"),
            ["application/vnd.github+json"],
            "{request:?}"
        );
        assert_eq!(
            request.header("x-github-api-version"),
            ["2022-11-28"],
            "{request:?}"
        );
    }
    let files = state.files(BRANCH);
    let main_files = state.files("main");
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        [CONFIG, "README.md", TEMPLATE, "marketplace/load-form.csv"]
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(files["README.md"], main_files["README.md"]);
    drop(state);
    let template = file_on(&setup, BRANCH, TEMPLATE);
    for (i, region) in REGIONS.iter().enumerate() {
        assert!(
            template.contains(&format!("    {region}:\n      BYOL: {}\n", ami(1, i))),
            "{region}:\n{template}"
        );
    }
    assert!(template.contains("Default: '5.26.0'"));
    let csv = file_on(&setup, BRANCH, "marketplace/load-form.csv");
    assert!(csv.starts_with("Field,Value\n"), "{csv}");
    assert!(csv.contains(&ami(1, 0)), "{csv}");

    // The pull request: one, from the branch into main, with everything the release needs.
    let state = setup.github.state();
    assert_eq!(state.pulls.len(), 1);
    let pr = &state.pulls[0];
    assert_eq!((pr.head.as_str(), pr.base.as_str()), (BRANCH, "main"));
    assert_eq!(
        pr.title,
        "Release Neo4j Enterprise Edition 5.26.0 on AWS Marketplace"
    );
    assert_eq!(pr.labels, ["release", "marketplace"]);
    assert_eq!(pr.assignees, ["octocat"]);
    assert_eq!(pr.reviewers, ["hubot"]);
    assert_eq!(pr.team_reviewers, ["release-managers"]);
    for expected in [
        "<!-- marketplace-release: product=Neo4j Enterprise Edition version=5.26.0 -->",
        &ami(1, 0),
        &ami(1, 3),
        "arn:aws:iam::123456789012:role/MarketplaceAmiIngestion",
        "- [ ] Add the new AMI version in the AWS Marketplace Management Portal",
        "https://github.com/neo4j/marketplace/actions/runs/4242",
    ] {
        assert!(
            pr.body.contains(expected),
            "{expected} missing from:\n{}",
            pr.body
        );
    }
}

#[test]
fn second_run_updates_the_branch_and_the_same_pull_request_then_a_third_writes_nothing() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    setup
        .publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[])
        .assert_ok();
    // Someone merges other work into main between the runs.
    let main_head = setup.github.state().commit_files(
        "main",
        &[("README.md", b"# Neo4j on AWS Marketplace\n\nUpdated.\n")],
        "Docs",
    );
    let writes_before = setup.github.state().writes().len();

    let second = setup.publish(&setup.manifest("m2.json", "5.26.0", "x86_64", 2), &[], &[]);
    second.assert_ok();
    assert!(
        second.all().contains("updated pull request #1"),
        "{}",
        second.all()
    );
    let state = setup.github.state();
    assert_eq!(state.pulls.len(), 1, "exactly one pull request");
    assert!(state.pulls[0].body.contains(&ami(2, 0)));
    assert!(!state.pulls[0].body.contains(&ami(1, 0)));
    let head = state.head(BRANCH).unwrap();
    assert_eq!(
        state.commits[&head].parents,
        [main_head],
        "rebuilt on the new main"
    );
    assert_eq!(
        state.files(BRANCH)["README.md"],
        state.files("main")["README.md"]
    );
    let moved: Vec<_> = state.writes()[writes_before..]
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.contains("/git/refs/heads/"))
        .map(|r| r.body.clone())
        .collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["force"], true);
    drop(state);
    assert!(file_on(&setup, BRANCH, TEMPLATE).contains(&ami(2, 1)));

    // Third run (a new workflow run), nothing new: not one write call.
    let writes_before = setup.github.state().writes().len();
    let third = setup.publish("m2.json", &[], &[("GITHUB_RUN_ID", "4343")]);
    third.assert_ok();
    assert!(
        third.all().contains("already up to date; nothing written"),
        "{}",
        third.all()
    );
    let state = setup.github.state();
    let new_writes: Vec<_> = state.writes()[writes_before..].to_vec();
    assert!(
        new_writes.is_empty(),
        "writes on a no-op run: {new_writes:?}"
    );
    assert_eq!(state.pulls.len(), 1);
}

#[test]
fn tag_run_with_detached_head_uses_the_default_branch_from_the_event() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    // The tag points at an old commit; main has moved on since.
    let tagged = setup.github.state().head("main").unwrap();
    setup
        .github
        .state()
        .refs
        .insert("tags/v5.26.0".into(), tagged.clone());
    let main_head =
        setup
            .github
            .state()
            .commit_files("main", &[("CHANGELOG.md", b"5.26.0\n")], "Changelog");
    let event = setup.workspace.path().join("event.json");
    std::fs::write(
        &event,
        json!({"ref": "refs/tags/v5.26.0", "base_ref": null, "repository": {"full_name": "neo4j/marketplace", "default_branch": "main"}}).to_string(),
    )
    .unwrap();
    let manifest = setup.manifest("m1.json", "5.26.0", "x86_64", 1);
    let run = setup.publish(
        &manifest,
        &[],
        &[
            ("GITHUB_REF", "refs/tags/v5.26.0"),
            ("GITHUB_REF_TYPE", "tag"),
            ("GITHUB_REF_NAME", "v5.26.0"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ],
    );
    run.assert_ok();
    let state = setup.github.state();
    let head = state.head(BRANCH).unwrap();
    assert_eq!(
        state.commits[&head].parents,
        [main_head],
        "based on main's head, not the tag"
    );
    assert_eq!(state.pulls[0].base, "main");
    assert!(state.files(BRANCH).contains_key("CHANGELOG.md"));
    assert!(
        !state
            .requests
            .iter()
            .any(|r| r.path == "/repos/neo4j/marketplace"),
        "the event payload names the default branch; no need to ask"
    );
}

#[test]
fn without_an_event_the_default_branch_is_asked_for() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    {
        let mut state = setup.github.state();
        let main = state.refs.remove("heads/main").unwrap();
        state.refs.insert("heads/trunk".into(), main);
        state.default_branch = "trunk".into();
    }
    let run = setup.publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[]);
    run.assert_ok();
    assert_eq!(setup.github.state().pulls[0].base, "trunk");
}

#[test]
fn refused_pull_request_names_the_setting_and_leaves_no_branch() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    setup.github.state().actions_may_create_pull_requests = false;
    let run = setup.publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(
        run.stderr
            .contains("GitHub Actions is not permitted to create or approve pull requests")
            && run
                .stderr
                .contains("Allow GitHub Actions to create and approve pull requests"),
        "{}",
        run.stderr
    );
    let state = setup.github.state();
    assert!(state.head(BRANCH).is_none(), "the branch was left behind");
    assert!(state.pulls.is_empty());
}

#[test]
fn missing_contents_permission_names_it_and_writes_nothing() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    setup.github.fail(
        "POST",
        "/git/blobs",
        403,
        json!({"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest/git/blobs#create-a-blob", "status": "403"}),
        1,
    );
    let run = setup.publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(
        run.stderr
            .contains("403 Resource not accessible by integration")
            && run.stderr.contains("permissions: contents: write"),
        "{}",
        run.stderr
    );
    assert!(setup.github.state().head(BRANCH).is_none());
}

#[test]
fn labels_refused_right_after_creation_are_retried() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    setup.github.fail(
        "POST",
        "/labels",
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "invalid", "field": "labels"}], "documentation_url": "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue", "status": "422"}),
        1,
    );
    let run = setup.publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[]);
    run.assert_ok();
    let state = setup.github.state();
    assert_eq!(state.pulls[0].labels, ["release", "marketplace"]);
    let label_calls = state
        .requests
        .iter()
        .filter(|r| r.path.ends_with("/labels"))
        .count();
    assert_eq!(label_calls, 2);
}

#[test]
fn server_errors_and_secondary_rate_limits_are_retried() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    setup.github.fail(
        "POST",
        "/git/commits",
        502,
        json!({"message": "Server Error"}),
        2,
    );
    setup.github.state().faults.push(common::github::Fault {
        method: "POST",
        path_contains: "/pulls",
        status: 403,
        body: json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}),
        headers: vec![("retry-after", "1".into())],
        times: 1,
    });
    let run = setup.publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[]);
    run.assert_ok();
    assert!(run.all().contains("retrying"), "{}", run.all());
    let state = setup.github.state();
    let commits = state
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/git/commits"))
        .count();
    assert_eq!(commits, 3);
    assert_eq!(state.pulls.len(), 1);
}

#[test]
fn a_body_over_githubs_limit_is_trimmed_and_says_so() {
    let long = "Connect to the database with the Neo4j Browser on port 7474. ".repeat(1_200);
    let text = config(DEFAULT_PR, "").replace(
        "  usage-instructions: |\n",
        &format!("  usage-instructions: |\n    {long}\n"),
    );
    let setup = Setup::new(&text);
    let run = setup.publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[]);
    run.assert_ok();
    let state = setup.github.state();
    let body = &state.pulls[0].body;
    assert!(
        body.chars().count() <= 65_536,
        "{} characters",
        body.chars().count()
    );
    assert!(
        body.contains("Left out to stay within GitHub's 65,536-character limit"),
        "{body}"
    );
    assert!(body.contains(&ami(1, 0)), "the us-east-1 AMI stays");
    // The CSV keeps the whole value.
    drop(state);
    assert!(file_on(&setup, BRANCH, "marketplace/load-form.csv").contains(&long.trim_end()[..1000]));
}

#[test]
fn templates_already_up_to_date_open_no_pull_request() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    setup
        .publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[])
        .assert_ok();
    // The release was merged by hand and its PR closed.
    let merged = file_on(&setup, BRANCH, TEMPLATE);
    {
        let mut state = setup.github.state();
        state.commit_files("main", &[(TEMPLATE, merged.as_bytes())], "Merge release");
        state.pulls[0].state = "closed".into();
    }
    let writes_before = setup.github.state().writes().len();
    let run = setup.publish("m1.json", &[], &[]);
    run.assert_ok();
    assert!(
        run.all().contains("already hold these AMIs"),
        "{}",
        run.all()
    );
    let state = setup.github.state();
    assert_eq!(state.writes().len(), writes_before);
    assert_eq!(state.pulls.len(), 1);
}

#[test]
fn bad_manifests_and_settings_fail_before_any_github_call() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    let manifest = setup.manifest("m1.json", "5.26.0", "x86_64", 1);
    let path = setup.workspace.path().join("incomplete.json");
    let mut value: Value = serde_json::from_str(
        &std::fs::read_to_string(setup.workspace.path().join(&manifest)).unwrap(),
    )
    .unwrap();
    value["incomplete"] = json!(true);
    std::fs::write(&path, value.to_string()).unwrap();
    let run = setup.publish("incomplete.json", &[], &[]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("incomplete") && run.stderr.contains("help: re-run"),
        "{}",
        run.stderr
    );

    let other = setup.manifest("m9.json", "5.27.0", "x86_64", 9);
    let run = setup.publish(&manifest, &["--manifest", &other], &[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("version 5.27.0"), "{}", run.stderr);

    let run = setup.publish(&manifest, &["--version", "5.26.1"], &[]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("this run releases 5.26.1"),
        "{}",
        run.stderr
    );

    let run = setup.publish(&manifest, &[], &[("GITHUB_TOKEN", "")]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("GITHUB_TOKEN") && run.stderr.contains("pull-requests: write"),
        "{}",
        run.stderr
    );

    let run = setup.publish(&manifest, &["--repository", "not a repo"], &[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("owner/name"), "{}", run.stderr);

    assert!(
        setup.github.state().requests.is_empty(),
        "GitHub was called"
    );

    // A token GitHub rejects: 401, with the fix, and the token is not shown.
    let run = setup.publish(&manifest, &[], &[("GITHUB_TOKEN", "ghs_wrong")]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("401 Bad credentials") && run.stderr.contains("invalid or expired"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("ghs_wrong"));
}

#[test]
fn golden_pr_body_for_the_example_config() {
    let example =
        std::fs::read_to_string(common::repo().join("examples/neo4j/marketplace-release.yml"))
            .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(workspace.path().join(".github")).unwrap();
    std::fs::write(workspace.path().join(CONFIG), &example).unwrap();
    let template = example_template();
    let github = FakeGitHub::start(
        "neo4j",
        "marketplace",
        "main",
        &[("examples/neo4j/neo4j.template.yaml", &template)],
    );
    let regions: Vec<String> = example
        .lines()
        .skip_while(|l| *l != "regions:")
        .skip(1)
        .take_while(|l| l.starts_with("  - "))
        .map(|l| l.trim_start_matches("  - ").to_owned())
        .collect();
    assert_eq!(regions.len(), 16);
    let amis: serde_json::Map<String, Value> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                r.clone(),
                json!({"image_id": ami(7, i), "state": "available"}),
            )
        })
        .collect();
    let manifest = json!({
        "schema": 1, "product": "Neo4j Enterprise Edition", "version": "5.26.0",
        "architecture": "x86_64", "run_id": "0123456789ab", "name": "neo4j",
        "source_region": "us-east-1", "regions": amis, "incomplete": false,
    });
    std::fs::write(workspace.path().join("manifest.json"), manifest.to_string()).unwrap();
    let env = github.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = common::run_binary(
        workspace.path(),
        &["publish", "--config", CONFIG, "--manifest", "manifest.json"],
        &env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body = github.state().pulls[0].body.clone();
    let golden = common::repo().join("tests/golden/neo4j-pr-body.md");
    check_golden(&golden, &body);
}

/// Compares with the golden file; `UPDATE_GOLDEN=1` rewrites it.
fn check_golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        eprintln!("NOTE: rewrote {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected.as_str(), actual)
            .unified_diff()
            .header("golden", "actual")
            .to_string();
        panic!(
            "the PR body differs from {} (UPDATE_GOLDEN=1 rewrites it):\n{diff}",
            path.display()
        );
    }
}

#[test]
fn one_publish_job_takes_the_manifests_of_an_architecture_matrix() {
    let template = "AWSTemplateFormatVersion: '2010-09-09'\nParameters:\n  Arch:\n    Type: String\n    Default: AMD64\n    AllowedValues: [AMD64, ARM64]\nMappings:\n  RegionMap:\n    us-east-1:\n      AMD64: ami-0aaaaaaaaaaaaaaa1\n      ARM64: ami-0bbbbbbbbbbbbbbb1\n    us-west-2:\n      AMD64: ami-0aaaaaaaaaaaaaaa2\n      ARM64: ami-0bbbbbbbbbbbbbbb2\nResources:\n  Server:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: !FindInMap [RegionMap, !Ref 'AWS::Region', !Ref Arch]\n";
    let text = config(DEFAULT_PR, "")
        .replace(
            "  architectures: [x86_64]\n",
            "  architectures: [x86_64, arm64]\n",
        )
        .replace(
            "    mapping: Neo4j\n    version-parameter: GraphDatabaseVersion\n",
            "    keys: {x86_64: AMD64, arm64: ARM64}\n    set-version: false\n",
        );
    assert!(text.contains("keys: {x86_64"), "{text}");
    let setup = Setup::new(&text);
    setup.github.state().commit_files(
        "main",
        &[(TEMPLATE, template.as_bytes())],
        "Two architectures",
    );
    let x86 = setup.manifest("x86_64.json", "5.26.0", "x86_64", 3);
    let arm = setup.manifest("arm64.json", "5.26.0", "arm64", 4);
    let run = setup.publish(&x86, &["--manifest", &arm], &[]);
    run.assert_ok();
    let regenerated = file_on(&setup, BRANCH, TEMPLATE);
    for (i, region) in REGIONS.iter().enumerate() {
        assert!(
            regenerated.contains(&format!(
                "    {region}:\n      AMD64: {}\n      ARM64: {}\n",
                ami(3, i),
                ami(4, i)
            )),
            "{region}:\n{regenerated}"
        );
    }
    let state = setup.github.state();
    assert_eq!(state.pulls.len(), 1);
    assert!(
        state.pulls[0].body.contains("| x86_64 | arm64 |"),
        "{}",
        state.pulls[0].body
    );
}

#[test]
fn a_branch_with_someone_elses_commit_is_not_overwritten() {
    let setup = Setup::new(&config(DEFAULT_PR, ""));
    setup
        .publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[])
        .assert_ok();
    // A reviewer pushes a fix to the release branch.
    let fixed = setup.github.state().commit_files(
        BRANCH,
        &[("README.md", b"# Fixed by a reviewer\n")],
        "Fix the README",
    );
    let run = setup.publish(&setup.manifest("m2.json", "5.26.0", "x86_64", 2), &[], &[]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(
        run.stderr
            .contains("has a commit marketplace-release did not make")
            && run.stderr.contains("Fix the README"),
        "{}",
        run.stderr
    );
    assert_eq!(
        setup.github.state().head(BRANCH).as_deref(),
        Some(fixed.as_str())
    );
}

/// Issue 13: the trailer alone made a commit ours. Now a head that copies it is refused when it
/// changes a path a release does not write, or when it does not sit on the base branch (a
/// commit stacked on our earlier one); the branch stays where it was.
#[test]
fn a_commit_that_copies_our_trailer_is_still_not_ours() {
    let trailer = "\n\nMade-by: marketplace-release\n";
    for (files, subject, why) in [
        (
            vec![("README.md", &b"# Fixed\n"[..]), (TEMPLATE, &b"x: 1\n"[..])],
            "Fix the README",
            "it changes `README.md`, which a release does not write",
        ),
        (
            vec![(TEMPLATE, &b"AWSTemplateFormatVersion: '2010-09-09'\n"[..])],
            "Hand-edit the template",
            "its parent is not among the last 100 commits of `main`",
        ),
    ] {
        let setup = Setup::new(&config(DEFAULT_PR, ""));
        setup
            .publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[])
            .assert_ok();
        let theirs =
            setup
                .github
                .state()
                .commit_files(BRANCH, &files, &format!("{subject}{trailer}"));
        let run = setup.publish(&setup.manifest("m2.json", "5.26.0", "x86_64", 2), &[], &[]);
        assert_eq!(run.code, Some(2), "{}", run.all());
        assert!(
            run.stderr
                .contains("has a commit marketplace-release did not make")
                && run.stderr.contains(why),
            "{why}: {}",
            run.stderr
        );
        assert_eq!(
            setup.github.state().head(BRANCH).as_deref(),
            Some(theirs.as_str())
        );
    }
}

#[test]
fn the_release_branch_cannot_be_the_base() {
    let setup = Setup::new(&config("  branch: main\n", ""));
    let writes = setup.github.state().writes().len();
    let run = setup.publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[]);
    assert_eq!(run.code, Some(2), "{}", run.all());
    assert!(run.stderr.contains("is the base branch"), "{}", run.stderr);
    assert_eq!(setup.github.state().writes().len(), writes);
}

#[test]
fn adding_the_csv_later_updates_a_branch_that_was_otherwise_current() {
    let setup = Setup::new(&config(
        DEFAULT_PR
            .replace("  load-form-csv: marketplace/load-form.csv\n", "")
            .as_str(),
        "",
    ));
    setup
        .publish(&setup.manifest("m1.json", "5.26.0", "x86_64", 1), &[], &[])
        .assert_ok();
    std::fs::write(setup.workspace.path().join(CONFIG), config(DEFAULT_PR, "")).unwrap();
    let run = setup.publish("m1.json", &[], &[]);
    run.assert_ok();
    assert!(
        run.all().contains("updated pull request #1"),
        "{}",
        run.all()
    );
    assert!(file_on(&setup, BRANCH, "marketplace/load-form.csv").starts_with("Field,Value\n"));
}

/// The release pull request carries the manifests when `pull-request.manifests-path` is set, so
/// `submit-after-merge.yml` reads them from the merge commit (issue 17).
#[test]
fn the_manifests_are_committed_to_the_release_branch_when_asked() {
    let setup = Setup::new(&config(
        &format!("{DEFAULT_PR}  manifests-path: .github/marketplace-release/manifests\n"),
        "",
    ));
    let manifest = setup.manifest("m.json", "5.26.0", "x86_64", 3);
    setup.publish(&manifest, &[], &[]).assert_ok();
    let committed = file_on(
        &setup,
        BRANCH,
        ".github/marketplace-release/manifests/x86_64.json",
    );
    let committed: Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(committed["version"], "5.26.0");
    assert_eq!(committed["regions"]["us-east-1"]["image_id"], ami(3, 0));
}
