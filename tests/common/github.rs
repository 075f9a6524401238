//! An in-process fake of the GitHub REST API the publish stage uses. It keeps real Git objects
//! (blobs, trees and commits with Git's own object IDs), refs and pull requests, answers with
//! GitHub's documented shapes and errors, records every request, and can be told to fail.
//!
//! It holds every request, and every answer of its own, to GitHub's OpenAPI description
//! (`common::openapi`): a request that breaks a rule is answered 400 (404 for an unknown
//! operation) with the rule in the message and recorded in [`State::violations`]; an answer that
//! breaks one is recorded too. A [`FakeGitHub`] dropped with violations left fails its test, so
//! every scenario checks its requests without asking; [`FakeGitHub::take_violations`] is for the
//! tests that break rules on purpose.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};

use super::openapi::{self, Rule, Violation};

/// The token the fake accepts; tests check it never appears in the binary's output.
pub const TOKEN: &str = "ghs_fakeTokenThatMustNeverBePrinted0123456789";

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query string.
    pub query: String,
    /// The JSON body (`null` when none).
    pub body: Value,
    /// Every header line as sent, names lower-case, in order (`authorization` left out).
    pub headers: Vec<(String, String)>,
    /// The operationId of GitHub's description it called, when it matched one.
    pub operation: Option<String>,
}

impl Request {
    /// Whether the request could change state.
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }

    /// The values of every line of header `name`.
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A canned failure for the next matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    /// The method to match.
    pub method: &'static str,
    /// A substring of the path to match.
    pub path_contains: &'static str,
    /// The status to answer.
    pub status: u16,
    /// The JSON body to answer.
    pub body: Value,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// How many requests it answers.
    pub times: u32,
}

/// A pull request as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Pull {
    pub number: u64,
    pub state: String,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
    pub maintainer_can_modify: bool,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub reviewers: Vec<String>,
    pub team_reviewers: Vec<String>,
}

/// A commit as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Commit {
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
    /// Whether the request named an author or committer (GitHub signs only commits that don't).
    pub custom_identity: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    mode: String,
    kind: String,
    sha: String,
}

/// The fake's whole state.
#[derive(Default)]
pub struct State {
    pub owner: String,
    pub repo: String,
    pub default_branch: String,
    blobs: HashMap<String, Vec<u8>>,
    trees: HashMap<String, BTreeMap<String, Entry>>,
    pub commits: HashMap<String, Commit>,
    /// `heads/main` → commit.
    pub refs: BTreeMap<String, String>,
    pub pulls: Vec<Pull>,
    pub requests: Vec<Request>,
    pub faults: Vec<Fault>,
    /// The rules of GitHub's OpenAPI description that requests (or the fake's answers) broke;
    /// the fake fails the test that owns it when any is left at its end.
    pub violations: Vec<Violation>,
    /// The repository setting "Allow GitHub Actions to create and approve pull requests".
    pub actions_may_create_pull_requests: bool,
    clock: u64,
}

fn sha1_hex(bytes: &[u8]) -> String {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(bytes);
    hasher.digest().to_string()
}

fn hex_to_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

impl State {
    fn put_blob(&mut self, bytes: Vec<u8>) -> String {
        let mut object = format!("blob {}\0", bytes.len()).into_bytes();
        object.extend_from_slice(&bytes);
        let sha = sha1_hex(&object);
        self.blobs.insert(sha.clone(), bytes);
        sha
    }

    /// Stores one tree level with Git's encoding and ordering; returns its object ID.
    fn put_tree(&mut self, entries: BTreeMap<String, Entry>) -> String {
        let mut names: Vec<&String> = entries.keys().collect();
        let sort_key = |name: &String| {
            if entries[name].kind == "tree" {
                format!("{name}/")
            } else {
                name.clone()
            }
        };
        names.sort_by_key(|n| sort_key(n));
        let mut content = Vec::new();
        for name in names {
            let entry = &entries[name];
            let mode = entry.mode.trim_start_matches('0');
            content.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            content.extend_from_slice(&hex_to_bytes(&entry.sha));
        }
        let mut object = format!("tree {}\0", content.len()).into_bytes();
        object.extend_from_slice(&content);
        let sha = sha1_hex(&object);
        self.trees.insert(sha.clone(), entries);
        sha
    }

    /// Every file under a tree: path → (mode, blob).
    fn flatten(&self, tree: &str, prefix: &str, out: &mut BTreeMap<String, (String, String)>) {
        for (name, entry) in &self.trees[tree] {
            let path = format!("{prefix}{name}");
            if entry.kind == "tree" {
                self.flatten(&entry.sha, &format!("{path}/"), out);
            } else {
                out.insert(path, (entry.mode.clone(), entry.sha.clone()));
            }
        }
    }

    /// Builds the nested trees for a set of files; returns the root's object ID.
    fn build_tree(&mut self, files: &BTreeMap<String, (String, String)>) -> String {
        let mut here: BTreeMap<String, Entry> = BTreeMap::new();
        let mut below: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
        for (path, (mode, sha)) in files {
            match path.split_once('/') {
                Some((dir, rest)) => {
                    below
                        .entry(dir.to_owned())
                        .or_default()
                        .insert(rest.to_owned(), (mode.clone(), sha.clone()));
                }
                None => {
                    here.insert(
                        path.clone(),
                        Entry {
                            mode: mode.clone(),
                            kind: "blob".into(),
                            sha: sha.clone(),
                        },
                    );
                }
            }
        }
        for (dir, files) in below {
            let sha = self.build_tree(&files);
            here.insert(
                dir,
                Entry {
                    mode: "040000".into(),
                    kind: "tree".into(),
                    sha,
                },
            );
        }
        self.put_tree(here)
    }

