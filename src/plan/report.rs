//! The plan as the `plan` command prints it, and the few words it uses for the base image and
//! the sharing.

use super::model::ReleasePlan;
use crate::config::Config;

impl ReleasePlan {
    /// The plan as `plan` prints it: the AMIs, regions, branch, each template's diff and the PR.
    pub fn report(&self, config: &Config) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Release plan: {} {}\n\n",
            config.product.name, self.version
        ));
        for warning in &self.warnings {
            out.push_str(&format!("WARNING: {warning}\n"));
        }
        if !self.warnings.is_empty() {
            out.push('\n');
        }
        for (arch, name) in &self.ami_names {
            out.push_str(&format!(
                "AMI ({arch}): {name}, {} in {} from {}\n",
                if config.build.image.is_some() {
                    "copied"
                } else {
                    "built"
                },
                config.build.region,
                describe_base(config)
            ));
            if let Some(description) = self.ami_descriptions.get(arch) {
                out.push_str(&format!("AMI description ({arch}): {description}\n"));
            }
        }
        if let Some(script) = &self.build_script {
            out.push_str(&format!("Build script: {script}\n"));
        }
        let region_names: Vec<&str> = self.regions.iter().map(|r| r.as_str()).collect();
        if config.regions == crate::config::Regions::AllEnabled {
            out.push_str("Regions: all enabled in the account, resolved when copying (this plan shows us-east-1)\n");
        } else {
            out.push_str(&format!(
                "Regions ({}): {}\n",
                region_names.len(),
                region_names.join(", ")
            ));
        }
        if self.placeholder_amis {
            out.push_str("AMI IDs: placeholders (ami-000000000000001xx); pass --amis AMIS.json to plan with real ones\n");
        }
        out.push_str(&match &config.product.seller_account {
            Some(account) => format!(
                "AWS account: {account} (product.seller-account); a run with credentials of another account is refused\n"
            ),
            None => "AWS account: whichever the credentials belong to, not checked (set product.seller-account to have it checked; the run's summary names it)\n".to_owned(),
        });
        out.push_str(&format!(
            "Branch: {} → {}\n",
            self.branch,
            config
                .pull_request
                .base
                .as_deref()
                .unwrap_or("the repository's default branch")
        ));
        for t in &self.templates {
            out.push_str(&format!(
                "\nTemplate {}{}: {}\n",
                t.path,
                t.mapping
                    .as_ref()
                    .map(|m| format!(" (mapping {m})"))
                    .unwrap_or_default(),
                t.summary
            ));
            for note in &t.notes {
                out.push_str(&format!("  WARNING: {note}\n"));
            }
            out.push_str(&t.diff);
        }
        out.push_str(&format!(
            "\nPull request: {}\n\n{}",
            self.pr_title, self.pr_body
        ));
        out
    }
}

/// Who may launch the copies, as the config says.
pub(super) fn describe_sharing(config: &Config) -> String {
    let sharing = &config.sharing;
    let mut parts = Vec::new();
    if sharing.public {
        parts.push("**public**: anyone can launch them".to_owned());
    }
    if !sharing.accounts.is_empty() {
        parts.push(format!("{} account(s)", sharing.accounts.len()));
    }
    if !sharing.organizations.is_empty() {
        parts.push(format!("{} organization(s)", sharing.organizations.len()));
    }
    if !sharing.organizational_units.is_empty() {
        parts.push(format!(
            "{} organizational unit(s)",
            sharing.organizational_units.len()
        ));
    }
    if parts.is_empty() {
        "private: this account only".into()
    } else {
        parts.join("; ")
    }
}

/// The base image, as the config names it.
pub(super) fn describe_base(config: &Config) -> String {
    use crate::config::{BaseAmi, Source};
    match config.build.source() {
        Some(Source::Script { base_ami, .. }) => match base_ami {
            BaseAmi::Id { id } => id.to_string(),
            BaseAmi::Ssm { ssm } => format!("SSM parameter {ssm}"),
            BaseAmi::Filter { owner, name } => format!("the newest `{name}` owned by {owner}"),
        },
        Some(Source::Image(id)) => {
            format!(
                "the existing AMI {id} (not built by marketplace-release: hardening not verified)"
            )
        }
        None => "(none configured)".into(),
    }
}
