//! The verify stage's test stack, as values: its name ([`StackName`], always with our prefix,
//! which is what the IAM policy allows), the events CloudFormation reports ([`StackEvent`]) and
//! the first failure among them ([`first_failure`]), and the report of the run
//! ([`StackReport`]): each step, the stack's outputs, the first failed resource and whether the
//! stack was deleted. Pure: no AWS, no I/O.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The name of a test stack: [`StackName::PREFIX`] and the run ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StackName(String);

impl StackName {
    /// Every test stack's name starts with this; `iam/policy.json` allows the CloudFormation
    /// calls only on stacks named so.
    pub const PREFIX: &'static str = "marketplace-release-verify-";

    /// The stack of run `run_id`. A stack name holds only letters, digits and hyphens, starts
    /// with a letter and has at most 128 characters (CreateStack API reference, `StackName`,
    /// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html>).
    pub fn for_run(run_id: &str) -> Result<Self, String> {
        let name = format!("{}{run_id}", Self::PREFIX);
        let valid = !run_id.is_empty()
            && name.len() <= 128
            && run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if valid {
            Ok(Self(name))
        } else {
            Err(format!("run ID `{run_id}` cannot name a test stack: a stack name holds only letters, digits and hyphens, at most 128 characters"))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StackName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One stack event, as DescribeStackEvents reports it (StackEvent data type,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackEvent.html>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackEvent {
    /// The resource's logical ID in the template (the stack's own name for stack events).
    pub logical_id: String,
    /// `AWS::EC2::Instance`, …; `AWS::CloudFormation::Stack` for the stack itself.
    pub resource_type: String,
    /// `CREATE_IN_PROGRESS`, `CREATE_FAILED`, `DELETE_FAILED`, ….
    pub status: String,
    /// Why, when CloudFormation says.
    pub reason: Option<String>,
}

impl StackEvent {
    /// Whether the event is the stack's own rather than one of its resources'.
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }
}

/// The operation whose failure is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// CreateStack: `CREATE_FAILED` events.
    Create,
    /// DeleteStack: `DELETE_FAILED` events.
    Delete,
}

impl Operation {
    fn failed(self) -> &'static str {
        match self {
            Operation::Create => "CREATE_FAILED",
            Operation::Delete => "DELETE_FAILED",
        }
    }
}

/// The resource that failed first, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstFailure {
    /// Its logical ID in the template.
    pub logical_id: String,
    /// Its type.
    pub resource_type: String,
    /// CloudFormation's reason.
    pub reason: String,
}

impl std::fmt::Display for FirstFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.logical_id, self.resource_type, self.reason
        )
    }
}

/// The reason CloudFormation gives the resources it stops creating once another has failed
/// ("Understand CloudFormation stack creation events",
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-resource-configuration-complete.html>):
/// a consequence, not the cause.
pub const CANCELLED: &str = "Resource creation cancelled";

/// The first failure of `operation` among `events`, which are newest first as
/// DescribeStackEvents returns them ("Returns all stack related events for a specified stack
/// in reverse chronological order", DescribeStackEvents API reference,
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackEvents.html>).
///
/// The oldest failed resource is the cause; resources cancelled because of it, and the stack's
/// own failure ("The following resource(s) failed to create: …"), are consequences and are
/// chosen only when no resource failed for a reason of its own (a stack that timed out, say).
pub fn first_failure(events: &[StackEvent], operation: Operation) -> Option<FirstFailure> {
    let failed = || {
        events
            .iter()
            .rev()
            .filter(move |e| e.status == operation.failed())
    };
    let cancelled = |e: &StackEvent| e.reason.as_deref().is_some_and(|r| r.contains(CANCELLED));
    failed()
        .find(|e| !e.is_stack() && !cancelled(e))
        .or_else(|| failed().find(|e| e.is_stack()))
        .or_else(|| failed().next())
        .map(|e| FirstFailure {
            logical_id: e.logical_id.clone(),
            resource_type: e.resource_type.clone(),
            reason: e
                .reason
                .clone()
                .unwrap_or_else(|| "CloudFormation gave no reason".into()),
        })
}

/// The resources whose newest event is `CREATE_IN_PROGRESS` (still being created), oldest
/// first, as `LogicalId (Type)`: what a stack that ran out of time was waiting for.
pub fn still_creating(events: &[StackEvent]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut creating: Vec<String> = events
        .iter()
        .filter(|e| !e.is_stack() && seen.insert(e.logical_id.as_str()))
        .filter(|e| e.status == "CREATE_IN_PROGRESS")
        .map(|e| format!("{} ({})", e.logical_id, e.resource_type))
        .collect();
    creating.reverse();
    creating
}

/// One step of the test stack's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackStep {
    /// `create`, `outputs`, `url`, `delete`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// How long it took.
    pub seconds: f64,
    /// What happened, in one line or a few.
    pub detail: String,
}

