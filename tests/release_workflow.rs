//! The release of marketplace-release itself (issue 13, "Pinning"): `.github/workflows/release.yml`
//! pins `action.yml` on the release tag to the image digest it pushed
//! (`scripts/pin-action-image.sh`), every workflow action is pinned by a commit SHA read from
//! a public record, the Dockerfile's base image by a published digest, CI audits the dependencies
//! with cargo-deny, and `action.yml`, the workflow and the Dockerfile agree.
//!
//! Nothing here reaches GitHub or a registry: the workflow's own step scripts run against a local
//! git repository (a bare `origin`), and `scripts/verify-pins.sh` resolves tags in local
//! repositories laid out as `OWNER/REPO` under a directory.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use regex::Regex;
use serde_yaml::Value;

use crate::common;

/// The `uses:` references allowed to stay pinned by a tag, each with the reason. Empty: every
/// action the workflows use has a release tag in its own repository, read there and cited
/// beside the pin. An entry here must say why no such record exists.
const TAG_PINNED_ALLOWED: &[(&str, &str)] = &[];

/// A well-formed digest, as docker/build-push-action's `digest` output gives it.
const SAMPLE_DIGEST: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn read(path: &str) -> String {
    std::fs::read_to_string(common::repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn release() -> Value {
    yaml(".github/workflows/release.yml")
}

fn steps(job: &Value) -> &Vec<Value> {
    job["steps"].as_sequence().expect("a job with steps")
}

/// The step of `job` that uses the action `owner/repo` (at any ref).
fn step_using<'a>(job: &'a Value, action: &str) -> &'a Value {
    let prefix = format!("{action}@");
    let found: Vec<&Value> = steps(job)
        .iter()
        .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(&prefix)))
        .collect();
    assert_eq!(found.len(), 1, "one step uses {action}");
    found[0]
}

fn step_named<'a>(job: &'a Value, name: &str) -> &'a Value {
    steps(job)
        .iter()
        .find(|s| s["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no step named {name:?}"))
}

fn str_of<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

