//! `POST /oauth/token`: OAuth 2.0 client credentials (RFC 6749 §4.4). The client
//! authenticates with HTTP Basic or with form fields (§2.3.1), never both; the access token
//! is a bearer token for the client's tenant only, expiring after [`ACCESS_TOKEN_SECS`].
//! Errors follow §5.2 and are made only in [`OAuthError`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use crate::AppState;
use crate::request::form_decode;

/// Lifetime of an access token: one hour, as Entra expects.
pub const ACCESS_TOKEN_SECS: i64 = 3600;

pub struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// The client tried HTTP Basic: a 401 must then challenge it (§5.2).
    basic: bool,
    retry_after: Option<u64>,
}

impl From<crate::guard::Refusal> for OAuthError {
    /// RFC 6749 has no code for a rate limit; `temporarily_unavailable` (§4.1.2.1) is the
    /// one clients treat as "retry later".
    fn from(r: crate::guard::Refusal) -> Self {
        let code = match r {
            crate::guard::Refusal::SlowBody { .. } | crate::guard::Refusal::LargeBody { .. } => "invalid_request",
            _ => "temporarily_unavailable",
        };
        OAuthError {
            status: r.status(),
            code,
            description: r.to_string(),
            basic: false,
            retry_after: r.retry_after(),
        }
    }
}

impl OAuthError {
    fn request(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            description: description.into(),
            basic: false,
            retry_after: None,
        }
    }

    fn client(basic: bool) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: "unknown client, or a wrong, revoked or expired client secret".into(),
            basic,
            retry_after: None,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "error_description": self.description});
        let mut resp = (self.status, axum::Json(body)).into_response();
        no_store(resp.headers_mut());
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.basic && self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"scimd\""),
            );
        }
        resp
    }
}

fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// `client_id:client_secret` from an `Authorization: Basic` header, each part form-decoded
/// (§2.3.1). `Ok(None)`: no Basic header.
fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| OAuthError::client(true))?.trim();
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Err(OAuthError::client(true));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::request(
            "authenticate the client with HTTP Basic or form fields",
        ));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| OAuthError::client(true))?;
    let text = String::from_utf8(raw).map_err(|_| OAuthError::client(true))?;
    let (id, secret) = text.split_once(':').ok_or_else(|| OAuthError::client(true))?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| -> Result<Option<&str>, OAuthError> {
        let mut values = form.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::request(format!("{name} is given more than once")));
        }
        Ok(first)
    };
    match field("grant_type")? {
        None => {
            return Err(OAuthError::request(
                "grant_type is missing; send grant_type=client_credentials",
            ));
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                code: "unsupported_grant_type",
                description: format!("grant_type {other:?} is not supported; use client_credentials"),
                basic: false,
                retry_after: None,
            });
        }
    }
    let in_form = (field("client_id")?, field("client_secret")?);
    let (id, secret, used_basic) = match (basic(&headers)?, in_form) {
        (Some(_), (Some(_), _) | (_, Some(_))) => {
            return Err(OAuthError::request(
                "authenticate the client one way: HTTP Basic or form fields, not both",
            ));
        }
        (Some((id, secret)), _) => (id, secret, true),
        (None, (Some(id), Some(secret))) => (id.to_string(), secret.to_string(), false),
        (None, _) => return Err(OAuthError::request("client_id and client_secret are missing")),
    };
    let now = crate::now();
    let expires = scim_core::Timestamp::new(now.datetime() + time::Duration::seconds(ACCESS_TOKEN_SECS));
    let issued = state
        .store
        .client_credentials(&id, &secret, expires, now)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "token request failed");
            OAuthError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "temporarily_unavailable",
                description: "the token could not be issued; retry shortly".into(),
                basic: false,
                retry_after: None,
            }
        })?
        .ok_or_else(|| OAuthError::client(used_basic))?;
    let body = json!({"access_token": issued.token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECS});
    let mut resp = axum::Json(body).into_response();
    no_store(resp.headers_mut());
    Ok(resp)
}
