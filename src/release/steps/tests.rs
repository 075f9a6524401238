//! The schedule's snapshots, for the configurations the end-to-end tests run, and its
//! invariants over the whole space of stage sets × image sources × `verify.on-failure` ×
//! jobs × the optional steps.

use super::*;
use Stage::*;

fn job(architecture: Architecture, source: Source, verifies: bool) -> JobShape {
    JobShape {
        architecture,
        source,
        verifies,
    }
}

/// A shape as `Release::prepare` makes it: jobs only when build, verify or copy runs; an
/// image made only when build runs.
fn shape(stages: &[Stage], source: Source, architectures: &[Architecture]) -> Shape {
    let stages = Stages::of(stages);
    let jobs = if stages.has_jobs() {
        let source = if stages.contains(Build) {
            source
        } else {
            Source::Given
        };
        architectures
            .iter()
            .map(|&a| job(a, source, stages.contains(Verify)))
            .collect()
    } else {
        Vec::new()
    };
    Shape {
        stages,
        jobs,
        listing: false,
        verify_copies: false,
        test_stack: false,
        draft_on_failure: false,
    }
}

fn snapshot(shape: &Shape) -> String {
    describe(&steps(shape))
}

const X86: Architecture = Architecture::X86_64;
const ARM: Architecture = Architecture::Arm64;

#[test]
fn a_whole_cli_release_with_verify_a_test_stack_and_a_listing() {
    let mut release = shape(
        &[Build, Verify, Copy, Templates, Publish],
        Source::Build,
        &[X86],
    );
    release.listing = true;
    release.verify_copies = true;
    release.test_stack = true;
    assert_eq!(
        snapshot(&release),
        " 1. seller: the account and the ingestion role
 2. listing: the live listing
 3. x86_64: account checks
 4. x86_64: build the image
 5. x86_64: verify it in the build region
 6. x86_64: copy and share it
 7. x86_64: verify the copies in verify.regions
 8. test stack: launch, check, delete
 9. ingestion checks on the built images
10. templates: regenerate in the workspace
11. publish: the release pull request
"
    );
}

#[test]
fn the_action_with_all_stages_and_two_architectures() {
    let release = shape(&[Build, Verify, Copy, Publish], Source::Build, &[X86, ARM]);
    assert_eq!(
        snapshot(&release),
        " 1. seller: the account and the ingestion role
 2. x86_64: account checks
 3. x86_64: build the image
 4. x86_64: verify it in the build region
 5. x86_64: copy and share it
 6. arm64: account checks
 7. arm64: build the image
 8. arm64: verify it in the build region
 9. arm64: copy and share it
10. ingestion checks on the built images
11. publish: the release pull request
"
    );
}

#[test]
fn jobs_of_one_stage_each() {
    assert_eq!(
        snapshot(&shape(&[Build], Source::Build, &[X86])),
        " 1. seller: the account and the ingestion role\n 2. x86_64: account checks\n 3. x86_64: build the image\n"
    );
    assert_eq!(
        snapshot(&shape(&[Build, Copy], Source::Import, &[ARM])),
        " 1. seller: the account and the ingestion role\n 2. arm64: account checks\n 3. arm64: import the existing AMI\n 4. arm64: copy and share it\n"
    );
    assert_eq!(
        snapshot(&shape(&[Copy], Source::Build, &[X86])),
        " 1. seller: the account and the ingestion role\n 2. x86_64: account checks\n 3. x86_64: copy and share it\n"
    );
    let mut verify = shape(&[Verify], Source::Build, &[X86]);
    verify.verify_copies = true;
    assert_eq!(
        snapshot(&verify),
        " 1. seller: the account and the ingestion role\n 2. x86_64: account checks\n 3. x86_64: verify it in the build region\n 4. x86_64: verify the copies in verify.regions\n"
    );
}

#[test]
fn jobs_after_the_merge_read_the_manifests() {
    assert_eq!(
        snapshot(&shape(&[Publish], Source::Build, &[X86])),
        " 1. publish: the release pull request\n"
    );
    assert_eq!(
        snapshot(&shape(&[Submit], Source::Build, &[X86])),
        " 1. seller and ingestion checks again, before submitting\n 2. submit: the version through the Catalog API\n"
    );
}

