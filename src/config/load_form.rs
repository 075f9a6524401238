//! The `load-form` section: the values AWS's product load form asks for, shown in the PR body
//! and sent by the submit stage.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::types::{non_empty, Cidr, HttpsUrl, InstanceType, Invalid, RoleArn, Template};

/// The values AWS's product load form asks for, shown in the PR body.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct LoadForm {
    /// Version title shown to buyers, a template: at most 64 characters once rendered.
    #[serde(default = "default_version_title")]
    pub version_title: Template,
    /// Release notes, a template.
    pub release_notes: Template,
    /// The IAM role with the `AWSMarketplaceAmiIngestion` policy, which Marketplace assumes to
    /// ingest the AMI.
    pub access_role_arn: RoleArn,
    /// The OS user buyers log in as.
    pub os_user_name: String,
    /// Operating system name, as the load form lists it (`AMAZONLINUX`, `UBUNTU`, …).
    pub os_name: String,
    /// Operating system version, as the load form names it.
    pub os_version: String,
    /// The recommended instance type.
    pub recommended_instance_type: InstanceType,
    /// The inbound rules buyers need. Rules with the same protocol and ports are sent as one
    /// group of up to 5 CIDR blocks, as the Catalog API counts them: 1 to 25 groups.
    #[serde(deserialize_with = "security_groups")]
    #[schemars(length(min = 1))]
    pub security_groups: Vec<SecurityGroupRule>,
    /// Usage instructions.
    pub usage_instructions: String,
    /// Where the released CloudFormation template is published.
    #[serde(default)]
    pub template_url: Option<HttpsUrl>,
    /// The architecture diagram's address.
    #[serde(default)]
    pub architecture_diagram_url: Option<HttpsUrl>,
}

fn default_version_title() -> Template {
    Template::new("{{ version }}").expect("valid template")
}

/// Marketplace takes 1 to 25 security groups, each with 1 to 5 IP ranges.
fn security_groups<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<SecurityGroupRule>, D::Error> {
    const HELP: &str = "list the inbound rules buyers need, such as SSH or the product's ports";
    let rules: Vec<SecurityGroupRule> =
        non_empty(de, "Marketplace needs 1 to 25 security group rules", HELP)?;
    let groups = catalog_groups(&rules).len();
    if groups > MAX_GROUPS {
        return Err(Invalid::new(
            format!(
                "Marketplace needs 1 to 25 security group rules, but these {} make {groups} (rules with the same protocol and ports count as one, up to 5 CIDR blocks each)",
                rules.len()
            ),
            "merge rules: give rules for the same ports the same protocol and port range, or drop some",
        )
        .into_de());
    }
    Ok(rules)
}

/// The most security groups a version takes (`SecurityGroups`, `max_length=25`).
pub const MAX_GROUPS: usize = 25;
/// The most IP ranges one group takes (`IpRanges`, `max_length=5`).
pub const MAX_RANGES: usize = 5;

/// One security group as the Catalog API takes it: a protocol, a port range and 1 to 5 CIDR
/// blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogGroup {
    /// The protocol.
    pub protocol: IpProtocol,
    /// First port.
    pub from_port: u16,
    /// Last port.
    pub to_port: u16,
    /// The CIDR blocks, 1 to 5, as written.
    pub cidrs: Vec<String>,
}

/// The rules as the Catalog API's groups: rules with the same protocol and ports share a
/// group, in the order they first appear, up to [`MAX_RANGES`] CIDR blocks each (a sixth
/// starts another group); a CIDR block listed twice for the same ports is sent once.
pub fn catalog_groups(rules: &[SecurityGroupRule]) -> Vec<CatalogGroup> {
    let mut groups: Vec<CatalogGroup> = Vec::new();
    for rule in rules {
        let same = |g: &CatalogGroup| {
            (g.protocol, g.from_port, g.to_port) == (rule.protocol, rule.from_port, rule.to_port)
        };
        let cidr = rule.cidr.as_str().to_owned();
        if groups.iter().any(|g| same(g) && g.cidrs.contains(&cidr)) {
            continue;
        }
        match groups
            .iter_mut()
            .find(|g| same(g) && g.cidrs.len() < MAX_RANGES)
        {
            Some(group) => group.cidrs.push(cidr),
            None => groups.push(CatalogGroup {
                protocol: rule.protocol,
                from_port: rule.from_port,
                to_port: rule.to_port,
                cidrs: vec![cidr],
            }),
        }
    }
    groups
}

