//! SCIM semantics without I/O: schemas, validation and normalisation, the PATCH engine,
//! filter resolution and in-memory evaluation, projection, discovery documents, and the
//! storage ports that adapters implement.

pub mod credential;
pub mod cursor;
pub mod discovery;
mod error;
pub mod eval;
pub mod events;
pub mod index;
pub mod limits;
pub mod normalize;
pub mod ops;
pub mod patch;
pub mod ports;
pub mod project;
pub mod query;
pub mod redact;
pub mod resolve;
pub mod resource;
pub mod schema;
pub mod time_fmt;

pub use error::{CoreError, Result};
pub use schema::ResourceKind;
pub use time_fmt::Timestamp;
