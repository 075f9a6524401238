//! The config file's root: its sections, each in its own file. Loading and checking it is
//! the module's ([`super::Config::load`]); the rules that span sections are
//! [`super::validate`]'s.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::build::Build;
use super::load_form::LoadForm;
use super::product::{self, Product, TemplateTarget, VersionSource};
use super::pull_request::PullRequest;
use super::sharing::{Copy, Regions, Sharing};
use super::submit::Submit;
use super::verify::Verify;

/// The config of marketplace-release: build an AWS Marketplace AMI, copy it to regions,
/// regenerate the CloudFormation templates and open the release pull request.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
#[schemars(title = "marketplace-release config")]
pub struct Config {
    /// The product being released.
    pub product: Product,
    /// Where the version comes from.
    #[serde(default)]
    pub version: VersionSource,
    /// The templates to regenerate, one entry each.
    #[serde(deserialize_with = "product::templates")]
    #[schemars(length(min = 1))]
    pub templates: Vec<TemplateTarget>,
    /// Regions the AMI is copied to and written into the templates. A list must include
    /// us-east-1. `all` is every region enabled in the account, read with DescribeRegions when
    /// copying. `template` is the regions the templates' AMI mappings already hold (and
    /// us-east-1).
    pub regions: Regions,
    /// How the AMI is built.
    pub build: Build,
    /// How the AMI is copied.
    #[serde(default)]
    pub copy: Copy,
    /// Who may launch the AMI.
    #[serde(default)]
    pub sharing: Sharing,
    /// The release pull request.
    #[serde(default)]
    pub pull_request: PullRequest,
    /// The AWS Marketplace product load form values.
    pub load_form: LoadForm,
    /// Turns the submit stage on (`submit: {}` takes the defaults); needs `product.id`.
    #[serde(default)]
    pub submit: Option<Submit>,
    /// Turns the verify stage on (`verify: {}` takes the defaults): the new AMI is booted in
    /// `build.region` before any copy, checked (SSH hardening, no keys or history, cloud-init,
    /// the product's service, your verify script), and the release stops when it fails.
    #[serde(default)]
    pub verify: Option<Verify>,
}
