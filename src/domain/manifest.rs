//! The release manifest: the JSON file the build and copy stages write, and the template and
//! publish stages (and later jobs of a workflow matrix) read.
//!
//! It is rewritten after every change, so after a failure or a cancellation it still says
//! which images and snapshots exist.
//!
//! It is the contract between the jobs of a matrix, and between a release and a later
//! `submit`, which may run a newer version of the tool: its JSON Schema is committed at
//! `schema/manifest.schema.json` (a test keeps it current), and [`SCHEMA_VERSION`] says which
//! shape a file has. Version 1 named that field `schema`; it is still read.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::domain::ami::{AmiId, AmiSet, Region, RegionAmis};
use crate::domain::state::ImageState;
use crate::domain::timeline::Timeline;
use crate::domain::verification::Verification;
use schemars::JsonSchema;

/// The manifest format version this tool writes. 1: the first format (its version field was
/// named `schema`); 2: the field is `schema_version`, states are checked enums (same text).
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest manifest format this tool reads.
pub const OLDEST_READ: u32 = 1;

/// One region's image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RegionImage {
    /// The image ID in this region.
    pub image_id: String,
    /// Its EBS snapshots.
    #[serde(default)]
    pub snapshot_ids: Vec<String>,
    /// `pending`, `available`, `failed`, or `deregistered` after a cleanup.
    pub state: ImageState,
    /// Whether this run created the image (false when an earlier run's copy was reused).
    #[serde(default)]
    pub created_by_this_run: bool,
    /// Seconds from the copy request to `available`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Why the region failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RegionImage {
    /// An image that exists but is not available yet.
    pub fn pending(image_id: &str, created_by_this_run: bool) -> Self {
        Self {
            image_id: image_id.to_owned(),
            snapshot_ids: Vec::new(),
            state: ImageState::Pending,
            created_by_this_run,
            seconds: None,
            error: None,
        }
    }
}

/// The builder instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Builder {
    /// Instance ID.
    pub instance_id: String,
    /// Whether it was terminated.
    pub terminated: bool,
}

/// The release manifest of one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "marketplace-release manifest",
    extend("$id" = "https://github.com/marketplace-release/marketplace-release/raw/main/schema/manifest.schema.json")
)]
pub struct Manifest {
    /// Format version, [`SCHEMA_VERSION`] (named `schema` in version 1).
    #[serde(alias = "schema")]
    pub schema_version: u32,
    /// Product name.
    pub product: String,
    /// Release version.
    pub version: String,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// This run's ID (also in tags and the console marker).
    pub run_id: String,
    /// The AMI name.
    pub name: String,
    /// The region the image was built in.
    pub source_region: String,
    /// The built (or given) image in the source region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_image_id: Option<String>,
    /// The base image the builder booted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_image_id: Option<String>,
    /// The existing AMI this release's image was copied from (`build.image`), when it was not
    /// built: marketplace-release ran neither the build script nor the hardening on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
    /// The builder instance, once launched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<Builder>,
    /// Images by region, the source region included.
    #[serde(default)]
    pub regions: IndexMap<String, RegionImage>,
    /// Seconds per phase (`build`, `image`, `copy`).
    #[serde(default)]
    pub timings: IndexMap<String, f64>,
    /// When each phase started and ended (the builder, the image, each region's copy,
    /// publish), for the release timeline.
    #[serde(default, skip_serializing_if = "Timeline::is_empty")]
    pub timeline: Timeline,
    /// Whether the run ended early (failure or cancellation).
    #[serde(default)]
    pub incomplete: bool,
    /// The SHA-256 of the build script the image was built with (also the image's
    /// `marketplace-release:script-sha256` tag); a re-run resumes only from the same script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_sha256: Option<String>,
    /// When the run ended early: what this run made that still exists, as the commands that
    /// remove it (a re-run resumes from it instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<String>,
    /// The verifications of the image (issue 16): the build region's first, then those of
    /// `verify.regions`. Absent when none ran (and in manifests of earlier versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification: Vec<Verification>,
}

