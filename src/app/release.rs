//! The orchestrator: the one place that runs a release, for every command and for the action.
//!
//! A [`Request`] says what the user asked for (the stages, the version, the architecture, the
//! manifests, where the pull request goes). [`Release::prepare`] turns it into a [`Release`]:
//! it resolves every value and runs the [`PREFLIGHT`] checks, all before any AWS resource is
//! created or any GitHub write is made, so that a bad value costs nothing. [`Release::run`]
//! then runs the stages in pipeline order (build → copy → templates → publish → submit) and
//! returns one [`Outcome`]: the manifests, the pull request, the change set, and why it stopped
//! when it did. The CLI prints the outcome; the action turns it into step outputs and a step
//! summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use indexmap::IndexMap;
use secrecy::SecretString;

use super::env::RunnerEnv;
use crate::aws::catalog::{Catalog, ChangeSetState};
use crate::aws::cloudformation::CloudFormation;
use crate::aws::ec2::{Ec2, LaunchPermissions};
use crate::aws::iam::{Iam, RoleLookup};
use crate::aws::sts::Sts;
use crate::config::{Architecture, BaseAmi, Config, Source, SubmitIntent};
use crate::domain::ami::AmiId;
use crate::domain::manifest::{Manifest, RegionImage, SCHEMA_VERSION};
use crate::domain::seller;
use crate::domain::state::ImageState;
use crate::domain::timeline::Span;
use crate::domain::version::Version;
use crate::domain::{catalog, ingestion};
use crate::files::{self, file_error, write_atomically};
use crate::github::{GitHub, RepoName, RetryPolicy};
use crate::output::diagnostic::{self, Diagnostic, Kind};
use crate::output::{self, log};
use crate::plan::{self, userdata, Vars};
use crate::stages::build::{self, BuildPlan};
use crate::stages::copy::CopyPlan;
use crate::stages::import::{self, ImportPlan};
use crate::stages::preflight::{self, Start};
use crate::stages::publish::{self, PublishInputs, Published};
use crate::stages::stack;
use crate::stages::submit::{self, Submission};
use crate::stages::verify::{self, VerifyPlan};
use crate::stages::{tag, CancellationToken, StageError};
use crate::template::{EditRequest, Template};

/// Exit code after a cancellation (as shells report SIGINT).
pub const EXIT_CANCELLED: u8 = 130;

/// Which stages run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages {
    /// Build the AMI.
    pub build: bool,
    /// Boot it and check it (the config's `verify` section), before any copy; and copies in
    /// `verify.regions` after the copy.
    pub verify: bool,
    /// Copy and share it.
    pub copy: bool,
    /// Regenerate the templates in the workspace (the CLI's `release`).
    pub templates: bool,
    /// Commit the templates and open or update the pull request.
    pub publish: bool,
    /// Add the version through the Marketplace Catalog API.
    pub submit: bool,
}

impl Stages {
    /// `build, verify, copy, publish` or the part of it that runs.
    pub fn describe(self) -> String {
        let names = [
            (self.build, "build"),
            (self.verify, "verify"),
            (self.copy, "copy"),
            (self.templates, "templates"),
            (self.publish, "publish"),
            (self.submit, "submit"),
        ];
        let on: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        on.join(", ")
    }
}

/// Who asked: the command line names flags, the action names inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The command line.
    Cli,
    /// The GitHub Action.
    Action,
}

impl Caller {
    /// A diagnostic about the value given as `flag` on the command line or `input` in the
    /// action.
    fn about(self, flag: &str, input: &str, message: String, help: &str) -> Diagnostic {
        match self {
            Caller::Cli => Diagnostic::new(Kind::Run, format!("{flag}: {message}"), help),
            Caller::Action => Diagnostic::new(Kind::Input, message, help).for_input(input),
        }
    }
}

/// Where the pull request goes, as given.
#[derive(Debug, Default)]
pub struct GitHubRequest {
    /// `owner/name`; default `GITHUB_REPOSITORY`.
    pub repository: Option<String>,
    /// The base branch; default `pull-request.base`, else the event's default branch.
    pub base: Option<String>,
    /// The token; default `GITHUB_TOKEN`.
    pub token: Option<SecretString>,
}

/// What the user asked for.
#[derive(Debug)]
pub struct Request {
    /// The command line or the action.
    pub caller: Caller,
    /// The config, loaded and validated.
    pub config: Config,
    /// The config's path as the user gave it.
    pub config_path: String,
    /// The repository root.
    pub workspace: PathBuf,
    /// The stages to run.
    pub stages: Stages,
    /// The version when given; else the tag's, else the manifests'.
    pub version: Option<Version>,
    /// The one architecture to build; all of `build.architectures` when `None`.
    pub architecture: Option<Architecture>,
    /// Where a build or copy job writes (copy alone: reads) its manifest; a default per
    /// architecture when `None`.
    pub manifest: Option<PathBuf>,
    /// What a publish or submit job without build or copy reads: manifest files, or
    /// directories of them.
    pub manifests: Vec<PathBuf>,
    /// Copy this existing image instead of the manifest's.
    pub image: Option<AmiId>,
    /// Where the pull request goes.
    pub github: GitHubRequest,
    /// Remove this run's images and snapshots when a required region fails.
    pub cleanup_on_failure: bool,
    /// Build even though the AMI name is taken by an image that can't be resumed from, under
    /// the name `<ami-name>-<run ID>`.
    pub rebuild: bool,
    /// Overrides submit.intent.
    pub intent: Option<SubmitIntent>,
    /// Wait for the APPLY change set to end.
    pub wait: bool,
}

/// Where the release pull request goes, resolved before anything is built.
pub struct GitHubTarget {
    api_url: String,
    token: SecretString,
    repo: RepoName,
    base: Option<String>,
    retry: RetryPolicy,
}

/// One architecture's build and copy, prepared (and so validated) before any AWS call.
struct Job {
    architecture: Architecture,
    manifest_path: PathBuf,
    manifest: Manifest,
    origin: Origin,
    description: String,
    copy_plan: CopyPlan,
    /// The verify stage's plan, when it runs.
    verify: Option<VerifyPlan>,
}

/// Where a job's source image comes from.
enum Origin {
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
    fn makes_image(&self) -> bool {
        !matches!(self, Origin::Given)
    }

    /// How the preflight recognises an earlier run's image.
    fn preflight(&self) -> preflight::Origin<'_> {
        match self {
            Origin::Build { script_sha256, .. } => preflight::Origin::Script(script_sha256),
            Origin::Import(image) => preflight::Origin::Image(image.as_str()),
            Origin::Given => preflight::Origin::Script(""),
        }
    }
}

/// A release, prepared: every value resolved and checked.
pub struct Release {
    caller: Caller,
    config: Config,
    workspace: PathBuf,
    stages: Stages,
    version: Version,
    date: String,
    jobs: Vec<Job>,
    /// Manifests read from files (publish or submit jobs), in build.architectures order.
    given: Vec<(String, Manifest)>,
    github: Option<GitHubTarget>,
    body_template: String,
    submission: Option<Submission>,
    intent: SubmitIntent,
    wait: bool,
    env: RunnerEnv,
    /// Open the pull request as a draft (a failed verification with `on-failure: draft`).
    draft: bool,
}

