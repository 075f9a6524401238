//! Helpers shared by the integration tests: where the corpus and the tools are, and how to
//! run the binary exactly as a user does.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod action;
pub mod aws;
pub mod catalog;
pub mod credentials;
pub mod github;
pub mod iam;
pub mod openapi;
pub mod scenario;

use marketplace_release::domain::ami::{AmiId, AmiSet, Region};
use marketplace_release::template::proof::Value;
use marketplace_release::template::Template;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus` beside the repository, when it exists. Prints why it is skipped when not,
/// so a run without it never passes silently.
pub fn corpus(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("MARKETPLACE_RELEASE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/corpus"));
    if dir.join("neo4j").is_dir() {
        Some(dir)
    } else {
        eprintln!("NOTE: {test}: corpus not found at {} (set MARKETPLACE_RELEASE_CORPUS); this test checked nothing", dir.display());
        None
    }
}

/// Every template file of the corpus (both folders), sorted.
pub fn corpus_templates(corpus: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in ["neo4j", "others"] {
        for entry in std::fs::read_dir(corpus.join(folder)).expect("corpus folder") {
            let path = entry.expect("dir entry").path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.contains(".template.") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The cfn-lint executable: `$CFN_LINT`, else the README's venv. Panics (never skips) when it
/// is missing, with the command that installs it.
pub fn cfn_lint() -> PathBuf {
    let candidate = std::env::var_os("CFN_LINT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/cfn-lint"));
    assert!(
        candidate.is_file(),
        "cfn-lint not found at {}: run the README's test command (bash .ci/run), which installs it into .venv, or set CFN_LINT",
        candidate.display()
    );
    candidate
}

/// The Python of the README's venv, with ruamel.yaml (the fuzz test's independent loader):
/// `$MARKETPLACE_RELEASE_PYTHON`, else `.venv/bin/python`. Panics (never skips) when it is
/// missing or lacks ruamel.yaml, with the command that installs it.
pub fn venv_python() -> PathBuf {
    let candidate = std::env::var_os("MARKETPLACE_RELEASE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"));
    let has_ruamel = Command::new(&candidate)
        .args(["-c", "import ruamel.yaml"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_ruamel,
        "no Python with ruamel.yaml at {}: run the README's test command (bash scripts/test.sh), which installs tests/requirements.txt into .venv, or set MARKETPLACE_RELEASE_PYTHON",
        candidate.display()
    );
    candidate
}

/// The variables of the machine (GitHub's, and the AWS keys) that a run of the binary on the
/// command line must not inherit.
pub const MACHINE_VARIABLES: [&str; 13] = [
    "GITHUB_ACTIONS",
    "GITHUB_REF_NAME",
    "GITHUB_REF_TYPE",
    "GITHUB_WORKSPACE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "GITHUB_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITHUB_EVENT_PATH",
    "GITHUB_SERVER_URL",
    "GITHUB_RUN_ID",
    "GITHUB_REF",
];

/// Runs the release binary with `args` in `dir`, with the GitHub variables of the machine
/// removed and `env` added.
pub fn run_binary(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_marketplace-release"));
    command.args(args).current_dir(dir);
    for var in MACHINE_VARIABLES {
        command.env_remove(var);
    }
    command
        .envs(env.iter().copied())
        .output()
        .expect("the binary runs")
}

/// A deterministic, valid 17-digit AMI ID from a number.
pub fn fake_ami(n: u64) -> String {
    let id = format!("ami-f{n:016x}");
    assert!(AmiId::is_ami_id(&id));
    id
}

/// The names of the mappings of `text` that hold AMI IDs.
pub fn ami_mappings(text: &str) -> Vec<marketplace_release::template::MappingSummary> {
    Template::parse(text)
        .map(|t| {
            t.mappings()
                .into_iter()
                .filter(|m| m.ami_values > 0)
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces every AMI ID token in `line` by a marker, so two lines can be compared "but for
/// their AMI IDs".
pub fn mask_amis(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("ami-") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 4..];
        let hex = tail.chars().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex == 8 || hex == 17 {
            out.push_str("ami-*");
            rest = &tail[hex..];
        } else {
            out.push_str("ami-");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// (region, [(key, AMI)]) for the region-named entries of `mapping` that hold AMI IDs, in
/// document order.
pub fn region_amis(doc: &Value<'_>, mapping: &str) -> Vec<(String, Vec<(String, String)>)> {
    let Some(regions) = doc.get("Mappings").and_then(|m| m.get(mapping)) else {
        return Vec::new();
    };
    regions
        .pairs()
        .iter()
        .filter_map(|(region, keys)| {
            let region = region.as_str().filter(|r| Region::is_region_name(r))?;
            let amis: Vec<(String, String)> = keys
                .pairs()
                .iter()
                .filter_map(|(k, v)| match (k.as_str(), v) {
                    (Some(k), Value::String(v)) if AmiId::is_ami_id(v) => {
                        Some((k.to_owned(), v.to_string()))
                    }
                    _ => None,
                })
                .collect();
            (!amis.is_empty()).then(|| (region.to_owned(), amis))
        })
        .collect()
}

/// The keyed AMIS.json form of `entries`, in their order.
pub fn keyed_ami_set(entries: &[(String, Vec<(String, String)>)]) -> AmiSet {
    let object: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .map(|(region, pairs)| {
            let keys = pairs
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            (region.clone(), serde_json::Value::Object(keys))
        })
        .collect();
    AmiSet::from_json_value(&serde_json::Value::Object(object)).expect("valid AMI set")
}

/// An HTTP fake served from its own thread on a free loopback port, stopped when dropped.
pub struct FakeServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeServer {
    /// Serves `app`.
    pub fn serve(app: axum::Router) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("the fake serves");
            });
        });
        Self {
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
