//! The steps around the jobs: the seller and listing checks before them; after them the test
//! stack, the ingestion checks, the templates, the pull request and the submission. Each is a
//! call into its stage with explicit inputs; what it finds goes into the record's facts.

use std::time::Duration;

use anyhow::Result;

use super::context::Aws;
use super::prepared::Release;
use super::record::{Record, StepError};
use crate::domain::manifest::Manifest;
use crate::domain::timeline::Span;
use crate::github::GitHub;
use crate::output::{self, log, progress};
use crate::plan;
use crate::stages::preflight::{ingestion, listing, seller};
use crate::stages::publish::{self, PublishInputs, Published};
use crate::stages::templates::{self, Sources};
use crate::stages::{stack, submit, CancellationToken, StageError};

impl Release {
    /// The seller account and the ingestion role.
    pub(super) async fn seller(&self, aws: &Aws, record: &mut Record) -> Result<()> {
        let config = &self.resolved.config;
        let account = seller::check(
            &aws.sts().await,
            &aws.iam().await,
            config.product.seller_account.as_deref(),
            config.load_form.access_role_arn.as_str(),
        )
        .await?;
        record.facts.seller = Some(account);
        Ok(())
    }

    /// The live listing, when `product.id` is set.
    pub(super) async fn listing(&self, aws: &Aws, record: &mut Record) -> Result<()> {
        let resolved = &self.resolved;
        let config = &resolved.config;
        let Some(product) = &config.product.id else {
            return Ok(());
        };
        let (title, _) = plan::version_texts(config, &resolved.version, &resolved.date)
            .map_err(crate::diagnostic::Diagnostic::from)?;
        let regions: Vec<String> = plan::planned_regions(config)
            .iter()
            .map(ToString::to_string)
            .collect();
        let release = listing::Release {
            product,
            title: &title,
            regions: &regions,
            regions_listed: !config.regions.listed().is_empty(),
            instance_type: config.load_form.recommended_instance_type.as_str(),
        };
        record.facts.listing = listing::check(&aws.catalog().await, &release).await?;
        Ok(())
    }

    /// The verify stage's test stack, once the copies exist: the regenerated template launched
    /// in its region, checked and always deleted. Its report goes to the facts (the PR body and
    /// the summary); a failure stops the release before the PR.
    pub(super) async fn test_stack(
        &self,
        aws: &Aws,
        record: &mut Record,
        cancel: &CancellationToken,
    ) -> Result<(), StepError> {
        let resolved = &self.resolved;
        let config = &resolved.config;
        let Some(stack_config) = config.verify.as_ref().and_then(|v| v.stack.as_ref()) else {
            return Ok(());
        };
        let Some(index) = config
            .templates
            .iter()
            .position(|t| t.path == stack_config.template)
        else {
            return Ok(());
        };
        let (_, edited, _) = templates::regenerated(&self.sources(&record.manifests), index)?;
        let Some(run_id) = record.manifests.first().map(|(_, m)| m.run_id.clone()) else {
            return Ok(());
        };
        let env = &resolved.env;
        let report = stack::test(
            &aws.cloudformation().await,
            stack_config,
            &edited.text,
            &run_id,
            |name| env.secret(name),
            env.poll_schedule(),
            cancel,
        )
        .await?;
        let failure = report.failure();
        match &failure {
            None => log::say(&format!(
                "verify: the test stack {} was created, checked and deleted",
                report.stack_name
            )),
            Some(_) => log::say("verify: the test stack failed, so no pull request was opened; the summary shows why"),
        }
        record.facts.stack = Some(report);
        match failure {
            None => Ok(()),
            Some(why) => Err(StepError::Stage(StageError::Other(why))),
        }
    }

