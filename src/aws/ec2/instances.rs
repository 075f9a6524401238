//! The instances that report on their console (the builder, the verify stage's test instance):
//! launch, state, console output and termination.

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, HttpTokensState, InstanceMetadataEndpointState,
    InstanceMetadataOptionsRequest, InstanceStateName, ResourceType, ShutdownBehavior,
    TagSpecification, VolumeType,
};

use super::client::{tags, Ec2, Ids, SETTLE_LIMIT};
use crate::aws::error::AwsError;

/// The launch request of an instance that reports on its console: the builder, or the verify
/// stage's test instance.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    /// The image to boot (an AMI ID or `resolve:ssm:…`).
    pub image_id: String,
    /// Instance type.
    pub instance_type: String,
    /// Base64 user-data.
    pub user_data: String,
    /// Root device name and size/type, when set (else the image's own).
    pub root_volume: Option<(String, i32, String)>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// Security group.
    pub security_group_id: Option<String>,
    /// Tags for the instance and its volumes.
    pub tags: Vec<(String, String)>,
}

/// How an instance ended up after TerminateInstances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Termination {
    /// EC2 reports it `shutting-down` or `terminated`.
    Confirmed,
    /// EC2 accepted the calls but never reported either state within [`SETTLE_LIMIT`]; the
    /// last state it reported.
    Unconfirmed(String),
}

impl Ec2 {
    /// Launches the builder or the test instance: IMDSv2 required, no key pair, stops (not
    /// terminates) on power-off, so its console can be read; the instance and its volumes are
    /// tagged at launch.
    pub async fn launch(&self, region: &str, request: &LaunchRequest) -> Result<String, AwsError> {
        let tag_spec = |kind: ResourceType| {
            TagSpecification::builder()
                .resource_type(kind)
                .set_tags(Some(tags(&request.tags)))
                .build()
        };
        let root = request.root_volume.as_ref().map(|(device, size, kind)| {
            BlockDeviceMapping::builder()
                .device_name(device)
                .ebs(
                    EbsBlockDevice::builder()
                        .volume_size(*size)
                        .volume_type(VolumeType::from(kind.as_str()))
                        .delete_on_termination(true)
                        .build(),
                )
                .build()
        });
        let out = self
            .call("RunInstances", region, Ids::Settled, |c| {
                c.run_instances()
                    .image_id(&request.image_id)
                    .instance_type(request.instance_type.as_str().into())
                    .min_count(1)
                    .max_count(1)
                    .user_data(&request.user_data)
                    .instance_initiated_shutdown_behavior(ShutdownBehavior::Stop)
                    .metadata_options(
                        InstanceMetadataOptionsRequest::builder()
                            .http_tokens(HttpTokensState::Required)
                            .http_endpoint(InstanceMetadataEndpointState::Enabled)
                            .build(),
                    )
                    .tag_specifications(tag_spec(ResourceType::Instance))
                    .tag_specifications(tag_spec(ResourceType::Volume))
                    .set_block_device_mappings(root.clone().map(|r| vec![r]))
                    .set_subnet_id(request.subnet_id.clone())
                    .set_security_group_ids(request.security_group_id.clone().map(|g| vec![g]))
                    .send()
            })
            .await?;
        out.instances()
            .first()
            .and_then(|i| i.instance_id())
            .map(str::to_owned)
            .ok_or_else(|| AwsError {
                action: "RunInstances",
                region: region.into(),
                code: "no instance returned".into(),
                message: String::new(),
                after: self.elapsed(),
            })
    }

    /// The builder's state name (`pending`, `running`, `stopped`, …).
    pub async fn instance_state(
        &self,
        region: &str,
        instance_id: &str,
    ) -> Result<String, AwsError> {
        let out = self
            .call("DescribeInstances", region, Ids::Fresh, |c| {
                c.describe_instances().instance_ids(instance_id).send()
            })
            .await?;
        Ok(out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find_map(|i| {
                i.state()
                    .and_then(|s| s.name())
                    .map(InstanceStateName::as_str)
            })
            .unwrap_or("unknown")
            .to_owned())
    }

    /// The builder's serial console output, decoded; empty until EC2 has posted some.
    /// `latest` asks for the most recent output, which only Nitro instances support: others
    /// answer `UnsupportedOperation` (GetConsoleOutput,
    /// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html>).
    pub async fn console_output(
        &self,
        region: &str,
        instance_id: &str,
        latest: bool,
    ) -> Result<String, AwsError> {
        use base64::Engine;
        let out = self
            .call("GetConsoleOutput", region, Ids::Fresh, |c| {
                c.get_console_output()
                    .instance_id(instance_id)
                    .set_latest(latest.then_some(true))
                    .send()
            })
            .await?;
        let encoded = out.output().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap_or_default();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Terminates the builder, and asks again until EC2 reports it `shutting-down` or
    /// `terminated` (a just-launched instance may answer NotFound first).
    pub async fn terminate(
        &self,
        region: &str,
        instance_id: &str,
    ) -> Result<Termination, AwsError> {
        let first = Instant::now();
        let mut backoff = Duration::from_secs(1);
        loop {
            let out = self
                .call("TerminateInstances", region, Ids::Fresh, |c| {
                    c.terminate_instances().instance_ids(instance_id).send()
                })
                .await?;
            let state = out
                .terminating_instances()
                .iter()
                .find_map(|i| i.current_state()?.name().cloned());
            match state {
                Some(InstanceStateName::ShuttingDown | InstanceStateName::Terminated) => {
                    return Ok(Termination::Confirmed)
                }
                other if first.elapsed() >= SETTLE_LIMIT => {
                    return Ok(Termination::Unconfirmed(
                        other.map_or_else(|| "unknown".into(), |s| s.as_str().to_owned()),
                    ))
                }
                _ => {}
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(8));
        }
    }
}
