//! What the EC2 adapter reads of an image for AWS Marketplace's ingestion rules
//! (`aws::ec2::Ec2::ingestion_facts`); the rules that judge it are the ingestion pre-flight's
//! (`stages::preflight::ingestion`).

/// What DescribeImages says of an image, as far as ingestion cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageFacts {
    /// The image.
    pub image_id: String,
    /// `hvm` or `paravirtual`.
    pub virtualization_type: String,
    /// `ebs` or `instance-store`.
    pub root_device_type: String,
    /// `x86_64`, `arm64`, …
    pub architecture: String,
    /// `EnaSupport`, when reported.
    pub ena_support: Option<bool>,
    /// The product codes (Marketplace base AMIs pass theirs on).
    pub product_codes: Vec<String>,
    /// The snapshots of encrypted EBS mappings.
    pub encrypted_snapshots: Vec<String>,
    /// `ImdsSupport` (`v2.0` when IMDSv2 is required), when reported.
    pub imds_support: Option<String>,
}
