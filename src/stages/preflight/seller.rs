//! The seller account and the ingestion role, checked before any resource is created. Pure:
//! the AWS adapters (`aws::sts`, `aws::iam`) read the facts, the rules here judge them.
//!
//! AWS Marketplace ingests an AMI from the seller's own account ("the AMI must be in the
//! seller account"), through the role named in the load form: a role that
//! `assets.marketplace.amazonaws.com` may assume and that carries the AWS managed policy
//! `AWSMarketplaceAmiIngestion` (Seller Guide, "Giving AWS Marketplace access to your AMI").

use anyhow::{anyhow, Result};

use crate::aws::iam::{Iam, RoleLookup};
use crate::aws::sts::Sts;
use crate::output::progress;
use crate::stages::error::StageError;
use serde_json::Value;

pub use crate::domain::seller::{RoleFacts, INGESTION_POLICY, MARKETPLACE_ASSETS};

/// Why the release may not start in this account.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SellerError {
    /// The credentials belong to another account than `product.seller-account`.
    #[error("the credentials belong to account {caller}, but product.seller-account is {expected}; AWS Marketplace ingests the AMI only from the seller account (sharing AMIs across accounts for ingestion is unreliable)\n  help: run the release with credentials of account {expected} (the role the workflow assumes), or correct product.seller-account")]
    WrongAccount {
        /// `product.seller-account`.
        expected: String,
        /// GetCallerIdentity's account.
        caller: String,
    },
    /// The role is in another account than the one the release runs in.
    #[error("load-form.access-role-arn {role} is in account {role_account}, but the release runs in account {caller}; Marketplace reads the AMI through a role of the seller account\n  help: create the ingestion role in account {caller} and put its ARN in load-form.access-role-arn")]
    RoleInOtherAccount {
        /// The role ARN.
        role: String,
        /// The account in the ARN.
        role_account: String,
        /// The caller's account.
        caller: String,
    },
    /// The role does not exist.
    #[error("load-form.access-role-arn {role} does not exist (IAM GetRole: NoSuchEntity)\n  help: create it: a role trusted by {MARKETPLACE_ASSETS} with the AWS managed policy {INGESTION_POLICY} (Seller Guide: \"Giving AWS Marketplace access to your AMI\"), or correct the ARN")]
    RoleMissing {
        /// The role ARN.
        role: String,
    },
    /// Marketplace may not assume the role.
    #[error("load-form.access-role-arn {role} does not trust {MARKETPLACE_ASSETS}, so Marketplace cannot assume it to read the AMI\n  help: add a trust policy statement: Effect Allow, Principal {{\"Service\": \"{MARKETPLACE_ASSETS}\"}}, Action sts:AssumeRole")]
    NoTrust {
        /// The role ARN.
        role: String,
    },
    /// The role lacks the managed policy.
    #[error("load-form.access-role-arn {role} does not carry the AWS managed policy {INGESTION_POLICY} (attached: {attached})\n  help: attach arn:aws:iam::aws:policy/{INGESTION_POLICY} to the role")]
    NoPolicy {
        /// The role ARN.
        role: String,
        /// What is attached, for the message.
        attached: String,
    },
}

/// What the account check found, for the plan and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountCheck {
    /// The caller's account is `product.seller-account`.
    Matches(String),
    /// `product.seller-account` is not set: the caller's account, not checked.
    NotChecked(String),
}

impl std::fmt::Display for AccountCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountCheck::Matches(account) => {
                write!(f, "account {account}, the seller account (product.seller-account)")
            }
            AccountCheck::NotChecked(account) => write!(
                f,
                "account {account}; not checked against the seller account (set product.seller-account to check it)"
            ),
        }
    }
}

/// The caller's account against `product.seller-account`.
pub fn check_account(expected: Option<&str>, caller: &str) -> Result<AccountCheck, SellerError> {
    match expected {
        None => Ok(AccountCheck::NotChecked(caller.to_owned())),
        Some(expected) if expected == caller => Ok(AccountCheck::Matches(caller.to_owned())),
        Some(expected) => Err(SellerError::WrongAccount {
            expected: expected.to_owned(),
            caller: caller.to_owned(),
        }),
    }
}

/// The account and the role name of an IAM role ARN (`arn:…:iam::ACCOUNT:role/path/NAME`).
pub fn role_parts(role_arn: &str) -> Option<(&str, &str)> {
    let mut parts = role_arn.splitn(6, ':');
    let account = parts.nth(4)?;
    let resource = parts.next()?;
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    Some((account, name))
}

