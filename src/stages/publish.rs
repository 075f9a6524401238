//! The publish stage: regenerate the templates from the base branch's copies, commit them to
//! the release branch through the Git data API, and open or update the release pull request.
//!
//! Every decision is made before the first write: what changes, whether the branch already
//! holds exactly that, whether the pull request already says exactly that. A re-run with
//! nothing new makes no write call. When opening the pull request fails, the branch is put back
//! as it was, so a failed run leaves no half-made release behind.

use crate::domain::state::ImageState;
use crate::output::progress;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

use anyhow::{anyhow, Context as _, Result};
use indexmap::IndexMap;
use serde::Serialize;

use crate::config::{Architecture, Config};
use crate::domain::ami::AmiSet;
use crate::domain::manifest::Manifest;
use crate::domain::version::Version;
use crate::github::{
    GitHub, GitHubError, NewPullRequest, NewTreeEntry, PullRequest, RepoName, TreeEntry,
};
use crate::output::diagnostic::Diagnostic;
use crate::plan::{self, PlanInputs, ReleasePlan};

/// What [`publish`] needs besides the GitHub client.
pub struct PublishInputs<'a> {
    /// The config.
    pub config: &'a Config,
    /// The release version.
    pub version: &'a Version,
    /// The available AMIs per architecture.
    pub amis: &'a IndexMap<Architecture, AmiSet>,
    /// The base branch, when the caller knows it (input, config or event payload); else the
    /// repository's default branch is asked for.
    pub base: Option<String>,
    /// The PR body template source.
    pub body_template: &'a str,
    /// Link to the workflow run.
    pub run_url: Option<&'a str>,
    /// Today's date, for names.
    pub date: &'a str,
    /// The release's manifests, committed to `pull-request.manifests-path` when it is set.
    pub manifests: &'a [(String, Manifest)],
    /// The ingestion preflight's checklist (Markdown), empty when it did not run.
    pub ingestion: &'a str,
    /// The listing check's warnings, one sentence each.
    pub listing: &'a [String],
    /// The verify stage's test stack, when it ran.
    pub stack: Option<&'a crate::domain::stack::StackReport>,
    /// Open the pull request as a draft whatever `pull-request.draft` says (a failed
    /// verification).
    pub draft: bool,
}

/// What happened to the pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// A new pull request was opened.
    Created,
    /// The existing pull request (or its branch) was updated.
    Updated,
    /// Nothing was written.
    None,
}

impl Operation {
    /// `created`, `updated` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Created => "created",
            Operation::Updated => "updated",
            Operation::None => "none",
        }
    }
}

/// The outcome of [`publish`].
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// What happened.
    pub operation: Operation,
    /// The pull request number, when one exists.
    pub number: Option<u64>,
    /// The pull request page, when one exists.
    pub url: Option<String>,
    /// The release branch.
    pub branch: String,
    /// The base branch.
    pub base: String,
    /// The release branch's commit, when there is one.
    pub commit: Option<String>,
    /// One sentence saying what happened.
    pub message: String,
    /// The plan's warnings about the templates (keys added, regions left on an earlier
    /// release's AMIs, the version not written), `path: sentence` each.
    pub notes: Vec<String>,
}