/// Why a release stopped early.
#[derive(Debug)]
pub enum Stopped {
    /// SIGINT or SIGTERM.
    Cancelled,
    /// A stage failed.
    Failed {
        /// `build`, `verify`, `copy`, `templates`, `publish` or `submit`.
        stage: &'static str,
        /// What went wrong.
        error: anyhow::Error,
    },
}

/// What a release did.
#[derive(Debug)]
pub struct Outcome {
    /// The manifests written or read, in build.architectures order, with their paths.
    pub manifests: Vec<(String, Manifest)>,
    /// The pull request, when published.
    pub published: Option<Published>,
    /// The last change set, when submitted.
    pub change_set: Option<ChangeSetState>,
    /// The release branch (also when nothing was published).
    pub branch: String,
    /// Why it stopped early; `None` when every stage ran.
    pub stopped: Option<Stopped>,
    /// `product version`, for titles.
    pub title: String,
    /// The stages that were to run.
    pub stages: Stages,
    /// The ingestion preflight's checklist (Markdown), when it ran.
    pub ingestion: String,
    /// The AWS account the release ran in, and whether it was checked against
    /// `product.seller-account`; `None` when no AWS stage ran.
    pub seller: Option<String>,
    /// What the live listing says against this release, one sentence each.
    pub listing: Vec<String>,
    /// The verify stage's test stack, when it ran.
    pub stack: Option<crate::domain::stack::StackReport>,
}

impl Outcome {
    /// One line saying why the release stopped, for summaries; `None` when it did not.
    pub fn why_stopped(&self) -> Option<String> {
        match &self.stopped {
            None => None,
            Some(Stopped::Cancelled) => Some("cancelled; the manifests list what exists".into()),
            Some(Stopped::Failed { stage, error }) => {
                let first = error
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                Some(match *stage {
                    "build" | "verify" | "copy" => first,
                    stage => format!("{stage} failed: {first}"),
                })
            }
        }
    }

    /// The exit code: 0 done, 130 cancelled; a failure is the error itself.
    pub fn exit(self) -> Result<ExitCode> {
        match self.stopped {
            None => Ok(ExitCode::SUCCESS),
            Some(Stopped::Cancelled) => {
                let listed = self.manifests.last().map_or_else(String::new, |(path, _)| {
                    format!("; the manifest {path} lists what exists")
                });
                log::say(&format!("cancelled{listed}"));
                Ok(ExitCode::from(EXIT_CANCELLED))
            }
            Some(Stopped::Failed { error, .. }) => Err(error),
        }
    }
}

/// One pre-flight check: its name (shown by `plan`) and what it verifies. Every check runs
/// before any AWS resource is created or any GitHub write is made; a failure says what to do.
pub struct Check {
    /// What is checked, in a few words.
    pub name: &'static str,
    /// The check.
    pub run: fn(&Release) -> Result<()>,
}

/// The pre-flight checks, in order. Values are resolved (and so checked) while preparing;
/// these are the checks over the prepared release as a whole.
pub const PREFLIGHT: &[Check] = &[
    Check {
        name: "every template parses and holds what the release updates",
        run: check_templates,
    },
    Check {
        name: "the release branch renders to a valid git ref",
        run: check_branch,
    },
    Check {
        name: "the manifests belong to this release (product, version, architectures)",
        run: check_given_manifests,
    },
    Check {
        name: "every manifest this run writes can be written",
        run: check_manifest_paths,
    },
    Check {
        name: "the submit request keeps the Catalog API's shapes (AmiProduct@1.0)",
        run: check_submission_shapes,
    },
];

impl Release {
    /// Resolves and checks everything `request` needs, with no AWS call and no GitHub write.
    pub fn prepare(request: Request, env: RunnerEnv) -> Result<Self> {
        let version = resolve_version(&request, &env)?;
        let architectures = select_architectures(&request)?;
        if request.stages.submit && request.config.submit.is_none() {
            return Err(request
                .caller
                .about(
                    "submit",
                    "stages",
                    format!(
                        "`submit` is asked for, but {} has no `submit` section",
                        request.config_path
                    ),
                    "add `submit: {}` and product.id to the config to turn the submit stage on",
                )
                .into());
        }
        if request.stages.verify && request.config.verify.is_none() {
            return Err(request
                .caller
                .about(
                    "verify",
                    "stages",
                    format!(
                        "`verify` is asked for, but {} has no `verify` section",
                        request.config_path
                    ),
                    "add `verify: {}` to the config (with `service:` and `script:` to check the product too) to turn the verify stage on",
                )
                .into());
        }
        let github = if request.stages.publish {
            Some(resolve_github(&request, &env)?)
        } else {
            None
        };
        let body_template = read_body_template(&request.config, &request.workspace)?;
        let date = today();
        let jobs = prepare_jobs(&request, &env, &version, &architectures, &date)?;
        if request.stages.build {
            super::advice::show(&super::advice::warnings(&request.config));
        }
        let given = if jobs.is_empty() && (request.stages.publish || request.stages.submit) {
            read_given_manifests(&request, &architectures)?
        } else {
            Vec::new()
        };
        let mut release = Self {
            caller: request.caller,
            intent: request
                .intent
                .or_else(|| request.config.submit.as_ref().map(|s| s.intent))
                .unwrap_or_default(),
            wait: request.wait,
            config: request.config,
            workspace: request.workspace,
            stages: request.stages,
            version,
            date,
            jobs,
            given,
            github,
            body_template,
            submission: None,
            env,
            draft: false,
        };
        for check in PREFLIGHT {
            (check.run)(&release)?;
        }
        // A submit job without build or copy checks its whole request before any call.
        if release.stages.submit && release.jobs.is_empty() {
            release.submission = Some(release.prepare_submission(&release.given)?);
        }
        Ok(release)
    }

    /// The version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Runs the stages; the outcome says what exists, also after a failure or a signal.
    pub async fn run(mut self, cancel: &CancellationToken) -> Outcome {
        let mut outcome = Outcome {
            manifests: std::mem::take(&mut self.given),
            published: None,
            change_set: None,
            branch: plan::release_branch(&self.config, self.vars()).unwrap_or_default(),
            stopped: None,
            title: format!("{} {}", self.config.product.name, self.version),
            stages: self.stages,
            ingestion: String::new(),
            seller: None,
            listing: Vec::new(),
            stack: None,
        };
        let stopped = self.run_stages(&mut outcome, cancel).await;
        outcome.stopped = stopped;
        outcome
    }

