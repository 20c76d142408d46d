//! Turning an HTTP request into a `ScimRequest`: tenant and bearer auth, path segments,
//! query pairs, and a size- and depth-checked body.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use scim_core::CoreError;
use scim_core::ports::Tenant;
use serde_json::Value;

use crate::guard::Refusal;
use crate::reqlog::Seen;
use crate::{ApiError, AppState};

pub struct ScimRequest {
    pub tenant: Tenant,
    pub method: Method,
    /// Path segments after the tenant, empty ones dropped (`//Users/` → `["Users"]`).
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub now: scim_core::Timestamp,
}

const UNAUTHORIZED: &str =
    "missing or invalid bearer token for this tenant; send 'Authorization: Bearer <secret token>'";

impl ScimRequest {
    /// Reads and authenticates the request; `seen` is filled in as soon as the tenant is
    /// known (for the request log, which records failures after authentication too).
    pub async fn read(state: &AppState, req: Request, seen: &mut Option<Seen>) -> Result<ScimRequest, ApiError> {
        let now = crate::now();
        let (parts, body) = req.into_parts();
        let path = parts.uri.path();
        let after = path.strip_prefix("/scim/v2/").unwrap_or_default();
        let mut segs = after.split('/').filter(|s| !s.is_empty());
        let tenant_name = segs.next().unwrap_or_default().to_string();
        let segments: Vec<String> = segs.map(form_decode).collect();

        let token = bearer(&parts.headers).ok_or_else(|| ApiError::Unauthorized(UNAUTHORIZED.into()))?;
        let authed = state
            .store
            .authenticate(&tenant_name, token, now)
            .await?
            .filter(|a| a.tenant.name == tenant_name)
            .ok_or_else(|| ApiError::Unauthorized(UNAUTHORIZED.into()))?;
        let tenant = authed.tenant;
        state.guards.tenant(&tenant)?;
        crate::touch::used(state, tenant.id, token, now);
        *seen = Some(Seen {
            tenant: tenant.id,
            credential: authed
                .client_id
                .unwrap_or_else(|| scim_core::credential::display_prefix(token)),
            body: Bytes::new(),
        });

        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();

        // `/Bulk` has its own limit, the `bulk.maxPayloadSize` that /ServiceProviderConfig advertises.
        let bulk = segments.len() == 1 && segments[0].eq_ignore_ascii_case("bulk");
        let limits = &state.config.limits;
        let limit = if bulk {
            limits.max_bulk_payload
        } else {
            limits.max_body_bytes
        };
        let body = crate::guard::read_body(body, limit, limits.body_timeout)
            .await
            .map_err(|refusal| match refusal {
                Refusal::LargeBody { .. } if bulk => ApiError::PayloadTooLarge(format!(
                    "the Bulk request body is larger than maxPayloadSize ({limit} bytes; see /ServiceProviderConfig)"
                )),
                Refusal::LargeBody { .. } => ApiError::PayloadTooLarge(refusal.to_string()),
                other => ApiError::RequestTimeout(other.to_string()),
            })?;
        if let Some(s) = seen.as_mut() {
            s.body = body.clone();
        }
        if !body.is_empty()
            && let Some(ct) = parts.headers.get(header::CONTENT_TYPE)
        {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            let mime = ct.split(';').next().unwrap_or_default().trim();
            if !(mime == "application/scim+json"
                || mime == "application/json"
                || mime.ends_with("+json")
                || mime.is_empty())
            {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "Content-Type {mime:?} is not accepted; send application/scim+json or application/json"
                )));
            }
        }
        Ok(ScimRequest {
            tenant,
            method: parts.method,
            segments,
            query,
            headers: parts.headers,
            body,
            now,
        })
    }

    /// The body as JSON, after the depth check.
    pub fn json(&self, max_depth: usize) -> Result<Value, CoreError> {
        if self.body.is_empty() {
            return Err(CoreError::InvalidSyntax(
                "the request body is empty; a JSON object is required".into(),
            ));
        }
        if scim_proto::json_depth_exceeds(&self.body, max_depth) {
            return Err(CoreError::InvalidSyntax(format!(
                "the JSON body nests deeper than the limit of {max_depth} levels"
            )));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| CoreError::InvalidSyntax(format!("the request body is not valid JSON: {e}")))
    }

    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `If-Match: W/"3"` → `Some(3)`; `*` or absent → `None`.
    pub fn if_match(&self) -> Result<Option<i64>, CoreError> {
        let Some(v) = self.headers.get(header::IF_MATCH) else {
            return Ok(None);
        };
        if_match_value("If-Match", v.to_str().unwrap_or_default())
    }

    pub fn if_none_match(&self) -> Option<i64> {
        let v = self.headers.get(header::IF_NONE_MATCH)?;
        parse_etag(v.to_str().ok()?.trim())
    }
}

/// An If-Match value (the header, or a Bulk operation's `version`, named by `what`):
/// `W/"3"` → `Some(3)`; `*` → `None`.
pub fn if_match_value(what: &str, text: &str) -> Result<Option<i64>, CoreError> {
    let text = text.trim();
    if text == "*" {
        return Ok(None);
    }
    parse_etag(text).map(Some).ok_or_else(|| {
        CoreError::PreconditionFailed(format!(
            "{what} {text:?} is not an ETag this server issued (like W/\"3\")"
        ))
    })
}

fn parse_etag(text: &str) -> Option<i64> {
    let t = text.strip_prefix("W/").unwrap_or(text);
    t.trim_matches('"').parse().ok()
}

/// One form-encoded value (`%XX` and `+`), as path segments and Basic credentials carry them.
pub(crate) fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    if token.is_empty() { None } else { Some(token) }
}
