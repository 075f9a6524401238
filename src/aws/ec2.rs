//! The EC2 adapter: one client per region, built from one shared SDK config, and one thin
//! method per EC2 action the stages use. Every SDK call of the project is in this file, which
//! is how `tests/iam_policy.rs` checks the shipped IAM policy against the code.
//!
//! Throttling (`RequestLimitExceeded`) and transient errors are retried by the SDK's standard
//! retry mode with exponential backoff and jitter; the stages see only what remains.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    AttributeValue, BlockDeviceMapping, EbsBlockDevice, Filter, HttpTokensState, Image,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName,
    LaunchPermission, LaunchPermissionModifications, OperationType, PermissionGroup, ResourceType,
    ShutdownBehavior, SnapshotAttributeName, Tag, TagSpecification, VolumeType,
};
use aws_sdk_ec2::Client;

/// An EC2 call failed after the SDK's retries.
#[derive(Debug, thiserror::Error)]
#[error("{action} in {region} failed: {code}{message}")]
pub struct Ec2Error {
    /// The EC2 action, such as `CopyImage`.
    pub action: &'static str,
    /// The region it was sent to.
    pub region: String,
    /// AWS's error code, such as `InvalidAMIID.NotFound`, or the transport failure.
    pub code: String,
    /// AWS's message, prefixed with `: `.
    pub message: String,
}

fn ec2_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    action: &'static str,
    region: &str,
    error: aws_sdk_ec2::error::SdkError<E>,
) -> Ec2Error {
    let (code, message) = match error.code() {
        Some(code) => (
            code.to_owned(),
            error
                .message()
                .map(|m| format!(": {m}"))
                .unwrap_or_default(),
        ),
        None => (
            "request failed".to_owned(),
            format!(": {}", aws_sdk_ec2::error::DisplayErrorContext(&error)),
        ),
    };
    Ec2Error {
        action,
        region: region.to_owned(),
        code,
        message,
    }
}

/// The AWS configuration every client is built from: the standard chain (environment,
/// profile, web identity; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` redirect), home
/// region us-east-1, and standard retries with backoff for throttling.
pub async fn shared_config(max_attempts: u32) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(max_attempts)
                .with_initial_backoff(Duration::from_millis(500)),
        )
        .load()
        .await
}

/// Tags as the SDK wants them.
pub fn tags(pairs: &[(String, String)]) -> Vec<Tag> {
    pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// What an image looks like to the stages.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageInfo {
    /// Image ID.
    pub image_id: String,
    /// Name.
    pub name: String,
    /// Its state.
    pub state: crate::domain::state::ImageState,
    /// Why it failed, when it did.
    pub state_reason: Option<String>,
    /// Creation date (ISO 8601), for "newest".
    pub creation_date: String,
    /// The root device name.
    pub root_device_name: Option<String>,
    /// Snapshots of its EBS block devices.
    pub snapshot_ids: Vec<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
}

impl From<&Image> for ImageInfo {
    fn from(image: &Image) -> Self {
        Self {
            image_id: image.image_id().unwrap_or_default().to_owned(),
            name: image.name().unwrap_or_default().to_owned(),
            state: crate::domain::state::ImageState::parse(
                image.state().map(|s| s.as_str()).unwrap_or_default(),
            ),
            state_reason: image
                .state_reason()
                .and_then(|r| r.message())
                .map(str::to_owned),
            creation_date: image.creation_date().unwrap_or_default().to_owned(),
            root_device_name: image.root_device_name().map(str::to_owned),
            snapshot_ids: image
                .block_device_mappings()
                .iter()
                .filter_map(|b| b.ebs()?.snapshot_id().map(str::to_owned))
                .collect(),
            tags: image
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        }
    }
}

/// The builder instance launch request.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    /// The base image (an AMI ID or `resolve:ssm:…`).
    pub image_id: String,
    /// Instance type.
    pub instance_type: String,
    /// Base64 user-data.
    pub user_data: String,
    /// Root device name and size/type, when known.
    pub root_volume: Option<(String, i32, String)>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// Security group.
    pub security_group_id: Option<String>,
    /// Tags for the instance and its volumes.
    pub tags: Vec<(String, String)>,
}

