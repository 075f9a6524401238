//! The names and texts rendered from the config's string templates (the AMI name and
//! description, the release branch, the version title and release notes), each checked against
//! the rules of the service that takes it, and the one set of variables they all see.

use indexmap::IndexMap;

use super::error::PlanError;
use super::render;
use crate::config::{Architecture, Config};
use crate::domain::version::Version;

/// Marketplace limits the version title to 64 characters.
pub const MAX_VERSION_TITLE: usize = 64;

/// Validates a branch name against git's rules for ref names (`git check-ref-format`).
pub fn check_branch_name(name: &str) -> Result<(), String> {
    let bad_char = name
        .chars()
        .find(|&c| c.is_ascii_control() || " ~^:?*[\\".contains(c));
    let problem = if name.is_empty() {
        Some("it is empty".to_owned())
    } else if let Some(c) = bad_char {
        Some(format!("it contains {c:?}"))
    } else if name.contains("..") || name.contains("//") || name.contains("@{") || name == "@" {
        Some("it contains `..`, `//` or `@{`".into())
    } else if name.starts_with('/')
        || name.ends_with('/')
        || name.ends_with('.')
        || name.ends_with(".lock")
    {
        Some("it starts or ends with `/`, or ends with `.` or `.lock`".into())
    } else if name
        .split('/')
        .any(|part| part.starts_with('.') || part.starts_with('-'))
    {
        Some("a part starts with `.` or `-`".into())
    } else {
        None
    };
    problem.map_or(Ok(()), |why| {
        Err(format!(
            "branch name `{name}` is not a valid git ref: {why}"
        ))
    })
}

/// The variables every string template of the config sees (`build.ami-name`,
/// `build.ami-description`, `pull-request.branch` and `.title`, the load form's version title
/// and release notes): one set, so that a value renders the same wherever it is rendered.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// `{{ version }}`.
    pub version: &'a Version,
    /// `{{ product }}`: product.name.
    pub product: &'a str,
    /// `{{ date }}`: the run's date, `YYYY-MM-DD` (UTC).
    pub date: &'a str,
    /// `{{ architecture }}`, in the per-architecture names (AMI name and description).
    pub architecture: Option<Architecture>,
}

impl<'a> Vars<'a> {
    /// The variables of a release of `config`.
    pub fn new(config: &'a Config, version: &'a Version, date: &'a str) -> Self {
        Self {
            version,
            product: config.product.name.as_str(),
            date,
            architecture: None,
        }
    }

    /// The same, for one architecture.
    pub fn for_architecture(self, architecture: Architecture) -> Self {
        Self {
            architecture: Some(architecture),
            ..self
        }
    }

    /// The template context.
    pub fn context(&self) -> minijinja::Value {
        match self.architecture {
            Some(arch) => {
                minijinja::context!(version => self.version.as_str(), product => self.product, date => self.date, architecture => arch.as_str())
            }
            None => {
                minijinja::context!(version => self.version.as_str(), product => self.product, date => self.date)
            }
        }
    }
}

/// The release branch, rendered from `pull-request.branch` and checked against git's rules.
pub fn release_branch(config: &Config, vars: Vars<'_>) -> Result<String, PlanError> {
    let branch = render::render(
        "pull-request.branch",
        &config.pull_request.branch,
        vars.context(),
    )?;
    check_branch_name(&branch).map_err(|message| PlanError::Invalid {
        message: format!("pull-request.branch: {message}"),
        help: "change the branch pattern in the config (or the `branch` input)".into(),
    })?;
    Ok(branch)
}

/// The AMI description, rendered from `build.ami-description` (default
/// `{{ product }} {{ version }} ({{ architecture }})`).
pub fn ami_description(config: &Config, vars: Vars<'_>) -> Result<String, PlanError> {
    let template = config
        .build
        .ami_description
        .as_deref()
        .unwrap_or("{{ product }} {{ version }} ({{ architecture }})");
    Ok(render::render(
        "build.ami-description",
        template,
        vars.context(),
    )?)
}

/// A text for each architecture, by the architecture's name.
type ByArchitecture = IndexMap<String, String>;

/// The AMI name and description of each architecture of the release (`vars` without an
/// architecture), by architecture name.
pub(super) fn ami_texts(
    config: &Config,
    vars: Vars<'_>,
) -> Result<(ByArchitecture, ByArchitecture), PlanError> {
    let mut names = IndexMap::new();
    let mut descriptions = IndexMap::new();
    for &arch in &config.build.architectures {
        names.insert(
            arch.as_str().to_owned(),
            ami_name(config, vars.version, arch, vars.date)?,
        );
        descriptions.insert(
            arch.as_str().to_owned(),
            ami_description(config, vars.for_architecture(arch))?,
        );
    }
    Ok((names, descriptions))
}

/// The version title and release notes, rendered from the load form templates; the title is
/// checked against Marketplace's 64-character limit.
pub fn version_texts(
    config: &Config,
    version: &Version,
    date: &str,
) -> Result<(String, String), PlanError> {
    let names = Vars::new(config, version, date).context();
    let version_title = render::render(
        "load-form.version-title",
        &config.load_form.version_title,
        names.clone(),
    )?;
    let length = version_title.chars().count();
    if length == 0 || length > MAX_VERSION_TITLE {
        return Err(PlanError::Invalid {
            message: format!("load-form.version-title renders to {length} characters, but Marketplace allows 1 to {MAX_VERSION_TITLE}: `{version_title}`"),
            help: "shorten load-form.version-title".into(),
        });
    }
    let release_notes = render::render(
        "load-form.release-notes",
        &config.load_form.release_notes,
        names,
    )?;
    if release_notes.trim().is_empty() {
        return Err(PlanError::Invalid {
            message: "load-form.release-notes renders to nothing".into(),
            help: "write the release notes buyers see for this version".into(),
        });
    }
    Ok((version_title, release_notes))
}

/// The AMI name for `architecture`, rendered from `build.ami-name` and checked against EC2's
/// rules.
pub fn ami_name(
    config: &Config,
    version: &Version,
    architecture: Architecture,
    date: &str,
) -> Result<String, PlanError> {
    let context = Vars::new(config, version, date)
        .for_architecture(architecture)
        .context();
    let name = render::render("build.ami-name", &config.build.ami_name, context)?;
    check_ami_name(&name)?;
    Ok(name)
}

/// EC2 AMI names: 3–128 characters of letters, digits and `()[] ./-'@_`.
fn check_ami_name(name: &str) -> Result<(), PlanError> {
    let ok = (3..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(c));
    if ok {
        Ok(())
    } else {
        Err(PlanError::Invalid {
            message: format!(
                "build.ami-name renders to `{name}`, which EC2 does not accept as an AMI name"
            ),
            help: "use 3 to 128 letters, digits, spaces and ( ) [ ] . / - ' @ _".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_follow_git_rules() {
        assert!(check_branch_name("marketplace-release/5.26.0").is_ok());
        for bad in [
            "",
            "a..b",
            "a b",
            "a/",
            "/a",
            "a.lock",
            "a~1",
            "a:b",
            "x/.hidden",
            "a//b",
            "a@{b",
        ] {
            assert!(check_branch_name(bad).is_err(), "{bad}");
        }
    }
}