/// Runs a workflow step's `run:` script as GitHub runs a bash step
/// (`bash --noprofile --norc -eo pipefail {0}`), in `dir`, with `env`.
fn run_step(step: &Value, dir: &Path, env: &[(&str, &str)]) -> Output {
    let script = str_of(&step["run"], "the step's run");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), script).unwrap();
    let mut command = Command::new("bash");
    command
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(file.path())
        .current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn pin_script(action: &Path, digest: &str) -> Output {
    Command::new("bash")
        .arg(common::repo().join("scripts/pin-action-image.sh"))
        .arg(digest)
        .arg(action)
        .output()
        .unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// action.yml with its image line pinned to `digest`, built line by line from the original.
fn pinned(action: &str, digest: &str) -> String {
    let tagged =
        Regex::new(r"^  image: docker://(ghcr\.io/[a-z0-9._-]+/marketplace-release):v[0-9.]+$")
            .unwrap();
    let mut replaced = 0;
    let text: Vec<String> = action
        .split_inclusive('\n')
        .map(|line| {
            let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            match tagged.captures(body) {
                Some(c) => {
                    replaced += 1;
                    format!("  image: docker://{}@{digest}{end}", &c[1])
                }
                None => line.to_owned(),
            }
        })
        .collect();
    assert_eq!(replaced, 1, "action.yml has one tag-pinned image line");
    text.concat()
}

#[test]
fn the_pin_script_rewrites_exactly_the_image_line_and_refuses_a_malformed_digest() {
    let original = read("action.yml");
    let dir = tempfile::tempdir().unwrap();
    let action = dir.path().join("action.yml");
    std::fs::write(&action, &original).unwrap();
    std::fs::set_permissions(&action, std::fs::Permissions::from_mode(0o640)).unwrap();

    for bad in [
        "",
        "sha256:0123",
        "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n  entrypoint: /bin/sh",
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef#x",
        "ghcr.io/x/marketplace-release:v0.1.0",
    ] {
        let out = pin_script(&action, bad);
        assert!(!out.status.success(), "the digest {bad:?} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("is not an image digest") && stderr.contains("sha256:"),
            "the refusal says what a digest is: {stderr}"
        );
        assert_eq!(std::fs::read_to_string(&action).unwrap(), original);
    }

    let out = pin_script(&action, SAMPLE_DIGEST);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_to_string(&action).unwrap();
    // Every other byte as it was; the image line names the same repository, now by digest.
    assert_eq!(after, pinned(&original, SAMPLE_DIGEST));
    assert!(after.contains(&format!(
        "\n  image: docker://ghcr.io/marketplace-release/marketplace-release@{SAMPLE_DIGEST}\n"
    )));
    let parsed: Value = serde_yaml::from_str(&after).unwrap();
    assert_eq!(
        parsed["runs"]["image"].as_str().unwrap(),
        format!("docker://ghcr.io/marketplace-release/marketplace-release@{SAMPLE_DIGEST}")
    );
    let mode = std::fs::metadata(&action).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640, "the file keeps its mode");
    assert_eq!(
        files_in(dir.path()),
        vec![action.clone()],
        "no temp file left"
    );

    // Pinned once: a second run has no tag-pinned line to rewrite and says so.
    let out = pin_script(&action, SAMPLE_DIGEST);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one docker:// image line"));
    assert_eq!(std::fs::read_to_string(&action).unwrap(), after);

    // Two image lines are refused, not guessed at.
    let doubled = format!(
        "{original}  image: docker://ghcr.io/marketplace-release/marketplace-release:v0.1.0\n"
    );
    std::fs::write(&action, &doubled).unwrap();
    assert!(!pin_script(&action, SAMPLE_DIGEST).status.success());
    assert_eq!(std::fs::read_to_string(&action).unwrap(), doubled);
}

#[test]
fn the_release_is_dispatched_with_a_version_and_attests_what_it_pushes() {
    let workflow = release();
    let on = &workflow["on"];
    assert!(
        on.get("push").is_none() && on.get("release").is_none(),
        "a pushed tag no longer releases"
    );
    let version = &on["workflow_dispatch"]["inputs"]["version"];
    assert_eq!(version["required"], true);
    assert_eq!(version["type"], "string");

    let jobs = &workflow["jobs"];
    let image = &jobs["image"];
    let build = step_using(image, "docker/build-push-action");
    let id = str_of(&build["id"], "the build step's id");
    let digest = format!("${{{{ steps.{id}.outputs.digest }}}}");
    assert_eq!(build["with"]["push"], true);
    assert_eq!(build["with"]["platforms"], "linux/amd64,linux/arm64");
    assert_eq!(
        build["with"]["tags"],
        "${{ needs.check.outputs.image }}:v${{ needs.check.outputs.version }}"
    );
    assert_eq!(image["outputs"]["digest"].as_str(), Some(digest.as_str()));

    let attest = step_using(image, "actions/attest-build-provenance");
    assert_eq!(
        attest["with"]["subject-name"],
        "${{ needs.check.outputs.image }}"
    );
    assert_eq!(
        attest["with"]["subject-digest"].as_str(),
        Some(digest.as_str())
    );
    assert_eq!(attest["with"]["push-to-registry"], true);

    let binaries = &jobs["binaries"];
    let upload = step_using(binaries, "actions/upload-artifact");
    let attest = step_using(binaries, "actions/attest-build-provenance");
    assert_eq!(attest["with"]["subject-path"], upload["with"]["path"]);
    let at = |job: &Value, step: &Value| steps(job).iter().position(|s| s == step).unwrap();
    assert!(at(binaries, attest) < at(binaries, upload));

    // Least privilege: the token can write contents only where the tag and release are made,
    // and sign or store attestations only where something is attested.
    assert_eq!(workflow["permissions"]["contents"], "read");
    for (name, job) in jobs.as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let permissions = &job["permissions"];
        let attests = steps(job).iter().any(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/attest-build-provenance@"))
        });
        assert_eq!(
            permissions["contents"].as_str().unwrap_or("read"),
            if name == "publish" { "write" } else { "read" },
            "{name}: contents"
        );
        for scope in ["id-token", "attestations"] {
            assert_eq!(
                permissions[scope].as_str(),
                attests.then_some("write"),
                "{name}: {scope}"
            );
        }
        let pushes = name == "image";
        assert_eq!(
            permissions["packages"].as_str(),
            pushes.then_some("write"),
            "{name}: packages"
        );
    }
    let check = &jobs["check"];
    let branch = step_named(check, "Released from the default branch");
    let dir = tempfile::tempdir().unwrap();
    for (git_ref, allowed) in [
        ("refs/heads/main", true),
        ("refs/heads/feature", false),
        ("refs/tags/v0.1.0", false),
    ] {
        let out = run_step(
            branch,
            dir.path(),
            &[("REF", git_ref), ("DEFAULT_BRANCH", "main")],
        );
        assert_eq!(out.status.success(), allowed, "a release from {git_ref}");
    }
    assert!(
        steps(check)
            .iter()
            .any(|s| s["run"].as_str() == Some("bash scripts/verify-pins.sh")),
        "the release re-resolves every pin before it builds"
    );
    for job in ["image", "binaries"] {
        assert!(
            jobs[job]["needs"] == "check"
                || jobs[job]["needs"]
                    .as_sequence()
                    .is_some_and(|n| n.contains(&Value::from("check")))
        );
    }
}

