//! The stages, one file (or folder) per step of the release, in pipeline order:
//! [`preflight`] (every check made before anything exists: local, account, seller, listing,
//! ingestion), [`build`] the AMI (or [`import`] one the vendor has), [`verify`] it before any
//! copy, [`copy`] and share it, the verify stage's test [`stack`], regenerate the
//! [`templates`], [`publish`] the pull request, [`submit`] the version to AWS Marketplace.
//!
//! What the stages share sits in its own files: [`error`] (why a stage failed), [`cancel`]
//! (the signal's token and the waits that give way to it), [`wait`] (poll schedules),
//! [`instance`] (an instance that reports on its console: the builder and the test instance),
//! [`image`] (waiting for, refusing and removing images; saving the manifest), [`tag`] (the
//! tag keys).
//!
//! Architecture invariant: a stage takes explicit inputs (its config section or plan, the
//! adapter, the manifest it records into, the cancellation token), never the engine's
//! `Release`; no stage names another stage's file, only the shared ones; nothing here prints
//! (progress goes through [`crate::output::progress`] events).

pub mod build;
pub mod cancel;
pub mod copy;
pub mod error;
pub mod image;
pub mod import;
pub mod instance;
pub mod preflight;
pub mod publish;
pub mod stack;
pub mod submit;
pub mod tag;
pub mod templates;
pub mod verify;
pub mod wait;

pub use cancel::CancellationToken;
pub use error::StageError;
