//! The real before/after AMI updates listed in `../shared/corpus/*/INDEX.md`: given the
//! "after" AMIs (and version), the editor reproduces the "after" file, except for the hand
//! edits the INDEX lists for that pair, which are normalised away on both sides, one named
//! normalisation per listed edit.

use crate::common;

use marketplace_release::domain::ami::AmiSet;
use marketplace_release::domain::version::Version;
use marketplace_release::template::proof::{semantic_value, Value};
use marketplace_release::template::{EditRequest, Template};

/// A hand edit listed in the INDEX, and how it is normalised away.
#[derive(Clone, Copy, Debug)]
enum HandEdit {
    /// The author added or dropped the final newline.
    FinalNewline,
    /// The author added or removed blank lines.
    BlankLines,
    /// The author wrote or removed a double space (`BYOL:  ami-…`).
    Spacing,
    /// The author reordered region blocks of the mapping (pair H).
    RegionOrder,
    /// The author uncommented a key instead of adding one (pair O3).
    CommentedKey,
    /// The author swapped key order inside one-line flow objects and dropped the space before
    /// the closing brace on those lines (pair O6).
    FlowKeyOrder,
    /// The author also renamed a non-AMI name row value (pair O1).
    Replace(&'static str, &'static str),
}

struct Pair {
    id: &'static str,
    before: &'static str,
    after: &'static str,
    mappings: &'static [&'static str],
    version_parameter: Option<&'static str>,
    prune: bool,
    /// The author also pruned the rows of other partitions (GovCloud), which a release keeps:
    /// the request says so with `prune_other_partitions` (`template --prune-other-partitions`).
    prune_other_partitions: bool,
    hand_edits: &'static [HandEdit],
}

use HandEdit::*;