/// The publish job's pin and tag steps, run as the workflow runs them in a clone of a repository
/// whose `origin` is a local bare repository: the tag lands on a commit that differs from the
/// dispatched one by the pinned image line only, and main is not moved.
#[test]
fn the_release_tags_the_commit_that_pins_the_pushed_digest() {
    let workflow = release();
    let publish = &workflow["jobs"]["publish"];
    let needs: Vec<&str> = publish["needs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(needs.contains(&"image") && needs.contains(&"check"));
    let pin = step_named(publish, "Pin action.yml to the pushed image digest");
    assert_eq!(pin["env"]["DIGEST"], "${{ needs.image.outputs.digest }}");
    assert_eq!(pin["run"], "bash scripts/pin-action-image.sh \"$DIGEST\"");
    let tag = step_named(
        publish,
        "Commit the pinned action.yml, tag that commit and push the tag",
    );
    assert_eq!(tag["env"]["VERSION"], "${{ needs.check.outputs.version }}");
    let release = step_named(publish, "Create the GitHub release with the binaries");
    let release_run = str_of(&release["run"], "the release step");
    assert!(
        release_run.contains("gh release create \"v$VERSION\"")
            && release_run.contains("--verify-tag")
    );
    let order: Vec<usize> = [pin, tag, release]
        .iter()
        .map(|s| steps(publish).iter().position(|x| x == *s).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "pin, then tag, then release"
    );

    // A clone of the project as the checkout leaves it.
    let root = tempfile::tempdir().unwrap();
    let origin = root.path().join("origin.git");
    let seed = root.path().join("seed");
    let work = root.path().join("work");
    std::fs::create_dir_all(seed.join("scripts")).unwrap();
    std::fs::copy(common::repo().join("action.yml"), seed.join("action.yml")).unwrap();
    std::fs::copy(
        common::repo().join("scripts/pin-action-image.sh"),
        seed.join("scripts/pin-action-image.sh"),
    )
    .unwrap();
    std::fs::write(seed.join("README.md"), "# marketplace-release\n").unwrap();
    git(root.path(), &["init", "--quiet", "--bare", "origin.git"]);
    git(&seed, &["init", "--quiet"]);
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "--quiet", "-m", "v0.1.0 on main"]);
    git(
        &seed,
        &["push", "--quiet", origin.to_str().unwrap(), "main"],
    );
    git(
        root.path(),
        &["clone", "--quiet", origin.to_str().unwrap(), "work"],
    );
    let dispatched = git(&work, &["rev-parse", "HEAD"]);
    // The downloaded binaries sit beside the checkout and must not be committed.
    std::fs::write(work.join("stray.txt"), "not ours to commit").unwrap();

    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let home = home.to_str().unwrap();
    let env = [
        ("HOME", home),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("DIGEST", SAMPLE_DIGEST),
        ("VERSION", "0.1.0"),
    ];
    let out = run_step(pin, &work, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_step(tag, &work, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let tagged = git(&origin, &["rev-parse", "refs/tags/v0.1.0^{commit}"]);
    assert_eq!(
        git(&origin, &["cat-file", "-t", "refs/tags/v0.1.0"]),
        "tag",
        "annotated"
    );
    assert_eq!(
        git(&origin, &["rev-parse", &format!("{tagged}^")]),
        dispatched
    );
    assert_eq!(
        git(
            &origin,
            &["diff", "--name-only", &format!("{tagged}^"), &tagged]
        ),
        "action.yml"
    );
    assert_eq!(
        git(&origin, &["show", &format!("{tagged}:action.yml")]),
        pinned(&read("action.yml"), SAMPLE_DIGEST).trim_end()
    );
    assert_eq!(
        git(&origin, &["rev-parse", "main"]),
        dispatched,
        "main keeps the :vX.Y.Z reference"
    );

    // A failed pin stops the job before anything is committed or tagged.
    let out = run_step(pin, &work, &[("HOME", home), ("DIGEST", "")]);
    assert!(!out.status.success());
}

/// `uses: owner/repo@<40 hex> # vX.Y.Z (source: https://github.com/owner/repo/tree/vX.Y.Z)`.
fn pin_pattern() -> Regex {
    Regex::new(concat!(
        r"^\s*(?:-\s+)?uses:\s*(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(?:/[^@\s]*)?@(?P<sha>[0-9a-f]{40})",
        r" # (?P<tag>v\d+(?:\.\d+)*) \(source: https://github\.com/(?P<src>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)/tree/(?P<srctag>v\d+(?:\.\d+)*)\)$"
    ))
    .unwrap()
}

fn workflow_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::repo().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
}

