//! Deciding a mapping's update: which mapping, which key each region's AMI goes under, the
//! regions updated, added (laid out like their neighbours) and pruned.

use std::collections::BTreeMap;

use super::change::Change;
use super::editor::{Editor, KeyedAmis};
use super::error::{ErrorKind, TemplateError};
use super::proof::Intent;
use super::request::EditRequest;
use super::splice::Splice;
use super::summary::{self, MappingSummary};
use super::tree::{Entry, Node, NodeKind, ScalarStyle};
use crate::diagnostic::did_you_mean;
use crate::domain::ami::{Region, RegionAmis};

/// The region rows of a mapping being updated.
struct Rows<'n> {
    /// Each region row: its index among the mapping's entries, and its region.
    regions: Vec<(usize, &'n str)>,
    /// Whether the regions are in sorted order (then new ones are inserted in order).
    sorted: bool,
    /// The entries `--prune` removes, ascending.
    removed: Vec<usize>,
}

/// Where a new region goes: after an entry, or before one.
enum Place {
    /// After the entry at this index.
    After(usize),
    /// Before the entry at this index.
    Before(usize),
}

impl Rows<'_> {
    /// Whether the entry at `index` stays.
    fn survives(&self, index: usize) -> bool {
        !self.removed.contains(&index)
    }

    /// Where the new `region` goes: among sorted regions, after the last surviving region
    /// before it, or before the first surviving region (`first_surviving` when none is
    /// left); else after the last surviving entry.
    fn place(&self, region: &str, last_surviving: usize, first_surviving: usize) -> Place {
        if !self.sorted {
            return Place::After(last_surviving);
        }
        let lower = self
            .regions
            .iter()
            .filter(|(i, r)| self.survives(*i) && *r < region)
            .map(|(i, _)| *i)
            .next_back();
        match lower {
            Some(i) => Place::After(i),
            None => Place::Before(
                self.regions
                    .iter()
                    .map(|(i, _)| *i)
                    .find(|&i| self.survives(i))
                    .unwrap_or(first_surviving),
            ),
        }
    }
}