impl Manifest {
    /// The commands that remove what this run made and what is still there: a builder or a
    /// test instance not known to be terminated, and images (with their snapshots) this run created.
    pub fn cleanup_commands(&self) -> Vec<String> {
        let mut commands = Vec::new();
        if let Some(builder) = self.builder.as_ref().filter(|b| !b.terminated) {
            commands.push(format!(
                "aws ec2 terminate-instances --region {} --instance-ids {}",
                self.source_region, builder.instance_id
            ));
        }
        for verification in self.verification.iter().filter(|v| !v.terminated) {
            if let Some(instance) = &verification.instance_id {
                commands.push(format!(
                    "aws ec2 terminate-instances --region {} --instance-ids {instance}",
                    verification.region
                ));
            }
        }
        for (region, image) in &self.regions {
            if !image.created_by_this_run
                || image.image_id.is_empty()
                || image.state == ImageState::Deregistered
            {
                continue;
            }
            commands.push(format!(
                "aws ec2 deregister-image --region {region} --image-id {}",
                image.image_id
            ));
            commands.extend(image.snapshot_ids.iter().map(|snapshot| {
                format!("aws ec2 delete-snapshot --region {region} --snapshot-id {snapshot}")
            }));
        }
        commands
    }

    /// Whether this manifest records the same release (product, version, architecture).
    pub fn same_release(&self, product: &str, version: &str, architecture: &str) -> bool {
        self.product == product && self.version == version && self.architecture == architecture
    }