/// Every `uses:` of the parsed workflow (job steps and reusable-workflow jobs).
fn uses_of(workflow: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (_, job) in workflow["jobs"].as_mapping().unwrap() {
        if let Some(uses) = job["uses"].as_str() {
            found.push(uses.to_owned());
        }
        for step in job["steps"].as_sequence().into_iter().flatten() {
            if let Some(uses) = step["uses"].as_str() {
                found.push(uses.to_owned());
            }
        }
    }
    found
}

#[test]
fn every_workflow_action_is_pinned_by_a_commit_sha_with_its_tag_and_source() {
    let pattern = pin_pattern();
    let uses_line = Regex::new(r"^\s*(?:-\s+)?uses:").unwrap();
    let mut pins = Vec::new();
    for file in workflow_files() {
        let name = file
            .strip_prefix(common::repo())
            .unwrap()
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed: Value = serde_yaml::from_str(&text).unwrap();
        let mut lines = 0;
        for (n, line) in text.lines().enumerate() {
            if !uses_line.is_match(line) {
                continue;
            }
            lines += 1;
            if let Some(c) = pattern.captures(line) {
                assert_eq!(
                    &c["repo"],
                    &c["src"],
                    "{name}:{}: the source is the action's own repository",
                    n + 1
                );
                assert_eq!(
                    &c["tag"],
                    &c["srctag"],
                    "{name}:{}: the source names the same tag",
                    n + 1
                );
                pins.push(format!("{} {} {}", &c["repo"], &c["tag"], &c["sha"]));
                continue;
            }
            let reference = line.split("uses:").nth(1).unwrap().trim();
            let reference = reference.split(' ').next().unwrap();
            assert!(
                TAG_PINNED_ALLOWED.iter().any(|(allowed, _)| *allowed == reference),
                "{name}:{}: `{}` must be pinned as `uses: OWNER/REPO@<40-hex commit> # vX.Y.Z (source: https://github.com/OWNER/REPO/tree/vX.Y.Z)`, read from the tag in the action's repository, or be allowed (with a reason) in TAG_PINNED_ALLOWED",
                n + 1,
                line.trim()
            );
        }
        // The line scan saw every `uses:` the YAML holds (none hides in a flow mapping).
        assert_eq!(
            lines,
            uses_of(&parsed).len(),
            "{name}: every uses: is on its own line"
        );
    }
    for (reference, reason) in TAG_PINNED_ALLOWED {
        assert!(
            reason.len() > 20,
            "{reference}: say why it stays tag-pinned"
        );
    }
    // One tag, one commit: an action pinned twice is pinned the same way.
    pins.sort();
    pins.dedup();
    for pair in pins.windows(2) {
        let (a, b): (Vec<&str>, Vec<&str>) =
            (pair[0].split(' ').collect(), pair[1].split(' ').collect());
        assert!(
            a[0] != b[0],
            "{} and {} pin one action two ways",
            pair[0],
            pair[1]
        );
    }

    // The release workflow's check lists the same pins, and the Dockerfile's base image.
    let out = Command::new("bash")
        .arg(common::repo().join("scripts/verify-pins.sh"))
        .arg("--list")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let listed = String::from_utf8(out.stdout).unwrap();
    let mut actions: Vec<String> = listed
        .lines()
        .filter_map(|l| l.strip_prefix("action "))
        .map(|l| l.split_once(' ').unwrap().1.to_owned())
        .collect();
    actions.sort();
    actions.dedup();
    assert_eq!(actions, pins);
    for line in listed.lines().filter_map(|l| l.strip_prefix("tag-pinned ")) {
        let reference = line.split(' ').nth(1).unwrap();
        assert!(
            TAG_PINNED_ALLOWED
                .iter()
                .any(|(allowed, _)| *allowed == reference),
            "{line}: tag-pinned but not allowed"
        );
    }
    let dockerfile = read("Dockerfile");
    let from = base_image(&dockerfile);
    assert!(listed.contains(&format!(
        "image Dockerfile:{} {} {}",
        from.line, from.tagged, from.digest
    )));
}