/// The version and the available AMIs per architecture of one release, from the manifests of
/// its build jobs (one per architecture). Refuses manifests that do not belong together or to
/// this config, and releases that lack a required region.
pub fn amis_from_manifests(
    config: &Config,
    manifests: &[(String, Manifest)],
    expected_version: Option<&Version>,
) -> Result<(Version, IndexMap<Architecture, AmiSet>)> {
    let help = "pass the manifests the build and copy stages of this release wrote";
    let mut version: Option<(String, &str)> = None;
    let mut by_arch = IndexMap::new();
    for (path, manifest) in manifests {
        if manifest.product != config.product.name {
            anyhow::bail!("{path}: the manifest is for product `{}`, but the config is for `{}`\n  help: {help}", manifest.product, config.product.name);
        }
        match &version {
            Some((v, first)) if *v != manifest.version => anyhow::bail!(
                "{path}: the manifest is for version {}, but {first} is for {v}\n  help: {help}",
                manifest.version
            ),
            Some(_) => {}
            None => version = Some((manifest.version.clone(), path.as_str())),
        }
        if manifest.incomplete {
            anyhow::bail!("{path}: the manifest is incomplete (its build or copy stage failed or was cancelled)\n  help: re-run `marketplace-release copy --manifest {path}`, which resumes, then publish");
        }
        let architecture = config
            .build
            .architectures
            .iter()
            .copied()
            .find(|a| a.as_str() == manifest.architecture)
            .ok_or_else(|| anyhow!("{path}: the manifest is for {}, which build.architectures does not list\n  help: add it to the config, or leave this manifest out", manifest.architecture))?;
        for (region, image) in &manifest.regions {
            let valid = crate::domain::ami::Region::new(region).is_ok()
                && crate::domain::ami::AmiId::new(&image.image_id, region).is_ok();
            if image.state == ImageState::Available && !valid {
                anyhow::bail!(
                    "{path}: {region}: `{}` is not an AMI ID in a valid region\n  help: {help}",
                    image.image_id
                );
            }
        }
        let amis = manifest.available_amis();
        if amis.is_empty() {
            anyhow::bail!(
                "{path}: the manifest has no available AMI\n  help: run the copy stage first"
            );
        }
        for region in &config.copy.required_regions {
            if amis.get(region.as_str()).is_none() {
                anyhow::bail!("{path}: required region {region} has no available AMI\n  help: re-run `marketplace-release copy --manifest {path}`, or drop {region} from copy.required-regions");
            }
        }
        if by_arch.insert(architecture, amis).is_some() {
            anyhow::bail!(
                "{path}: a second manifest for {}\n  help: pass one manifest per architecture",
                manifest.architecture
            );
        }
    }
    let (text, first) =
        version.ok_or_else(|| anyhow!("no manifest given\n  help: pass --manifest FILE"))?;
    let version = Version::new(&text).map_err(|e| anyhow!("{first}: {e}\n  help: {help}"))?;
    if let Some(expected) = expected_version {
        if *expected != version {
            anyhow::bail!("{first}: the manifest is for version {version}, but this run releases {expected}\n  help: pass the manifests of version {expected}, or the matching --version");
        }
    }
    for arch in &config.build.architectures {
        if !by_arch.contains_key(arch) {
            progress::warning(
                "architecture left as it is",
                &format!(
                    "no manifest for {}: its AMIs in the templates stay as they are",
                    arch.as_str()
                ),
            );
        }
    }
    Ok((version, by_arch))
}

/// A file the release commit writes.
#[derive(Debug, Clone)]
struct FileUpdate {
    path: String,
    mode: String,
    bytes: Vec<u8>,
    /// Git's blob SHA of `bytes`, to compare with what the branch holds without uploading.
    sha: String,
}

impl FileUpdate {
    fn new(path: String, mode: String, bytes: Vec<u8>) -> Self {
        let sha = git_blob_sha(&bytes);
        Self {
            path,
            mode,
            bytes,
            sha,
        }
    }
}

/// Git's object ID of a blob holding `bytes` (what `git hash-object` prints).
pub fn git_blob_sha(bytes: &[u8]) -> String {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hasher.digest().to_string()
}

/// A config path as a repository path (`/`-separated).
fn repo_path(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The directories holding `paths` (`""` is the root), each with the names under it that lead
/// to one of the paths.
fn directories_leading_to(paths: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut dirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in paths {
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 0..parts.len() {
            dirs.entry(parts[..depth].join("/"))
                .or_default()
                .insert(parts[depth].to_owned());
        }
    }
    dirs
}

/// How one directory of the release branch compares with the same directory of the base.
#[derive(Debug, PartialEq, Eq)]
enum LevelVerdict {
    /// Something differs from "base plus our files".
    Differs,
    /// Equal so far; these subdirectories (base tree, branch tree, path) still need a look.
    EqualSoFar(Vec<(String, String, String)>),
}

/// Compares one directory: every entry must equal the base's, except our files (which must hold
/// exactly our blobs) and the directories leading to them (compared one level down).
fn compare_level(
    dir: &str,
    base: &[TreeEntry],
    branch: &[TreeEntry],
    wanted: &BTreeMap<&str, (&str, &str)>,
    leading: &BTreeSet<String>,
) -> LevelVerdict {
    let by_name = |entries: &[TreeEntry]| -> BTreeMap<String, TreeEntry> {
        entries
            .iter()
            .map(|e| (e.path.clone(), e.clone()))
            .collect()
    };
    let (base, branch) = (by_name(base), by_name(branch));
    // Our names too: a wanted file (or its directory) missing from both trees must differ.
    let names: BTreeSet<&String> = base.keys().chain(branch.keys()).chain(leading).collect();
    let mut below = Vec::new();
    for name in names {
        let path = if dir.is_empty() {
            name.clone()
        } else {
            format!("{dir}/{name}")
        };
        let (ours, theirs) = (base.get(name), branch.get(name));
        if let Some((mode, sha)) = wanted.get(path.as_str()) {
            let holds_ours =
                theirs.is_some_and(|e| e.kind == "blob" && e.sha == *sha && e.mode == *mode);
            if !holds_ours {
                return LevelVerdict::Differs;
            }
        } else if leading.contains(name) {
            match (ours, theirs) {
                // Identical subtrees cannot hold our changed files.
                (Some(b), Some(t)) if b.kind == "tree" && t.kind == "tree" && b.sha != t.sha => {
                    below.push((b.sha.clone(), t.sha.clone(), path));
                }
                // A directory the base lacks (a new CSV's folder): only our files may be in it.
                (None, Some(t)) if t.kind == "tree" => {
                    below.push((String::new(), t.sha.clone(), path));
                }
                _ => return LevelVerdict::Differs,
            }
        } else if ours != theirs {
            return LevelVerdict::Differs;
        }
    }
    LevelVerdict::EqualSoFar(below)
}

/// Reads trees one level at a time (never truncated, whatever the repository's size), each
/// once.
struct Trees<'a> {
    github: &'a GitHub,
    listed: HashMap<String, Vec<TreeEntry>>,
}

