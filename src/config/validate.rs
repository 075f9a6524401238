//! The rules that span several keys. Every single value has already checked itself while the
//! YAML was read (see [`super::types`]); what is left here is how values fit together.

use std::path::{Component, Path, PathBuf};

use super::Config;

/// A broken rule: the key at fault as steps (`["templates", "0", "keys"]`), what is wrong and
/// what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    /// The key at fault, one step per level; list items are numbered.
    pub steps: Vec<String>,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// The image is built (`base-ami` with `script`) or taken as it is (`image`), not both.
fn one_image_source(config: &Config) -> Result<(), Failure> {
    let build = &config.build;
    match (&build.image, &build.base_ami, &build.script) {
        (Some(_), None, None) | (None, Some(_), Some(_)) => Ok(()),
        (Some(image), base, _) => Err(fail(
            &["build", if base.is_some() { "base-ami" } else { "script" }],
            format!("build.image ({image}) is released as it is, so there is nothing to build with base-ami or script"),
            "drop base-ami and script to release the existing image, or drop image to build one",
        )),
        (None, None, _) => Err(fail(
            &["build"],
            "build has no base-ami: the builder needs an image to boot",
            "add base-ami (for example `{owner: amazon, name: al2023-ami-2023.*-x86_64}`) with script, or give `image: ami-…` to release an AMI you already have",
        )),
        (None, Some(_), None) => Err(fail(
            &["build"],
            "build has no script: the builder would install nothing",
            "add `script: build/install.sh` (relative to the repository root), or give `image: ami-…` to release an AMI you already have",
        )),
    }
}

fn fail(steps: &[&str], message: impl Into<String>, help: impl Into<String>) -> Failure {
    Failure {
        steps: steps.iter().map(|s| s.to_string()).collect(),
        message: message.into(),
        help: help.into(),
    }
}

/// Checks the rules between keys; the first broken one is returned.
pub(super) fn validate(config: &Config) -> Result<(), Failure> {
    one_image_source(config)?;
    templates_fit_the_build(config)?;
    paths_are_written_once(config)?;
    regions_stay_in_one_partition(config)?;
    let listed = config.regions.listed();
    for (i, region) in config.copy.required_regions.iter().enumerate() {
        if !listed.is_empty() && !listed.contains(region) {
            return Err(fail(
                &["copy", "required-regions", &i.to_string()],
                format!("{region} is required but not in regions"),
                "add it to regions or remove it here",
            ));
        }
    }
    if config.sharing.snapshot_permissions && config.sharing.accounts.is_empty() {
        return Err(fail(
            &["sharing", "snapshot-permissions"],
            "snapshot permissions are asked for, but no accounts are listed",
            "list the accounts under sharing.accounts, or drop snapshot-permissions",
        ));
    }
    for (i, rule) in config.load_form.security_groups.iter().enumerate() {
        if rule.from_port == 0 {
            return Err(fail(
                &["load-form", "security-groups", &i.to_string(), "from-port"],
                "port 0 is refused: the Catalog API's FromPort and ToPort take 1 to 65535",
                "give the first port buyers need, 1 or above",
            ));
        }
        if rule.from_port > rule.to_port {
            return Err(fail(
                &["load-form", "security-groups", &i.to_string()],
                format!(
                    "from-port {} is above to-port {}",
                    rule.from_port, rule.to_port
                ),
                "swap the ports",
            ));
        }
    }
    if config.submit.is_some() && config.product.id.is_none() {
        return Err(fail(
            &["product", "id"],
            "the submit stage needs the product ID",
            "set product.id to the product's ID as the Marketplace Management Portal shows it (prod-…)",
        ));
    }
    verify_regions_are_copied_to(config)?;
    stack_is_a_released_template_in_a_released_region(config)?;
    Ok(())
}

