//! `marketplace-release plan` through the real binary: the bundled example, a user's own PR
//! body template, the version from a tag, and config errors.

use crate::common;

use std::path::Path;

fn plan(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut full = vec!["plan"];
    full.extend_from_slice(args);
    let out = common::run_binary(dir, &full, env);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_bundled_example_plans_without_credentials() {
    let (code, out, err) = plan(
        &common::repo(),
        &[
            "--config",
            "examples/neo4j/marketplace-release.yml",
            "--version",
            "5.26.0",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    for expected in [
        "Release plan: Neo4j Enterprise Edition 5.26.0",
        "AMI (x86_64): neo4j-enterprise-5.26.0-x86_64-",
        "Regions (16): us-east-1, us-east-2,",
        "AWS account: whichever the credentials belong to, not checked (set product.seller-account",
        "Branch: marketplace-release/5.26.0",
        "--- a/examples/neo4j/neo4j.template.yaml",
        "-    Default: '5.25.1'\n+    Default: '5.26.0'",
        "+    sa-east-1:\n+      BYOL: ami-00000000000000110",
        "Pull request: Release Neo4j Enterprise Edition 5.26.0 on AWS Marketplace",
        "| AMI ID (us-east-1) | `ami-00000000000000101` |",
        "| IAM access role ARN | `arn:aws:iam::123456789012:role/MarketplaceAmiIngestion` |",
        "- [ ] Add the new AMI version in the AWS Marketplace Management Portal",
        "<!-- marketplace-release: product=Neo4j Enterprise Edition version=5.26.0 -->",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let example =
        std::fs::read_to_string(common::repo().join("examples/neo4j/neo4j.template.yaml")).unwrap();
    assert!(
        example.contains("Default: '5.25.1'"),
        "plan never writes the template"
    );
}

fn user_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let example = common::repo().join("examples/neo4j");
    std::fs::create_dir_all(dir.path().join(".github")).unwrap();
    std::fs::create_dir_all(dir.path().join("cfn")).unwrap();
    std::fs::create_dir_all(dir.path().join("build")).unwrap();
    std::fs::copy(
        example.join("build/install.sh"),
        dir.path().join("build/install.sh"),
    )
    .unwrap();
    std::fs::copy(
        example.join("neo4j.template.yaml"),
        dir.path().join("cfn/product.template.yaml"),
    )
    .unwrap();
    let config = std::fs::read_to_string(example.join("marketplace-release.yml"))
        .unwrap()
        .replace(
            "examples/neo4j/neo4j.template.yaml",
            "cfn/product.template.yaml",
        )
        .replace("examples/neo4j/build/install.sh", "build/install.sh");
    std::fs::write(dir.path().join(".github/marketplace-release.yml"), config).unwrap();
    dir
}

#[test]
fn real_amis_a_custom_body_and_a_tag_version() {
    let repo = user_repo();
    std::fs::write(
        repo.path().join("amis.json"),
        r#"{"us-east-1": "ami-0aaaaaaaaaaaaaaa1", "eu-west-1": "ami-0aaaaaaaaaaaaaaa2"}"#,
    )
    .unwrap();
    std::fs::write(repo.path().join(".github/body.md.j2"), "Ship {{ version }}: {% for r in regions %}{{ r.region }}={{ r.amis['x86_64'] }} {% endfor %}\n").unwrap();
    let config = repo.path().join(".github/marketplace-release.yml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "  draft: false",
        "  draft: false\n  body-template: .github/body.md.j2",
    );
    std::fs::write(&config, text).unwrap();
    let (code, out, err) = plan(
        repo.path(),
        &[
            "--config",
            ".github/marketplace-release.yml",
            "--amis",
            "amis.json",
        ],
        &[
            ("GITHUB_REF_TYPE", "tag"),
            ("GITHUB_REF_NAME", "v2025.06.0"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "Ship 2025.06.0: us-east-1=ami-0aaaaaaaaaaaaaaa1 eu-west-1=ami-0aaaaaaaaaaaaaaa2"
        ),
        "{out}"
    );
    assert!(out.contains("+    Default: '2025.06.0'"), "{out}");
    assert!(!out.contains("placeholders"), "{out}");
}

/// Plans with the user repo's config after replacing `from` by `to`; expects exit 2 and every
/// part of `expect` in the message.
fn refused_config(repo: &Path, good: &str, from: &str, to: &str, expect: &[&str]) {
    assert!(good.contains(from), "fixture lacks {from:?}");
    std::fs::write(
        repo.join(".github/marketplace-release.yml"),
        good.replace(from, to),
    )
    .unwrap();
    let (code, _, err) = plan(
        repo,
        &[
            "--config",
            ".github/marketplace-release.yml",
            "--version",
            "1.0.0",
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    for part in expect {
        assert!(err.contains(part), "expected {part:?} in:\n{err}");
    }
    assert!(err.contains("help:"), "{err}");
}

#[test]
fn config_and_version_errors_are_clear() {
    let repo = user_repo();
    let config = repo.path().join(".github/marketplace-release.yml");
    let good = std::fs::read_to_string(&config).unwrap();
    refused_config(
        repo.path(),
        &good,
        "  instance-type: t3.medium",
        "  instance-typ: t3.medium",
        &[
            ".github/marketplace-release.yml:39:3:",
            "did you mean `instance-type`",
        ],
    );
    refused_config(
        repo.path(),
        &good,
        "  - sa-east-1",
        "  - sa-east-1\n  - mars-north-1",
        &["mars-north-1", "region"],
    );
    refused_config(
        repo.path(),
        &good,
        "    mapping: Neo4j",
        "    mapping: Neo5j",
        &["cfn/product.template.yaml:", "did you mean `Neo4j`"],
    );
    refused_config(
        repo.path(),
        &good,
        "version-title: \"{{ version }}\"",
        "version-title: \"{{ versoin }}\"",
        &["load-form.version-title"],
    );

    std::fs::write(&config, &good).unwrap();
    let (code, _, err) = plan(
        repo.path(),
        &["--config", ".github/marketplace-release.yml"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no version given") && err.contains("--version"),
        "{err}"
    );
    let (code, _, err) = plan(
        repo.path(),
        &["--config", "missing.yml", "--version", "1.0.0"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("missing.yml") && err.contains("help:"),
        "{err}"
    );
}

#[test]
fn a_body_over_githubs_limit_drops_optional_parts_and_says_so() {
    let repo = user_repo();
    let config = repo.path().join(".github/marketplace-release.yml");
    let long_notes = "Long release notes. ".repeat(3_500);
    let text = std::fs::read_to_string(&config).unwrap();
    let start = text.find("  release-notes: |").unwrap();
    let end = text.find("  access-role-arn:").unwrap();
    std::fs::write(
        &config,
        format!(
            "{}  release-notes: \"{long_notes}\"\n{}",
            &text[..start],
            &text[end..]
        ),
    )
    .unwrap();
    let (code, out, err) = plan(
        repo.path(),
        &[
            "--config",
            ".github/marketplace-release.yml",
            "--version",
            "1.0.0",
            "--load-form-csv",
            "load-form.csv",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let body = &out[out.find("<!-- marketplace-release:").unwrap()..];
    assert!(
        body.chars().count() <= 65_536,
        "{} characters",
        body.chars().count()
    );
    assert!(
        body.contains("Left out to stay within GitHub's 65,536-character limit"),
        "{body}"
    );
    assert!(
        body.contains("the AMIs of 15 other regions"),
        "the region table goes first"
    );
    assert!(
        body.contains("the end of load form values longer than 4000 characters"),
        "then the long values"
    );
    assert!(
        body.contains("| us-east-1 | `ami-00000000000000101` |"),
        "us-east-1 stays"
    );
    assert!(
        body.contains("- [ ] Merge this pull request"),
        "the checklist stays"
    );
    // The CSV keeps every value whole.
    let csv = std::fs::read_to_string(repo.path().join("load-form.csv")).unwrap();
    assert!(
        csv.starts_with("Field,Value\nVersion title,1.0.0\n"),
        "{}",
        &csv[..200.min(csv.len())]
    );
    assert!(csv.contains(long_notes.trim()), "the CSV is not trimmed");
    assert!(csv.contains("AMI ID (us-east-1),ami-00000000000000101\n"));
}

/// Issue 13: files the tool writes as root are readable by the next workflow step, which
/// runs as the runner's user (uid 1001), as `actions/upload-artifact` reads them.
#[test]
fn written_files_are_readable_by_another_user() {
    let is_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    assert!(
        is_root,
        "this test reads the files as uid 1001 with setpriv, which needs root (CI runs as root)"
    );
    let repo = user_repo();
    let (code, _, err) = plan(
        repo.path(),
        &[
            "--config",
            ".github/marketplace-release.yml",
            "--version",
            "1.0.0",
            "--load-form-csv",
            "load-form.csv",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let csv = repo.path().join("load-form.csv");
    // The directory must be enterable by uid 1001 too, as the workspace is on the runner.
    let mut dir = Some(repo.path());
    while let Some(d) = dir {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d).unwrap().permissions().mode();
        if mode & 0o001 == 0 {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o005)).unwrap();
        }
        dir = d.parent();
    }
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=1001", "--regid=1001", "--clear-groups", "cat"])
        .arg(&csv)
        .output()
        .expect("setpriv (util-linux) runs");
    assert!(
        out.status.success(),
        "uid 1001 cannot read {}: {}",
        csv.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn template_rows_of_other_partitions_are_listed_as_kept_and_regions_stay_in_one() {
    let repo = user_repo();
    let template = repo.path().join("cfn/product.template.yaml");
    let text = std::fs::read_to_string(&template).unwrap().replace(
        "    us-east-1:\n      BYOL: ami-0a1b2c3d4e5f60718",
        "    us-east-1:\n      BYOL: ami-0a1b2c3d4e5f60718\n    cn-north-1:\n      BYOL: ami-0a1b2c3d4e5f60719\n    us-gov-west-1:\n      BYOL: ami-0a1b2c3d4e5f6071a",
    );
    std::fs::write(&template, &text).unwrap();
    let config = repo.path().join(".github/marketplace-release.yml");
    let pruning = std::fs::read_to_string(&config).unwrap().replace(
        "    version-parameter: GraphDatabaseVersion\n",
        "    version-parameter: GraphDatabaseVersion\n    prune: true\n",
    );
    std::fs::write(&config, &pruning).unwrap();
    let args = [
        "--config",
        ".github/marketplace-release.yml",
        "--version",
        "5.26.0",
    ];
    let (code, out, err) = plan(repo.path(), &args, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("kept, not copied to (other partition): cn-north-1 (aws-cn), us-gov-west-1 (aws-us-gov)"),
        "{out}"
    );
    assert!(
        !out.contains("-    cn-north-1:") && !out.contains("-    us-gov-west-1:"),
        "{out}"
    );

    std::fs::write(
        &config,
        pruning.replace(
            "regions:\n  - us-east-1\n",
            "regions:\n  - us-east-1\n  - cn-north-1\n",
        ),
    )
    .unwrap();
    let (code, _, err) = plan(repo.path(), &args, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "`regions.1`: cn-north-1 is in partition aws-cn, but build.region us-east-1 is in aws"
        ),
        "{err}"
    );
}

/// `build.image`: the plan reads no build script, says the AMI is a copy of an existing one
/// that marketplace-release did not build, and the PR body warns about it.
#[test]
fn an_existing_ami_plans_without_a_build_script() {
    let repo = user_repo();
    let config = repo.path().join(".github/marketplace-release.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    let start = text.find("  base-ami:\n").unwrap();
    let end = start + text[start..].find("  instance-type:").unwrap();
    let text = format!(
        "{}  image: ami-0123456789abcdef0\n{}",
        &text[..start],
        &text[end..]
    )
    .replace("  script: build/install.sh\n", "");
    std::fs::write(&config, text).unwrap();
    std::fs::remove_file(repo.path().join("build/install.sh")).unwrap();
    let (code, out, err) = plan(
        repo.path(),
        &[
            "--config",
            ".github/marketplace-release.yml",
            "--version",
            "5.26.0",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("copied in us-east-1 from the existing AMI ami-0123456789abcdef0 (not built by marketplace-release: hardening not verified)"),
        "{out}"
    );
    assert!(!out.contains("Build script:"), "{out}");
    assert!(
        out.contains("The x86_64 AMI was not built by marketplace-release: it is a copy of `ami-0123456789abcdef0`"),
        "{out}"
    );
}
