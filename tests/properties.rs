//! Property test: random AMI maps (existing and new regions, several keys, with and without
//! `--prune`) over random templates always re-parse, change only the intended paths, and are
//! idempotent. Templates come from `../shared/corpus` when present, else from our fixtures.
//! Each template also enters as variants: CRLF line endings, a byte-order mark, no final
//! newline, and for JSON templates a JSON-looking YAML one (trailing commas, a raw line break
//! in a string) that only a YAML parser reads.

use crate::common;

use std::sync::LazyLock;

use marketplace_release::domain::ami::{AmiSet, Region};
use marketplace_release::template::proof::{semantic_value, Value};
use marketplace_release::template::tree::{Node, NodeKind, ScalarStyle};
use marketplace_release::template::{located_yaml, EditRequest, ErrorKind, Format, Template};
use proptest::prelude::*;

/// (label, text, mapping, keys of its first region, its regions)
type Case = (String, String, String, Vec<String>, Vec<String>);

static POOL: LazyLock<Vec<Case>> = LazyLock::new(|| {
    let mut files: Vec<(String, String)> = Vec::new();
    match common::corpus("property test") {
        Some(corpus) => {
            for path in common::corpus_templates(&corpus) {
                files.push((
                    path.file_name().unwrap().to_string_lossy().into(),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
        None => {
            eprintln!("NOTE: property test runs over the bundled example template and the repository's fixtures only");
            let example = common::repo().join("examples/neo4j/neo4j.template.yaml");
            files.push(("example".into(), std::fs::read_to_string(example).unwrap()));
            for name in [
                "json-looking-yaml.template.json",
                "lenient-scalars.template.yaml",
                "bom-crlf.template.yaml",
                "bom.template.json",
                "partitions.template.yaml",
            ] {
                let path = common::repo().join("tests/fixtures/templates").join(name);
                files.push((name.into(), std::fs::read_to_string(path).unwrap()));
            }
        }
    }
    let files: Vec<(String, String)> = files
        .into_iter()
        .flat_map(|(label, text)| variants(&label, &text))
        .collect();
    let mut pool = Vec::new();
    for (label, text) in files {
        for mapping in common::ami_mappings(&text) {
            let doc = semantic_value(&text, Template::parse(&text).unwrap().format()).unwrap();
            let first_keys: Vec<String> = mapping_regions(&doc, &mapping.name)
                .into_iter()
                .find_map(|(_, v)| match v {
                    Value::Mapping(inner) => Some(
                        inner
                            .iter()
                            .filter_map(|(k, _)| scalar(k))
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
                .unwrap_or_default();
            if !first_keys.is_empty() {
                pool.push((
                    format!("{label} / {}", mapping.name),
                    text.clone(),
                    mapping.name.clone(),
                    first_keys,
                    mapping.regions.clone(),
                ));
            }
        }
    }
    assert!(!pool.is_empty());
    pool
});

const NEW_REGIONS: [&str; 6] = [
    "il-central-1",
    "mx-central-1",
    "ap-southeast-5",
    "ca-west-1",
    "eu-south-2",
    "ap-east-2",
];

/// The template and its variants: CRLF, a byte-order mark, no final newline, and for strict
/// JSON a JSON-looking YAML variant.
fn variants(label: &str, text: &str) -> Vec<(String, String)> {
    let mut out = vec![(label.to_owned(), text.to_owned())];
    if !text.contains("\r\n") {
        out.push((format!("{label} [CRLF]"), text.replace('\n', "\r\n")));
    }
    if !text.starts_with('\u{feff}') {
        out.push((format!("{label} [BOM]"), format!("\u{feff}{text}")));
    }
    if text.ends_with('\n') {
        out.push((
            format!("{label} [no final newline]"),
            text.trim_end_matches(['\r', '\n']).to_owned(),
        ));
    }
    if Template::parse(text).is_ok_and(|t| t.format() == Format::Json) {
        if let Some(yamlish) = json_looking_yaml(text) {
            assert_eq!(
                Template::parse(&yamlish).unwrap().format(),
                Format::Yaml,
                "{label}: the variant is not strict JSON"
            );
            out.push((format!("{label} [JSON-looking YAML]"), yamlish));
        }
    }
    out
}

/// Strict JSON made JSON-looking YAML, as CloudFormation accepts it: a trailing comma after the
/// last entry of every object and array (up to 50 of them), and a raw line break (with the
/// next line's indentation) for the first space of the first string that has one. Values stay
/// the same: YAML folds the line break into that space.
fn json_looking_yaml(text: &str) -> Option<String> {
    let root = located_yaml(text).ok()?;
    let mut ends = Vec::new();
    let mut first_string: Option<usize> = None;
    collect(&root, text, &mut ends, &mut first_string);
    let mut out = text.to_owned();
    let mut edits: Vec<(usize, &str)> = ends.into_iter().take(50).map(|at| (at, ",")).collect();
    if let Some(space) = first_string {
        edits.push((space, "\n   "));
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (at, what) in edits {
        if what == "," {
            out.insert(at, ',');
        } else {
            out.replace_range(at..at + 1, what);
        }
    }
    Some(out)
}

fn collect(node: &Node, text: &str, ends: &mut Vec<usize>, first_string: &mut Option<usize>) {
    match &node.kind {
        NodeKind::Map { entries, .. } => {
            if let Some(last) = entries.last() {
                ends.push(last.value.span.end);
            }
            for e in entries {
                collect(&e.value, text, ends, first_string);
            }
        }
        NodeKind::Seq { items, .. } => {
            if let Some(last) = items.last() {
                ends.push(last.span.end);
            }
            for i in items {
                collect(i, text, ends, first_string);
            }
        }
        NodeKind::Scalar {
            style: ScalarStyle::DoubleQuoted,
            value,
            ..
        } if first_string.is_none() => {
            let token = &text[node.span.clone()];
            if value.contains(' ') && !token.contains('\\') {
                *first_string = token.find(' ').map(|i| node.span.start + i);
            }
        }
        _ => {}
    }
}

fn scalar(v: &Value<'_>) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn mapping_regions<'v, 'a>(doc: &'v Value<'a>, mapping: &str) -> Vec<(String, &'v Value<'a>)> {
    let regions = doc.get("Mappings").and_then(|m| m.get(mapping));
    regions
        .map(|r| {
            r.pairs()
                .iter()
                .filter_map(|(k, v)| scalar(k).map(|k| (k, v)))
                .collect()
        })
        .unwrap_or_default()
}

fn without<'a>(doc: &Value<'a>, skip: &str) -> Vec<(Value<'a>, Value<'a>)> {
    doc.pairs()
        .iter()
        .filter(|(k, _)| k.as_str() != Some(skip))
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_ami_maps_change_only_intended_paths(
        case in any::<prop::sample::Index>(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<bool>(), any::<u64>()), 1..8),
        prune in any::<bool>(),
    ) {
        let (label, text, mapping, keys, regions) = &POOL[case.index(POOL.len())];
        // Each pick chooses an existing region or a new one, and an AMI per key.
        let mut chosen: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for (index, new, seed) in &picks {
            let region = if *new || regions.is_empty() { NEW_REGIONS[index.index(NEW_REGIONS.len())].to_owned() } else { regions[index.index(regions.len())].clone() };
            if chosen.iter().any(|(r, _)| *r == region) {
                continue;
            }
            let amis = keys.iter().enumerate().map(|(i, k)| (k.clone(), common::fake_ami(seed.wrapping_add(i as u64) & 0xffff_ffff_ffff))).collect();
            chosen.push((region, amis));
        }
        let json: serde_json::Map<String, serde_json::Value> = chosen
            .iter()
            .map(|(r, amis)| (r.clone(), serde_json::Value::Object(amis.iter().map(|(k, a)| (k.clone(), a.clone().into())).collect())))
            .collect();
        let request = EditRequest {
            amis: AmiSet::from_json_value(&serde_json::Value::Object(json)).unwrap(),
            mapping: Some(mapping.clone()),
            prune,
            ..Default::default()
        };
        let template = Template::parse(text).unwrap();
        let edited = match template.edit(&request) {
            Ok(edited) => edited,
            // Pruning every existing region before adding new ones is refused by design.
            Err(e) if e.kind == ErrorKind::Request && prune => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{label}: {e}"))),
        };

        // Re-parses.
        let old = semantic_value(text, template.format()).unwrap();
        let new = semantic_value(&edited.text, template.format()).map_err(|e| TestCaseError::fail(format!("{label}: output does not parse: {e}")))?;

        // Only the intended paths changed: everything outside the mapping is equal ...
        prop_assert_eq!(without(&old, "Mappings"), without(&new, "Mappings"), "{}: outside Mappings changed", label);
        prop_assert_eq!(without(old.get("Mappings").unwrap(), mapping), without(new.get("Mappings").unwrap(), mapping), "{}: other mappings changed", label);
        // ... given regions hold exactly the given AMIs for the given keys ...
        let new_regions = mapping_regions(&new, mapping);
        let old_regions = mapping_regions(&old, mapping);
        for (region, amis) in &chosen {
            let entry = new_regions.iter().find(|(r, _)| r == region).map(|(_, v)| *v);
            prop_assert!(entry.is_some(), "{}: region {} missing", label, region);
            for (key, ami) in amis {
                prop_assert_eq!(entry.unwrap().get(key).and_then(scalar), Some(ami.clone()), "{}: {}.{}", label, region, key);
            }
            if let Some((_, old_entry)) = old_regions.iter().find(|(r, _)| r == region) {
                if let (Value::Mapping(o), Value::Mapping(_)) = (old_entry, entry.unwrap()) {
                    for (k, v) in o {
                        let k = scalar(k).unwrap_or_default();
                        if !amis.iter().any(|(key, _)| *key == k) {
                            prop_assert_eq!(entry.unwrap().get(&k), Some(v), "{}: untouched key {}.{} changed", label, region, k);
                        }
                    }
                }
            }
        }
        // ... and other entries are kept, or pruned when they are regions of a partition that
        // the AMIs cover and prune is on.
        let partitions: Vec<_> = chosen.iter().filter_map(|(r, _)| Region::partition_of(r)).collect();
        for (name, value) in &old_regions {
            if chosen.iter().any(|(r, _)| r == name) {
                continue;
            }
            let kept = new_regions.iter().find(|(r, _)| r == name).map(|(_, v)| *v);
            if prune && Region::partition_of(name).is_some_and(|p| partitions.contains(&p)) {
                prop_assert!(kept.is_none(), "{}: {} should be pruned", label, name);
            } else {
                prop_assert_eq!(kept, Some(*value), "{}: {} should be kept as it was", label, name);
            }
        }

        // Idempotent.
        let again = Template::parse(&edited.text).unwrap().edit(&request).map_err(|e| TestCaseError::fail(format!("{label}: second run: {e}")))?;
        prop_assert!(again.text == edited.text, "{}: a second run changed the text", label);
    }
}
