//! The EC2 adapter: one client per region, built from one shared SDK config, and one thin
//! method per EC2 action the stages use. Every EC2 call of the project is in this file, which
//! is how `tests/iam_policy.rs` checks the shipped IAM policy against the code.
//!
//! Every call goes through one layer, [`Ec2::call`], which:
//! - bounds the EC2 requests in flight across all regions (`copy.max-concurrency`);
//! - for calls that name a resource this run may have just created, retries the NotFound that
//!   EC2's eventual consistency answers for a while after RunInstances, CreateImage and
//!   CopyImage ("Eventual consistency in the Amazon EC2 API",
//!   <https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>), with
//!   exponential backoff for up to [`SETTLE_LIMIT`], as Packer's amazon plugin does;
//! - turns SDK errors into [`AwsError`] values that know whether the credentials are the
//!   problem.
//!
//! Throttling (`RequestLimitExceeded`) and transient errors are retried inside the SDK by its
//! standard retry mode with exponential backoff and jitter; the stages see only what remains.
//! Tags are given at creation (`TagSpecifications` on RunInstances, CreateImage and CopyImage),
//! so nothing this tool makes is ever untagged. The one tag written later is the verification
//! result on an image this run made ([`Ec2::tag_image`]); the policy allows that
//! CreateTags only on images carrying the run-ID tag, and only for that tag key.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{
    AttributeValue, BlockDeviceMapping, EbsBlockDevice, Filter, HttpTokensState, Image,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceStateName,
    LaunchPermission, LaunchPermissionModifications, OperationType, PermissionGroup, ResourceType,
    ShutdownBehavior, SnapshotAttributeName, Tag, TagSpecification, VolumeType,
};
use aws_sdk_ec2::Client;
use tokio::sync::Semaphore;

pub use crate::aws::error::AwsError;

/// How long a NotFound for a resource this run just created is retried before it counts.
/// EC2 documents no bound; its changes usually show within seconds.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(120);

/// Whether a call names resources this run may have created moments ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ids {
    /// Created by this run: NotFound is retried until [`SETTLE_LIMIT`].
    Fresh,
    /// Anything else: NotFound is the answer.
    Settled,
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
    /// Those of its snapshots that are encrypted: AWS Marketplace ingests no such image, and
    /// none can be made public.
    pub encrypted_snapshots: Vec<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
    /// `x86_64`, `arm64` (or `i386`), when EC2 says.
    pub architecture: Option<String>,
}

impl ImageInfo {
    /// The value of tag `key`, when the image has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
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
            architecture: image.architecture().map(|a| a.as_str().to_owned()),
            snapshot_ids: image
                .block_device_mappings()
                .iter()
                .filter_map(|b| b.ebs()?.snapshot_id().map(str::to_owned))
                .collect(),
            encrypted_snapshots: image
                .block_device_mappings()
                .iter()
                .filter_map(|b| b.ebs())
                .filter(|ebs| ebs.encrypted() == Some(true))
                .map(|ebs| ebs.snapshot_id().unwrap_or("(no snapshot ID)").to_owned())
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

/// How an instance ended up after TerminateInstances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Termination {
    /// EC2 reports it `shutting-down` or `terminated`.
    Confirmed,
    /// EC2 accepted the calls but never reported either state within [`SETTLE_LIMIT`]; the
    /// last state it reported.
    Unconfirmed(String),
}

/// EC2 clients for every region from one shared configuration.
pub struct Ec2 {
    config: SdkConfig,
    clients: Mutex<HashMap<String, Client>>,
    in_flight: Semaphore,
    started: Instant,
}

impl Ec2 {
    /// Loads the shared configuration the standard way (environment, profile, web identity, …;
    /// `AWS_ENDPOINT_URL` redirects every client), with retries for throttling. At most
    /// `max_in_flight` EC2 requests are in flight at once, across all regions.
    pub async fn from_env(max_in_flight: usize) -> Self {
        Self::new(&crate::aws::config::AwsConfig::load().await, max_in_flight)
    }

    /// EC2 clients made from the run's `config`, with at most `max_in_flight` requests in
    /// flight at once, across all regions.
    pub fn new(config: &crate::aws::config::AwsConfig, max_in_flight: usize) -> Self {
        Self {
            config: config.sdk().clone(),
            clients: Mutex::new(HashMap::new()),
            in_flight: Semaphore::new(max_in_flight.max(1)),
            started: Instant::now(),
        }
    }