    fn put_commit(
        &mut self,
        tree: &str,
        parents: Vec<String>,
        message: &str,
        custom: bool,
    ) -> String {
        self.clock += 1;
        let mut text = format!("tree {tree}\n");
        for parent in &parents {
            text.push_str(&format!("parent {parent}\n"));
        }
        text.push_str(&format!(
            "author github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com> {} +0000\n\n{message}",
            1_700_000_000 + self.clock
        ));
        let object = format!("commit {}\0{text}", text.len());
        let sha = sha1_hex(object.as_bytes());
        self.commits.insert(
            sha.clone(),
            Commit {
                tree: tree.into(),
                parents,
                message: message.into(),
                custom_identity: custom,
            },
        );
        sha
    }

    /// Commits `files` (path → content) on top of `branch`, creating it from nothing when new.
    pub fn commit_files(&mut self, branch: &str, files: &[(&str, &[u8])], message: &str) -> String {
        let parent = self.refs.get(&format!("heads/{branch}")).cloned();
        let mut flat = BTreeMap::new();
        if let Some(parent) = &parent {
            let tree = self.commits[parent].tree.clone();
            self.flatten(&tree, "", &mut flat);
        }
        for (path, bytes) in files {
            let sha = self.put_blob(bytes.to_vec());
            flat.insert(path.to_string(), ("100644".into(), sha));
        }
        let tree = self.build_tree(&flat);
        let sha = self.put_commit(&tree, parent.into_iter().collect(), message, false);
        self.refs.insert(format!("heads/{branch}"), sha.clone());
        sha
    }

    /// The content of `path` on `branch`.
    pub fn file(&self, branch: &str, path: &str) -> Option<Vec<u8>> {
        let head = self.refs.get(&format!("heads/{branch}"))?;
        let mut flat = BTreeMap::new();
        self.flatten(&self.commits[head].tree, "", &mut flat);
        let (_, sha) = flat.get(path)?;
        self.blobs.get(sha).cloned()
    }

    /// Every file on `branch`: path → blob.
    pub fn files(&self, branch: &str) -> BTreeMap<String, String> {
        let head = &self.refs[&format!("heads/{branch}")];
        let mut flat = BTreeMap::new();
        self.flatten(&self.commits[head].tree, "", &mut flat);
        flat.into_iter().map(|(p, (_, sha))| (p, sha)).collect()
    }

    /// The head commit of `branch`.
    pub fn head(&self, branch: &str) -> Option<String> {
        self.refs.get(&format!("heads/{branch}")).cloned()
    }

    /// The requests that could change state.
    pub fn writes(&self) -> Vec<Request> {
        self.requests
            .iter()
            .filter(|r| r.is_write())
            .cloned()
            .collect()
    }

    fn api(&self, tail: &str) -> String {
        format!(
            "https://api.github.com/repos/{}/{}{tail}",
            self.owner, self.repo
        )
    }

    fn ref_json(&self, name: &str) -> Value {
        json!({
            "ref": format!("refs/{name}"),
            "node_id": "REF_fake",
            "url": self.api(&format!("/git/refs/{}", encode_ref(name))),
            "object": {"sha": self.refs[name], "type": "commit", "url": self.api(&format!("/git/commits/{}", self.refs[name]))},
        })
    }

    fn commit_json(&self, sha: &str) -> Value {
        let commit = &self.commits[sha];
        let identity = json!({"name": "github-actions[bot]", "email": "41898282+github-actions[bot]@users.noreply.github.com", "date": "2026-11-26T00:00:00Z"});
        json!({
            "sha": sha,
            "node_id": "C_fake",
            "url": self.api(&format!("/git/commits/{sha}")),
            "html_url": self.web(&format!("/commit/{sha}")),
            "author": identity,
            "committer": identity,
            "message": commit.message,
            "tree": {"sha": commit.tree, "url": self.api(&format!("/git/trees/{}", commit.tree))},
            "parents": commit.parents.iter().map(|p| json!({"sha": p, "url": self.api(&format!("/git/commits/{p}")), "html_url": self.web(&format!("/commit/{p}"))})).collect::<Vec<_>>(),
            "verification": {"verified": !commit.custom_identity, "reason": if commit.custom_identity { "unsigned" } else { "valid" }, "signature": null, "payload": null, "verified_at": null},
        })
    }

    fn tree_json(&self, sha: &str) -> Value {
        let entries: Vec<Value> = self.trees[sha]
            .iter()
            .map(|(name, e)| {
                let mut entry = json!({"path": name, "mode": e.mode, "type": e.kind, "sha": e.sha, "url": self.api(&format!("/git/{}s/{}", e.kind, e.sha))});
                if e.kind == "blob" {
                    entry["size"] = json!(self.blobs[&e.sha].len());
                }
                entry
            })
            .collect();
        json!({"sha": sha, "url": self.api(&format!("/git/trees/{sha}")), "tree": entries, "truncated": false})
    }

