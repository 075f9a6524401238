//! Fuzz run: random mutations of real templates never panic, never run past a time bound, and
//! every successful edit is re-read by a loader that shares no code with ours.
//!
//! With a fixed seed, [`CASES`] cases are made from the templates of `../shared/corpus` (or,
//! without it, from the repository's fixtures and example, with a NOTE). Each case:
//! 1. drops the top-level sections the editor never reads (`Resources`, `Outputs`, …) and keeps
//!    at most a few parameters, with the editor's own splices, so the pure-Python re-read stays
//!    fast; the author's bytes of what remains are kept;
//! 2. applies one to three random mutations: bytes and lines inserted, deleted, duplicated,
//!    re-indented; YAML and JSON punctuation; CRLF, a byte-order mark, no final newline;
//!    trailing commas and raw line breaks in JSON strings; deep nesting;
//! 3. asks for a random edit (existing and new regions, prune, a version, sometimes another
//!    partition) and runs parse + edit under `catch_unwind`, with a watchdog on every case.
//!
//! Refusals must name a line and column when they are syntax errors. Successes go, batched, to
//! one `tests/support/reread.py` process, which loads them with ruamel.yaml's pure-Python safe
//! loader: the edited values must be the ones that loader sees, and when it reads the input
//! too, nothing else may differ.

use crate::common;

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use marketplace_release::domain::ami::AmiSet;
use marketplace_release::domain::version::Version;
use marketplace_release::template::splice::Layout;
use marketplace_release::template::tree::Node;
use marketplace_release::template::{
    located_yaml, Change, EditRequest, ErrorKind, Format, MappingSummary, Template,
};

/// The seed of every run, so a failure can be replayed.
const SEED: u64 = 0x0014_f022_2026;
/// Checker processes running `tests/support/reread.py` side by side.
const CHECKERS: usize = 2;
/// How many mutated templates; `MARKETPLACE_RELEASE_FUZZ_CASES` may raise it.
const CASES: usize = 2_000;
/// No single parse + edit may take longer than this, even in the debug build.
const CASE_BOUND: Duration = Duration::from_secs(3);
/// Top-level sections kept; the editor reads nothing else.
const KEPT_SECTIONS: [&str; 3] = ["AWSTemplateFormatVersion", "Parameters", "Mappings"];

const NEW_REGIONS: [&str; 6] = [
    "il-central-1",
    "mx-central-1",
    "ap-southeast-5",
    "ca-west-1",
    "eu-south-2",
    "ap-east-2",
];
const OTHER_PARTITION_REGIONS: [&str; 4] = [
    "cn-north-1",
    "us-gov-west-1",
    "eusc-de-east-1",
    "us-iso-east-1",
];
const VERSIONS: [&str; 5] = ["2026.01.0", "5.1", "4.4.12", "1.0.0-rc1", "10.0.0"];

/// Pieces that mean something to a YAML or JSON reader.
const TOKENS: [&str; 34] = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    ": ",
    "\"",
    "'",
    "#",
    "- ",
    "!",
    "!Ref ",
    "&a ",
    "*a",
    "|",
    ">",
    "\n",
    "\r\n",
    "\t",
    " ",
    "  ",
    "?",
    "%",
    "@",
    "`",
    "\\",
    "\u{feff}",
    "é",
    "\u{1F600}",
    "\0",
    "---\n",
    "...\n",
    "\"\n",
];

struct Source {
    name: String,
    text: String,
    /// Its AMI mapping before any mutation, which the random requests are made from.
    mapping: Option<MappingSummary>,
}

