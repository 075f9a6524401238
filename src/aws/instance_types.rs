//! The instance types EC2 knows, from the SDK's `InstanceType` enum (the SDK release this
//! binary was built with). The config checks only an instance type's shape; the orchestrator
//! warns about a well-formed type missing here, which is a typo or a type newer than the SDK.

use aws_sdk_ec2::types::InstanceType;

/// Whether `name` (`m5.xlarge`) is an instance type the SDK lists.
pub fn is_known(name: &str) -> bool {
    InstanceType::values().contains(&name)
}

/// The known types closest to `name`, for "did you mean" (at most three, closest first).
pub fn closest(name: &str) -> Vec<&'static str> {
    let family = name.split('.').next().unwrap_or_default();
    let mut scored: Vec<(f64, &'static str)> = InstanceType::values()
        .iter()
        .filter(|t| t.split('.').next() == Some(family))
        .map(|t| (strsim::jaro_winkler(name, t), *t))
        .filter(|(score, _)| *score > 0.85)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_lists_current_types_and_suggests_for_typos() {
        assert!(is_known("m5.xlarge") && is_known("t3.medium") && is_known("m7g.large"));
        assert!(!is_known("m5.xlarg"));
        assert_eq!(closest("m5.xlarg").first(), Some(&"m5.xlarge"));
        assert!(closest("zz9.large").is_empty());
    }
}
