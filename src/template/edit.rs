//! Turns an [`EditRequest`] into splices: which mapping, which keys, which parameters, and
//! where new entries go.

use std::collections::BTreeMap;

use serde::Serialize;

use super::proof::{self, Intent};
use super::splice::{self, Layout, Splice};
use super::tree::{Entry, Node, NodeKind, ScalarStyle};
use super::{did_you_mean, EditRequest, ErrorKind, Template, TemplateError, PARALLEL_PARSE_BYTES};
use crate::domain::ami::{AmiSet, Partition, Region, RegionAmis};
use crate::domain::version::looks_like_version;

/// One change made to a template, for reports and PR bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// An existing AMI value was replaced.
    AmiUpdated {
        /// Region.
        region: String,
        /// Second-level key.
        key: String,
        /// Previous value.
        old: String,
        /// New AMI.
        new: String,
    },
    /// A key was added to an existing region.
    AmiAdded {
        /// Region.
        region: String,
        /// Second-level key.
        key: String,
        /// New AMI.
        new: String,
    },
    /// A region was added to the mapping.
    RegionAdded {
        /// Region.
        region: String,
    },
    /// A region was removed from the mapping (`--prune`).
    RegionRemoved {
        /// Region.
        region: String,
    },
    /// A parameter default was changed.
    ParameterDefault {
        /// Parameter name.
        parameter: String,
        /// Previous default.
        old: String,
        /// New default.
        new: String,
    },
    /// The version was added to a parameter's AllowedValues.
    AllowedValueAdded {
        /// Parameter name.
        parameter: String,
        /// The value added.
        value: String,
    },
}

/// The result of an edit.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The new template text (equal to the input when nothing changed).
    pub text: String,
    /// What changed, in order.
    pub changes: Vec<Change>,
    /// The mapping that was updated, if any.
    pub mapping: Option<String>,
    /// Whether `text` differs from the input.
    pub changed: bool,
    /// Region rows of the edited mapping in a partition that none of the AMIs' regions is in
    /// (`cn-north-1` in a release for `aws`): kept as they are, never written to or pruned.
    pub other_partitions: Vec<String>,
}

impl Edited {
    /// `; kept (other partition): cn-north-1 (aws-cn), …` for a plan's summary line, or
    /// nothing when every region row is in the release's partition.
    pub fn other_partitions_note(&self) -> String {
        if self.other_partitions.is_empty() {
            return String::new();
        }
        let rows: Vec<String> = self
            .other_partitions
            .iter()
            .map(|r| match Region::partition_of(r) {
                Some(p) => format!("{r} ({p})"),
                None => r.clone(),
            })
            .collect();
        format!(
            "; kept, not copied to (other partition): {}",
            rows.join(", ")
        )
    }
}

/// The (mapping key, AMI ID) pairs one region receives.
type KeyedAmis = Vec<(String, String)>;

struct Editor<'a, 't> {
    template: &'a Template<'t>,
    layout: Layout<'t>,
    splices: Vec<Splice>,
    intents: Vec<Intent>,
    changes: Vec<Change>,
    /// The partitions of the AMIs' regions: a release has one, a hand-made AMIS.json may mix.
    partitions: Vec<Partition>,
    other_partitions: Vec<String>,
}

