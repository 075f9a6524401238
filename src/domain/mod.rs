//! The values that flow between the stages, validated once: [`ami`] (regions, AMI IDs and
//! region → AMI sets), [`version`] (release versions), [`manifest`] (the JSON contract
//! between the build, copy, publish and submit jobs) and its [`timeline`].

pub mod ami;
pub mod manifest;
pub mod state;
pub mod timeline;
pub mod version;