    /// The stage a failure before or between the jobs' stages is reported under.
    fn first_stage(&self) -> &'static str {
        if self.stages.build {
            "build"
        } else if self.stages.verify {
            "verify"
        } else {
            "copy"
        }
    }

    /// The seller checks, then each job's build, verify and copy, one after another. A failed
    /// verification with `verify.on-failure: draft` lets the other jobs run and comes back as
    /// `Ok(Some(error))`; any other failure stops here.
    async fn run_jobs(
        &mut self,
        outcome: &mut Outcome,
        cancel: &CancellationToken,
    ) -> Result<Option<anyhow::Error>, Stopped> {
        let mut verification_failed: Option<anyhow::Error> = None;
        if self.jobs.is_empty() {
            return Ok(None);
        }
        if let Err(error) = self.before_building(outcome).await {
            return Err(Stopped::Failed {
                stage: self.first_stage(),
                error,
            });
        }
        let ec2 = Arc::new(self.ec2().await);
        for job in std::mem::take(&mut self.jobs) {
            let path = job.manifest_path.display().to_string();
            let (manifest, result) = self.build_and_copy(ec2.clone(), job, cancel).await;
            outcome.manifests.push((path, manifest));
            match result {
                Ok(()) => {}
                Err(StageError::Cancelled) => return Err(Stopped::Cancelled),
                Err(e @ StageError::VerificationFailed { .. }) => {
                    let error = anyhow!("{e}");
                    if !self.draft_on_failure() {
                        if self.stages.publish {
                            log::say("verify: the image failed its verification, so no pull request was opened (verify.on-failure: stop); the manifest records why");
                        }
                        return Err(Stopped::Failed {
                            stage: "verify",
                            error,
                        });
                    }
                    verification_failed.get_or_insert(error);
                }
                Err(e) => {
                    return Err(Stopped::Failed {
                        stage: if self.stages.copy {
                            "copy"
                        } else {
                            self.first_stage()
                        },
                        error: anyhow!("{e}"),
                    })
                }
            }
        }
        Ok(verification_failed)
    }

    async fn run_stages(
        &mut self,
        outcome: &mut Outcome,
        cancel: &CancellationToken,
    ) -> Option<Stopped> {
        let built_here = !self.jobs.is_empty();
        let verification_failed = match self.run_jobs(outcome, cancel).await {
            Ok(failed) => failed,
            Err(stopped) => return Some(stopped),
        };
        if let Some(error) = verification_failed {
            // verify.on-failure: draft: a draft pull request with the failure at the top, and
            // the run fails all the same.
            self.draft = true;
            if let Some(stopped) = self.publish_draft(outcome).await {
                return Some(stopped);
            }
            log::say("verify: the image failed its verification; a draft pull request shows why (verify.on-failure: draft)");
            return Some(Stopped::Failed {
                stage: "verify",
                error,
            });
        }
        if built_here {
            if let Some(stopped) = self.test_stack(outcome, cancel).await {
                return Some(stopped);
            }
        }
        // The ingestion preflight on the images this run built, before the templates,
        // the PR and submit.
        if built_here && (self.stages.publish || self.stages.submit) {
            match self.ingestion_preflight(&outcome.manifests, false).await {
                Ok(checklist) => outcome.ingestion = checklist,
                Err(error) => {
                    return Some(Stopped::Failed {
                        stage: if self.stages.publish {
                            "publish"
                        } else {
                            "submit"
                        },
                        error,
                    })
                }
            }
        }
        // A submit job after the merge runs days later, maybe with other credentials: the
        // account, the ingestion role and the images' attributes are checked again before the
        // Catalog is asked (the builder is long gone, so hardening is what the manifest says).
        if !built_here && self.stages.submit {
            if let Err(error) = self.before_submitting(outcome).await {
                return Some(Stopped::Failed {
                    stage: "submit",
                    error,
                });
            }
        }
        if self.stages.templates {
            if let Err(error) = self.regenerate_templates(&outcome.manifests) {
                return Some(Stopped::Failed {
                    stage: "templates",
                    error,
                });
            }
        }
        if self.stages.publish {
            if let Err(error) = self.publish_and_record(outcome).await {
                return Some(Stopped::Failed {
                    stage: "publish",
                    error,
                });
            }
        }
        if self.stages.submit {
            match self.submit(&outcome.manifests, cancel).await {
                Ok(state) => outcome.change_set = state,
                Err(error) => {
                    return Some(Stopped::Failed {
                        stage: "submit",
                        error,
                    })
                }
            }
        }
        None
    }

    /// Before anything is built: the seller account, the ingestion role and the live listing.
    async fn before_building(&self, outcome: &mut Outcome) -> Result<()> {
        outcome.seller = Some(self.check_seller().await?);
        outcome.listing = self.check_listing().await?;
        Ok(())
    }

    /// Before a submit job asks the Catalog: the seller account, the ingestion role and the
    /// images' attributes again.
    async fn before_submitting(&self, outcome: &mut Outcome) -> Result<()> {
        outcome.seller = Some(self.check_seller().await?);
        outcome.ingestion = self.ingestion_preflight(&outcome.manifests, true).await?;
        Ok(())
    }

    /// Whether a failed verification opens a draft pull request (`verify.on-failure: draft`,
    /// when this run publishes).
    fn draft_on_failure(&self) -> bool {
        self.stages.publish
            && self
                .config
                .verify
                .as_ref()
                .is_some_and(|v| v.on_failure == crate::config::OnFailure::Draft)
    }

    /// After a failed verification: the templates and a draft pull request of the images that
    /// exist (the failed one, uncopied), without the ingestion preflight or submit; why it
    /// stopped when that failed too.
    async fn publish_draft(&mut self, outcome: &mut Outcome) -> Option<Stopped> {
        // The manifests are incomplete (the release stopped at the verification); the draft
        // shows what exists all the same.
        let mut shown = outcome.manifests.clone();
        for (_, manifest) in &mut shown {
            if manifest.verification.iter().any(|v| !v.passed()) {
                manifest.incomplete = false;
            }
        }
        if self.stages.templates {
            if let Err(error) = self.regenerate_templates(&shown) {
                return Some(Stopped::Failed {
                    stage: "templates",
                    error,
                });
            }
        }
        let span = Span::starting_now();
        match self.publish(&shown, "", &outcome.listing, None).await {
            Ok(published) => {
                record_publish(&mut outcome.manifests, span.ended_now());
                outcome.published = Some(published);
                None
            }
            Err(error) => Some(Stopped::Failed {
                stage: "publish",
                error,
            }),
        }
    }

    /// Publishes, then records when publish ran in the manifests (for the timeline).
    async fn publish_and_record(&self, outcome: &mut Outcome) -> Result<()> {
        let span = Span::starting_now();
        let published = self
            .publish(
                &outcome.manifests,
                &outcome.ingestion,
                &outcome.listing,
                outcome.stack.as_ref(),
            )
            .await?;
        record_publish(&mut outcome.manifests, span.ended_now());
        outcome.published = Some(published);
        Ok(())
    }

    /// The seller account (STS) and the load form's ingestion role (IAM), before anything is
    /// created. A role the credentials may not read is reported as not checked. Returns the
    /// account, said as the summary shows it (checked against `product.seller-account` or not).
    async fn check_seller(&self) -> Result<String> {
        let caller = Sts::from_env()
            .await
            .caller_account()
            .await
            .map_err(|error| anyhow!("{}", StageError::Aws { error }))?;
        let expected = self.config.product.seller_account.as_deref();
        let account = seller::check_account(expected, &caller)?;
        log::say(&format!("seller: {account}"));
        let role = self.config.load_form.access_role_arn.as_str();
        seller::check_role_account(role, &caller)?;
        let name = seller::role_parts(role).map_or("", |(_, name)| name);
        match Iam::from_env().await.role(name).await? {
            RoleLookup::Found(facts) => {
                seller::check_role(role, Some(&facts))?;
                log::say(&format!(
                    "ingestion role: {role} is trusted by {} and carries {}",
                    seller::MARKETPLACE_ASSETS,
                    seller::INGESTION_POLICY
                ));
            }
            RoleLookup::Missing => seller::check_role(role, None)?,
            RoleLookup::Denied(why) => output::warning(
                "ingestion role not checked",
                &format!("{role}: the credentials may not read it ({why}); allow iam:GetRole and iam:ListAttachedRolePolicies on it (iam/policy.json) to have it checked"),
            ),
        }
        Ok(account.to_string())
    }

    /// The live listing (DescribeEntity, read-only), before anything is built, when
    /// `product.id` is set: a version title already used is refused; regions the listing and
    /// the release don't share, and a recommended instance type the listing does not sell, are
    /// warnings, returned for the PR and the summary. When the product cannot be read, says
    /// that the listing was not checked.
    async fn check_listing(&self) -> Result<Vec<String>> {
        let Some(product) = &self.config.product.id else {
            return Ok(Vec::new());
        };
        let entity = match Catalog::from_env().await.describe_entity(product).await {
            Ok(entity) => entity,
            Err(error) => {
                output::warning(
                    "listing not checked",
                    &format!("{error}; allow aws-marketplace:DescribeEntity (iam/policy.json) to have the version title and regions checked before building"),
                );
                return Ok(Vec::new());
            }
        };
        let (title, _) = plan::version_texts(&self.config, &self.version, &self.date)
            .map_err(Diagnostic::from)?;
        let versions = catalog::listed_versions(&entity);
        if let catalog::VersionStatus::TitleTaken { amis } =
            catalog::version_status(&versions, &title, None)
        {
            bail!("product {product} already has a version titled `{title}` (AMI {}); AWS Marketplace refuses a second one\n  help: release a new version, or change load-form.version-title; nothing was built", if amis.is_empty() { "unknown".to_owned() } else { amis.join(", ") });
        }
        let ours: Vec<String> = plan::planned_regions(&self.config)
            .iter()
            .map(ToString::to_string)
            .collect();
        let notes = catalog::listing_notes(
            &entity,
            product.as_str(),
            &ours,
            !self.config.regions.listed().is_empty(),
            self.config.load_form.recommended_instance_type.as_str(),
        );
        for note in &notes {
            output::warning("listing", note);
        }
        log::say(&format!(
            "listing: {product}: version title `{title}` is new"
        ));
        Ok(notes)
    }

    /// The EC2 adapter, with `copy.max-concurrency` requests in flight at most.
    async fn ec2(&self) -> Ec2 {
        Ec2::from_env(usize::try_from(self.config.copy.max_concurrency.get()).unwrap_or(1)).await
    }

    fn vars(&self) -> Vars<'_> {
        Vars::new(&self.config, &self.version, &self.date)
    }

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

    /// Checks the account (read-only), builds or resumes (when the job has user data), then
    /// copies (when copying), saving the manifest after every step. Returns the manifest,
    /// whatever happened, and the outcome; after a failure the manifest is marked incomplete
    /// and lists the commands that remove what still exists.
    async fn build_and_copy(
        &self,
        ec2: Arc<Ec2>,
        mut job: Job,
        cancel: &CancellationToken,
    ) -> (Manifest, Result<(), StageError>) {
        // The AWS preflight: nothing exists yet, and the manifest is left as it is when it
        // fails.
        job.copy_plan.tags = self.tags(&job.manifest.run_id);
        if let Some(verify) = job.verify.as_mut() {
            verify.tags = self.tags(&job.manifest.run_id);
        }
        let start = match self
            .aws_preflight(
                &ec2,
                job.origin.preflight(),
                &mut job.copy_plan,
                &job.manifest,
            )
            .await
        {
            Ok(start) => start,
            Err(e) => return (job.manifest, Err(e)),
        };
        let path = job.manifest_path.clone();
        let (mut manifest, result) = self.run_job(ec2, job, start, cancel).await;
        manifest.incomplete = manifest.incomplete || result.is_err();
        manifest.cleanup = if manifest.incomplete {
            manifest.cleanup_commands()
        } else {
            Vec::new()
        };
        let saved = build::save(&manifest, &path);
        let result = result
            .and(saved)
            .map_err(|e| with_leftovers(e, &manifest, &path));
        (manifest, result)
    }

    /// Builds or resumes (when the job has user data), then copies (when copying), saving
    /// the manifest after every step.
    async fn run_job(
        &self,
        ec2: Arc<Ec2>,
        job: Job,
        start: Start,
        cancel: &CancellationToken,
    ) -> (Manifest, Result<(), StageError>) {
        let mut manifest = job.manifest;
        let path = &job.manifest_path;
        if job.origin.makes_image() {
            let made = match start {
                Start::Resume(image) => {
                    build::resume(
                        &ec2,
                        &image,
                        &mut manifest,
                        path,
                        self.config.copy.timeout_minutes.duration(),
                        self.env.poll_schedule(),
                        cancel,
                    )
                    .await
                }
                Start::Build => {
                    self.make_image(
                        &ec2,
                        job.origin,
                        job.architecture,
                        &job.description,
                        &mut manifest,
                        path,
                        cancel,
                    )
                    .await
                }
            };
            manifest.incomplete = made.is_err() || self.stages.copy;
            if let Err(e) = made {
                return (manifest, Err(e));
            }
            log::say(&format!(
                "build: {}{} → {}",
                manifest.source_image_id.as_deref().unwrap_or("?"),
                manifest
                    .imported_from
                    .as_deref()
                    .map(|from| format!(" (a copy of {from}, not built here)"))
                    .unwrap_or_default(),
                path.display()
            ));
        }
        let mut copy_plan = job.copy_plan;
        if let Some(plan) = &job.verify {
            // Before any copy or sharing: a bad image is never copied or made public.
            let source = manifest.source_region.clone();
            if let Err(e) = self
                .verify_in(&ec2, plan, &source, &mut manifest, path, cancel)
                .await
            {
                return (manifest, Err(e));
            }
            copy_plan
                .tags
                .push((tag::VERIFICATION.into(), "passed".into()));
        }
        if !self.stages.copy {
            // A verify job on a manifest whose copies exist boots those of verify.regions.
            let result = self
                .verify_regions(&ec2, job.verify.as_ref(), &mut manifest, path, cancel)
                .await;
            return (manifest, result);
        }
        let (mut manifest, copied) =
            crate::stages::copy::copy(ec2.clone(), copy_plan, manifest, path, cancel).await;
        if copied.is_ok() {
            announce(&manifest, path);
        } else {
            return (manifest, copied);
        }
        let result = self
            .verify_regions(&ec2, job.verify.as_ref(), &mut manifest, path, cancel)
            .await;
        (manifest, result)
    }

    /// Verifies the image in `region`, unless this manifest already records a passed
    /// verification of the same image there with the same checks and script (a re-run after a
    /// later stage failed).
    async fn verify_in(
        &self,
        ec2: &Ec2,
        plan: &VerifyPlan,
        region: &str,
        manifest: &mut Manifest,
        path: &Path,
        cancel: &CancellationToken,
    ) -> Result<(), StageError> {
        let image = manifest.regions.get(region).map(|i| i.image_id.clone());
        let done = manifest.verification.iter().any(|v| {
            v.region == region
                && Some(&v.image_id) == image.as_ref()
                && v.checks_sha256.as_deref() == Some(plan.checks_sha256.as_str())
                && v.passed()
        });
        if done {
            log::say(&format!(
                "verify: {} in {region} already passed its verification (run {}); not booted again",
                image.unwrap_or_default(),
                manifest.run_id
            ));
            return Ok(());
        }
        verify::verify(ec2, plan, region, manifest, path, cancel).await
    }

    /// Verifies the copies in `verify.regions` that are available, one region after another.
    async fn verify_regions(
        &self,
        ec2: &Ec2,
        plan: Option<&VerifyPlan>,
        manifest: &mut Manifest,
        path: &Path,
        cancel: &CancellationToken,
    ) -> Result<(), StageError> {
        let (Some(plan), Some(verify)) = (plan, &self.config.verify) else {
            return Ok(());
        };
        for region in &verify.regions {
            let available = manifest
                .regions
                .get(region.as_str())
                .is_some_and(|i| i.state == ImageState::Available);
            if !available {
                if self.stages.copy {
                    log::say(&format!(
                        "verify: no available copy in {region} to boot (see the copy table)"
                    ));
                }
                continue;
            }
            self.verify_in(ec2, plan, region.as_str(), manifest, path, cancel)
                .await?;
        }
        Ok(())
    }

    /// Builds the image, or copies the existing one (`build.image`) into it.
    #[allow(
        clippy::too_many_arguments,
        reason = "the job's parts, taken apart by the caller"
    )]
    async fn make_image(
        &self,
        ec2: &Ec2,
        origin: Origin,
        architecture: Architecture,
        description: &str,
        manifest: &mut Manifest,
        path: &Path,
        cancel: &CancellationToken,
    ) -> Result<(), StageError> {
        let tags = self.tags(&manifest.run_id);
        match origin {
            Origin::Build {
                user_data,
                base_ami,
                script_sha256,
            } => {
                let build_plan = BuildPlan {
                    config: &self.config,
                    architecture,
                    base_ami: &base_ami,
                    user_data,
                    tags,
                    description: description.to_owned(),
                    schedule: self.env.poll_schedule(),
                    script_sha256,
                };
                build::build(ec2, &build_plan, manifest, path, cancel).await
            }
            Origin::Import(image) => {
                let plan = ImportPlan {
                    image: image.as_str(),
                    architecture: architecture.as_str(),
                    tags,
                    description,
                    waiting: build::Waiting {
                        timeout: self.config.copy.timeout_minutes.duration(),
                        schedule: self.env.poll_schedule(),
                        started: std::time::Instant::now(),
                    },
                };
                import::import(ec2, &plan, manifest, path, cancel).await
            }
            Origin::Given => Ok(()),
        }
    }

    /// Resolves the target regions and asks the account what would stop the release
    /// ([`preflight`]); where the build starts.
    async fn aws_preflight(
        &self,
        ec2: &Ec2,
        origin: preflight::Origin<'_>,
        plan: &mut CopyPlan,
        manifest: &Manifest,
    ) -> Result<Start, StageError> {
        let building = match origin {
            preflight::Origin::Script(sha256) => !sha256.is_empty(),
            preflight::Origin::Image(_) => true,
        };
        if self.stages.copy {
            plan.regions =
                preflight::target_regions(ec2, &plan.regions, &manifest.source_region).await?;
        } else {
            let source = manifest.source_region.clone();
            preflight::target_regions(ec2, std::slice::from_ref(&source), &source).await?;
        }
        let regions = if self.stages.copy {
            plan.regions.clone()
        } else {
            Vec::new()
        };
        let budget = self.config.build.timeout_minutes.duration() * u32::from(building)
            + self.config.copy.timeout_minutes.duration() * u32::from(self.stages.copy);
        let checks = preflight::Checks {
            build_region: &manifest.source_region,
            regions: &regions,
            building,
            public: self.config.sharing.public,
            marketplace: self.config.product.id.is_some() || self.config.submit.is_some(),
            image_name: &manifest.name,
            release: (&manifest.product, &manifest.version, &manifest.architecture),
            origin,
            budget,
        };
        preflight::run(ec2, &checks).await
    }

    /// Writes the available AMIs (and the version) into every configured template in the
    /// workspace.
    fn regenerate_templates(&self, manifests: &[(String, Manifest)]) -> Result<()> {
        for index in 0..self.config.templates.len() {
            let shown = self.config.templates[index].path.display().to_string();
            let (path, edited, checks) = self.regenerated(index, manifests)?;
            for note in checks.sentences() {
                output::warning(&format!("template {shown}"), &note);
            }
            if edited.changed {
                write_atomically(&path, &edited.text)?;
            }
            log::say(&format!(
                "template: {shown}: {} change(s)",
                edited.changes.len()
            ));
        }
        Ok(())
    }

    /// The workspace template `templates[index]` with the manifests' AMIs (and the version)
    /// written in, not saved: its path, the edit and the notes about it.
    fn regenerated(
        &self,
        index: usize,
        manifests: &[(String, Manifest)],
    ) -> Result<(PathBuf, crate::template::Edited, plan::target::TargetNotes)> {
        let (_, by_arch) =
            publish::amis_from_manifests(&self.config, manifests, Some(&self.version))?;
        let target = &self.config.templates[index];
        let (path, bytes) =
            files::read_bytes_in_workspace(&self.workspace, &target.path, "templates[].path")?;
        let (edited, checks) = plan::target::edit_target(
            index,
            target,
            &bytes,
            plan::amis_for_template(target, &by_arch),
            &self.version,
            Some(self.config.regions.listed()).filter(|r| !r.is_empty()),
        )
        .map_err(Diagnostic::from)?;
        Ok((path, edited, checks))
    }

    /// The verify stage's test stack (`verify.stack`), once the copies exist: the regenerated
    /// template launched in its region, checked and always deleted. Its report goes to the
    /// outcome (the PR body and the summary); a failure stops the release before the PR.
    async fn test_stack(
        &self,
        outcome: &mut Outcome,
        cancel: &CancellationToken,
    ) -> Option<Stopped> {
        let verify = self.config.verify.as_ref()?;
        let config = verify.stack.as_ref()?;
        if !self.stages.verify || outcome.manifests.is_empty() {
            return None;
        }
        let stopped = |error: anyhow::Error| Stopped::Failed {
            stage: "verify",
            error,
        };
        let index = self
            .config
            .templates
            .iter()
            .position(|t| t.path == config.template)?;
        let text = match self.regenerated(index, &outcome.manifests) {
            Ok((_, edited, _)) => edited.text,
            Err(error) => return Some(stopped(error)),
        };
        let run_id = outcome.manifests[0].1.run_id.clone();
        let plan = match stack::prepare(config, &text, &run_id, |name| std::env::var(name).ok()) {
            Ok(plan) => plan,
            Err(error) => return Some(stopped(anyhow!("{error}"))),
        };
        log::group(&format!(
            "Test stack {} in {}",
            plan.stack_name, plan.region
        ));
        let ec2 = self.ec2().await;
        let cfn = CloudFormation::new(ec2.config());
        let result = stack::run(&cfn, &plan, self.env.poll_schedule(), cancel).await;
        log::end_group();
        match result {
            Ok(report) => {
                let failure = report.failure();
                match &failure {
                    None => log::say(&format!(
                        "verify: the test stack {} was created, checked and deleted",
                        report.stack_name
                    )),
                    Some(_) => log::say("verify: the test stack failed, so no pull request was opened; the summary shows why"),
                }
                outcome.stack = Some(report);
                failure.map(|why| stopped(anyhow!("{why}")))
            }
            Err(StageError::Cancelled) => Some(Stopped::Cancelled),
            Err(error) => Some(stopped(anyhow!("{error}"))),
        }
    }

    /// AWS Marketplace's ingestion rules over each manifest's us-east-1 image (else its
    /// source image): the checklist for the PR body and the summary, or the first broken rule.
    /// `before_submit` says which step it holds back (the PR, or the Catalog request).
    async fn ingestion_preflight(
        &self,
        manifests: &[(String, Manifest)],
        before_submit: bool,
    ) -> Result<String> {
        let stopped = if before_submit {
            "nothing was submitted"
        } else {
            "no pull request was opened"
        };
        let ec2 = self.ec2().await;
        let declared: Vec<&str> = self
            .config
            .build
            .architectures
            .iter()
            .map(|a| a.as_str())
            .collect();
        let mut checklist = String::new();
        for (path, manifest) in manifests {
            let available = |r: &&RegionImage| r.state == ImageState::Available;
            let in_us_east_1 = manifest.regions.get("us-east-1").filter(available);
            let (region, image_id) = match (in_us_east_1, &manifest.source_image_id) {
                (Some(image), _) => ("us-east-1", image.image_id.clone()),
                (None, Some(source)) => (manifest.source_region.as_str(), source.clone()),
                (None, None) => continue,
            };
            let us_east_1 = in_us_east_1.is_some()
                || (manifest.regions.is_empty() && manifest.source_region == "us-east-1");
            let facts = ec2
                .ingestion_facts(region, &image_id)
                .await?
                .ok_or_else(|| anyhow!("{path}: image {image_id} is not in {region}"))?;
            // Evidence from the image itself first: the verify stage's hardening checks.
            let verified: Vec<String> = manifest
                .verification
                .iter()
                .filter(|v| v.passed())
                .flat_map(|v| &v.checks)
                .filter(|c| {
                    c.outcome == crate::domain::verification::CheckOutcome::Passed
                        && ingestion::HARDENING_CHECKS.contains(&c.name.as_str())
                })
                .map(|c| c.name.clone())
                .collect();
            let hardening = if !verified.is_empty() {
                ingestion::Hardening::Verified(verified)
            } else if manifest.builder.is_some() {
                ingestion::Hardening::Built
            } else {
                ingestion::Hardening::NotVerified
            };
            let checks = ingestion::check_image(&facts, &declared, us_east_1, &hardening);
            if let Some(failure) = ingestion::first_failure(&checks) {
                bail!("{path} ({}): {failure}\n  help: fix the image or the build, then run the release again; {stopped}", manifest.architecture);
            }
            log::say(&format!(
                "ingestion preflight: {image_id} ({}) keeps every rule",
                manifest.architecture
            ));
            checklist.push_str(&format!(
                "`{image_id}` ({}):\n\n{}\n",
                manifest.architecture,
                ingestion::checklist(&checks)
            ));
        }
        Ok(checklist)
    }

    async fn publish(
        &self,
        manifests: &[(String, Manifest)],
        ingestion: &str,
        listing: &[String],
        stack: Option<&crate::domain::stack::StackReport>,
    ) -> Result<Published> {
        let target = self.github.as_ref().expect("resolved when publishing");
        let (version, amis) =
            publish::amis_from_manifests(&self.config, manifests, Some(&self.version))?;
        log::group("publish");
        let github = GitHub::new(
            &target.api_url,
            &target.token,
            target.repo.clone(),
            target.retry.clone(),
        );
        let run_url = self.env.run_url();
        let result = match github {
            Ok(github) => {
                let inputs = PublishInputs {
                    config: &self.config,
                    version: &version,
                    amis: &amis,
                    base: target.base.clone(),
                    body_template: &self.body_template,
                    run_url: run_url.as_deref(),
                    date: &self.date,
                    manifests,
                    ingestion,
                    listing,
                    stack,
                    draft: self.draft,
                };
                publish::publish(&github, &inputs).await
            }
            Err(e) => Err(e),
        };
        log::end_group();
        let published = result?;
        log::say(&format!("publish: {}", published.message));
        if let Some(url) = &published.url {
            output::notice(
                &format!("Release pull request ({})", published.operation.as_str()),
                url,
            );
        }
        Ok(published)
    }

    async fn submit(
        &self,
        manifests: &[(String, Manifest)],
        cancel: &CancellationToken,
    ) -> Result<Option<ChangeSetState>> {
        let submission = match &self.submission {
            Some(submission) => submission.clone(),
            None => self.prepare_submission(manifests)?,
        };
        log::group("submit");
        let catalog = Catalog::from_env().await;
        let limit = Duration::from_secs_f64(
            self.config
                .submit
                .as_ref()
                .map_or(120.0, |s| s.timeout_minutes.get())
                * 60.0,
        );
        let schedule = self.env.poll_schedule();
        let result = submit::submit(
            &catalog,
            &submission,
            self.intent,
            self.wait,
            limit,
            &schedule,
            cancel,
        )
        .await;
        log::end_group();
        let Some(state) = result? else {
            log::say(&format!(
                "submit: version already in AWS Marketplace with {}; nothing was submitted",
                submission.ami
            ));
            return Ok(None);
        };
        output::report(&submit::describe(&state));
        output::notice(
            &format!("Marketplace change set ({})", state.status),
            &submit::portal_url(&state.id),
        );
        Ok(Some(state))
    }

    /// What the submit stage sends: the us-east-1 AMI of the (one) manifest, the rendered
    /// version texts and the checked details. No call is made.
    fn prepare_submission(&self, manifests: &[(String, Manifest)]) -> Result<Submission> {
        let (version, amis) =
            publish::amis_from_manifests(&self.config, manifests, Some(&self.version))?;
        if amis.len() != 1 {
            bail!("submit takes the manifest of one architecture, but {} were given\n  help: a version has one AMI source; submit each architecture's product on its own", amis.len());
        }
        let (path, _) = &manifests[0];
        let ami = match amis.values().next().and_then(|set| set.get("us-east-1")) {
            Some(crate::domain::ami::RegionAmis::Single(id)) => id.to_string(),
            _ => bail!("{path}: no available AMI in us-east-1, where AWS Marketplace ingests it from\n  help: copy the image to us-east-1 (keep us-east-1 in regions) and pass that manifest"),
        };
        let (title, notes) =
            plan::version_texts(&self.config, &version, &self.date).map_err(Diagnostic::from)?;
        let details = submit::delivery_details(
            &self.config,
            &submit::Version {
                title: &title,
                release_notes: &notes,
                ami: &ami,
            },
        )?;
        let submission = Submission {
            product_id: self
                .config
                .product
                .id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            version: version.to_string(),
            ami,
            details,
            product: self.config.product.name.clone(),
        };
        submission.check()?;
        Ok(submission)
    }
}

