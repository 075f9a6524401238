//! Template regeneration speed: parse, edit, and prove, as `template` does it.
//!
//! Inputs: the largest YAML and JSON templates of `../shared/corpus` (when present),
//! generated YAML templates of 1, 2.5 and 5 MB to show that the cost grows linearly, and two
//! 200 KB files of deeply nested flow collections: one 200,000 levels deep (refused at the
//! depth limit) and one 90 levels deep (edited).
//! Run with `cargo bench --bench template_edit`; figures are in the README.

#![allow(
    missing_docs,
    reason = "criterion's macros generate undocumented functions"
)]
#![allow(clippy::print_stderr, reason = "a benchmark reports on stderr")]

use std::fmt::Write;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use marketplace_release::domain::ami::AmiSet;
use marketplace_release::template::{EditRequest, Template};

/// A request that replaces every AMI of the template's first AMI mapping and adds a region.
fn request_for(text: &str) -> EditRequest {
    let template = Template::parse(text).expect("bench template parses");
    let mapping = template
        .mappings()
        .into_iter()
        .find(|m| m.ami_values > 0)
        .expect("an AMI mapping");
    let mut json = serde_json::Map::new();
    for (i, region) in mapping
        .regions
        .iter()
        .chain(std::iter::once(&"il-central-1".to_owned()))
        .enumerate()
    {
        let keys: serde_json::Map<String, serde_json::Value> = mapping
            .keys
            .iter()
            .enumerate()
            .map(|(k, key)| (key.clone(), format!("ami-f{:016x}", i * 16 + k).into()))
            .collect();
        json.insert(region.clone(), keys.into());
    }
    EditRequest {
        amis: AmiSet::from_json_value(&json.into()).expect("valid AMIs"),
        mapping: Some(mapping.name),
        ..Default::default()
    }
}

/// A YAML template of about `bytes` bytes: many resources with comments, short tags and block
/// scalars, and a 30-region mapping at the end.
fn generated_template(bytes: usize) -> String {
    let mut text = String::from(
        "AWSTemplateFormatVersion: '2010-09-09'\n# generated for the benchmark\nResources:\n",
    );
    let mut i = 0;
    while text.len() < bytes {
        write!(
            text,
            "  Server{i}:\n    Type: AWS::EC2::Instance # server {i}\n    Properties:\n      ImageId: !FindInMap [Images, !Ref 'AWS::Region', BYOL]\n      InstanceType: t3.medium\n      Tags:\n        - Key: Name\n          Value: !Sub 'server-{i}-${{AWS::StackName}}'\n      UserData:\n        Fn::Base64: !Sub |\n          #!/bin/bash\n          echo \"starting {i}\" > /tmp/start\n"
        )
        .unwrap();
        i += 1;
    }
    text.push_str("Mappings:\n  Images:\n");
    for r in 0..30 {
        write!(text, "    us-east-{r}:\n      BYOL: ami-{r:017x}\n").unwrap();
    }
    text
}

/// About 200 KB of flow sequences nested `depth` levels deep in a resource property, with
/// a mapping to edit: `[[[…[1, 2, 3, …]…]]]`.
fn nested_template(depth: usize) -> String {
    let mut text = String::from(
        "AWSTemplateFormatVersion: '2010-09-09'\nMappings:\n  Images:\n    us-east-1:\n      BYOL: ami-0123456789abcdef0\nResources:\n  Deep:\n    Type: Custom::Deep\n    Properties:\n      Value: ",
    );
    text.push_str(&"[".repeat(depth));
    let mut i = 0;
    while text.len() < 200_000 - depth {
        write!(text, "{i}, ").unwrap();
        i += 1;
    }
    text.push('0');
    text.push_str(&"]".repeat(depth));
    text.push('\n');
    text
}

fn corpus_largest(ext: &str) -> Option<(String, String)> {
    let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut best: Option<(u64, PathBuf)> = None;
    for folder in ["neo4j", "others"] {
        for entry in std::fs::read_dir(corpus.join(folder)).ok()? {
            let path = entry.ok()?.path();
            if !path.to_string_lossy().ends_with(ext) {
                continue;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            let has_mapping =
                Template::parse(&text).is_ok_and(|t| t.mappings().iter().any(|m| m.ami_values > 0));
            let size = text.len() as u64;
            if has_mapping && best.as_ref().is_none_or(|(s, _)| size > *s) {
                best = Some((size, path));
            }
        }
    }
    let (_, path) = best?;
    Some((
        path.file_name()?.to_string_lossy().into_owned(),
        std::fs::read_to_string(path).ok()?,
    ))
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("template_edit");
    group.sample_size(20);
    let mut inputs = Vec::new();
    for ext in [".template.yaml", ".template.json"] {
        match corpus_largest(ext) {
            Some(found) => inputs.push(found),
            None => {
                eprintln!("NOTE: ../shared/corpus not found; benchmarking generated templates only")
            }
        }
    }
    for mb in [1.0, 2.5, 5.0] {
        inputs.push((
            format!("generated {mb} MB"),
            generated_template((mb * 1_000_000.0) as usize),
        ));
    }
    for (name, text) in &inputs {
        let request = request_for(text);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{name} ({} KB)", text.len() / 1000)),
            text,
            |b, text| {
                b.iter(|| {
                    Template::parse(text)
                        .and_then(|t| t.edit(&request))
                        .expect("edit succeeds")
                })
            },
        );
    }
    // A deeply nested file is refused at the depth limit, at once ...
    let deep = format!("Resources:\n  X: {}", "[".repeat(200_000));
    group.throughput(Throughput::Bytes(deep.len() as u64));
    group.bench_with_input(
        BenchmarkId::from_parameter(format!(
            "nested 200,000 deep, refused ({} KB)",
            deep.len() / 1000
        )),
        &deep,
        |b, text| b.iter(|| Template::parse(text).err().expect("refused")),
    );
    // ... and one within the limit is edited in linear time.
    let nested = nested_template(90);
    let request = request_for(&nested);
    group.throughput(Throughput::Bytes(nested.len() as u64));
    group.bench_with_input(
        BenchmarkId::from_parameter(format!(
            "nested 90 deep, edited ({} KB)",
            nested.len() / 1000
        )),
        &nested,
        |b, text| {
            b.iter(|| {
                Template::parse(text)
                    .and_then(|t| t.edit(&request))
                    .expect("edit succeeds")
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
