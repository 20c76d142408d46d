//! The one place where a `CoreError` becomes an HTTP response with an RFC 7644 §3.12 body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scim_core::CoreError;
use scim_proto::ErrorBody;

use crate::SCIM_JSON;

#[derive(Debug)]
pub struct ApiError(pub CoreError);

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError(e)
    }
}

/// The RFC 7644 §3.12 body of an error: what a single request answers, and what a Bulk
/// operation carries as its `response`. 5xx errors are logged here; internal details stay
/// in the log.
pub(crate) fn error_body(e: &CoreError) -> ErrorBody {
    let status = e.status();
    if status >= 500 {
        tracing::error!(error = %e, "request failed");
    }
    let detail = match e {
        CoreError::Internal(_) => "internal server error; the request was not applied".to_string(),
        other => other.to_string(),
    };
    ErrorBody::new(status, e.scim_type(), detail)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = e.status();
        let text = serde_json::to_string(&error_body(&e)).unwrap_or_default();
        let mut resp = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            text,
        )
            .into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        match e {
            CoreError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"scimd\""),
                );
            }
            CoreError::Unavailable(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}
