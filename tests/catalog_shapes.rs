//! What `submit` sends, checked three ways that must agree: the crate's own rules
//! (`domain::catalog`), the Catalog fake's transcription (`common::catalog`), and AWS's
//! generated shapes themselves (pydantic, in the test venv, when `../shared` is present).

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use marketplace_release::config::Config;
use marketplace_release::domain::catalog::check_add_delivery_options;
use marketplace_release::stages::submit::{delivery_details, Version};
use serde_json::{json, Value};

/// The example config with `extra` appended (a `submit:` section and more).
fn example_with(extra: &str) -> Config {
    let example =
        std::fs::read_to_string(common::repo().join("examples/neo4j/marketplace-release.yml"))
            .unwrap();
    Config::parse(&format!("{example}\n{extra}"), Path::new("c.yml"))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The configs the README documents, and variants that use every optional field the submit
/// stage sends.
pub fn documented_configs() -> Vec<(&'static str, Config)> {
    let every = "submit:\n  scanning-port: 22\n  access-endpoint:\n    protocol: https\n    port: 7473\n    relative-path: /browser/\n";
    let mut more_ranges = example_with(every);
    let rules = &mut more_ranges.load_form.security_groups;
    let mut extra = rules[0].clone();
    for i in 0..6 {
        extra.cidr = marketplace_release::config::Cidr::new(&format!("10.0.{i}.0/24")).unwrap();
        rules.push(extra.clone());
    }
    vec![
        ("the example", example_with("submit: {}\n")),
        ("every optional field", example_with(every)),
        (
            "the root path",
            example_with("submit:\n  access-endpoint: {protocol: http, port: 7474, relative-path: /}\n"),
        ),
        (
            "a path without a slash",
            example_with("submit:\n  access-endpoint: {protocol: http, port: 7474, relative-path: index.html}\n"),
        ),
        ("seven CIDR blocks on port 22 (two groups)", more_ranges),
    ]
}

fn document(config: &Config) -> Value {
    delivery_details(
        config,
        &Version {
            title: "5.26.0",
            release_notes: "Fixes.",
            ami: "ami-0feedfacecafe0001",
        },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

const OPTION: &str = "/DeliveryOptions/0/Details/AmiDeliveryOptionDetails";

/// `base` with the value at `pointer` set (or removed for `None`).
fn with(base: &Value, pointer: &str, value: Option<Value>) -> Value {
    let mut doc = base.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match (doc.pointer_mut(parent).unwrap(), value) {
        (Value::Object(map), Some(v)) => {
            map.insert(key.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (Value::Array(items), Some(v)) => items[key.parse::<usize>().unwrap()] = v,
        _ => unreachable!("{pointer}"),
    }
    doc
}

/// Each field at and beyond its limits: lengths, first characters, patterns, types, ports
/// and list sizes.
fn variants(base: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut add = |pointer: String, value: Option<Value>| {
        let label = format!(
            "{pointer} = {}",
            value.as_ref().map_or("(absent)".into(), |v| {
                let t = v.to_string();
                if t.len() > 40 {
                    format!("{}… ({} chars)", &t[..40], t.len())
                } else {
                    t
                }
            })
        );
        out.push((label, with(base, &pointer, value)));
    };
    let texts: [(&str, Option<usize>); 9] = [
        ("/Version/VersionTitle", Some(64)),
        ("/Version/ReleaseNotes", Some(30000)),
        ("/AmiSource/OperatingSystemName", Some(100)),
        ("/AmiSource/OperatingSystemVersion", Some(100)),
        ("/UsageInstructions", Some(4000)),
        ("/AccessEndpointUrl/Protocol", Some(5)),
        ("/AccessEndpointUrl/RelativePath", Some(2000)),
        ("/SecurityGroups/0/IpProtocol", Some(3)),
        ("/AmiSource/UserName", Some(32)),
    ];
    for (field, max) in texts {
        let pointer = if field.starts_with("/Version") {
            field.to_owned()
        } else {
            format!("{OPTION}{field}")
        };
        for sample in ["", " x", "\tx", "x y", "x ", "/x", "x/", "1"] {
            add(pointer.clone(), Some(json!(sample)));
        }
        if let Some(max) = max {
            add(pointer.clone(), Some(json!("a".repeat(max))));
            add(pointer.clone(), Some(json!("a".repeat(max + 1))));
        }
        add(pointer.clone(), Some(json!(7)));
        add(pointer.clone(), None);
    }
    let patterns: [(&str, &[&str]); 4] = [
        (
            "/AmiSource/AmiId",
            &[
                "ami-12345678",
                "ami-0123456789abcdef0",
                "ami-1234567",
                "ami-0123456789abcdef",
                "ami-0123456789ABCDEF0",
                "AMI-12345678",
                "ami-1234567_",
                "ami-123456789",
            ],
        ),
        (
            "/AmiSource/AccessRoleArn",
            &[
                "arn:aws:iam::123456789012:role/R",
                "arn:aws:iam::123456789012:role/a/b+=,.@-_",
                "arn:aws-us-gov:iam::123456789012:role/R",
                "arn:aws:iam::12345678901:role/R",
                "arn:aws:iam::123456789012:role/",
                "arn:aws:iam::123456789012:user/R",
                "arn:aws:iam::123456789012:role/R R",
            ],
        ),
        (
            "/AmiSource/UserName",
            &[
                "ec2-user",
                "u",
                "U_1-x",
                "1user",
                "-user",
                "ec2.user",
                "ec2user!",
                "a23456789012345678901234567890123",
            ],
        ),
        (
            "/RecommendedInstanceType",
            &[
                "t3.medium",
                "r6i.24xlarge",
                "m7g.metal",
                "mac1.metal",
                "u-6tb1.metal",
                "t3",
                "T3.medium",
                "m7g.metal-24xl",
                "mac.metal",
                "t3.",
                ".large",
                "t3.2",
            ],
        ),
    ];
    for (field, samples) in patterns {
        for sample in samples {
            add(format!("{OPTION}{field}"), Some(json!(sample)));
        }
    }
    for field in [
        "/AmiSource/ScanningPort",
        "/AccessEndpointUrl/Port",
        "/SecurityGroups/0/FromPort",
        "/SecurityGroups/0/ToPort",
    ] {
        for sample in [
            json!(0),
            json!(1),
            json!(65535),
            json!(65536),
            json!(-1),
            json!("22"),
            json!(22.5),
            json!(true),
        ] {
            add(format!("{OPTION}{field}"), Some(sample));
        }
        add(format!("{OPTION}{field}"), None);
    }
    let group = base
        .pointer(&format!("{OPTION}/SecurityGroups/0"))
        .unwrap()
        .clone();
    for n in [0, 1, 25, 26] {
        add(
            format!("{OPTION}/SecurityGroups"),
            Some(json!(vec![group.clone(); n])),
        );
    }
    for n in [0, 1, 5, 6] {
        let ranges: Vec<String> = (0..n).map(|i| format!("10.0.{i}.0/24")).collect();
        add(
            format!("{OPTION}/SecurityGroups/0/IpRanges"),
            Some(json!(ranges)),
        );
    }
    add(
        format!("{OPTION}/SecurityGroups/0/IpRanges"),
        Some(json!([7])),
    );
    let option = base["DeliveryOptions"][0].clone();
    for n in [0, 2] {
        add(
            "/DeliveryOptions".to_owned(),
            Some(json!(vec![option.clone(); n])),
        );
    }
    add(format!("{OPTION}/AccessEndpointUrl"), None);
    add(format!("{OPTION}/AmiSource"), Some(json!("ami-12345678")));
    out
}

/// AWS's shapes folder beside the repository, or `None` with a NOTE.
fn shapes(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("MARKETPLACE_RELEASE_SHAPES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            common::repo().join("../shared/reference/aws-marketplace-catalog-shapes")
        });
    if dir
        .join("aws_marketplace_catalog_shapes_amiproduct_1_0_changetypes")
        .is_dir()
    {
        Some(dir)
    } else {
        eprintln!("NOTE: {test}: AWS's shapes not found at {} (set MARKETPLACE_RELEASE_SHAPES); checked the crate's rules against the fake only", dir.display());
        None
    }
}

/// The venv's Python (`$MARKETPLACE_RELEASE_PYTHON`, else `.venv/bin/python`), which must have
/// pydantic (tests/requirements.txt): panics with the command that installs it.
fn python_with_pydantic() -> PathBuf {
    let python = std::env::var_os("MARKETPLACE_RELEASE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join(".venv/bin/python"));
    let has = Command::new(&python)
        .args(["-c", "import pydantic"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(has, "no Python with pydantic at {}: run bash scripts/test.sh (it installs tests/requirements.txt into .venv), or set MARKETPLACE_RELEASE_PYTHON", python.display());
    python
}

/// pydantic's errors for each document.
fn pydantic_verdicts(shapes: &Path, docs: &[Value]) -> Vec<Vec<String>> {
    let mut child = Command::new(python_with_pydantic())
        .arg(common::repo().join("tests/support/catalog_shapes.py"))
        .arg(shapes)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(docs).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the shapes check failed (does the venv have pydantic? pip install -r tests/requirements.txt): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_fake_and_our_rules_agree_with_awss_shapes() {
    let configs = documented_configs();
    let sent: Vec<(String, Value)> = configs
        .iter()
        .map(|(label, config)| (format!("sent for {label}"), document(config)))
        .collect();
    let every = sent[1].1.clone();
    let mut cases = sent.clone();
    cases.extend(variants(&every));
    let ours: Vec<bool> = cases
        .iter()
        .map(|(_, d)| check_add_delivery_options(d).is_empty())
        .collect();
    let fake: Vec<bool> = cases
        .iter()
        .map(|(_, d)| common::catalog::details_violations(d).is_empty())
        .collect();
    for (i, (label, doc)) in cases.iter().enumerate() {
        assert_eq!(
            ours[i],
            fake[i],
            "{label}: ours {:?}, fake {:?}",
            check_add_delivery_options(doc),
            common::catalog::details_violations(doc)
        );
    }
    for (label, doc) in &sent {
        assert!(check_add_delivery_options(doc).is_empty(), "{label}");
    }
    let refused = ours.iter().filter(|ok| !**ok).count();
    assert!(
        refused > 100,
        "the variants exercise the rules: {refused} refused"
    );
    let Some(shapes) = shapes("catalog shapes") else {
        return;
    };
    let docs: Vec<Value> = cases.iter().map(|(_, d)| d.clone()).collect();
    let verdicts = pydantic_verdicts(&shapes, &docs);
    let mut disagreements = Vec::new();
    for (i, (label, _)) in cases.iter().enumerate() {
        if verdicts[i].is_empty() != ours[i] {
            disagreements.push(format!(
                "{label}: AWS's shapes say {:?}, ours {}",
                verdicts[i],
                if ours[i] { "accept" } else { "refuse" }
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    println!(
        "catalog shapes: {} documents ({} sent for documented configs), {} refused; AWS's shapes, the fake and the crate agree on every one",
        cases.len(),
        sent.len(),
        refused
    );
}
