//! What a new user met when adopting the tool from the README (issue 17), each as a test: a
//! vendor template with CRLF line ends, more regions than the config lists, an odd AMI key and no
//! version parameter; the IAM setup; the build script check of `plan`; the load form's
//! warnings; and the Quick start's files.

use crate::common;

use std::path::Path;

/// A vendor's template: CRLF, four regions under key `AMI`, no version parameter.
const VENDOR_TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'\r\nParameters:\r\n  InstanceType:\r\n    Type: String\r\n    Default: m5.large\r\nMappings:\r\n  RegionMap:\r\n    us-east-1:\r\n      AMI: ami-0aaaaaaaaaaaaaaa1\r\n    eu-west-1:\r\n      AMI: ami-0aaaaaaaaaaaaaaa2\r\n    ap-south-1:\r\n      AMI: ami-0aaaaaaaaaaaaaaa3\r\n    sa-east-1:\r\n      AMI: ami-0aaaaaaaaaaaaaaa4\r\nResources:\r\n  Server:\r\n    Type: AWS::EC2::Instance\r\n    Properties:\r\n      ImageId: !FindInMap [RegionMap, !Ref 'AWS::Region', AMI]\r\n      InstanceType: !Ref InstanceType\r\n";

/// The vendor's config: two of the template's four regions, key `AMI`.
const VENDOR_CONFIG: &str = r#"product:
  name: Vendor Appliance
templates:
  - path: cfn/appliance.yaml
    keys: {x86_64: AMI}
regions: [us-east-1, eu-west-1]
build:
  base-ami: {owner: amazon, name: al2023-ami-2023.*-x86_64}
  instance-type: m5.large
  script: build/install.sh
load-form:
  release-notes: Fixes.
  access-role-arn: arn:aws:iam::123456789012:role/MarketplaceAmiIngestion
  os-user-name: ec2-user
  os-name: AMAZONLINUX
  os-version: "2023"
  recommended-instance-type: m5.large
  security-groups:
    - {protocol: tcp, from-port: 443, to-port: 443, cidr: 0.0.0.0/0}
  usage-instructions: Open https://<public DNS>.
  template-url: https://example.com/appliance.yaml
  architecture-diagram-url: https://example.com/diagram.png
"#;

