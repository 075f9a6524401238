//! The editor over every real template of `../shared/corpus` that has an AMI mapping:
//! replacing every region's AMI changes exactly the AMI value lines; adding three regions adds
//! only their entries; the semantic proof passes; cfn-lint finds nothing new.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use marketplace_release::template::proof::semantic_value;
use marketplace_release::template::{EditRequest, Template};
use similar::{ChangeTag, TextDiff};

const NEW_REGION_POOL: [&str; 8] = [
    "il-central-1",
    "mx-central-1",
    "ap-southeast-5",
    "ca-west-1",
    "ap-east-2",
    "eu-south-2",
    "ap-southeast-7",
    "me-central-1",
];

/// A new, never used AMI ID for each key.
fn fresh_amis<'k>(
    keys: impl Iterator<Item = &'k String>,
    counter: &mut u64,
) -> Vec<(String, String)> {
    keys.map(|k| {
        *counter += 1;
        (k.clone(), common::fake_ami(*counter))
    })
    .collect()
}

struct Outputs {
    dir: tempfile::TempDir,
    inputs: Vec<PathBuf>,
    /// Output file → the input it came from.
    origin: BTreeMap<PathBuf, PathBuf>,
}

#[test]
fn every_corpus_mapping_edits_exactly_the_ami_lines_and_lints_clean() {
    let Some(corpus) = common::corpus("corpus edits") else {
        return;
    };
    let mut outputs = Outputs {
        dir: tempfile::tempdir().unwrap(),
        inputs: Vec::new(),
        origin: BTreeMap::new(),
    };
    let mut counter = 0u64;
    let (mut templates, mut mappings, mut amis_replaced, mut regions_added) = (0, 0, 0, 0);
    for path in common::corpus_templates(&corpus) {
        let text = std::fs::read_to_string(&path).unwrap();
        let found = common::ami_mappings(&text);
        if found.is_empty() {
            continue;
        }
        templates += 1;
        let template = Template::parse(&text)
            .unwrap_or_else(|e| panic!("{}", e.render(&path.display().to_string())));
        let doc = semantic_value(&text, template.format()).unwrap();
        for (index, mapping) in found.iter().enumerate() {
            mappings += 1;
            let name = format!(
                "{} / {}",
                path.file_name().unwrap().to_string_lossy(),
                mapping.name
            );
            let existing = common::region_amis(&doc, &mapping.name);

            // 1. Replace every AMI.
            let replaced: Vec<_> = existing
                .iter()
                .map(|(region, pairs)| {
                    (
                        region.clone(),
                        fresh_amis(pairs.iter().map(|(k, _)| k), &mut counter),
                    )
                })
                .collect();
            let request = EditRequest {
                amis: common::keyed_ami_set(&replaced),
                mapping: Some(mapping.name.clone()),
                ..Default::default()
            };
            let edited = template
                .edit(&request)
                .unwrap_or_else(|e| panic!("{name}: replace: {e}"));
            let old_lines: Vec<&str> = text.split('\n').collect();
            let new_lines: Vec<&str> = edited.text.split('\n').collect();
            assert_eq!(
                old_lines.len(),
                new_lines.len(),
                "{name}: replacing AMIs changed the number of lines"
            );
            for (i, (old, new)) in old_lines.iter().zip(&new_lines).enumerate() {
                if old != new {
                    assert_eq!(
                        common::mask_amis(old),
                        common::mask_amis(new),
                        "{name}: line {} changed beyond its AMI IDs",
                        i + 1
                    );
                }
            }
            for (_, pairs) in &replaced {
                for (_, ami) in pairs {
                    assert_eq!(
                        edited.text.matches(ami.as_str()).count(),
                        1,
                        "{name}: {ami} should be written exactly once"
                    );
                    amis_replaced += 1;
                }
            }

            // 2. Add three regions.
            let keys: Vec<String> = existing
                .first()
                .map(|(_, pairs)| pairs.iter().map(|(k, _)| k.clone()).collect())
                .unwrap_or_default();
            let new_regions: Vec<&str> = NEW_REGION_POOL
                .iter()
                .copied()
                .filter(|r| !mapping.regions.iter().any(|e| e == r))
                .take(3)
                .collect();
            let added: Vec<_> = new_regions
                .iter()
                .map(|r| (r.to_string(), fresh_amis(keys.iter(), &mut counter)))
                .collect();
            let request = EditRequest {
                amis: common::keyed_ami_set(&added),
                mapping: Some(mapping.name.clone()),
                ..Default::default()
            };
            let grown = template
                .edit(&request)
                .unwrap_or_else(|e| panic!("{name}: add regions: {e}"));
            check_only_additions(&name, &text, &grown.text, &new_regions);
            let grown_doc = semantic_value(&grown.text, template.format()).unwrap();
            assert_eq!(
                common::region_amis(&grown_doc, &mapping.name).len(),
                existing.len() + 3,
                "{name}: three regions more"
            );
            regions_added += 3;

            if index == 0 {
                let stem = path.file_name().unwrap().to_string_lossy().to_string();
                for (variant, out) in [("replaced", &edited.text), ("grown", &grown.text)] {
                    let out_path = outputs.dir.path().join(format!("{variant}-{stem}"));
                    std::fs::write(&out_path, out).unwrap();
                    outputs.origin.insert(out_path, path.clone());
                }
                outputs.inputs.push(path.clone());
            }
        }
    }
    assert!(
        templates >= 40,
        "expected the corpus to hold 40+ templates with AMI mappings, found {templates}"
    );
    println!("corpus: {templates} templates, {mappings} mappings, {amis_replaced} AMIs replaced, {regions_added} regions added");
    lint_finds_nothing_new(&outputs);
}

