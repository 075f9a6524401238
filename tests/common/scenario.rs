//! One end-to-end scenario, set up in one place: the user's repository, the stand-ins the run
//! needs (moto behind `support/ec2_proxy.py` with the scenario it plays, the GitHub fake, the
//! Catalog fake), and the real binary run as a user runs it, on the command line or as GitHub's
//! runner starts the container action. A run hands back what the user sees: the exit code,
//! the log, the step outputs, the step summary and the manifest.
//!
//! ```text
//! let scenario = Scenario::new(&FIVE, "").playing(json!({"builder": {"stop_after_s": 0.2}}));
//! let Ran { out, stderr, .. } = scenario.cli(&command("release", "1.0.0", &["--no-publish"]));
//! ```
//!
//! The directory of a scenario is laid out as the runner lays out `/github`: the workspace
//! (the user's checkout) in `workspace/`, the file commands in `file_commands/`, the event in
//! `workflow/event.json` and an empty `home/`. The command line runs in the workspace too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::action::{inputs, parse_outputs, runner_files};
use super::aws::{write_user_repo, Ec2Stack};
use super::catalog::FakeCatalog;
use super::github::{FakeGitHub, TOKEN};

/// The config file of every scenario's repository.
pub const CONFIG: &str = ".github/marketplace-release.yml";

/// The secret key of every scenario's AWS credentials: never in a log.
pub const AWS_SECRET: &str = "testing-secret-value";

/// The manifest a run writes when not told otherwise.
pub const MANIFEST: &str = "marketplace-release-manifest.json";

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The last line of `text` that is not blank.
pub fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
}

/// `COMMAND --config .github/marketplace-release.yml --version VERSION EXTRA…`.
pub fn command<'a>(name: &'a str, version: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![name, "--config", CONFIG, "--version", version];
    args.extend_from_slice(extra);
    args
}

/// The payload of a push of the tag `v2025.6.0`.
pub fn tag_push_event() -> Value {
    json!({
        "ref": "refs/tags/v2025.6.0", "base_ref": null, "created": true,
        "repository": {"full_name": "example/product", "default_branch": "main"},
    })
}

