//! The verify stage's optional test stack: the regenerated template launched as a
//! CloudFormation stack under the user's service role, with the user's parameters.
//!
//! [`prepare`] checks everything that can be checked before anything exists (the template's
//! size, its parameters against `verify.stack.parameters`, the environment variables the
//! secrets come from, the output to check); [`run`] then creates the stack, waits for
//! `CREATE_COMPLETE` (with a timeout), reads its outputs, checks that an output's URL answers
//! when asked, and **always** deletes the stack and waits for `DELETE_COMPLETE`: on success,
//! on a failed create, on a timeout, on a failed URL check and on SIGINT/SIGTERM. A create that
//! fails is reported with the first failed resource and its reason; a delete that fails
//! (`DELETE_FAILED`) is asked once more, as the "Stack status codes" page advises ("Delete
//! the stack again or view the stack events",
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html>), and
//! then reported: the report's [`StackReport::failure`] fails the run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::aws::cloudformation::{
    CloudFormation, CreateRequest, StackInfo, StackLookup, TEMPLATE_BODY_MAX,
};
use crate::aws::ec2::SETTLE_LIMIT;
use crate::aws::error::AwsError;
use crate::config::verify_stack::{ResolvedParameter, StackConfig};
use crate::domain::stack::{
    first_failure, still_creating, FirstFailure, Operation, StackName, StackReport, StackStep,
};
use crate::output::progress;
use crate::stages::cancel::{sleep_or_cancel, unless_cancelled, CancellationToken};
use crate::stages::error::StageError;
use crate::stages::tag;
use crate::stages::wait::{self, PollSchedule};

/// The `marketplace-release:role` tag of a test stack (and, through CloudFormation's tag
/// propagation, of its resources).
pub const ROLE_TAG_VALUE: &str = "verify-stack";

/// How long one request of the URL check may take.
const URL_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A test stack, ready to create: everything checked, the secrets read.
#[derive(Debug, Clone)]
pub struct StackPlan {
    /// Its name (our prefix and the run ID).
    pub stack_name: StackName,
    /// Its region.
    pub region: String,
    /// The CloudFormation service role.
    pub role_arn: String,
    /// The template text (the regenerated one).
    pub template_body: String,
    /// The parameters.
    pub parameters: Vec<ResolvedParameter>,
    /// The capabilities acknowledged.
    pub capabilities: Vec<String>,
    /// The stack's tags: the run ID and the role; the caller may add more (product, version).
    pub tags: Vec<(String, String)>,
    /// How long the create, and then the delete, may take.
    pub timeout: Duration,
    /// The output whose URL must answer, and for how long it is tried.
    pub check_url: Option<(String, Duration)>,
}