impl<'a> Trees<'a> {
    fn new(github: &'a GitHub) -> Self {
        Self {
            github,
            listed: HashMap::new(),
        }
    }

    async fn list(&mut self, sha: &str) -> Result<Vec<TreeEntry>, GitHubError> {
        if sha.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(entries) = self.listed.get(sha) {
            return Ok(entries.clone());
        }
        let entries = self.github.tree(sha).await?.tree;
        self.listed.insert(sha.to_owned(), entries.clone());
        Ok(entries)
    }

    /// The entry at `path` under the tree `root`.
    async fn entry(&mut self, root: &str, path: &str) -> Result<Option<TreeEntry>, GitHubError> {
        let mut tree = root.to_owned();
        let parts: Vec<&str> = path.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let Some(entry) = self
                .list(&tree)
                .await?
                .into_iter()
                .find(|e| e.path == *part)
            else {
                return Ok(None);
            };
            if i + 1 == parts.len() {
                return Ok(Some(entry));
            }
            if entry.kind != "tree" {
                return Ok(None);
            }
            tree = entry.sha;
        }
        Ok(None)
    }

    /// The paths of files (and links and submodules) that differ between the trees `old` and
    /// `new`, reading only the subtrees that differ.
    async fn changed_paths(&mut self, old: &str, new: &str) -> Result<Vec<String>, GitHubError> {
        let mut changed = Vec::new();
        let mut queue = VecDeque::from([(old.to_owned(), new.to_owned(), String::new())]);
        while let Some((old_sha, new_sha, dir)) = queue.pop_front() {
            if old_sha == new_sha {
                continue;
            }
            let old_entries = self.list(&old_sha).await?;
            let new_entries = self.list(&new_sha).await?;
            let mut names: Vec<&str> = old_entries
                .iter()
                .chain(&new_entries)
                .map(|e| e.path.as_str())
                .collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                let find = |entries: &[TreeEntry]| entries.iter().find(|e| e.path == name).cloned();
                let (before, after) = (find(&old_entries), find(&new_entries));
                let path = if dir.is_empty() {
                    name.to_owned()
                } else {
                    format!("{dir}/{name}")
                };
                let tree_sha = |e: &Option<TreeEntry>| {
                    e.as_ref()
                        .filter(|e| e.kind == "tree")
                        .map(|e| e.sha.clone())
                };
                let same = matches!((&before, &after), (Some(b), Some(a)) if b.sha == a.sha && b.mode == a.mode);
                if same {
                    continue;
                }
                let (old_tree, new_tree) = (tree_sha(&before), tree_sha(&after));
                if old_tree.is_some() || new_tree.is_some() {
                    // A directory on either side: what differs below it (an empty side is "").
                    queue.push_back((
                        old_tree.unwrap_or_default(),
                        new_tree.unwrap_or_default(),
                        path.clone(),
                    ));
                }
                let blob = |e: &Option<TreeEntry>| e.as_ref().is_some_and(|e| e.kind != "tree");
                if blob(&before) || blob(&after) {
                    changed.push(path);
                }
            }
        }
        Ok(changed)
    }

    /// Whether the tree `branch` is exactly the tree `base` with `updates` written into it.
    async fn is_base_plus(
        &mut self,
        base: &str,
        branch: &str,
        updates: &[FileUpdate],
    ) -> Result<bool, GitHubError> {
        let wanted: BTreeMap<&str, (&str, &str)> = updates
            .iter()
            .map(|u| (u.path.as_str(), (u.mode.as_str(), u.sha.as_str())))
            .collect();
        let paths: Vec<&str> = wanted.keys().copied().collect();
        let leading = directories_leading_to(&paths);
        let mut queue = VecDeque::from([(base.to_owned(), branch.to_owned(), String::new())]);
        while let Some((base_sha, branch_sha, dir)) = queue.pop_front() {
            let base_entries = self.list(&base_sha).await?;
            let branch_entries = self.list(&branch_sha).await?;
            let names = leading.get(&dir).cloned().unwrap_or_default();
            match compare_level(&dir, &base_entries, &branch_entries, &wanted, &names) {
                LevelVerdict::Differs => return Ok(false),
                LevelVerdict::EqualSoFar(below) => queue.extend(below),
            }
        }
        Ok(true)
    }
}