fn sources() -> Vec<Source> {
    let mut paths = Vec::new();
    match common::corpus("fuzz") {
        Some(corpus) => paths.extend(common::corpus_templates(&corpus)),
        None => {
            eprintln!(
                "NOTE: fuzz: mutating the repository's fixtures and example instead of the corpus"
            );
            let fixtures = common::repo().join("tests/fixtures/templates");
            for entry in std::fs::read_dir(fixtures).expect("fixtures") {
                paths.push(entry.expect("entry").path());
            }
            paths.push(common::repo().join("examples/neo4j/neo4j.template.yaml"));
            paths.sort();
        }
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let text = reduce(&text);
            let mapping = Template::parse(&text).ok().and_then(|t| {
                t.mappings()
                    .into_iter()
                    .find(|m| m.ami_values > 0 && !m.keys.is_empty())
            });
            Some(Source {
                name: path.file_name()?.to_string_lossy().into_owned(),
                text,
                mapping,
            })
        })
        .collect()
}

/// The template without the sections the editor never reads, with at most four parameters
/// (the version-looking and image ones first) and the AMI mappings plus one other, cut with
/// the editor's own splices.
fn reduce(text: &str) -> String {
    let Some(root) = located_yaml(text).ok() else {
        return text.to_owned();
    };
    let format = if Format::detect(text) == Format::Json {
        Format::Json
    } else {
        Format::Yaml
    };
    let keep_top: Vec<bool> = entries(&root)
        .iter()
        .map(|e| KEPT_SECTIONS.contains(&e.key.as_scalar().unwrap_or_default()))
        .collect();
    let text = delete_entries(text, format, &root, &keep_top);
    let text = keep_some(&text, format, "Parameters", 4, |name| {
        name.contains("Version") || name.contains("Image") || name.contains("AMI")
    });
    // The AMI mappings, and one other (a name row's map, a version map) at most.
    let mut others = 0;
    keep_some(&text, format, "Mappings", usize::MAX, |name| {
        let ami_mapping = Template::parse(&text).is_ok_and(|t| {
            t.mappings()
                .iter()
                .any(|m| m.name == name && m.ami_values > 0)
        });
        others += usize::from(!ami_mapping);
        ami_mapping || others == 1
    })
}

/// Keeps, under the top-level `section`, the entries `wanted` picks, then others up to `most`
/// entries in all.
fn keep_some(
    text: &str,
    format: Format,
    section: &str,
    most: usize,
    mut wanted: impl FnMut(&str) -> bool,
) -> String {
    let Some(root) = located_yaml(text).ok() else {
        return text.to_owned();
    };
    let Some(node) = root.get(section) else {
        return text.to_owned();
    };
    let mut keep: Vec<bool> = entries(node)
        .iter()
        .map(|e| wanted(e.key.as_scalar().unwrap_or_default()))
        .collect();
    let mut kept = keep.iter().filter(|k| **k).count();
    for k in keep.iter_mut() {
        if kept >= most {
            break;
        }
        if !*k {
            *k = true;
            kept += 1;
        }
    }
    delete_entries(text, format, node, &keep)
}

fn entries(node: &Node) -> &[marketplace_release::template::tree::Entry] {
    node.entries().unwrap_or_default()
}