/// Checks the test stack's config against the template text it will launch, and reads the
/// secrets from `env`; nothing is created. `template_body` is the regenerated template of
/// `config.template`; `run_id` names the stack.
pub fn prepare(
    config: &StackConfig,
    template_body: &str,
    run_id: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<StackPlan, StageError> {
    let path = config.template.display();
    if template_body.len() > TEMPLATE_BODY_MAX {
        return Err(StageError::Other(format!(
            "the test stack's template {path} has {} bytes, and CreateStack takes at most {TEMPLATE_BODY_MAX} bytes of template body\n  help: shorten the template (drop comments and descriptions, or move parts to nested stacks), or leave verify.stack out and test the stack by hand; nothing was created",
            template_body.len()
        )));
    }
    let template = crate::template::Template::parse(template_body).map_err(|e| {
        StageError::Other(format!(
            "the test stack's template {path} cannot be read: {e}"
        ))
    })?;
    let parameters = config
        .resolve(&template.stack_interface(), env)
        .map_err(|e| StageError::Other(e.to_string()))?;
    let stack_name = StackName::for_run(run_id).map_err(StageError::Other)?;
    Ok(StackPlan {
        stack_name,
        region: config.region.as_str().to_owned(),
        role_arn: config.role_arn.as_str().to_owned(),
        template_body: template_body.to_owned(),
        parameters,
        capabilities: config
            .capabilities
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        tags: vec![
            (tag::RUN_ID.to_owned(), run_id.to_owned()),
            (tag::ROLE.to_owned(), ROLE_TAG_VALUE.to_owned()),
        ],
        timeout: config.timeout_minutes.duration(),
        check_url: config.check_url_output.as_ref().map(|output| {
            (
                output.to_string(),
                config.check_url_timeout_minutes.duration(),
            )
        }),
    })
}

/// The verify stage's test stack: `template_body` (the regenerated template of
/// `config.template`) checked against the config and launched in its region under
/// `verify.stack.role-arn`, its outputs read and its URL checked, and the stack always deleted.
/// `secret` reads the environment variables that `{env: …}` parameters name. The report says
/// whether it passed ([`StackReport::failure`]).
pub async fn test(
    cfn: &CloudFormation,
    config: &StackConfig,
    template_body: &str,
    run_id: &str,
    secret: impl Fn(&str) -> Option<String>,
    schedule: PollSchedule,
    cancel: &CancellationToken,
) -> Result<StackReport, StageError> {
    let plan = prepare(config, template_body, run_id, secret)?;
    run(cfn, &plan, schedule, cancel).await
}

/// A create wait that did not end in `CREATE_COMPLETE`: failed, timed out, cancelled or
/// unwatchable.
struct NotComplete {
    /// What happened.
    detail: String,
    /// The last stack status seen, when any.
    last_status: Option<String>,
    /// The first failed resource, when the create failed.
    failure: Option<FirstFailure>,
}

impl NotComplete {
    fn new(detail: String, last_status: Option<String>) -> Self {
        Self {
            detail,
            last_status,
            failure: None,
        }
    }
}

/// Why a wait stopped for a signal.
const CANCELLED_WHILE_CREATING: &str =
    "cancelled by a signal while CloudFormation was creating the stack";

/// Runs the test stack; on return (also on [`StageError::Cancelled`]) the stack is deleted,
/// or the report says it is not. `Err` only when nothing was created (an AWS error on
/// CreateStack that is not about the template: access, credentials, network) or on a signal.
pub async fn run(
    cfn: &CloudFormation,
    plan: &StackPlan,
    schedule: PollSchedule,
    cancel: &CancellationToken,
) -> Result<StackReport, StageError> {
    let region = plan.region.as_str();
    let mut report = StackReport {
        stack_name: plan.stack_name.clone(),
        stack_id: None,
        region: region.to_owned(),
        steps: Vec::new(),
        outputs: Vec::new(),
        first_failure: None,
        deleted: true,
    };
    if cancel.is_cancelled() {
        return Err(StageError::Cancelled);
    }
    progress::open_group(&format!("Test stack {} in {region}", plan.stack_name));
    let started = Instant::now();
    // CreateStack itself is not interrupted: once sent, only its answer says what to delete.
    let stack_id = match cfn.create_stack(region, &create_request(plan)).await {
        Ok(id) => id,
        Err(error) => {
            progress::close_group();
            return refused(report, error, started);
        }
    };
    report.stack_id = Some(stack_id.clone());
    report.deleted = false;
    progress::line(&format!(
        "stack: {} requested ({stack_id}); waiting for CREATE_COMPLETE",
        plan.stack_name
    ));

    let created = wait_created(cfn, plan, &stack_id, &mut report, schedule, cancel).await;
    let last_status = match created {
        Ok(stack) => {
            report.outputs.clone_from(&stack.outputs);
            report.steps.push(outputs_step(&stack.outputs));
            if let Some((output, limit)) = &plan.check_url {
                let step = check_url(&stack.outputs, output, *limit, schedule, cancel).await;
                report.steps.push(step);
            }
            Some(stack.status)
        }
        Err(last_status) => last_status,
    };

    // Always: success, failure, timeout, signal. Not cancellable (a second signal exits).
    let deleted = delete(cfn, plan, &stack_id, last_status.as_deref(), schedule).await;
    report.deleted = deleted.passed;
    report.steps.push(deleted);
    progress::close_group();
    if cancel.is_cancelled() {
        return Err(match report.deleted {
            true => StageError::Cancelled,
            false => StageError::Other(format!(
                "cancelled by a signal, and {}",
                report
                    .failure()
                    .unwrap_or_else(|| "the test stack was not deleted".into())
            )),
        });
    }
    Ok(report)
}

/// The `outputs` step: the stack's outputs, listed.
fn outputs_step(outputs: &[(String, String)]) -> StackStep {
    StackStep {
        name: "outputs".into(),
        passed: true,
        seconds: 0.0,
        detail: if outputs.is_empty() {
            "no outputs".into()
        } else {
            outputs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    }
}

/// The CreateStack request of `plan`.
fn create_request(plan: &StackPlan) -> CreateRequest {
    // CreateStack's TimeoutInMinutes is whole minutes, at least 1.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "at most a day of minutes (config::Minutes)"
    )]
    let minutes = (plan.timeout.as_secs().div_ceil(60)).max(1) as i32;
    CreateRequest {
        name: plan.stack_name.to_string(),
        template_body: plan.template_body.clone(),
        role_arn: plan.role_arn.clone(),
        parameters: plan.parameters.clone(),
        capabilities: plan.capabilities.clone(),
        tags: plan.tags.clone(),
        timeout_minutes: minutes,
    }
}

