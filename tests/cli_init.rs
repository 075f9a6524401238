//! `marketplace-release init` on templates of several shapes (one mapping with one key, a
//! mapping with an AMD64 and an ARM64 key, an ImageId parameter, JSON): the config it writes
//! names the right mapping, keys, regions and version parameter, it never overwrites without
//! `--force`, and `plan` accepts the config once the placeholders are filled.

use crate::common;

use std::path::Path;

/// One mapping, one key of no telling name, CRLF, a version parameter.
const ONE_KEY: &str = "Parameters:\r\n  ApplianceVersion:\r\n    Type: String\r\n    Default: '4.2.0'\r\nMappings:\r\n  RegionMap:\r\n    us-east-1:\r\n      AMI: ami-0aaaaaaaaaaaaaaa1\r\n    eu-west-1:\r\n      AMI: ami-0aaaaaaaaaaaaaaa2\r\n    ap-southeast-2:\r\n      AMI: ami-0aaaaaaaaaaaaaaa3\r\nResources:\r\n  Server:\r\n    Type: AWS::EC2::Instance\r\n    Properties:\r\n      ImageId: !FindInMap [RegionMap, !Ref 'AWS::Region', AMI]\r\n";

/// Two keys, one per architecture, and a second mapping without AMIs.
const TWO_KEYS: &str = "Parameters:\n  Arch:\n    Type: String\n    AllowedValues: [AMD64, ARM64]\n    Default: AMD64\n  DatabaseVersion:\n    Type: String\n    Default: 2025.06.0\nMappings:\n  Sizes:\n    small: {Type: t3.small}\n  AWSAMIRegionMap:\n    us-east-1: {AMD64: ami-0aaaaaaaaaaaaaaa1, ARM64: ami-0bbbbbbbbbbbbbbb1}\n    us-west-2: {AMD64: ami-0aaaaaaaaaaaaaaa2, ARM64: ami-0bbbbbbbbbbbbbbb2}\n    eu-central-1: {AMD64: ami-0aaaaaaaaaaaaaaa3, ARM64: ami-0bbbbbbbbbbbbbbb3}\nResources:\n  Server:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: !FindInMap [AWSAMIRegionMap, !Ref 'AWS::Region', !Ref Arch]\n";

/// No mapping: an ImageId parameter with a literal AMI, and no version parameter.
const IMAGE_PARAMETER: &str = "Parameters:\n  ImageId:\n    Type: AWS::EC2::Image::Id\n    Default: ami-0aaaaaaaaaaaaaaa1\nResources:\n  Server:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: !Ref ImageId\n";