/// Who may launch an image.
#[derive(Debug, Clone, Default)]
pub struct LaunchPermissions {
    /// Everyone.
    pub public: bool,
    /// Account IDs.
    pub accounts: Vec<String>,
    /// Organization ARNs.
    pub organizations: Vec<String>,
    /// OU ARNs.
    pub organizational_units: Vec<String>,
}

/// EC2 clients for every region from one shared configuration.
pub struct Ec2 {
    config: SdkConfig,
    clients: Mutex<HashMap<String, Client>>,
}

impl Ec2 {
    /// Loads the shared configuration the standard way (environment, profile, web identity, …;
    /// `AWS_ENDPOINT_URL` redirects every client), with retries for throttling.
    pub async fn from_env() -> Self {
        Self {
            config: shared_config(8).await,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for `region`.
    pub fn client(&self, region: &str) -> Client {
        let mut clients = self.clients.lock().expect("client map lock");
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_ec2::config::Builder::from(&self.config)
                    .region(aws_config::Region::new(region.to_owned()))
                    .build();
                Client::from_conf(config)
            })
            .clone()
    }

    /// The newest image owned by `owner` whose name matches `name` (wildcards allowed).
    pub async fn newest_image(
        &self,
        region: &str,
        owner: &str,
        name: &str,
        architecture: &str,
    ) -> Result<Option<ImageInfo>, Ec2Error> {
        let out = self
            .client(region)
            .describe_images()
            .owners(owner)
            .filters(Filter::builder().name("name").values(name).build())
            .filters(
                Filter::builder()
                    .name("architecture")
                    .values(architecture)
                    .build(),
            )
            .filters(Filter::builder().name("state").values("available").build())
            .send()
            .await
            .map_err(|e| ec2_error("DescribeImages", region, e))?;
        Ok(out
            .images()
            .iter()
            .map(ImageInfo::from)
            .max_by(|a, b| a.creation_date.cmp(&b.creation_date)))
    }