/// AWS where nothing listens (port 9): any AWS call fails the run.
pub fn no_aws() -> Vec<(String, String)> {
    pairs(&[
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", AWS_SECRET),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ])
}

fn pairs(given: &[(&str, &str)]) -> Vec<(String, String)> {
    given
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The binary with no arguments, in `dir`, with exactly `env` (as the runner's `docker run`).
pub fn action_command(program: &Path, dir: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().cloned());
    command
}

/// Starts `command` with its output piped.
fn spawn(mut command: Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// What one run of the binary left, as the user sees it.
#[derive(Debug)]
pub struct Ran {
    /// The process's output and exit status.
    pub out: Output,
    /// Its standard output (the Actions log in the action).
    pub stdout: String,
    /// Its standard error (the log on the command line; the error in both).
    pub stderr: String,
    /// Standard output, then standard error.
    pub log: String,
    /// The step outputs (`GITHUB_OUTPUT`) of an action run; empty for the command line.
    pub outputs: BTreeMap<String, String>,
    /// The step summary (`GITHUB_STEP_SUMMARY`) of an action run; empty for the command line.
    pub summary: String,
    /// The manifest at the default path after the run, when there is one.
    pub manifest: Option<Value>,
}

impl Ran {
    /// The exit code.
    pub fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    /// The last line of standard error that is not blank: where the error ends.
    pub fn last_error_line(&self) -> &str {
        last_line(&self.stderr)
    }

    /// Each of `expected` (an output's name, its value) is among the step outputs.
    pub fn assert_outputs(&self, expected: &[(&str, &str)]) {
        for (name, value) in expected {
            assert_eq!(
                self.outputs.get(*name).map(String::as_str),
                Some(*value),
                "output {name}: {:?}",
                self.outputs
            );
        }
    }
}

/// A user's repository and the stand-ins one scenario needs. Dropping it stops them, and each
/// stand-in then runs its own end-of-test checks (the IAM policy over the calls, GitHub's
/// OpenAPI description over the requests).
pub struct Scenario {
    dir: tempfile::TempDir,
    /// How the process sees `dir`: itself, or `/github` in an image's root.
    seen: String,
    event_name: String,
    event: Value,
    git_ref: String,
    stack: Option<Ec2Stack>,
    github: Option<FakeGitHub>,
    catalog: Option<FakeCatalog>,
    credentials: Credentials,
}

/// Where a run's AWS credentials come from.
enum Credentials {
    /// Keys in the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
    Keys,
    /// The container credentials provider at this URL (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
    Container(String),
    /// Nowhere: no keys, no profile files.
    Missing,
}

impl Scenario {
    /// A repository releasing to `regions` (`common::aws::write_user_repo`, with `extra` YAML
    /// appended to its config), on a tag push of `v2025.6.0`; no stand-in yet.
    pub fn new(regions: &[&str], extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_user_repo(&dir.path().join("workspace"), regions, extra);
        let seen = dir.path().display().to_string();
        Self {
            dir,
            seen,
            event_name: "push".into(),
            event: tag_push_event(),
            git_ref: "refs/tags/v2025.6.0".into(),
            stack: None,
            github: None,
            catalog: None,
            credentials: Credentials::Keys,
        }
    }

    /// With moto behind the proxy (`Ec2Stack`).
    pub fn with_moto(mut self) -> Self {
        if self.stack.is_none() {
            self.stack = Some(Ec2Stack::start());
        }
        self
    }

    /// On `stack`, an `Ec2Stack` another scenario used.
    pub fn on_stack(mut self, stack: Ec2Stack) -> Self {
        self.stack = Some(stack);
        self
    }

    /// With moto behind the proxy, which plays `scenario` (see `tests/support/ec2_proxy.py`).
    pub fn playing(self, scenario: Value) -> Self {
        let this = self.with_moto();
        this.stack().scenario(scenario);
        this
    }

    /// With the GitHub fake holding `example/product`, whose `main` has the repository's
    /// template as it is now.
    pub fn with_github(mut self) -> Self {
        let template = std::fs::read(self.workspace().join("cfn/product.template.yaml")).unwrap();
        self.github = Some(FakeGitHub::start(
            "example",
            "product",
            "main",
            &[("cfn/product.template.yaml", &template)],
        ));
        self
    }

    /// With the Catalog fake, whose change sets end after `describes_until_done` describes.
    pub fn with_catalog(mut self, describes_until_done: u32) -> Self {
        self.catalog = Some(FakeCatalog::start(describes_until_done));
        self
    }

    /// An action run starts on `event_name` with `event` as its payload, at `git_ref`.
    pub fn on_event(mut self, event_name: &str, event: Value, git_ref: &str) -> Self {
        self.event_name = event_name.into();
        self.event = event;
        self.git_ref = git_ref.into();
        self
    }

    /// The process sees the scenario's directory at `seen` (`/github` in an image's root).
    pub fn seen_at(mut self, seen: &str) -> Self {
        self.seen = seen.into();
        self
    }

    /// The AWS credentials come from the SDK's container credentials provider at `url`
    /// (`AWS_CONTAINER_CREDENTIALS_FULL_URI`): no keys in the environment, no profile files.
    pub fn with_container_credentials(mut self, url: &str) -> Self {
        self.credentials = Credentials::Container(url.into());
        self
    }

    /// No AWS credentials anywhere: no keys in the environment, no profile files.
    pub fn without_credentials(mut self) -> Self {
        self.credentials = Credentials::Missing;
        self
    }

    /// moto behind the proxy.
    pub fn stack(&self) -> &Ec2Stack {
        self.stack
            .as_ref()
            .expect("this scenario has no moto: set it up with .with_moto() or .playing(…)")
    }

    /// The GitHub fake.
    pub fn github(&self) -> &FakeGitHub {
        self.github
            .as_ref()
            .expect("this scenario has no GitHub fake: set it up with .with_github()")
    }

    /// The Catalog fake.
    pub fn catalog(&self) -> &FakeCatalog {
        self.catalog
            .as_ref()
            .expect("this scenario has no Catalog fake: set it up with .with_catalog(…)")
    }

    /// moto, handed on to another scenario (the rest is stopped).
    pub fn into_stack(mut self) -> Ec2Stack {
        self.stack.take().expect("this scenario has no moto")
    }

    /// The scenario's directory (the runner's `/github`).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The user's checkout.
    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("workspace")
    }

    /// Writes `contents` to `path` in the workspace, making its directory.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) {
        let at = self.workspace().join(path);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, contents).unwrap();
    }

    /// Writes the repository again from scratch (a fresh checkout releasing to `regions`, with
    /// `extra` YAML in the config); the stand-ins stay.
    pub fn rewrite_repo(&self, regions: &[&str], extra: &str) {
        std::fs::remove_dir_all(self.workspace()).unwrap();
        write_user_repo(&self.workspace(), regions, extra);
    }

    /// The config's path.
    pub fn config_path(&self) -> PathBuf {
        self.workspace().join(CONFIG)
    }

    /// The config's text.
    pub fn config(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap()
    }

    /// Replaces every `from` in the config by `to`; `from` must be there.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = self.config();
        assert!(text.contains(from), "the config lacks {from:?}:\n{text}");
        std::fs::write(self.config_path(), text.replace(from, to)).unwrap();
    }

    /// The default manifest's path, as the process names it.
    pub fn manifest_path(&self) -> String {
        format!("{}/workspace/{MANIFEST}", self.seen)
    }

    /// The manifest at the default path (panics when there is none).
    pub fn manifest(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.workspace().join(MANIFEST)).unwrap())
            .unwrap()
    }

    /// The AWS environment: moto's (else AWS where nothing listens), the Catalog fake's
    /// endpoint, and container credentials instead of keys when asked.
    fn aws_env(&self) -> Vec<(String, String)> {
        let mut env = match &self.stack {
            Some(stack) => stack.env(),
            None => no_aws(),
        };
        if let Some(catalog) = &self.catalog {
            env.push((
                "AWS_ENDPOINT_URL_MARKETPLACE_CATALOG".into(),
                catalog.url.clone(),
            ));
        }
        if !matches!(self.credentials, Credentials::Keys) {
            env.retain(|(k, _)| k != "AWS_ACCESS_KEY_ID" && k != "AWS_SECRET_ACCESS_KEY");
            env.extend(pairs(&[
                ("AWS_CONFIG_FILE", "/nonexistent/aws/config"),
                (
                    "AWS_SHARED_CREDENTIALS_FILE",
                    "/nonexistent/aws/credentials",
                ),
            ]));
        }
        if let Credentials::Container(url) = &self.credentials {
            env.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI".into(), url.clone()));
        }
        env
    }

    /// The command line's environment: AWS, then the GitHub fake's, then `extra`.
    fn cli_env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.aws_env();
        if let Some(github) = &self.github {
            env.extend(github.env());
        }
        env.push((
            "HOME".into(),
            self.dir.path().join("home").display().to_string(),
        ));
        env.extend(pairs(extra));
        env
    }

    /// The binary with `args`, in the workspace, with the machine's GitHub and AWS variables
    /// removed and the scenario's environment (and `extra`) set.
    fn cli_command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        std::fs::create_dir_all(self.dir.path().join("home")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_marketplace-release"));
        command.args(args).current_dir(self.workspace());
        // And what else would reach the credential chain or the file commands.
        let more = [
            "GITHUB_OUTPUT",
            "GITHUB_STEP_SUMMARY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        ];
        for var in super::MACHINE_VARIABLES.iter().chain(&more) {
            command.env_remove(var);
        }
        command.envs(self.cli_env(extra));
        command
    }

    /// Runs the binary on the command line with `args`.
    pub fn cli(&self, args: &[&str]) -> Ran {
        self.cli_with(args, &[])
    }

    /// Runs the binary on the command line with `args` and `extra` environment variables.
    pub fn cli_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Ran {
        let out = self
            .cli_command(args, extra)
            .output()
            .expect("the binary runs");
        Ran {
            outputs: BTreeMap::new(),
            summary: String::new(),
            ..self.collect(out)
        }
    }

    /// Starts the binary on the command line with `args`, its output piped.
    pub fn spawn_cli(&self, args: &[&str]) -> Child {
        spawn(self.cli_command(args, &[]))
    }

    /// The environment of an action step: fresh file commands and the event payload, the
    /// runner's variables, GitHub at the fake (the token only as the `token` input), AWS, the
    /// inputs (`given` over action.yml's defaults) and `extra`.
    pub fn action_env(
        &self,
        given: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let files = runner_files(
            self.dir.path(),
            &self.seen,
            &self.event_name,
            &self.event,
            &self.git_ref,
        );
        let mut env = files.env;
        if let Some(github) = &self.github {
            env.extend(
                github
                    .env()
                    .into_iter()
                    .filter(|(k, _)| k != "GITHUB_TOKEN"),
            );
        }
        env.extend(self.aws_env());
        env.extend(inputs(given));
        env.extend(pairs(extra));
        env
    }

    /// Runs the binary as the action with the inputs `given`.
    pub fn action(&self, given: &[(&str, &str)]) -> Ran {
        self.action_with(given, &[])
    }

    /// Runs the binary as the action with the inputs `given` and `extra` variables.
    pub fn action_with(&self, given: &[(&str, &str)], extra: &[(&str, &str)]) -> Ran {
        self.run(self.action_step(given, extra))
    }

    /// The binary as an action step with the inputs `given` and `extra` variables.
    fn action_step(&self, given: &[(&str, &str)], extra: &[(&str, &str)]) -> Command {
        action_command(
            Path::new(env!("CARGO_BIN_EXE_marketplace-release")),
            &self.workspace(),
            &self.action_env(given, extra),
        )
    }

    /// Runs `command` (built from [`Scenario::action_env`], say, with a change of its own) and
    /// collects what it left.
    pub fn run(&self, mut command: Command) -> Ran {
        self.collect(command.output().expect("the binary runs"))
    }

    /// Starts the binary as the action with the inputs `given`, its output piped.
    pub fn spawn_action(&self, given: &[(&str, &str)]) -> Child {
        spawn(self.action_step(given, &[]))
    }

    /// Waits until `ready` holds (the run reached `what`), waits `settle`, sends `signal`
    /// (`-TERM`, `-INT`) to `child` and collects the run; also returns how long it took to
    /// exit after the signal.
    pub fn signal_when(
        &self,
        child: Child,
        what: &str,
        ready: impl Fn() -> bool,
        settle: Duration,
        signal: &str,
    ) -> (Ran, Duration) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready() {
            assert!(Instant::now() < deadline, "the run never reached {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(settle);
        let signalled = Instant::now();
        assert!(Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let out = child.wait_with_output().unwrap();
        let took = signalled.elapsed();
        (self.collect(out), took)
    }

    /// What a run left: its output, the step outputs and summary, the manifest. No secret
    /// (the GitHub token, the AWS secret key) may be in the log.
    pub fn collect(&self, out: Output) -> Ran {
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        for secret in [TOKEN, AWS_SECRET] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "a secret reached the log:\n{stdout}\n{stderr}"
            );
        }
        let read = |path: PathBuf| std::fs::read_to_string(path).unwrap_or_default();
        let commands = self.dir.path().join("file_commands");
        let manifest = std::fs::read_to_string(self.workspace().join(MANIFEST))
            .ok()
            .map(|text| serde_json::from_str(&text).expect("the manifest is JSON"));
        Ran {
            log: format!("{stdout}{stderr}"),
            outputs: parse_outputs(&read(commands.join("set_output_0b1c"))),
            summary: read(commands.join("step_summary_0b1c")),
            manifest,
            stdout,
            stderr,
            out,
        }
    }
}

