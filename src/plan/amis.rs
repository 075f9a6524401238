//! The AMIs a plan shows: placeholders when none were given, the regions it shows, and the
//! AMI set each template receives.

use indexmap::IndexMap;

use crate::config::{Architecture, Config, TemplateTarget};
use crate::domain::ami::{AmiId, AmiSet, Region, RegionAmis};

/// Placeholder AMI IDs, recognisable and valid: `ami-000000000000000` + two digits.
pub fn placeholder_amis(config: &Config) -> IndexMap<Architecture, AmiSet> {
    config
        .build
        .architectures
        .iter()
        .enumerate()
        .map(|(a, &arch)| {
            let set = AmiSet::from_pairs(planned_regions(config).iter().enumerate().map(
                |(r, region)| {
                    let id = format!("ami-{:017x}", (a + 1) * 0x100 + r + 1);
                    (
                        region.clone(),
                        RegionAmis::Single(
                            AmiId::new(&id, region.as_str()).expect("placeholder is valid"),
                        ),
                    )
                },
            ));
            (arch, set)
        })
        .collect()
}

/// The regions a plan shows: the listed ones, or for `regions: all` only us-east-1 (the rest
/// is known when copying).
pub fn planned_regions(config: &Config) -> Vec<Region> {
    match config.regions.listed() {
        [] => vec![Region::new("us-east-1").expect("valid region")],
        listed => listed.to_vec(),
    }
}

/// The AMI set one template receives: per-architecture AMIs merged under the template's keys.
pub fn amis_for_template(
    target: &TemplateTarget,
    by_arch: &IndexMap<Architecture, AmiSet>,
) -> AmiSet {
    let single = |amis: &RegionAmis| match amis {
        RegionAmis::Single(id) => Some(id.clone()),
        RegionAmis::Keyed(_) => None,
    };
    if target.keys.is_empty() {
        // One architecture, the template's single key (or keyed AMIS.json passed through).
        return by_arch.values().next().cloned().unwrap_or_default();
    }
    let mut regions: IndexMap<Region, IndexMap<String, AmiId>> = IndexMap::new();
    for (arch, set) in by_arch {
        let Some(key) = target.keys.get(arch) else {
            continue;
        };
        for (region, amis) in set.iter() {
            if let Some(id) = single(amis) {
                regions
                    .entry(region.clone())
                    .or_default()
                    .insert(key.clone(), id);
            }
        }
    }
    AmiSet::from_pairs(
        regions
            .into_iter()
            .map(|(r, keyed)| (r, RegionAmis::Keyed(keyed))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_valid_and_distinct() {
        let config = crate::config::Config::parse(
            crate::config::tests_support::MINIMAL,
            std::path::Path::new("c.yml"),
        )
        .unwrap();
        let sets = placeholder_amis(&config);
        let ids: Vec<String> = sets[0]
            .iter()
            .map(|(_, a)| match a {
                RegionAmis::Single(id) => id.to_string(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(ids, ["ami-00000000000000101", "ami-00000000000000102"]);
    }
}
