//! A private EC2 for one test: moto on a loopback port, with `tests/support/ec2_proxy.py` in
//! front of it. The binary talks to the proxy; assertions read moto directly with the SDK.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::Filter;

use super::repo;

/// moto and the proxy, stopped on drop. On drop, every call the proxy received is also checked
/// against `iam/policy.json` (`common::iam`): a call the policy would deny fails the test.
pub struct Ec2Stack {
    moto: Child,
    proxy: Child,
    /// Holds the proxy's call log (`EC2_PROXY_CALL_LOG`).
    log_dir: tempfile::TempDir,
    /// The moto endpoint.
    pub moto_url: String,
    /// The proxy endpoint the binary uses.
    pub proxy_url: String,
    runtime: tokio::runtime::Runtime,
}

/// The venv holding moto (the README's test command creates it).
fn venv() -> PathBuf {
    std::env::var_os("MARKETPLACE_RELEASE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Ec2Stack {
    /// Starts moto and the proxy. Panics (never skips) when moto is not installed.
    pub fn start() -> Self {
        let bin = venv().join("bin");
        assert!(
            bin.join("moto_server").is_file(),
            "moto_server not found in {}: run the README's test command (bash scripts/test.sh), which installs moto[server] into the venv",
            bin.display()
        );
        let (moto_port, proxy_port) = (free_port(), free_port());
        let moto = Command::new(bin.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
            // AWS managed policies (AWSMarketplaceAmiIngestion) can be attached.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto_url = format!("http://127.0.0.1:{moto_port}");
        let log_dir = tempfile::tempdir().unwrap();
        let proxy = Command::new(bin.join("python"))
            .arg(repo().join("tests/support/ec2_proxy.py"))
            .args([&proxy_port.to_string(), &moto_url])
            .env("EC2_PROXY_CALL_LOG", log_dir.path().join("calls.jsonl"))
            .stdout(Stdio::null())
            .spawn()
            .expect("the proxy starts");
        wait_for_port(moto_port, "moto");
        wait_for_port(proxy_port, "the EC2 proxy");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let stack = Self {
            moto,
            proxy,
            log_dir,
            moto_url,
            proxy_url: format!("http://127.0.0.1:{proxy_port}"),
            runtime,
        };
        // The load form's ingestion role, as a seller account has it.
        stack.ingestion_role("MarketplaceAmiIngestion", true, true);
        stack
    }

    /// Creates the IAM role `name` in moto's account, trusted by Marketplace's assets
    /// service (else by EC2), with the `AWSMarketplaceAmiIngestion` managed policy or not.
    pub fn ingestion_role(&self, name: &str, trusted: bool, with_policy: bool) {
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .endpoint_url(&self.moto_url)
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .build();
        let iam = aws_sdk_iam::Client::from_conf(config);
        let service = if trusted {
            "assets.marketplace.amazonaws.com"
        } else {
            "ec2.amazonaws.com"
        };
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]});
        self.block_on(async {
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(trust.to_string())
                .send()
                .await
                .expect("moto creates the role");
            if with_policy {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn("arn:aws:iam::aws:policy/AWSMarketplaceAmiIngestion")
                    .send()
                    .await
                    .expect("moto attaches the managed policy");
            }
        });
    }

    fn http(&self, method: &str, path: &str, body: &str) -> String {
        let address = self.proxy_url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).unwrap();
        write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }

    /// Sets the proxy's scenario (see `tests/support/ec2_proxy.py`).
    pub fn scenario(&self, scenario: serde_json::Value) {
        self.http("POST", "/__control/scenario", &scenario.to_string());
    }

    /// The proxy's counters: `calls`, `throttled`, `builders`, `imds`.
    pub fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.http("GET", "/__control/stats", "")).unwrap()
    }

    /// Calls of `action` in `region` that reached the proxy.
    pub fn calls(&self, action: &str, region: &str) -> u64 {
        self.stats()["calls"][format!("{action} {region}")]
            .as_u64()
            .unwrap_or(0)
    }

    /// Every call the proxy received so far, one JSON object each (see `ec2_proxy.py`).
    pub fn call_log(&self) -> Vec<serde_json::Value> {
        super::iam::read_log(&self.log_dir.path().join("calls.jsonl"))
    }

    /// A client that reads moto directly.
    pub fn client(&self, region: &str) -> aws_sdk_ec2::Client {
        let config = aws_sdk_ec2::Config::builder()
            .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
            .region(aws_sdk_ec2::config::Region::new(region.to_owned()))
            .endpoint_url(&self.moto_url)
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .build();
        aws_sdk_ec2::Client::from_conf(config)
    }

    /// An x86_64 image moto ships in us-east-1 (owner `amazon`): a base image, or a vendor's
    /// existing AMI.
    pub fn amazon_x86_image(&self) -> String {
        let out = self
            .block_on(
                self.client("us-east-1")
                    .describe_images()
                    .owners("amazon")
                    .filters(
                        aws_sdk_ec2::types::Filter::builder()
                            .name("architecture")
                            .values("x86_64")
                            .build(),
                    )
                    .send(),
            )
            .unwrap();
        out.images()[0].image_id().unwrap().to_owned()
    }

    /// An image in us-east-1 that keeps every ingestion rule, as a finished build leaves it:
    /// made with CreateImage from an instance of an x86_64 image moto ships, tagged with the
    /// run ID `0123456789ab`, IMDSv2 required (set through the proxy, which reports what moto
    /// drops).
    pub fn ingestible_image(&self) -> String {
        let moto = self.client("us-east-1");
        let config = aws_sdk_ec2::Config::builder()
            .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest())
            .region(aws_sdk_ec2::config::Region::new("us-east-1"))
            .endpoint_url(&self.proxy_url)
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .build();
        let proxied = aws_sdk_ec2::Client::from_conf(config);
        let base = self.amazon_x86_image();
        self.block_on(async {
            let run = moto
                .run_instances()
                .image_id(base)
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .min_count(1)
                .max_count(1)
                .send()
                .await
                .unwrap();
            let instance = run.instances()[0].instance_id().unwrap().to_owned();
            let image = moto
                .create_image()
                .instance_id(&instance)
                .name(format!("released-{instance}"))
                .send()
                .await
                .unwrap()
                .image_id()
                .unwrap()
                .to_owned();
            // Tagged as a build of ours (run ID of the tests' manifests), as the policy's
            // conditions on image changes expect.
            moto.create_tags()
                .resources(&image)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("marketplace-release:run-id")
                        .value("0123456789ab")
                        .build(),
                )
                .send()
                .await
                .unwrap();
            proxied
                .modify_image_attribute()
                .image_id(&image)
                .imds_support(
                    aws_sdk_ec2::types::AttributeValue::builder()
                        .value("v2.0")
                        .build(),
                )
                .send()
                .await
                .unwrap();
            moto.terminate_instances()
                .instance_ids(instance)
                .send()
                .await
                .unwrap();
            image
        })
    }

    /// Runs a future on the stack's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Images in `region` owned by the account and tagged `key=value`, as (ID, snapshot IDs).
    pub fn images_tagged(
        &self,
        region: &str,
        key: &str,
        value: &str,
    ) -> Vec<(String, Vec<String>)> {
        let out = self
            .block_on(
                self.client(region)
                    .describe_images()
                    .owners("self")
                    .filters(
                        Filter::builder()
                            .name(format!("tag:{key}"))
                            .values(value)
                            .build(),
                    )
                    .send(),
            )
            .unwrap();
        out.images()
            .iter()
            .map(|i| {
                (
                    i.image_id().unwrap().to_owned(),
                    i.block_device_mappings()
                        .iter()
                        .filter_map(|b| b.ebs()?.snapshot_id().map(str::to_owned))
                        .collect(),
                )
            })
            .collect()
    }

    /// Whether a snapshot still exists.
    pub fn snapshot_exists(&self, region: &str, snapshot: &str) -> bool {
        self.block_on(
            self.client(region)
                .describe_snapshots()
                .snapshot_ids(snapshot)
                .send(),
        )
        .is_ok_and(|o| !o.snapshots().is_empty())
    }

    /// The state of an instance.
    pub fn instance(&self, region: &str, id: &str) -> aws_sdk_ec2::types::Instance {
        let out = self
            .block_on(
                self.client(region)
                    .describe_instances()
                    .instance_ids(id)
                    .send(),
            )
            .unwrap();
        out.reservations()[0].instances()[0].clone()
    }

    /// The state name of an instance (`running`, `terminated`, …).
    pub fn instance_state(&self, region: &str, id: &str) -> String {
        self.instance(region, id)
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default()
    }

    /// The environment that points the binary at this stack.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.proxy_url.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing-secret-value"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("MARKETPLACE_RELEASE_POLL_MIN_MS", "100"),
            ("MARKETPLACE_RELEASE_POLL_MAX_MS", "400"),
            ("MARKETPLACE_RELEASE_PROGRESS_SECS", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

impl Drop for Ec2Stack {
    fn drop(&mut self) {
        let _ = self.proxy.kill();
        let _ = self.moto.kill();
        let _ = self.proxy.wait();
        let _ = self.moto.wait();
        if std::thread::panicking() {
            return;
        }
        // The scenario's calls, every one, against the shipped policy (issue 13).
        let report = super::iam::check(&super::iam::Policy::shipped(), &self.call_log());
        eprintln!("IAM policy check: {report}");
        assert!(
            report.denied.is_empty(),
            "iam/policy.json would deny calls this scenario made:\n{}",
            report.denied.join("\n")
        );
    }
}

/// Five regions, the source first: what most scenarios release to.
pub const FIVE: [&str; 5] = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "ap-south-1",
];

