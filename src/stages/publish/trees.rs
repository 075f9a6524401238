//! The release commit's files and how the release branch's trees compare with the base's, read
//! one level at a time; the paths a release commit may change.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

use crate::config::Config;
use crate::github::{GitHub, GitHubError, TreeEntry};

/// A file the release commit writes.
#[derive(Debug, Clone)]
pub(super) struct FileUpdate {
    pub(super) path: String,
    pub(super) mode: String,
    pub(super) bytes: Vec<u8>,
    /// Git's blob SHA of `bytes`, to compare with what the branch holds without uploading.
    sha: String,
}

impl FileUpdate {
    pub(super) fn new(path: String, mode: String, bytes: Vec<u8>) -> Self {
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
pub(super) fn repo_path(path: &Path) -> String {
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
pub(super) fn directories_leading_to(paths: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
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
pub(super) enum LevelVerdict {
    /// Something differs from "base plus our files".
    Differs,
    /// Equal so far; these subdirectories (base tree, branch tree, path) still need a look.
    EqualSoFar(Vec<(String, String, String)>),
}

/// Compares one directory: every entry must equal the base's, except our files (which must hold
/// exactly our blobs) and the directories leading to them (compared one level down).
pub(super) fn compare_level(
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
pub(super) struct Trees<'a> {
    github: &'a GitHub,
    listed: HashMap<String, Vec<TreeEntry>>,
}

impl<'a> Trees<'a> {
    pub(super) fn new(github: &'a GitHub) -> Self {
        Self {
            github,
            listed: HashMap::new(),
        }
    }

    pub(super) async fn list(&mut self, sha: &str) -> Result<Vec<TreeEntry>, GitHubError> {
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
    pub(super) async fn entry(
        &mut self,
        root: &str,
        path: &str,
    ) -> Result<Option<TreeEntry>, GitHubError> {
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
    pub(super) async fn changed_paths(
        &mut self,
        old: &str,
        new: &str,
    ) -> Result<Vec<String>, GitHubError> {
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
    pub(super) async fn is_base_plus(
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

/// The paths a release commit may change: the templates, the load form CSV and the
/// manifests directory of the config.
pub(super) struct OurPaths {
    files: Vec<String>,
    dir: Option<String>,
}

impl OurPaths {
    pub(super) fn of(config: &Config) -> Self {
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

    pub(super) fn allows(&self, path: &str) -> bool {
        self.files.iter().any(|f| f == path)
            || self.dir.as_ref().is_some_and(|d| {
                path.strip_prefix(d.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            })
    }
}
