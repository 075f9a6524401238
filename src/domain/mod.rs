//! The values that flow between the stages, validated once: [`ami`] (regions, AMI IDs and
//! region → AMI sets), [`version`] (release versions), and [`manifest`] (the JSON contract
//! between the build, copy, publish and submit jobs) and its [`timeline`]; [`catalog`] holds
//! the Catalog API's shapes as local rules, [`seller`] the seller-account and ingestion-role
//! rules, [`ingestion`] the ingestion preflight over the built image, [`verification`] what
//! booting the image found, and [`stack`] the verify stage's test stack (its name, events and
//! report) and [`stack_parameter`] its parameters as CreateStack takes them.

pub mod ami;
pub mod catalog;
pub mod ingestion;
pub mod manifest;
pub mod seller;
pub mod stack;
pub mod stack_parameter;
pub mod state;
pub mod timeline;
pub mod verification;
pub mod version;
