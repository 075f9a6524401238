//! What the account and its regions allow: the regions it has enabled, block public access
//! for AMIs, EBS encryption by default, and when its credentials expire.

use std::time::SystemTime;

use super::client::{Ec2, Ids};
use crate::aws::error::AwsError;

/// A region as DescribeRegions with `AllRegions` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionStatus {
    /// Its name.
    pub name: String,
    /// `opt-in-not-required`, `opted-in` or `not-opted-in`.
    pub opt_in_status: String,
}

impl RegionStatus {
    /// Whether the account may use it ("Specify which AWS Regions your account can use",
    /// <https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html>).
    pub fn enabled(&self) -> bool {
        self.opt_in_status != "not-opted-in"
    }
}

impl Ec2 {
    /// When the credentials expire, if the provider says (temporary credentials do); `None`
    /// for long-term keys or when no credentials can be loaded.
    pub async fn credentials_expiry(&self) -> Option<SystemTime> {
        self.config().credentials_expiry().await
    }

    /// Whether "block public access for AMIs" stops public sharing in `region`.
    pub async fn public_sharing_blocked(&self, region: &str) -> Result<bool, AwsError> {
        let out = self
            .call(
                "GetImageBlockPublicAccessState",
                region,
                Ids::Settled,
                |c| c.get_image_block_public_access_state().send(),
            )
            .await?;
        Ok(out.image_block_public_access_state() == Some("block-new-sharing"))
    }

    /// Whether new EBS volumes (and so the snapshots of images made or copied here) are
    /// encrypted by default in `region` ("Amazon EBS encryption by default",
    /// <https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html>).
    pub async fn encryption_by_default(&self, region: &str) -> Result<bool, AwsError> {
        let out = self
            .call("GetEbsEncryptionByDefault", region, Ids::Settled, |c| {
                c.get_ebs_encryption_by_default().send()
            })
            .await?;
        Ok(out.ebs_encryption_by_default().unwrap_or(false))
    }

    /// Every region of the partition, with whether the account has enabled it.
    pub async fn regions(&self, region: &str) -> Result<Vec<RegionStatus>, AwsError> {
        let out = self
            .call("DescribeRegions", region, Ids::Settled, |c| {
                c.describe_regions().all_regions(true).send()
            })
            .await?;
        Ok(out
            .regions()
            .iter()
            .filter_map(|r| {
                Some(RegionStatus {
                    name: r.region_name()?.to_owned(),
                    opt_in_status: r
                        .opt_in_status()
                        .unwrap_or("opt-in-not-required")
                        .to_owned(),
                })
            })
            .collect())
    }
}