/// What the test stack's run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackReport {
    /// The stack's name.
    pub stack_name: StackName,
    /// Its unique ID (an ARN), once CreateStack returned one.
    pub stack_id: Option<String>,
    /// Its region.
    pub region: String,
    /// The steps, in order.
    pub steps: Vec<StackStep>,
    /// The stack's outputs, in DescribeStacks order.
    pub outputs: Vec<(String, String)>,
    /// The resource that failed first, when the create failed.
    pub first_failure: Option<FirstFailure>,
    /// Whether the stack is gone (`DELETE_COMPLETE`, or never created).
    pub deleted: bool,
}

impl StackReport {
    /// Whether every step passed and the stack is gone.
    pub fn passed(&self) -> bool {
        self.deleted && !self.steps.is_empty() && self.steps.iter().all(|s| s.passed)
    }

    /// The first step that failed.
    pub fn failed_step(&self) -> Option<&StackStep> {
        self.steps.iter().find(|s| !s.passed)
    }

    /// Why the test stack failed, with the next step, for the run's error; `None` when it
    /// passed.
    pub fn failure(&self) -> Option<String> {
        if self.passed() {
            return None;
        }
        let mut text = format!("the test stack {} in {}", self.stack_name, self.region);
        match self.failed_step() {
            Some(step) => {
                let _ = write!(text, " failed at `{}`: {}", step.name, step.detail);
            }
            None => text.push_str(" was not deleted"),
        }
        if !self.deleted {
            let id = self.stack_id.as_deref().unwrap_or(self.stack_name.as_str());
            let _ = write!(
                text,
                "\n  the stack still exists: look at its events and delete it by hand: aws cloudformation describe-stack-events --region {region} --stack-name {id}; aws cloudformation delete-stack --region {region} --stack-name {id}",
                region = self.region,
            );
        }
        let help = match self.failed_step().map(|s| s.name.as_str()) {
            Some("create") => "fix the template or the parameters (verify.stack.parameters) so that the stack creates; the first failed resource above is the cause",
            Some("url") => "check that the product answers on the output's URL once the stack is created (security group, port, start-up time), or raise verify.stack.check-url-timeout-minutes",
            Some("delete") => "the service role (verify.stack.role-arn) must be able to delete every resource the template creates",
            _ => "see the steps above",
        };
        let _ = write!(text, "\n  help: {help}");
        Some(text)
    }

    /// The report as Markdown: one table row per step, then the outputs and the first failure.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "Test stack `{}` in {}\n\n| step | result | time | detail |\n|---|---|---|---|\n",
            self.stack_name, self.region
        );
        for step in &self.steps {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0}s | {} |",
                step.name,
                if step.passed { "passed" } else { "failed" },
                step.seconds,
                html_text(&step.detail)
                    .replace('|', "\\|")
                    .replace('\n', "<br>")
            );
        }
        if !self.outputs.is_empty() {
            out.push_str("\nOutputs:\n");
            for (key, value) in &self.outputs {
                let _ = writeln!(out, "- `{key}`: `{value}`");
            }
        }
        if let Some(failure) = &self.first_failure {
            let _ = writeln!(
                out,
                "\nFirst failed resource: {}",
                html_text(&failure.to_string())
            );
        }
        out
    }
}