/// Whether `sha` is the base head `head` or one of its last [`BASE_HISTORY`] first parents.
async fn on_base_history(github: &GitHub, head: &str, sha: &str) -> Result<bool, GitHubError> {
    let mut at = head.to_owned();
    for _ in 0..BASE_HISTORY {
        if at == sha {
            return Ok(true);
        }
        match github.commit(&at).await?.parents.first() {
            Some(parent) => at = parent.sha.clone(),
            None => return Ok(false),
        }
    }
    Ok(false)
}

/// How the release branch was moved, to put it back if the pull request cannot be opened.
enum BranchWrite {
    Created,
    Moved { previous: String },
}

/// The base branch as publish found it.
struct Base {
    name: String,
    sha: String,
    tree: String,
}

/// Regenerates the templates from the base branch, commits them to the release branch and opens
/// or updates the pull request.
#[allow(
    clippy::too_many_lines,
    reason = "the publish protocol in order (base, plan, commit, open or update, roll back); each step is its own function and the order is the point"
)]
pub async fn publish(github: &GitHub, inputs: &PublishInputs<'_>) -> Result<Published> {
    let config = inputs.config;
    let repo = github.repo().clone();
    let base = read_base(github, inputs).await?;
    let mut trees = Trees::new(github);
    let (plan, texts, modes) = plan_on_base(github, &mut trees, inputs, &base).await?;
    let mut updates: Vec<FileUpdate> = plan
        .templates
        .iter()
        .zip(&texts)
        .zip(modes)
        .filter(|((t, old), _)| t.new_text.as_bytes() != old.as_slice())
        .map(|((t, _), mode)| {
            FileUpdate::new(t.path.clone(), mode, t.new_text.clone().into_bytes())
        })
        .collect();
    let mut notes = Vec::new();
    for t in &plan.templates {
        progress::line(&format!("publish: {}: {}", t.path, t.summary));
        for note in &t.notes {
            progress::line(&format!("publish: {}: WARNING: {note}", t.path));
            notes.push(format!("`{}`: {note}", t.path));
        }
    }
    if updates.is_empty() {
        return Ok(Published {
            operation: Operation::None,
            number: None,
            url: None,
            branch: plan.branch,
            message: format!("the templates on `{}` already hold these AMIs and this version, so there is nothing to review: no pull request opened", base.name),
            base: base.name,
            commit: None,
            notes,
        });
    }
    let mut extra = Vec::new();
    if let Some(csv) = &config.pull_request.load_form_csv {
        extra.push((
            repo_path(csv),
            crate::plan::loadform::to_csv(&plan.load_form).into_bytes(),
        ));
    }
    if let Some(dir) = &config.pull_request.manifests_path {
        for (_, manifest) in inputs.manifests {
            let file = dir.join(format!("{}.json", manifest.architecture));
            extra.push((repo_path(&file), manifest.to_json().into_bytes()));
        }
    }
    for (path, bytes) in extra {
        let existing = trees.entry(&base.tree, &path).await?;
        if existing.as_ref().map(|e| e.sha.as_str()) != Some(git_blob_sha(&bytes).as_str()) {
            let mode = existing.map_or_else(|| "100644".to_owned(), |e| e.mode);
            updates.push(FileUpdate::new(path, mode, bytes));
        }
    }
    let branch = plan.branch.clone();
    if branch == base.name {
        anyhow::bail!("the release branch `{branch}` is the base branch\n  help: the release goes through a pull request: set pull-request.branch (or the branch input) to its own name, like marketplace-release/{{{{ version }}}}");
    }
    let branch_head = github.branch_head(&branch).await?;
    let up_to_date = match &branch_head {
        Some(head) => {
            let ours = OurPaths::of(config);
            is_current(
                github, &mut trees, &repo, &branch, head, &base, &updates, &ours,
            )
            .await?
        }
        None => false,
    };
    let (commit_sha, written) = match (&branch_head, up_to_date) {
        (Some(head), true) => {
            progress::line(&format!(
                "publish: branch {branch} already holds this release on top of {}",
                base.name
            ));
            (head.clone(), None)
        }
        _ => {
            commit_updates(
                github,
                &plan,
                &base,
                &branch,
                branch_head.as_deref(),
                &updates,
            )
            .await?
        }
    };
    let outcome = open_or_update(
        github,
        config,
        &plan,
        (&base.name, inputs.draft),
        up_to_date,
    )
    .await;
    match outcome {
        Ok((operation, pr)) => {
            let message = match operation {
                Operation::Created => format!("opened pull request #{} {}", pr.number, pr.html_url),
                Operation::Updated => {
                    format!("updated pull request #{} {}", pr.number, pr.html_url)
                }
                Operation::None => format!(
                    "pull request #{} {} is already up to date; nothing written",
                    pr.number, pr.html_url
                ),
            };
            Ok(Published {
                operation,
                number: Some(pr.number),
                url: Some(pr.html_url),
                branch,
                base: base.name,
                commit: Some(commit_sha),
                message,
                notes,
            })
        }
        Err(error) => {
            if let Some(write) = written {
                restore_branch(github, &branch, write).await;
            }
            Err(error)
        }
    }
}