/// Deletes the entries of `container` whose `keep` is false, as runs, keeping at least one.
fn delete_entries(text: &str, format: Format, container: &Node, keep: &[bool]) -> String {
    if !keep.iter().any(|k| *k) {
        return text.to_owned();
    }
    let layout = Layout::new(text, format);
    let mut splices = Vec::new();
    let mut i = 0;
    while i < keep.len() {
        if keep[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i < keep.len() && !keep[i] {
            i += 1;
        }
        splices.push(layout.delete_run(container, first, i - 1));
    }
    marketplace_release::template::splice::apply(text, splices).unwrap_or_else(|_| text.to_owned())
}

/// A small deterministic generator (fastrand, seeded once).
struct Dice(fastrand::Rng);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.0.usize(..n)
        }
    }
    fn chance(&mut self, percent: u8) -> bool {
        self.0.u8(..100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
    /// A char boundary of `text` at or after a random offset.
    fn offset(&mut self, text: &str) -> usize {
        let mut at = self.below(text.len() + 1);
        while !text.is_char_boundary(at) {
            at += 1;
        }
        at
    }
}

/// Applies one random mutation to `text`; returns its name.
fn mutate(dice: &mut Dice, text: &mut String) -> &'static str {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let line = dice.below(lines.len());
    let rebuilt = |lines: Vec<String>| lines.concat();
    match dice.below(14) {
        0 => {
            let at = dice.offset(text);
            text.insert_str(at, dice.pick_str(&TOKENS));
            "insert token"
        }
        1 => {
            let start = dice.offset(text);
            let mut end = (start + 1 + dice.below(8)).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            text.replace_range(start..end, "");
            "delete bytes"
        }
        2 => {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            if let Some(l) = lines.get(line) {
                out.insert(line, l.to_string());
            }
            *text = rebuilt(out);
            "duplicate line"
        }
        3 => {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            if line < out.len() {
                out.remove(line);
            }
            *text = rebuilt(out);
            "delete line"
        }
        4 => {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            if line + 1 < out.len() {
                out.swap(line, line + 1);
            }
            *text = rebuilt(out);
            "swap lines"
        }
        5 => {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            if let Some(l) = out.get_mut(line) {
                if dice.chance(50) {
                    l.insert_str(0, &" ".repeat(1 + dice.below(3)));
                } else {
                    let blanks = l.len() - l.trim_start_matches(' ').len();
                    l.replace_range(..blanks.min(1 + dice.below(3)), "");
                }
            }
            *text = rebuilt(out);
            "re-indent line"
        }
        6 => {
            *text = text.replace("\r\n", "\n").replace('\n', "\r\n");
            "CRLF"
        }
        7 => {
            if !text.starts_with('\u{feff}') {
                text.insert(0, '\u{feff}');
            }
            "byte-order mark"
        }
        8 => {
            while text.ends_with('\n') || text.ends_with('\r') {
                text.pop();
            }
            "no final newline"
        }
        9 => {
            // A trailing comma before a closing bracket.
            let closers: Vec<usize> = text.match_indices(['}', ']']).map(|(i, _)| i).collect();
            if !closers.is_empty() {
                let at = *dice.pick(&closers);
                let before = text[..at].trim_end().len();
                text.insert(before, ',');
            }
            "trailing comma"
        }
        10 => {
            // A raw line break inside a double-quoted string, at a space.
            let spaces: Vec<usize> = text
                .match_indices("\" ")
                .map(|(i, _)| i)
                .chain(text.match_indices(' ').map(|(i, _)| i))
                .filter(|&i| {
                    text[..i]
                        .rfind('"')
                        .is_some_and(|q| !text[q..i].contains('\n'))
                })
                .collect();
            if !spaces.is_empty() {
                let at = *dice.pick(&spaces);
                let indent = " ".repeat(dice.below(6));
                text.replace_range(at..at + 1, &format!("\n{indent}"));
            }
            "raw line break in a string"
        }
        11 => {
            let at = dice.offset(text);
            let depth = 1 + dice.below(300);
            let open = if dice.chance(50) { "[" } else { "{a: " };
            text.insert_str(at, &open.repeat(depth));
            "deep nesting"
        }
        12 => {
            // A quoted scalar continued at column 0.
            if let Some(i) = text.find(": \"").or_else(|| text.find(": '")) {
                if let Some(space) = text[i + 3..].find(' ').map(|s| i + 3 + s) {
                    if !text[i..space].contains('\n') {
                        text.replace_range(space..space + 1, "\n");
                    }
                }
            }
            "quoted scalar continued at column 0"
        }
        _ => {
            // A whole line copied elsewhere (a key written twice, often).
            if let Some(l) = lines.get(line).map(|l| l.to_string()) {
                let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                let to = dice.below(out.len() + 1);
                out.insert(to, l);
                *text = rebuilt(out);
            }
            "line copied elsewhere"
        }
    }
}

