//! The release manifest: the JSON file the build and copy stages write, and the template and
//! publish stages (and later jobs of a workflow matrix) read.
//!
//! It is rewritten after every change, so after a failure or a cancellation it still says
//! which images and snapshots exist.

use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::domain::ami::{AmiId, AmiSet, Region, RegionAmis};

/// The manifest format version.
pub const SCHEMA: u32 = 1;

/// One region's image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionImage {
    /// The image ID in this region.
    pub image_id: String,
    /// Its EBS snapshots.
    #[serde(default)]
    pub snapshot_ids: Vec<String>,
    /// `pending`, `available`, `failed`, or `deregistered` after a cleanup.
    pub state: String,
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
            state: "pending".into(),
            created_by_this_run,
            seconds: None,
            error: None,
        }
    }
}

/// The builder instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Builder {
    /// Instance ID.
    pub instance_id: String,
    /// Whether it was terminated.
    pub terminated: bool,
}

/// The release manifest of one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version, [`SCHEMA`].
    pub schema: u32,
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
    /// The builder instance, once launched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<Builder>,
    /// Images by region, the source region included.
    #[serde(default)]
    pub regions: IndexMap<String, RegionImage>,
    /// Seconds per phase (`build`, `image`, `copy`).
    #[serde(default)]
    pub timings: IndexMap<String, f64>,
    /// Whether the run ended early (failure or cancellation).
    #[serde(default)]
    pub incomplete: bool,
}

impl Manifest {
    /// Reads a manifest file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read manifest {}: {e}\n  help: pass the file the build or copy stage wrote",
                path.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!("{}:{}:{}: not a marketplace-release manifest: {e}\n  help: pass the file the build or copy stage wrote", path.display(), e.line(), e.column())
        })?;
        if manifest.schema != SCHEMA {
            anyhow::bail!("{}: manifest schema {} is not supported (expected {SCHEMA})\n  help: use the same marketplace-release version for every stage", path.display(), manifest.schema);
        }
        Ok(manifest)
    }

    /// Writes the manifest atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("manifest serialises") + "\n";
        crate::files::write_atomically(path, &text)
    }

    /// The available images as an AMI set (region → AMI), for the template stage.
    pub fn available_amis(&self) -> AmiSet {
        AmiSet::from_pairs(
            self.regions
                .iter()
                .filter(|(_, image)| image.state == "available")
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
    fn round_trips_and_lists_only_available_images() {
        let mut manifest = Manifest {
            schema: SCHEMA,
            product: "P".into(),
            version: "1.0".into(),
            architecture: "x86_64".into(),
            run_id: "r".into(),
            name: "p-1.0".into(),
            source_region: "us-east-1".into(),
            source_image_id: Some("ami-0123456789abcdef0".into()),
            base_image_id: None,
            builder: None,
            regions: IndexMap::new(),
            timings: IndexMap::new(),
            incomplete: false,
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
                    state: state.into(),
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
        std::fs::write(&path, "{\"schema\": 9}").unwrap();
        assert!(Manifest::read(&path).is_err());
    }
}