/// The base branch: given, else the repository's default; its head and tree.
async fn read_base(github: &GitHub, inputs: &PublishInputs<'_>) -> Result<Base> {
    let repo = github.repo();
    let name = match &inputs.base {
        Some(base) => base.clone(),
        None => github.repository().await?.default_branch,
    };
    let sha = github.branch_head(&name).await?.ok_or_else(|| {
        anyhow!("the base branch `{name}` does not exist in {repo}\n  help: set pull-request.base (or the base input) to an existing branch")
    })?;
    let tree = github.commit(&sha).await?.tree.sha;
    Ok(Base { name, sha, tree })
}

/// The plan from the templates as they are on the base branch, with their texts and modes.
async fn plan_on_base(
    github: &GitHub,
    trees: &mut Trees<'_>,
    inputs: &PublishInputs<'_>,
    base: &Base,
) -> Result<(ReleasePlan, Vec<Vec<u8>>, Vec<String>)> {
    let repo = github.repo();
    let mut texts = Vec::new();
    let mut modes = Vec::new();
    for target in &inputs.config.templates {
        let path = repo_path(&target.path);
        let entry = trees
            .entry(&base.tree, &path)
            .await?
            .filter(|e| e.kind == "blob")
            .ok_or_else(|| {
                anyhow!("the template `{path}` is not on the base branch `{}` of {repo}\n  help: commit the template to `{}` first, or fix templates[].path in the config", base.name, base.name)
            })?;
        texts.push(github.blob(&entry.sha).await?);
        modes.push(entry.mode);
    }
    let plan = plan::plan(
        inputs.config,
        &PlanInputs {
            version: inputs.version,
            amis: Some(inputs.amis),
            template_texts: &texts,
            body_template: inputs.body_template,
            run_url: inputs.run_url,
            date: inputs.date,
            manifests: inputs.manifests,
            ingestion: inputs.ingestion,
            listing: inputs.listing,
            stack: inputs.stack,
        },
    )
    .map_err(|e| {
        let mut d = Diagnostic::from(e);
        d.message.push_str(&format!(
            " (the template was read from the base branch `{}` of {repo})",
            base.name
        ));
        d
    })?;
    Ok((plan, texts, modes))
}

/// The paths a release commit may change: the templates, the load form CSV and the
/// manifests directory of the config.
struct OurPaths {
    files: Vec<String>,
    dir: Option<String>,
}

impl OurPaths {
    fn of(config: &Config) -> Self {
        let mut files: Vec<String> = config
            .templates
            .iter()
            .map(|t| repo_path(&t.path))
            .collect();
        files.extend(
            config
                .pull_request
                .load_form_csv
                .as_ref()
                .map(|p| repo_path(p)),
        );
        Self {
            files,
            dir: config
                .pull_request
                .manifests_path
                .as_ref()
                .map(|d| repo_path(d)),
        }
    }

