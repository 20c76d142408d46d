//! The admin API at `/admin/v1`: what a vendor's backend calls to manage its customers'
//! tenants and credentials. JSON in and out; authorised by admin tokens (never by a tenant's
//! SCIM token); errors are `{"error": code, "detail": …}`, made only in [`AdminError`].

mod audit;
mod clients;
mod events;
mod openapi;
pub mod requests;
mod schema;
mod tenants;
mod webhooks;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use scim_core::{CoreError, Timestamp};

use crate::now;
use serde_json::Value;

use crate::AppState;

/// The admin routes, to be nested at `/admin/v1`.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route(
            "/tenants/{tenant}",
            get(tenants::show).patch(tenants::update).delete(tenants::remove),
        )
        .route(
            "/tenants/{tenant}/tokens",
            get(tenants::tokens).post(tenants::issue_token),
        )
        .route("/tenants/{tenant}/tokens/{prefix}", delete(tenants::revoke_token))
        .route("/tenants/{tenant}/events", get(events::list))
        .route("/tenants/{tenant}/requests", get(requests::list))
        .route("/tenants/{tenant}/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/tenants/{tenant}/webhooks/{id}",
            get(webhooks::show).delete(webhooks::remove),
        )
        .route("/tenants/{tenant}/webhooks/{id}/test", post(webhooks::test))
        .route("/tenants/{tenant}/clients", get(clients::list).post(clients::create))
        .route(
            "/tenants/{tenant}/clients/{client}",
            get(clients::show).delete(clients::remove),
        )
        .route("/tenants/{tenant}/clients/{client}/secrets", post(clients::add_secret))
        .route(
            "/tenants/{tenant}/clients/{client}/secrets/{prefix}",
            delete(clients::revoke_secret),
        )
        .route("/audit", get(audit::list))
        .route_layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .fallback(|| async { AdminError::new(StatusCode::NOT_FOUND, "not_found", "no such admin API route") })
        .method_not_allowed_fallback(|| async {
            AdminError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this admin API route does not take that method",
            )
        })
        .layer(middleware::from_fn_with_state(state, require_admin))
        // The document describes the API; it holds no data, so it needs no token.
        .route("/openapi.json", get(openapi::document))
}

/// An admin API error: status, a stable machine-readable code, and a sentence for people.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    oldest_seq: Option<i64>,
    retry_after: Option<u64>,
}

impl From<crate::guard::Refusal> for AdminError {
    fn from(r: crate::guard::Refusal) -> Self {
        use crate::guard::Refusal;
        let code = match r {
            Refusal::Overloaded { .. } => "overloaded",
            Refusal::SlowBody { .. } => "request_timeout",
            Refusal::LargeBody { .. } => "payload_too_large",
            Refusal::TenantRate { .. } | Refusal::AuthFailures { .. } => "too_many_requests",
        };
        let mut e = AdminError::new(r.status(), code, r.to_string());
        e.retry_after = r.retry_after();
        e
    }
}

impl AdminError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        AdminError {
            status,
            code,
            detail: detail.into(),
            oldest_seq: None,
            retry_after: None,
        }
    }

    fn with_oldest_seq(mut self, seq: i64) -> Self {
        self.oldest_seq = Some(seq);
        self
    }

    fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }

    fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }
}

impl From<CoreError> for AdminError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::InvalidValue(d) | CoreError::InvalidSyntax(d) => Self::bad_request(d),
            CoreError::Uniqueness(d) => Self::new(StatusCode::CONFLICT, "conflict", d),
            CoreError::NotFound(d) => Self::not_found(d),
            CoreError::Unavailable(d) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", d),
            other => {
                tracing::error!(error = %other, "admin request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error; the request may not have been applied",
                )
            }
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let body = schema::ErrorOut {
            error: self.code.into(),
            detail: self.detail,
            oldest_seq: self.oldest_seq,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        let headers = resp.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scimd-admin\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

async fn require_admin(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let token = crate::request::bearer(req.headers()).map(str::to_string);
    let ok = match &token {
        Some(t) => state.store.authenticate_admin(t, now()).await,
        None => Ok(false),
    };
    match ok {
        Ok(true) => {
            let who = token
                .as_deref()
                .map(scim_core::credential::display_prefix)
                .unwrap_or_default();
            req.extensions_mut().insert(audit::Actor(format!("admin:{who}")));
            next.run(req).await
        }
        Ok(false) => AdminError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid admin token; send 'Authorization: Bearer <admin token>' \
             (issue one with `scimd admin token issue`; a tenant's SCIM token does not work here)",
        )
        .into_response(),
        Err(e) => AdminError::from(e).into_response(),
    }
}

/// A JSON object body: an empty body counts as `{}`; anything else that is not an object is
/// refused with what was wrong.
fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(AdminError::bad_request("the body must be a JSON object")),
        Err(e) => Err(AdminError::bad_request(format!("the body is not valid JSON: {e}"))),
    }
}

/// A `limit` query parameter: `default` when absent, else a number from 1 to `max`.
fn limit(given: Option<&str>, default: usize, max: usize) -> Result<usize, AdminError> {
    let Some(s) = given else { return Ok(default) };
    s.parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| AdminError::bad_request(format!("limit={s:?}: give a number from 1 to {max}")))
}

/// `expires_in` as seconds (a number) or a duration such as "90d" or "12h".
fn expires_in(body: &serde_json::Map<String, Value>, now: Timestamp) -> Result<Option<Timestamp>, AdminError> {
    let secs = match body.get("expires_in") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|s| *s > 0)
            .ok_or_else(|| AdminError::bad_request("expires_in: give a positive number of seconds"))?,
        Some(Value::String(s)) => humantime::parse_duration(s)
            .map_err(|e| AdminError::bad_request(format!("expires_in {s:?}: {e}; use e.g. \"90d\" or 3600")))?
            .as_secs(),
        Some(_) => {
            return Err(AdminError::bad_request(
                "expires_in: give seconds or a duration such as \"90d\"",
            ));
        }
    };
    let secs = i64::try_from(secs).ok().filter(|s| *s <= 100 * 365 * 86_400);
    let secs = secs.ok_or_else(|| AdminError::bad_request("expires_in: at most 100 years"))?;
    Ok(Some(Timestamp::new(now.datetime() + time::Duration::seconds(secs))))
}
