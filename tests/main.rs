//! The integration tests, as one test binary: each module runs the real binary (or the
//! library) against the stand-ins in `common` (moto behind `support/ec2_proxy.py`, the GitHub
//! and Catalog fakes) and the corpus. One binary links the AWS SDK once, instead of once per
//! file.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::too_many_lines,
    reason = "tests print their corpus summaries and NOTEs, and a scenario reads top to bottom; these rules are for src/"
)]

mod common;

mod action_metadata;
mod action_run;
mod aws_config_loads;
mod catalog_shapes;
mod cli_init;
mod cli_plan;
mod cli_publish;
mod cli_submit;
mod cli_template;
mod config_schema;
mod corpus;
mod ec2_stages;
mod ec2_unkind;
mod engine;
mod fuzz;
mod github_openapi;
mod iam_policy;
mod ingestion_preflight;
mod layout;
mod onboarding;
mod pairs;
mod properties;
mod release_workflow;
mod seller_checks;
mod stage_order;
mod step_outputs;
mod stopped_stages;
mod timeline;
mod verify_stack;
mod verify_stage;