/// Edits and proves. The proof parses the original text while the edit is being worked out:
/// on a thread of its own for a large template. Either way it starts only now, after the
/// located parse has bounded the nesting depth.
pub(super) fn run(template: &Template<'_>, request: &EditRequest) -> Result<Edited, TemplateError> {
    let parse_original = || proof::semantic_value(template.text, template.format);
    if template.text.len() < PARALLEL_PARSE_BYTES {
        return edit_and_prove(template, request, parse_original);
    }
    std::thread::scope(|scope| {
        let original = scope.spawn(parse_original);
        edit_and_prove(template, request, || {
            original
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    })
}

fn edit_and_prove<'t>(
    template: &Template<'t>,
    request: &EditRequest,
    original: impl FnOnce() -> Result<proof::Value<'t>, proof::ParseFailure>,
) -> Result<Edited, TemplateError> {
    let mut editor = Editor {
        template,
        layout: Layout::new(template.text, template.format),
        splices: Vec::new(),
        intents: Vec::new(),
        changes: Vec::new(),
        partitions: request.amis.partitions(),
        other_partitions: Vec::new(),
    };
    let mapping = editor.select_mapping(request)?;
    match &mapping {
        Some((name, node)) => editor.update_mapping(name, node, request)?,
        None if request.prune => {
            return Err(TemplateError::new(
                ErrorKind::Request,
                None,
                "--prune was given, but the template has no AMI mapping to prune",
                "drop --prune, or name the mapping with --mapping",
            ))
        }
        None => editor.update_image_parameter(request)?,
    }
    if let Some(version) = &request.version {
        editor.set_version(version.as_str(), request.version_parameter.as_deref())?;
    }
    let Editor {
        splices,
        intents,
        changes,
        other_partitions,
        ..
    } = editor;
    let text = splice::apply(template.text, splices).map_err(|e| internal(&e))?;
    let edited = (text != template.text).then(|| proof::semantic_value(&text, template.format));
    let original = original().map_err(|failure| {
        TemplateError::new(
            ErrorKind::Syntax,
            failure.location,
            format!(
                "the proof's {} parser refuses the template: {}",
                parser_name(template.format),
                failure.message
            ),
            "fix the template at this place so that it parses; the template was not changed",
        )
    })?;
    let edited = match edited {
        None => original.clone(),
        Some(parsed) => parsed.map_err(|failure| {
            internal(&format!("the edited text no longer parses ({failure})"))
        })?,
    };
    proof::verify(&original, edited, &intents).map_err(|failure| {
        TemplateError::new(
            ErrorKind::ProofFailed,
            None,
            format!(
                "refusing to write: after editing, `{}` is not what was intended ({}); nothing was written",
                failure.path, failure.detail
            ),
            "this is a bug in marketplace-release: please report it with the template and AMIS.json",
        )
    })?;
    let changed = text != template.text;
    Ok(Edited {
        text,
        changes,
        mapping: mapping.map(|(name, _)| name),
        changed,
        other_partitions,
    })
}

fn parser_name(format: super::Format) -> &'static str {
    match format {
        super::Format::Json => "JSON (serde_json)",
        super::Format::Yaml => "YAML (serde_yaml)",
    }
}

fn internal(message: &str) -> TemplateError {
    TemplateError::new(
        ErrorKind::ProofFailed,
        None,
        format!("refusing to write: {message}; nothing was written"),
        "this is a bug in marketplace-release: please report it with the template and AMIS.json",
    )
}

impl<'a, 't> Editor<'a, 't> {
    fn err(
        &self,
        kind: ErrorKind,
        at: Option<&Node>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> TemplateError {
        TemplateError::new(
            kind,
            at.map(|n| self.template.location(n.span.start)),
            message,
            help,
        )
    }

    /// The entry under `key` in the mapping `node`, refusing a key written twice: YAML and JSON
    /// loaders, CloudFormation included, keep the last, so an edit must never pick one of two.
    /// `path` names the key in the message (`Mappings.AMIs.us-east-1`).
    fn unique(
        &self,
        node: &'a Node,
        key: &str,
        path: &str,
    ) -> Result<Option<&'a Entry>, TemplateError> {
        let mut found = node
            .entries()
            .unwrap_or_default()
            .iter()
            .filter(|e| e.key.as_scalar() == Some(key));
        let first = found.next();
        match (first, found.next_back()) {
            (Some(first), Some(last)) => {
                let a = self.template.location(first.key.span.start);
                let b = self.template.location(last.key.span.start);
                Err(TemplateError::new(
                    ErrorKind::DuplicateKey,
                    Some(b),
                    format!(
                        "`{path}` is written twice, at line {}, column {} and at line {}, column {}; CloudFormation (like every YAML and JSON loader) uses the last one, so this tool will not edit either",
                        a.line, a.column, b.line, b.column
                    ),
                    "delete the occurrence you do not mean (CloudFormation uses the last one today), then run again",
                ))
            }
            (first, _) => Ok(first),
        }
    }

