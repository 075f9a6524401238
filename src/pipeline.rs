//! The stage commands (`build`, `copy`, `publish`, `release`): validate everything first, then
//! run the stages on a tokio runtime, stopping cleanly on SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use indexmap::IndexMap;

use crate::ami::AmiId;
use crate::config::{Architecture, Config};
use crate::copy::CopyPlan;
use crate::ec2::{Ec2, LaunchPermissions};
use crate::files::{file_error, write_atomically};
use crate::github::{GitHub, RepoName};
use crate::manifest::{Manifest, SCHEMA};
use crate::publish::{self, PublishInputs, Published};
use crate::stage::{self, tag, CancellationToken, StageError};
use crate::template::{EditRequest, Template};
use crate::version::Version;
use crate::wait::PollSchedule;
use crate::{build, plan, render, report, userdata};

/// Exit code after a cancellation (as shells report SIGINT).
pub const EXIT_CANCELLED: u8 = 130;

/// What every AWS command starts from.
pub struct Context {
    /// The config.
    pub config: Config,
    /// The repository root.
    pub workspace: PathBuf,
    /// The version.
    pub version: Version,
    /// The architecture of this run.
    pub architecture: Architecture,
    /// Where the manifest is written.
    pub manifest_path: PathBuf,
}

impl Context {
    fn tags(&self, run_id: &str) -> Vec<(String, String)> {
        let mut tags: Vec<(String, String)> = self
            .config
            .build
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.push((tag::RUN_ID.into(), run_id.into()));
        tags.push((tag::VERSION.into(), self.version.to_string()));
        tags.push((tag::PRODUCT.into(), self.config.product.name.clone()));
        tags
    }

    fn description(&self) -> Result<String> {
        let template = self
            .config
            .build
            .ami_description
            .clone()
            .unwrap_or_else(|| "{{ product }} {{ version }} ({{ architecture }})".into());
        let context = minijinja::context!(version => self.version.as_str(), product => self.config.product.name.as_str(), architecture => self.architecture.as_str(), date => today());
        Ok(render::render("build.ami-description", &template, context)?)
    }

    fn build_plan(
        &self,
        user_data: userdata::UserData,
        description: String,
        run_id: &str,
    ) -> build::BuildPlan<'_> {
        build::BuildPlan {
            config: &self.config,
            architecture: self.architecture,
            user_data,
            tags: self.tags(run_id),
            description,
            schedule: PollSchedule::from_env(),
        }
    }

    fn copy_plan(&self, cleanup_on_failure: bool) -> Result<CopyPlan> {
        let sharing = &self.config.sharing;
        Ok(CopyPlan {
            regions: self
                .config
                .regions
                .listed()
                .iter()
                .map(|r| r.to_string())
                .collect(),
            required: self
                .config
                .copy
                .required_regions
                .iter()
                .map(|r| r.to_string())
                .collect(),
            permissions: LaunchPermissions {
                public: sharing.public,
                accounts: sharing.accounts.clone(),
                organizations: sharing.organizations.clone(),
                organizational_units: sharing.organizational_units.clone(),
            },
            snapshot_accounts: if sharing.snapshot_permissions {
                sharing.accounts.clone()
            } else {
                Vec::new()
            },
            tags: Vec::new(),
            description: self.description()?,
            max_concurrency: self.config.copy.max_concurrency as usize,
            timeout: Duration::from_secs_f64(self.config.copy.timeout_minutes * 60.0),
            schedule: PollSchedule::from_env(),
            cleanup_on_failure,
        })
    }

    /// A new manifest for this run, before anything exists.
    pub fn new_manifest(&self, run_id: &str) -> Result<Manifest> {
        Ok(Manifest {
            schema: SCHEMA,
            product: self.config.product.name.clone(),
            version: self.version.to_string(),
            architecture: self.architecture.as_str().into(),
            run_id: run_id.into(),
            name: plan::ami_name(&self.config, &self.version, self.architecture, &today())
                .map_err(|e| anyhow!("{e}"))?,
            source_region: self.config.build.region.to_string(),
            source_image_id: None,
            base_image_id: None,
            builder: None,
            regions: IndexMap::new(),
            timings: IndexMap::new(),
            incomplete: true,
        })
    }
}