/// `verify.stack` launches one of the release's templates, in a region the release has an AMI
/// in (build.region, or one of `regions`).
fn stack_is_a_released_template_in_a_released_region(config: &Config) -> Result<(), Failure> {
    let Some(stack) = config.verify.as_ref().and_then(|v| v.stack.as_ref()) else {
        return Ok(());
    };
    if !config.templates.iter().any(|t| t.path == stack.template) {
        return Err(fail(
            &["verify", "stack", "template"],
            format!(
                "{} is not one of templates[].path, so the release does not regenerate it",
                stack.template.display()
            ),
            "name one of the templates the release updates",
        ));
    }
    let listed = config.regions.listed();
    if stack.region != config.build.region && !listed.is_empty() && !listed.contains(&stack.region)
    {
        return Err(fail(
            &["verify", "stack", "region"],
            format!(
                "{} is neither build.region nor in regions, so the release has no AMI there",
                stack.region
            ),
            "use build.region or one of regions",
        ));
    }
    Ok(())
}

/// `verify.regions` boots copies, so each must be a region the release copies to (and not the
/// build region, which is always verified).
fn verify_regions_are_copied_to(config: &Config) -> Result<(), Failure> {
    let Some(verify) = &config.verify else {
        return Ok(());
    };
    let listed = config.regions.listed();
    for (i, region) in verify.regions.iter().enumerate() {
        let steps = ["verify", "regions", &i.to_string()];
        if *region == config.build.region {
            return Err(fail(
                &steps,
                format!(
                    "{region} is build.region, where the image is always verified before any copy"
                ),
                "remove it from verify.regions",
            ));
        }
        if !listed.is_empty() && !listed.contains(region) {
            return Err(fail(
                &steps,
                format!("{region} is not in regions, so no copy is made there to boot"),
                "add it to regions, or remove it from verify.regions",
            ));
        }
    }
    Ok(())
}

/// A release targets only its own partition (build.region's): an AMI is copied only within one.
fn regions_stay_in_one_partition(config: &Config) -> Result<(), Failure> {
    let home = config.build.region.partition();
    let listed = config.regions.listed();
    match listed.iter().enumerate().find(|(_, r)| r.partition() != home) {
        Some((i, region)) => Err(fail(
            &["regions", &i.to_string()],
            format!(
                "{region} is in partition {}, but build.region {} is in {home}; an AMI is copied only within its partition, so a release targets only its own",
                region.partition(),
                config.build.region
            ),
            format!(
                "remove {region} from regions (its row in a template is kept as it is); release to {} with a separate config whose build.region is there",
                region.partition()
            ),
        )),
        None => Ok(()),
    }
}

/// Mapping keys name built architectures, and several architectures need a key each.
fn templates_fit_the_build(config: &Config) -> Result<(), Failure> {
    let built = &config.build.architectures;
    for (i, target) in config.templates.iter().enumerate() {
        let index = i.to_string();
        if let Some(arch) = target.keys.keys().find(|a| !built.contains(a)) {
            return Err(fail(
                &["templates", &index, "keys"],
                format!(
                    "a key is given for {}, which build.architectures does not list",
                    arch.as_str()
                ),
                "add the architecture to build.architectures, or remove its key",
            ));
        }
        if built.len() > 1 && target.keys.len() != built.len() {
            return Err(fail(
                &["templates", &index],
                "several architectures are built, but this template does not say which mapping key holds each",
                "add `keys:` with one mapping key per architecture, like `x86_64: AMD64` and `arm64: ARM64`",
            ));
        }
    }
    Ok(())
}

/// One commit writes each path once: a path listed twice would lose one of its changes.
fn paths_are_written_once(config: &Config) -> Result<(), Failure> {
    let normal = |p: &Path| {
        p.components()
            .filter(|c| *c != Component::CurDir)
            .collect::<PathBuf>()
    };
    let mut seen: Vec<PathBuf> = Vec::new();
    for (i, target) in config.templates.iter().enumerate() {
        let path = normal(&target.path);
        if seen.contains(&path) {
            return Err(fail(
                &["templates", &i.to_string(), "path"],
                format!("`{}` is listed twice", target.path.display()),
                "list each template once; use keys for several architectures in one template",
            ));
        }
        seen.push(path);
    }
    if let Some(csv) = &config.pull_request.load_form_csv {
        if seen.contains(&normal(csv)) {
            return Err(fail(
                &["pull-request", "load-form-csv"],
                format!("`{}` is also a template", csv.display()),
                "give the CSV its own path",
            ));
        }
    }
    Ok(())
}
