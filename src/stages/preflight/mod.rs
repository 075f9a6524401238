//! Every check made before anything exists, in the order a release makes them ([`CHECKS`],
//! which `plan` prints). A check that fails says what to do, and nothing has been made:
//!
//! - [`local`]: the files and values, before any AWS call or GitHub write (the templates
//!   parse, the branch renders, the manifests belong to the release and can be written, the
//!   submission keeps the Catalog's shapes); [`advice`] adds the warnings that never stop a
//!   release;
//! - [`seller`] and [`listing`]: the AWS account, the load form's ingestion role and the live
//!   listing, read-only, before anything is built;
//! - [`account`]: per job, read-only questions to EC2 (regions enabled, an earlier build to
//!   resume, EBS encryption by default, the public-AMI quota, the credentials' lifetime);
//! - [`ingestion`]: AWS Marketplace's rules over the built images, before the pull request and
//!   again before `submit`.

pub mod account;
pub mod advice;
pub mod ingestion;
pub mod listing;
pub mod local;
pub mod seller;

/// One pre-flight check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Every template parses and holds what the release updates.
    Templates,
    /// The release branch renders to a valid git ref.
    Branch,
    /// The given manifests belong to this release.
    Manifests,
    /// Every manifest this run writes can be written.
    ManifestPaths,
    /// The submit request keeps the Catalog API's shapes.
    Submission,
    /// The AWS account and the ingestion role.
    Seller,
    /// The live listing.
    Listing,
    /// The account, per job: regions, an earlier build, encryption, quota, credentials.
    Account,
    /// AWS Marketplace's ingestion rules over the built images.
    Ingestion,
}

impl Check {
    /// What the check verifies, in a few words.
    pub fn name(self) -> &'static str {
        match self {
            Check::Templates => "every template parses and holds what the release updates",
            Check::Branch => "the release branch renders to a valid git ref",
            Check::Manifests => {
                "the manifests belong to this release (product, version, architectures)"
            }
            Check::ManifestPaths => "every manifest this run writes can be written",
            Check::Submission => {
                "the submit request keeps the Catalog API's shapes (AmiProduct@1.0)"
            }
            Check::Seller => {
                "the credentials are the seller account's; the ingestion role trusts AWS Marketplace"
            }
            Check::Listing => "the live listing: the version title is new; regions and instance type",
            Check::Account => {
                "EC2: the regions are enabled, an earlier build is resumed, EBS encryption by default is off, the public-AMI quota has room"
            }
            Check::Ingestion => {
                "AWS Marketplace's ingestion rules hold for the built image (HVM, EBS, ENA, no product code, unencrypted, IMDSv2, us-east-1)"
            }
        }
    }

    /// Whether the check reads AWS (else only files and values).
    pub fn reads_aws(self) -> bool {
        matches!(
            self,
            Check::Seller | Check::Listing | Check::Account | Check::Ingestion
        )
    }
}

/// Every check, in the order a release makes them: the local ones while the release is
/// prepared, the AWS ones before the build (seller, listing, then each job's account checks),
/// and the ingestion rules on the built images.
pub const CHECKS: [Check; 9] = [
    Check::Templates,
    Check::Branch,
    Check::Manifests,
    Check::ManifestPaths,
    Check::Submission,
    Check::Seller,
    Check::Listing,
    Check::Account,
    Check::Ingestion,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_checks_come_before_any_that_reads_aws() {
        let first_aws = CHECKS.iter().position(|c| c.reads_aws()).unwrap();
        assert!(CHECKS[first_aws..].iter().all(|c| c.reads_aws()));
        assert!(CHECKS[..first_aws].iter().all(|c| !c.reads_aws()));
        let names: std::collections::HashSet<&str> = CHECKS.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), CHECKS.len(), "each check has its own name");
    }
}