impl<'a, 't> Editor<'a, 't> {
    /// The mapping to update: the one named, or the only one holding AMI IDs.
    pub(super) fn select_mapping(
        &self,
        request: &EditRequest,
    ) -> Result<Option<(String, &'a Node)>, TemplateError> {
        let template = self.template;
        let mappings_entry = self.unique(&template.root, "Mappings", "Mappings")?;
        let mappings_node = mappings_entry.map(|e| &e.value);
        let mappings_key = mappings_entry.map(|e| &e.key);
        let summaries = summary::mappings(&template.root);
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
        let summary = MappingSummary::of(name, mapping);
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

    /// Updates one mapping in the order the README documents: the keys each region receives,
    /// the existing regions, the new regions, then the regions `--prune` removes.
    pub(super) fn update_mapping(
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
        let rows = self.region_rows(name, mapping, &updates, request)?;
        let mut new_regions = Vec::new();
        for (region, pairs) in &updates {
            let path = format!("Mappings.{name}.{region}");
            match self.unique(mapping, region.as_str(), &path)? {
                Some(entry) => self.update_region(name, entry, pairs)?,
                None => new_regions.push((region, pairs)),
            }
        }
        if !new_regions.is_empty() {
            self.add_regions(name, mapping, &rows, new_regions)?;
        }
        self.remove_regions(name, mapping, &rows.removed)
    }

    /// The region rows of `mapping`, and which of them `--prune` removes (each checked to be
    /// written once). Records the rows of other partitions, which are kept.
    fn region_rows(
        &mut self,
        name: &str,
        mapping: &'a Node,
        updates: &[(Region, KeyedAmis)],
        request: &EditRequest,
    ) -> Result<Rows<'a>, TemplateError> {
        let entries = mapping.entries().expect("checked to be a mapping");
        let regions: Vec<(usize, &str)> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.key
                    .as_scalar()
                    .filter(|k| Region::is_region_name(k))
                    .map(|k| (i, k))
            })
            .collect();
        let sorted = regions.len() >= 2 && regions.windows(2).all(|w| w[0].1 < w[1].1);

        let wanted = |region: &str| updates.iter().any(|(r, _)| r.as_str() == region);
        // Rows of another partition are never ours to change: kept, and listed.
        let partitions = self.partitions.clone();
        let own_partition =
            |region: &str| Region::partition_of(region).is_some_and(|p| partitions.contains(&p));
        self.other_partitions = regions
            .iter()
            .filter(|(_, r)| !(own_partition(r) || request.prune && request.prune_other_partitions))
            .map(|(_, r)| r.to_string())
            .collect();
        let removed: Vec<usize> = if request.prune {
            regions
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
        Ok(Rows {
            regions,
            sorted,
            removed,
        })
    }

    /// Adds the regions the mapping lacks, laid out like its first region: in order when the
    /// mapping's regions are sorted, else after its last surviving entry.
    fn add_regions(
        &mut self,
        name: &str,
        mapping: &'a Node,
        rows: &Rows<'a>,
        mut new_regions: Vec<(&Region, &KeyedAmis)>,
    ) -> Result<(), TemplateError> {
        let entries = mapping.entries().expect("checked to be a mapping");
        let style = self.region_style_source(name, mapping, entries)?;
        let surviving: Vec<usize> = (0..entries.len()).filter(|&i| rows.survives(i)).collect();
        let Some(&last_surviving) = surviving.last() else {
            return Err(self.err(
                ErrorKind::Request,
                Some(mapping),
                format!("--prune would remove every region of mapping `{name}` before adding the new ones"),
                "include at least one region that the mapping already has in AMIS.json, or add a first region by hand",
            ));
        };
        if rows.sorted {
            new_regions.sort_by(|a, b| a.0.cmp(b.0));
        }
        // Insertion points: after a surviving entry, or before the first surviving region.
        let mut after: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut before: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (region, pairs) in &new_regions {
            let text = self.render_region(style, region.as_str(), pairs);
            match rows.place(region.as_str(), last_surviving, surviving[0]) {
                Place::After(i) => after.entry(i).or_default().push(text),
                Place::Before(i) => before.entry(i).or_default().push(text),
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
        Ok(())
    }

    /// Removes the pruned entries (`removed`, indexes into the mapping's entries, ascending) as
    /// runs of adjacent entries, so separators stay consistent; refuses to empty the mapping.
    fn remove_regions(
        &mut self,
        name: &str,
        mapping: &'a Node,
        removed: &[usize],
    ) -> Result<(), TemplateError> {
        let entries = mapping.entries().expect("checked to be a mapping");
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &i in removed {
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
        for &i in removed {
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
                Some(slot) => self.update_value(mapping, region, slot, key, ami)?,
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

    /// Writes `ami` over the value of the existing key `slot` of `region`, keeping its quoting;
    /// refuses a value that is not a one-line literal.
    fn update_value(
        &mut self,
        mapping: &str,
        region: &str,
        slot: &Entry,
        key: &str,
        ami: &str,
    ) -> Result<(), TemplateError> {
        let (old, style) = match &slot.value.kind {
            NodeKind::Scalar { value, style } if *style != ScalarStyle::Block => {
                (value.clone(), *style)
            }
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
        if old != ami {
            self.splices.push(Splice {
                range: slot.value.span.clone(),
                text: self.layout.scalar(ami, style),
            });
            self.changes.push(Change::AmiUpdated {
                region: region.into(),
                key: key.into(),
                old,
                new: ami.into(),
            });
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
}

/// The scalar style of an entry's key.
fn key_style(entry: &Entry) -> ScalarStyle {
    match &entry.key.kind {
        NodeKind::Scalar { style, .. } => *style,
        _ => ScalarStyle::Plain,
    }
}

/// The scalar style of an entry's value.
fn value_style(entry: &Entry) -> ScalarStyle {
    match &entry.value.kind {
        NodeKind::Scalar { style, .. } => *style,
        _ => ScalarStyle::Plain,
    }
}
