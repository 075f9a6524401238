//! Unit tests of the publish stage's pure parts: blob IDs, tree comparison, paths, bodies.

use super::pull_request::*;
use super::trees::*;
use crate::github::TreeEntry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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
