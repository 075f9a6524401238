//! The verify stage's test stack (issue 16 §2) against moto and the proxy, through the library
//! API (`stages::stack::{prepare, run}`): moto creates stacks, and the proxy plays what moto
//! never does (creation lag, a resource that fails, a deletion that fails, throttling, a new
//! stack not visible yet; see `tests/support/ec2_proxy.py`). In every case the stack is deleted
//! (checked on moto itself), except when CloudFormation cannot delete it, which fails the run.
//! SIGTERM goes through the binary's own signal handling (`release::run_async`) in a child
//! process: this test binary, run again for [`signal_child`].

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use marketplace_release::aws::cloudformation::CloudFormation;
use marketplace_release::aws::config::AwsConfig;
use marketplace_release::config::verify_stack::StackConfig;
use marketplace_release::domain::stack::StackReport;
use marketplace_release::stages::stack::{prepare, run};
use marketplace_release::stages::wait::PollSchedule;
use marketplace_release::stages::{CancellationToken, StageError};
use serde_json::json;

use crate::common::aws::Ec2Stack;

const REGION: &str = "us-east-1";
const ROLE: &str = "arn:aws:iam::123456789012:role/marketplace-release-verify-stack";

/// A small product template: a parameter, a secret (`NoEcho`), two resources moto makes, and an
/// output URL built from the parameter.
const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Port:
    Type: Number
  AdminPassword:
    Type: String
    NoEcho: true
Resources:
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: !Sub "the product on port ${Port}"
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  BrowserUrl:
    Value: !Sub "http://127.0.0.1:${Port}/"
"#;

/// A local HTTP server that answers every request with `status`; counts the requests.
struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    fn answering(status: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer);
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Self { port, hits }
    }
}

fn schedule() -> PollSchedule {
    PollSchedule {
        min: Duration::from_millis(100),
        max: Duration::from_millis(300),
        progress: Duration::from_secs(1),
        ..PollSchedule::default()
    }
}

/// `verify.stack` with `extra` YAML keys, the product on `port`.
fn config(port: u16, extra: &str) -> StackConfig {
    serde_yaml::from_str(&format!(
        "region: {REGION}\nrole-arn: {ROLE}\ntemplate: cfn/product.template.yaml\nparameters:\n  Port: {port}\n  AdminPassword: {{env: PRODUCT_PASSWORD}}\n{extra}"
    ))
    .unwrap()
}

/// The SDK configuration the binary would load, pointed at the proxy.
async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing",
            "testing-secret-value",
            None,
            None,
            "tests",
        ))
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(50)),
        )
        .load()
        .await
}

/// Runs the stage against `stack` with `config`; the secret comes from the lookup, never the
/// config.
#[allow(
    clippy::result_large_err,
    reason = "the stage's own error type, returned as the stage returns it"
)]
fn run_stage(
    stack: &Ec2Stack,
    config: &StackConfig,
    run_id: &str,
) -> Result<StackReport, StageError> {
    let plan = prepare(config, TEMPLATE, run_id, |name| {
        (name == "PRODUCT_PASSWORD").then(|| "correct horse".to_owned())
    })
    .unwrap();
    stack.block_on(async {
        let cfn = CloudFormation::new(&AwsConfig::from(sdk_config(&stack.proxy_url).await));
        run(&cfn, &plan, schedule(), &CancellationToken::new()).await
    })
}

/// moto's own answer for the stack named `name`: its status, or `None` when there is no such
/// stack (a deleted stack is not found by name).
fn moto_stack(stack: &Ec2Stack, name: &str) -> Option<String> {
    let config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(aws_sdk_cloudformation::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudformation::config::Region::new(REGION))
        .endpoint_url(&stack.moto_url)
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    let client = aws_sdk_cloudformation::Client::from_conf(config);
    let out = stack.block_on(client.describe_stacks().stack_name(name).send());
    match out {
        Ok(out) => out.stacks().first().map(|s| {
            s.stack_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default()
        }),
        Err(e) => {
            let text = aws_sdk_cloudformation::error::DisplayErrorContext(&e).to_string();
            assert!(text.contains("does not exist"), "{text}");
            None
        }
    }
}

