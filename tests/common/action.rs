//! Running the binary the way GitHub's runner runs a container action: no arguments, the
//! workspace as working directory, every input of action.yml as `INPUT_<NAME>` (upper case,
//! hyphens kept, `""` when not given), and the file commands and event payload as files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::github::TOKEN;

/// Every input of action.yml with its default as GitHub evaluates it, then `given` on top.
pub fn inputs(given: &[(&str, &str)]) -> Vec<(String, String)> {
    let action: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(super::repo().join("action.yml")).unwrap())
            .unwrap();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        let default = spec["default"].as_str().unwrap_or_default();
        let default = if default == "${{ github.token }}" {
            TOKEN
        } else {
            default
        };
        values.insert(name.as_str().unwrap().to_owned(), default.to_owned());
    }
    for (name, value) in given {
        assert!(
            values.contains_key(*name),
            "action.yml has no input `{name}`"
        );
        values.insert(name.to_string(), value.to_string());
    }
    values
        .into_iter()
        .map(|(name, value)| (format!("INPUT_{}", name.to_uppercase()), value))
        .collect()
}

/// The files GitHub hands a step, under `root` (the host directory that the container sees as
/// `/github`), and the paths the process sees them at.
pub struct RunnerFiles {
    /// `GITHUB_OUTPUT` on the host.
    pub output: PathBuf,
    /// `GITHUB_STEP_SUMMARY` on the host.
    pub summary: PathBuf,
    /// The variables pointing at them, as the process sees them.
    pub env: Vec<(String, String)>,
}

/// Writes the event payload and empty file commands under `host_github` (seen by the process
/// as `seen_github`); returns them with the runner's variables.
pub fn runner_files(
    host_github: &Path,
    seen_github: &str,
    event_name: &str,
    event: &serde_json::Value,
    git_ref: &str,
) -> RunnerFiles {
    std::fs::create_dir_all(host_github.join("file_commands")).unwrap();
    std::fs::create_dir_all(host_github.join("workflow")).unwrap();
    std::fs::create_dir_all(host_github.join("home")).unwrap();
    std::fs::write(host_github.join("workflow/event.json"), event.to_string()).unwrap();
    let output = host_github.join("file_commands/set_output_0b1c");
    let summary = host_github.join("file_commands/step_summary_0b1c");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "").unwrap();
    let (ref_type, ref_name) = match git_ref.strip_prefix("refs/tags/") {
        Some(tag) => ("tag", tag),
        None => ("branch", git_ref.trim_start_matches("refs/heads/")),
    };
    let env = [
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("CI", "true".to_owned()),
        ("HOME", format!("{seen_github}/home")),
        ("GITHUB_WORKSPACE", format!("{seen_github}/workspace")),
        (
            "GITHUB_EVENT_PATH",
            format!("{seen_github}/workflow/event.json"),
        ),
        (
            "GITHUB_OUTPUT",
            format!("{seen_github}/file_commands/set_output_0b1c"),
        ),
        (
            "GITHUB_STEP_SUMMARY",
            format!("{seen_github}/file_commands/step_summary_0b1c"),
        ),
        ("GITHUB_EVENT_NAME", event_name.to_owned()),
        ("GITHUB_REF", git_ref.to_owned()),
        ("GITHUB_REF_TYPE", ref_type.to_owned()),
        ("GITHUB_REF_NAME", ref_name.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    RunnerFiles {
        output,
        summary,
        env,
    }
}

/// Reads a `GITHUB_OUTPUT` file (`name<<DELIMITER` blocks and `name=value` lines).
pub fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for next in lines.by_ref() {
                if next == delimiter {
                    break;
                }
                value.push(next);
            }
            outputs.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_owned(), value.to_owned());
        }
    }
    outputs
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