    /// Images by ID (one call for the whole batch); missing IDs are simply absent.
    pub async fn images(&self, region: &str, ids: &[String]) -> Result<Vec<ImageInfo>, Ec2Error> {
        let out = self
            .client(region)
            .describe_images()
            .set_image_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| ec2_error("DescribeImages", region, e))?;
        Ok(out.images().iter().map(ImageInfo::from).collect())
    }

    /// Images owned by this account carrying tag `key=value`.
    pub async fn own_images_tagged(
        &self,
        region: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<ImageInfo>, Ec2Error> {
        let out = self
            .client(region)
            .describe_images()
            .owners("self")
            .filters(
                Filter::builder()
                    .name(format!("tag:{key}"))
                    .values(value)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ec2_error("DescribeImages", region, e))?;
        Ok(out.images().iter().map(ImageInfo::from).collect())
    }

    /// Launches the builder: IMDSv2 required, no key pair, stops (not terminates) on power-off.
    pub async fn run_builder(
        &self,
        region: &str,
        request: &LaunchRequest,
    ) -> Result<String, Ec2Error> {
        let tag_spec = |kind: ResourceType| {
            TagSpecification::builder()
                .resource_type(kind)
                .set_tags(Some(tags(&request.tags)))
                .build()
        };
        let mut call = self
            .client(region)
            .run_instances()
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
            .tag_specifications(tag_spec(ResourceType::Volume));
        if let Some((device, size, kind)) = &request.root_volume {
            call = call.block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name(device)
                    .ebs(
                        EbsBlockDevice::builder()
                            .volume_size(*size)
                            .volume_type(VolumeType::from(kind.as_str()))
                            .delete_on_termination(true)
                            .build(),
                    )
                    .build(),
            );
        }
        if let Some(subnet) = &request.subnet_id {
            call = call.subnet_id(subnet);
        }
        if let Some(group) = &request.security_group_id {
            call = call.security_group_ids(group);
        }
        let out = call
            .send()
            .await
            .map_err(|e| ec2_error("RunInstances", region, e))?;
        out.instances()
            .first()
            .and_then(|i| i.instance_id())
            .map(str::to_owned)
            .ok_or_else(|| Ec2Error {
                action: "RunInstances",
                region: region.into(),
                code: "no instance returned".into(),
                message: String::new(),
            })
    }

    /// The instance's state name (`pending`, `running`, `stopped`, …).
    pub async fn instance_state(
        &self,
        region: &str,
        instance_id: &str,
    ) -> Result<String, Ec2Error> {
        let out = self
            .client(region)
            .describe_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(|e| ec2_error("DescribeInstances", region, e))?;
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

    /// The instance's serial console output, decoded.
    pub async fn console_output(
        &self,
        region: &str,
        instance_id: &str,
    ) -> Result<String, Ec2Error> {
        use base64::Engine;
        let out = self
            .client(region)
            .get_console_output()
            .instance_id(instance_id)
            .latest(true)
            .send()
            .await
            .map_err(|e| ec2_error("GetConsoleOutput", region, e))?;
        let encoded = out.output().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap_or_default();
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Terminates an instance.
    pub async fn terminate(&self, region: &str, instance_id: &str) -> Result<(), Ec2Error> {
        self.client(region)
            .terminate_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .map_err(|e| ec2_error("TerminateInstances", region, e))?;
        Ok(())
    }

    /// Creates an image of a stopped instance, tagging the image.
    pub async fn create_image(
        &self,
        region: &str,
        instance_id: &str,
        name: &str,
        description: &str,
        image_tags: &[(String, String)],
    ) -> Result<String, Ec2Error> {
        let out = self
            .client(region)
            .create_image()
            .instance_id(instance_id)
            .name(name)
            .description(description)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Image)
                    .set_tags(Some(tags(image_tags)))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ec2_error("CreateImage", region, e))?;
        Ok(out.image_id().unwrap_or_default().to_owned())
    }

    /// Tags resources (images and snapshots).
    pub async fn tag(
        &self,
        region: &str,
        resources: &[String],
        pairs: &[(String, String)],
    ) -> Result<(), Ec2Error> {
        self.client(region)
            .create_tags()
            .set_resources(Some(resources.to_vec()))
            .set_tags(Some(tags(pairs)))
            .send()
            .await
            .map_err(|e| ec2_error("CreateTags", region, e))?;
        Ok(())
    }

    /// Requires IMDSv2 on instances launched from the image.
    pub async fn require_imdsv2(&self, region: &str, image_id: &str) -> Result<(), Ec2Error> {
        self.client(region)
            .modify_image_attribute()
            .image_id(image_id)
            .imds_support(AttributeValue::builder().value("v2.0").build())
            .send()
            .await
            .map_err(|e| ec2_error("ModifyImageAttribute", region, e))?;
        Ok(())
    }

    /// Grants launch permissions.
    pub async fn share(
        &self,
        region: &str,
        image_id: &str,
        who: &LaunchPermissions,
    ) -> Result<(), Ec2Error> {
        let mut add = Vec::new();
        if who.public {
            add.push(
                LaunchPermission::builder()
                    .group(PermissionGroup::All)
                    .build(),
            );
        }
        add.extend(
            who.accounts
                .iter()
                .map(|a| LaunchPermission::builder().user_id(a).build()),
        );
        add.extend(
            who.organizations
                .iter()
                .map(|o| LaunchPermission::builder().organization_arn(o).build()),
        );
        add.extend(who.organizational_units.iter().map(|o| {
            LaunchPermission::builder()
                .organizational_unit_arn(o)
                .build()
        }));
        if add.is_empty() {
            return Ok(());
        }
        self.client(region)
            .modify_image_attribute()
            .image_id(image_id)
            .launch_permission(
                LaunchPermissionModifications::builder()
                    .set_add(Some(add))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ec2_error("ModifyImageAttribute", region, e))?;
        Ok(())
    }

    /// Lets `accounts` create volumes from a snapshot.
    pub async fn share_snapshot(
        &self,
        region: &str,
        snapshot_id: &str,
        accounts: &[String],
    ) -> Result<(), Ec2Error> {
        self.client(region)
            .modify_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .operation_type(OperationType::Add)
            .set_user_ids(Some(accounts.to_vec()))
            .send()
            .await
            .map_err(|e| ec2_error("ModifySnapshotAttribute", region, e))?;
        Ok(())
    }

    /// Whether "block public access for AMIs" stops public sharing in `region`.
    pub async fn public_sharing_blocked(&self, region: &str) -> Result<bool, Ec2Error> {
        let out = self
            .client(region)
            .get_image_block_public_access_state()
            .send()
            .await
            .map_err(|e| ec2_error("GetImageBlockPublicAccessState", region, e))?;
        Ok(out.image_block_public_access_state() == Some("block-new-sharing"))
    }

    /// Starts a copy of `source_image_id` into `region`.
    pub async fn copy_image(
        &self,
        region: &str,
        source_region: &str,
        source_image_id: &str,
        name: &str,
        description: &str,
        client_token: &str,
    ) -> Result<String, Ec2Error> {
        let out = self
            .client(region)
            .copy_image()
            .source_region(source_region)
            .source_image_id(source_image_id)
            .name(name)
            .description(description)
            .client_token(client_token)
            .send()
            .await
            .map_err(|e| ec2_error("CopyImage", region, e))?;
        Ok(out.image_id().unwrap_or_default().to_owned())
    }

    /// The regions enabled in the account (opted-in, or needing no opt-in).
    pub async fn enabled_regions(&self, region: &str) -> Result<Vec<String>, Ec2Error> {
        let out = self
            .client(region)
            .describe_regions()
            .send()
            .await
            .map_err(|e| ec2_error("DescribeRegions", region, e))?;
        Ok(out
            .regions()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_owned))
            .collect())
    }

    /// Deregisters an image.
    pub async fn deregister(&self, region: &str, image_id: &str) -> Result<(), Ec2Error> {
        self.client(region)
            .deregister_image()
            .image_id(image_id)
            .send()
            .await
            .map_err(|e| ec2_error("DeregisterImage", region, e))?;
        Ok(())
    }

    /// Deletes a snapshot.
    pub async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> Result<(), Ec2Error> {
        self.client(region)
            .delete_snapshot()
            .snapshot_id(snapshot_id)
            .send()
            .await
            .map_err(|e| ec2_error("DeleteSnapshot", region, e))?;
        Ok(())
    }
}

