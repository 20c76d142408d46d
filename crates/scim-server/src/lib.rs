//! The SCIM 2.0 HTTP service provider: routing, tenancy and bearer auth, request limits,
//! and the handlers. Errors become SCIM JSON only in [`error::ApiError`]; the admin API
//! (`admin`) has its own JSON errors.

pub mod admin;
mod bulk;
mod error;
pub mod guard;
mod handlers;
mod listen;
pub mod oauth;
mod paging;
mod reqlog;
mod request;
mod stream;
pub mod tls;
mod touch;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use scim_core::ports::Store;

pub use error::ApiError;
pub use listen::{serve, serve_tls};
pub use reqlog::{Bodies as RequestLogBodies, RequestLogConfig};

pub const SCIM_JSON: &str = "application/scim+json";

/// Request limits. Exceeding one is a 4xx with an explanation, never a 500 or a hang.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, in bytes (413 beyond). `POST /Bulk` has its own limit,
    /// `max_bulk_payload`, instead.
    pub max_body_bytes: usize,
    /// Deepest JSON nesting of a body (400 `invalidSyntax` beyond). In a Bulk request it
    /// applies to each operation's `data`.
    pub max_json_depth: usize,
    /// Most operations in one `POST /Bulk` (`bulk.maxOperations`; 413 beyond).
    pub max_bulk_operations: usize,
    /// Largest `POST /Bulk` body, in bytes (`bulk.maxPayloadSize`; 413 beyond). For Bulk it
    /// replaces `max_body_bytes`, larger or smaller, so the advertised value is the one
    /// enforced; each operation's `data` is still held to `max_body_bytes`.
    pub max_bulk_payload: usize,
    /// How long a request's body may take to arrive once its headers have (408 and the
    /// connection closed beyond): a stalled or deliberately slow client holds nothing longer.
    pub body_timeout: std::time::Duration,
    /// How long a request's headers may take to arrive, from the connection's start or the
    /// previous response (the connection is closed beyond): slowloris clients and idle
    /// keep-alive connections let go.
    pub header_timeout: std::time::Duration,
    /// Largest request head (request line and headers), in bytes; 431 beyond.
    pub max_header_bytes: usize,
    /// Most open connections; one more is accepted and closed at once.
    pub max_connections: usize,
    /// Most requests in hand at once; 503 with `Retry-After` beyond, instead of a queue.
    pub max_in_flight: usize,
    /// A tenant's token bucket unless the tenant has its own (`PATCH /admin/v1/tenants/{t}`);
    /// 429 with `Retry-After` beyond.
    pub tenant_rate: scim_core::ports::TenantRate,
    /// Failed authentications (any 401) allowed per client address and minute, as a burst
    /// refilled evenly; beyond, the address gets 429 until its bucket has room.
    pub auth_failures_per_minute: u32,
    /// The header whose last entry is the client's address, when a proxy or load balancer
    /// sits in front (e.g. `X-Forwarded-For`); else the TCP peer's address is used.
    pub client_ip_header: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_json_depth: 32,
            max_bulk_operations: 1000,
            max_bulk_payload: 1024 * 1024,
            body_timeout: std::time::Duration::from_secs(30),
            header_timeout: std::time::Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            max_connections: 4096,
            max_in_flight: 512,
            tenant_rate: scim_core::ports::TenantRate::DEFAULT,
            auth_failures_per_minute: 30,
            client_ip_header: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where clients reach this server, without a trailing slash, e.g. `https://scim.example.com`.
    pub public_url: String,
    pub limits: Limits,
    /// How long the change feed keeps events (the pruning itself runs in `scim-events`).
    pub event_retention: std::time::Duration,
    /// Webhook receivers may be plain http on a loopback address (tests, development).
    pub webhook_allow_loopback_http: bool,
    pub request_log: RequestLogConfig,
}

/// The change feed's default retention: 30 days.
pub const DEFAULT_EVENT_RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

impl ServerConfig {
    pub fn new(public_url: &str) -> Self {
        ServerConfig {
            public_url: public_url.trim_end_matches('/').to_string(),
            limits: Limits::default(),
            event_retention: DEFAULT_EVENT_RETENTION,
            webhook_allow_loopback_http: false,
            request_log: RequestLogConfig::default(),
        }
    }

    /// The SCIM base URL of a tenant: what a customer pastes into Entra as the Tenant URL.
    pub fn tenant_url(&self, tenant: &str) -> String {
        format!("{}/scim/v2/{tenant}", self.public_url)
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    /// Where sequential index-page readers left off (see `paging::Hints`).
    pub hints: Arc<paging::Hints>,
    /// When this process last recorded each token's use (see `touch`).
    pub touches: Arc<touch::Touches>,
    /// Where SCIM requests leave their notes for the request log.
    pub requests: Arc<reqlog::RequestLog>,
    /// Rate limits and load shedding (see `guard`).
    pub guards: Arc<guard::Guards>,
}

/// The server's routes. Inside a Tokio runtime it also starts the request log's writer.
pub fn router(store: Arc<dyn Store>, config: ServerConfig) -> Router {
    let requests = Arc::new(reqlog::RequestLog::start(store.clone(), config.request_log.clone()));
    let guards = Arc::new(guard::Guards::new(&config.limits));
    let state = AppState {
        guards,
        store,
        config: Arc::new(config),
        hints: Arc::new(paging::Hints::default()),
        touches: Arc::new(touch::Touches::default()),
        requests,
    };
    let apis = Router::new()
        .route("/scim/v2/{tenant}", any(scim))
        .route("/scim/v2/{tenant}/", any(scim))
        .route("/scim/v2/{tenant}/{*rest}", any(scim))
        .merge(
            Router::new()
                .nest("/admin/v1", admin::routes(state.clone()))
                .route("/oauth/token", axum::routing::post(oauth::token))
                .layer(axum::middleware::from_fn_with_state(state.clone(), guard::bounded_body)),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard));
    // Health checks stay outside the limits: a loaded server is alive, and says so.
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(apis)
        .with_state(state)
        .layer(axum::middleware::map_response(security_headers))
}

/// Headers every response carries: SCIM bodies hold personal data and the token endpoint
/// hands out secrets, so nothing is cached, sniffed, framed or sent on as a referrer. A
/// handler's own `Cache-Control` is kept.
async fn security_headers(mut res: Response) -> Response {
    use axum::http::header::{self, HeaderValue};
    let h = res.headers_mut();
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    res
}

/// The time a request is handled at: read once per request, here only.
pub(crate) fn now() -> scim_core::Timestamp {
    scim_core::Timestamp::new(time::OffsetDateTime::now_utc())
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.tenants().await {
        Ok(_) => (StatusCode::OK, "ready").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

async fn scim(State(state): State<AppState>, req: Request) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let mut seen = None;
    let resp = match request::ScimRequest::read(&state, req, &mut seen).await {
        Ok(r) => handlers::dispatch(&state, r)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        Err(e) => e.into_response(),
    };
    tracing::debug!(%method, %path, status = resp.status().as_u16(), micros = started.elapsed().as_micros() as u64, "scim request");
    reqlog::record(&state.requests, seen, method.as_str(), path, &resp, started);
    resp
}
