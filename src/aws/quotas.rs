//! The thin Service Quotas adapter: the one quota a release can run into before it copies,
//! EC2's "Public AMIs" per region (quota code `L-0E3CBAB9`, 5 unless raised; "Make your AMI
//! publicly available", <https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/sharingamis-intro.html>,
//! and GetServiceQuota, <https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html>).

use std::time::Instant;

use aws_sdk_servicequotas::Client;

use crate::aws::config::AwsConfig;
use crate::aws::error::AwsError;

/// The quota code of EC2's "Public AMIs".
pub const PUBLIC_AMIS: &str = "L-0E3CBAB9";

/// AWS's default for "Public AMIs" in each region, used when the quota can't be read.
pub const PUBLIC_AMIS_DEFAULT: u32 = 5;

/// Service Quotas clients, one per region, from the run's shared configuration.
pub struct Quotas<'a> {
    config: &'a AwsConfig,
    started: Instant,
}

impl<'a> Quotas<'a> {
    /// Clients made from the run's `config`, with its retries (those of EC2).
    pub fn new(config: &'a AwsConfig) -> Self {
        Self {
            config,
            started: Instant::now(),
        }
    }

    /// The "Public AMIs" quota in `region`.
    pub async fn public_amis(&self, region: &str) -> Result<u32, AwsError> {
        let config = aws_sdk_servicequotas::config::Builder::from(self.config.sdk())
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        let out = Client::from_conf(config)
            .get_service_quota()
            .service_code("ec2")
            .quota_code(PUBLIC_AMIS)
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("GetServiceQuota", region, self.started.elapsed(), e)
            })?;
        let value = out
            .quota()
            .and_then(|q| q.value())
            .unwrap_or(f64::from(PUBLIC_AMIS_DEFAULT));
        // Quotas are whole numbers; a fraction would be AWS's rounding.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a count, clamped to u32"
        )]
        Ok(value.max(0.0).min(f64::from(u32::MAX)) as u32)
    }
}
