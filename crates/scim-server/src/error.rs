//! The one place where an error becomes an HTTP response with an RFC 7644 §3.12 body. The
//! HTTP-only failures (authentication, method, body size, media type) and the mapping of
//! every error to a status and `scimType` live here, not in the protocol core.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_core::CoreError;
use scim_proto::{ErrorBody, ScimType};

use crate::SCIM_JSON;

#[derive(Debug)]
pub enum ApiError {
    /// What the protocol core decided (bad filter, conflict, not found, …).
    Core(CoreError),
    Unauthorized(String),
    MethodNotAllowed(String),
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    /// The body did not arrive in time (a slow or stalled client); the connection closes.
    RequestTimeout(String),
    /// A rate limit or load shedding turned the request away (429 or 503, `Retry-After`).
    Refused(crate::guard::Refusal),
}

impl From<crate::guard::Refusal> for ApiError {
    fn from(r: crate::guard::Refusal) -> Self {
        ApiError::Refused(r)
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::Core(e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Core(e) => e.fmt(f),
            ApiError::Unauthorized(m)
            | ApiError::MethodNotAllowed(m)
            | ApiError::PayloadTooLarge(m)
            | ApiError::UnsupportedMediaType(m)
            | ApiError::RequestTimeout(m) => f.write_str(m),
            ApiError::Refused(r) => r.fmt(f),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        let e = match self {
            ApiError::Unauthorized(_) => return 401,
            ApiError::MethodNotAllowed(_) => return 405,
            ApiError::PayloadTooLarge(_) => return 413,
            ApiError::UnsupportedMediaType(_) => return 415,
            ApiError::RequestTimeout(_) => return 408,
            ApiError::Refused(r) => return r.status().as_u16(),
            ApiError::Core(e) => e,
        };
        match e {
            CoreError::InvalidFilter(_)
            | CoreError::InvalidSyntax(_)
            | CoreError::InvalidPath(_)
            | CoreError::InvalidValue(_)
            | CoreError::NoTarget(_)
            | CoreError::Mutability(_)
            | CoreError::TooMany(_)
            | CoreError::InvalidCursor(_)
            | CoreError::ExpiredCursor(_) => 400,
            CoreError::NotFound(_) => 404,
            CoreError::Uniqueness(_) | CoreError::UnresolvedReference(_) => 409,
            CoreError::PreconditionFailed(_) => 412,
            CoreError::NotImplemented(_) => 501,
            CoreError::Unavailable(_) => 503,
            CoreError::Internal(_) => 500,
        }
    }

    pub fn scim_type(&self) -> Option<ScimType> {
        let ApiError::Core(e) = self else { return None };
        Some(match e {
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
}

/// The RFC 7644 §3.12 body of an error: what a single request answers, and what a Bulk
/// operation carries as its `response`. 5xx errors are logged here; internal details stay
/// in the log.
pub(crate) fn error_body(e: &ApiError) -> ErrorBody {
    let status = e.status();
    if status >= 500 && !matches!(e, ApiError::Refused(_)) {
        tracing::error!(error = %e, "request failed");
    }
    let detail = match e {
        ApiError::Core(CoreError::Internal(_)) => "internal server error; the request was not applied".to_string(),
        other => other.to_string(),
    };
    ErrorBody::new(status, e.scim_type(), detail)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = error_body(&self);
        let text = serde_json::to_string(&body).unwrap_or_default();
        let mut resp = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            text,
        )
            .into_response();
        resp.extensions_mut().insert(crate::reqlog::ErrorNote {
            scim_type: self.scim_type().map(ScimType::as_str),
            detail: body.detail,
        });
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        match self {
            ApiError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scimd\""),
                );
            }
            ApiError::Core(CoreError::Unavailable(_)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::RequestTimeout(_) => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            ApiError::Refused(r) => {
                if let Some(secs) = r.retry_after() {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
            }
            _ => {}
        }
        resp
    }
}
