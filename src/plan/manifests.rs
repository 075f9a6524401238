//! The release's AMIs from the manifests of its build jobs: the one reading of manifests that
//! the templates, the test stack, the pull request and the submission share. Pure.

use anyhow::{anyhow, Result};
use indexmap::IndexMap;

use crate::config::{Architecture, Config};
use crate::domain::ami::AmiSet;
use crate::domain::manifest::Manifest;
use crate::domain::state::ImageState;
use crate::domain::version::Version;
use crate::output::progress;

/// The version and the available AMIs per architecture of one release, from the manifests of
/// its build jobs (one per architecture). Refuses manifests that do not belong together or to
/// this config, and releases that lack a required region.
pub fn amis_from_manifests(
    config: &Config,
    manifests: &[(String, Manifest)],
    expected_version: Option<&Version>,
) -> Result<(Version, IndexMap<Architecture, AmiSet>)> {
    let help = "pass the manifests the build and copy stages of this release wrote";
    let mut version: Option<(String, &str)> = None;
    let mut by_arch = IndexMap::new();
    for (path, manifest) in manifests {
        if manifest.product != config.product.name {
            anyhow::bail!("{path}: the manifest is for product `{}`, but the config is for `{}`\n  help: {help}", manifest.product, config.product.name);
        }
        match &version {
            Some((v, first)) if *v != manifest.version => anyhow::bail!(
                "{path}: the manifest is for version {}, but {first} is for {v}\n  help: {help}",
                manifest.version
            ),
            Some(_) => {}
            None => version = Some((manifest.version.clone(), path.as_str())),
        }
        if manifest.incomplete {
            anyhow::bail!("{path}: the manifest is incomplete (its build or copy stage failed or was cancelled)\n  help: re-run `marketplace-release copy --manifest {path}`, which resumes, then publish");
        }
        let architecture = config
            .build
            .architectures
            .iter()
            .copied()
            .find(|a| a.as_str() == manifest.architecture)
            .ok_or_else(|| anyhow!("{path}: the manifest is for {}, which build.architectures does not list\n  help: add it to the config, or leave this manifest out", manifest.architecture))?;
        for (region, image) in &manifest.regions {
            let valid = crate::domain::ami::Region::new(region).is_ok()
                && crate::domain::ami::AmiId::new(&image.image_id, region).is_ok();
            if image.state == ImageState::Available && !valid {
                anyhow::bail!(
                    "{path}: {region}: `{}` is not an AMI ID in a valid region\n  help: {help}",
                    image.image_id
                );
            }
        }
        let amis = manifest.available_amis();
        if amis.is_empty() {
            anyhow::bail!(
                "{path}: the manifest has no available AMI\n  help: run the copy stage first"
            );
        }
        for region in &config.copy.required_regions {
            if amis.get(region.as_str()).is_none() {
                anyhow::bail!("{path}: required region {region} has no available AMI\n  help: re-run `marketplace-release copy --manifest {path}`, or drop {region} from copy.required-regions");
            }
        }
        if by_arch.insert(architecture, amis).is_some() {
            anyhow::bail!(
                "{path}: a second manifest for {}\n  help: pass one manifest per architecture",
                manifest.architecture
            );
        }
    }
    let (text, first) =
        version.ok_or_else(|| anyhow!("no manifest given\n  help: pass --manifest FILE"))?;
    let version = Version::new(&text).map_err(|e| anyhow!("{first}: {e}\n  help: {help}"))?;
    if let Some(expected) = expected_version {
        if *expected != version {
            anyhow::bail!("{first}: the manifest is for version {version}, but this run releases {expected}\n  help: pass the manifests of version {expected}, or the matching --version");
        }
    }
    for arch in &config.build.architectures {
        if !by_arch.contains_key(arch) {
            progress::warning(
                "architecture left as it is",
                &format!(
                    "no manifest for {}: its AMIs in the templates stay as they are",
                    arch.as_str()
                ),
            );
        }
    }
    Ok((version, by_arch))
}