struct BaseImage {
    line: usize,
    tagged: String,
    version: (u64, u64, u64),
    digest: String,
}

/// The build stage's `FROM rust:X.Y.Z-<suite>@sha256:… AS build`, whose comment cites
/// docker-library/repo-info's page of that tag.
fn base_image(dockerfile: &str) -> BaseImage {
    let from = Regex::new(
        r"^FROM (?P<tagged>rust:(?P<v>\d+)\.(?P<m>\d+)\.(?P<p>\d+)-[a-z]+)@(?P<digest>sha256:[0-9a-f]{64}) AS build$",
    )
    .unwrap();
    let lines: Vec<&str> = dockerfile.lines().collect();
    let (n, c) = lines
        .iter()
        .enumerate()
        .find_map(|(n, l)| from.captures(l).map(|c| (n, c)))
        .expect("the build stage is FROM rust:X.Y.Z-<suite>@sha256:<digest> AS build");
    let tag = c["tagged"].strip_prefix("rust:").unwrap().to_owned();
    let source = format!("/repos/rust/remote/{tag}.md)");
    assert!(
        lines[..n].iter().rev().take(4).any(|l| l.starts_with('#')
            && l.contains("(source: https://github.com/docker-library/repo-info/blob/")
            && l.contains(&source)),
        "the pin cites docker-library/repo-info's {tag}.md, where its digest is published"
    );
    let num = |k: &str| c[k].parse::<u64>().unwrap();
    BaseImage {
        line: n + 1,
        tagged: c["tagged"].to_owned(),
        version: (num("v"), num("m"), num("p")),
        digest: c["digest"].to_owned(),
    }
}

