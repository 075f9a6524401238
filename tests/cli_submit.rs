//! The submit stage and `status` end to end: the real binary against the in-process fake of the
//! AWS Marketplace Catalog API, and moto behind the proxy for what submit checks again first
//! (the account, the ingestion role and the image's attributes).

use crate::common;

use common::aws::Ec2Stack;
use common::catalog::FakeCatalog;
use serde_json::{json, Value};

const CONFIG: &str = ".github/marketplace-release.yml";

/// The example config with the submit stage on.
fn config(submit: &str) -> String {
    let example =
        std::fs::read_to_string(common::repo().join("examples/neo4j/marketplace-release.yml"))
            .unwrap();
    format!("{example}\nsubmit:\n{submit}")
}

struct Setup {
    workspace: tempfile::TempDir,
    catalog: FakeCatalog,
    stack: Ec2Stack,
    /// The release's us-east-1 image, in moto.
    ami: String,
}

impl Setup {
    fn new(config_text: &str, describes_until_done: u32) -> Self {
        let workspace = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(workspace.path().join(".github")).unwrap();
        std::fs::write(workspace.path().join(CONFIG), config_text).unwrap();
        let stack = Ec2Stack::start();
        let ami = stack.ingestible_image();
        let setup = Self {
            workspace,
            catalog: FakeCatalog::start(describes_until_done),
            stack,
            ami,
        };
        setup.manifest("manifest.json", &setup.ami);
        setup
    }

    fn manifest(&self, name: &str, us_east_1: &str) {
        let manifest = json!({
            "schema": 1, "product": "Neo4j Enterprise Edition", "version": "5.26.0",
            "architecture": "x86_64", "run_id": "0123456789ab", "name": "neo4j",
            "source_region": "us-east-1", "source_image_id": us_east_1,
            "regions": {
                "us-east-1": {"image_id": us_east_1, "state": "available"},
                "eu-west-1": {"image_id": "ami-0feedfacecafe0002", "state": "available"},
            },
            "incomplete": false,
        });
        std::fs::write(self.workspace.path().join(name), manifest.to_string()).unwrap();
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        // EC2, STS and IAM at moto (through the proxy), the Catalog API at its fake.
        let mut env = self.stack.env();
        env.extend(self.catalog.env().into_iter().filter(|(k, _)| {
            k == "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG" || k.starts_with("MARKETPLACE_RELEASE_POLL")
        }));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = common::run_binary(self.workspace.path(), args, &env);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            !stdout.contains("testing-secret-value") && !stderr.contains("testing-secret-value")
        );
        (out.status.code(), stdout, stderr)
    }

    fn submit(&self, extra: &[&str]) -> (Option<i32>, String, String) {
        let mut args = vec!["submit", "--config", CONFIG, "--manifest", "manifest.json"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn starts(&self) -> Vec<Value> {
        self.catalog
            .state()
            .requests
            .iter()
            .filter(|r| r.operation == "POST /StartChangeSet")
            .map(|r| r.body.clone())
            .collect()
    }
}

#[test]
fn submit_validates_then_applies_with_the_documented_request() {
    let setup = Setup::new(&config("  scanning-port: 22\n"), 2);
    let (code, stdout, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let starts = setup.starts();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0]["Intent"], "VALIDATE");
    assert_eq!(starts[1]["Intent"], "APPLY");
    // The VALIDATE change set was followed to its end before APPLY started.
    let operations: Vec<String> = setup
        .catalog
        .state()
        .requests
        .iter()
        .map(|r| r.operation.clone())
        .collect();
    let apply_at = operations
        .iter()
        .rposition(|o| o == "POST /StartChangeSet")
        .unwrap();
    assert!(
        operations[..apply_at]
            .iter()
            .filter(|o| *o == "GET /DescribeChangeSet")
            .count()
            >= 3
    );
    // The exact request for the example config.
    let mut expected: Value = serde_json::from_str(
        // The golden request names the AMI of the manifest; this one is moto's.
        &std::fs::read_to_string(common::repo().join("tests/golden/neo4j-start-change-set.json"))
            .unwrap()
            .replace("ami-0feedfacecafe0001", &setup.ami),
    )
    .unwrap();
    expected["Intent"] = json!("APPLY");
    expected["ChangeSetName"] = json!("marketplace-release apply Neo4j Enterprise Edition 5.26.0");
    let token = starts[1]["ClientRequestToken"].clone();
    assert!(token
        .as_str()
        .is_some_and(|t| t.starts_with("mr-") && t.len() <= 36));
    expected["ClientRequestToken"] = token;
    assert_eq!(starts[1], expected, "sent:\n{:#}", starts[1]);
    assert!(
        stdout.contains("change set cs00000000000000000000002 (APPLY): "),
        "{stdout}"
    );
    assert!(stdout.contains(
        "https://aws.amazon.com/marketplace/management/requests/cs00000000000000000000002"
    ));
}