/// JSON, with an HVM64 key.
const JSON: &str = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {
    "ProductVersion": {"Type": "String", "Default": "1.0.3"}
  },
  "Mappings": {
    "AWSRegionArch2AMI": {
      "us-east-1": {"HVM64": "ami-0aaaaaaaaaaaaaaa1"},
      "sa-east-1": {"HVM64": "ami-0aaaaaaaaaaaaaaa2"}
    }
  },
  "Resources": {
    "Server": {
      "Type": "AWS::EC2::Instance",
      "Properties": {"ImageId": {"Fn::FindInMap": ["AWSRegionArch2AMI", {"Ref": "AWS::Region"}, "HVM64"]}}
    }
  }
}
"#;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = common::run_binary(dir, args, &[]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Runs `init` on `template` (written at `path`), checks the config holds `expected`, fills the
/// placeholders, and plans.
fn init_then_plan(path: &str, template: &str, expected: &[&str]) -> String {
    let repo = tempfile::tempdir().unwrap();
    let file = repo.path().join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, template).unwrap();
    let (code, out, err) = run(repo.path(), &["init", "--template", path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("aws cloudformation deploy") && out.contains("plan --config"),
        "{out}"
    );
    let config_path = repo.path().join(".github/marketplace-release.yml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    assert!(
        config.starts_with("# yaml-language-server: $schema="),
        "{config}"
    );
    for part in expected {
        assert!(config.contains(part), "missing {part:?} in:\n{config}");
    }
    let workflow = std::fs::read_to_string(
        repo.path()
            .join(".github/workflows/marketplace-release.yml"),
    )
    .unwrap();
    assert!(workflow.contains("role-to-assume: arn:aws:iam::REPLACE-ME:role/marketplace-release"));

    // Unfilled, the config is refused at a placeholder; nothing is overwritten without --force.
    let plan_args = [
        "plan",
        "--config",
        ".github/marketplace-release.yml",
        "--version",
        "5.0.0",
    ];
    let (code, _, err) = run(repo.path(), &plan_args);
    assert_eq!(code, 2, "an unfilled config passed");
    assert!(err.contains("REPLACE-ME"), "{err}");
    std::fs::write(&config_path, "mine").unwrap();
    let (code, _, err) = run(repo.path(), &["init", "--template", path]);
    assert_eq!(code, 2);
    assert!(
        err.contains("already exist") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), "mine");
    let (code, _, err) = run(repo.path(), &["init", "--template", path, "--force"]);
    assert_eq!(code, 0, "{err}");

    let filled = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace(
            "access-role-arn: REPLACE-ME",
            "access-role-arn: arn:aws:iam::123456789012:role/MarketplaceAmiIngestion",
        )
        .replace("REPLACE-ME: ", "");
    assert!(
        !filled
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("REPLACE-ME")),
        "{filled}"
    );
    std::fs::write(&config_path, filled).unwrap();
    std::fs::create_dir_all(repo.path().join("build")).unwrap();
    std::fs::write(repo.path().join("build/install.sh"), "#!/bin/bash\ntrue\n").unwrap();
    let (code, out, err) = run(repo.path(), &plan_args);
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn init_reads_one_mapping_with_one_key() {
    let out = init_then_plan(
        "cfn/appliance.template.yaml",
        ONE_KEY,
        &[
            "  - path: cfn/appliance.template.yaml\n    mapping: RegionMap",
            "    keys: {x86_64: AMI}\n",
            "    version-parameter: ApplianceVersion\n",
            "regions:\n  - us-east-1\n  - eu-west-1\n  - ap-southeast-2\n",
            "  architectures: [x86_64]\n",
        ],
    );
    assert!(
        out.contains("3 AMIs updated; `ApplianceVersion` `4.2.0` → `5.0.0`"),
        "{out}"
    );
    assert!(!out.contains("WARNING: 1 region"), "{out}");
}

#[test]
fn init_maps_amd64_and_arm64_keys_to_both_architectures() {
    let out = init_then_plan(
        "templates/db.yaml",
        TWO_KEYS,
        &[
            "    mapping: AWSAMIRegionMap",
            "    keys: {x86_64: AMD64, arm64: ARM64}\n",
            "    version-parameter: DatabaseVersion\n",
            "regions:\n  - us-east-1\n  - us-west-2\n  - eu-central-1\n",
            "  architectures: [x86_64, arm64]\n",
        ],
    );
    assert!(
        out.contains("6 AMIs updated; `DatabaseVersion` `2025.06.0` → `5.0.0`"),
        "{out}"
    );
}

#[test]
fn init_takes_an_image_id_parameter_without_a_mapping() {
    let out = init_then_plan(
        "stack.yaml",
        IMAGE_PARAMETER,
        &[
            "  - path: stack.yaml\n    # No AMI mapping: the release writes the us-east-1 AMI into parameter ImageId.",
            "No version parameter was found",
            "regions:\n  - us-east-1\n\n",
        ],
    );
    assert!(
        out.contains("`ImageId` `ami-0aaaaaaaaaaaaaaa1` → `ami-"),
        "{out}"
    );
    assert!(out.contains("the version is not written"), "{out}");
}

#[test]
fn init_reads_json_templates_and_finds_them_without_template_flags() {
    init_then_plan(
        "cfn/product.json",
        JSON,
        &[
            "    mapping: AWSRegionArch2AMI",
            "    keys: {x86_64: HVM64}\n",
            "    version-parameter: ProductVersion\n",
            "regions:\n  - us-east-1\n  - sa-east-1\n",
        ],
    );
    // Without --template, init finds the templates a release can update.
    let repo = tempfile::tempdir().unwrap();
    for (path, text) in [
        ("cfn/product.json", JSON),
        ("cfn/db.yaml", TWO_KEYS),
        ("docs/notes.yaml", "title: not a template\n"),
    ] {
        let file = repo.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let (code, out, err) = run(repo.path(), &["init"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("from cfn/db.yaml, cfn/product.json)"), "{out}");
}
