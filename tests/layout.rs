//! The layout rules of ARCHITECTURE.md hold on the tree, and `scripts/layout.py` (run by
//! `scripts/check-layout.sh` in CI) fails when an import breaks one: each breach is planted in
//! a copy of `src/`.

use std::path::Path;
use std::process::Command;

use crate::common::repo;

/// Runs scripts/layout.py over the `src/` under `root`; its exit code and what it said.
fn layout(root: &Path) -> (i32, String) {
    let out = Command::new("python3")
        .arg(repo().join("scripts/layout.py"))
        .current_dir(root)
        .output()
        .expect("python3 runs (the README's test command needs it)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), said)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of src/ with `line` added after the first `use` line of `file`.
fn planted(file: &str, line: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("src"), &dir.path().join("src"));
    let path = dir.path().join("src").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("\nuse ").expect("the file has a use line") + 1;
    std::fs::write(&path, format!("{}{line}\n{}", &text[..at], &text[at..])).unwrap();
    dir
}

#[test]
fn the_tree_keeps_every_rule() {
    let (code, said) = layout(&repo());
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("every import points down"), "{said}");
}

#[test]
fn a_planted_import_up_a_floor_a_stage_naming_another_and_a_second_config_load_fail() {
    for (file, line, expected) in [
        (
            "plan/diff.rs",
            "use crate::release::Stage;",
            "src/plan/diff.rs:4: `plan` names `release`, a floor above it",
        ),
        (
            "cli/plan.rs",
            "use crate::action::outputs::ActionOutputs;",
            "`cli` names `action`, its sibling on the same floor",
        ),
        (
            "stages/verify.rs",
            "use crate::stages::copy::CopyPlan;",
            "a stage names another stage's file src/stages/copy.rs",
        ),
        (
            "aws/sts.rs",
            "fn again() { let _ = aws_config::defaults; }",
            "the AWS config is loaded here; load it only in src/aws/config.rs",
        ),
        (
            "output/log.rs",
            "fn env() -> bool { std::env::var(\"CI\").is_ok() }",
            "reads the environment; only the front ends and release/env.rs do",
        ),
    ] {
        let dir = planted(file, line);
        let (code, said) = layout(dir.path());
        assert_eq!(code, 1, "{file}: {line}: {said}");
        assert!(said.contains(expected), "{file}: {line}: {said}");
    }
}

#[test]
fn a_planted_circle_between_two_files_fails() {
    // domain/facts.rs names domain/stack.rs already; the reverse closes a circle.
    let dir = planted("domain/stack.rs", "use super::facts::Facts;");
    let (code, said) = layout(dir.path());
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("an import circle between files"), "{said}");
    assert!(said.contains("src/domain/facts.rs"), "{said}");
}