    fn web(&self, tail: &str) -> String {
        format!("https://github.com/{}/{}{tail}", self.owner, self.repo)
    }

    /// A `simple-user`. GitHub percent-encodes logins in URLs (`github-actions%5Bbot%5D`).
    fn user_json(&self, login: &str) -> Value {
        let id = 1 + login.bytes().map(u64::from).sum::<u64>();
        let api = format!("https://api.github.com/users/{}", encode(login));
        json!({
            "login": login, "id": id, "node_id": format!("U_fake{id}"),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
            "gravatar_id": "", "url": api, "html_url": format!("https://github.com/{}", encode(login)),
            "followers_url": format!("{api}/followers"), "following_url": format!("{api}/following{{/other_user}}"),
            "gists_url": format!("{api}/gists{{/gist_id}}"), "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{api}/subscriptions"), "organizations_url": format!("{api}/orgs"),
            "repos_url": format!("{api}/repos"), "events_url": format!("{api}/events{{/privacy}}"),
            "received_events_url": format!("{api}/received_events"),
            "type": if login.ends_with("[bot]") { "Bot" } else { "User" },
            "user_view_type": "public", "site_admin": false,
        })
    }

    /// A `team` (also a complete `team-simple`).
    fn team_json(&self, slug: &str) -> Value {
        let id = 100 + slug.bytes().map(u64::from).sum::<u64>();
        let api = format!("https://api.github.com/organizations/1/team/{id}");
        json!({
            "id": id, "node_id": format!("T_fake{id}"), "url": api, "html_url": format!("https://github.com/orgs/{}/teams/{slug}", self.owner),
            "name": slug, "slug": slug, "description": null, "privacy": "closed", "notification_setting": "notifications_enabled",
            "permission": "pull", "members_url": format!("{api}/members{{/member}}"), "repositories_url": format!("{api}/repos"),
            "parent": null, "type": "organization",
        })
    }

    /// A `label`. Labels that add-labels creates have no description: GitHub sends `null`
    /// (github/docs#18857, github/rest-api-description#1812).
    fn label_json(&self, name: &str) -> Value {
        let id = 10_000 + name.bytes().map(u64::from).sum::<u64>();
        json!({"id": id, "node_id": format!("LA_fake{id}"), "url": self.api(&format!("/labels/{}", encode(name))), "name": name, "description": null, "color": "ededed", "default": false})
    }

    /// The repository: `full-repository` (GET /repos/{owner}/{repo}) or the `repository` a pull
    /// request's head and base carry.
    fn repository_json(&self, full: bool) -> Value {
        let api = self.api("");
        let open = self.pulls.iter().filter(|p| p.state == "open").count();
        let mut repo = json!({
            "id": 1, "node_id": "R_fake", "name": self.repo, "full_name": format!("{}/{}", self.owner, self.repo),
            "owner": self.user_json(&self.owner), "private": false, "html_url": self.web(""), "description": null,
            "fork": false, "url": api, "git_url": format!("git://github.com/{}/{}.git", self.owner, self.repo),
            "ssh_url": format!("git@github.com:{}/{}.git", self.owner, self.repo),
            "clone_url": format!("{}.git", self.web("")), "mirror_url": null, "svn_url": self.web(""),
        });
        extend(
            &mut repo,
            json!({
                "homepage": null, "language": null, "forks_count": 0, "forks": 0, "stargazers_count": 0,
                "watchers_count": 0, "watchers": 0, "size": 1, "default_branch": self.default_branch,
                "open_issues_count": open, "open_issues": open, "is_template": false, "topics": [],
                "has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false, "has_downloads": true,
                "has_discussions": false, "archived": false, "disabled": false, "visibility": "public",
                "pushed_at": "2026-11-26T00:00:00Z", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-11-26T00:00:00Z",
                "allow_forking": true, "web_commit_signoff_required": false, "license": null,
            }),
        );
        // The hypermedia URLs, as GitHub writes them (RFC 6570 templates where it does).
        for (key, tail) in [
            ("archive_url", "/{archive_format}{/ref}"),
            ("assignees_url", "/assignees{/user}"),
            ("blobs_url", "/git/blobs{/sha}"),
            ("branches_url", "/branches{/branch}"),
            ("collaborators_url", "/collaborators{/collaborator}"),
            ("comments_url", "/comments{/number}"),
            ("commits_url", "/commits{/sha}"),
            ("compare_url", "/compare/{base}...{head}"),
            ("contents_url", "/contents/{+path}"),
            ("contributors_url", "/contributors"),
            ("deployments_url", "/deployments"),
            ("downloads_url", "/downloads"),
            ("events_url", "/events"),
            ("forks_url", "/forks"),
            ("git_commits_url", "/git/commits{/sha}"),
            ("git_refs_url", "/git/refs{/sha}"),
            ("git_tags_url", "/git/tags{/sha}"),
            ("hooks_url", "/hooks"),
            ("issue_comment_url", "/issues/comments{/number}"),
            ("issue_events_url", "/issues/events{/number}"),
            ("issues_url", "/issues{/number}"),
            ("keys_url", "/keys{/key_id}"),
            ("labels_url", "/labels{/name}"),
            ("languages_url", "/languages"),
            ("merges_url", "/merges"),
            ("milestones_url", "/milestones{/number}"),
            (
                "notifications_url",
                "/notifications{?since,all,participating}",
            ),
            ("pulls_url", "/pulls{/number}"),
            ("releases_url", "/releases{/id}"),
            ("stargazers_url", "/stargazers"),
            ("statuses_url", "/statuses/{sha}"),
            ("subscribers_url", "/subscribers"),
            ("subscription_url", "/subscription"),
            ("tags_url", "/tags"),
            ("teams_url", "/teams"),
            ("trees_url", "/git/trees{/sha}"),
        ] {
            repo[key] = json!(format!("{api}{tail}"));
        }
        if full {
            repo["network_count"] = json!(0);
            repo["subscribers_count"] = json!(1);
            repo["allow_merge_commit"] = json!(true);
            repo["allow_squash_merge"] = json!(true);
            repo["allow_rebase_merge"] = json!(true);
            repo["delete_branch_on_merge"] = json!(false);
        }
        repo
    }

    /// Commits on `head` that `base` lacks.
    fn commits_between(&self, base: &str, head: &str) -> usize {
        let mut on_base = std::collections::HashSet::new();
        let mut stack: Vec<String> = self
            .refs
            .get(&format!("heads/{base}"))
            .into_iter()
            .cloned()
            .collect();
        while let Some(sha) = stack.pop() {
            if on_base.insert(sha.clone()) {
                stack.extend(self.commits[&sha].parents.iter().cloned());
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<String> = self
            .refs
            .get(&format!("heads/{head}"))
            .into_iter()
            .cloned()
            .collect();
        while let Some(sha) = stack.pop() {
            if !on_base.contains(&sha) && seen.insert(sha.clone()) {
                stack.extend(self.commits[&sha].parents.iter().cloned());
            }
        }
        seen.len()
    }

    /// One side of a pull request.
    fn branch_json(&self, branch: &str) -> Value {
        json!({
            "label": format!("{}:{branch}", self.owner), "ref": branch,
            "sha": self.refs.get(&format!("heads/{branch}")).cloned().unwrap_or_else(|| "0".repeat(40)),
            "user": self.user_json(&self.owner), "repo": self.repository_json(false),
        })
    }

    /// A `pull-request`, as creating, reading and updating one answer. `mergeable` is `null`
    /// and `mergeable_state` `unknown`: GitHub computes them in the background after every push
    /// (https://docs.github.com/rest/pulls/pulls#get-a-pull-request), so a client must not
    /// count on them.
    fn pull_full_json(&self, pull: &Pull) -> Value {
        let number = pull.number;
        let api = self.api(&format!("/pulls/{number}"));
        let issue = self.api(&format!("/issues/{number}"));
        let html = self.web(&format!("/pull/{number}"));
        let head_sha = self
            .refs
            .get(&format!("heads/{}", pull.head))
            .cloned()
            .unwrap_or_default();
        let statuses = self.api(&format!("/statuses/{head_sha}"));
        let files = {
            let mut base = BTreeMap::new();
            let mut head = BTreeMap::new();
            if let Some(sha) = self.refs.get(&format!("heads/{}", pull.base)) {
                self.flatten(&self.commits[sha].tree, "", &mut base);
            }
            if !head_sha.is_empty() {
                self.flatten(&self.commits[&head_sha].tree, "", &mut head);
            }
            base.keys()
                .chain(head.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|p| base.get(*p) != head.get(*p))
                .count()
        };
        let mut value = json!({
            "url": api, "id": 1000 + number, "node_id": format!("PR_fake{number}"), "html_url": html,
            "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"), "issue_url": issue,
            "commits_url": format!("{api}/commits"), "review_comments_url": format!("{api}/comments"),
            "review_comment_url": self.api("/pulls/comments{/number}"), "comments_url": format!("{issue}/comments"),
            "statuses_url": statuses, "number": number, "state": pull.state, "locked": false, "title": pull.title,
        });
        extend(
            &mut value,
            json!({
                "user": self.user_json("github-actions[bot]"),
                "body": if pull.body.is_empty() { Value::Null } else { json!(pull.body) },
                "labels": pull.labels.iter().map(|l| self.label_json(l)).collect::<Vec<_>>(),
                "milestone": null, "active_lock_reason": null,
                "created_at": "2026-11-26T00:00:00Z", "updated_at": "2026-11-26T00:00:00Z",
                "closed_at": if pull.state == "closed" { json!("2026-11-26T00:00:00Z") } else { Value::Null },
                "merged_at": null, "merge_commit_sha": null,
                "assignee": pull.assignees.first().map_or(Value::Null, |a| self.user_json(a)),
                "assignees": pull.assignees.iter().map(|a| self.user_json(a)).collect::<Vec<_>>(),
                "requested_reviewers": pull.reviewers.iter().map(|a| self.user_json(a)).collect::<Vec<_>>(),
                "requested_teams": pull.team_reviewers.iter().map(|t| self.team_json(t)).collect::<Vec<_>>(),
            }),
        );
        extend(
            &mut value,
            json!({
                "head": self.branch_json(&pull.head), "base": self.branch_json(&pull.base),
                "_links": {
                    "self": {"href": api}, "html": {"href": html}, "issue": {"href": issue},
                    "comments": {"href": format!("{issue}/comments")}, "review_comments": {"href": format!("{api}/comments")},
                    "review_comment": {"href": self.api("/pulls/comments{/number}")}, "commits": {"href": format!("{api}/commits")},
                    "statuses": {"href": statuses},
                },
                "author_association": "NONE", "auto_merge": null, "draft": pull.draft,
                "merged": false, "mergeable": null, "rebaseable": null, "mergeable_state": "unknown", "merged_by": null,
                "comments": 0, "review_comments": 0, "maintainer_can_modify": pull.maintainer_can_modify,
                "commits": self.commits_between(&pull.base, &pull.head), "additions": 0, "deletions": 0, "changed_files": files,
            }),
        );
        value
    }

    /// A `pull-request-simple`, the shorter shape lists and review requests answer with.
    fn pull_simple_json(&self, pull: &Pull) -> Value {
        let mut value = self.pull_full_json(pull);
        let fields = value.as_object_mut().expect("object");
        for key in [
            "merged",
            "mergeable",
            "rebaseable",
            "mergeable_state",
            "merged_by",
            "comments",
            "review_comments",
            "maintainer_can_modify",
            "commits",
            "additions",
            "deletions",
            "changed_files",
        ] {
            fields.remove(key);
        }
        let teams: Vec<Value> = pull
            .team_reviewers
            .iter()
            .map(|t| self.team_json(t))
            .collect();
        fields.insert("requested_teams".into(), json!(teams));
        value
    }

    /// The `issue` of a pull request, as add-assignees answers.
    fn issue_json(&self, pull: &Pull) -> Value {
        let full = self.pull_full_json(pull);
        let number = pull.number;
        let issue = self.api(&format!("/issues/{number}"));
        let mut value = json!({
            "id": 2000 + number, "node_id": format!("I_fake{number}"), "url": issue, "repository_url": self.api(""),
            "labels_url": format!("{issue}/labels{{/name}}"), "comments_url": format!("{issue}/comments"),
            "events_url": format!("{issue}/events"), "html_url": full["html_url"], "number": number,
            "state": pull.state, "state_reason": null, "title": pull.title, "body": full["body"], "user": full["user"],
        });
        extend(
            &mut value,
            json!({
                "labels": full["labels"], "assignee": full["assignee"], "assignees": full["assignees"],
                "milestone": null, "locked": false, "active_lock_reason": null, "comments": 0,
                "pull_request": {"url": full["url"], "html_url": full["html_url"], "diff_url": full["diff_url"], "patch_url": full["patch_url"], "merged_at": null},
                "closed_at": full["closed_at"], "created_at": full["created_at"], "updated_at": full["updated_at"],
                "draft": pull.draft, "closed_by": null, "author_association": "NONE",
                "timeline_url": format!("{issue}/timeline"),
            }),
        );
        value
    }
}

