//! What a release would do, computed from the config, the version, the AMIs (real or
//! placeholders) and the template texts. Pure: the caller reads the files, nothing here touches
//! AWS, GitHub or the file system.
//!
//! [`plan()`] assembles the [`ReleasePlan`] from its parts, each in its own file:
//!
//! | file | what it holds |
//! |---|---|
//! | `model` | what a plan takes ([`PlanInputs`]) and gives ([`ReleasePlan`], [`TemplatePlan`]) |
//! | `error` | [`PlanError`] |
//! | `names` | the names and texts rendered from the config's string templates ([`Vars`]), each checked |
//! | `amis` | placeholder AMIs, the regions a plan shows, the AMIs each template receives |
//! | `templates` | each template as the release would regenerate it (through `target`), its summary and diff |
//! | `body` | the pull request's body: what its template sees, rendered within GitHub's limit |
//! | `report` | the plan as the `plan` command prints it |
//!
//! and `advice`, `diff`, `loadform`, `manifests` (the release's AMIs from its manifests),
//! `render`, `submission` (what `submit` sends), `target`, `timeline`, `userdata` for what the
//! stages share with the plan.

mod amis;
mod body;
mod error;
mod model;
mod names;
mod report;
mod templates;

pub mod advice;
pub mod diff;
pub mod loadform;
pub mod manifests;
pub mod render;
pub mod submission;
pub mod target;
pub mod timeline;
pub mod userdata;

pub use amis::{amis_for_template, placeholder_amis, planned_regions};
pub use body::MAX_PR_BODY;
pub use error::{plan_error, PlanError};
pub use model::{PlanInputs, ReleasePlan, TemplatePlan};
pub use names::{
    ami_description, ami_name, check_branch_name, release_branch, version_texts, Vars,
    MAX_VERSION_TITLE,
};

use crate::config::Config;

/// Computes the plan.
pub fn plan(config: &Config, inputs: &PlanInputs<'_>) -> Result<ReleasePlan, PlanError> {
    let version = inputs.version;
    let placeholders;
    let amis = match inputs.amis {
        Some(amis) => amis,
        None => {
            placeholders = placeholder_amis(config);
            &placeholders
        }
    };
    let vars = Vars::new(config, version, inputs.date);
    let (ami_names, ami_descriptions) = names::ami_texts(config, vars)?;
    let templates = templates::plan_all(config, inputs.template_texts, amis, version)?;
    let branch = release_branch(config, vars)?;
    let pr_title = render::render(
        "pull-request.title",
        &config.pull_request.title,
        vars.context(),
    )?;
    let (version_title, release_notes) = version_texts(config, version, inputs.date)?;
    let body = body::context(
        config,
        inputs,
        amis,
        &templates,
        &version_title,
        &release_notes,
    );
    let (pr_body, load_form) = body::render_within_limit(inputs.body_template, body)?;

    Ok(ReleasePlan {
        warnings: advice::load_form(config),
        build_script: None,
        base_image: report::describe_base(config),
        sharing: report::describe_sharing(config),
        load_form,
        version: version.clone(),
        ami_names,
        ami_descriptions,
        regions: planned_regions(config),
        placeholder_amis: inputs.amis.is_none(),
        templates,
        branch,
        pr_title,
        pr_body,
    })
}