/// The diff from `old` to `new` only inserts lines, except a line that gains a trailing comma
/// (JSON), and the inserted lines belong to the new regions.
fn check_only_additions(name: &str, old: &str, new: &str, regions: &[&str]) {
    let diff = TextDiff::from_lines(old, new);
    let mut deleted = Vec::new();
    let mut inserted = Vec::new();
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Delete => deleted.push(change.value().to_owned()),
            ChangeTag::Insert => inserted.push(change.value().to_owned()),
            ChangeTag::Equal => {}
        }
    }
    for line in &deleted {
        let body = line.trim_end_matches(['\r', '\n']);
        let ending = &line[body.len()..];
        // A line may gain a comma (JSON), or, as the last line of a file without a final
        // newline, the line break that now separates it from the appended region.
        let accepted = [
            format!("{body},{ending}"),
            format!("{body}\n"),
            format!("{body}\r\n"),
            format!("{body},\n"),
            format!("{body},\r\n"),
        ];
        let position = inserted
            .iter()
            .position(|i| accepted.contains(i) && (ending.is_empty() || i.ends_with(ending)));
        assert!(
            position.is_some(),
            "{name}: adding regions removed or changed the line {line:?}"
        );
        inserted.remove(position.unwrap());
    }
    let added_text = inserted.concat();
    for region in regions {
        assert_eq!(
            added_text.matches(region).count(),
            1,
            "{name}: region {region} should be added once:\n{added_text}"
        );
    }
    for line in &inserted {
        let trimmed = line.trim();
        let structural = trimmed.chars().all(|c| matches!(c, '}' | ']' | ',' | '{'));
        assert!(
            structural || regions.iter().any(|r| line.contains(r)) || line.contains("ami-f"),
            "{name}: an added line belongs to no new region: {line:?}"
        );
    }
}

/// cfn-lint's findings as (template, rule, path) → count.
fn findings(
    files: &[PathBuf],
    origin: &dyn Fn(&Path) -> String,
) -> BTreeMap<(String, String, String), usize> {
    let output = std::process::Command::new(common::cfn_lint())
        .args(["--format", "json", "--"])
        .args(files)
        .output()
        .expect("cfn-lint runs");
    let matches: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "cfn-lint did not print JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut found = BTreeMap::new();
    for m in matches.as_array().expect("a list of findings") {
        let file = Path::new(m["Filename"].as_str().unwrap_or_default());
        let key = (
            origin(file),
            m["Rule"]["Id"].as_str().unwrap_or_default().to_owned(),
            m["Location"]["Path"].to_string(),
        );
        *found.entry(key).or_insert(0) += 1;
    }
    found
}

fn lint_finds_nothing_new(outputs: &Outputs) {
    let name_of = |p: &Path| p.file_name().unwrap().to_string_lossy().to_string();
    let (before, after) = std::thread::scope(|s| {
        let before = s.spawn(|| findings(&outputs.inputs, &|p| name_of(p)));
        let out_files: Vec<PathBuf> = outputs.origin.keys().cloned().collect();
        let after = s.spawn(move || {
            findings(&out_files, &|p| {
                let full = outputs
                    .origin
                    .iter()
                    .find(|(o, _)| o.ends_with(p) || p.ends_with(o.file_name().unwrap()))
                    .map(|(_, i)| i.clone());
                name_of(&full.unwrap_or_else(|| p.to_owned()))
            })
        });
        (before.join().unwrap(), after.join().unwrap())
    });
    let mut new_findings = Vec::new();
    for ((file, rule, path), count) in &after {
        // Two outputs (replaced, grown) come from each input: each may have the input's findings.
        let allowed = before
            .get(&(file.clone(), rule.clone(), path.clone()))
            .copied()
            .unwrap_or(0)
            * 2;
        if *count > allowed {
            new_findings.push(format!(
                "{file}: {rule} at {path} ({count} after, {} before per output)",
                allowed / 2
            ));
        }
    }
    println!(
        "cfn-lint: {} inputs, {} outputs, {} finding kinds before, {} after",
        outputs.inputs.len(),
        outputs.origin.len(),
        before.len(),
        after.len()
    );
    assert!(
        new_findings.is_empty(),
        "cfn-lint reports findings the input did not have:\n{}",
        new_findings.join("\n")
    );
}