/// CreateStack was refused. What CloudFormation says of the template or its parameters is the
/// verification's answer (a report whose `create` step failed); anything else (access,
/// credentials, the network) is the run's error. Nothing was created either way, except when
/// a stack of that name already exists.
fn refused(
    mut report: StackReport,
    error: AwsError,
    started: Instant,
) -> Result<StackReport, StageError> {
    let help = match error.code.as_str() {
        "ValidationError" => "CloudFormation refused the template or its parameters: fix them (the template, verify.stack.parameters)",
        "InsufficientCapabilitiesException" => "the template creates IAM resources or uses macros: list what it needs in verify.stack.capabilities (CAPABILITY_IAM, CAPABILITY_NAMED_IAM, CAPABILITY_AUTO_EXPAND)",
        "AlreadyExistsException" => "a stack of this run already exists (an earlier attempt that was not deleted): delete it, then run again",
        "LimitExceededException" => "the account's stack quota in this region is reached: delete stacks or ask for a higher quota",
        _ => return Err(error.into()),
    };
    report.deleted = error.code != "AlreadyExistsException";
    report.steps.push(StackStep {
        name: "create".into(),
        passed: false,
        seconds: started.elapsed().as_secs_f64(),
        detail: format!("{}\n  help: {help}", error.said()),
    });
    Ok(report)
}

/// Polls the stack until `CREATE_COMPLETE`, a failure, the timeout or a signal; pushes the
/// `create` step (with the first failed resource when the create failed).
async fn wait_created(
    cfn: &CloudFormation,
    plan: &StackPlan,
    stack_id: &str,
    report: &mut StackReport,
    schedule: PollSchedule,
    cancel: &CancellationToken,
) -> Result<StackInfo, Option<String>> {
    let started = Instant::now();
    let outcome = watch_create(cfn, plan, stack_id, schedule, cancel).await;
    let waited = wait::short(started.elapsed());
    let (passed, detail) = match &outcome {
        Ok(_) => (true, format!("CREATE_COMPLETE after {waited}")),
        Err(not) => (false, not.detail.clone()),
    };
    progress::line(&format!("stack: {} {detail}", plan.stack_name));
    report.steps.push(StackStep {
        name: "create".into(),
        passed,
        seconds: started.elapsed().as_secs_f64(),
        detail,
    });
    outcome.map_err(|not| {
        report.first_failure = not.failure;
        not.last_status
    })
}