/// One inbound rule for the product's security group.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct SecurityGroupRule {
    /// The IP protocol: `tcp` or `udp`, the protocols the Catalog API takes.
    pub protocol: IpProtocol,
    /// First port, 1 to 65535.
    pub from_port: u16,
    /// Last port, at least `from-port`.
    pub to_port: u16,
    /// Source CIDR block, IPv4 or IPv6.
    pub cidr: Cidr,
    /// What the rule is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// The IP protocol of a security group rule. The Catalog API's `IpProtocol` takes at most 3
/// characters (`security_group.py` of AWS's shapes), so `icmp` and protocol numbers beyond
/// two digits cannot be sent; the load form lists TCP and UDP ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl IpProtocol {
    /// The lowercase name EC2 and the Catalog API use.
    pub fn as_str(self) -> &'static str {
        match self {
            IpProtocol::Tcp => "tcp",
            IpProtocol::Udp => "udp",
        }
    }
}

impl<'de> Deserialize<'de> for IpProtocol {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        match text.as_str() {
            "tcp" => Ok(IpProtocol::Tcp),
            "udp" => Ok(IpProtocol::Udp),
            other => Err(Invalid::new(
                format!(
                    "`{other}` is refused: the Catalog API's IpProtocol takes at most 3 characters, and the load form's rules are tcp or udp"
                ),
                "use tcp or udp; leave ICMP out of the listing's rules",
            )
            .into_de()),
        }
    }
}

impl std::fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> Result<SecurityGroupRule, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn rules_have_a_protocol_and_a_real_cidr() {
        let r = rule("{protocol: tcp, from-port: 22, to-port: 22, cidr: 0.0.0.0/0}").unwrap();
        assert_eq!((r.protocol.as_str(), r.cidr.as_str()), ("tcp", "0.0.0.0/0"));
        let e = rule("{protocol: tpc, from-port: 22, to-port: 22, cidr: 0.0.0.0/0}").unwrap_err();
        assert!(e.contains("`tpc` is refused"), "{e}");
        let e = rule("{protocol: icmp, from-port: 1, to-port: 1, cidr: 0.0.0.0/0}").unwrap_err();
        assert!(
            e.contains(
                "`icmp` is refused: the Catalog API's IpProtocol takes at most 3 characters"
            ),
            "{e}"
        );
        let e =
            rule("{protocol: tcp, from-port: 22, to-port: 22, cidr: 999.1.1.1/99}").unwrap_err();
        assert!(e.contains("`999.1.1.1/99` is not a CIDR block"), "{e}");
        let e = rule("{protocol: tcp, from-port: 22, to-port: 70000, cidr: ::/0}").unwrap_err();
        assert!(e.contains("70000"), "{e}");
    }

    #[test]
    fn rules_are_grouped_as_the_catalog_api_counts_ip_ranges() {
        let rules: Vec<SecurityGroupRule> = (0..7)
            .map(|i| {
                rule(&format!(
                    "{{protocol: tcp, from-port: 22, to-port: 22, cidr: 10.0.{i}.0/24}}"
                ))
                .unwrap()
            })
            .chain([
                rule("{protocol: udp, from-port: 22, to-port: 22, cidr: 10.0.0.0/24}").unwrap(),
                rule("{protocol: tcp, from-port: 22, to-port: 22, cidr: 10.0.0.0/24}").unwrap(),
            ])
            .collect();
        let groups = catalog_groups(&rules);
        let sizes: Vec<(IpProtocol, usize)> =
            groups.iter().map(|g| (g.protocol, g.cidrs.len())).collect();
        assert_eq!(
            sizes,
            [
                (IpProtocol::Tcp, 5),
                (IpProtocol::Tcp, 2),
                (IpProtocol::Udp, 1)
            ]
        );
        // 26 distinct port ranges are 26 groups: one too many.
        let many: String = (1..=26)
            .map(|p| {
                format!("  - {{protocol: tcp, from-port: {p}, to-port: {p}, cidr: 0.0.0.0/0}}\n")
            })
            .collect();
        #[derive(Debug, Deserialize)]
        struct Only {
            #[serde(deserialize_with = "security_groups")]
            #[allow(dead_code, reason = "only reading is tested")]
            groups: Vec<SecurityGroupRule>,
        }
        let e = serde_yaml::from_str::<Only>(&format!("groups:\n{many}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("but these 26 make 26"), "{e}");
        // 30 rules on one port are 6 groups of 5 ranges: accepted.
        let same: String = (0..30)
            .map(|i| {
                format!("  - {{protocol: tcp, from-port: 22, to-port: 22, cidr: 10.0.{i}.0/24}}\n")
            })
            .collect();
        serde_yaml::from_str::<Only>(&format!("groups:\n{same}")).unwrap();
    }
}
