//! crossrep-core: everything crossrep decides, with no I/O.
//!
//! `config` parses `crossrep.toml`; `desired` turns it and a listing of source buckets into a
//! [`desired::DesiredState`]; `plan::plan` compares that with an [`model::ActualState`] (which
//! `crossrep-aws` discovers) and returns a [`plan::Plan`] that execution follows without making
//! decisions; `render` shows a plan to people. Nothing here depends on tokio or the AWS SDK.

pub mod backfill;
pub mod config;
pub mod desired;
pub mod destroy;
pub mod diff;
pub mod failures;
pub mod kinds;
pub mod model;
pub mod names;
pub mod observed;
pub mod organization;
pub mod plan;
pub mod policy;
pub mod preflight;
pub mod progress;
pub mod render;
pub mod report;
pub mod template;
pub mod verify;