#[test]
fn failures_are_reported_under_their_stage() {
    let release = Stages::of(&[Build, Verify, Copy, Publish]);
    let id = JobId {
        index: 0,
        architecture: X86,
    };
    let cases = [
        (Step::Seller, Build),
        (Step::Job(id, JobStep::Account), Build),
        (Step::Job(id, JobStep::Build), Build),
        (Step::Job(id, JobStep::Verify), Verify),
        (Step::Job(id, JobStep::Copy), Copy),
        (Step::TestStack, Verify),
        (Step::Ingestion, Publish),
        (Step::Publish, Publish),
    ];
    for (step, stage) in cases {
        assert_eq!(step.stage(release), stage, "{step}");
    }
    assert_eq!(Step::Seller.stage(Stages::of(&[Verify])), Verify);
    assert_eq!(Step::Seller.stage(Stages::of(&[Copy])), Copy);
    assert_eq!(
        Step::Ingestion.stage(Stages::of(&[Build, Copy, Submit])),
        Submit
    );
    assert_eq!(Step::Recheck.stage(Stages::of(&[Submit])), Submit);
    assert_eq!(Step::Templates.stage(Stages::of(&[Templates])), Templates);
}

/// Every shape `Release::prepare` can make (and some it refuses, which the schedule must
/// still keep sane): each subset of the stages × image source × on-failure × one or two
/// jobs × listing × verify copies × test stack.
fn every_shape() -> Vec<Shape> {
    let mut all = Vec::new();
    for bits in 0u32..(1 << Stage::ALL.len()) {
        let stages: Vec<Stage> = Stage::ALL
            .into_iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, s)| s)
            .collect();
        for source in [Source::Build, Source::Import, Source::Given] {
            for architectures in [&[X86][..], &[X86, ARM][..]] {
                for flags in 0u8..16 {
                    let mut s = shape(&stages, source, architectures);
                    s.listing = flags & 1 != 0;
                    s.verify_copies = flags & 2 != 0;
                    s.test_stack = flags & 4 != 0;
                    s.draft_on_failure = flags & 8 != 0 && s.stages.contains(Publish);
                    all.push(s);
                }
            }
        }
    }
    all
}

/// The steps that still run when `failed` fails, as the engine's loop decides.
fn after_failure(shape: &Shape, steps: &[Step], failed: usize, verification: bool) -> Vec<Step> {
    let step = steps[failed];
    match step.on_failure(shape, verification) {
        OnFailure::Stop => Vec::new(),
        OnFailure::Defer => {
            let job = step.job().expect("only a job's verification is deferred");
            steps[failed + 1..]
                .iter()
                .copied()
                .filter(|s| s.runs_after_deferred(job))
                .collect()
        }
    }
}

fn position(steps: &[Step], wanted: impl Fn(&Step) -> bool) -> Option<usize> {
    steps.iter().position(wanted)
}

#[test]
fn invariants_hold_over_the_whole_space() {
    let shapes = every_shape();
    assert_eq!(shapes.len(), 64 * 3 * 2 * 16, "{}", shapes.len());
    for shape in &shapes {
        let steps = steps(shape);
        let shown = describe(&steps);
        // Nothing runs that was not asked for.
        for step in &steps {
            assert!(
                shape.stages.contains(step.stage(shape.stages)),
                "{step} of no asked stage:\n{shown}"
            );
        }
        // The seller and the listing come before anything a job does.
        if let Some(first_job) = position(&steps, |s| s.job().is_some()) {
            assert_eq!(steps[0], Step::Seller, "{shown}");
            assert!(position(&steps, |s| *s == Step::Listing).is_none_or(|l| l < first_job));
        }
        jobs_keep_their_order(shape, &steps, &shown);
        gates_come_first(shape, &steps, &shown);
        a_failed_verification_stops_or_drafts(shape, &steps, &shown);
    }
}