    /// The shared configuration, for the other adapters of the same run.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// The client for `region`.
    fn client(&self, region: &str) -> Client {
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

    /// The one layer every call goes through: a permit of the in-flight bound, the call, and,
    /// for [`Ids::Fresh`], retries of NotFound with backoff (1 s doubling to 8 s) until
    /// [`SETTLE_LIMIT`].
    async fn call<T, E, F, Fut>(
        &self,
        action: &'static str,
        region: &str,
        ids: Ids,
        send: F,
    ) -> Result<T, AwsError>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let first = Instant::now();
        let mut backoff = Duration::from_secs(1);
        loop {
            let result = {
                let _permit = self.in_flight.acquire().await.expect("never closed");
                send(self.client(region)).await
            };
            let error = match result {
                Ok(out) => return Ok(out),
                Err(e) => AwsError::from_sdk(action, region, self.started.elapsed(), e),
            };
            if ids == Ids::Fresh && error.is_not_found() && first.elapsed() < SETTLE_LIMIT {
                tracing::debug!(action, region, code = %error.code, "not visible yet; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(8));
                continue;
            }
            return Err(error);
        }
    }

    /// When the credentials expire, if the provider says (temporary credentials do); `None`
    /// for long-term keys or when no credentials can be loaded.
    pub async fn credentials_expiry(&self) -> Option<SystemTime> {
        let provider = self.config.credentials_provider()?;
        provider.provide_credentials().await.ok()?.expiry()
    }

    /// The newest image owned by `owner` whose name matches `name` (wildcards allowed).
    pub async fn newest_image(
        &self,
        region: &str,
        owner: &str,
        name: &str,
        architecture: &str,
    ) -> Result<Option<ImageInfo>, AwsError> {
        let out = self
            .call("DescribeImages", region, Ids::Settled, |c| {
                c.describe_images()
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
            })
            .await?;
        Ok(out
            .images()
            .iter()
            .map(ImageInfo::from)
            .max_by(|a, b| a.creation_date.cmp(&b.creation_date)))
    }

    /// Images by ID (one call for the whole batch) that were made earlier (the base image, a
    /// given image, a manifest's); NotFound is an answer.
    pub async fn images(&self, region: &str, ids: &[String]) -> Result<Vec<ImageInfo>, AwsError> {
        self.describe_images(region, ids, Ids::Settled).await
    }

    /// An image this run just created: NotFound is retried while EC2 catches up.
    pub async fn new_image(&self, region: &str, id: &str) -> Result<Option<ImageInfo>, AwsError> {
        let found = self
            .describe_images(region, &[id.to_owned()], Ids::Fresh)
            .await?;
        Ok(found.into_iter().next())
    }

    async fn describe_images(
        &self,
        region: &str,
        ids: &[String],
        fresh: Ids,
    ) -> Result<Vec<ImageInfo>, AwsError> {
        let out = self
            .call("DescribeImages", region, fresh, |c| {
                c.describe_images().set_image_ids(Some(ids.to_vec())).send()
            })
            .await?;
        Ok(out.images().iter().map(ImageInfo::from).collect())
    }

    /// Images owned by this account carrying tag `key=value`.
    pub async fn own_images_tagged(
        &self,
        region: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<ImageInfo>, AwsError> {
        self.own_images(
            region,
            Filter::builder()
                .name(format!("tag:{key}"))
                .values(value)
                .build(),
        )
        .await
    }

    /// The image owned by this account named `name` (names are unique per account and region).
    pub async fn own_image_named(
        &self,
        region: &str,
        name: &str,
    ) -> Result<Option<ImageInfo>, AwsError> {
        let found = self
            .own_images(region, Filter::builder().name("name").values(name).build())
            .await?;
        Ok(found.into_iter().next())
    }

    /// The public images this account owns in `region` (the "Public AMIs" quota counts them).
    pub async fn public_images(&self, region: &str) -> Result<Vec<ImageInfo>, AwsError> {
        self.own_images(
            region,
            Filter::builder().name("is-public").values("true").build(),
        )
        .await
    }

    async fn own_images(&self, region: &str, filter: Filter) -> Result<Vec<ImageInfo>, AwsError> {
        let out = self
            .call("DescribeImages", region, Ids::Settled, |c| {
                c.describe_images()
                    .owners("self")
                    .filters(filter.clone())
                    .send()
            })
            .await?;
        Ok(out.images().iter().map(ImageInfo::from).collect())
    }

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
                after: self.started.elapsed(),
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

    /// Creates an image of the stopped builder; the image and its snapshots get `image_tags`
    /// at creation.
    pub async fn create_image(
        &self,
        region: &str,
        instance_id: &str,
        name: &str,
        description: &str,
        image_tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let out = self
            .call("CreateImage", region, Ids::Fresh, |c| {
                c.create_image()
                    .instance_id(instance_id)
                    .name(name)
                    .description(description)
                    .tag_specifications(tag_specification(ResourceType::Image, image_tags))
                    .tag_specifications(tag_specification(ResourceType::Snapshot, image_tags))
                    .send()
            })
            .await?;
        Ok(out.image_id().unwrap_or_default().to_owned())
    }

    /// Tags an image this run made after its creation: only the verification's result
    /// (`marketplace-release:verification`) is written so, which is all the policy allows
    /// (CreateTags, <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTags.html>).
    pub async fn tag_image(
        &self,
        region: &str,
        image_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), AwsError> {
        self.call("CreateTags", region, Ids::Fresh, |c| {
            c.create_tags()
                .resources(image_id)
                .tags(Tag::builder().key(key).value(value).build())
                .send()
        })
        .await?;
        Ok(())
    }

    /// Requires IMDSv2 on instances launched from the image.
    pub async fn require_imdsv2(&self, region: &str, image_id: &str) -> Result<(), AwsError> {
        self.call("ModifyImageAttribute", region, Ids::Fresh, |c| {
            c.modify_image_attribute()
                .image_id(image_id)
                .imds_support(AttributeValue::builder().value("v2.0").build())
                .send()
        })
        .await?;
        Ok(())
    }

    /// Grants launch permissions.
    pub async fn share(
        &self,
        region: &str,
        image_id: &str,
        who: &LaunchPermissions,
    ) -> Result<(), AwsError> {
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
        self.call("ModifyImageAttribute", region, Ids::Fresh, |c| {
            c.modify_image_attribute()
                .image_id(image_id)
                .launch_permission(
                    LaunchPermissionModifications::builder()
                        .set_add(Some(add.clone()))
                        .build(),
                )
                .send()
        })
        .await?;
        Ok(())
    }

    /// Lets `accounts` create volumes from a snapshot.
    pub async fn share_snapshot(
        &self,
        region: &str,
        snapshot_id: &str,
        accounts: &[String],
    ) -> Result<(), AwsError> {
        self.call("ModifySnapshotAttribute", region, Ids::Fresh, |c| {
            c.modify_snapshot_attribute()
                .snapshot_id(snapshot_id)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .operation_type(OperationType::Add)
                .set_user_ids(Some(accounts.to_vec()))
                .send()
        })
        .await?;
        Ok(())
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

    /// Starts a copy of `source_image_id` into `region`; the copy and its snapshots get
    /// `copy_tags` at creation.
    pub async fn copy_image(
        &self,
        region: &str,
        source: (&str, &str),
        name: &str,
        description: &str,
        client_token: &str,
        copy_tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let (source_region, source_image_id) = source;
        let out = self
            .call("CopyImage", region, Ids::Fresh, |c| {
                c.copy_image()
                    .source_region(source_region)
                    .source_image_id(source_image_id)
                    .name(name)
                    .description(description)
                    .client_token(client_token)
                    .tag_specifications(tag_specification(ResourceType::Image, copy_tags))
                    .tag_specifications(tag_specification(ResourceType::Snapshot, copy_tags))
                    .send()
            })
            .await?;
        Ok(out.image_id().unwrap_or_default().to_owned())
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

    /// Deregisters an image this run made.
    pub async fn deregister(&self, region: &str, image_id: &str) -> Result<(), AwsError> {
        self.call("DeregisterImage", region, Ids::Fresh, |c| {
            c.deregister_image().image_id(image_id).send()
        })
        .await?;
        Ok(())
    }

    /// Deletes a snapshot of an image this run made.
    pub async fn delete_snapshot(&self, region: &str, snapshot_id: &str) -> Result<(), AwsError> {
        self.call("DeleteSnapshot", region, Ids::Fresh, |c| {
            c.delete_snapshot().snapshot_id(snapshot_id).send()
        })
        .await?;
        Ok(())
    }
}

/// One tag specification for `kind`.
fn tag_specification(kind: ResourceType, pairs: &[(String, String)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(tags(pairs)))
        .build()
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
    ) -> Result<Option<crate::domain::ingestion::ImageFacts>, AwsError> {
        let out = self
            .call("DescribeImages", region, Ids::Settled, |c| {
                c.describe_images().image_ids(image_id).send()
            })
            .await?;
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