/// What one architecture's build and copy need, made (and so validated) before any AWS call.
pub struct Prepared {
    /// This run's ID.
    pub run_id: String,
    /// The builder's user data; `None` when not building.
    user_data: Option<userdata::UserData>,
    /// The AMI description.
    description: String,
    /// The copy plan.
    copy_plan: CopyPlan,
}

impl Context {
    /// Prepares a build (when `building`) and a copy: reads the build script, renders names.
    pub fn prepare(&self, building: bool, cleanup_on_failure: bool) -> Result<Prepared> {
        let run_id = new_run_id();
        let user_data = if building {
            Some(user_data(self, &run_id)?)
        } else {
            None
        };
        Ok(Prepared {
            user_data,
            description: self.description()?,
            copy_plan: self.copy_plan(cleanup_on_failure)?,
            run_id,
        })
    }

    /// Checks that every configured template in the workspace parses, before anything is
    /// built.
    pub fn check_templates(&self) -> Result<()> {
        for target in &self.config.templates {
            let path = self.workspace.join(&target.path);
            let bytes = std::fs::read(&path).map_err(|e| {
                file_error(
                    format!("cannot read template {}", target.path.display()),
                    e,
                    "check templates[].path",
                )
            })?;
            Template::parse_bytes(&bytes)
                .map_err(|e| anyhow!("{}", e.render(&target.path.display().to_string())))?;
        }
        Ok(())
    }
}

/// Builds (when `prepared` holds user data), then copies (when `copying`), saving the manifest
/// after every step. Returns the manifest, whatever happened, and the outcome.
pub async fn build_and_copy(
    ec2: Arc<Ec2>,
    context: &Context,
    prepared: Prepared,
    mut manifest: Manifest,
    copying: bool,
    cancel: &CancellationToken,
) -> (Manifest, Result<(), StageError>) {
    if let Some(user_data) = prepared.user_data {
        let plan = context.build_plan(user_data, prepared.description.clone(), &prepared.run_id);
        let built = build::build(&ec2, &plan, &mut manifest, &context.manifest_path, cancel).await;
        manifest.incomplete = built.is_err() || copying;
        let saved = build::save(&manifest, &context.manifest_path);
        if let Err(e) = built.and(saved) {
            manifest.incomplete = true;
            return (manifest, Err(e));
        }
    }
    if !copying {
        return (manifest, Ok(()));
    }
    let mut plan = prepared.copy_plan;
    plan.tags = context.tags(&manifest.run_id);
    if let Err(e) = resolve_regions(&ec2, &mut plan, &manifest.source_region).await {
        return (manifest, Err(e));
    }
    let (manifest, copied) =
        crate::copy::copy(ec2, plan, manifest, &context.manifest_path, cancel).await;
    if copied.is_ok() {
        announce(&manifest);
    }
    (manifest, copied)
}

/// Where the release pull request goes, resolved before anything is built.
#[derive(Clone)]
pub struct GitHubTarget {
    /// The REST API root.
    pub api_url: String,
    /// The token (never printed).
    token: String,
    /// The repository.
    pub repo: RepoName,
    /// The base branch when known without asking GitHub.
    pub base: Option<String>,
}

