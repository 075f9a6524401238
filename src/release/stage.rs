//! The stages of a release, one spelling each: the action's `stages` input, the CLI's commands,
//! the step summary and the stage a failure is reported under all use [`Stage`].

use std::fmt;

/// A stage of the pipeline, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Build the AMI (or copy an existing one into the release's image).
    Build,
    /// Boot it and check it before any copy (the config's `verify` section), the copies in
    /// `verify.regions`, and the test stack.
    Verify,
    /// Copy and share it.
    Copy,
    /// Regenerate the templates in the workspace (the CLI's `release`).
    Templates,
    /// Commit the templates and open or update the pull request.
    Publish,
    /// Add the version through the Marketplace Catalog API.
    Submit,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 6] = [
        Stage::Build,
        Stage::Verify,
        Stage::Copy,
        Stage::Templates,
        Stage::Publish,
        Stage::Submit,
    ];

    /// The stage's name: `build`, `verify`, `copy`, `templates`, `publish`, `submit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Build => "build",
            Stage::Verify => "verify",
            Stage::Copy => "copy",
            Stage::Templates => "templates",
            Stage::Publish => "publish",
            Stage::Submit => "submit",
        }
    }

    /// The stage named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether a failure of this stage is shown as it is (the stages that act on the AMI, whose
    /// errors name the region and the image), not as `<stage> failed: …`.
    pub fn shown_plainly(self) -> bool {
        matches!(self, Stage::Build | Stage::Verify | Stage::Copy)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stages a run was asked for: a set of [`Stage`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages(u8);

impl Stages {
    /// No stage.
    pub const NONE: Stages = Stages(0);

    /// The set of `stages`.
    pub fn of(stages: &[Stage]) -> Self {
        stages.iter().fold(Self::NONE, |set, &s| set.with(s))
    }

    fn bit(stage: Stage) -> u8 {
        1 << (stage as u8)
    }

    /// The same set with `stage` in it.
    #[must_use]
    pub fn with(self, stage: Stage) -> Self {
        Stages(self.0 | Self::bit(stage))
    }

    /// The same set without `stage`.
    #[must_use]
    pub fn without(self, stage: Stage) -> Self {
        Stages(self.0 & !Self::bit(stage))
    }

    /// The same set with `stage` in it or not, as `on` says.
    #[must_use]
    pub fn set(self, stage: Stage, on: bool) -> Self {
        if on {
            self.with(stage)
        } else {
            self.without(stage)
        }
    }

    /// Whether `stage` is in the set.
    pub fn contains(self, stage: Stage) -> bool {
        self.0 & Self::bit(stage) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The stages in pipeline order.
    pub fn iter(self) -> impl Iterator<Item = Stage> {
        Stage::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// `build, verify, copy, publish`, or the part of it that runs.
    pub fn describe(self) -> String {
        self.iter()
            .map(Stage::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the run acts on the AMI in this job (build, verify or copy), so that it has
    /// jobs of its own rather than reading other jobs' manifests.
    pub fn has_jobs(self) -> bool {
        [Stage::Build, Stage::Verify, Stage::Copy]
            .into_iter()
            .any(|s| self.contains(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_each_in_pipeline_order() {
        for stage in Stage::ALL {
            assert_eq!(Stage::from_name(stage.as_str()), Some(stage));
            assert_eq!(stage.to_string(), stage.as_str());
        }
        assert_eq!(Stage::from_name("all"), None);
        let set = Stages::of(&[Stage::Publish, Stage::Build, Stage::Copy]);
        assert_eq!(set.describe(), "build, copy, publish");
        assert!(set.has_jobs() && !Stages::of(&[Stage::Publish]).has_jobs());
        assert_eq!(
            set.without(Stage::Build)
                .set(Stage::Submit, true)
                .describe(),
            "copy, publish, submit"
        );
        assert!(Stages::NONE.is_empty() && Stages::default().is_empty());
    }
}