fn error(status: u16, message: &str, docs: &str) -> (u16, Value) {
    (
        status,
        json!({"message": message, "documentation_url": format!("https://docs.github.com/rest/{docs}"), "status": status.to_string()}),
    )
}

fn validation(message: &str, docs: &str) -> (u16, Value) {
    (
        422,
        json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": message}], "documentation_url": format!("https://docs.github.com/rest/{docs}"), "status": "422"}),
    )
}

/// Adds the fields of `more` to the object `value` (one `json!` literal per part keeps each
/// under the macro's recursion limit).
fn extend(value: &mut Value, more: Value) {
    let Value::Object(more) = more else {
        panic!("not an object: {more}")
    };
    value.as_object_mut().expect("an object").extend(more);
}

/// What stays unescaped in a URL path segment: RFC 3986's unreserved characters.
const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One path segment, percent-encoded as GitHub writes it in URLs.
fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, UNRESERVED).to_string()
}

/// A ref name for a URL, its `/` kept.
fn encode_ref(name: &str) -> String {
    name.split('/').map(encode).collect::<Vec<_>>().join("/")
}

fn decode_path(path: &str) -> String {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .expect("utf-8 path")
        .into_owned()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == key).then(|| decode_path(v))
    })
}

/// Answers one request against the state, the way GitHub does.
fn answer(
    state: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    body: &Value,
) -> (u16, Value) {
    let prefix = format!("/repos/{}/{}", state.owner, state.repo);
    let Some(tail) = path.strip_prefix(&prefix) else {
        return error(404, "Not Found", "repos/repos#get-a-repository");
    };
    let segments: Vec<&str> = tail.trim_start_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", [""]) => (200, state.repository_json(true)),
        ("GET", ["git", "ref", rest @ ..]) => {
            let name = decode_path(&rest.join("/"));
            if state.refs.contains_key(&name) {
                (200, state.ref_json(&name))
            } else {
                error(404, "Not Found", "git/refs#get-a-reference")
            }
        }
        ("POST", ["git", "refs"]) => {
            let full = body["ref"].as_str().unwrap_or_default();
            let sha = body["sha"].as_str().unwrap_or_default().to_owned();
            let Some(name) = full
                .strip_prefix("refs/")
                .filter(|n| n.matches('/').count() >= 1)
            else {
                return error(
                    422,
                    "Reference name must start with 'refs/' and have at least two slashes.",
                    "git/refs#create-a-reference",
                );
            };
            if !state.commits.contains_key(&sha) {
                return error(422, "Object does not exist", "git/refs#create-a-reference");
            }
            if state.refs.contains_key(name) {
                return error(
                    422,
                    "Reference already exists",
                    "git/refs#create-a-reference",
                );
            }
            state.refs.insert(name.to_owned(), sha);
            (201, state.ref_json(name))
        }
        ("PATCH", ["git", "refs", rest @ ..]) => {
            let name = decode_path(&rest.join("/"));
            let sha = body["sha"].as_str().unwrap_or_default().to_owned();
            let Some(current) = state.refs.get(&name).cloned() else {
                return error(
                    422,
                    "Reference does not exist",
                    "git/refs#update-a-reference",
                );
            };
            if !state.commits.contains_key(&sha) {
                return error(422, "Object does not exist", "git/refs#update-a-reference");
            }
            let fast_forward = state.commits[&sha].parents.contains(&current) || sha == current;
            if !fast_forward && body["force"] != json!(true) {
                return error(
                    422,
                    "Update is not a fast forward",
                    "git/refs#update-a-reference",
                );
            }
            state.refs.insert(name.clone(), sha);
            (200, state.ref_json(&name))
        }
        ("DELETE", ["git", "refs", rest @ ..]) => {
            let name = decode_path(&rest.join("/"));
            if state.refs.remove(&name).is_some() {
                (204, Value::Null)
            } else {
                error(
                    422,
                    "Reference does not exist",
                    "git/refs#delete-a-reference",
                )
            }
        }
        ("GET", ["git", "commits", sha]) => match state.commits.contains_key(*sha) {
            true => (200, state.commit_json(sha)),
            false => error(404, "Not Found", "git/commits#get-a-commit-object"),
        },
        ("POST", ["git", "commits"]) => {
            let tree = body["tree"].as_str().unwrap_or_default().to_owned();
            if !state.trees.contains_key(&tree) {
                return error(
                    422,
                    "Tree SHA does not exist",
                    "git/commits#create-a-commit",
                );
            }
            let parents: Vec<String> = body["parents"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if parents.iter().any(|p| !state.commits.contains_key(p)) {
                return error(
                    422,
                    "Parent SHA does not exist or is not a commit object",
                    "git/commits#create-a-commit",
                );
            }
            let custom = body.get("author").is_some() || body.get("committer").is_some();
            let message = body["message"].as_str().unwrap_or_default().to_owned();
            let sha = state.put_commit(&tree, parents, &message, custom);
            (201, state.commit_json(&sha))
        }
        ("GET", ["git", "trees", sha]) => match state.trees.contains_key(*sha) {
            true => (200, state.tree_json(sha)),
            false => error(404, "Not Found", "git/trees#get-a-tree"),
        },
        ("POST", ["git", "trees"]) => {
            let mut flat = BTreeMap::new();
            if let Some(base) = body["base_tree"].as_str() {
                if !state.trees.contains_key(base) {
                    return error(422, "Invalid tree info", "git/trees#create-a-tree");
                }
                state.flatten(base, "", &mut flat);
            }
            for entry in body["tree"].as_array().cloned().unwrap_or_default() {
                let path = entry["path"].as_str().unwrap_or_default().to_owned();
                let mode = entry["mode"].as_str().unwrap_or_default().to_owned();
                if !["100644", "100755", "120000"].contains(&mode.as_str()) {
                    return error(422, "Invalid tree info", "git/trees#create-a-tree");
                }
                let sha = if let Some(content) = entry["content"].as_str() {
                    state.put_blob(content.as_bytes().to_vec())
                } else if entry["sha"].is_null() {
                    flat.remove(&path);
                    continue;
                } else {
                    let sha = entry["sha"].as_str().unwrap_or_default().to_owned();
                    if !state.blobs.contains_key(&sha) {
                        return error(422, "Invalid tree info", "git/trees#create-a-tree");
                    }
                    sha
                };
                flat.insert(path, (mode, sha));
            }
            let sha = state.build_tree(&flat);
            (201, state.tree_json(&sha))
        }
        ("GET", ["git", "blobs", sha]) => match state.blobs.get(*sha) {
            Some(bytes) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
                // GitHub wraps blob content at 60 characters.
                let wrapped: Vec<String> = encoded
                    .as_bytes()
                    .chunks(60)
                    .map(|c| String::from_utf8(c.to_vec()).unwrap())
                    .collect();
                (
                    200,
                    json!({"sha": sha, "node_id": "B_fake", "size": bytes.len(), "url": state.api(&format!("/git/blobs/{sha}")), "content": wrapped.join("\n") + "\n", "encoding": "base64"}),
                )
            }
            None => error(404, "Not Found", "git/blobs#get-a-blob"),
        },
        ("POST", ["git", "blobs"]) => {
            let content = body["content"].as_str().unwrap_or_default();
            let bytes = match body["encoding"].as_str() {
                Some("base64") => match base64::engine::general_purpose::STANDARD.decode(content) {
                    Ok(bytes) => bytes,
                    Err(_) => return error(422, "Invalid base64", "git/blobs#create-a-blob"),
                },
                _ => content.as_bytes().to_vec(),
            };
            let sha = state.put_blob(bytes);
            (
                201,
                json!({"sha": sha, "url": state.api(&format!("/git/blobs/{sha}"))}),
            )
        }
        ("GET", ["pulls"]) => {
            // As https://docs.github.com/rest/pulls/pulls#list-pull-requests behaves: `head`
            // filters only in the form `user:ref-name` (a bare branch name filters nothing),
            // the newest come first, and 30 to a page unless `per_page` says otherwise.
            let wanted_state = query_param(query, "state").unwrap_or_else(|| "open".into());
            let head = query_param(query, "head").filter(|h| h.contains(':'));
            let per_page: usize = query_param(query, "per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30);
            let page: usize = query_param(query, "page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let found: Vec<Value> = state
                .pulls
                .iter()
                .rev()
                .filter(|p| wanted_state == "all" || p.state == wanted_state)
                .filter(|p| {
                    head.as_ref()
                        .is_none_or(|h| *h == format!("{}:{}", state.owner, p.head))
                })
                .skip(per_page * page.saturating_sub(1))
                .take(per_page)
                .map(|p| state.pull_simple_json(p))
                .collect();
            (200, Value::Array(found))
        }
        ("POST", ["pulls"]) => {
            if !state.actions_may_create_pull_requests {
                return error(
                    403,
                    "GitHub Actions is not permitted to create or approve pull requests.",
                    "pulls/pulls#create-a-pull-request",
                );
            }
            let head = body["head"].as_str().unwrap_or_default().to_owned();
            let head = head
                .split_once(':')
                .map_or(head.clone(), |(_, b)| b.to_owned());
            let base = body["base"].as_str().unwrap_or_default().to_owned();
            if !state.refs.contains_key(&format!("heads/{base}")) {
                return validation("base: invalid", "pulls/pulls#create-a-pull-request");
            }
            let Some(head_sha) = state.refs.get(&format!("heads/{head}")).cloned() else {
                return validation("head: invalid", "pulls/pulls#create-a-pull-request");
            };
            if head_sha == state.refs[&format!("heads/{base}")] {
                return validation(
                    &format!("No commits between {base} and {head}"),
                    "pulls/pulls#create-a-pull-request",
                );
            }
            if state
                .pulls
                .iter()
                .any(|p| p.state == "open" && p.head == head)
            {
                return validation(
                    &format!("A pull request already exists for {}:{head}.", state.owner),
                    "pulls/pulls#create-a-pull-request",
                );
            }
            if body["body"]
                .as_str()
                .is_some_and(|b| b.chars().count() > 65_536)
            {
                return validation(
                    "body is too long (maximum is 65536 characters)",
                    "pulls/pulls#create-a-pull-request",
                );
            }
            let pull = Pull {
                number: state.pulls.len() as u64 + 1,
                state: "open".into(),
                title: body["title"].as_str().unwrap_or_default().into(),
                body: body["body"].as_str().unwrap_or_default().into(),
                head,
                base,
                draft: body["draft"] == json!(true),
                maintainer_can_modify: body["maintainer_can_modify"] == json!(true),
                labels: Vec::new(),
                assignees: Vec::new(),
                reviewers: Vec::new(),
                team_reviewers: Vec::new(),
            };
            state.pulls.push(pull.clone());
            let answer = state.pull_full_json(&pull);
            (201, answer)
        }
        ("PATCH", ["pulls", number]) => {
            let Some(index) = state
                .pulls
                .iter()
                .position(|p| p.number.to_string() == *number)
            else {
                return error(404, "Not Found", "pulls/pulls#update-a-pull-request");
            };
            if let Some(title) = body["title"].as_str() {
                state.pulls[index].title = title.into();
            }
            if let Some(text) = body["body"].as_str() {
                if text.chars().count() > 65_536 {
                    return validation(
                        "body is too long (maximum is 65536 characters)",
                        "pulls/pulls#update-a-pull-request",
                    );
                }
                state.pulls[index].body = text.into();
            }
            let pull = state.pulls[index].clone();
            (200, state.pull_full_json(&pull))
        }
        ("POST", ["issues", number, what @ ("labels" | "assignees")]) => {
            let Some(index) = state
                .pulls
                .iter()
                .position(|p| p.number.to_string() == *number)
            else {
                return error(404, "Not Found", "issues/labels#add-labels-to-an-issue");
            };
            let values: Vec<String> = body[*what]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let list = if *what == "labels" {
                &mut state.pulls[index].labels
            } else {
                &mut state.pulls[index].assignees
            };
            for value in values {
                if !list.contains(&value) {
                    list.push(value);
                }
            }
            let pull = state.pulls[index].clone();
            // add-labels answers every label of the issue; add-assignees the issue.
            let answer = if *what == "labels" {
                json!(pull
                    .labels
                    .iter()
                    .map(|l| state.label_json(l))
                    .collect::<Vec<_>>())
            } else {
                state.issue_json(&pull)
            };
            (if *what == "labels" { 200 } else { 201 }, answer)
        }
        ("POST", ["pulls", number, "requested_reviewers"]) => {
            let Some(index) = state
                .pulls
                .iter()
                .position(|p| p.number.to_string() == *number)
            else {
                return error(
                    404,
                    "Not Found",
                    "pulls/review-requests#request-reviewers-for-a-pull-request",
                );
            };
            for (key, list) in [("reviewers", false), ("team_reviewers", true)] {
                for value in body[key].as_array().cloned().unwrap_or_default() {
                    let value = value.as_str().unwrap_or_default().to_owned();
                    let target = if list {
                        &mut state.pulls[index].team_reviewers
                    } else {
                        &mut state.pulls[index].reviewers
                    };
                    if !target.contains(&value) {
                        target.push(value);
                    }
                }
            }
            let pull = state.pulls[index].clone();
            (201, state.pull_simple_json(&pull))
        }
        _ => error(404, "Not Found", "rest"),
    }
}

async fn handle(
    shared: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or_default().to_owned();
    let description = openapi::description();
    let checked = description.check_request(method.as_str(), &path, &query, &headers, &body);
    let mut state = shared.lock().unwrap();
    state.requests.push(Request {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        body: json_body.clone(),
        headers: headers
            .iter()
            .filter(|(name, _)| *name != "authorization")
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or("<binary>").to_owned(),
                )
            })
            .collect(),
        operation: match &checked {
            Ok(op) => Some(op.id.clone()),
            Err((op, _)) => op.map(|op| op.id.clone()),
        },
    });
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}") || v == format!("token {TOKEN}"));
    let (operation, status, value, extra) = match checked {
        Err((operation, violations)) => {
            let unknown = violations.iter().any(|v| v.rule == Rule::UnknownOperation);
            let message: Vec<String> = violations.iter().map(ToString::to_string).collect();
            state.violations.extend(violations);
            let status = if unknown { 404 } else { 400 };
            let body = json!({
                "message": message.join("; "),
                "documentation_url": operation.map_or("https://docs.github.com/rest".to_owned(), |op| op.docs.clone()),
                "status": status.to_string(),
            });
            (None, status, body, Vec::new())
        }
        Ok(operation) if !authorized => {
            let (s, v) = error(
                401,
                "Bad credentials",
                "overview/authenticating-to-the-rest-api",
            );
            (Some(operation), s, v, Vec::new())
        }
        Ok(operation) => {
            if let Some(i) = state.faults.iter().position(|f| {
                f.method == method.as_str() && path.contains(f.path_contains) && f.times > 0
            }) {
                state.faults[i].times -= 1;
                let fault = state.faults[i].clone();
                (Some(operation), fault.status, fault.body, fault.headers)
            } else {
                let (s, v) = answer(&mut state, &method, &path, &query, &json_body);
                (Some(operation), s, v, Vec::new())
            }
        }
    };
    if let Some(operation) = operation {
        // The fake's own answers (and the faults tests plant) must be GitHub's shapes too.
        let broken = description.check_response(operation, status, &value);
        state.violations.extend(broken);
    }
    drop(state);
    let mut response = if value.is_null() {
        StatusCode::from_u16(status).unwrap().into_response()
    } else {
        (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json; charset=utf-8")],
            value.to_string(),
        )
            .into_response()
    };
    for (name, value) in extra {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    response
}