/// The version: given, else the tag's; publish and submit jobs may take the manifests'.
fn resolve_version(request: &Request, env: &RunnerEnv) -> Result<Version> {
    if let Some(version) = &request.version {
        return Ok(version.clone());
    }
    if let Some(version) = env.tag_version(&request.config.version.tag_prefix)? {
        return Ok(version);
    }
    let from_manifests = !request.stages.build && !request.stages.copy && !request.stages.verify;
    if from_manifests {
        if let Some(version) = version_of_manifests(request)? {
            return Ok(version);
        }
    }
    Err(match request.caller {
        Caller::Cli => Diagnostic::new(
            Kind::Run,
            "no version given and this is not a tag build",
            "pass --version, like --version 5.26.0",
        ),
        Caller::Action => Diagnostic::new(
            Kind::Input,
            format!("no version: the {} run is not on a tag", env.event_name()),
            "pass `version` (for workflow_dispatch, an input of the workflow), or run on a release tag like v5.26.0",
        )
        .for_input("version"),
    }
    .into())
}

/// The version the given manifests name (checked against each other later).
fn version_of_manifests(request: &Request) -> Result<Option<Version>> {
    let paths = manifest_paths(request, &[])?;
    let Some(first) = paths.first() else {
        return Ok(None);
    };
    let manifest = Manifest::read(first)?;
    Version::new(&manifest.version).map(Some).map_err(|e| {
        anyhow!(
            "{}: {e}\n  help: pass the manifest the build and copy stages wrote",
            first.display()
        )
    })
}

