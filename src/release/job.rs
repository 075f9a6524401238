//! One architecture's job — its build (or import), verification and copy — prepared before any
//! AWS call: the manifest it starts from (new, or an earlier run's to resume), where its image
//! comes from ([`Origin`]), the copy and verify plans. A bad build script or verify script
//! fails here, before anything exists.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use indexmap::IndexMap;

use super::env::RunnerEnv;
use super::request::{Caller, Request};
use super::stage::Stage;
use crate::aws::ec2::LaunchPermissions;
use crate::config::{Architecture, BaseAmi, Config, Source};
use crate::diagnostic::Diagnostic;
use crate::domain::ami::AmiId;
use crate::domain::manifest::{Manifest, SCHEMA_VERSION};
use crate::domain::version::Version;
use crate::files::{self, file_error};
use crate::output::log;
use crate::plan::{self, userdata, Vars};
use crate::stages::copy::CopyPlan;
use crate::stages::preflight::account::{self as preflight, Start};
use crate::stages::verify::VerifyPlan;

/// One architecture's build and copy, prepared (and so validated) before any AWS call.
pub struct Job {
    /// The architecture.
    pub architecture: Architecture,
    /// Where its manifest is written (and, for a copy job, read).
    pub manifest_path: PathBuf,
    /// Its manifest: what exists, saved after every step.
    pub manifest: Manifest,
    /// Where its image comes from.
    pub origin: Origin,
    /// The AMI description.
    pub description: String,
    /// The copy stage's plan (its regions resolved by the AWS pre-flight).
    pub copy_plan: CopyPlan,
    /// The verify stage's plan, when it runs.
    pub verify: Option<VerifyPlan>,
    /// Where the build starts, once the AWS pre-flight has looked: a new build, or an image an
    /// earlier run of the release made.
    pub start: Option<Start>,
}

/// Where a job's source image comes from.
pub enum Origin {
    /// A builder boots the base image with the wrapped build script.
    Build {
        /// The user data.
        user_data: userdata::UserData,
        /// The base image.
        base_ami: BaseAmi,
        /// The build script's SHA-256.
        script_sha256: String,
    },
    /// An existing AMI (`build.image`), copied within the build region into the release's
    /// image.
    Import(AmiId),
    /// The image the manifest names (a copy job), or `--image`: no image is made.
    Given,
}

impl Origin {
    /// Whether the job makes the release's image in the build region.
    pub fn makes_image(&self) -> bool {
        !matches!(self, Origin::Given)
    }

    /// How the preflight recognises an earlier run's image.
    pub fn preflight(&self) -> preflight::Origin<'_> {
        match self {
            Origin::Build { script_sha256, .. } => preflight::Origin::Script(script_sha256),
            Origin::Import(image) => preflight::Origin::Image(image.as_str()),
            Origin::Given => preflight::Origin::Script(""),
        }
    }
}

/// The manifest a job writes for `architecture` when none is given.
pub fn default_manifest(architecture: Architecture, several: bool) -> PathBuf {
    if several {
        PathBuf::from(format!(
            "marketplace-release-manifest-{}.json",
            architecture.as_str()
        ))
    } else {
        PathBuf::from("marketplace-release-manifest.json")
    }
}

/// The jobs of a request that builds, verifies or copies: one per architecture.
pub fn prepare_jobs(
    request: &Request,
    env: &RunnerEnv,
    version: &Version,
    architectures: &[Architecture],
    date: &str,
) -> Result<Vec<Job>> {
    if !request.stages.has_jobs() {
        return Ok(Vec::new());
    }
    let several = architectures.len() > 1;
    if request.manifest.is_some() && several {
        return Err(request
            .caller
            .about(
                "--manifest",
                "manifest",
                format!("one manifest path, but this job handles {} architectures", architectures.len()),
                "set `architecture` (one job per architecture, as in a matrix), or leave `manifest` empty",
            )
            .into());
    }
    let mut jobs = Vec::new();
    for &architecture in architectures {
        let relative = request
            .manifest
            .clone()
            .unwrap_or_else(|| default_manifest(architecture, several));
        let manifest_path = match request.caller {
            // The action's `manifest` input stays in the workspace; a path given on the
            // command line is the user's own choice.
            Caller::Action => files::in_workspace(
                &request.workspace,
                &relative,
                "the `manifest` input",
                files::Expect::FileOrMissing,
            )?,
            Caller::Cli => request.workspace.join(relative),
        };
        jobs.push(prepare_job(
            request,
            env,
            version,
            architecture,
            manifest_path,
            date,
        )?);
    }
    Ok(jobs)
}

