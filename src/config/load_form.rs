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
    /// The inbound rules buyers need: 1 to 25.
    #[serde(deserialize_with = "security_groups")]
    #[schemars(length(min = 1, max = 25))]
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

/// Marketplace takes 1 to 25 security group rules.
fn security_groups<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<SecurityGroupRule>, D::Error> {
    const HELP: &str = "list the inbound rules buyers need, such as SSH or the product's ports";
    let rules = non_empty(de, "Marketplace needs 1 to 25 security group rules", HELP)?;
    if rules.len() > 25 {
        return Err(Invalid::new(
            format!(
                "Marketplace needs 1 to 25 security group rules, but {} are listed",
                rules.len()
            ),
            HELP,
        )
        .into_de());
    }
    Ok(rules)
}

/// One inbound rule for the product's security group.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all(deserialize = "kebab-case"))]
pub struct SecurityGroupRule {
    /// The IP protocol; the submit stage takes only `tcp` and `udp`.
    pub protocol: IpProtocol,
    /// First port.
    pub from_port: u16,
    /// Last port, at least `from-port`.
    pub to_port: u16,
    /// Source CIDR block, IPv4 or IPv6.
    pub cidr: Cidr,
    /// What the rule is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// The IP protocol of a security group rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (not accepted by the Catalog API, whose `IpProtocol` has at most 3 characters).
    Icmp,
}

impl IpProtocol {
    /// The lowercase name EC2 and the Catalog API use.
    pub fn as_str(self) -> &'static str {
        match self {
            IpProtocol::Tcp => "tcp",
            IpProtocol::Udp => "udp",
            IpProtocol::Icmp => "icmp",
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
        assert!(e.contains("unknown variant `tpc`"), "{e}");
        let e =
            rule("{protocol: tcp, from-port: 22, to-port: 22, cidr: 999.1.1.1/99}").unwrap_err();
        assert!(e.contains("`999.1.1.1/99` is not a CIDR block"), "{e}");
        let e = rule("{protocol: tcp, from-port: 22, to-port: 70000, cidr: ::/0}").unwrap_err();
        assert!(e.contains("70000"), "{e}");
    }
}