    /// `unique` for the value: the node under `key`, if any.
    fn unique_value(
        &self,
        node: &'a Node,
        key: &str,
        path: &str,
    ) -> Result<Option<&'a Node>, TemplateError> {
        Ok(self.unique(node, key, path)?.map(|e| &e.value))
    }

    /// The mapping to update: the one named, or the only one holding AMI IDs.
    fn select_mapping(
        &self,
        request: &EditRequest,
    ) -> Result<Option<(String, &'a Node)>, TemplateError> {
        let template = self.template;
        let mappings_entry = self.unique(&template.root, "Mappings", "Mappings")?;
        let mappings_node = mappings_entry.map(|e| &e.value);
        let mappings_key = mappings_entry.map(|e| &e.key);
        let summaries = template.mappings();
        if let Some(wanted) = &request.mapping {
            let found = match mappings_node {
                Some(m) => self.unique_value(m, wanted, &format!("Mappings.{wanted}"))?,
                None => None,
            };
            let Some(node) = found else {
                let names: Vec<&str> = summaries.iter().map(|s| s.name.as_str()).collect();
                let hint = match did_you_mean(wanted, names.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`? "),
                    None => String::new(),
                };
                return Err(self.err(
                    ErrorKind::MappingNotFound,
                    mappings_key,
                    format!("there is no mapping `{wanted}` under Mappings"),
                    format!(
                        "{hint}the mappings are: {}",
                        if names.is_empty() {
                            "(none)".into()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            };
            if node.entries().is_none() {
                return Err(self.err(
                    ErrorKind::Shape,
                    Some(node),
                    format!("mapping `{wanted}` is not a mapping of regions"),
                    "name a mapping whose keys are regions",
                ));
            }
            return Ok(Some((wanted.clone(), node)));
        }
        let candidates: Vec<_> = summaries.iter().filter(|s| s.ami_values > 0).collect();
        if let Some(m) = mappings_node {
            for candidate in &candidates {
                self.unique(m, &candidate.name, &format!("Mappings.{}", candidate.name))?;
            }
        }
        match candidates.as_slice() {
            [] => Ok(None),
            [only] => Ok(Some((
                only.name.clone(),
                mappings_node
                    .and_then(|m| m.get(&only.name))
                    .expect("summarised mapping exists"),
            ))),
            several => Err(self.err(
                ErrorKind::MappingAmbiguous,
                mappings_key,
                format!(
                    "several mappings hold AMI IDs: {}",
                    several
                        .iter()
                        .map(|s| format!(
                            "{} ({} regions, keys {})",
                            s.name,
                            s.regions.len(),
                            s.keys.join("/")
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                "name the one to update with --mapping NAME (or `mapping:` in the config)",
            )),
        }
    }

    /// Resolves the AMI set to (key, AMI) pairs per region for this mapping.
    fn keyed_amis(
        &self,
        name: &str,
        mapping: &Node,
        request: &EditRequest,
    ) -> Result<Vec<(Region, KeyedAmis)>, TemplateError> {
        let summary = super::MappingSummary::of(name, mapping);
        let has_flat = request
            .amis
            .iter()
            .any(|(_, a)| matches!(a, RegionAmis::Single(_)));
        let flat_key = if !has_flat {
            None
        } else if let Some(key) = &request.key {
            if !summary.keys.iter().any(|k| k == key) {
                let hint = did_you_mean(key, summary.keys.iter().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`? "))
                    .unwrap_or_default();
                return Err(self.err(
                    ErrorKind::Key,
                    Some(mapping),
                    format!("mapping `{name}` has no key `{key}` under its regions"),
                    format!("{hint}its keys are: {}; to add a new key, give AMIS.json as {{\"region\": {{\"{key}\": \"ami-…\"}}}}", summary.keys.join(", ")),
                ));
            }
            Some(key.clone())
        } else {
            match summary.keys.as_slice() {
                [only] => Some(only.clone()),
                [] => {
                    return Err(self.err(
                        ErrorKind::Key,
                        Some(mapping),
                        format!("mapping `{name}` has no region with a key to put the AMI under"),
                        "pass --key KEY, or give AMIS.json as {\"region\": {\"KEY\": \"ami-…\"}}",
                    ))
                }
                several => {
                    return Err(self.err(
                        ErrorKind::Key,
                        Some(mapping),
                        format!("mapping `{name}` has several keys per region ({}), and AMIS.json gives one AMI per region", several.join(", ")),
                        "pass --key KEY to say which one to update, or give AMIS.json as {\"region\": {\"KEY\": \"ami-…\", …}}",
                    ))
                }
            }
        };
        if request.key.is_some() && !has_flat {
            return Err(self.err(
                ErrorKind::Key,
                None,
                "--key was given, but AMIS.json already names the key for every region",
                "drop --key, or give AMIS.json as {\"region\": \"ami-…\"}",
            ));
        }
        Ok(request
            .amis
            .iter()
            .map(|(region, amis)| {
                let pairs = match amis {
                    RegionAmis::Single(ami) => vec![(
                        flat_key.clone().expect("flat key resolved"),
                        ami.to_string(),
                    )],
                    RegionAmis::Keyed(keyed) => keyed
                        .iter()
                        .map(|(k, a)| (k.clone(), a.to_string()))
                        .collect(),
                };
                (region.clone(), pairs)
            })
            .collect())
    }

    #[allow(
        clippy::too_many_lines,
        reason = "decides one mapping's update in the order the README documents (keys, regions, prune, new rows); each step is a short block over the same entries"
    )]
    fn update_mapping(
        &mut self,
        name: &str,
        mapping: &'a Node,
        request: &EditRequest,
    ) -> Result<(), TemplateError> {
        if let Some(node) = mapping.find_anchor_or_alias() {
            return Err(self.err(
                ErrorKind::AnchorOrAlias,
                Some(node),
                format!("mapping `{name}` uses a YAML anchor or alias here, which this tool will not edit through"),
                "write the values out in full (CloudFormation rejects aliases anyway), then run again",
            ));
        }
        let updates = self.keyed_amis(name, mapping, request)?;
        let entries = mapping.entries().expect("checked to be a mapping");
        let region_entries: Vec<(usize, &str)> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.key
                    .as_scalar()
                    .filter(|k| Region::is_region_name(k))
                    .map(|k| (i, k))
            })
            .collect();
        let sorted =
            region_entries.len() >= 2 && region_entries.windows(2).all(|w| w[0].1 < w[1].1);

        let wanted = |region: &str| updates.iter().any(|(r, _)| r.as_str() == region);
        // Rows of another partition are never ours to change: kept, and listed.
        let partitions = self.partitions.clone();
        let own_partition =
            |region: &str| Region::partition_of(region).is_some_and(|p| partitions.contains(&p));
        self.other_partitions = region_entries
            .iter()
            .filter(|(_, r)| !(own_partition(r) || request.prune && request.prune_other_partitions))
            .map(|(_, r)| r.to_string())
            .collect();
        let removed: Vec<usize> = if request.prune {
            region_entries
                .iter()
                .filter(|(_, r)| !wanted(r) && (own_partition(r) || request.prune_other_partitions))
                .map(|(i, _)| *i)
                .collect()
        } else {
            Vec::new()
        };
        for &i in &removed {
            let region = entries[i].key.as_scalar().unwrap_or_default();
            self.unique(mapping, region, &format!("Mappings.{name}.{region}"))?;
        }
        let survives = |i: usize| !removed.contains(&i);

        let mut new_regions = Vec::new();
        for (region, pairs) in &updates {
            let path = format!("Mappings.{name}.{region}");
            match self.unique(mapping, region.as_str(), &path)? {
                Some(entry) => self.update_region(name, entry, pairs)?,
                None => new_regions.push((region, pairs)),
            }
        }

        if !new_regions.is_empty() {
            let style = self.region_style_source(name, mapping, entries)?;
            let surviving: Vec<usize> = (0..entries.len()).filter(|&i| survives(i)).collect();
            let Some(&last_surviving) = surviving.last() else {
                return Err(self.err(
                    ErrorKind::Request,
                    Some(mapping),
                    format!("--prune would remove every region of mapping `{name}` before adding the new ones"),
                    "include at least one region that the mapping already has in AMIS.json, or add a first region by hand",
                ));
            };
            if sorted {
                new_regions.sort_by(|a, b| a.0.cmp(b.0));
            }
            // Insertion points: after a surviving entry, or before the first surviving region.
            let mut after: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            let mut before: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for (region, pairs) in &new_regions {
                let text = self.render_region(style, region.as_str(), pairs);
                if sorted {
                    let lower = region_entries
                        .iter()
                        .filter(|(i, r)| survives(*i) && *r < region.as_str())
                        .map(|(i, _)| *i)
                        .next_back();
                    match lower {
                        Some(i) => after.entry(i).or_default().push(text),
                        None => {
                            let first = region_entries
                                .iter()
                                .map(|(i, _)| *i)
                                .find(|&i| survives(i))
                                .unwrap_or(surviving[0]);
                            before.entry(first).or_default().push(text)
                        }
                    }
                } else {
                    after.entry(last_surviving).or_default().push(text);
                }
                for (key, ami) in pairs.iter() {
                    self.intents.push(Intent::SetMappingValue {
                        mapping: name.into(),
                        region: region.to_string(),
                        key: key.clone(),
                        value: ami.clone(),
                    });
                }
                self.changes.push(Change::RegionAdded {
                    region: region.to_string(),
                });
            }
            for (index, texts) in after {
                self.splices
                    .push(self.layout.insert_after(mapping, index, &texts));
            }
            for (index, texts) in before {
                self.splices
                    .push(self.layout.insert_before(mapping, index, &texts));
            }
        }

        // Remove pruned regions as runs of adjacent entries, so separators stay consistent.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &i in &removed {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == i => *last = i,
                _ => runs.push((i, i)),
            }
        }
        if !removed.is_empty() && removed.len() == entries.len() {
            return Err(self.err(
                ErrorKind::Request,
                Some(mapping),
                format!("--prune would empty mapping `{name}`"),
                "give AMIS.json at least one region",
            ));
        }
        for (first, last) in runs {
            self.splices
                .push(self.layout.delete_run(mapping, first, last));
        }
        for &i in &removed {
            let region = entries[i].key.as_scalar().unwrap_or_default().to_owned();
            self.intents.push(Intent::RemoveRegion {
                mapping: name.into(),
                region: region.clone(),
            });
            self.changes.push(Change::RegionRemoved { region });
        }
        Ok(())
    }

    /// Updates or adds the keys of one existing region entry.
    #[allow(
        clippy::too_many_lines,
        reason = "one region entry: each key updated, added or refused, in one pass over its entries"
    )]
    fn update_region(
        &mut self,
        mapping: &str,
        entry: &'a Entry,
        pairs: &[(String, String)],
    ) -> Result<(), TemplateError> {
        let region = entry.key.as_scalar().unwrap_or_default();
        let Some(inner) = entry.value.entries() else {
            return Err(self.err(
                ErrorKind::Shape,
                Some(&entry.value),
                format!(
                    "region `{region}` of mapping `{mapping}` is not a mapping of keys to AMI IDs"
                ),
                format!("write it as `{region}:` followed by `KEY: ami-…` lines"),
            ));
        };
        let mut added = Vec::new();
        for (key, ami) in pairs {
            let path = format!("Mappings.{mapping}.{region}.{key}");
            match self.unique(&entry.value, key, &path)? {
                Some(slot) => {
                    let (old, style) = match &slot.value.kind {
                        NodeKind::Scalar { value, style } if *style != ScalarStyle::Block => (value.clone(), *style),
                        _ => {
                            return Err(self.err(
                                ErrorKind::Shape,
                                Some(&slot.value),
                                format!("`{region}.{key}` in mapping `{mapping}` is not a single-line value"),
                                "write the AMI ID as a plain or quoted scalar on the key's line",
                            ))
                        }
                    };
                    if slot.value.tag.is_some() {
                        return Err(self.err(
                            ErrorKind::Shape,
                            Some(&slot.value),
                            format!("`{region}.{key}` in mapping `{mapping}` is a tagged value, not an AMI ID"),
                            "replace the intrinsic function with a literal AMI ID, or leave this region out of AMIS.json",
                        ));
                    }
                    if &old != ami {
                        self.splices.push(Splice {
                            range: slot.value.span.clone(),
                            text: self.layout.scalar(ami, style),
                        });
                        self.changes.push(Change::AmiUpdated {
                            region: region.into(),
                            key: key.clone(),
                            old,
                            new: ami.clone(),
                        });
                    }
                }
                None => {
                    let like = inner.first().expect("a region with entries");
                    let text = format!(
                        "{}{}{}",
                        self.layout.scalar(key, key_style(like)),
                        self.layout.key_value_separator(&like.key, &like.value),
                        self.layout.scalar(ami, value_style(like)),
                    );
                    added.push(text);
                    self.changes.push(Change::AmiAdded {
                        region: region.into(),
                        key: key.clone(),
                        new: ami.clone(),
                    });
                }
            }
            self.intents.push(Intent::SetMappingValue {
                mapping: mapping.into(),
                region: region.into(),
                key: key.clone(),
                value: ami.clone(),
            });
        }
        if !added.is_empty() {
            if inner.is_empty() {
                return Err(self.err(
                    ErrorKind::Shape,
                    Some(&entry.value),
                    format!("region `{region}` of mapping `{mapping}` is empty"),
                    "add one `KEY: ami-…` entry by hand so the layout is known",
                ));
            }
            self.splices.push(
                self.layout
                    .insert_after(&entry.value, inner.len() - 1, &added),
            );
        }
        Ok(())
    }

    /// The region entry whose layout new regions copy: the first region holding a mapping.
    fn region_style_source(
        &self,
        name: &str,
        mapping: &Node,
        entries: &'a [Entry],
    ) -> Result<&'a Entry, TemplateError> {
        let holds_keys = |e: &&Entry| e.value.entries().is_some_and(|inner| !inner.is_empty());
        entries
            .iter()
            .filter(holds_keys)
            .find(|e| e.key.as_scalar().is_some_and(Region::is_region_name))
            .or_else(|| entries.iter().find(holds_keys))
            .ok_or_else(|| {
                self.err(
                    ErrorKind::Shape,
                    Some(mapping),
                    format!("mapping `{name}` has no region entry to copy the layout of new regions from"),
                    "add one region by hand (`us-east-1:` with a `KEY: ami-…` line), then run again",
                )
            })
    }

    /// A new region entry, laid out like `like`: same key quoting, separators, indentation and
    /// flow or block style.
    fn render_region(&self, like: &Entry, region: &str, pairs: &[(String, String)]) -> String {
        let layout = &self.layout;
        let text = layout.text;
        let inner = like.value.entries().expect("style source holds a mapping");
        let first = &inner[0];
        // Keys the style source has come first, in its order; others follow in input order.
        let mut ordered: Vec<&(String, String)> = Vec::new();
        for e in inner {
            if let Some(pair) = pairs
                .iter()
                .find(|(k, _)| Some(k.as_str()) == e.key.as_scalar())
            {
                ordered.push(pair);
            }
        }
        let extra: Vec<&(String, String)> = pairs
            .iter()
            .filter(|p| !ordered.iter().any(|o| o.0 == p.0))
            .collect();
        ordered.extend(extra);
        let render_pair = |(key, ami): &(String, String)| {
            let like_entry = inner
                .iter()
                .find(|e| e.key.as_scalar() == Some(key.as_str()))
                .unwrap_or(first);
            format!(
                "{}{}{}",
                layout.scalar(key, key_style(like_entry)),
                layout.key_value_separator(&first.key, &first.value),
                layout.scalar(ami, value_style(like_entry)),
            )
        };
        let region_key = layout.scalar(region, key_style(like));
        let flow = matches!(like.value.kind, NodeKind::Map { flow: true, .. });
        if flow {
            let open_pad = &text[like.value.span.start + 1..first.key.span.start];
            let close_pad =
                &text[inner.last().expect("non-empty").value.span.end..like.value.span.end - 1];
            let sep = layout.separator(&like.value);
            let body: Vec<String> = ordered.iter().map(|p| render_pair(p)).collect();
            let between = &text[like.key.span.end..like.value.span.start];
            let between = if between.contains('#') { ": " } else { between };
            format!(
                "{region_key}{between}{{{open_pad}{}{close_pad}}}",
                body.join(&sep)
            )
        } else {
            let indent = layout.indentation_at(first.key.span.start);
            let body: Vec<String> = ordered
                .iter()
                .map(|p| format!("{}{indent}{}", layout.newline, render_pair(p)))
                .collect();
            format!("{region_key}:{}", body.concat())
        }
    }

    /// Without a mapping, the AMI lives in an `AWS::EC2::Image::Id` parameter's literal default.
    fn update_image_parameter(&mut self, request: &EditRequest) -> Result<(), TemplateError> {
        let params = self
            .unique_value(&self.template.root, "Parameters", "Parameters")?
            .and_then(Node::entries)
            .unwrap_or_default();
        let literal: Vec<&Entry> = params
            .iter()
            .filter(|p| {
                p.value.get("Type").and_then(Node::as_scalar).map(str::trim)
                    == Some("AWS::EC2::Image::Id")
                    && p.value
                        .get("Default")
                        .and_then(Node::as_scalar)
                        .is_some_and(crate::domain::ami::AmiId::is_ami_id)
            })
            .collect();
        for candidate in &literal {
            self.check_parameter(candidate)?;
        }
        let param = match literal.as_slice() {
            [only] => *only,
            [] if request.version.is_some() && self.has_ssm_image_parameter(params) => return Ok(()),
            [] => {
                return Err(self.err(
                    ErrorKind::NothingToUpdate,
                    None,
                    "the template has no mapping with AMI IDs and no `AWS::EC2::Image::Id` parameter with an AMI default",
                    "name the mapping with --mapping, or add a mapping of region → AMI ID; for an SSM ImageId parameter, pass --version",
                ))
            }
            several => {
                return Err(self.err(
                    ErrorKind::ImageParameter,
                    Some(&several[1].key),
                    format!(
                        "several `AWS::EC2::Image::Id` parameters have AMI defaults: {}",
                        several.iter().filter_map(|p| p.key.as_scalar()).collect::<Vec<_>>().join(", ")
                    ),
                    "keep the product AMI in one parameter (or in a region mapping) so the tool knows which to update",
                ))
            }
        };
        let name = param.key.as_scalar().unwrap_or_default().to_owned();
        self.check_parameter(param)?;
        let ami = single_ami_for(&request.amis, "us-east-1").map_err(|why| {
            self.err(
                ErrorKind::ImageParameter,
                Some(&param.key),
                format!("parameter `{name}` holds one AMI (for us-east-1, where Marketplace ingests it), but {why}"),
                "give AMIS.json with exactly one AMI for us-east-1",
            )
        })?;
        let default = param.value.get("Default").expect("filtered on Default");
        self.set_scalar(&name, default, &ami)
    }

    /// Refuses a parameter written twice under `Parameters`, or one whose `Type`, `Default` or
    /// `AllowedValues` is written twice: the edit reads and writes those.
    fn check_parameter(&self, param: &'a Entry) -> Result<(), TemplateError> {
        let name = param.key.as_scalar().unwrap_or_default();
        if let Some(params) = self.template.root.get("Parameters") {
            self.unique(params, name, &format!("Parameters.{name}"))?;
        }
        for field in ["Type", "Default", "AllowedValues"] {
            self.unique(&param.value, field, &format!("Parameters.{name}.{field}"))?;
        }
        Ok(())
    }

    fn has_ssm_image_parameter(&self, params: &[Entry]) -> bool {
        params
            .iter()
            .any(|p| ssm_version_default(&p.value).is_some())
    }

    fn set_scalar(
        &mut self,
        parameter: &str,
        node: &Node,
        value: &str,
    ) -> Result<(), TemplateError> {
        let NodeKind::Scalar { value: old, style } = &node.kind else {
            return Err(self.err(
                ErrorKind::Shape,
                Some(node),
                format!("the Default of parameter `{parameter}` is not a scalar"),
                "write the Default as a plain or quoted value",
            ));
        };
        if *style == ScalarStyle::Block || node.tag.is_some() {
            return Err(self.err(
                ErrorKind::Shape,
                Some(node),
                format!("the Default of parameter `{parameter}` is a block scalar or tagged value"),
                "write the Default as a plain or quoted value on one line",
            ));
        }
        if old != value {
            self.splices.push(Splice {
                range: node.span.clone(),
                text: self.layout.scalar(value, *style),
            });
            self.changes.push(Change::ParameterDefault {
                parameter: parameter.into(),
                old: old.clone(),
                new: value.into(),
            });
        }
        self.intents.push(Intent::SetParameterDefault {
            parameter: parameter.into(),
            value: value.into(),
        });
        Ok(())
    }

    /// Sets the version parameter's Default (or the version segment of an SSM ImageId path).
    #[allow(
        clippy::too_many_lines,
        reason = "finds the one version parameter and writes its Default or SSM path segment; the candidates and their errors read best together"
    )]
    fn set_version(&mut self, version: &str, named: Option<&str>) -> Result<(), TemplateError> {
        let params_node = self.unique_value(&self.template.root, "Parameters", "Parameters")?;
        let params = params_node.and_then(Node::entries).unwrap_or_default();
        let param = match named {
            Some(name) => params
                .iter()
                .find(|p| p.key.as_scalar() == Some(name))
                .ok_or_else(|| {
                    let names: Vec<&str> =
                        params.iter().filter_map(|p| p.key.as_scalar()).collect();
                    let hint = did_you_mean(name, names.iter().copied())
                        .map(|c| format!("did you mean `{c}`? "))
                        .unwrap_or_default();
                    self.err(
                        ErrorKind::VersionParameter,
                        params_node,
                        format!("there is no parameter `{name}` under Parameters"),
                        format!("{hint}name an existing parameter with --version-parameter"),
                    )
                })?,
            None => {
                let candidates: Vec<&Entry> =
                    params.iter().filter(|p| is_version_candidate(p)).collect();
                for candidate in &candidates {
                    self.check_parameter(candidate)?;
                }
                match candidates.as_slice() {
                    [only] => *only,
                    [] => {
                        return Err(self.err(
                            ErrorKind::NoVersionParameter,
                            params_node,
                            "--version was given, but no parameter is clearly the version (a name ending in `Version` with a version default, or an SSM ImageId path ending in a version)",
                            "name it with --version-parameter NAME, or drop --version",
                        ))
                    }
                    several => {
                        return Err(self.err(
                            ErrorKind::VersionParameter,
                            Some(&several[0].key),
                            format!(
                                "several parameters look like the version: {}",
                                several
                                    .iter()
                                    .map(|p| format!("{} (Default {})", p.key.as_scalar().unwrap_or_default(), p.value.get("Default").and_then(Node::as_scalar).unwrap_or_default()))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            "name the one to update with --version-parameter NAME",
                        ))
                    }
                }
            }
        };
        let name = param.key.as_scalar().unwrap_or_default().to_owned();
        self.check_parameter(param)?;
        let Some(default) = param.value.get("Default") else {
            return Err(self.err(
                ErrorKind::VersionParameter,
                Some(&param.key),
                format!("parameter `{name}` has no Default to set the version in"),
                format!("add `Default:` to parameter `{name}`, or name another with --version-parameter"),
            ));
        };
        if let Some((prefix, _)) = ssm_version_default(&param.value) {
            return self.set_scalar(&name, default, &format!("{prefix}{version}"));
        }
        self.set_scalar(&name, default, version)?;
        if let Some(allowed) = param.value.get("AllowedValues") {
            let NodeKind::Seq { items, .. } = &allowed.kind else {
                return Ok(());
            };
            if items.is_empty() || items.iter().any(|i| i.as_scalar() == Some(version)) {
                return Ok(());
            }
            let style = match &items[0].kind {
                NodeKind::Scalar { style, .. } => *style,
                _ => ScalarStyle::Plain,
            };
            self.splices.push(self.layout.insert_before(
                allowed,
                0,
                &[self.layout.scalar(version, style)],
            ));
            self.intents.push(Intent::PrependAllowedValue {
                parameter: name.clone(),
                value: version.into(),
            });
            self.changes.push(Change::AllowedValueAdded {
                parameter: name,
                value: version.into(),
            });
        }
        Ok(())
    }
}

