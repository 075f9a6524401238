//! The step outputs (`GITHUB_OUTPUT`), as action.yml declares them: made from the outcome,
//! written in the multi-line form that is safe for any value.

use std::io::Write;
use std::path::Path;

use indexmap::IndexMap;
use serde_json::{json, Value};

use crate::aws::catalog::ChangeSetState;
use crate::domain::manifest::Manifest;
use crate::domain::state::ImageState;
use crate::stages::publish::Published;

/// The name of every output, as action.yml declares them.
pub const OUTPUT_NAMES: [&str; 10] = [
    "ami-id",
    "amis",
    "manifest",
    "pull-request-number",
    "pull-request-url",
    "pull-request-operation",
    "branch",
    "change-set-id",
    "change-set-arn",
    "change-set-status",
];

/// The step outputs (documented in `action.yml`).
#[derive(Debug, Default, Clone)]
pub struct ActionOutputs {
    /// The us-east-1 AMI (of the first architecture).
    pub ami_id: String,
    /// Region → AMI as JSON; region → architecture → AMI when several were built.
    pub amis: String,
    /// The manifest paths this run wrote or read, one per line.
    pub manifest: String,
    /// The pull request number.
    pub pull_request_number: String,
    /// The pull request page.
    pub pull_request_url: String,
    /// `created`, `updated` or `none`.
    pub pull_request_operation: String,
    /// The release branch.
    pub branch: String,
    /// The Catalog API change set the submit stage started last.
    pub change_set_id: String,
    /// Its ARN.
    pub change_set_arn: String,
    /// Its status when the stage ended.
    pub change_set_status: String,
}