/// The proxy's play of the one stack of `name`.
fn played(stack: &Ec2Stack, name: &str) -> serde_json::Value {
    let stacks = stack.stats()["stacks"].clone();
    let mine: Vec<&serde_json::Value> = stacks
        .as_object()
        .unwrap()
        .values()
        .filter(|s| s["name"] == name)
        .collect();
    assert_eq!(mine.len(), 1, "{stacks}");
    mine[0].clone()
}

fn step_names(report: &StackReport) -> Vec<&str> {
    report.steps.iter().map(|s| s.name.as_str()).collect()
}

/// Every CloudFormation call the proxy saw is granted by iam/policy.json (issue 10's rule: the
/// policy covers what the code calls).
fn calls_are_in_the_policy(stack: &Ec2Stack) {
    let policy = std::fs::read_to_string(crate::common::repo().join("iam/policy.json")).unwrap();
    let calls = stack.stats()["calls"].clone();
    let mut seen = 0;
    for key in calls.as_object().unwrap().keys() {
        let action = key.split(' ').next().unwrap();
        if [
            "CreateStack",
            "DescribeStacks",
            "DescribeStackEvents",
            "DeleteStack",
        ]
        .contains(&action)
        {
            seen += 1;
            assert!(
                policy.contains(&format!("\"cloudformation:{action}\"")),
                "iam/policy.json lacks cloudformation:{action}"
            );
        }
    }
    assert!(seen >= 3, "{calls}");
}

#[test]
fn a_stack_that_creates_is_checked_and_deleted() {
    let stack = Ec2Stack::start();
    // Creation takes a while; the new stack is not visible for a moment; DeleteStack is
    // throttled twice.
    stack.scenario(json!({
        "stack": {"create_s": 1.5, "not_found_s": 0.8},
        "throttle": {REGION: {"DeleteStack": 2}},
    }));
    let server = Server::answering("200 OK");
    let config = config(
        server.port,
        "check-url-output: BrowserUrl\ntimeout-minutes: 1\n",
    );
    let report = run_stage(&stack, &config, "a1b2c3d4e5f6").unwrap();

    assert!(report.passed(), "{report:#?}");
    assert_eq!(report.failure(), None);
    assert_eq!(step_names(&report), ["create", "outputs", "url", "delete"]);
    // moto alone says CREATE_COMPLETE at once; the play took 1.5 s (measured from the proxy's
    // answer, so a loaded machine may make the stage's own clock a little shorter).
    assert!(report.steps[0].seconds >= 1.0, "{report:#?}");
    assert_eq!(
        report.outputs,
        [(
            "BrowserUrl".to_owned(),
            format!("http://127.0.0.1:{}/", server.port)
        )]
    );
    assert!(
        report.steps[2].detail.contains("answered HTTP 200"),
        "{report:#?}"
    );
    assert!(server.hits.load(Ordering::SeqCst) >= 1);
    assert!(report.deleted);
    assert_eq!(report.first_failure, None);

    let name = "marketplace-release-verify-a1b2c3d4e5f6";
    assert_eq!(report.stack_name.as_str(), name);
    let play = played(&stack, name);
    assert_eq!(play["status"], "DELETE_COMPLETE");
    assert_eq!(play["role_arn"], ROLE);
    assert_eq!(play["on_failure"], "DELETE");
    assert_eq!(play["timeout_s"], 60.0);
    assert_eq!(play["tags"]["marketplace-release:run-id"], "a1b2c3d4e5f6");
    assert_eq!(play["tags"]["marketplace-release:role"], "verify-stack");
    assert_eq!(moto_stack(&stack, name), None, "no stack remains");
    let stats = stack.stats();
    assert_eq!(stats["throttled"][format!("DeleteStack {REGION}")], 2);
    assert!(stats["not_found"][format!("DescribeStacks {REGION}")].as_u64() >= Some(1));
    assert_eq!(stack.calls("CreateStack", REGION), 1);
    assert_eq!(
        stack.calls("DeleteStack", REGION),
        3,
        "twice throttled, then taken"
    );
    calls_are_in_the_policy(&stack);
    let markdown = report.markdown();
    assert!(markdown.contains("| url | passed |"), "{markdown}");
}

