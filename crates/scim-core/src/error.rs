//! `CoreError`: every failure the SCIM protocol can report. The server turns it into an
//! RFC 7644 §3.12 error body in exactly one place.

use scim_proto::{ParseError, ScimType};

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
    Unauthorized(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotImplemented(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl CoreError {
    pub fn status(&self) -> u16 {
        match self {
            CoreError::InvalidFilter(_)
            | CoreError::InvalidSyntax(_)
            | CoreError::InvalidPath(_)
            | CoreError::InvalidValue(_)
            | CoreError::NoTarget(_)
            | CoreError::Mutability(_)
            | CoreError::TooMany(_)
            | CoreError::InvalidCursor(_)
            | CoreError::ExpiredCursor(_) => 400,
            CoreError::Unauthorized(_) => 401,
            CoreError::NotFound(_) => 404,
            CoreError::MethodNotAllowed(_) => 405,
            CoreError::Uniqueness(_) | CoreError::UnresolvedReference(_) => 409,
            CoreError::PreconditionFailed(_) => 412,
            CoreError::PayloadTooLarge(_) => 413,
            CoreError::UnsupportedMediaType(_) => 415,
            CoreError::NotImplemented(_) => 501,
            CoreError::Unavailable(_) => 503,
            CoreError::Internal(_) => 500,
        }
    }

    pub fn scim_type(&self) -> Option<ScimType> {
        Some(match self {
            CoreError::InvalidFilter(_) => ScimType::InvalidFilter,
            CoreError::InvalidSyntax(_) => ScimType::InvalidSyntax,
            CoreError::InvalidPath(_) => ScimType::InvalidPath,
            CoreError::InvalidValue(_) => ScimType::InvalidValue,
            CoreError::NoTarget(_) => ScimType::NoTarget,
            CoreError::Mutability(_) => ScimType::Mutability,
            CoreError::Uniqueness(_) => ScimType::Uniqueness,
            CoreError::UnresolvedReference(_) => ScimType::InvalidValue,
            CoreError::TooMany(_) => ScimType::TooMany,
            CoreError::InvalidCursor(_) => ScimType::InvalidCursor,
            CoreError::ExpiredCursor(_) => ScimType::ExpiredCursor,
            _ => return None,
        })
    }

    pub fn filter(src: &str, e: ParseError) -> Self {
        CoreError::InvalidFilter(format!("invalid filter {src:?}: {e}"))
    }

    pub fn path(src: &str, e: ParseError) -> Self {
        CoreError::InvalidPath(format!("invalid path {src:?}: {e}"))
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