/// A random request for a template whose AMI mapping is `mapping`: AMIs for existing and new
/// regions (or a flat us-east-1 AMI when it has none), prune, a version.
fn request_for(
    dice: &mut Dice,
    mapping: Option<&MappingSummary>,
    counter: &mut u64,
) -> EditRequest {
    let mut amis = serde_json::Map::new();
    let fresh = |counter: &mut u64| {
        *counter += 1;
        serde_json::Value::String(common::fake_ami(*counter))
    };
    let mapping_name = match mapping {
        Some(m) => {
            let mut regions: Vec<String> = Vec::new();
            if dice.chance(10) {
                regions.push(dice.pick(&OTHER_PARTITION_REGIONS).to_string());
            } else {
                for _ in 0..1 + dice.below(5) {
                    let region = if dice.chance(30) || m.regions.is_empty() {
                        dice.pick(&NEW_REGIONS).to_string()
                    } else {
                        dice.pick(&m.regions).clone()
                    };
                    if !regions.contains(&region) {
                        regions.push(region);
                    }
                }
            }
            for region in regions {
                // Most keys of the mapping, at least one.
                let mut keys: serde_json::Map<String, serde_json::Value> = m
                    .keys
                    .iter()
                    .filter(|_| dice.chance(80))
                    .map(|k| (k.clone(), fresh(counter)))
                    .collect();
                if keys.is_empty() {
                    keys.insert(dice.pick(&m.keys).clone(), fresh(counter));
                }
                amis.insert(region, keys.into());
            }
            Some(m.name.clone())
        }
        None => None,
    };
    if amis.is_empty() {
        amis.insert("us-east-1".into(), fresh(counter));
    }
    EditRequest {
        amis: AmiSet::from_json_value(&amis.into()).expect("valid AMIs"),
        mapping: mapping_name.filter(|_| dice.chance(80)),
        prune: dice.chance(25),
        version: dice
            .chance(40)
            .then(|| Version::new(dice.pick_str(&VERSIONS)).expect("valid version")),
        ..Default::default()
    }
}

/// What the independent loader must see in the edited text.
fn ops(request: &EditRequest, changes: &[Change], mapping: Option<&str>) -> Vec<serde_json::Value> {
    let mut ops = Vec::new();
    if let Some(mapping) = mapping {
        for (region, amis) in request.amis.iter() {
            let pairs: Vec<(String, String)> = match amis {
                marketplace_release::domain::ami::RegionAmis::Keyed(keyed) => keyed
                    .iter()
                    .map(|(k, a)| (k.clone(), a.to_string()))
                    .collect(),
                marketplace_release::domain::ami::RegionAmis::Single(_) => Vec::new(),
            };
            for (key, ami) in pairs {
                ops.push(serde_json::json!({"op": "set", "path": ["Mappings", mapping, region.as_str(), key], "value": ami}));
            }
        }
    }
    for change in changes {
        match change {
            Change::RegionRemoved { region } => ops.push(
                serde_json::json!({"op": "remove", "path": ["Mappings", mapping.unwrap_or_default(), region]}),
            ),
            Change::ParameterDefault { parameter, new, .. } => ops.push(
                serde_json::json!({"op": "set", "path": ["Parameters", parameter, "Default"], "value": new}),
            ),
            Change::AllowedValueAdded { parameter, value } => ops.push(
                serde_json::json!({"op": "prepend", "path": ["Parameters", parameter, "AllowedValues"], "value": value}),
            ),
            Change::AmiUpdated { .. } | Change::AmiAdded { .. } | Change::RegionAdded { .. } => {}
        }
    }
    ops
}