/// CloudFormation's words (a resource's status reason) shown as text: `<`, `>` and `&` as
/// entities, so that nothing in them is read as HTML in the PR body or the summary.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, kind: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            logical_id: id.into(),
            resource_type: kind.into(),
            status: status.into(),
            reason: reason.map(str::to_owned),
        }
    }

    const STACK: &str = "AWS::CloudFormation::Stack";

    #[test]
    fn stack_names_carry_the_prefix_and_follow_cloudformation_rules() {
        assert_eq!(
            StackName::for_run("0a1b2c3d4e5f").unwrap().as_str(),
            "marketplace-release-verify-0a1b2c3d4e5f"
        );
        for bad in ["", "a_b", "a b", &"x".repeat(102)] {
            assert!(StackName::for_run(bad).is_err(), "{bad}");
        }
        assert!(StackName::for_run(&"x".repeat(101)).is_ok());
    }

    #[test]
    fn the_first_failure_is_the_oldest_failed_resource_not_a_cancelled_one() {
        // Newest first, as DescribeStackEvents answers.
        let events = vec![
            event("s", STACK, "DELETE_COMPLETE", None),
            event("s", STACK, "DELETE_IN_PROGRESS", None),
            event(
                "s",
                STACK,
                "CREATE_FAILED",
                Some("The following resource(s) failed to create: [Instance]. "),
            ),
            event(
                "Bucket",
                "AWS::S3::Bucket",
                "CREATE_FAILED",
                Some(CANCELLED),
            ),
            event(
                "Later",
                "AWS::EC2::Volume",
                "CREATE_FAILED",
                Some("a later failure"),
            ),
            event(
                "Instance",
                "AWS::EC2::Instance",
                "CREATE_FAILED",
                Some("The image id '[ami-1]' does not exist"),
            ),
            event("Instance", "AWS::EC2::Instance", "CREATE_IN_PROGRESS", None),
            event("s", STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
        ];
        let first = first_failure(&events, Operation::Create).unwrap();
        assert_eq!(first.logical_id, "Instance");
        assert_eq!(first.resource_type, "AWS::EC2::Instance");
        assert_eq!(first.reason, "The image id '[ami-1]' does not exist");
        assert_eq!(first_failure(&events, Operation::Delete), None);
    }

    #[test]
    fn without_a_failed_resource_the_stack_s_own_failure_counts() {
        let events = vec![
            event(
                "s",
                STACK,
                "CREATE_FAILED",
                Some("Stack creation time exceeded the specified timeout."),
            ),
            event(
                "Wait",
                "AWS::CloudFormation::WaitCondition",
                "CREATE_FAILED",
                Some(CANCELLED),
            ),
        ];
        let first = first_failure(&events, Operation::Create).unwrap();
        assert_eq!(first.resource_type, STACK);
        assert!(first.reason.contains("timeout"));
        let only_cancelled = &events[1..];
        assert_eq!(
            first_failure(only_cancelled, Operation::Create)
                .unwrap()
                .logical_id,
            "Wait"
        );
        assert_eq!(first_failure(&[], Operation::Create), None);
    }

    #[test]
    fn a_delete_failure_is_found_too() {
        let events = vec![
            event(
                "s",
                STACK,
                "DELETE_FAILED",
                Some("The following resource(s) failed to delete: [Bucket]. "),
            ),
            event(
                "Bucket",
                "AWS::S3::Bucket",
                "DELETE_FAILED",
                Some("The bucket you tried to delete is not empty"),
            ),
        ];
        let first = first_failure(&events, Operation::Delete).unwrap();
        assert_eq!(first.logical_id, "Bucket");
    }

    #[test]
    fn resources_still_creating_are_those_whose_newest_event_says_so() {
        let events = vec![
            event(
                "Wait",
                "AWS::CloudFormation::WaitCondition",
                "CREATE_IN_PROGRESS",
                None,
            ),
            event("Group", "AWS::EC2::SecurityGroup", "CREATE_COMPLETE", None),
            event("Instance", "AWS::EC2::Instance", "CREATE_IN_PROGRESS", None),
            event(
                "Group",
                "AWS::EC2::SecurityGroup",
                "CREATE_IN_PROGRESS",
                None,
            ),
            event("s", STACK, "CREATE_IN_PROGRESS", Some("User Initiated")),
        ];
        assert_eq!(
            still_creating(&events),
            [
                "Instance (AWS::EC2::Instance)",
                "Wait (AWS::CloudFormation::WaitCondition)"
            ]
        );
    }

    fn report(steps: Vec<StackStep>, deleted: bool) -> StackReport {
        StackReport {
            stack_name: StackName::for_run("abc").unwrap(),
            stack_id: Some("arn:aws:cloudformation:us-east-1:123456789012:stack/marketplace-release-verify-abc/1".into()),
            region: "us-east-1".into(),
            steps,
            outputs: vec![("Url".into(), "http://example.com/".into())],
            first_failure: None,
            deleted,
        }
    }

    fn step(name: &str, passed: bool) -> StackStep {
        StackStep {
            name: name.into(),
            passed,
            seconds: 1.0,
            detail: format!("{name} detail"),
        }
    }

    #[test]
    fn a_report_passes_only_when_every_step_passed_and_the_stack_is_gone() {
        let ok = report(vec![step("create", true), step("delete", true)], true);
        assert!(ok.passed());
        assert_eq!(ok.failure(), None);
        let bad = report(vec![step("create", false), step("delete", true)], true);
        assert!(!bad.passed());
        let text = bad.failure().unwrap();
        assert!(text.contains("failed at `create`: create detail"), "{text}");
        assert!(text.contains("help: fix the template"), "{text}");
        let left = report(vec![step("create", true), step("delete", false)], false);
        let text = left.failure().unwrap();
        assert!(text.contains("aws cloudformation delete-stack --region us-east-1 --stack-name arn:aws:cloudformation"), "{text}");
        assert!(!report(Vec::new(), true).passed());
    }

    #[test]
    fn markdown_has_a_row_per_step() {
        let text = report(vec![step("create", true), step("url", false)], true).markdown();
        assert!(
            text.contains("| create | passed | 1s | create detail |"),
            "{text}"
        );
        assert!(text.contains("| url | failed |"), "{text}");
        assert!(text.contains("- `Url`: `http://example.com/`"), "{text}");
    }
}