    fn allows(&self, path: &str) -> bool {
        self.files.iter().any(|f| f == path)
            || self.dir.as_ref().is_some_and(|d| {
                path.strip_prefix(d.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }
}

/// How far back in the base branch's first-parent history the parent of an earlier release
/// commit is looked for (the base moves on while a release waits for review).
const BASE_HISTORY: usize = 100;

/// Whether the release branch (at `head`) already holds exactly this release on the current
/// base. Refuses a branch whose head marketplace-release did not make: the head must carry our
/// trailer as a line of its own, have one parent that is on the base branch, and change only
/// our paths. A squash merge of an earlier release PR carries the trailer too: a branch
/// pointed at one passes only when that merge changed nothing but our paths, and then the
/// commit is on the base, so moving the branch loses nothing.
#[allow(clippy::too_many_arguments)]
async fn is_current(
    github: &GitHub,
    trees: &mut Trees<'_>,
    repo: &RepoName,
    branch: &str,
    head: &str,
    base: &Base,
    updates: &[FileUpdate],
    ours: &OurPaths,
) -> Result<bool> {
    let commit = github.commit(head).await?;
    let short = &head[..head.len().min(12)];
    let subject = commit.message.lines().next().unwrap_or_default().to_owned();
    let refuse = |why: String| {
        anyhow!("the branch `{branch}` of {repo} has a commit marketplace-release did not make ({short}: \"{subject}\": {why}), which a re-run would overwrite\n  help: merge or close its pull request and delete the branch, or set pull-request.branch to another name")
    };
    if !commit
        .message
        .lines()
        .any(|line| line.trim_end() == TRAILER)
    {
        return Err(refuse(format!("no `{TRAILER}` trailer")));
    }
    let [parent] = commit.parents.as_slice() else {
        return Err(refuse(format!(
            "{} parents, where ours have one",
            commit.parents.len()
        )));
    };
    let parent_tree = github.commit(&parent.sha).await?.tree.sha;
    let changed = trees.changed_paths(&parent_tree, &commit.tree.sha).await?;
    let others: Vec<&String> = changed.iter().filter(|p| !ours.allows(p)).collect();
    if !others.is_empty() {
        return Err(refuse(format!(
            "it changes {}, which a release does not write",
            others
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !on_base_history(github, &base.sha, &parent.sha).await? {
        return Err(refuse(format!(
            "its parent is not among the last {BASE_HISTORY} commits of `{}`",
            base.name
        )));
    }
    let on_base = parent.sha == base.sha;
    Ok(on_base
        && trees
            .is_base_plus(&base.tree, &commit.tree.sha, updates)
            .await?)
}

/// Commits `updates` on the base and points the release branch at the commit.
async fn commit_updates(
    github: &GitHub,
    plan: &ReleasePlan,
    base: &Base,
    branch: &str,
    branch_head: Option<&str>,
    updates: &[FileUpdate],
) -> Result<(String, Option<BranchWrite>)> {
    let mut entries = Vec::new();
    for update in updates {
        let sha = github.create_blob(&update.path, &update.bytes).await?;
        entries.push(NewTreeEntry {
            path: update.path.clone(),
            mode: update.mode.clone(),
            kind: "blob",
            sha,
        });
    }
    let tree = github.create_tree(&base.tree, &entries).await?;
    let commit = github
        .create_commit(
            &commit_message(plan),
            &tree,
            std::slice::from_ref(&base.sha),
        )
        .await?;
    let written = write_branch(github, branch, &commit.sha, branch_head).await?;
    progress::line(&format!(
        "publish: committed {} file(s) to {branch} ({}) on top of {}",
        updates.len(),
        &commit.sha[..commit.sha.len().min(12)],
        base.name
    ));
    Ok((commit.sha, Some(written)))
}

/// The trailer that marks a commit as ours, so a branch is only ever moved when its head is
/// one of our commits.
const TRAILER: &str = "Made-by: marketplace-release";

fn commit_message(plan: &ReleasePlan) -> String {
    let mut message = format!("{}\n\n", plan.pr_title);
    for t in &plan.templates {
        message.push_str(&format!("- {}: {}\n", t.path, t.summary));
    }
    message.push_str(&format!("\n{TRAILER}\n"));
    message
}

async fn write_branch(
    github: &GitHub,
    branch: &str,
    sha: &str,
    head: Option<&str>,
) -> Result<BranchWrite> {
    match head {
        Some(previous) => {
            github.force_branch(branch, sha).await?;
            Ok(BranchWrite::Moved {
                previous: previous.to_owned(),
            })
        }
        None => match github.create_branch(branch, sha).await {
            Ok(()) => Ok(BranchWrite::Created),
            // Our own retried request, or another run, created it since we looked.
            Err(e) if e.is_unprocessable_with("already exists") => {
                let previous = github.branch_head(branch).await?.unwrap_or_default();
                if previous == sha {
                    return Ok(BranchWrite::Created);
                }
                github.force_branch(branch, sha).await?;
                Ok(BranchWrite::Moved { previous })
            }
            Err(e) => Err(e.into()),
        },
    }
}

async fn restore_branch(github: &GitHub, branch: &str, write: BranchWrite) {
    let restored = match &write {
        BranchWrite::Created => github.delete_branch(branch).await,
        BranchWrite::Moved { previous } => github.force_branch(branch, previous).await,
    };
    match restored {
        Ok(()) => progress::line(&format!(
            "publish: the pull request failed, so the branch {branch} was {}",
            match write {
                BranchWrite::Created => "deleted again",
                BranchWrite::Moved { .. } => "put back where it was",
            }
        )),
        Err(e) => progress::warning(
            "release branch left behind",
            &format!("the pull request failed and the branch {branch} could not be put back: {e}"),
        ),
    }
}

/// Finds the open pull request from the release branch and brings it up to date, or opens one.
async fn open_or_update(
    github: &GitHub,
    config: &Config,
    plan: &ReleasePlan,
    (base, draft): (&str, bool),
    branch_up_to_date: bool,
) -> Result<(Operation, PullRequest)> {
    let settings = &config.pull_request;
    let existing = github.open_pull_request(&plan.branch).await?;
    let Some(pr) = existing else {
        let created = match github
            .create_pull_request(&NewPullRequest {
                title: &plan.pr_title,
                body: &plan.pr_body,
                head: &plan.branch,
                base,
                draft: settings.draft || draft,
                maintainer_can_modify: true,
            })
            .await
        {
            Ok(pr) => pr,
            // A retried request that GitHub had already carried out.
            Err(e) if e.is_unprocessable_with("already exists") => github
                .open_pull_request(&plan.branch)
                .await?
                .ok_or(e)
                .context("the pull request exists but cannot be found")?,
            Err(e) => return Err(e.into()),
        };
        decorate(github, config, &created, true).await;
        return Ok((Operation::Created, created));
    };
    if pr.base.name != base {
        progress::warning(
            "pull request base",
            &format!(
                "pull request #{} merges into `{}`, not `{base}`; change its base on GitHub if that is wrong",
                pr.number, pr.base.name
            ),
        );
    }
    let text_changed = pr.title != plan.pr_title
        || !same_but_for_run_links(pr.body.as_deref().unwrap_or_default(), &plan.pr_body);
    let pr = if text_changed {
        github
            .update_pull_request(pr.number, &plan.pr_title, &plan.pr_body)
            .await?
    } else {
        pr
    };
    decorate(github, config, &pr, false).await;
    let operation = if text_changed || !branch_up_to_date {
        Operation::Updated
    } else {
        Operation::None
    };
    Ok((operation, pr))
}

static RUN_LINK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"/actions/runs/[0-9]+(/attempts/[0-9]+)?").expect("compiles")
});

/// Whether two bodies differ at most in their links to the workflow run: every run has its own,
/// and a re-run with nothing new must not rewrite the pull request just for that.
fn same_but_for_run_links(old: &str, new: &str) -> bool {
    old == new
        || RUN_LINK.replace_all(old, "/actions/runs/")
            == RUN_LINK.replace_all(new, "/actions/runs/")
}

/// Adds the configured labels and assignees the pull request lacks, and on a new pull request
/// asks for reviews. A refusal here is a warning: the pull request itself is what matters.
async fn decorate(github: &GitHub, config: &Config, pr: &PullRequest, new: bool) {
    let settings = &config.pull_request;
    let labels: Vec<String> = settings
        .labels
        .iter()
        .filter(|l| !pr.labels.iter().any(|have| have.name == l.as_str()))
        .map(ToString::to_string)
        .collect();
    let assignees: Vec<String> = settings
        .assignees
        .iter()
        .filter(|a| {
            !pr.assignees
                .iter()
                .any(|have| have.login.eq_ignore_ascii_case(a))
        })
        .map(ToString::to_string)
        .collect();
    let mut failures = Vec::new();
    if !labels.is_empty() {
        if let Err(e) = github.add_labels(pr.number, &labels).await {
            failures.push(e);
        }
    }
    if !assignees.is_empty() {
        if let Err(e) = github.add_assignees(pr.number, &assignees).await {
            failures.push(e);
        }
    }
    if new && !(settings.reviewers.is_empty() && settings.team_reviewers.is_empty()) {
        if let Err(e) = github
            .request_reviewers(
                pr.number,
                &crate::config::strings(&settings.reviewers),
                &crate::config::strings(&settings.team_reviewers),
            )
            .await
        {
            failures.push(e);
        }
    }
    for failure in failures {
        progress::warning("pull request settings", &failure.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: &str, sha: &str) -> TreeEntry {
        TreeEntry {
            path: path.into(),
            mode: if kind == "tree" { "040000" } else { "100644" }.into(),
            kind: kind.into(),
            sha: sha.into(),
        }
    }

    #[test]
    fn blob_ids_match_git() {
        // `printf hello | git hash-object --stdin`
        assert_eq!(
            git_blob_sha(b"hello"),
            "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"
        );
        assert_eq!(
            git_blob_sha(b""),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
    }

    #[test]
    fn directories_lead_to_each_path() {
        let dirs = directories_leading_to(&["a/b/t.yaml", "a/c.csv", "top.json"]);
        assert_eq!(
            dirs.get("").unwrap().iter().collect::<Vec<_>>(),
            ["a", "top.json"]
        );
        assert_eq!(
            dirs.get("a").unwrap().iter().collect::<Vec<_>>(),
            ["b", "c.csv"]
        );
        assert_eq!(
            dirs.get("a/b").unwrap().iter().collect::<Vec<_>>(),
            ["t.yaml"]
        );
    }

    #[test]
    fn a_level_equals_base_plus_our_files_only() {
        let wanted = BTreeMap::from([("t.yaml", ("100644", "new"))]);
        let leading = BTreeSet::from(["t.yaml".to_owned()]);
        let base = [
            entry("README.md", "blob", "r1"),
            entry("t.yaml", "blob", "old"),
        ];
        let good = [
            entry("README.md", "blob", "r1"),
            entry("t.yaml", "blob", "new"),
        ];
        assert_eq!(
            compare_level("", &base, &good, &wanted, &leading),
            LevelVerdict::EqualSoFar(vec![])
        );
        let stale = [
            entry("README.md", "blob", "r1"),
            entry("t.yaml", "blob", "old"),
        ];
        assert_eq!(
            compare_level("", &base, &stale, &wanted, &leading),
            LevelVerdict::Differs
        );
        let foreign = [
            entry("README.md", "blob", "r2"),
            entry("t.yaml", "blob", "new"),
        ];
        assert_eq!(
            compare_level("", &base, &foreign, &wanted, &leading),
            LevelVerdict::Differs
        );
        let extra = [
            entry("README.md", "blob", "r1"),
            entry("t.yaml", "blob", "new"),
            entry("x", "blob", "x"),
        ];
        assert_eq!(
            compare_level("", &base, &extra, &wanted, &leading),
            LevelVerdict::Differs
        );
    }

    #[test]
    fn a_wanted_file_missing_from_both_trees_differs() {
        // A new CSV at the root, and one in a directory neither tree has.
        let wanted = BTreeMap::from([("load-form.csv", ("100644", "csv"))]);
        let leading = BTreeSet::from(["load-form.csv".to_owned()]);
        let same = [entry("t.yaml", "blob", "t")];
        assert_eq!(
            compare_level("", &same, &same, &wanted, &leading),
            LevelVerdict::Differs
        );
        let wanted = BTreeMap::from([("forms/load-form.csv", ("100644", "csv"))]);
        let leading = BTreeSet::from(["forms".to_owned()]);
        assert_eq!(
            compare_level("", &same, &same, &wanted, &leading),
            LevelVerdict::Differs
        );
    }

    #[test]
    fn a_level_descends_into_directories_on_the_way() {
        let wanted = BTreeMap::from([("cfn/t.yaml", ("100644", "new"))]);
        let leading = BTreeSet::from(["cfn".to_owned()]);
        let base = [entry("cfn", "tree", "d1")];
        let branch = [entry("cfn", "tree", "d2")];
        assert_eq!(
            compare_level("", &base, &branch, &wanted, &leading),
            LevelVerdict::EqualSoFar(vec![("d1".into(), "d2".into(), "cfn".into())])
        );
        assert_eq!(
            compare_level("", &base, &base, &wanted, &leading),
            LevelVerdict::Differs
        );
    }

    #[test]
    fn run_links_alone_do_not_make_a_body_new() {
        let old = "AMI ami-1\n[run](https://github.com/o/r/actions/runs/41/attempts/2).";
        let new = "AMI ami-1\n[run](https://github.com/o/r/actions/runs/42).";
        assert!(same_but_for_run_links(old, new));
        assert!(!same_but_for_run_links(old, &new.replace("ami-1", "ami-2")));
    }

    #[test]
    fn repository_paths_use_slashes() {
        assert_eq!(repo_path(Path::new("./cfn/neo4j.yaml")), "cfn/neo4j.yaml");
    }
}