fn version_triple(text: &str) -> (u64, u64, u64) {
    let parts: Vec<u64> = text.split('.').map(|p| p.parse().unwrap()).collect();
    (parts[0], parts[1], parts.get(2).copied().unwrap_or(0))
}

/// `RUSTFLAGS='…'` and the flags of `cargo build` in a shell text.
fn build_flags(text: &str) -> (String, Vec<String>) {
    let rustflags = Regex::new(r"RUSTFLAGS='([^']*)'").unwrap();
    let flags: Vec<&str> = rustflags
        .captures_iter(text)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(flags.len(), 1, "one RUSTFLAGS");
    let build = text
        .lines()
        .find_map(|l| l.split_once("cargo build").map(|(_, rest)| rest))
        .expect("a cargo build");
    let args: Vec<String> = build
        .split_whitespace()
        .filter(|a| a.starts_with("--") && *a != "--quiet")
        .map(str::to_owned)
        .collect();
    (flags[0].to_owned(), args)
}

#[test]
fn action_yml_the_release_workflow_and_the_dockerfile_agree() {
    let version = env!("CARGO_PKG_VERSION");
    // The owner users write in `uses:` (README), which is the image's namespace on ghcr.io.
    let readme = read("README.md");
    let owner = Regex::new(r"uses: ([A-Za-z0-9-]+)/marketplace-release@")
        .unwrap()
        .captures(&readme)
        .expect("the README shows `uses: OWNER/marketplace-release@…`")[1]
        .to_owned();

    // The release's own check, run here: main's action.yml runs the image the release pushes,
    // by the tag of this version; GitHub may report the owner in any case, ghcr.io wants it low.
    let workflow = release();
    let check = step_named(
        &workflow["jobs"]["check"],
        "The version, Cargo.toml and action.yml agree",
    );
    assert_eq!(check["id"], "names");
    let outputs_of_check = &workflow["jobs"]["check"]["outputs"];
    assert_eq!(
        outputs_of_check["version"],
        "${{ steps.names.outputs.version }}"
    );
    assert_eq!(
        outputs_of_check["image"],
        "${{ steps.names.outputs.image }}"
    );
    assert_eq!(check["env"]["VERSION"], "${{ inputs.version }}");
    assert_eq!(check["env"]["OWNER"], "${{ github.repository_owner }}");
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("outputs");
    for given in [owner.clone(), owner.to_uppercase()] {
        std::fs::write(&outputs, "").unwrap();
        let out = run_step(
            check,
            &common::repo(),
            &[
                ("VERSION", version),
                ("OWNER", &given),
                ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let written = std::fs::read_to_string(&outputs).unwrap();
        let image = format!("ghcr.io/{}/marketplace-release", owner.to_lowercase());
        assert_eq!(written, format!("version={version}\nimage={image}\n"));
        let action: Value = serde_yaml::from_str(&read("action.yml")).unwrap();
        assert_eq!(
            action["runs"]["image"].as_str().unwrap(),
            format!("docker://{image}:v{version}"),
            "main's action.yml runs the image the release pushes, by the tag v{version}"
        );
    }
    for wrong in ["9.9.9", "v0.1.0", "0.1", "0.1.0\n::warning::x"] {
        std::fs::write(&outputs, "").unwrap();
        let out = run_step(
            check,
            &common::repo(),
            &[
                ("VERSION", wrong),
                ("OWNER", &owner),
                ("GITHUB_OUTPUT", outputs.to_str().unwrap()),
            ],
        );
        assert!(!out.status.success(), "the version {wrong:?} was accepted");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("::error"));
        assert_eq!(std::fs::read_to_string(&outputs).unwrap(), "");
    }

    // The container build and the binaries (and the tests' container binary) compile alike.
    let dockerfile = read("Dockerfile");
    let script = read("scripts/container-binary.sh");
    assert_eq!(build_flags(&dockerfile), build_flags(&script));
    assert_eq!(
        build_flags(&dockerfile),
        (
            "-C target-feature=+crt-static".to_owned(),
            vec![
                "--release".to_owned(),
                "--locked".to_owned(),
                "--target".to_owned()
            ]
        )
    );
    let binaries = &workflow["jobs"]["binaries"];
    let run: String = steps(binaries)
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(run.contains("bash scripts/container-binary.sh"));
    assert!(run.contains("RUSTUP_TOOLCHAIN=$toolchain") && run.contains("Dockerfile"));

    // The base image's Rust is at least the crate's rust-version.
    let base = base_image(&dockerfile);
    let msrv = version_triple(env!("CARGO_PKG_RUST_VERSION"));
    assert!(
        base.version >= msrv,
        "{} is older than rust-version {msrv:?}",
        base.tagged
    );
}

/// scripts/verify-pins.sh against local repositories: a pin that matches its tag passes, a tag
/// that moved fails with both commits named, and so does a base image whose tag moved.
#[test]
fn verify_pins_fails_when_a_tag_no_longer_points_at_the_pin() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    let remotes = root.path().join("remotes");
    std::fs::create_dir_all(project.join("scripts")).unwrap();
    std::fs::create_dir_all(project.join(".github/workflows")).unwrap();
    std::fs::copy(
        common::repo().join("scripts/verify-pins.sh"),
        project.join("scripts/verify-pins.sh"),
    )
    .unwrap();
    // Two actions: one tagged with an annotated tag, one with a lightweight tag.
    let mut commits = Vec::new();
    for (repo, annotated) in [("acme/annotated", true), ("acme/light", false)] {
        let dir = remotes.join(repo);
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "--quiet"]);
        std::fs::write(dir.join("action.yml"), "name: x\n").unwrap();
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "--quiet", "-m", "one"]);
        if annotated {
            git(&dir, &["tag", "-a", "v1.2.0", "-m", "v1.2.0"]);
        } else {
            git(&dir, &["tag", "v1.2.0"]);
        }
        commits.push(git(&dir, &["rev-parse", "HEAD"]));
    }
    let workflow = format!(
        "jobs:\n  x:\n    steps:\n      - uses: acme/annotated@{} # v1.2.0 (source: https://github.com/acme/annotated/tree/v1.2.0)\n      - uses: acme/light@{} # v1.2.0 (source: https://github.com/acme/light/tree/v1.2.0)\n",
        commits[0], commits[1]
    );
    std::fs::write(project.join(".github/workflows/ci.yml"), &workflow).unwrap();
    let digest = SAMPLE_DIGEST;
    std::fs::write(
        project.join("Dockerfile"),
        format!("FROM rust:1.98.1-bookworm@{digest} AS build\nFROM scratch\n"),
    )
    .unwrap();
    // Stands in for `docker buildx imagetools inspect NAME`, printing its documented default
    // output (Name, MediaType, Digest of the index, then Manifests), from
    // https://docs.docker.com/reference/cli/docker/buildx/imagetools/inspect/ — the digest it
    // reports is the one in $REGISTRY_DIGEST.
    let docker = root.path().join("docker");
    std::fs::write(
        &docker,
        "#!/bin/sh\n[ \"$1 $2 $3\" = 'buildx imagetools inspect' ] || exit 64\nprintf 'Name:      docker.io/library/%s\\nMediaType: application/vnd.oci.image.index.v1+json\\nDigest:    %s\\n\\nManifests:\\n  Name:      docker.io/library/%s@sha256:%064d\\n' \"$4\" \"$REGISTRY_DIGEST\" \"$4\" 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let verify = |registry: &str| {
        Command::new("bash")
            .arg(project.join("scripts/verify-pins.sh"))
            .env("MARKETPLACE_RELEASE_PIN_GIT_BASE", &remotes)
            .env("DOCKER", &docker)
            .env("REGISTRY_DIGEST", registry)
            .output()
            .unwrap()
    };

    let out = verify(digest);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("every pin matches its source"));

    // The base image's tag moved.
    let moved = SAMPLE_DIGEST.replace("0123", "4567");
    let out = verify(&moved);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success());
    assert!(
        stdout.contains(&format!("::error file=Dockerfile,line=1::rust:1.98.1-bookworm is now {moved}, the pin says {digest}")),
        "{stdout}"
    );

    // Both tags moved to a new commit.
    for repo in ["acme/annotated", "acme/light"] {
        let dir = remotes.join(repo);
        std::fs::write(dir.join("action.yml"), "name: y\n").unwrap();
        git(&dir, &["commit", "--quiet", "-am", "two"]);
        git(&dir, &["tag", "-f", "-a", "v1.2.0", "-m", "moved"]);
    }
    let out = verify(digest);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success());
    for (n, repo) in [(4, "acme/annotated"), (5, "acme/light")] {
        let now = git(&remotes.join(repo), &["rev-parse", "HEAD"]);
        assert!(
            stdout.contains(&format!(
                "::error file=.github/workflows/ci.yml,line={n}::{repo} tag v1.2.0 is commit {now}, the pin says {}",
                commits[n - 4]
            )),
            "{stdout}"
        );
    }

    // A tag that does not exist, and a SHA pin without its comment.
    std::fs::write(
        project.join(".github/workflows/ci.yml"),
        workflow
            .replace(
                "# v1.2.0 (source: https://github.com/acme/light/tree/v1.2.0)",
                "",
            )
            .replace("acme/annotated/tree/v1.2.0", "acme/annotated/tree/v9.0.0")
            .replace("# v1.2.0", "# v9.0.0"),
    )
    .unwrap();
    let out = verify(digest);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success());
    assert!(
        stdout.contains("acme/annotated has no tag v9.0.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("has no '# vX.Y.Z (source: …)' comment"),
        "{stdout}"
    );
}