// What the ingestion preflight reads (issue 15), kept apart from the build and copy calls.
impl Ec2 {
    /// What DescribeImages says of `image_id` for AWS Marketplace's ingestion rules
    /// (`domain::ingestion`): virtualization, root device, architecture, ENA support, product
    /// codes, encrypted EBS snapshots and ImdsSupport. `None` when the image does not exist.
    pub async fn ingestion_facts(
        &self,
        region: &str,
        image_id: &str,
    ) -> Result<Option<crate::domain::ingestion::ImageFacts>, Ec2Error> {
        let out = self
            .client(region)
            .describe_images()
            .image_ids(image_id)
            .send()
            .await
            .map_err(|e| ec2_error("DescribeImages", region, e))?;
        Ok(out.images().first().map(|image| {
            let text = |value: Option<&str>| value.unwrap_or_default().to_owned();
            crate::domain::ingestion::ImageFacts {
                image_id: text(image.image_id()),
                virtualization_type: text(image.virtualization_type().map(|v| v.as_str())),
                root_device_type: text(image.root_device_type().map(|v| v.as_str())),
                architecture: text(image.architecture().map(|v| v.as_str())),
                ena_support: image.ena_support(),
                product_codes: image
                    .product_codes()
                    .iter()
                    .map(|c| text(c.product_code_id()))
                    .collect(),
                encrypted_snapshots: image
                    .block_device_mappings()
                    .iter()
                    .filter_map(|m| m.ebs())
                    .filter(|ebs| ebs.encrypted() == Some(true))
                    .map(|ebs| text(ebs.snapshot_id()))
                    .collect(),
                imds_support: image.imds_support().map(|v| v.as_str().to_owned()),
            }
        }))
    }
}
