//! The values that flow between the stages, validated once: [`ami`] (regions, AMI IDs and
//! region → AMI sets), [`version`] (release versions), and [`manifest`] (the JSON contract
//! between the build, copy, publish and submit jobs) and its [`timeline`]; [`catalog`] holds
//! the Catalog API's shapes as local rules, [`seller`] and [`ingestion`] what the adapters read
//! of the ingestion role and the image for the pre-flight's rules, [`verification`] what
//! booting the image found, [`stack`] the verify stage's test stack (its name, events and
//! report) and [`stack_parameter`] its parameters as CreateStack takes them, and [`facts`]
//! what a release found out on the way, as one bundle.

pub mod ami;
pub mod catalog;
pub mod facts;
pub mod ingestion;
pub mod manifest;
pub mod seller;
pub mod stack;
pub mod stack_parameter;
pub mod state;
pub mod timeline;
pub mod verification;
pub mod version;