fn key_style(entry: &Entry) -> ScalarStyle {
    match &entry.key.kind {
        NodeKind::Scalar { style, .. } => *style,
        _ => ScalarStyle::Plain,
    }
}

fn value_style(entry: &Entry) -> ScalarStyle {
    match &entry.value.kind {
        NodeKind::Scalar { style, .. } => *style,
        _ => ScalarStyle::Plain,
    }
}

/// The parameters a release could write in `root`: `AWS::EC2::Image::Id` parameters with a
/// literal AMI default, and the parameters that look like the version (as detection reads
/// them).
pub(super) fn release_parameters(root: &Node) -> super::ParameterSummary {
    let params = root
        .get("Parameters")
        .and_then(Node::entries)
        .unwrap_or_default();
    let name = |p: &Entry| p.key.as_scalar().map(str::to_owned);
    super::ParameterSummary {
        image_parameters: params
            .iter()
            .filter(|p| {
                p.value.get("Type").and_then(Node::as_scalar).map(str::trim)
                    == Some("AWS::EC2::Image::Id")
                    && p.value
                        .get("Default")
                        .and_then(Node::as_scalar)
                        .is_some_and(crate::domain::ami::AmiId::is_ami_id)
            })
            .filter_map(name)
            .collect(),
        version_parameters: params
            .iter()
            .filter(|p| is_version_candidate(p))
            .filter_map(name)
            .collect(),
    }
}