/// Writes a user's repository releasing to `regions` into `root` (made when missing): the
/// config (`.github/marketplace-release.yml`, with `extra` YAML appended), the example template
/// (`cfn/product.template.yaml`) and a build script (`build/install.sh`).
pub fn write_user_repo(root: &Path, regions: &[&str], extra: &str) {
    for sub in [".github", "build", "cfn"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::copy(
        repo().join("examples/neo4j/neo4j.template.yaml"),
        root.join("cfn/product.template.yaml"),
    )
    .unwrap();
    std::fs::write(
        root.join("build/install.sh"),
        "#!/bin/bash\nset -e\necho installing\n",
    )
    .unwrap();
    let regions: String = regions.iter().map(|r| format!("  - {r}\n")).collect();
    let config = format!(
        r#"product:
  name: Example DB
templates:
  - path: cfn/product.template.yaml
    version-parameter: GraphDatabaseVersion
regions:
{regions}build:
  base-ami: {{owner: amazon, name: "al2023-ami-2023.*-kernel-6.1-x86_64"}}
  instance-type: t3.medium
  script: build/install.sh
  timeout-minutes: 1
  ami-name: "example-db-{{{{ version }}}}-{{{{ architecture }}}}"
  tags:
    Team: release
copy:
  max-concurrency: 4
  timeout-minutes: 2
load-form:
  release-notes: Fixes.
  access-role-arn: arn:aws:iam::123456789012:role/MarketplaceAmiIngestion
  os-user-name: ec2-user
  os-name: AMAZONLINUX
  os-version: "2023"
  recommended-instance-type: r6i.large
  security-groups:
    - {{protocol: tcp, from-port: 22, to-port: 22, cidr: 0.0.0.0/0}}
  usage-instructions: Connect with SSH.
{extra}"#
    );
    std::fs::write(root.join(".github/marketplace-release.yml"), config).unwrap();
}