/// A manifest of an available release of Example DB 2025.6.0 for `architecture`, in every
/// region of `FIVE`, with the AMIs `fake_ami(first)`, `fake_ami(first + 1)`, …, as a build and
/// copy job hands it on to a publish job.
pub fn available_manifest(architecture: &str, first: u64) -> Value {
    let regions: serde_json::Map<String, Value> = super::aws::FIVE
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                r.to_string(),
                json!({"image_id": super::fake_ami(first + i as u64), "state": "available"}),
            )
        })
        .collect();
    json!({
        "schema": 1, "product": "Example DB", "version": "2025.6.0", "architecture": architecture,
        "run_id": "0123456789ab", "name": format!("example-db-2025.6.0-{architecture}"),
        "source_region": "us-east-1", "source_image_id": super::fake_ami(first),
        "regions": regions, "incomplete": false,
    })
}

/// A submit job after the merge (`workflow_dispatch` with the version, `stages: submit`):
/// `config_extra` in the config and `product.id` set, moto holding an image that keeps every
/// ingestion rule (the account and the role are checked again first), the Catalog fake whose
/// change sets end after `describes_until_done` describes, and the build job's manifest of that
/// image in `manifests/x86_64.json`. Returns the scenario and the image.
pub fn submit_job(config_extra: &str, describes_until_done: u32) -> (Scenario, String) {
    let scenario = Scenario::new(&super::aws::FIVE, config_extra)
        .with_moto()
        .with_catalog(describes_until_done)
        .with_github()
        .on_event(
            "workflow_dispatch",
            json!({"inputs": {"version": "2025.6.0"}}),
            "refs/heads/main",
        );
    let image = scenario.stack().ingestible_image();
    scenario.edit_config(
        "  name: Example DB\n",
        "  name: Example DB\n  id: prod-abcdefgh1234\n",
    );
    let manifest = json!({
        "schema": 1, "product": "Example DB", "version": "2025.6.0", "architecture": "x86_64",
        "run_id": "0123456789ab", "name": "example-db-2025.6.0-x86_64", "source_region": "us-east-1",
        "regions": {"us-east-1": {"image_id": image, "state": "available"}},
        "incomplete": false,
    });
    scenario.write("manifests/x86_64.json", manifest.to_string());
    (scenario, image)
}

/// The inputs of that submit job.
pub const SUBMIT_INPUTS: [(&str, &str); 3] = [
    ("stages", "submit"),
    ("manifests", "manifests"),
    ("version", "2025.6.0"),
];