/// A repository with the vendor's template, build script and config (edited by `edit`).
fn vendor_repo(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["cfn", "build", ".github"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    std::fs::write(dir.path().join("cfn/appliance.yaml"), VENDOR_TEMPLATE).unwrap();
    std::fs::write(
        dir.path().join("build/install.sh"),
        "#!/bin/bash\nset -euo pipefail\ndnf install -y appliance\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".github/marketplace-release.yml"),
        edit(VENDOR_CONFIG),
    )
    .unwrap();
    dir
}

fn plan(dir: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let out = common::run_binary(
        dir,
        &[
            "plan",
            "--config",
            ".github/marketplace-release.yml",
            "--version",
            "3.1.0",
        ],
        env,
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Item 1: a typo in `templates[].keys` was a new row in every region, and `plan` exited 0.
#[test]
fn a_key_the_mapping_lacks_is_refused_with_did_you_mean_unless_add_keys() {
    let repo = vendor_repo(|c| c.replace("{x86_64: AMI}", "{x86_64: AMII}"));
    let (code, out, err) = plan(repo.path(), &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains(".github/marketplace-release.yml:5:")
            && err.contains("`AMII` is in no region of mapping `RegionMap`"),
        "{err}"
    );
    assert!(err.contains("did you mean `AMI`?"), "{err}");
    assert!(err.contains("add-keys: true"), "{err}");

    let repo = vendor_repo(|c| {
        c.replace(
            "    keys: {x86_64: AMI}",
            "    keys: {x86_64: AMD64}\n    add-keys: true",
        )
    });
    let (code, out, err) = plan(repo.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "WARNING: NEW mapping key `AMD64` added to every region written (add-keys: true)"
        ),
        "{out}"
    );
    assert!(
        out.contains("> [!WARNING]\n> `cfn/appliance.yaml`: NEW mapping key `AMD64`"),
        "the PR body says it too:\n{out}"
    );
}

/// Item 2: template regions left out of `regions` kept old AMIs without a word.
#[test]
fn regions_left_on_old_amis_are_named_and_regions_template_takes_the_mappings() {
    let repo = vendor_repo(str::to_owned);
    let (code, out, err) = plan(repo.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("WARNING: 2 regions of the mapping keep the AMIs of an earlier release: `ap-south-1`, `sa-east-1`. Add them to `regions` (or write `regions: template`), or set `prune: true`"),
        "{out}"
    );
    assert!(
        out.contains("> `cfn/appliance.yaml`: 2 regions of the mapping keep"),
        "the PR body says it too:\n{out}"
    );

    let repo = vendor_repo(|c| c.replace("regions: [us-east-1, eu-west-1]", "regions: template"));
    let (code, out, err) = plan(repo.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Regions (4): us-east-1, eu-west-1, ap-south-1, sa-east-1"),
        "{out}"
    );
    assert!(out.contains("4 AMIs updated"), "{out}");
    assert!(!out.contains("earlier release"), "{out}");
}

/// Item 5: `plan` passed with a missing or empty build script.
#[test]
fn plan_reads_wraps_and_sizes_the_build_script() {
    let repo = vendor_repo(str::to_owned);
    let (code, out, err) = plan(repo.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Build script: build/install.sh: ") && out.contains("bytes of user data"),
        "{out}"
    );
    std::fs::write(repo.path().join("build/install.sh"), "  \n").unwrap();
    let (code, _, err) = plan(repo.path(), &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("build/install.sh") && err.contains("empty"),
        "{err}"
    );
    std::fs::remove_file(repo.path().join("build/install.sh")).unwrap();
    let (code, _, err) = plan(repo.path(), &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read build.script `build/install.sh`"),
        "{err}"
    );
}

/// Item 7: no version parameter failed the first try, with CLI advice.
#[test]
fn no_version_parameter_means_not_written_and_help_names_config_keys() {
    let repo = vendor_repo(str::to_owned);
    let (code, out, err) = plan(repo.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("WARNING: the version is not written: the template has no version parameter"),
        "{out}"
    );
    let repo = vendor_repo(|c| {
        c.replace(
            "    keys: {x86_64: AMI}",
            "    keys: {x86_64: AMI}\n    set-version: true",
        )
    });
    let (code, _, err) = plan(repo.path(), &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("templates[0].version-parameter: NAME")
            && !err.contains("--version-parameter"),
        "{err}"
    );
}

/// Item 10 and the instance types: warnings, never refusals.
#[test]
fn load_form_and_instance_type_doubts_warn_without_refusing() {
    let repo = vendor_repo(|c| {
        c.replace("os-name: AMAZONLINUX", "os-name: AMAZON LINUX")
            .replace("  instance-type: m5.large", "  instance-type: m5.xlarg")
            .replace(
                "  architecture-diagram-url: https://example.com/diagram.png\n",
                "",
            )
    });
    let (code, out, err) = plan(repo.path(), &[]);
    assert_eq!(code, 0, "{err}");
    for expected in [
        "WARNING: `build.instance-type`: `m5.xlarg` is not an instance type this build knows; did you mean `m5.xlarge`",
        "WARNING: `load-form.os-name`: `AMAZON LINUX` is not one of the operating system names",
        "WARNING: `load-form.architecture-diagram-url`: no architecture diagram URL",
        "- [ ] After merging, upload the CloudFormation template (`cfn/appliance.yaml`) to https://example.com/appliance.yaml",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    // In GitHub Actions they are annotations.
    let (_, out, _) = plan(repo.path(), &[("GITHUB_ACTIONS", "true")]);
    assert!(
        out.contains("::warning title=build.instance-type::`m5.xlarg` is not an instance type"),
        "{out}"
    );
}

/// The smaller messages: an undefined template variable is named with its config line; the
/// annotation of a config error keeps its "did you mean"; CRLF diffs show no raw `\r`.
#[test]
fn messages_name_the_variable_keep_did_you_mean_and_hide_carriage_returns() {
    let repo = vendor_repo(|c| {
        c.replace(
            "  script: build/install.sh",
            "  script: build/install.sh\n  ami-name: \"appliance-{{ versoin }}\"",
        )
    });
    let (code, _, err) = plan(repo.path(), &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains(".github/marketplace-release.yml:11:")
            && err.contains("undefined variable `versoin` (did you mean `version`?"),
        "{err}"
    );
    assert!(!err.contains("<string>"), "{err}");

    let repo = vendor_repo(|c| c.replace("  instance-type:", "  instance-typ:"));
    let (code, out, _) = plan(repo.path(), &[("GITHUB_ACTIONS", "true")]);
    assert_eq!(code, 2);
    assert!(
        out.contains("::error file=.github/marketplace-release.yml,line=9,col=3::")
            && out.contains("%0Ahelp: did you mean `instance-type`?"),
        "{out}"
    );

    let repo = vendor_repo(str::to_owned);
    let (_, out, _) = plan(repo.path(), &[]);
    assert!(
        out.contains("--- a/cfn/appliance.yaml (CRLF line endings)"),
        "{out}"
    );
    assert!(!out.contains('\r'), "a raw carriage return in:\n{out:?}");
}

/// `*` and `?` as IAM's StringLike reads them.
fn string_like(pattern: &str, text: &str) -> bool {
    let regex = format!(
        "^{}$",
        regex::escape(pattern)
            .replace("\\*", ".*")
            .replace("\\?", ".")
    );
    regex::Regex::new(&regex).unwrap().is_match(text)
}

/// The `sub` claims of the runs an example workflow starts: a tag push gives
/// `ref:refs/tags/<tag>`, a branch push `ref:refs/heads/<branch>`, and a `workflow_dispatch`
/// run from the default branch `ref:refs/heads/main`.
fn subs_of(workflow: &serde_yaml::Value) -> Vec<String> {
    let on = &workflow["on"];
    let mut subs = Vec::new();
    if let Some(tags) = on["push"]["tags"].as_sequence() {
        for tag in tags {
            let example = tag.as_str().unwrap().replace('*', "1.2.3");
            subs.push(format!("repo:OWNER/REPO:ref:refs/tags/{example}"));
        }
    }
    if let Some(branches) = on["push"]["branches"].as_sequence() {
        for branch in branches {
            subs.push(format!(
                "repo:OWNER/REPO:ref:refs/heads/{}",
                branch.as_str().unwrap()
            ));
        }
    }
    if !on["workflow_dispatch"].is_null() || on.get("workflow_dispatch").is_some() {
        subs.push("repo:OWNER/REPO:ref:refs/heads/main".into());
    }
    subs
}

/// Item 3: the role template passes cfn-lint, carries iam/policy.json and a session long
/// enough for the examples, and its trust policy (and iam/trust-policy.json) accepts the `sub`
/// of every example workflow's trigger.
#[test]
fn the_iam_role_template_lints_and_trusts_every_example_workflow() {
    let repo = common::repo();
    let role_path = repo.join("iam/marketplace-release-role.yaml");
    let lint = std::process::Command::new(common::cfn_lint())
        .arg(&role_path)
        .output()
        .unwrap();
    assert!(
        lint.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    let role: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&role_path).unwrap()).unwrap();
    let properties = &role["Resources"]["ReleaseRole"]["Properties"];
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("iam/policy.json")).unwrap())
            .unwrap();
    let embedded: serde_json::Value =
        serde_json::to_value(&properties["Policies"][0]["PolicyDocument"]).unwrap();
    assert_eq!(
        embedded, policy,
        "the role's policy is not iam/policy.json: run python3 scripts/sync-role-policy.py"
    );
    let ingestion = &role["Resources"]["IngestionRole"]["Properties"];
    assert!(
        serde_json::to_string(&serde_json::to_value(ingestion).unwrap())
            .unwrap()
            .contains("policy/AWSMarketplaceAmiIngestion")
    );

    let parameters = &role["Parameters"];
    let default = |name: &str| -> String {
        match &parameters[name]["Default"] {
            serde_yaml::Value::Number(n) => n.to_string(),
            other => other.as_str().unwrap().to_owned(),
        }
    };
    let max_session: u64 = default("MaxSessionDuration").parse().unwrap();
    let role_subs: Vec<String> = properties["AssumeRolePolicyDocument"]["Statement"][0]
        ["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| {
            s["Fn::Sub"]
                .as_str()
                .unwrap()
                .replace("${GitHubRepository}", "OWNER/REPO")
                .replace("${TagPattern}", &default("TagPattern"))
                .replace("${Branch}", &default("Branch"))
        })
        .collect();
    let trust: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("iam/trust-policy.json")).unwrap())
            .unwrap();
    let trust_subs: Vec<String> = trust["Statement"][0]["Condition"]["StringLike"]
        ["token.actions.githubusercontent.com:sub"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(role_subs, trust_subs, "the two trust policies differ");

    let duration = regex::Regex::new(r"role-duration-seconds:\s*(\d+)").unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(repo.join("examples/workflows")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let subs = subs_of(&workflow);
        assert!(
            !subs.is_empty(),
            "{}: no trigger understood",
            path.display()
        );
        for sub in subs {
            assert!(
                trust_subs.iter().any(|p| string_like(p, &sub)),
                "{}: the trust policy rejects {sub}",
                path.display()
            );
            checked += 1;
        }
        for asked in duration.captures_iter(&text) {
            let asked: u64 = asked[1].parse().unwrap();
            assert!(
                asked <= max_session,
                "{}: role-duration-seconds {asked} > MaxSessionDuration {max_session}",
                path.display()
            );
        }
    }
    assert!(checked >= 4, "too few triggers checked");
}