/// Each job: the account checks first, the image before its boot and its copy, no copy (and so
/// no sharing) before the verify boot, and its steps contiguous (the loop hands its manifest on
/// when they end).
fn jobs_keep_their_order(shape: &Shape, steps: &[Step], shown: &str) {
    let of = |s: Stage| shape.stages.contains(s);
    for (index, job) in shape.jobs.iter().enumerate() {
        let id = JobId {
            index,
            architecture: job.architecture,
        };
        let at = |step: JobStep| position(steps, |s| *s == Step::Job(id, step));
        let account = at(JobStep::Account).expect("every job checks the account first");
        for step in [
            JobStep::Build,
            JobStep::Import,
            JobStep::Verify,
            JobStep::Copy,
        ] {
            assert!(at(step).is_none_or(|i| i > account), "{shown}");
        }
        if let (Some(verify), Some(copy)) = (at(JobStep::Verify), at(JobStep::Copy)) {
            assert!(verify < copy, "copy before the verify boot:\n{shown}");
        }
        if let Some(made) = at(JobStep::Build).or(at(JobStep::Import)) {
            assert!(at(JobStep::Verify).is_none_or(|v| v > made), "{shown}");
            assert!(at(JobStep::Copy).is_none_or(|c| c > made), "{shown}");
        }
        assert_eq!(
            at(JobStep::Build).is_some(),
            of(Build) && job.source == Source::Build
        );
        assert_eq!(at(JobStep::Verify).is_some(), of(Verify), "{shown}");
        let own: Vec<usize> = (0..steps.len())
            .filter(|i| steps[*i].job() == Some(id))
            .collect();
        assert!(own.windows(2).all(|w| w[1] == w[0] + 1), "{shown}");
    }
}

/// Every job's steps, the test stack and the ingestion checks come before the PR and the
/// submission, the templates before the PR; submit runs with publish only when both were
/// asked for; the images are checked for ingestion before a PR or a submission.
fn gates_come_first(shape: &Shape, steps: &[Step], shown: &str) {
    let of = |s: Stage| shape.stages.contains(s);
    let publish = position(steps, |s| *s == Step::Publish);
    let submit = position(steps, |s| *s == Step::Submit);
    assert_eq!(publish.is_some(), of(Publish));
    assert_eq!(submit.is_some(), of(Submit));
    for gate in [publish, submit].into_iter().flatten() {
        for (i, step) in steps.iter().enumerate() {
            if step.job().is_some()
                || matches!(step, Step::TestStack | Step::Ingestion | Step::Recheck)
            {
                assert!(i < gate, "{step} after the PR or the submission:\n{shown}");
            }
        }
    }
    if let (Some(t), Some(p)) = (position(steps, |s| *s == Step::Templates), publish) {
        assert!(t < p, "{shown}");
    }
    if !shape.jobs.is_empty() && (of(Publish) || of(Submit)) {
        assert!(
            position(steps, |s| *s == Step::Ingestion).is_some(),
            "{shown}"
        );
    }
    if shape.jobs.is_empty() && of(Submit) {
        assert!(position(steps, |s| *s == Step::Recheck).is_some_and(|r| Some(r) < submit));
    }
}

/// After a failed verification: a pull request only with `on-failure: draft` (and then a draft,
/// with no test stack, ingestion or submission, and nothing more of the failed job); otherwise
/// nothing more. An error of the verify step that is not a failed verification stops.
fn a_failed_verification_stops_or_drafts(shape: &Shape, steps: &[Step], shown: &str) {
    for (i, step) in steps.iter().enumerate() {
        if !matches!(step, Step::Job(_, JobStep::Verify | JobStep::VerifyCopies)) {
            continue;
        }
        let rest = after_failure(shape, steps, i, true);
        assert_eq!(
            rest.contains(&Step::Publish),
            shape.draft_on_failure,
            "after {step} failed:\n{shown}"
        );
        assert!(
            !rest
                .iter()
                .any(|s| matches!(s, Step::TestStack | Step::Ingestion | Step::Submit)),
            "after {step} failed:\n{shown}"
        );
        let failed = step.job().unwrap();
        assert!(!rest.iter().any(|s| s.job() == Some(failed)), "{shown}");
        assert!(after_failure(shape, steps, i, false).is_empty());
    }
}