/// `.ci/run` runs this test: the dependency audit, which needs the advisory database on GitHub,
/// runs in CI with a pinned cargo-deny.
#[test]
fn ci_audits_the_dependencies_with_a_pinned_cargo_deny() {
    let ci = yaml(".github/workflows/ci.yml");
    let jobs = ci["jobs"].as_mapping().unwrap();
    let deny = jobs
        .values()
        .find(|job| {
            steps(job).iter().any(|s| {
                s["run"]
                    .as_str()
                    .is_some_and(|r| r.contains("cargo deny") && r.contains("check advisories"))
            })
        })
        .expect("a CI job runs `cargo deny … check advisories`");
    let install = step_using(deny, "taiki-e/install-action");
    let tool = str_of(&install["with"]["tool"], "install-action's tool");
    assert!(
        Regex::new(r"^cargo-deny@\d+\.\d+\.\d+$")
            .unwrap()
            .is_match(tool),
        "cargo-deny at an exact version, not {tool}"
    );
    assert_eq!(
        install["with"]["fallback"], "none",
        "no unchecked build when the prebuilt is missing"
    );
    let run = steps(deny)
        .iter()
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("cargo deny")))
        .unwrap();
    assert!(
        run.contains("--locked"),
        "the audit reads Cargo.lock as committed"
    );
    for check in ["advisories", "bans", "licenses", "sources"] {
        assert!(run.contains(check), "cargo deny checks {check}");
    }
    let config = read("deny.toml");
    assert!(config.contains("[advisories]") && config.contains("[licenses]"));
}
