//! The provisioning engine: what Entra's provisioning service does, as a library.
//!
//! A cycle reads a [`source`], evaluates scope ([`scope`]) and attribute mappings
//! ([`mapping`], written in `sync-expr`), and computes a [`plan`] of actions against the
//! job's state — a pure step. `execute` then applies the actions to a SCIM target.

pub mod config;
pub mod cycle;
pub mod error;
pub mod execute;
pub mod lease;
pub mod mapping;
pub mod model;
pub mod notify;
pub mod ondemand;
pub mod plan;
pub mod presets;
pub mod progress;
pub mod quarantine;
pub mod schedule;
pub mod scope;
pub mod source;
pub mod validate;

pub use error::EngineError;
