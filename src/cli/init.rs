//! `init`: a starter config (`.github/marketplace-release.yml`) and workflow
//! (`.github/workflows/marketplace-release.yml`) from the repository's templates, then the
//! setup left to do. Nothing is overwritten without `--force`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Result};

use crate::config::starter::{self, TemplateFacts};
use crate::files::{file_error, write_atomically};
use crate::release::env::RunnerEnv;
use crate::template::{template_error, Template};

/// Where `init` writes the config.
pub const CONFIG_PATH: &str = ".github/marketplace-release.yml";
/// Where `init` writes the starter workflow.
pub const WORKFLOW_PATH: &str = ".github/workflows/marketplace-release.yml";
/// The starter workflow: the README's Quick start example, with the role to fill in.
const WORKFLOW: &str = include_str!("../../examples/workflows/release-on-tag.yml");

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// A CloudFormation template to release (repeat the option); default: every template of
    /// the repository with an AMI mapping or an ImageId parameter.
    #[arg(long, value_name = "PATH")]
    pub template: Vec<PathBuf>,
    /// The repository root; default: GITHUB_WORKSPACE, else the current directory.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Overwrite an existing config or workflow.
    #[arg(long)]
    pub force: bool,
}

/// Runs `init`.
pub fn init(args: InitArgs, env: &RunnerEnv) -> Result<ExitCode> {
    let workspace = env.workspace(args.workspace)?;
    let paths = if args.template.is_empty() {
        discover(&workspace)?
    } else {
        args.template
            .iter()
            .map(|p| relative_to(&workspace, p))
            .collect::<Result<Vec<_>>>()?
    };
    if paths.is_empty() {
        bail!("no CloudFormation template with an AMI mapping or an ImageId parameter was found under {}\n  help: name your templates with --template PATH", workspace.display());
    }
    let targets = [CONFIG_PATH, WORKFLOW_PATH].map(|p| workspace.join(p));
    let existing: Vec<String> = targets
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        bail!(
            "{} already exist{}; init writes nothing\n  help: pass --force to overwrite, or edit the existing file",
            existing.join(" and "),
            if existing.len() == 1 { "s" } else { "" }
        );
    }
    let facts = paths
        .iter()
        .map(|p| read_facts(&workspace, p))
        .collect::<Result<Vec<_>>>()?;
    for target in &targets {
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                file_error(
                    format!("cannot create {}", dir.display()),
                    e,
                    "check that the repository is writable",
                )
            })?;
        }
    }
    write_atomically(&targets[0], &starter::starter_config(&facts))?;
    let workflow = WORKFLOW.replace(
        "arn:aws:iam::123456789012:role/marketplace-release",
        &format!(
            "arn:aws:iam::{}:role/marketplace-release",
            starter::PLACEHOLDER
        ),
    );
    write_atomically(&targets[1], &workflow)?;
    print!("{}", next_steps(&paths));
    Ok(ExitCode::SUCCESS)
}

/// What is left to do, printed after writing.
fn next_steps(paths: &[String]) -> String {
    format!(
        "wrote {CONFIG_PATH} (from {}) and {WORKFLOW_PATH}\n\nNext:\n  1. Replace every {} in {CONFIG_PATH}, and check the lines marked REPLACE.\n  2. Create the AWS roles (the OIDC role with iam/policy.json, and the Marketplace ingestion role):\n     aws cloudformation deploy --template-file iam/marketplace-release-role.yaml --stack-name marketplace-release-role --capabilities CAPABILITY_NAMED_IAM --parameter-overrides GitHubRepository=OWNER/REPO\n     and put its RoleArn in {WORKFLOW_PATH} (role-to-assume) and IngestionRoleArn in load-form.access-role-arn.\n  3. Allow pull requests from Actions: Settings → Actions → General → Workflow permissions → \"Allow GitHub Actions to create and approve pull requests\".\n  4. Check it without AWS: marketplace-release plan --config {CONFIG_PATH} --version 1.2.3\n     (or run the workflow with dry-run: true), then push a tag like v1.2.3.\n",
        paths.join(", "),
        starter::PLACEHOLDER
    )
}

/// `path` relative to `workspace`, which it must be inside.
fn relative_to(workspace: &Path, path: &Path) -> Result<String> {
    let absolute = std::path::absolute(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let root =
        std::path::absolute(workspace).map_err(|e| anyhow!("{}: {e}", workspace.display()))?;
    let relative = match absolute.strip_prefix(&root) {
        Ok(relative) => relative.to_owned(),
        Err(_) if path.is_relative() && workspace.join(path).exists() => path.to_owned(),
        Err(_) => bail!("{} is outside the repository {}\n  help: pass templates inside the repository (--workspace sets its root)", path.display(), workspace.display()),
    };
    crate::config::check_workspace_path(&relative).map_err(|why| {
        anyhow!(
            "{}: {why}\n  help: pass a template inside the repository",
            path.display()
        )
    })?;
    Ok(relative.display().to_string())
}

/// Reads one template's mappings and parameters.
fn read_facts(workspace: &Path, path: &str) -> Result<TemplateFacts> {
    let bytes = std::fs::read(workspace.join(path)).map_err(|e| {
        file_error(
            format!("cannot read template {path}"),
            e,
            "check the --template path",
        )
    })?;
    let template = Template::parse_bytes(&bytes).map_err(|e| template_error(path, e))?;
    Ok(TemplateFacts {
        path: path.to_owned(),
        mappings: template.mappings(),
        parameters: template.parameters(),
    })
}

/// The templates under `workspace` (YAML, JSON or `.template` files, outside hidden and build
/// directories) that a release can update: an AMI mapping or an ImageId parameter.
fn discover(workspace: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let mut stack = vec![(workspace.to_owned(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| anyhow!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                let skipped = name.starts_with('.')
                    || ["target", "node_modules", "vendor"].contains(&name.as_str());
                if !skipped && depth < 6 {
                    stack.push((path, depth + 1));
                }
            } else if [".yaml", ".yml", ".json", ".template"]
                .iter()
                .any(|e| name.ends_with(e))
                && entry.metadata().is_ok_and(|m| m.len() < 4 << 20)
                && is_release_template(&path)
            {
                let relative = path.strip_prefix(workspace).unwrap_or(&path);
                found.push(relative.display().to_string());
            }
        }
    }
    found.sort();
    Ok(found)
}

fn is_release_template(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Ok(template) = Template::parse_bytes(&bytes) else {
        return false;
    };
    template.mappings().iter().any(|m| m.ami_values > 0)
        || !template.parameters().image_parameters.is_empty()
}
