//! The `product`, `version` and `templates` sections: what is released, and which templates
//! carry it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::build::Architecture;
use super::types::{checked_string, non_empty, AccountId, WorkspacePath};

/// The product being released.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct Product {
    /// The listing's name, used in titles: one line, without control characters.
    #[serde(deserialize_with = "product_name")]
    #[schemars(length(min = 1))]
    pub name: String,
    /// The Marketplace product ID (`prod-…`); required by the submit stage.
    #[serde(default)]
    pub id: Option<ProductId>,
    /// The seller's AWS account: when set, a release whose credentials belong to another
    /// account is refused before anything is created.
    #[serde(default)]
    pub seller_account: Option<AccountId>,
}

fn product_name<'de, D: Deserializer<'de>>(de: D) -> Result<String, D::Error> {
    let name = String::deserialize(de)?;
    if name.trim().is_empty() {
        return Err(super::types::Invalid::new(
            "the product name is empty",
            "set product.name to the listing's name",
        )
        .into_de());
    }
    // The name reaches the builder's user-data, titles, the PR body and the log: a newline
    // there would start a shell command or a workflow command.
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(super::types::Invalid::new(
            format!("the product name contains the control character {c:?}"),
            "write product.name on one line, without tabs or control characters",
        )
        .into_de());
    }
    Ok(name)
}

checked_string! {
    /// A Marketplace product ID: `prod-…`, or the UUID form of older products.
    ProductId {
        title: "product ID",
        pattern: r"^(prod-[a-z0-9]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
        is_not: "a Marketplace product ID",
        help: "give the product's ID as the Marketplace Management Portal shows it (prod-…)",
        example: "prod-abcdefgh12345",
    }
}

/// Where the release version comes from.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct VersionSource {
    /// Stripped from a release tag: `v5.26.0` → `5.26.0`.
    #[serde(default = "default_tag_prefix")]
    pub tag_prefix: String,
}

impl Default for VersionSource {
    fn default() -> Self {
        Self {
            tag_prefix: default_tag_prefix(),
        }
    }
}

fn default_tag_prefix() -> String {
    "v".into()
}

/// The `templates` list: at least one.
pub(super) fn templates<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<TemplateTarget>, D::Error> {
    non_empty(
        de,
        "no templates are listed",
        "list at least one template under `templates:` with its `path`",
    )
}

/// One template to regenerate.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct TemplateTarget {
    /// Template path relative to the repository root.
    pub path: WorkspacePath,
    /// The AMI mapping, when the template has several; detected when absent.
    #[serde(default)]
    pub mapping: Option<String>,
    /// Mapping key per architecture, such as `x86_64: AMD64` and `arm64: ARM64`. Required when
    /// several architectures are built. Without it, each region's single key is used. A key
    /// that no region of the mapping has is an error (a typo would add a new row everywhere),
    /// unless `add-keys` is true.
    #[serde(default)]
    pub keys: BTreeMap<Architecture, String>,
    /// Whether `keys` may name keys the mapping does not have yet: they are added to every
    /// region, and the plan and the pull request say so.
    #[serde(default)]
    pub add_keys: bool,
    /// The version parameter; detected when absent.
    #[serde(default)]
    pub version_parameter: Option<String>,
    /// Whether to write the version into the template. When absent, the version is written
    /// if the template has a version parameter, and the plan says when it has none; `true`
    /// makes a missing version parameter an error.
    #[serde(default)]
    pub set_version: Option<bool>,
    /// Remove regions that are not in `regions`.
    #[serde(default)]
    pub prune: bool,
}

impl TemplateTarget {
    /// Whether the version must be written: `set-version: true`, or a `version-parameter`
    /// named without `set-version: false`.
    pub fn version_required(&self) -> bool {
        self.set_version.unwrap_or(self.version_parameter.is_some())
    }

    /// Whether the version is written at all (when the template has a version parameter).
    pub fn writes_version(&self) -> bool {
        self.set_version != Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_ids_are_prod_or_uuid() {
        ProductId::new("prod-example12345").unwrap();
        ProductId::new("4f6a2d3e-1b2c-4d5e-8f90-123456789abc").unwrap();
        for bad in ["prod-", "prod-ABC12345", "example", "prod-abc"] {
            let e = ProductId::new(bad).unwrap_err();
            assert_eq!(
                e.message,
                format!("`{bad}` is not a Marketplace product ID")
            );
        }
    }
}