fn prepare_job(
    request: &Request,
    env: &RunnerEnv,
    version: &Version,
    architecture: Architecture,
    manifest_path: PathBuf,
    date: &str,
) -> Result<Job> {
    let config = &request.config;
    let vars = Vars::new(config, version, date).for_architecture(architecture);
    let description = plan::ami_description(config, vars).map_err(Diagnostic::from)?;
    let manifest = job_manifest(request, version, architecture, &manifest_path, date)?;
    let origin = match config.build.source() {
        _ if !request.stages.contains(Stage::Build) => Origin::Given,
        Some(Source::Script { base_ami, script }) => {
            let (user_data, script_sha256) = read_user_data(
                config,
                script,
                &request.workspace,
                &manifest.run_id,
                version,
            )?;
            Origin::Build {
                user_data,
                base_ami: base_ami.clone(),
                script_sha256,
            }
        }
        Some(Source::Image(image)) => Origin::Import(image.clone()),
        None => bail!(
            "{}: build has neither base-ami with script nor image
  help: give base-ami and script to build the image, or image: ami-… to release one you have",
            request.config_path
        ),
    };
    let verify = if request.stages.contains(Stage::Verify) {
        Some(verify_plan(request, env, version, &manifest.run_id)?)
    } else {
        None
    };
    Ok(Job {
        architecture,
        copy_plan: copy_plan(config, env, description.clone(), request.cleanup_on_failure),
        manifest_path,
        manifest,
        origin,
        description,
        verify,
        start: None,
    })
}

/// The manifest a job starts from:
/// - a build resumes the manifest of an earlier run of the same release at the same path (its
///   run ID, builder and copies), so a re-run never replaces it with an emptier one; otherwise,
///   or with `rebuild`, a new one (`rebuild` names the image `<ami-name>-<run ID>`);
/// - a copy of a given image starts a new one;
/// - a copy alone reads the build's manifest, which must be of this release.
fn job_manifest(
    request: &Request,
    version: &Version,
    architecture: Architecture,
    path: &Path,
    date: &str,
) -> Result<Manifest> {
    let config = &request.config;
    let (product, arch) = (config.product.name.as_str(), architecture.as_str());
    let building = request.stages.contains(Stage::Build);
    if building || request.image.is_some() {
        if building && !request.rebuild && path.is_file() {
            if let Ok(earlier) = Manifest::read(path) {
                if earlier.same_release(product, version.as_str(), arch) {
                    log::say(&format!(
                        "build: resuming run {} of {} {} ({arch}) from {}",
                        earlier.run_id,
                        product,
                        version,
                        path.display()
                    ));
                    return Ok(earlier);
                }
            }
        }
        let mut manifest = new_manifest(config, version, architecture, &new_run_id(), date)?;
        if request.rebuild {
            manifest.name = format!("{}-{}", manifest.name, manifest.run_id);
        }
        manifest.source_image_id = request.image.as_ref().map(|i| i.to_string());
        return Ok(manifest);
    }
    let manifest = Manifest::read(path)?;
    if !manifest.same_release(product, version.as_str(), arch) {
        bail!(
            "{}: the manifest is of {} {} ({}), not of this run's {product} {version} ({arch}); copying or cleaning up from it could touch another release's images\n  help: pass the manifest this release's build wrote (--manifest), or the version and architecture it was built for",
            path.display(),
            manifest.product,
            manifest.version,
            manifest.architecture
        );
    }
    if manifest.source_image_id.is_none() {
        bail!("{}: the manifest has no built image\n  help: run the build stage first (it failed or was cancelled), or pass --image", path.display());
    }
    Ok(manifest)
}