impl std::fmt::Debug for GitHubTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubTarget")
            .field("api_url", &self.api_url)
            .field("repo", &self.repo)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl GitHubTarget {
    /// From the arguments, the config and the environment GitHub Actions sets: the repository
    /// from `--repository` or `GITHUB_REPOSITORY`, the token from `GITHUB_TOKEN`, the API from
    /// `GITHUB_API_URL`, and the base branch from `--base`, `pull-request.base` or the event
    /// payload's default branch (never the checkout, which is a detached HEAD on tag runs).
    pub fn resolve(
        repository: Option<&str>,
        base: Option<&str>,
        config: &Config,
        token: Option<String>,
    ) -> Result<Self> {
        let repository = repository
            .map(str::to_owned)
            .or_else(|| std::env::var("GITHUB_REPOSITORY").ok().filter(|r| !r.is_empty()))
            .ok_or_else(|| anyhow!("no repository to open the pull request in\n  help: pass --repository owner/name (GitHub Actions sets GITHUB_REPOSITORY)"))?;
        let repo = RepoName::parse(&repository)
            .map_err(|e| anyhow!("{e}\n  help: pass --repository owner/name"))?;
        let token = token
            .or_else(|| std::env::var("GITHUB_TOKEN").ok())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| anyhow!("no GitHub token: GITHUB_TOKEN is not set\n  help: in a workflow, add `env: GITHUB_TOKEN: ${{{{ github.token }}}}` to the step and `permissions: contents: write, pull-requests: write` to the job"))?;
        let api_url = std::env::var("GITHUB_API_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| crate::github::DEFAULT_API_URL.into());
        let from_event = || {
            let path = std::env::var_os("GITHUB_EVENT_PATH")?;
            let payload = std::fs::read_to_string(path).ok()?;
            crate::publish::default_branch_from_event(&payload)
        };
        let base = base
            .map(str::to_owned)
            .or_else(|| config.pull_request.base.clone())
            .or_else(from_event);
        if let Some(base) = &base {
            plan::check_branch_name(base)
                .map_err(|e| anyhow!("base branch: {e}\n  help: pass an existing branch name"))?;
        }
        Ok(Self {
            api_url,
            token,
            repo,
            base,
        })
    }

    fn client(&self) -> Result<GitHub> {
        GitHub::new(&self.api_url, &self.token, self.repo.clone())
    }
}

/// The plan of a release from the workspace's templates (placeholder AMIs when `amis` is
/// `None`); template errors become annotations in GitHub Actions.
pub fn make_plan(
    config: &Config,
    workspace: &Path,
    version: &Version,
    amis: Option<&IndexMap<Architecture, crate::ami::AmiSet>>,
) -> Result<plan::ReleasePlan> {
    let mut texts = Vec::new();
    for target in &config.templates {
        let path = workspace.join(&target.path);
        texts.push(std::fs::read(&path).map_err(|e| {
            file_error(
                format!("cannot read template {}", target.path.display()),
                e,
                &format!("check `templates[].path`, which is relative to the workspace {} (set it with --workspace)", workspace.display()),
            )
        })?);
    }
    let body_template = read_body_template(config, workspace)?;
    let run_url = report::run_url();
    let date = today();
    let inputs = plan::PlanInputs {
        version,
        amis,
        template_texts: &texts,
        body_template: &body_template,
        run_url: run_url.as_deref(),
        date: &date,
    };
    plan::plan(config, &inputs).map_err(|e| {
        if let plan::PlanError::Template { path, error } = &e {
            report::annotate_error(path, error.location, &error.message);
        }
        anyhow!("{e}")
    })
}

/// The version a tag push gives, if this is one.
pub fn tag_version(tag_prefix: &str) -> Result<Option<Version>> {
    let is_tag = std::env::var("GITHUB_REF_TYPE").is_ok_and(|t| t == "tag");
    match std::env::var("GITHUB_REF_NAME") {
        Ok(tag) if is_tag => Version::from_tag(&tag, tag_prefix)
            .map(Some)
            .map_err(|e| anyhow!("the tag `{tag}` does not give a version: {e}\n  help: set version.tag-prefix in the config, or pass --version")),
        _ => Ok(None),
    }
}

/// The PR body template: the config's replacement, else the bundled one.
pub fn read_body_template(config: &Config, workspace: &Path) -> Result<String> {
    match &config.pull_request.body_template {
        Some(relative) => std::fs::read_to_string(workspace.join(relative)).map_err(|e| {
            file_error(
                format!("cannot read the PR body template {}", relative.display()),
                e,
                "check pull-request.body-template, which is relative to the workspace",
            )
        }),
        None => Ok(render::DEFAULT_PR_BODY.to_owned()),
    }
}

/// Publishes and reports the outcome.
pub(crate) async fn publish_and_report(
    target: &GitHubTarget,
    config: &Config,
    version: &Version,
    amis: &IndexMap<Architecture, crate::ami::AmiSet>,
    body_template: &str,
) -> Result<Published> {
    stage::group("publish");
    let github = target.client()?;
    let run_url = report::run_url();
    let date = today();
    let inputs = PublishInputs {
        config,
        version,
        amis,
        base: target.base.clone(),
        body_template,
        run_url: run_url.as_deref(),
        date: &date,
    };
    let result = publish::publish(&github, &inputs).await;
    stage::end_group();
    let published = result?;
    stage::say(&format!("publish: {}", published.message));
    if let Some(url) = &published.url {
        report::notice(
            &format!("Release pull request ({})", published.operation.as_str()),
            url,
        );
    }
    Ok(published)
}