/// The role's account, before IAM is asked.
pub fn check_role_account(role_arn: &str, caller: &str) -> Result<(), SellerError> {
    match role_parts(role_arn) {
        Some((account, _)) if account != caller => Err(SellerError::RoleInOtherAccount {
            role: role_arn.to_owned(),
            role_account: account.to_owned(),
            caller: caller.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// The role as IAM describes it (`None`: it does not exist).
pub fn check_role(role_arn: &str, facts: Option<&RoleFacts>) -> Result<(), SellerError> {
    let role = role_arn.to_owned();
    let Some(facts) = facts else {
        return Err(SellerError::RoleMissing { role });
    };
    if !trusts_service(&facts.trust_policy, MARKETPLACE_ASSETS) {
        return Err(SellerError::NoTrust { role });
    }
    if !facts
        .attached
        .iter()
        .any(|(name, _)| name == INGESTION_POLICY)
    {
        let names: Vec<&str> = facts.attached.iter().map(|(n, _)| n.as_str()).collect();
        return Err(SellerError::NoPolicy {
            role,
            attached: if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            },
        });
    }
    Ok(())
}

/// Whether a trust policy lets `service` assume the role: a statement with Effect Allow, the
/// service among its `Principal.Service`, and `sts:AssumeRole` (or `sts:*`, `*`) among its
/// actions. IAM returns the document URL-encoded; both forms are read.
pub fn trusts_service(policy: &str, service: &str) -> bool {
    let document: Value = serde_json::from_str(policy)
        .or_else(|_| serde_json::from_str(&percent_decode(policy)))
        .unwrap_or(Value::Null);
    let listed = |value: &Value, wanted: &[&str]| match value {
        Value::String(one) => wanted.contains(&one.as_str()),
        Value::Array(many) => many
            .iter()
            .any(|v| v.as_str().is_some_and(|s| wanted.contains(&s))),
        _ => false,
    };
    let statements = match &document["Statement"] {
        Value::Array(many) => many.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => Vec::new(),
    };
    statements.iter().any(|statement| {
        statement["Effect"] == "Allow"
            && listed(&statement["Principal"]["Service"], &[service])
            && listed(&statement["Action"], &["sts:AssumeRole", "sts:*", "*"])
    })
}

/// `%XX` sequences decoded (IAM's URL-encoded policy documents); `+` is kept.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The seller account (STS) and the load form's ingestion role (IAM), before anything is
/// created. A role the credentials may not read is reported as not checked. Returns the
/// account, said as the summary shows it (checked against `product.seller-account` or not).
pub async fn check(
    sts: &Sts,
    iam: &Iam,
    seller_account: Option<&str>,
    role_arn: &str,
) -> Result<String> {
    let caller = sts
        .caller_account()
        .await
        .map_err(|error| anyhow!("{}", StageError::Aws { error }))?;
    let account = check_account(seller_account, &caller)?;
    progress::line(&format!("seller: {account}"));
    check_role_account(role_arn, &caller)?;
    let name = role_parts(role_arn).map_or("", |(_, name)| name);
    match iam.role(name).await? {
        RoleLookup::Found(facts) => {
            check_role(role_arn, Some(&facts))?;
            progress::line(&format!(
                "ingestion role: {role_arn} is trusted by {MARKETPLACE_ASSETS} and carries {INGESTION_POLICY}"
            ));
        }
        RoleLookup::Missing => check_role(role_arn, None)?,
        RoleLookup::Denied(why) => progress::warning(
            "ingestion role not checked",
            &format!("{role_arn}: the credentials may not read it ({why}); allow iam:GetRole and iam:ListAttachedRolePolicies on it (iam/policy.json) to have it checked"),
        ),
    }
    Ok(account.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/path/MarketplaceAmiIngestion";
    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"assets.marketplace.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn facts(trust: &str, attached: &[&str]) -> RoleFacts {
        RoleFacts {
            trust_policy: trust.to_owned(),
            attached: attached
                .iter()
                .map(|n| (n.to_string(), format!("arn:aws:iam::aws:policy/{n}")))
                .collect(),
        }
    }

    #[test]
    fn the_account_must_be_the_seller_account_when_it_is_set() {
        assert_eq!(
            check_account(None, "111111111111").unwrap(),
            AccountCheck::NotChecked("111111111111".into())
        );
        assert_eq!(
            check_account(Some("111111111111"), "111111111111").unwrap(),
            AccountCheck::Matches("111111111111".into())
        );
        let e = check_account(Some("111111111111"), "222222222222").unwrap_err();
        assert!(e.to_string().starts_with("the credentials belong to account 222222222222, but product.seller-account is 111111111111"), "{e}");
    }

    #[test]
    fn the_role_is_in_the_account_exists_is_trusted_and_carries_the_policy() {
        assert_eq!(
            role_parts(ROLE),
            Some(("123456789012", "MarketplaceAmiIngestion"))
        );
        check_role_account(ROLE, "123456789012").unwrap();
        let e = check_role_account(ROLE, "999999999999").unwrap_err();
        assert!(matches!(e, SellerError::RoleInOtherAccount { .. }), "{e}");
        check_role(ROLE, Some(&facts(TRUST, &["AWSMarketplaceAmiIngestion"]))).unwrap();
        let encoded = TRUST
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
            .replace(':', "%3A");
        check_role(
            ROLE,
            Some(&facts(&encoded, &["Other", "AWSMarketplaceAmiIngestion"])),
        )
        .unwrap();
        assert!(matches!(
            check_role(ROLE, None),
            Err(SellerError::RoleMissing { .. })
        ));
        let ec2 = TRUST.replace("assets.marketplace.amazonaws.com", "ec2.amazonaws.com");
        let e = check_role(ROLE, Some(&facts(&ec2, &["AWSMarketplaceAmiIngestion"]))).unwrap_err();
        assert!(
            e.to_string()
                .contains("does not trust assets.marketplace.amazonaws.com"),
            "{e}"
        );
        let denied = TRUST.replace("Allow", "Deny");
        assert!(check_role(ROLE, Some(&facts(&denied, &["AWSMarketplaceAmiIngestion"]))).is_err());
        let e = check_role(ROLE, Some(&facts(TRUST, &["ReadOnlyAccess"]))).unwrap_err();
        assert!(e.to_string().contains("(attached: ReadOnlyAccess)"), "{e}");
        assert!(
            e.to_string()
                .contains("help: attach arn:aws:iam::aws:policy/AWSMarketplaceAmiIngestion"),
            "{e}"
        );
    }

    #[test]
    fn trust_statements_take_lists_and_single_statements() {
        let listed = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","assets.marketplace.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}}"#;
        assert!(trusts_service(listed, MARKETPLACE_ASSETS));
        assert!(!trusts_service("not json", MARKETPLACE_ASSETS));
        let other_action = TRUST.replace("sts:AssumeRole", "sts:TagSession");
        assert!(!trusts_service(&other_action, MARKETPLACE_ASSETS));
    }
}