    /// AWS Marketplace's ingestion rules over the release's images; `before_submit` says
    /// which step it holds back (the PR, or the Catalog request).
    pub(super) async fn ingestion(
        &self,
        aws: &Aws,
        record: &mut Record,
        before_submit: bool,
    ) -> Result<()> {
        let declared: Vec<&str> = self
            .resolved
            .config
            .build
            .architectures
            .iter()
            .map(|a| a.as_str())
            .collect();
        let ec2 = aws.ec2().await;
        record.facts.ingestion =
            ingestion::check_manifests(&ec2, &declared, &record.manifests, before_submit).await?;
        Ok(())
    }

    /// The templates regenerated in the workspace.
    pub(super) fn templates(&self, record: &Record) -> Result<()> {
        templates::regenerate(&self.sources(&record.shown_manifests()))
    }

    fn sources<'a>(&'a self, manifests: &'a [(String, Manifest)]) -> Sources<'a> {
        Sources {
            config: &self.resolved.config,
            workspace: &self.resolved.workspace,
            version: &self.resolved.version,
            manifests,
        }
    }

    /// The release pull request (a draft after a deferred failed verification), then when it
    /// ran is recorded in the manifests (for the timeline).
    pub(super) async fn publish(&self, record: &mut Record) -> Result<()> {
        let span = Span::starting_now();
        let shown = record.shown_manifests();
        let published = self
            .open_pull_request(&shown, record, record.deferred.is_some())
            .await?;
        record_publish(&mut record.manifests, span.ended_now());
        record.published = Some(published);
        Ok(())
    }

    async fn open_pull_request(
        &self,
        manifests: &[(String, Manifest)],
        record: &Record,
        draft: bool,
    ) -> Result<Published> {
        let resolved = &self.resolved;
        let target = resolved.github.as_ref().expect("resolved when publishing");
        let (version, amis) = plan::manifests::amis_from_manifests(
            &resolved.config,
            manifests,
            Some(&resolved.version),
        )?;
        log::group("publish");
        let github = GitHub::new(
            &target.api_url,
            &target.token,
            target.repo.clone(),
            target.retry.clone(),
        );
        let run_url = resolved.env.run_url();
        let result = match github {
            Ok(github) => {
                let inputs = PublishInputs {
                    config: &resolved.config,
                    version: &version,
                    amis: &amis,
                    base: target.base.clone(),
                    body_template: &resolved.body_template,
                    run_url: run_url.as_deref(),
                    date: &resolved.date,
                    manifests,
                    facts: &record.facts,
                    draft,
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

    /// The version through the Catalog API: what was checked while preparing (a submit job),
    /// else the submission made from this run's manifests.
    pub(super) async fn submit(
        &self,
        aws: &Aws,
        record: &mut Record,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let resolved = &self.resolved;
        let submission = match &self.submission {
            Some(submission) => submission.clone(),
            None => plan::submission::prepare(
                &resolved.config,
                &record.manifests,
                &resolved.version,
                &resolved.date,
            )?,
        };
        log::group("submit");
        let catalog = aws.catalog().await;
        let minutes = resolved
            .config
            .submit
            .as_ref()
            .map_or(120.0, |s| s.timeout_minutes.get());
        let schedule = resolved.env.poll_schedule();
        let result = submit::submit(
            &catalog,
            &submission,
            resolved.intent,
            resolved.wait,
            Duration::from_secs_f64(minutes * 60.0),
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
            return Ok(());
        };
        output::report(&submit::describe(&state));
        output::notice(
            &format!("Marketplace change set ({})", state.status),
            &submit::portal_url(&state.id),
        );
        record.change_set = Some(state);
        Ok(())
    }
}

/// Records when publish ran in each manifest, and saves them where they were read or
/// written; a manifest that can't be saved keeps the record for the step summary only.
fn record_publish(manifests: &mut [(String, Manifest)], span: Span) {
    for (path, manifest) in manifests {
        manifest.timeline.publish = Some(span);
        if let Err(e) = manifest.write(std::path::Path::new(path)) {
            progress::warning(
                "manifest not updated",
                &format!("{path}: publish's times were not saved: {e:#}"),
            );
        }
    }
}