#[test]
fn a_rerun_finds_its_change_sets_instead_of_submitting_twice() {
    let setup = Setup::new(&config("  intent: validate-then-apply\n"), 0);
    assert_eq!(setup.submit(&[]).0, Some(0));
    let (code, stdout, stderr) = setup.submit(&["--wait"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let starts = setup.starts();
    assert_eq!(starts.len(), 4, "each run asks twice");
    assert_eq!(
        starts[0]["ClientRequestToken"],
        starts[2]["ClientRequestToken"]
    );
    assert_eq!(
        starts[1]["ClientRequestToken"],
        starts[3]["ClientRequestToken"]
    );
    assert_eq!(
        setup.catalog.state().change_sets.len(),
        2,
        "one VALIDATE and one APPLY in all"
    );
    assert!(stdout.contains("(APPLY): SUCCEEDED"), "{stdout}");
}

#[test]
fn a_failed_validation_shows_awss_errors_and_applies_nothing() {
    let setup = Setup::new(&config("  intent: validate-then-apply\n"), 1);
    setup.catalog.state().validation_errors = vec![
        (
            "INVALID_INPUT".into(),
            "Version title 5.26.0 already exists for this product".into(),
        ),
        (
            "INVALID_INPUT".into(),
            "RecommendedInstanceType r6i.large is not an allowed instance type".into(),
        ),
    ];
    let (code, _, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("(VALIDATE) FAILED: CLIENT_ERROR"),
        "{stderr}"
    );
    assert!(
        stderr.contains("AddDeliveryOptions: INVALID_INPUT: Version title 5.26.0 already exists"),
        "{stderr}"
    );
    assert!(
        stderr.contains("is not an allowed instance type"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: fix what the errors name"),
        "{stderr}"
    );
    assert_eq!(setup.starts().len(), 1, "no APPLY after a failed VALIDATE");
}

#[test]
fn local_validation_errors_come_before_any_call() {
    let long_title = format!(
        "  version-title: \"{{{{ version }}}} {}\"\n",
        "x".repeat(70)
    );
    let cases: Vec<(String, &str, &str)> = vec![
        (
            config("  {}\n").replace("  version-title: \"{{ version }}\"\n", &long_title),
            "manifest.json",
            "but Marketplace allows 1 to 64",
        ),
        (
            config("  {}\n").replace(
                "  security-groups:\n    - {protocol: tcp, from-port: 22, to-port: 22, cidr: 0.0.0.0/0, description: SSH}\n    - {protocol: tcp, from-port: 7474, to-port: 7474, cidr: 0.0.0.0/0, description: HTTP browser}\n    - {protocol: tcp, from-port: 7687, to-port: 7687, cidr: 0.0.0.0/0, description: Bolt}\n",
                "  security-groups: []\n",
            ),
            "manifest.json",
            "1 to 25 security group rules",
        ),
        (config("  {}\n"), "bad.json", "`ami-12` (region us-east-1) is not an AMI ID"),
        (
            config("  {}\n").replace("  id: prod-example12345\n", ""),
            "manifest.json",
            "the submit stage needs the product ID",
        ),
    ];
    for (text, manifest, expected) in cases {
        assert!(text.contains("submit:"));
        let setup = Setup::new(&text, 0);
        setup.manifest("bad.json", "ami-12");
        let (code, _, stderr) = setup.run(&["submit", "--config", CONFIG, "--manifest", manifest]);
        assert_eq!(code, Some(2), "{expected}: {stderr}");
        assert!(
            stderr.contains(expected) && stderr.contains("help:"),
            "{expected}: {stderr}"
        );
        assert!(
            setup.catalog.state().requests.is_empty(),
            "{expected}: the API was called"
        );
    }
    // Without a submit section the stage is off.
    let example =
        std::fs::read_to_string(common::repo().join("examples/neo4j/marketplace-release.yml"))
            .unwrap();
    let setup = Setup::new(&example, 0);
    let (code, _, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no `submit` section"), "{stderr}");
}

#[test]
fn the_example_and_every_optional_field_are_accepted_by_the_fake() {
    let every = "  intent: validate\n  scanning-port: 22\n  access-endpoint:\n    protocol: https\n    port: 7473\n    relative-path: /browser/\n";
    let seven_blocks: String = (0..7)
        .map(|i| {
            format!(
                "    - {{protocol: udp, from-port: 5000, to-port: 5001, cidr: 10.0.{i}.0/24}}\n"
            )
        })
        .collect();
    let cases = [
        ("the example", config("  intent: validate\n")),
        ("every optional field", config(every)),
        (
            "the root path",
            config("  intent: validate\n  access-endpoint: {protocol: http, port: 7474, relative-path: /}\n"),
        ),
        (
            "seven CIDR blocks on one port range",
            config("  intent: validate\n").replace(
                "  usage-instructions: |",
                &format!("{seven_blocks}  usage-instructions: |"),
            ),
        ),
    ];
    for (label, text) in cases {
        let setup = Setup::new(&text, 0);
        let (code, stdout, stderr) = setup.submit(&[]);
        assert_eq!(code, Some(0), "{label}: {stdout}\n{stderr}");
        let starts = setup.starts();
        assert_eq!(starts.len(), 1, "{label}");
        assert!(
            common::catalog::request_violations(&starts[0]).is_empty(),
            "{label}"
        );
        let option = &starts[0]["ChangeSet"][0]["DetailsDocument"]["DeliveryOptions"][0]["Details"]
            ["AmiDeliveryOptionDetails"];
        match label {
            "every optional field" => {
                assert_eq!(option["AccessEndpointUrl"]["RelativePath"], "browser/");
                assert_eq!(option["AmiSource"]["ScanningPort"], 22);
                assert!(
                    stderr.contains("`/browser/` is sent as `browser/`: the Catalog API's AccessEndpointUrl.RelativePath must not start with `/`"),
                    "{stderr}"
                );
            }
            "the root path" => {
                assert_eq!(
                    option["AccessEndpointUrl"],
                    json!({"Port": 7474, "Protocol": "http"})
                );
            }
            "seven CIDR blocks on one port range" => {
                let groups = option["SecurityGroups"].as_array().unwrap();
                let sizes: Vec<usize> = groups
                    .iter()
                    .map(|g| g["IpRanges"].as_array().unwrap().len())
                    .collect();
                assert_eq!(sizes, [1, 1, 1, 5, 2], "{label}");
            }
            _ => {}
        }
    }
}

#[test]
fn every_value_aws_refuses_is_refused_locally_naming_the_field() {
    let form = |from: &str, to: &str| config("  intent: validate\n").replace(from, to);
    let cases = [
        (
            form("protocol: tcp, from-port: 22", "protocol: icmp, from-port: 22"),
            "load-form.security-groups.0.protocol",
            "`icmp` is refused: the Catalog API's IpProtocol takes at most 3 characters",
        ),
        (
            form("from-port: 22, to-port: 22", "from-port: 0, to-port: 22"),
            "load-form.security-groups.0.from-port",
            "port 0 is refused",
        ),
        (
            form("os-user-name: ec2-user", "os-user-name: ec2.user"),
            "load-form.os-user-name",
            "AmiSource.UserName: it must match ^[a-zA-Z][a-zA-Z0-9_-]{0,31}$",
        ),
        (
            form("recommended-instance-type: r6i.large", "recommended-instance-type: u-6tb1.metal"),
            "load-form.recommended-instance-type",
            "RecommendedInstanceType: it must match",
        ),
        (
            form("role/MarketplaceAmiIngestion", "role/MarketplaceAmiIngestion").replace("arn:aws:iam::", "arn:aws-us-gov:iam::"),
            "load-form.access-role-arn",
            "AmiSource.AccessRoleArn: it must match ^arn:aws:iam::",
        ),
        (
            form("os-version: \"2023\"", &format!("os-version: \"{}\"", "9".repeat(101))),
            "load-form.os-version",
            "takes at most 100 characters, not 101",
        ),
        (
            config("  intent: validate\n  access-endpoint: {protocol: http, port: 0}\n"),
            "submit.access-endpoint.port",
            "AccessEndpointUrl.Port: it must be a port from 1 to 65535",
        ),
        (
            config("  intent: validate\n  scanning-port: 0\n"),
            "submit.scanning-port",
            "AmiSource.ScanningPort: it must be a port from 1 to 65535",
        ),
        (
            config("  intent: validate\n  access-endpoint: {protocol: http, port: 80, relative-path: //x}\n"),
            "submit.access-endpoint.relative-path",
            "`//x` is not a URL path",
        ),
    ];
    for (text, field, rule) in cases {
        let setup = Setup::new(&text, 0);
        let (code, _, stderr) = setup.submit(&[]);
        assert_eq!(code, Some(2), "{field}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.contains(rule),
            "{field}: {stderr}"
        );
        assert!(
            setup.catalog.state().requests.is_empty(),
            "{field}: the API was called"
        );
    }
}

#[test]
fn the_fake_answers_validation_exception_for_what_the_shapes_refuse() {
    let mut request: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("tests/golden/neo4j-start-change-set.json"))
            .unwrap(),
    )
    .unwrap();
    request["ClientRequestToken"] = json!("mr-0123");
    assert_eq!(
        common::catalog::request_violations(&request),
        Vec::<String>::new()
    );
    request["ChangeSet"][0]["DetailsDocument"]["DeliveryOptions"][0]["Details"]
        ["AmiDeliveryOptionDetails"]["SecurityGroups"][0]["IpProtocol"] = json!("icmp");
    request["ClientRequestToken"] = json!("token with spaces");
    let found = common::catalog::request_violations(&request);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("ClientRequestToken"), "{found:?}");
    assert!(
        found[1].ends_with("SecurityGroups[0].IpProtocol: longer than 3"),
        "{found:?}"
    );
}

#[test]
fn a_product_that_sells_a_cloudformation_template_is_refused_before_any_change_set() {
    let setup = Setup::new(&config("  intent: validate-then-apply\n"), 0);
    setup.catalog.state().entity = common::catalog::product_entity(&[
        ("5.24.0", &["AMI"]),
        ("5.25.0", &["AMI", "CloudFormation"]),
    ]);
    let (code, _, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("product prod-example12345 sells a CloudFormation template: its version `5.25.0` carries a CloudFormation delivery option"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Add new version") && stderr.contains("load form"),
        "{stderr}"
    );
    assert!(setup.starts().is_empty(), "no change set was started");

    // A role that may not describe the product: said, not checked, and submitted.
    let setup = Setup::new(&config("  intent: validate\n"), 0);
    setup.catalog.state().entity_denied = true;
    let (code, stdout, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("was not checked"), "{stderr}");
    assert_eq!(setup.starts().len(), 1);
}

#[test]
fn a_version_already_listed_is_a_no_op_and_a_taken_title_is_refused() {
    let listed = |ami: &str| {
        json!({"Versions": [{"VersionTitle": "5.26.0", "DeliveryOptions": [{"Type": "AMI"}],
            "Sources": [{"Type": "AmazonMachineImage", "Image": format!("arn:aws:ec2:us-east-1::image/{ami}")}]}]})
    };
    let setup = Setup::new(&config("  intent: validate-then-apply\n"), 0);
    setup.catalog.state().entity = listed(&setup.ami);
    let (code, stdout, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "already has this version with {}: nothing to submit",
            setup.ami
        )),
        "{stderr}"
    );
    assert!(setup.starts().is_empty(), "nothing was submitted");

    let setup = Setup::new(&config("  intent: validate-then-apply\n"), 0);
    setup.catalog.state().entity = listed("ami-0feedfacecafe0999");
    let (code, _, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("load-form.version-title: product prod-example12345 already has a version titled `5.26.0`, with AMI ami-0feedfacecafe0999"),
        "{stderr}"
    );
    assert!(setup.starts().is_empty());
}