#[test]
fn a_url_that_does_not_answer_fails_the_check_and_the_stack_is_deleted() {
    let stack = Ec2Stack::start();
    stack.scenario(json!({"stack": {"create_s": 0.3}}));
    let server = Server::answering("503 Service Unavailable");
    let config = config(
        server.port,
        "check-url-output: BrowserUrl\ncheck-url-timeout-minutes: 0.03\n",
    );
    let report = run_stage(&stack, &config, "b1b2c3d4e5f6").unwrap();

    assert!(!report.passed());
    assert_eq!(step_names(&report), ["create", "outputs", "url", "delete"]);
    let url = &report.steps[2];
    assert!(!url.passed);
    assert!(
        url.detail.contains("did not answer HTTP 2xx or 3xx within")
            && url.detail.contains("last answer: HTTP 503"),
        "{url:#?}"
    );
    assert!(
        server.hits.load(Ordering::SeqCst) >= 2,
        "it was tried again"
    );
    assert!(report.deleted);
    let failure = report.failure().unwrap();
    assert!(failure.contains("failed at `url`"), "{failure}");
    assert!(
        failure.contains("help: check that the product answers"),
        "{failure}"
    );
    assert_eq!(
        moto_stack(&stack, "marketplace-release-verify-b1b2c3d4e5f6"),
        None
    );
}

#[test]
fn a_stack_that_fails_to_create_reports_the_first_failed_resource_and_is_deleted() {
    let stack = Ec2Stack::start();
    let reason = "Resource handler returned message: \"The security group 'product' already exists for VPC 'vpc-1'\"";
    stack.scenario(json!({"stack": {
        "create_s": 0.5,
        "fail": {"resource": "Group", "type": "AWS::EC2::SecurityGroup", "reason": reason},
    }}));
    let config = config(8080, "check-url-output: BrowserUrl\n");
    let report = run_stage(&stack, &config, "c1b2c3d4e5f6").unwrap();

    assert!(!report.passed());
    assert_eq!(
        step_names(&report),
        ["create", "delete"],
        "no outputs, no URL check"
    );
    let first = report.first_failure.clone().unwrap();
    assert_eq!(first.logical_id, "Group");
    assert_eq!(first.resource_type, "AWS::EC2::SecurityGroup");
    assert_eq!(first.reason, reason);
    let create = &report.steps[0];
    assert!(
        create
            .detail
            .contains("first failed resource: Group (AWS::EC2::SecurityGroup)"),
        "{create:#?}"
    );
    assert!(report.deleted, "{report:#?}");
    assert!(report.outputs.is_empty());
    let failure = report.failure().unwrap();
    assert!(failure.contains("already exists for VPC"), "{failure}");
    let name = "marketplace-release-verify-c1b2c3d4e5f6";
    assert_eq!(played(&stack, name)["status"], "DELETE_COMPLETE");
    assert_eq!(moto_stack(&stack, name), None, "no stack remains");
}

#[test]
fn creation_lag_beyond_the_timeout_is_reported_and_the_stack_deleted() {
    let stack = Ec2Stack::start();
    stack.scenario(json!({"stack": {"create_s": null}}));
    let config = config(8080, "timeout-minutes: 0.04\n");
    let started = Instant::now();
    let report = run_stage(&stack, &config, "d1b2c3d4e5f6").unwrap();

    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!report.passed());
    assert_eq!(step_names(&report), ["create", "delete"]);
    let create = &report.steps[0];
    assert!(
        create
            .detail
            .starts_with("still CREATE_IN_PROGRESS after 2s")
            && create.detail.contains(
                "still creating: Group (AWS::EC2::SecurityGroup), Topic (AWS::SNS::Topic)"
            ),
        "{create:#?}"
    );
    assert!(report.deleted, "{report:#?}");
    assert_eq!(stack.calls("DeleteStack", REGION), 1);
    assert_eq!(
        moto_stack(&stack, "marketplace-release-verify-d1b2c3d4e5f6"),
        None
    );
}