impl ActionOutputs {
    /// The outputs for what exists: the available AMIs of `manifests` and the publish outcome.
    pub fn new(
        manifests: &[(String, Manifest)],
        published: Option<&Published>,
        branch: &str,
    ) -> Self {
        let amis = available_amis(manifests);
        let ami_id = amis
            .get("us-east-1")
            .and_then(|by_arch| by_arch.values().next())
            .cloned()
            .unwrap_or_default();
        let single = manifests.len() == 1;
        let json: serde_json::Map<String, Value> = amis
            .iter()
            .map(|(region, by_arch)| {
                let value = if single {
                    json!(by_arch.values().next().cloned().unwrap_or_default())
                } else {
                    json!(by_arch)
                };
                (region.clone(), value)
            })
            .collect();
        Self {
            ami_id,
            amis: Value::Object(json).to_string(),
            manifest: manifests
                .iter()
                .map(|(path, _)| path.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            pull_request_number: published
                .and_then(|p| p.number)
                .map(|n| n.to_string())
                .unwrap_or_default(),
            pull_request_url: published.and_then(|p| p.url.clone()).unwrap_or_default(),
            pull_request_operation: published
                .map_or("none", |p| p.operation.as_str())
                .to_owned(),
            branch: published.map_or(branch, |p| p.branch.as_str()).to_owned(),
            ..Self::default()
        }
    }

    /// Adds the change set the submit stage left.
    pub fn with_change_set(mut self, state: Option<&ChangeSetState>) -> Self {
        if let Some(state) = state {
            self.change_set_id = state.id.clone();
            self.change_set_arn = state.arn.clone();
            self.change_set_status = state.status.to_string();
        }
        self
    }

    fn pairs(&self) -> [(&'static str, &str); 10] {
        let values = [
            &self.ami_id,
            &self.amis,
            &self.manifest,
            &self.pull_request_number,
            &self.pull_request_url,
            &self.pull_request_operation,
            &self.branch,
            &self.change_set_id,
            &self.change_set_arn,
            &self.change_set_status,
        ];
        std::array::from_fn(|i| (OUTPUT_NAMES[i], values[i].as_str()))
    }
}

/// Region → architecture → available AMI, regions in first-seen order.
fn available_amis(manifests: &[(String, Manifest)]) -> IndexMap<String, IndexMap<String, String>> {
    let mut amis: IndexMap<String, IndexMap<String, String>> = IndexMap::new();
    for (_, manifest) in manifests {
        for (region, image) in &manifest.regions {
            if image.state == ImageState::Available {
                amis.entry(region.clone())
                    .or_default()
                    .insert(manifest.architecture.clone(), image.image_id.clone());
            }
        }
    }
    amis
}

/// The `GITHUB_OUTPUT` text: every output in the `name<<DELIMITER` form, which is safe for any
/// value, multi-line ones included.
pub fn output_file_text(outputs: &ActionOutputs, delimiter: &str) -> String {
    let mut text = String::new();
    for (name, value) in outputs.pairs() {
        assert!(!value.contains(delimiter), "the delimiter is random");
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    text
}

/// Appends `text` to the file GitHub names in `variable` (`GITHUB_OUTPUT`,
/// `GITHUB_STEP_SUMMARY`).
pub fn append(variable: &str, path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open {variable} ({}): {e}", path.display()))?;
    file.write_all(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {variable}: {e}"))
}

/// Appends the outputs to `GITHUB_OUTPUT` (`path`), or prints them when it is not set.
pub fn write_outputs(outputs: &ActionOutputs, path: Option<&Path>) -> anyhow::Result<()> {
    let Some(path) = path else {
        for (name, value) in outputs.pairs() {
            println!("output {name}: {value}");
        }
        return Ok(());
    };
    let delimiter = format!("ghadelimiter_{:016x}", fastrand::u64(..));
    append(
        "GITHUB_OUTPUT",
        path,
        &output_file_text(outputs, &delimiter),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::manifest::RegionImage;

    fn manifest(architecture: &str, regions: &[(&str, &str, &str)]) -> Manifest {
        let mut m: Manifest = serde_json::from_value(json!({
            "schema": 1, "product": "P", "version": "1.0.0", "architecture": architecture,
            "run_id": "r", "name": "p-1.0.0", "source_region": "us-east-1",
        }))
        .unwrap();
        for (region, id, state) in regions {
            let mut image = RegionImage::pending(id, true);
            image.state = ImageState::parse(state);
            image.seconds = Some(192.4);
            m.regions.insert(region.to_string(), image);
        }
        m
    }

    #[test]
    fn outputs_use_the_multiline_form_and_list_available_amis() {
        let manifests = vec![(
            "m.json".to_owned(),
            manifest(
                "x86_64",
                &[
                    ("us-east-1", "ami-1", "available"),
                    ("eu-west-1", "ami-2", "failed"),
                ],
            ),
        )];
        let outputs = ActionOutputs::new(&manifests, None, "release/1.0.0");
        assert_eq!(outputs.ami_id, "ami-1");
        assert_eq!(outputs.amis, r#"{"us-east-1":"ami-1"}"#);
        assert_eq!(outputs.pull_request_operation, "none");
        let text = output_file_text(&outputs, "EOF_x");
        assert!(
            text.starts_with("ami-id<<EOF_x\nami-1\nEOF_x\namis<<EOF_x\n"),
            "{text}"
        );
        assert!(
            text.contains("branch<<EOF_x\nrelease/1.0.0\nEOF_x\n"),
            "{text}"
        );
    }

    #[test]
    fn several_architectures_key_amis_by_architecture() {
        let manifests = vec![
            (
                "a.json".to_owned(),
                manifest("x86_64", &[("us-east-1", "ami-1", "available")]),
            ),
            (
                "b.json".to_owned(),
                manifest("arm64", &[("us-east-1", "ami-9", "available")]),
            ),
        ];
        let outputs = ActionOutputs::new(&manifests, None, "");
        assert_eq!(
            outputs.amis,
            r#"{"us-east-1":{"x86_64":"ami-1","arm64":"ami-9"}}"#
        );
        assert_eq!(outputs.manifest, "a.json\nb.json");
    }
}