/// Adds one checker's summary to `total`: counts add up, lists are joined.
fn merge(total: &mut serde_json::Value, part: &serde_json::Value) {
    for count in ["checked", "unreadable_count", "failure_count"] {
        total[count] =
            (total[count].as_u64().unwrap_or(0) + part[count].as_u64().unwrap_or(0)).into();
    }
    for list in ["unreadable", "failures"] {
        let items = part[list].as_array().cloned().unwrap_or_default();
        total[list].as_array_mut().expect("a list").extend(items);
    }
    if let Some(loaders) = part["by_loader"].as_object() {
        for (name, n) in loaders {
            let sum = total["by_loader"][name].as_u64().unwrap_or(0) + n.as_u64().unwrap_or(0);
            total["by_loader"][name] = sum.into();
        }
    }
}

enum Report {
    Start(String),
    Done {
        elapsed: Duration,
        outcome: Outcome,
    },
    /// The bytes sent to the checker.
    Finished(usize),
}

enum Outcome {
    Edited,
    Refused,
    Panicked(String),
    Unlocated(String),
}

#[test]
fn random_mutations_never_panic_stay_bounded_and_reread_independently() {
    let started = Instant::now();
    let cases = std::env::var("MARKETPLACE_RELEASE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES)
        .max(CASES);
    // Two checker processes share the re-reading (the pure-Python loaders are the slow part);
    // a thread of its own feeds them, so a slow reader never stalls a timed case.
    let python = common::venv_python();
    let mut checkers: Vec<std::process::Child> = (0..CHECKERS)
        .map(|_| {
            Command::new(&python)
                .arg(common::repo().join("tests/support/reread.py"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()))
        })
        .collect();
    let mut inputs: Vec<_> = checkers
        .iter_mut()
        .map(|c| std::io::BufWriter::new(c.stdin.take().expect("stdin")))
        .collect();
    let (lines_tx, lines_rx) = mpsc::channel::<Vec<u8>>();
    let feeder = std::thread::spawn(move || {
        for (i, line) in lines_rx.into_iter().enumerate() {
            let input = &mut inputs[i % CHECKERS];
            input.write_all(&line).expect("write to a checker");
            input.flush().expect("write to a checker");
        }
    });
    let sources = sources();
    assert!(!sources.is_empty(), "no templates to mutate");
    // Smaller templates are picked more often: the pure-Python re-read costs time per byte.
    let weights: Vec<f64> = sources
        .iter()
        .map(|s| 1.0 / (s.text.len().max(2_000) as f64))
        .collect();
    let total: f64 = weights.iter().sum();

    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let mut dice = Dice(fastrand::Rng::with_seed(SEED));
        let mut counter = 0u64;
        let mut bytes_checked = 0usize;
        for case in 0..cases {
            let mut roll = dice.0.f64() * total;
            let source = sources
                .iter()
                .zip(&weights)
                .find(|(_, w)| {
                    roll -= **w;
                    roll <= 0.0
                })
                .map_or(&sources[sources.len() - 1], |(s, _)| s);
            let mut text = source.text.clone();
            let mut applied = Vec::new();
            for _ in 0..1 + dice.below(3) {
                applied.push(mutate(&mut dice, &mut text));
            }
            let request = request_for(&mut dice, source.mapping.as_ref(), &mut counter);
            let label = format!("case {case}: {} + {}", source.name, applied.join(" + "));
            tx.send(Report::Start(label.clone())).ok();
            let clock = Instant::now();
            let result = catch_unwind(AssertUnwindSafe(|| {
                Template::parse(&text).and_then(|t| t.edit(&request))
            }));
            let elapsed = clock.elapsed();
            let outcome = match result {
                Err(panic) => Outcome::Panicked(format!(
                    "{label}: {}",
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                )),
                Ok(Err(e)) if e.kind == ErrorKind::Syntax && e.location.is_none() => {
                    Outcome::Unlocated(format!("{label}: {e}"))
                }
                Ok(Err(_)) => Outcome::Refused,
                Ok(Ok(edited)) => {
                    bytes_checked += text.len() + edited.text.len();
                    let line = serde_json::json!({
                        "label": label,
                        "original": text,
                        "edited": edited.text,
                        "ops": ops(&request, &edited.changes, edited.mapping.as_deref()),
                    });
                    let mut bytes = serde_json::to_vec(&line).expect("JSON");
                    bytes.push(b'\n');
                    lines_tx.send(bytes).expect("the feeder runs");
                    Outcome::Edited
                }
            };
            tx.send(Report::Done { elapsed, outcome }).ok();
        }
        drop(lines_tx);
        tx.send(Report::Finished(bytes_checked)).ok();
    });

    let (mut edited, mut refused, mut slowest) = (0usize, 0usize, Duration::ZERO);
    let mut problems = Vec::new();
    let mut current = String::new();
    let bytes_checked = loop {
        match rx.recv_timeout(CASE_BOUND) {
            Ok(Report::Start(label)) => current = label,
            Ok(Report::Done { elapsed, outcome }) => {
                slowest = slowest.max(elapsed);
                if elapsed > CASE_BOUND {
                    problems.push(format!("{current}: took {elapsed:?}"));
                }
                match outcome {
                    Outcome::Edited => edited += 1,
                    Outcome::Refused => refused += 1,
                    Outcome::Panicked(p) => problems.push(format!("panic: {p}")),
                    Outcome::Unlocated(p) => {
                        problems.push(format!("syntax error without a line: {p}"))
                    }
                }
            }
            Ok(Report::Finished(bytes)) => break bytes,
            Err(_) => {
                panic!("timeout: {current} ran for more than {CASE_BOUND:?} (seed {SEED:#x})")
            }
        }
    };
    let rust_done = started.elapsed();
    worker.join().expect("the worker finished");
    feeder.join().expect("the feeder finished");
    let mut summary = serde_json::json!({"checked": 0, "by_loader": {}, "unreadable": [], "unreadable_count": 0, "failures": [], "failure_count": 0});
    let mut all_succeeded = true;
    for checker in checkers {
        let output = checker.wait_with_output().expect("the checker ran");
        all_succeeded &= output.status.success();
        let part: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "reread.py printed no summary ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        merge(&mut summary, &part);
    }
    println!(
        "fuzz: seed {SEED:#x}, {cases} cases: {edited} edited, {refused} refused, 0 timeouts, {} panics; slowest case {slowest:?}; re-read {} edits independently ({} KB; by loader: {}), {} unreadable, {} mismatches; {:.1} s ({:.1} s for parse + edit)",
        problems.iter().filter(|p| p.starts_with("panic")).count(),
        summary["checked"],
        bytes_checked / 1000,
        summary["by_loader"],
        summary["unreadable_count"],
        summary["failure_count"],
        started.elapsed().as_secs_f64(),
        rust_done.as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        summary["checked"].as_u64(),
        Some(edited as u64),
        "every edit reaches the checker"
    );
    assert!(
        all_succeeded && summary["failure_count"] == 0,
        "the independent loaders disagree with the edit:\n{}",
        serde_json::to_string_pretty(&summary["failures"]).unwrap_or_default()
    );
    // Inputs that neither Python loader reads (they refuse a tab inside a plain scalar, which
    // YAML allows and libyaml reads) cannot be checked by them: listed, and bounded.
    let unreadable = summary["unreadable_count"].as_u64().unwrap_or(u64::MAX) as usize;
    if unreadable > 0 {
        println!(
            "fuzz: {unreadable} edited inputs neither independent loader reads:\n{}",
            serde_json::to_string_pretty(&summary["unreadable"]).unwrap_or_default()
        );
    }
    assert!(
        unreadable * 50 <= edited,
        "{unreadable} of {edited} edited inputs are unreadable by both independent loaders (at most 2% expected)"
    );
    assert!(
        edited >= cases / 5,
        "only {edited} of {cases} cases were edited: the mutations are too destructive to test the editor"
    );
}