/// Item 9: the Quick start shows `examples/workflows/release-on-tag.yml` as it is, and every
/// file of this repository it names exists.
#[test]
fn the_quick_start_shows_the_real_workflow_and_names_files_that_exist() {
    let repo = common::repo();
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let start = readme.find("## Quick start").expect("a Quick start");
    let end = start + readme[start..].find("\n### ").expect("a section after it");
    let quick_start = &readme[start..end];
    let workflow =
        std::fs::read_to_string(repo.join("examples/workflows/release-on-tag.yml")).unwrap();
    let indented: String = workflow
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("   {l}\n")
            }
        })
        .collect();
    assert!(
        quick_start.contains(&format!("   ```yaml\n{indented}   ```")),
        "the Quick start does not show examples/workflows/release-on-tag.yml as it is"
    );
    assert!(
        workflow.contains("actions/upload-artifact"),
        "the upload-artifact step keeps the manifest"
    );
    let named = regex::Regex::new(
        r"\b(?:examples|iam|schema|templates|scripts)/[A-Za-z0-9_./-]*[A-Za-z0-9_]",
    )
    .unwrap();
    let mut count = 0;
    for found in named.find_iter(quick_start) {
        assert!(
            repo.join(found.as_str()).exists(),
            "the Quick start names {}, which does not exist",
            found.as_str()
        );
        count += 1;
    }
    assert!(count >= 4, "too few files found in the Quick start");
}