fn copy_plan(
    config: &Config,
    env: &RunnerEnv,
    description: String,
    cleanup_on_failure: bool,
) -> CopyPlan {
    let sharing = &config.sharing;
    CopyPlan {
        regions: config
            .regions
            .listed()
            .iter()
            .map(|r| r.to_string())
            .collect(),
        required: config
            .copy
            .required_regions
            .iter()
            .map(|r| r.to_string())
            .collect(),
        permissions: LaunchPermissions {
            public: sharing.public,
            accounts: crate::config::strings(&sharing.accounts),
            organizations: crate::config::strings(&sharing.organizations),
            organizational_units: crate::config::strings(&sharing.organizational_units),
        },
        snapshot_accounts: if sharing.snapshot_permissions {
            crate::config::strings(&sharing.accounts)
        } else {
            Vec::new()
        },
        tags: Vec::new(),
        description,
        timeout: config.copy.timeout_minutes.duration(),
        schedule: env.poll_schedule(),
        cleanup_on_failure,
    }
}

/// The verify stage's plan: the test instance's type and user-data (the checks around
/// `verify.script`), made before any AWS call so a bad script fails first.
fn verify_plan(
    request: &Request,
    env: &RunnerEnv,
    version: &Version,
    run_id: &str,
) -> Result<VerifyPlan> {
    let config = &request.config;
    let verify = config
        .verify
        .as_ref()
        .expect("checked: the verify stage needs the verify section");
    let script = match &verify.script {
        Some(path) => Some(
            std::fs::read_to_string(request.workspace.join(path)).map_err(|e| {
                file_error(
                    format!("cannot read the verify script {}", path.display()),
                    e,
                    "check verify.script, which is relative to the repository root",
                )
            })?,
        ),
        None => None,
    };
    let user_data = userdata::render_verify_user_data(&userdata::VerifyScript {
        script: script.as_deref(),
        service: verify.service.as_ref().map(|s| s.as_str()),
        run_id,
        version: version.as_str(),
        product: &config.product.name,
    })
    .map_err(|e| {
        anyhow!(
            "verify.script: {}",
            e.to_string().replace("build script", "verify script")
        )
    })?;
    Ok(VerifyPlan {
        instance_type: verify
            .instance_type
            .as_ref()
            .unwrap_or(&config.load_form.recommended_instance_type)
            .to_string(),
        tags: Vec::new(),
        timeout: verify.timeout_minutes.duration(),
        console_timeout: config.build.console_timeout_minutes.duration(),
        build_network: (
            config.build.subnet_id.as_ref().map(ToString::to_string),
            config
                .build
                .security_group_id
                .as_ref()
                .map(ToString::to_string),
        ),
        schedule: env.poll_schedule(),
        checks_sha256: sha256_hex(user_data.base64.as_bytes()),
        user_data,
    })
}

/// A new manifest for a run, before anything exists.
fn new_manifest(
    config: &Config,
    version: &Version,
    architecture: Architecture,
    run_id: &str,
    date: &str,
) -> Result<Manifest> {
    Ok(Manifest {
        schema_version: SCHEMA_VERSION,
        product: config.product.name.clone(),
        version: version.to_string(),
        architecture: architecture.as_str().into(),
        run_id: run_id.into(),
        name: plan::ami_name(config, version, architecture, date).map_err(Diagnostic::from)?,
        source_region: config.build.region.to_string(),
        source_image_id: None,
        base_image_id: None,
        imported_from: None,
        builder: None,
        regions: IndexMap::new(),
        timings: IndexMap::new(),
        timeline: Default::default(),
        incomplete: true,
        script_sha256: None,
        cleanup: Vec::new(),
        verification: Vec::new(),
    })
}

/// Reads the build script and wraps it; fails before any AWS call (and in `plan`). Also the
/// script's SHA-256, which the image records.
pub fn read_user_data(
    config: &Config,
    script_path: &Path,
    workspace: &Path,
    run_id: &str,
    version: &Version,
) -> Result<(userdata::UserData, String)> {
    let script = files::read_in_workspace(workspace, script_path, "build.script")?;
    let digest = sha256_hex(script.as_bytes());
    let user_data =
        userdata::render_user_data(&script, run_id, version.as_str(), &config.product.name)
            .map_err(|e| anyhow!("{}: {e}", script_path.display()))?;
    Ok((user_data, digest))
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new run ID: recognisable in tags and on the console.
fn new_run_id() -> String {
    format!("{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff)
}