/// A parameter whose name ends in `Version` with a version default, or an SSM ImageId
/// parameter whose default path ends in a version.
fn is_version_candidate(param: &Entry) -> bool {
    let named_version = param
        .key
        .as_scalar()
        .is_some_and(|n| n.ends_with("Version"))
        && param
            .value
            .get("Default")
            .and_then(Node::as_scalar)
            .is_some_and(looks_like_version);
    named_version || ssm_version_default(&param.value).is_some()
}

/// For an `AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>` parameter whose default ends in a
/// version (`/aws/service/marketplace/prod-…/2026.03.1`): the path up to the version, and the
/// version.
fn ssm_version_default(param: &Node) -> Option<(&str, &str)> {
    let kind = param.get("Type")?.as_scalar()?;
    if !(kind.starts_with("AWS::SSM::Parameter::Value<") && kind.contains("AWS::EC2::Image::Id")) {
        return None;
    }
    let default = param.get("Default")?.as_scalar()?;
    let cut = default.rfind('/')? + 1;
    let (prefix, version) = default.split_at(cut);
    looks_like_version(version).then_some((prefix, version))
}

/// The one AMI for `region`, or why there is none.
fn single_ami_for(amis: &AmiSet, region: &str) -> Result<String, String> {
    match amis.get(region) {
        None => Err(format!("AMIS.json has no {region} entry")),
        Some(RegionAmis::Single(ami)) => Ok(ami.to_string()),
        Some(RegionAmis::Keyed(keyed)) if keyed.len() == 1 => Ok(keyed[0].to_string()),
        Some(RegionAmis::Keyed(keyed)) => Err(format!(
            "AMIS.json gives {region} several AMIs ({})",
            keyed.keys().cloned().collect::<Vec<_>>().join(", ")
        )),
    }
}
