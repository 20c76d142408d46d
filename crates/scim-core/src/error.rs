//! `CoreError`: every failure the SCIM protocol can report. The server turns it into an
//! RFC 7644 §3.12 error body in exactly one place.

use scim_proto::ParseError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    Uniqueness(String),
    /// A Bulk `bulkId:` reference that cannot be resolved (unknown, circular, or naming a
    /// failed operation): 409 `invalidValue` (RFC 7644 §3.7.3).
    #[error("{0}")]
    UnresolvedReference(String),
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    InvalidCursor(String),
    #[error("{0}")]
    ExpiredCursor(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    pub fn filter(src: &str, e: ParseError) -> Self {
        CoreError::InvalidFilter(format!("invalid filter {src:?}: {e}"))
    }

    pub fn path(src: &str, e: ParseError) -> Self {
        CoreError::InvalidPath(format!("invalid path {src:?}: {e}"))
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