#[test]
fn delete_failed_is_reported_and_fails_the_run() {
    let stack = Ec2Stack::start();
    let reason = "resource sg-0123456789abcdef0 has a dependent object";
    stack.scenario(json!({"stack": {
        "create_s": 0.2,
        "delete_fail": {"resource": "Group", "type": "AWS::EC2::SecurityGroup", "reason": reason},
    }}));
    let config = config(8080, "");
    let report = run_stage(&stack, &config, "e1b2c3d4e5f6").unwrap();

    assert!(!report.deleted);
    assert!(!report.passed());
    let delete = report.steps.last().unwrap();
    assert_eq!(delete.name, "delete");
    assert!(!delete.passed);
    assert!(
        delete.detail.contains(&format!(
            "DELETE_FAILED twice; first resource that failed to delete: Group (AWS::EC2::SecurityGroup): {reason}"
        )),
        "{delete:#?}"
    );
    assert_eq!(stack.calls("DeleteStack", REGION), 2, "asked once more");
    let failure = report.failure().expect("the run fails");
    let id = report.stack_id.clone().unwrap();
    assert!(
        failure.contains(&format!(
            "aws cloudformation delete-stack --region {REGION} --stack-name {id}"
        )),
        "{failure}"
    );
    let name = "marketplace-release-verify-e1b2c3d4e5f6";
    assert_eq!(played(&stack, name)["status"], "DELETE_FAILED");
    assert!(
        moto_stack(&stack, name).is_some(),
        "the stack is still there"
    );
}

#[test]
fn a_secret_written_in_the_config_or_a_missing_variable_creates_nothing() {
    let stack = Ec2Stack::start();
    let written: StackConfig = serde_yaml::from_str(&format!(
        "region: {REGION}\nrole-arn: {ROLE}\ntemplate: cfn/product.template.yaml\nparameters:\n  Port: 80\n  AdminPassword: hunter2\n"
    ))
    .unwrap();
    let e = prepare(&written, TEMPLATE, "f1", |_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("declares `AdminPassword` NoEcho"), "{e}");
    let e = prepare(&config(80, ""), TEMPLATE, "f1", |_| None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("the environment variable PRODUCT_PASSWORD is not set or empty"),
        "{e}"
    );
    assert_eq!(stack.calls("CreateStack", REGION), 0);
}

/// SIGTERM while CloudFormation creates the stack: the binary's signal handling cancels the
/// wait, the stack is deleted, and the run ends as cancelled (exit code 130).
#[test]
fn sigterm_during_creation_leaves_no_stack() {
    let stack = Ec2Stack::start();
    stack.scenario(json!({"stack": {"create_s": null, "delete_s": 0.5}}));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "verify_stack::signal_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &stack.proxy_url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while stack.calls("DescribeStacks", REGION) < 2 {
        assert!(
            Instant::now() < deadline,
            "the child never created the stack"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let signalled = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(15));
    assert_eq!(status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("received SIGTERM"), "{stderr}");
    assert!(
        stdout.contains("the run was cancelled and the stack deleted"),
        "{stdout}"
    );
    let name = "marketplace-release-verify-5167a1c0ffee";
    assert_eq!(played(&stack, name)["status"], "DELETE_COMPLETE");
    assert_eq!(moto_stack(&stack, name), None, "no stack remains");
}

/// The child process's environment variable: the proxy's URL.
const CHILD_ENV: &str = "MARKETPLACE_RELEASE_STACK_CHILD";