/// A running fake. Dropped with rule violations left (see [`State::violations`]), it fails the
/// test.
pub struct FakeGitHub {
    /// The API root to put in `GITHUB_API_URL`.
    pub url: String,
    state: Arc<Mutex<State>>,
    _server: super::FakeServer,
}

impl FakeGitHub {
    /// Starts a fake holding `owner/repo` whose default branch has one commit with `files`.
    pub fn start(owner: &str, repo: &str, default_branch: &str, files: &[(&str, &[u8])]) -> Self {
        let mut state = State {
            owner: owner.into(),
            repo: repo.into(),
            default_branch: default_branch.into(),
            actions_may_create_pull_requests: true,
            ..State::default()
        };
        state.commit_files(default_branch, files, "Initial commit");
        let shared = Arc::new(Mutex::new(state));
        let for_server = shared.clone();
        let server = super::FakeServer::serve(axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                handle(for_server.clone(), method, uri, headers, body)
            },
        ));
        Self {
            url: server.url.clone(),
            state: shared,
            _server: server,
        }
    }

    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The rules broken so far, which the fake then no longer holds against its test.
    pub fn take_violations(&self) -> Vec<Violation> {
        std::mem::take(&mut self.state().violations)
    }

    /// Fails the next `times` requests matching `method` and `path_contains`.
    pub fn fail(
        &self,
        method: &'static str,
        path_contains: &'static str,
        status: u16,
        body: Value,
        times: u32,
    ) {
        self.state().faults.push(Fault {
            method,
            path_contains,
            status,
            body,
            headers: Vec::new(),
            times,
        });
    }

    /// The environment a workflow step gives the binary to reach this fake.
    pub fn env(&self) -> Vec<(String, String)> {
        let state = self.state();
        vec![
            ("GITHUB_API_URL".into(), self.url.clone()),
            ("GITHUB_TOKEN".into(), TOKEN.into()),
            (
                "GITHUB_REPOSITORY".into(),
                format!("{}/{}", state.owner, state.repo),
            ),
            ("GITHUB_SERVER_URL".into(), "https://github.com".into()),
            ("GITHUB_RUN_ID".into(), "4242".into()),
            ("MARKETPLACE_RELEASE_GITHUB_BACKOFF_MS".into(), "20".into()),
        ]
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        let violations = self.take_violations();
        if !violations.is_empty() && !std::thread::panicking() {
            let lines: Vec<String> = violations.iter().map(|v| format!("  - {v}")).collect();
            panic!(
                "the GitHub fake saw {} request(s) or answer(s) that break GitHub's OpenAPI description (@octokit/openapi {}, tests/support/github-openapi.json):\n{}",
                violations.len(),
                openapi::description().version,
                lines.join("\n")
            );
        }
    }
}