fn select_architectures(request: &Request) -> Result<Vec<Architecture>> {
    let configured = &request.config.build.architectures;
    match request.architecture {
        None => Ok(configured.clone()),
        Some(arch) if configured.contains(&arch) => Ok(vec![arch]),
        Some(arch) => Err(request
            .caller
            .about(
                "--architecture",
                "architecture",
                format!(
                    "{} is not in build.architectures of {}",
                    arch.as_str(),
                    request.config_path
                ),
                "add it to the config, or pick one it lists",
            )
            .into()),
    }
}

/// The repository from the request or `GITHUB_REPOSITORY`, the token from the request or
/// `GITHUB_TOKEN`, the API from `GITHUB_API_URL`, and the base branch from the request,
/// `pull-request.base` or the event payload's default branch (never the checkout, which is a
/// detached HEAD on tag runs).
fn resolve_github(request: &Request, env: &RunnerEnv) -> Result<GitHubTarget> {
    let caller = request.caller;
    let repository = request
        .github
        .repository
        .clone()
        .or_else(|| env.github.github_repository.clone().filter(|r| !r.is_empty()))
        .ok_or_else(|| anyhow!("no repository to open the pull request in\n  help: pass --repository owner/name (GitHub Actions sets GITHUB_REPOSITORY), or `release --no-publish` to only regenerate the templates in the workspace"))?;
    let repo = RepoName::parse(&repository)
        .map_err(|e| anyhow!("{e}\n  help: pass --repository owner/name"))?;
    let token = request.github.token.clone().or_else(|| env.github.github_token.clone()).ok_or_else(|| {
        caller.about(
            "GITHUB_TOKEN",
            "token",
            "no GitHub token".into(),
            match caller {
                Caller::Cli => "set GITHUB_TOKEN (or run `release --no-publish` to only regenerate the templates); in a workflow, add `env: GITHUB_TOKEN: ${{ github.token }}` to the step and `permissions: contents: write, pull-requests: write` to the job",
                Caller::Action => "leave `token` at its default `${{ github.token }}` (with `permissions: contents: write, pull-requests: write`), or pass a token secret",
            },
        )
    })?;
    let api_url = env
        .github
        .github_api_url
        .clone()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| crate::github::DEFAULT_API_URL.into());
    let base = request
        .github
        .base
        .clone()
        .or_else(|| request.config.pull_request.base.clone())
        .or_else(|| env.default_branch());
    if let Some(base) = &base {
        plan::check_branch_name(base).map_err(|e| {
            caller.about(
                "--base",
                "base",
                format!("base branch: {e}"),
                "give the name of an existing branch",
            )
        })?;
    }
    let first_backoff = env
        .knobs
        .github_backoff_ms
        .map_or(Duration::from_secs(1), Duration::from_millis);
    Ok(GitHubTarget {
        api_url,
        token,
        repo,
        base,
        retry: RetryPolicy::with_first_backoff(first_backoff),
    })
}