/// Runs the stage under the binary's signal handling when started by
/// [`sigterm_during_creation_leaves_no_stack`]; does nothing otherwise.
#[test]
#[ignore = "the child process of sigterm_during_creation_leaves_no_stack"]
fn signal_child() {
    let Ok(endpoint) = std::env::var(CHILD_ENV) else {
        return;
    };
    let plan = prepare(&config(8080, ""), TEMPLATE, "5167a1c0ffee", |_| {
        Some("correct horse".to_owned())
    })
    .unwrap();
    let result = marketplace_release::release::run_async(|cancel| async move {
        let cfn = CloudFormation::new(&AwsConfig::from(sdk_config(&endpoint).await));
        anyhow::Ok(run(&cfn, &plan, schedule(), &cancel).await)
    })
    .unwrap();
    match result {
        Err(StageError::Cancelled) => {
            println!("the run was cancelled and the stack deleted");
            std::process::exit(130);
        }
        other => panic!("expected a cancelled run: {other:?}"),
    }
}

/// The proxy's play of a failed create follows CreateStack's OnFailure as the CreateStack API
/// reference describes it (the stage always asks DELETE; the others are checked here so the
/// stand-in is not kinder than CloudFormation): DO_NOTHING keeps the stack CREATE_FAILED,
/// ROLLBACK (the default) ends ROLLBACK_COMPLETE, and either way the stack is still there until
/// DeleteStack.
#[test]
fn the_proxy_plays_on_failure_as_documented() {
    let stack = Ec2Stack::start();
    stack.scenario(json!({"stack": {
        "create_s": 0.2,
        "fail": {"resource": "Topic", "type": "AWS::SNS::Topic", "reason": "Invalid parameter: TopicName"},
    }}));
    let client = stack.block_on(async {
        aws_sdk_cloudformation::Client::new(&sdk_config(&stack.proxy_url).await)
    });
    let create = |name: &str, on_failure: Option<aws_sdk_cloudformation::types::OnFailure>| {
        stack
            .block_on(
                client
                    .create_stack()
                    .stack_name(name)
                    .template_body(TEMPLATE)
                    .parameters(
                        aws_sdk_cloudformation::types::Parameter::builder()
                            .parameter_key("Port")
                            .parameter_value("80")
                            .build(),
                    )
                    .parameters(
                        aws_sdk_cloudformation::types::Parameter::builder()
                            .parameter_key("AdminPassword")
                            .parameter_value("x")
                            .build(),
                    )
                    .set_on_failure(on_failure)
                    .send(),
            )
            .unwrap()
            .stack_id()
            .unwrap()
            .to_owned()
    };
    let status = |id: &str| {
        stack
            .block_on(client.describe_stacks().stack_name(id).send())
            .unwrap()
            .stacks()[0]
            .stack_status()
            .unwrap()
            .as_str()
            .to_owned()
    };
    let kept = create(
        "marketplace-release-verify-kept",
        Some(aws_sdk_cloudformation::types::OnFailure::DoNothing),
    );
    let rolled = create("marketplace-release-verify-rolled", None);
    assert_eq!(status(&kept), "CREATE_IN_PROGRESS");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(status(&kept), "CREATE_FAILED");
    assert_eq!(status(&rolled), "ROLLBACK_COMPLETE");
    let events = stack
        .block_on(client.describe_stack_events().stack_name(&kept).send())
        .unwrap();
    let newest: Vec<(&str, &str)> = events
        .stack_events()
        .iter()
        .map(|e| {
            (
                e.logical_resource_id().unwrap(),
                e.resource_status().unwrap().as_str(),
            )
        })
        .collect();
    assert_eq!(
        newest[0],
        ("marketplace-release-verify-kept", "CREATE_FAILED"),
        "newest first: {newest:?}"
    );
    assert!(newest.contains(&("Topic", "CREATE_FAILED")));
    assert!(
        newest.contains(&("Group", "CREATE_FAILED")),
        "cancelled: {newest:?}"
    );
    assert!(moto_stack(&stack, "marketplace-release-verify-kept").is_some());
    assert!(moto_stack(&stack, "marketplace-release-verify-rolled").is_some());
    stack
        .block_on(client.delete_stack().stack_name(&rolled).send())
        .unwrap();
    assert_eq!(status(&rolled), "DELETE_IN_PROGRESS");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        status(&rolled),
        "DELETE_COMPLETE",
        "by ID, a deleted stack is found"
    );
    assert_eq!(
        moto_stack(&stack, "marketplace-release-verify-rolled"),
        None,
        "by name, it is not"
    );
}
