//! What the IAM adapter reads of the load form's ingestion role (`aws::iam`), and the names
//! AWS Marketplace's ingestion rests on; the rules that judge them are the seller pre-flight's
//! (`stages::preflight::seller`).

/// The service principal Marketplace assumes the ingestion role as.
pub const MARKETPLACE_ASSETS: &str = "assets.marketplace.amazonaws.com";
/// The AWS managed policy the ingestion role carries.
pub const INGESTION_POLICY: &str = "AWSMarketplaceAmiIngestion";

/// What the ingestion role is, as IAM describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFacts {
    /// The trust policy (`AssumeRolePolicyDocument`), as IAM returns it: JSON, possibly
    /// URL-encoded.
    pub trust_policy: String,
    /// The attached managed policies, as (name, ARN).
    pub attached: Vec<(String, String)>,
}