/// `publish`: commits the templates regenerated from the manifests to the release branch and
/// opens or updates the pull request.
pub fn publish_command(
    config: Config,
    workspace: &Path,
    version: Option<Version>,
    manifest_paths: &[PathBuf],
    target: GitHubTarget,
) -> Result<ExitCode> {
    let mut manifests = Vec::new();
    for path in manifest_paths {
        manifests.push((path.display().to_string(), Manifest::read(path)?));
    }
    let (version, amis) = publish::amis_from_manifests(&config, &manifests, version.as_ref())?;
    let body_template = read_body_template(&config, workspace)?;
    run_async(|_cancel| async move {
        publish_and_report(&target, &config, &version, &amis, &body_template).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Builds what the `submit` stage sends: the us-east-1 AMI of the (one) manifest, the rendered
/// version texts and the checked details. No call is made.
pub fn prepare_submission(
    config: &Config,
    manifests: &[(String, Manifest)],
    version: Option<&Version>,
) -> Result<crate::submit::Submission> {
    if config.submit.is_none() {
        bail!("the config has no `submit` section, so the submit stage is off\n  help: add `submit: {{}}` (and product.id) to the config to add versions through the Catalog API");
    }
    let (version, amis) = publish::amis_from_manifests(config, manifests, version)?;
    if amis.len() != 1 {
        bail!("submit takes the manifest of one architecture, but {} were given\n  help: a version has one AMI source; submit each architecture's product on its own", amis.len());
    }
    let (path, _) = &manifests[0];
    let ami = match amis.values().next().and_then(|set| set.get("us-east-1")) {
        Some(crate::ami::RegionAmis::Single(id)) => id.to_string(),
        _ => bail!("{path}: no available AMI in us-east-1, where AWS Marketplace ingests it from\n  help: copy the image to us-east-1 (keep us-east-1 in regions) and pass that manifest"),
    };
    let (title, notes) =
        plan::version_texts(config, &version, &today()).map_err(|e| anyhow!("{e}"))?;
    let details = crate::submit::delivery_details(
        config,
        &crate::submit::Version {
            title: &title,
            release_notes: &notes,
            ami: &ami,
        },
    )?;
    Ok(crate::submit::Submission {
        product_id: config.product.id.clone().unwrap_or_default(),
        version: version.to_string(),
        ami,
        details,
        product: config.product.name.clone(),
    })
}

/// Submits and reports; in GitHub Actions the change set is also a notice.
pub(crate) async fn submit_and_report(
    config: &Config,
    submission: &crate::submit::Submission,
    intent: crate::config::SubmitIntent,
    wait: bool,
    cancel: &CancellationToken,
) -> Result<crate::catalog::ChangeSetState> {
    stage::group("submit");
    let catalog = crate::catalog::Catalog::from_env().await;
    let limit =
        Duration::from_secs_f64(config.submit.as_ref().map_or(120.0, |s| s.timeout_minutes) * 60.0);
    let result = crate::submit::submit(&catalog, submission, intent, wait, limit, cancel).await;
    stage::end_group();
    let state = result?;
    print!("{}", crate::submit::describe(&state));
    report::notice(
        &format!("Marketplace change set ({})", state.status),
        &crate::submit::portal_url(&state.id),
    );
    Ok(state)
}

/// `submit`: adds the version to the product through the Catalog API.
pub fn submit_command(
    config: Config,
    version: Option<Version>,
    manifest_path: &Path,
    intent: Option<crate::config::SubmitIntent>,
    wait: bool,
) -> Result<ExitCode> {
    let manifests = vec![(
        manifest_path.display().to_string(),
        Manifest::read(manifest_path)?,
    )];
    let submission = prepare_submission(&config, &manifests, version.as_ref())?;
    let intent =
        intent.unwrap_or_else(|| config.submit.as_ref().map(|s| s.intent).unwrap_or_default());
    run_async(|cancel| async move {
        submit_and_report(&config, &submission, intent, wait, &cancel).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `status`: shows a change set, waiting for it to end with `wait`; fails when it failed.
pub fn status_command(change_set: &str, wait: bool, timeout: Duration) -> Result<ExitCode> {
    let id = change_set.to_owned();
    run_async(|cancel| async move {
        let catalog = crate::catalog::Catalog::from_env().await;
        let state = if wait {
            crate::submit::wait_for(&catalog, &id, timeout, &PollSchedule::from_env(), &cancel)
                .await?
        } else {
            catalog.describe_change_set(&id).await?
        };
        print!("{}", crate::submit::describe(&state));
        if matches!(state.status.as_str(), "FAILED" | "CANCELLED") {
            return Err(crate::submit::SubmitError::Failed(Box::new(state)).into());
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Announces the available AMIs (a notice in GitHub Actions).
fn announce(manifest: &Manifest) {
    let amis: Vec<String> = manifest
        .regions
        .iter()
        .filter(|(_, image)| image.state == "available")
        .map(|(region, image)| format!("{region}: {}", image.image_id))
        .collect();
    report::notice(
        &format!(
            "AMIs of {} {} ({})",
            manifest.product, manifest.version, manifest.architecture
        ),
        &amis.join(", "),
    );
}

/// Fills in the target regions for `regions: all`: every region enabled in the account, the
/// source region first.
async fn resolve_regions(
    ec2: &Ec2,
    plan: &mut CopyPlan,
    source_region: &str,
) -> Result<(), StageError> {
    if !plan.regions.is_empty() {
        return Ok(());
    }
    let mut regions = ec2.enabled_regions(source_region).await?;
    regions.retain(|r| r != source_region);
    regions.insert(0, source_region.to_owned());
    stage::say(&format!(
        "copy: regions: all {} enabled in the account",
        regions.len()
    ));
    plan.regions = regions;
    Ok(())
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

/// A new run ID: recognisable in tags and on the console.
fn new_run_id() -> String {
    format!("{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff)
}

/// Reads the build script and wraps it; fails before any AWS call.
fn user_data(context: &Context, run_id: &str) -> Result<userdata::UserData> {
    let script_path = context.workspace.join(&context.config.build.script);
    let script = std::fs::read_to_string(&script_path).map_err(|e| {
        file_error(
            format!(
                "cannot read the build script {}",
                context.config.build.script.display()
            ),
            e,
            "check build.script, which is relative to the repository root",
        )
    })?;
    userdata::render_user_data(
        &script,
        run_id,
        context.version.as_str(),
        &context.config.product.name,
    )
    .map_err(|e| anyhow!("{}: {e}", context.config.build.script.display()))
}

/// Runs `work` on a runtime that turns the first SIGINT/SIGTERM into a cancellation (and a
/// second one into an immediate exit).
pub(crate) fn run_async<F, Fut>(work: F) -> Result<ExitCode>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let watcher = cancel.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else { return };
            let name = tokio::select! { _ = term.recv() => "SIGTERM", _ = int.recv() => "SIGINT" };
            stage::say(&format!("received {name}: stopping, cleaning up the builder and writing the manifest (a second signal exits at once)"));
            watcher.cancel();
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            std::process::exit(i32::from(EXIT_CANCELLED));
        });
        work(cancel).await
    })
}

pub(crate) fn finish(error: StageError, manifest_path: &Path) -> Result<ExitCode> {
    match error {
        StageError::Cancelled => {
            eprintln!(
                "cancelled; the manifest {} lists what exists",
                manifest_path.display()
            );
            Ok(ExitCode::from(EXIT_CANCELLED))
        }
        other => {
            report::annotate_error(
                &manifest_path.display().to_string(),
                None,
                other.to_string().lines().next().unwrap_or_default(),
            );
            Err(anyhow!("{other}"))
        }
    }
}

/// `build`: builds the AMI and writes the manifest.
pub fn build_command(context: Context) -> Result<ExitCode> {
    let prepared = context.prepare(true, false)?;
    let manifest = context.new_manifest(&prepared.run_id)?;
    run_async(|cancel| async move {
        let ec2 = Arc::new(Ec2::from_env().await);
        let (manifest, result) =
            build_and_copy(ec2, &context, prepared, manifest, false, &cancel).await;
        match result {
            Ok(()) => {
                stage::say(&format!(
                    "build: {} → {}",
                    manifest.source_image_id.as_deref().unwrap_or("?"),
                    context.manifest_path.display()
                ));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => finish(e, &context.manifest_path),
        }
    })
}

/// Where `copy` starts: a manifest from `build`, or an existing image.
pub enum CopySource {
    /// Continue the manifest at the context's path.
    Manifest,
    /// Start from an existing image in the build region.
    Image(AmiId),
}

/// `copy`: copies and shares the image to every configured region.
pub fn copy_command(
    context: Context,
    source: CopySource,
    cleanup_on_failure: bool,
) -> Result<ExitCode> {
    let manifest = match source {
        CopySource::Manifest => {
            let manifest = Manifest::read(&context.manifest_path)?;
            if manifest.source_image_id.is_none() {
                bail!("{}: the manifest has no built image\n  help: run the build stage first (it failed or was cancelled), or pass --image", context.manifest_path.display());
            }
            manifest
        }
        CopySource::Image(image) => {
            let mut manifest = context.new_manifest(&new_run_id())?;
            manifest.source_image_id = Some(image.to_string());
            manifest
        }
    };
    let prepared = context.prepare(false, cleanup_on_failure)?;
    run_async(|cancel| async move {
        let ec2 = Arc::new(Ec2::from_env().await);
        let (manifest, result) =
            build_and_copy(ec2, &context, prepared, manifest, true, &cancel).await;
        match result {
            Ok(()) => {
                stage::say(&format!(
                    "copy: {} regions available → {}",
                    manifest.available_amis().len(),
                    context.manifest_path.display()
                ));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => finish(e, &context.manifest_path),
        }
    })
}

/// `release`: build, copy and share, then regenerate the templates in the workspace from the
/// regions whose image is available.
pub fn release_command(
    context: Context,
    cleanup_on_failure: bool,
    publish_to: Option<GitHubTarget>,
) -> Result<ExitCode> {
    let prepared = context.prepare(true, cleanup_on_failure)?;
    let manifest = context.new_manifest(&prepared.run_id)?;
    context.check_templates()?;
    let body_template = read_body_template(&context.config, &context.workspace)?;
    run_async(|cancel| async move {
        let ec2 = Arc::new(Ec2::from_env().await);
        let (manifest, result) =
            build_and_copy(ec2, &context, prepared, manifest, true, &cancel).await;
        if let Err(e) = result {
            return finish(e, &context.manifest_path);
        }
        regenerate_templates(&context, &manifest)?;
        if let Some(target) = &publish_to {
            let amis = IndexMap::from([(context.architecture, manifest.available_amis())]);
            publish_and_report(
                target,
                &context.config,
                &context.version,
                &amis,
                &body_template,
            )
            .await?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Edits one template's bytes; errors name the file, line and column (and become annotations
/// in GitHub Actions).
pub fn edit_template(
    shown: &str,
    bytes: &[u8],
    request: &EditRequest,
) -> Result<crate::template::Edited> {
    Template::parse_bytes(bytes)
        .and_then(|t| t.edit(request))
        .map_err(|e| {
            report::annotate_error(shown, e.location, &e.message);
            anyhow!("{}", e.render(shown))
        })
}

/// Writes the available AMIs (and the version) into every configured template.
pub fn regenerate_templates(context: &Context, manifest: &Manifest) -> Result<()> {
    let by_arch = IndexMap::from([(context.architecture, manifest.available_amis())]);
    for target in &context.config.templates {
        let shown = target.path.display().to_string();
        let path = context.workspace.join(&target.path);
        let bytes = std::fs::read(&path).map_err(|e| {
            file_error(
                format!("cannot read template {shown}"),
                e,
                "check templates[].path",
            )
        })?;
        let request = EditRequest {
            amis: plan::amis_for_template(target, &by_arch),
            mapping: target.mapping.clone(),
            key: None,
            prune: target.prune,
            prune_other_partitions: false,
            version: target.set_version.then(|| context.version.clone()),
            version_parameter: target.version_parameter.clone(),
        };
        let edited = edit_template(&shown, &bytes, &request)?;
        if edited.changed {
            write_atomically(&path, &edited.text)?;
        }
        stage::say(&format!(
            "template: {shown}: {} change(s)",
            edited.changes.len()
        ));
    }
    Ok(())
}
