//! The live listing, read-only (DescribeEntity), before anything is built, when `product.id`
//! is set: a version title already used is refused; regions the listing and the release don't
//! share, and a recommended instance type the listing does not sell, are warnings for the PR
//! and the summary. The rules are [`crate::domain::catalog`]'s.

use anyhow::{bail, Result};

use crate::aws::catalog::Catalog;
use crate::config::ProductId;
use crate::domain::catalog;
use crate::output::progress;

/// What the listing is checked against.
pub struct Release<'a> {
    /// The product.
    pub product: &'a ProductId,
    /// The version title this release would add.
    pub title: &'a str,
    /// The regions the release copies to.
    pub regions: &'a [String],
    /// Whether the config lists its regions (else `all`).
    pub regions_listed: bool,
    /// The load form's recommended instance type.
    pub instance_type: &'a str,
}

/// Checks the listing; returns its warnings, one sentence each. When the product cannot be
/// read, says that the listing was not checked and goes on.
pub async fn check(catalog: &Catalog, release: &Release<'_>) -> Result<Vec<String>> {
    let product = release.product;
    let entity = match catalog.describe_entity(product).await {
        Ok(entity) => entity,
        Err(error) => {
            progress::warning(
                "listing not checked",
                &format!("{error}; allow aws-marketplace:DescribeEntity (iam/policy.json) to have the version title and regions checked before building"),
            );
            return Ok(Vec::new());
        }
    };
    let title = release.title;
    let versions = catalog::listed_versions(&entity);
    if let catalog::VersionStatus::TitleTaken { amis } =
        catalog::version_status(&versions, title, None)
    {
        bail!("product {product} already has a version titled `{title}` (AMI {}); AWS Marketplace refuses a second one\n  help: release a new version, or change load-form.version-title; nothing was built", if amis.is_empty() { "unknown".to_owned() } else { amis.join(", ") });
    }
    let notes = catalog::listing_notes(
        &entity,
        product.as_str(),
        release.regions,
        release.regions_listed,
        release.instance_type,
    );
    for note in &notes {
        progress::warning("listing", note);
    }
    progress::line(&format!(
        "listing: {product}: version title `{title}` is new"
    ));
    Ok(notes)
}