/// The manifest a job writes for `architecture` when none is given.
fn default_manifest(architecture: Architecture, several: bool) -> PathBuf {
    if several {
        PathBuf::from(format!(
            "marketplace-release-manifest-{}.json",
            architecture.as_str()
        ))
    } else {
        PathBuf::from("marketplace-release-manifest.json")
    }
}

fn prepare_jobs(
    request: &Request,
    env: &RunnerEnv,
    version: &Version,
    architectures: &[Architecture],
    date: &str,
) -> Result<Vec<Job>> {
    if !request.stages.build && !request.stages.copy && !request.stages.verify {
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
        _ if !request.stages.build => Origin::Given,
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
    let verify = if request.stages.verify {
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
    if request.stages.build || request.image.is_some() {
        if request.stages.build && !request.rebuild && path.is_file() {
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

/// The manifest files a publish or submit job reads: the given files, and the `*.json` files
/// of given directories (one level down too, as `actions/download-artifact` lays them out);
/// without any, the default manifest of each architecture.
fn manifest_paths(request: &Request, architectures: &[Architecture]) -> Result<Vec<PathBuf>> {
    if request.manifests.is_empty() {
        let several = architectures.len() > 1;
        return Ok(architectures
            .iter()
            .map(|&a| request.workspace.join(default_manifest(a, several)))
            .collect());
    }
    let mut found = Vec::new();
    for entry in &request.manifests {
        let path = match request.caller {
            Caller::Action => files::in_workspace(
                &request.workspace,
                entry,
                "the `manifests` input",
                files::Expect::FileOrDir,
            )?,
            Caller::Cli => request.workspace.join(entry),
        };
        if path.is_dir() {
            let mut in_dir = json_files(&path, 2)?;
            if in_dir.is_empty() {
                return Err(request
                    .caller
                    .about(
                        "--manifest",
                        "manifests",
                        format!("{} holds no .json file", entry.display()),
                        "download the build jobs' manifest artifacts there first",
                    )
                    .into());
            }
            in_dir.sort();
            if request.caller == Caller::Action {
                for file in &in_dir {
                    files::in_workspace(
                        &request.workspace,
                        file,
                        "the `manifests` input",
                        files::Expect::File,
                    )?;
                }
            }
            found.extend(in_dir);
        } else if path.is_file() {
            found.push(path);
        } else {
            return Err(request.caller.about("--manifest", "manifests", format!("{} does not exist", entry.display()), "give the manifest files (or their directory) that the build jobs uploaded and this job downloaded").into());
        }
    }
    Ok(found)
}

fn json_files(dir: &Path, depth: u32) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| anyhow!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| anyhow!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() && depth > 1 {
            files.extend(json_files(&path, depth - 1)?);
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(files)
}

/// Reads the given manifests, ordered as build.architectures lists their architectures (not
/// by file name: the first architecture's AMI is the one the outputs and the PR lead with).
fn read_given_manifests(
    request: &Request,
    architectures: &[Architecture],
) -> Result<Vec<(String, Manifest)>> {
    let mut manifests = Vec::new();
    for path in manifest_paths(request, architectures)? {
        manifests.push((path.display().to_string(), Manifest::read(&path)?));
    }
    let order = |m: &Manifest| {
        request
            .config
            .build
            .architectures
            .iter()
            .position(|a| a.as_str() == m.architecture)
            .unwrap_or(usize::MAX)
    };
    manifests.sort_by_key(|(_, m)| order(m));
    Ok(manifests)
}

fn check_templates(release: &Release) -> Result<()> {
    if !(release.stages.build || release.stages.copy) || !release.stages.templates {
        return Ok(());
    }
    for target in &release.config.templates {
        let (_, bytes) =
            files::read_bytes_in_workspace(&release.workspace, &target.path, "templates[].path")?;
        Template::parse_bytes(&bytes)
            .map_err(|e| diagnostic::template_error(&target.path.display().to_string(), e))?;
    }
    Ok(())
}

fn check_branch(release: &Release) -> Result<()> {
    if !release.stages.publish {
        return Ok(());
    }
    plan::release_branch(&release.config, release.vars()).map_err(|e| {
        let d = Diagnostic::from(e);
        match release.caller {
            Caller::Action => Diagnostic::new(Kind::Input, d.message, d.help).for_input("branch"),
            Caller::Cli => d,
        }
    })?;
    Ok(())
}

fn check_manifest_paths(release: &Release) -> Result<()> {
    for job in &release.jobs {
        let path = &job.manifest_path;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let writable = tempfile::NamedTempFile::new_in(dir).and_then(|probe| {
            if path.exists() {
                std::fs::OpenOptions::new().append(true).open(path)?;
            }
            drop(probe);
            Ok(())
        });
        if let Err(e) = writable {
            return Err(file_error(
                format!("cannot write the manifest {}", path.display()),
                e,
                "give a manifest path in a directory this user may write (the manifest is written before the builder is launched, and after every step)",
            ));
        }
    }
    Ok(())
}

/// The submit stage's details, with a stand-in AMI until the real one exists, checked against
/// the Catalog API's shapes before anything is built; a leading `/` of the access endpoint's
/// path is stripped with a warning.
fn check_submission_shapes(release: &Release) -> Result<()> {
    let Some(submit_config) = release
        .config
        .submit
        .as_ref()
        .filter(|_| release.stages.submit)
    else {
        return Ok(());
    };
    let stripped = submit_config
        .access_endpoint
        .as_ref()
        .and_then(|e| e.relative_path.as_ref())
        .filter(|p| p.strips_a_slash());
    if let Some(path) = stripped {
        output::warning(
            "submit.access-endpoint.relative-path",
            &format!(
                "`{path}` is sent as `{}`: the Catalog API's AccessEndpointUrl.RelativePath must not start with `/`; write it without the `/`",
                path.catalog_value().unwrap_or_default()
            ),
        );
    }
    let (title, notes) = plan::version_texts(&release.config, &release.version, &release.date)
        .map_err(Diagnostic::from)?;
    submit::delivery_details(
        &release.config,
        &submit::Version {
            title: &title,
            release_notes: &notes,
            ami: "ami-00000000000000000",
        },
    )?;
    Ok(())
}

fn check_given_manifests(release: &Release) -> Result<()> {
    if release.given.is_empty() {
        return Ok(());
    }
    publish::amis_from_manifests(&release.config, &release.given, Some(&release.version))?;
    Ok(())
}

/// Records when publish ran in each manifest, and saves them where they were read or
/// written; a manifest that can't be saved keeps the record for the step summary only.
fn record_publish(manifests: &mut [(String, Manifest)], span: Span) {
    for (path, manifest) in manifests {
        manifest.timeline.publish = Some(span);
        if let Err(e) = manifest.write(Path::new(path)) {
            output::warning(
                "manifest not updated",
                &format!("{path}: publish's times were not saved: {e:#}"),
            );
        }
    }
}

/// Announces the available AMIs (a notice in GitHub Actions).
fn announce(manifest: &Manifest, path: &Path) {
    let amis: Vec<String> = manifest
        .regions
        .iter()
        .filter(|(_, image)| image.state == ImageState::Available)
        .map(|(region, image)| format!("{region}: {}", image.image_id))
        .collect();
    log::say(&format!(
        "copy: {} regions available → {}",
        amis.len(),
        path.display()
    ));
    output::notice(
        &format!(
            "AMIs of {} {} ({})",
            manifest.product, manifest.version, manifest.architecture
        ),
        &amis.join(", "),
    );
}

/// Edits one template's bytes; errors name the file, line and column.
pub fn edit_template(
    shown: &str,
    bytes: &[u8],
    request: &EditRequest,
) -> Result<crate::template::Edited> {
    Template::parse_bytes(bytes)
        .and_then(|t| t.edit(request))
        .map_err(|e| diagnostic::template_error(shown, e).into())
}

/// The PR body template: the config's replacement, else the bundled one.
pub fn read_body_template(config: &Config, workspace: &Path) -> Result<String> {
    match &config.pull_request.body_template {
        Some(relative) => {
            files::read_in_workspace(workspace, relative, "pull-request.body-template")
        }
        None => Ok(plan::render::DEFAULT_PR_BODY.to_owned()),
    }
}

/// Reads the build script and wraps it; fails before any AWS call (and in `plan`). Also the
/// script's SHA-256, which the image records.
pub(crate) fn read_user_data(
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

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Adds what is still in the account, and how to remove it, to a failure the run can't clean
/// up after itself (credentials that expired or are gone).
fn with_leftovers(error: StageError, manifest: &Manifest, path: &Path) -> StageError {
    if error.credential_problem().is_none() || manifest.cleanup.is_empty() {
        return error;
    }
    let commands: String = manifest
        .cleanup
        .iter()
        .map(|c| format!("\n    {c}"))
        .collect();
    StageError::Other(format!(
        "{error}\n  still in the account, made by this run (listed in {} under `cleanup`); a re-run resumes from them, or remove them with:{commands}",
        path.display()
    ))
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

/// A new run ID: recognisable in tags and on the console.
fn new_run_id() -> String {
    format!("{:012x}", fastrand::u64(..) & 0xffff_ffff_ffff)
}

/// Runs `work` on a runtime that turns the first SIGINT/SIGTERM into a cancellation (and a
/// second one into an immediate exit).
pub fn run_async<F, Fut, T>(work: F) -> Result<T>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let watcher = cancel.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else { return };
            // From here a signal cancels the run instead of ending the process.
            files::cooperative(true);
            let name = tokio::select! { _ = term.recv() => "SIGTERM", _ = int.recv() => "SIGINT" };
            log::say(&format!("received {name}: stopping, cleaning up the builder and writing the manifest (a second signal exits at once)"));
            watcher.cancel();
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            files::remove_temporary_files();
            std::process::exit(i32::from(EXIT_CANCELLED));
        });
        work(cancel).await
    });
    files::cooperative(false);
    result
}
