//! A thin typed client for the GitHub REST endpoints the publish stage calls: the Git data API
//! (refs, commits, trees, blobs) and pull requests.
//!
//! octocrab carries the requests (authentication, TLS, timeouts); this module owns the routes,
//! the few fields we read, the retries and the error messages. An API error keeps GitHub's own
//! message and `errors` list, and says what to do about it. The token never appears in a log or
//! an error: it lives only inside octocrab's authorization header, marked sensitive.
//!
//! Every call is one operation of GitHub's OpenAPI description (npm `@octokit/openapi`), named
//! by its `operationId` on the method that makes it; `scripts/github-openapi/operations.txt`
//! lists them, and the tests' GitHub fake refuses any request, and any answer of its own, that
//! the description does not allow. The fields we read are those the operation's response
//! schema requires (or `Option`s), so any answer GitHub may give is one we can read.
//!
//! Headers: each request carries exactly one `User-Agent` ([`USER_AGENT`]), one
//! `Accept` ([`ACCEPT`]) and one `X-GitHub-Api-Version` ([`API_VERSION`]). octocrab's default
//! client appends its own `User-Agent: octocrab`, and its request builder appends its API
//! version, so adding ours with `add_header` sent both lines (RFC 9110 §5.3: a header that takes
//! one value must not be repeated). The client is therefore assembled from octocrab's parts
//! with [`SetHeadersLayer`] next to the wire, which sets ours in place of anything above it.
//!
//! The files, by what they do:
//!
//! | file | what it holds |
//! |---|---|
//! | `client` | [`GitHub`]: the transport assembled from octocrab's parts, the routes, one call with its retries |
//! | `headers` | the fixed headers and [`SetHeadersLayer`], the tower layer that sets them next to the wire |
//! | `retry` | [`RetryPolicy`] and [`retry_delay`]: when and how long to wait before trying again |
//! | `error` | [`GitHubError`], the permission a call needs ([`Scope`]) and the next step ([`help_for`]) |
//! | `name` | [`RepoName`], `owner/name` |
//! | `repo` | the repository's settings we read ([`Repository`]) |
//! | `git` | the Git data API: refs, commits, trees and blobs |
//! | `pulls` | pull requests, their labels, assignees and reviewers |

mod client;
mod error;
mod git;
mod headers;
mod name;
mod pulls;
mod repo;
mod retry;

pub use client::{GitHub, DEFAULT_API_URL};
pub use error::{help_for, GitHubError, Scope};
pub use git::{GitCommit, GitObject, GitRef, GitTree, NewTreeEntry, TreeEntry};
pub use headers::{SetHeaders, SetHeadersLayer, ACCEPT, API_VERSION, USER_AGENT};
pub use name::RepoName;
pub use pulls::{Label, Login, NewPullRequest, PullRequest, PullRequestBranch};
pub use repo::Repository;
pub use retry::{retry_delay, RetryPolicy};

#[cfg(test)]
mod tests;
