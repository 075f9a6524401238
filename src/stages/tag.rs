//! Tag keys this tool puts on everything it creates: how a re-run, the cleanup and the IAM
//! policy recognise the resources of a release.

/// The run that created the resource.
pub const RUN_ID: &str = "marketplace-release:run-id";
/// The release version.
pub const VERSION: &str = "marketplace-release:version";
/// The product.
pub const PRODUCT: &str = "marketplace-release:product";
/// On copies: the source image, which is how a re-run finds copies it already made (on an
/// image copied from an existing AMI: that AMI).
pub const SOURCE_IMAGE: &str = "marketplace-release:source-image";
/// `builder` on the builder instance, [`ROLE_VERIFIER`] on the verify stage's test
/// instance (TerminateInstances is allowed on these two only).
pub const ROLE: &str = "marketplace-release:role";
/// [`ROLE`] of the verify stage's test instance.
pub const ROLE_VERIFIER: &str = "verifier";
/// The architecture of an image.
pub const ARCHITECTURE: &str = "marketplace-release:architecture";
/// How an image of a release was made: [`BUILD_SUCCEEDED`] (its build script and hardening
/// succeeded: the only images built) or [`BUILD_IMPORTED`] (copied from an existing AMI).
pub const BUILD: &str = "marketplace-release:build";
/// [`BUILD`] of an image whose build script and hardening succeeded.
pub const BUILD_SUCCEEDED: &str = "succeeded";
/// [`BUILD`] of an image copied from an existing AMI (`build.image`): not built here, its
/// hardening not verified.
pub const BUILD_IMPORTED: &str = "imported";
/// The SHA-256 of the build script an image was built with.
pub const SCRIPT_SHA256: &str = "marketplace-release:script-sha256";
/// `passed` or `failed`: what the verify stage found when it booted the image (written
/// after creation, the one tag that is; an image tagged `failed` is never resumed from).
pub const VERIFICATION: &str = "marketplace-release:verification";