/// The create wait's loop.
async fn watch_create(
    cfn: &CloudFormation,
    plan: &StackPlan,
    stack_id: &str,
    schedule: PollSchedule,
    cancel: &CancellationToken,
) -> Result<StackInfo, NotComplete> {
    let region = plan.region.as_str();
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut last_status: Option<String> = None;
    loop {
        let waited = started.elapsed();
        let lookup = match unless_cancelled(cfn.stack(region, stack_id), cancel).await {
            Ok(lookup) => lookup,
            Err(StageError::Cancelled) => {
                return Err(NotComplete::new(
                    CANCELLED_WHILE_CREATING.into(),
                    last_status,
                ))
            }
            Err(other) => {
                return Err(NotComplete::new(
                    format!("could not watch the stack: {other}"),
                    last_status,
                ))
            }
        };
        match lookup {
            StackLookup::Found(stack) if stack.status == "CREATE_COMPLETE" => return Ok(stack),
            StackLookup::Found(stack) if stack.status == "CREATE_IN_PROGRESS" => {
                last_status = Some(stack.status);
            }
            StackLookup::Found(stack) => {
                // CREATE_FAILED, then (OnFailure=DELETE) DELETE_IN_PROGRESS, DELETE_COMPLETE.
                let (detail, failure) = create_failed(cfn, region, stack_id, &stack).await;
                return Err(NotComplete {
                    detail,
                    last_status: Some(stack.status),
                    failure,
                });
            }
            StackLookup::Missing if waited < SETTLE_LIMIT => {
                tracing::debug!(stack_id, "the new stack is not visible yet; retrying");
            }
            StackLookup::Missing => {
                return Err(NotComplete::new(
                    format!(
                        "DescribeStacks did not find the stack CreateStack made after {}",
                        wait::short(waited)
                    ),
                    last_status,
                ))
            }
        }
        if waited >= plan.timeout {
            let detail = timed_out(cfn, region, stack_id, plan.timeout).await;
            return Err(NotComplete::new(detail, last_status));
        }
        if last_progress.elapsed() >= schedule.progress {
            progress::tick(&format!(
                "stack: {} CREATE_IN_PROGRESS for {}",
                plan.stack_name,
                wait::short(waited)
            ));
            last_progress = Instant::now();
        }
        if sleep_or_cancel(schedule.next_within(waited, plan.timeout), cancel)
            .await
            .is_err()
        {
            return Err(NotComplete::new(
                CANCELLED_WHILE_CREATING.into(),
                last_status,
            ));
        }
    }
}

