//! Images: what the stages see of one, and the calls that find, create, copy, share, tag and
//! remove them (and their snapshots).

use aws_sdk_ec2::types::{
    AttributeValue, Filter, Image, LaunchPermission, LaunchPermissionModifications, OperationType,
    PermissionGroup, ResourceType, SnapshotAttributeName, Tag,
};

use super::client::{tag_specification, Ec2, Ids};
use crate::aws::error::AwsError;

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

impl Ec2 {
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

    /// DescribeImages of `ids`, retrying NotFound when they are [`Ids::Fresh`].
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

    /// The images this account owns that match `filter`.
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