#[test]
fn status_follows_a_change_set_and_fails_when_it_failed() {
    let setup = Setup::new(&config("  intent: apply\n"), 4);
    let (code, stdout, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("(APPLY): PREPARING"), "{stdout}");
    let id = setup.catalog.state().change_sets[0].id.clone();
    let (code, stdout, _) = setup.run(&["status", "--change-set", &id, "--wait"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains(&format!("change set {id} (APPLY): SUCCEEDED")),
        "{stdout}"
    );

    setup.catalog.state().apply_errors = vec![(
        "AMI_SCAN_FAILED".into(),
        "The AMI has a known vulnerability: CVE-2026-0001".into(),
    )];
    setup.catalog.state().change_sets[0].describes = 0;
    let (code, stdout, stderr) = setup.run(&["status", "--change-set", &id, "--wait"]);
    assert_eq!(code, Some(2));
    assert!(
        stdout.contains("AMI_SCAN_FAILED: The AMI has a known vulnerability"),
        "{stdout}"
    );
    assert!(stderr.contains("FAILED"), "{stderr}");

    let (code, _, stderr) = setup.run(&["status", "--change-set", "cs-unknown"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
}

#[test]
fn with_the_submit_stage_on_the_checklist_says_the_ami_submission_is_automated() {
    let setup = Setup::new(&config("  {}\n"), 0);
    std::fs::create_dir_all(setup.workspace.path().join("examples/neo4j")).unwrap();
    std::fs::copy(
        common::repo().join("examples/neo4j/neo4j.template.yaml"),
        setup
            .workspace
            .path()
            .join("examples/neo4j/neo4j.template.yaml"),
    )
    .unwrap();
    // plan reads the build script as a build does.
    std::fs::create_dir_all(setup.workspace.path().join("examples/neo4j/build")).unwrap();
    std::fs::copy(
        common::repo().join("examples/neo4j/build/install.sh"),
        setup
            .workspace
            .path()
            .join("examples/neo4j/build/install.sh"),
    )
    .unwrap();
    let (code, stdout, stderr) = setup.run(&["plan", "--config", CONFIG, "--version", "5.26.0"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("run the `submit` stage: it adds the AMI version through the AWS Marketplace Catalog API"), "{stdout}");
    assert!(!stdout.contains("Add the new AMI version in the AWS Marketplace Management Portal"));
}

/// Issue 15: a submit job runs after the merge, days later and maybe with other credentials, so
/// the account, the ingestion role and the image's attributes are checked again before the
/// Catalog is asked; each failure names its rule and nothing is submitted.
#[test]
fn submit_checks_the_account_the_role_and_the_image_again_first() {
    let setup = Setup::new(&config("  intent: validate-then-apply\n"), 0);
    // The image gained a product code since the build (a base AMI from the Marketplace).
    setup
        .stack
        .scenario(json!({"image": {"product_codes": ["abcdefgh1234"]}}));
    let (code, stdout, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("the ingestion preflight failed: no product codes: ")
            && stderr.contains("nothing was submitted"),
        "{stderr}"
    );
    assert!(setup.starts().is_empty(), "nothing was submitted");
    assert!(
        setup.catalog.state().requests.is_empty(),
        "the Catalog was not asked"
    );
    setup.stack.scenario(json!({}));
    // Another seller account than the config names.
    let text = std::fs::read_to_string(setup.workspace.path().join(CONFIG)).unwrap();
    let other = text.replace(
        "product:\n",
        "product:\n  seller-account: \"999999999999\"\n",
    );
    assert_ne!(other, text);
    std::fs::write(setup.workspace.path().join(CONFIG), other).unwrap();
    let (code, stdout, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("999999999999") && stderr.contains("123456789012"),
        "{stderr}"
    );
    assert!(
        setup.catalog.state().requests.is_empty(),
        "the Catalog was not asked"
    );
    // Put back, the same submit goes through and lists the image's checks.
    std::fs::write(setup.workspace.path().join(CONFIG), text).unwrap();
    let (code, stdout, stderr) = setup.submit(&[]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "ingestion preflight: {} (x86_64) keeps every rule",
            setup.ami
        )),
        "{stderr}"
    );
    assert_eq!(setup.starts().len(), 2);
}