const PAIRS: &[Pair] = &[
    Pair {
        id: "A",
        before: "neo4j/1bdfc40-mp2022",
        after: "neo4j/29d0bb2-mp2022",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[],
    },
    Pair {
        id: "B",
        before: "neo4j/40820ab-mp2022",
        after: "neo4j/2198ace-mp2022",
        mappings: &["Neo4j"],
        version_parameter: Some("GraphDatabaseVersion"),
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[],
    },
    Pair {
        id: "C",
        before: "neo4j/3c0cfbb-mp2022",
        after: "neo4j/ff9e4df-mp2022",
        mappings: &["Neo4j"],
        version_parameter: Some("GraphDatabaseVersion"),
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[],
    },
    Pair {
        id: "D",
        before: "neo4j/9131f83-mp2022",
        after: "neo4j/aae0a6b-mp2022",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[FinalNewline],
    },
    Pair {
        id: "E",
        before: "neo4j/aae0a6b-mp2022",
        after: "neo4j/d44ab30-mp2022",
        mappings: &["Neo4j"],
        version_parameter: Some("GraphDatabaseVersion"),
        prune: true,
        prune_other_partitions: true,
        hand_edits: &[FinalNewline],
    },
    Pair {
        id: "F",
        before: "neo4j/db22b38-mp-enterprise",
        after: "neo4j/102c887-mp-enterprise",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[BlankLines],
    },
    Pair {
        id: "G",
        before: "neo4j/9ea41d0-mp-enterprise",
        after: "neo4j/2f4dbe9-mp-enterprise",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[Spacing],
    },
    Pair {
        id: "H",
        before: "neo4j/2f4dbe9-mp-enterprise",
        after: "neo4j/0805f66-mp-enterprise",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[RegionOrder, Spacing],
    },
    Pair {
        id: "I",
        before: "neo4j/0805f66-mp-enterprise",
        after: "neo4j/d157d7c-mp-enterprise",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: true,
        prune_other_partitions: true,
        hand_edits: &[BlankLines],
    },
    Pair {
        id: "J",
        before: "neo4j/7f50932-mp-enterprise",
        after: "neo4j/274b2b4-mp-enterprise",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[BlankLines, FinalNewline],
    },
    Pair {
        id: "K",
        before: "neo4j/c3cce01-icmp-marketplace",
        after: "neo4j/16a44da-icmp-marketplace",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[],
    },
    Pair {
        id: "L",
        before: "neo4j/722f4db-mp-enterprise",
        after: "neo4j/321dd90-mp-enterprise",
        mappings: &["Neo4j"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[BlankLines],
    },
    Pair {
        id: "O1",
        before: "others/518e280-linux-bastion",
        after: "others/5057c50-linux-bastion",
        mappings: &["AWSAMIRegionMap"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[Replace(
            "ubuntu-xenial-16.04-amd64-server-20181114",
            "ubuntu-xenial-16.04-amd64-server-20181223",
        )],
    },
    Pair {
        id: "O2",
        before: "others/ae2bf13-linux-bastion",
        after: "others/9c99909-linux-bastion",
        mappings: &["AWSAMIRegionMap"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[],
    },
    Pair {
        id: "O3",
        before: "others/25ac776-linux-bastion",
        after: "others/4f5d571-linux-bastion",
        mappings: &["AWSAMIRegionMap"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[CommentedKey],
    },
    Pair {
        id: "O4",
        before: "others/170ca72-aviatrix-controller",
        after: "others/44ad8eb-aviatrix-controller",
        mappings: &["AWSAMIRegionMap"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[],
    },
    Pair {
        id: "O6",
        before: "others/1bd00c6-couchbase-byol",
        after: "others/fe9bfd7-couchbase-byol",
        mappings: &["CouchbaseServer", "CouchbaseSyncGateway"],
        version_parameter: None,
        prune: true,
        prune_other_partitions: true,
        hand_edits: &[FlowKeyOrder],
    },
    Pair {
        id: "O7",
        before: "others/4ebf1c8-widdix-vpc-nat-instance",
        after: "others/d809c9a-widdix-vpc-nat-instance",
        mappings: &["RegionMap"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[],
    },
    Pair {
        id: "O9",
        before: "others/6385e5c-sios-datakeeper",
        after: "others/551907e-sios-datakeeper",
        mappings: &["AWSAMIRegionMap"],
        version_parameter: None,
        prune: false,
        prune_other_partitions: false,
        hand_edits: &[],
    },
];

/// Pairs the editor does not reproduce, and why (the INDEX lists these edits as structural).
const OUT_OF_SCOPE: &[(&str, &str)] = &[
    ("O5", "the F5 update renames the mappings themselves (the version is encoded in mapping names) and rewrites the VERSION map; the editor updates AMIs inside an existing mapping"),
    ("O8", "the widdix update adds a whole new versioned mapping and a VersionMap entry instead of updating one"),
];

fn read(corpus: &std::path::Path, stem: &str) -> String {
    let dir = corpus.join(stem.split('/').next().unwrap());
    let prefix = stem.split('/').nth(1).unwrap();
    let entry = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{prefix}.template."))
        })
        .unwrap_or_else(|| panic!("{stem} not in corpus"));
    std::fs::read_to_string(entry).unwrap()
}

/// The "after" AMIs of `mapping` as keyed AMIS.json, in the after file's region order.
fn after_amis(after: &Value<'_>, mapping: &str) -> AmiSet {
    let entries = common::region_amis(after, mapping);
    assert!(!entries.is_empty(), "no AMIs in mapping {mapping}");
    common::keyed_ami_set(&entries)
}

fn normalise(text: &str, edits: &[HandEdit]) -> String {
    let mut text = text.replace("\r\n", "\n");
    for edit in edits {
        text = match *edit {
            FinalNewline => text.trim_end_matches('\n').to_owned(),
            BlankLines => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n"),
            Spacing => text
                .lines()
                .map(|l| {
                    let indent = l.len() - l.trim_start().len();
                    format!(
                        "{}{}",
                        &l[..indent],
                        l.trim_start()
                            .split(' ')
                            .filter(|w| !w.is_empty())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            RegionOrder => {
                let (head, mapping) =
                    text.split_at(text.find("\nMappings:").expect("Mappings section"));
                let mut blocks: Vec<String> = Vec::new();
                for line in mapping.lines() {
                    if line.starts_with("    ") && !line.starts_with("      ") || blocks.is_empty()
                    {
                        blocks.push(String::new());
                    }
                    blocks.last_mut().unwrap().push_str(line);
                    blocks.last_mut().unwrap().push('\n');
                }
                blocks[1..].sort();
                format!("{head}{}", blocks.concat())
            }
            CommentedKey => text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n"),
            FlowKeyOrder => text
                .lines()
                .map(|l| match (l.find('{'), l.rfind('}')) {
                    (Some(open), Some(close)) if open < close => {
                        let mut items: Vec<&str> =
                            l[open + 1..close].split(',').map(str::trim).collect();
                        items.sort();
                        format!(
                            "{}{{ {} }}{}",
                            &l[..open],
                            items.join(", "),
                            &l[close + 1..]
                        )
                    }
                    _ => l.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Replace(from, to) => text.replace(from, to),
        };
    }
    text
}

#[test]
fn real_before_after_pairs_are_reproduced() {
    let Some(corpus) = common::corpus("before/after pairs") else {
        return;
    };
    for pair in PAIRS {
        let before = read(&corpus, pair.before);
        let after = read(&corpus, pair.after);
        let format = Template::parse(&before).unwrap().format();
        let after_doc = semantic_value(&after, format).unwrap();
        let mut text = before.clone();
        for mapping in pair.mappings {
            let version = pair.version_parameter.map(|p| {
                let default = after_doc
                    .get("Parameters")
                    .and_then(|ps| ps.get(p))
                    .and_then(|p| p.get("Default"));
                Version::new(
                    default
                        .and_then(Value::as_str)
                        .unwrap_or_else(|| panic!("pair {}: no version default", pair.id)),
                )
                .unwrap()
            });
            let request = EditRequest {
                amis: after_amis(&after_doc, mapping),
                mapping: Some(mapping.to_string()),
                prune: pair.prune,
                prune_other_partitions: pair.prune_other_partitions,
                version,
                version_parameter: pair.version_parameter.map(str::to_owned),
                ..Default::default()
            };
            let edited = Template::parse(&text)
                .unwrap()
                .edit(&request)
                .unwrap_or_else(|e| panic!("pair {}: {e}", pair.id));
            text = edited.text;
        }
        if pair.hand_edits.is_empty() {
            assert!(
                text == after,
                "pair {}: result differs from the after file:\n{}",
                pair.id,
                marketplace_release::plan::diff::unified_diff("after", &after, &text)
            );
        } else {
            let (ours, theirs) = (
                normalise(&text, pair.hand_edits),
                normalise(&after, pair.hand_edits),
            );
            assert!(
                ours == theirs,
                "pair {} (normalised for {:?}): result differs from the after file:\n{}",
                pair.id,
                pair.hand_edits,
                marketplace_release::plan::diff::unified_diff("after", &theirs, &ours)
            );
        }
        println!(
            "pair {}: {} → {} reproduced{}",
            pair.id,
            pair.before,
            pair.after,
            if pair.hand_edits.is_empty() {
                " byte for byte".to_owned()
            } else {
                format!(" except the listed hand edits {:?}", pair.hand_edits)
            }
        );
    }
    for (id, why) in OUT_OF_SCOPE {
        println!("pair {id}: not reproduced by design: {why}");
    }
}