/// What a failed create says: the stack's status and reason, and the first failed resource.
async fn create_failed(
    cfn: &CloudFormation,
    region: &str,
    stack_id: &str,
    stack: &StackInfo,
) -> (String, Option<FirstFailure>) {
    let failure = failed_resource(cfn, region, stack_id, Operation::Create).await;
    let mut detail = format!(
        "the stack is {}{}",
        stack.status,
        stack
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    if let Some(first) = &failure {
        detail.push_str(&format!("; first failed resource: {first}"));
    }
    (detail, failure)
}

/// What a create that ran out of time says: the resources still being created.
async fn timed_out(
    cfn: &CloudFormation,
    region: &str,
    stack_id: &str,
    timeout: Duration,
) -> String {
    let events = cfn.events(region, stack_id).await.unwrap_or_default();
    let creating = still_creating(&events);
    format!(
        "still CREATE_IN_PROGRESS after {} (verify.stack.timeout-minutes){}",
        wait::short(timeout),
        if creating.is_empty() {
            String::new()
        } else {
            format!("; still creating: {}", creating.join(", "))
        }
    )
}

/// The first failed resource of `operation`, from the stack's events (read by ID, so a stack
/// CloudFormation already deleted still has them).
async fn failed_resource(
    cfn: &CloudFormation,
    region: &str,
    stack_id: &str,
    operation: Operation,
) -> Option<FirstFailure> {
    match cfn.events(region, stack_id).await {
        Ok(events) => first_failure(&events, operation),
        Err(e) => Some(FirstFailure {
            logical_id: "?".into(),
            resource_type: "?".into(),
            reason: format!("the stack's events could not be read: {}", e.said()),
        }),
    }
}

/// Checks that the URL in output `output` answers HTTP 2xx or 3xx within `limit`.
async fn check_url(
    outputs: &[(String, String)],
    output: &str,
    limit: Duration,
    schedule: PollSchedule,
    cancel: &CancellationToken,
) -> StackStep {
    let started = Instant::now();
    let step = |passed: bool, detail: String| StackStep {
        name: "url".into(),
        passed,
        seconds: started.elapsed().as_secs_f64(),
        detail,
    };
    let Some((_, value)) = outputs.iter().find(|(k, _)| k == output) else {
        return step(false, format!("the stack has no output `{output}`"));
    };
    let url = match url::Url::parse(value.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => url,
        _ => {
            return step(
                false,
                format!("output `{output}` is `{value}`, not an http or https URL"),
            )
        }
    };
    progress::line(&format!("stack: checking that {url} answers"));
    let mut attempts = 0;
    loop {
        attempts += 1;
        let answer = tokio::select! {
            answer = get_status(url.as_str(), URL_REQUEST_TIMEOUT) => answer,
            () = cancel.cancelled() => return step(false, format!("cancelled by a signal while checking {url}")),
        };
        let waited = started.elapsed();
        let last = match answer {
            Ok(status) if (200..400).contains(&status) => {
                return step(
                    true,
                    format!(
                        "GET {url} answered HTTP {status} after {} ({attempts} attempt(s))",
                        wait::short(waited)
                    ),
                )
            }
            Ok(status) => format!("HTTP {status}"),
            Err(e) => e,
        };
        if waited >= limit {
            return step(
                false,
                format!(
                    "GET {url} did not answer HTTP 2xx or 3xx within {} ({attempts} attempt(s)); last answer: {last}",
                    wait::short(limit)
                ),
            );
        }
        tracing::debug!(%url, last, "the URL does not answer yet");
        if sleep_or_cancel(schedule.next_within(waited, limit), cancel)
            .await
            .is_err()
        {
            return step(false, format!("cancelled by a signal while checking {url}"));
        }
    }
}

/// One GET of `url`: the HTTP status, or why there is none. Redirects are not followed (a
/// 3xx is an answer).
async fn get_status(url: &str, timeout: Duration) -> Result<u16, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| format!("cannot set up HTTPS: {e} (the machine needs CA certificates)"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<&'static [u8]>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector);
    let request = http::Request::get(uri)
        .header(
            http::header::USER_AGENT,
            "marketplace-release (verify stack)",
        )
        .body(http_body_util::Empty::new())
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(timeout, client.request(request)).await {
        Ok(Ok(response)) => Ok(response.status().as_u16()),
        Ok(Err(e)) => Err(crate::aws::error::cause(&e)),
        Err(_) => Err(format!("no answer within {}", wait::short(timeout))),
    }
}

/// After a DELETE_FAILED: asks once more (the first time), naming the resource that failed;
/// `Err` with what the report says when it gives up or DeleteStack is refused.
async fn delete_again(
    cfn: &CloudFormation,
    plan: &StackPlan,
    stack_id: &str,
    asked: u8,
) -> Result<(), String> {
    let region = plan.region.as_str();
    let what = failed_resource(cfn, region, stack_id, Operation::Delete)
        .await
        .map(|f| format!("; first resource that failed to delete: {f}"))
        .unwrap_or_default();
    let again = asked < 2;
    progress::line(&format!(
        "stack: {} DELETE_FAILED{what}{}",
        plan.stack_name,
        if again { "; asking once more" } else { "" }
    ));
    if !again {
        return Err(format!("DELETE_FAILED twice{what}"));
    }
    cfn.delete_stack(region, stack_id).await.map_err(|e| {
        format!(
            "DELETE_FAILED{what}; DeleteStack was then refused: {}",
            e.said()
        )
    })
}

/// Deletes the stack (unless CloudFormation already did) and waits for `DELETE_COMPLETE`;
/// after `DELETE_FAILED` asks once more, then reports the first resource that failed to
/// delete. Not cancellable.
async fn delete(
    cfn: &CloudFormation,
    plan: &StackPlan,
    stack_id: &str,
    last_status: Option<&str>,
    schedule: PollSchedule,
) -> StackStep {
    let region = plan.region.as_str();
    let started = Instant::now();
    let step = |passed: bool, detail: String| StackStep {
        name: "delete".into(),
        passed,
        seconds: started.elapsed().as_secs_f64(),
        detail,
    };
    // After a failed create CloudFormation deletes the stack itself (OnFailure=DELETE).
    let mut asked = u8::from(last_status != Some("DELETE_COMPLETE"));
    if asked > 0 {
        if let Err(e) = cfn.delete_stack(region, stack_id).await {
            return step(false, format!("DeleteStack was refused: {}", e.said()));
        }
    }
    progress::line(&format!("stack: deleting {}", plan.stack_name));
    let mut last_progress = Instant::now();
    loop {
        let waited = started.elapsed();
        match cfn.stack(region, stack_id).await {
            Ok(StackLookup::Missing) => {
                return step(true, format!("deleted after {}", wait::short(waited)))
            }
            Ok(StackLookup::Found(stack)) if stack.status == "DELETE_COMPLETE" => {
                progress::line(&format!("stack: {} deleted", plan.stack_name));
                return step(
                    true,
                    format!("DELETE_COMPLETE after {}", wait::short(waited)),
                );
            }
            Ok(StackLookup::Found(stack)) if stack.status == "DELETE_FAILED" => {
                if let Err(detail) = delete_again(cfn, plan, stack_id, asked).await {
                    return step(false, detail);
                }
                asked += 1;
            }
            Ok(StackLookup::Found(stack)) => {
                if last_progress.elapsed() >= schedule.progress {
                    progress::tick(&format!(
                        "stack: {} {} for {}",
                        plan.stack_name,
                        stack.status,
                        wait::short(waited)
                    ));
                    last_progress = Instant::now();
                }
            }
            Err(e) => return step(false, format!("could not watch the deletion: {}", e.said())),
        }
        if waited >= plan.timeout {
            return step(
                false,
                format!(
                    "not deleted within {} (verify.stack.timeout-minutes)",
                    wait::short(plan.timeout)
                ),
            );
        }
        tokio::time::sleep(schedule.next_within(waited, plan.timeout)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "Parameters:\n  Port:\n    Type: Number\nResources:\n  G:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: t\nOutputs:\n  Url:\n    Value: !Sub 'http://localhost:${Port}/'\n";

    /// The config of the keys in `extra` laid over a minimal one.
    fn config(extra: serde_json::Value) -> StackConfig {
        let mut base = serde_json::json!({
            "region": "eu-west-1",
            "role-arn": "arn:aws:iam::123456789012:role/verify",
            "template": "cfn/t.yaml",
            "parameters": {"Port": 8080},
        });
        for (key, value) in extra.as_object().unwrap() {
            base[key] = value.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn a_plan_names_tags_and_times_the_stack() {
        let plan = prepare(
            &config(serde_json::json!({"check-url-output": "Url", "timeout-minutes": 2.5})),
            TEMPLATE,
            "0a1b2c3d4e5f",
            |_| None,
        )
        .unwrap();
        assert_eq!(
            plan.stack_name.as_str(),
            "marketplace-release-verify-0a1b2c3d4e5f"
        );
        assert_eq!(plan.region, "eu-west-1");
        assert_eq!(
            plan.tags,
            [
                (
                    "marketplace-release:run-id".to_owned(),
                    "0a1b2c3d4e5f".to_owned()
                ),
                (
                    "marketplace-release:role".to_owned(),
                    "verify-stack".to_owned()
                )
            ]
        );
        assert_eq!(
            plan.check_url,
            Some(("Url".into(), Duration::from_secs(300)))
        );
        assert_eq!(create_request(&plan).timeout_minutes, 3);
    }

    #[test]
    fn a_template_too_large_for_create_stack_is_refused_before_anything_exists() {
        let big = format!("{TEMPLATE}# {}\n", "x".repeat(TEMPLATE_BODY_MAX));
        let e = prepare(&config(serde_json::json!({})), &big, "abc", |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 51200 bytes of template body"), "{e}");
        assert!(e.contains("nothing was created"), "{e}");
        let e = prepare(
            &config(serde_json::json!({"parameters": {"Nope": 1}})),
            TEMPLATE,
            "abc",
            |_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("declares no parameter `Nope`"), "{e}");
        let e = prepare(&config(serde_json::json!({})), TEMPLATE, "a_b", |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot name a test stack"), "{e}");
    }
}