    /// Reads a manifest file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read manifest {}: {e}\n  help: pass the file the build or copy stage wrote",
                path.display()
            )
        })?;
        let not_ours = |e: serde_json::Error| {
            anyhow::anyhow!("{}:{}:{}: not a marketplace-release manifest: {e}\n  help: pass the file the build or copy stage wrote", path.display(), e.line(), e.column())
        };
        // The version first: a newer format may not parse as this one.
        let value: serde_json::Value = serde_json::from_str(&text).map_err(not_ours)?;
        let version = ["schema_version", "schema"]
            .iter()
            .find_map(|key| value.get(key)?.as_u64());
        match version {
            Some(v) if v > u64::from(SCHEMA_VERSION) => anyhow::bail!("{}: the manifest has schema_version {v}, written by a newer marketplace-release (this one reads {OLDEST_READ} to {SCHEMA_VERSION})\n  help: run this stage with the marketplace-release version that wrote the manifest, or a newer one", path.display()),
            Some(v) if v < u64::from(OLDEST_READ) => anyhow::bail!("{}: the manifest has schema_version {v}, which this marketplace-release no longer reads (it reads {OLDEST_READ} to {SCHEMA_VERSION})\n  help: run the build and copy stages again with this version", path.display()),
            Some(_) => {}
            None => anyhow::bail!("{}: not a marketplace-release manifest: it has no schema_version\n  help: pass the file the build or copy stage wrote", path.display()),
        }
        let manifest: Manifest = serde_json::from_str(&text).map_err(not_ours)?;
        // An available image must be usable, so that no later stage drops it unseen.
        for (region, image) in &manifest.regions {
            if image.state != ImageState::Available {
                continue;
            }
            if let Err(e) = Region::new(region).and_then(|_| AmiId::new(&image.image_id, region)) {
                anyhow::bail!("{}: {e}\n  help: pass the file the build or copy stage wrote; it was changed by hand or by another tool", path.display());
            }
        }
        Ok(manifest)
    }

    /// Writes the manifest atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        crate::files::write_atomically(path, &self.to_json())
    }

    /// The manifest as its file holds it: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serialises") + "\n"
    }

    /// The JSON Schema of the manifest, as committed at `schema/manifest.schema.json`.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Manifest)).expect("a schema serialises")
    }

    /// The available images as an AMI set (region → AMI), for the template stage. Their
    /// regions and IDs were checked when the manifest was read (or come from EC2).
    pub fn available_amis(&self) -> AmiSet {
        AmiSet::from_pairs(
            self.regions
                .iter()
                .filter(|(_, image)| image.state == ImageState::Available)
                .filter_map(|(region, image)| {
                    let region = Region::new(region).ok()?;
                    let ami = AmiId::new(&image.image_id, region.as_str()).ok()?;
                    Some((region, RegionAmis::Single(ami)))
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleanup_commands_name_what_this_run_made_and_still_exists() {
        let mut manifest: Manifest = serde_json::from_str(
            r#"{"schema_version": 2, "product": "P", "version": "1.0", "architecture": "x86_64",
            "run_id": "r", "name": "p", "source_region": "us-east-1",
            "builder": {"instance_id": "i-0123456789abcdef0", "terminated": false},
            "regions": {
              "us-east-1": {"image_id": "ami-0123456789abcdef0", "snapshot_ids": ["snap-1"], "state": "available", "created_by_this_run": true},
              "eu-west-1": {"image_id": "ami-0123456789abcdef1", "state": "available", "created_by_this_run": false},
              "eu-west-2": {"image_id": "ami-0123456789abcdef2", "state": "deregistered", "created_by_this_run": true}
            }}"#,
        )
        .unwrap();
        assert_eq!(
            manifest.cleanup_commands(),
            [
                "aws ec2 terminate-instances --region us-east-1 --instance-ids i-0123456789abcdef0",
                "aws ec2 deregister-image --region us-east-1 --image-id ami-0123456789abcdef0",
                "aws ec2 delete-snapshot --region us-east-1 --snapshot-id snap-1",
            ]
        );
        manifest.builder.as_mut().unwrap().terminated = true;
        assert_eq!(manifest.cleanup_commands().len(), 2);
    }

    #[test]
    fn round_trips_and_lists_only_available_images() {
        let mut manifest = Manifest {
            schema_version: SCHEMA_VERSION,
            product: "P".into(),
            version: "1.0".into(),
            architecture: "x86_64".into(),
            run_id: "r".into(),
            name: "p-1.0".into(),
            source_region: "us-east-1".into(),
            source_image_id: Some("ami-0123456789abcdef0".into()),
            base_image_id: None,
            imported_from: None,
            builder: None,
            regions: IndexMap::new(),
            timings: IndexMap::new(),
            timeline: Timeline::default(),
            incomplete: false,
            script_sha256: None,
            cleanup: Vec::new(),
            verification: Vec::new(),
        };
        for (region, state) in [
            ("us-east-1", "available"),
            ("eu-west-1", "failed"),
            ("eu-west-2", "available"),
        ] {
            manifest.regions.insert(
                region.into(),
                RegionImage {
                    image_id: "ami-0123456789abcdef0".into(),
                    snapshot_ids: vec![],
                    state: ImageState::parse(state),
                    created_by_this_run: true,
                    seconds: None,
                    error: None,
                },
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        manifest.write(&path).unwrap();
        assert_eq!(Manifest::read(&path).unwrap(), manifest);
        let regions: Vec<_> = manifest
            .available_amis()
            .iter()
            .map(|(r, _)| r.to_string())
            .collect();
        assert_eq!(regions, ["us-east-1", "eu-west-2"]);
        std::fs::write(&path, "{\"schema_version\": 9}").unwrap();
        let error = Manifest::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("schema_version 9, written by a newer"),
            "{error}"
        );
    }

    /// An available image with a malformed ID is refused when read, naming the region.
    #[test]
    fn an_unusable_available_image_is_refused_when_read() {
        let text = r#"{"schema_version": 2, "product": "P", "version": "1.0",
            "architecture": "x86_64", "run_id": "r", "name": "p", "source_region": "us-east-1",
            "regions": {"eu-west-1": {"image_id": "ami-XYZ", "state": "available"}}}"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(&path, text).unwrap();
        let error = Manifest::read(&path).unwrap_err().to_string();
        assert!(
            error.contains("ami-XYZ") && error.contains("eu-west-1"),
            "{error}"
        );
    }

    /// A manifest as version 1 of the format (marketplace-release 0.1) wrote it is still read.
    #[test]
    fn a_version_1_manifest_is_read() {
        let v1 = r#"{"schema": 1, "product": "P", "version": "1.0", "architecture": "x86_64",
            "run_id": "r", "name": "p-1.0", "source_region": "us-east-1",
            "source_image_id": "ami-0123456789abcdef0",
            "regions": {"us-east-1": {"image_id": "ami-0123456789abcdef0", "state": "available",
                "snapshot_ids": ["snap-1"], "created_by_this_run": true, "seconds": 3.5},
                "eu-west-1": {"image_id": "ami-0123456789abcdef1", "state": "failed",
                "error": "quota"}},
            "timings": {"build": 60.0}, "incomplete": false}"#;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.json");
        std::fs::write(&path, v1).unwrap();
        let manifest = Manifest::read(&path).unwrap();
        assert_eq!(manifest.schema_version, 1);
        assert_eq!(manifest.regions["us-east-1"].state, ImageState::Available);
        assert_eq!(manifest.regions["eu-west-1"].state, ImageState::Failed);
        assert_eq!(manifest.available_amis().iter().count(), 1);
    }

    /// `schema/manifest.schema.json` is what the types generate
    /// (`MARKETPLACE_RELEASE_UPDATE_SCHEMA=1` rewrites it), and it accepts a manifest.
    #[test]
    fn the_committed_manifest_schema_is_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/manifest.schema.json");
        let generated = serde_json::to_string_pretty(&Manifest::json_schema()).unwrap() + "\n";
        if std::env::var_os("MARKETPLACE_RELEASE_UPDATE_SCHEMA").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: run the tests with MARKETPLACE_RELEASE_UPDATE_SCHEMA=1 and commit it",
            path.display()
        );
    }
}
