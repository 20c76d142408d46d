//! A misbehaving SCIM target for engine tests, over real HTTP.
//!
//! [`FaultyTarget::start`] runs the real scimd service (scim-server over a temporary SQLite
//! database) on `127.0.0.1:0`, behind a middleware that records every request and injects
//! the [`Fault`]s a test asks for: error statuses, throttling, delays, lost responses
//! after commit, and 401s.
//!
//! Each request is handled on its own task, so a request whose client gave up (timed out)
//! still runs to the end, as on a real server; [`FaultyTarget::wait_idle`] waits for those.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test infrastructure: a failed setup fails the test

pub mod graph;
pub mod slapd;
pub mod smtp;
pub use smtp::{Mail, SmtpSink};

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use scim_core::ports::Store;
use scim_server::{ServerConfig, router};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The tenant [`FaultyTarget::start`] creates.
pub const TARGET_TENANT: &str = "target";
/// Largest request body the recorder buffers (larger ones are answered 413, not forwarded).
const MAX_BODY: usize = 16 * 1024 * 1024;
const CREATED_AT: &str = "2026-01-01T00:00:00.000000Z";

/// What an injected fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer a SCIM error body with this status; the request is NOT forwarded.
    Status(u16),
    /// Answer 429 with `Retry-After: <secs>`; NOT forwarded.
    TooManyRequests { retry_after_secs: u64 },
    /// Sleep, then forward (to trigger client timeouts). The request still completes if
    /// the client gave up meanwhile.
    Delay(Duration),
    /// Forward to the real server (the change IS applied) but answer this status with a
    /// SCIM error body: a response lost after commit.
    ForwardThenStatus(u16),
    /// Answer 401 with `WWW-Authenticate: Bearer`; NOT forwarded.
    Unauthorized,
}

/// A fault rule. `method` (case-insensitive) and `path_contains` (a substring of the path
/// *and query*, e.g. `"/Users"` or `"filter="`) narrow which requests match; `None` matches
/// all. The rule applies to the next `times` matching requests, then expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub method: Option<String>,
    pub path_contains: Option<String>,
    pub times: usize,
    pub action: FaultAction,
}

/// A fault for `method` requests whose path and query contain `path_contains`; `""` or
/// `"*"` for either means "any".
pub fn fault(method: &str, path_contains: &str, times: usize, action: FaultAction) -> Fault {
    let any = |s: &str| (!s.is_empty() && s != "*").then(|| s.to_string());
    Fault {
        method: any(method),
        path_contains: any(path_contains),
        times,
        action,
    }
}

impl Fault {
    fn matches(&self, method: &str, path_and_query: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path_contains.as_deref().is_none_or(|p| path_and_query.contains(p))
    }
}

/// One request as the target saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub method: String,
    /// As received, e.g. `/scim/v2/target/Users?filter=userName+eq+%22a%22`.
    pub path_and_query: String,
    /// The status answered to the client (for `ForwardThenStatus`, the injected one);
    /// 0 while the request is still being handled.
    pub status: u16,
    /// The request body, when it was JSON.
    pub body: Option<Value>,
    /// Whether a fault rule applied to this request.
    pub faulted: bool,
}

impl Recorded {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.path_and_query.split('?').next().unwrap_or_default()
    }

    /// POST/PUT/PATCH/DELETE, except a `POST …/.search`.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") && !self.path().contains("/.search")
    }
}

#[derive(Default)]
struct Shared {
    faults: Mutex<Vec<Fault>>,
    log: Mutex<Vec<(u64, Recorded)>>,
    seq: AtomicU64,
    in_flight: AtomicUsize,
    idle: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock must not hide the real failure elsewhere.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The action of the first live rule matching the request, consuming one of its uses.
    fn take_fault(&self, method: &str, path_and_query: &str) -> Option<FaultAction> {
        let mut faults = lock(&self.faults);
        let i = faults
            .iter()
            .position(|f| f.times > 0 && f.matches(method, path_and_query))?;
        let action = faults[i].action.clone();
        faults[i].times -= 1;
        if faults[i].times == 0 {
            faults.remove(i);
        }
        Some(action)
    }

    fn record(&self, r: Recorded) -> u64 {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        lock(&self.log).push((seq, r));
        seq
    }

    fn set_status(&self, seq: u64, status: u16) {
        if let Some((_, r)) = lock(&self.log).iter_mut().find(|(s, _)| *s == seq) {
            r.status = status;
        }
    }
}

/// Decrements the in-flight count when a request's handling ends (or its task is torn down).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: Arc<Shared>) -> InFlight {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// A real scimd behind a fault-injecting, recording middleware. Dropping it stops the server.
pub struct FaultyTarget {
    /// `http://127.0.0.1:PORT`.
    pub root: String,
    /// The `target` tenant's SCIM base URL, `{root}/scim/v2/target`.
    pub base_url: String,
    /// A bearer token of the `target` tenant.
    pub token: String,
    /// The server's store, for direct inspection.
    pub store: Arc<dyn Store>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl FaultyTarget {
    /// Starts the server with one tenant, `target`. Panics if it cannot (a test helper).
    pub async fn start() -> FaultyTarget {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/target.db", dir.path().display());
        let store = scim_store::open(&url, &Default::default()).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let root = format!("http://{}", listener.local_addr().expect("local addr"));
        let mut config = ServerConfig::new(&root);
        // A test target is not throttled unless a test says so (`throttle`).
        config.limits.tenant_rate = scim_core::ports::TenantRate {
            per_second: scim_core::ports::TenantRate::MAX,
            burst: scim_core::ports::TenantRate::MAX,
        };
        let shared = Arc::new(Shared::default());
        let app = router(store.clone(), config.clone())
            .layer(axum::middleware::from_fn_with_state(shared.clone(), intercept));
        let limits = config.limits.clone();
        let server = tokio::spawn(async move {
            scim_server::serve(listener, app, &limits, std::future::pending())
                .await
                .expect("serve");
        });
        let mut t = FaultyTarget {
            base_url: config.tenant_url(TARGET_TENANT),
            root,
            token: String::new(),
            store,
            shared,
            server,
            _dir: dir,
        };
        t.token = t.add_tenant(TARGET_TENANT).await.1;
        t
    }

    /// Creates another tenant on the same server (e.g. to serve as a SCIM *source*) and
    /// returns its base URL and a token. Its requests are recorded and faulted too.
    pub async fn add_tenant(&self, name: &str) -> (String, String) {
        let tenant = self
            .store
            .create_tenant(name, CREATED_AT.parse::<scim_core::Timestamp>().unwrap())
            .await
            .unwrap_or_else(|e| panic!("create tenant {name}: {e}"));
        let token = self
            .store
            .issue_token(tenant.id, None, CREATED_AT.parse::<scim_core::Timestamp>().unwrap())
            .await
            .unwrap_or_else(|e| panic!("issue token for {name}: {e}"))
            .token;
        (format!("{}/scim/v2/{name}", self.root), token)
    }

    /// Adds a fault rule after the existing ones (the first matching live rule applies).
    /// A rule with `times == 0` never applies. Panics on a status that is not 100–999.
    pub fn inject(&self, fault: Fault) {
        if let FaultAction::Status(s) | FaultAction::ForwardThenStatus(s) = fault.action {
            assert!(StatusCode::from_u16(s).is_ok(), "invalid injected status {s}");
        }
        if fault.times > 0 {
            lock(&self.shared.faults).push(fault);
        }
    }

    /// Removes every fault rule, used up or not.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// The fault rules still live, with their remaining `times`.
    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.shared.faults).clone()
    }

    /// Every request seen since the start or the last [`clear_requests`](Self::clear_requests),
    /// in arrival order, faulted ones included.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.log).iter().map(|(_, r)| r.clone()).collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// The recorded POST/PUT/PATCH/DELETE requests (faulted ones included), without
    /// `POST …/.search` queries.
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests().into_iter().filter(Recorded::is_write).collect()
    }

    /// Waits until no request is being handled, e.g. a delayed one whose client timed out.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.shared.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shared.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for FaultyTarget {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl std::fmt::Debug for FaultyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyTarget")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

async fn intercept(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    // On its own task: a client that disconnects does not cancel the request half-way.
    let guard = InFlight::new(shared.clone());
    match tokio::spawn(handle(shared, req, next, guard)).await {
        Ok(resp) => resp,
        Err(e) => error_response(500, &format!("testkit task failed: {e}")),
    }
}

async fn handle(shared: Arc<Shared>, req: Request, next: Next, _guard: InFlight) -> Response {
    let method = req.method().to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        let seq = shared.record(Recorded {
            method,
            path_and_query,
            status: 413,
            body: None,
            faulted: false,
        });
        shared.set_status(seq, 413);
        return error_response(413, "testkit: request body too large or unreadable");
    };
    let action = shared.take_fault(&method, &path_and_query);
    let seq = shared.record(Recorded {
        method,
        path_and_query,
        status: 0,
        body: serde_json::from_slice(&bytes).ok(),
        faulted: action.is_some(),
    });
    let req = Request::from_parts(parts, Body::from(bytes));
    let resp = match action {
        None => next.run(req).await,
        Some(FaultAction::Status(s)) => error_response(s, &format!("injected fault: HTTP {s}")),
        Some(FaultAction::TooManyRequests { retry_after_secs }) => {
            let mut r = error_response(429, "injected fault: too many requests");
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            r
        }
        Some(FaultAction::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(FaultAction::ForwardThenStatus(s)) => {
            let real = next.run(req).await;
            let detail = format!("injected fault: HTTP {s} after the server answered {}", real.status());
            error_response(s, &detail)
        }
        Some(FaultAction::Unauthorized) => {
            let mut r = error_response(401, "injected fault: unauthorized");
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
    };
    shared.set_status(seq, resp.status().as_u16());
    resp
}

/// A SCIM error response (RFC 7644 §3.12); bodiless for statuses that forbid a body.
fn error_response(status: u16, detail: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if code.is_informational() || code == StatusCode::NO_CONTENT || code == StatusCode::NOT_MODIFIED {
        return code.into_response();
    }
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": code.as_u16().to_string(),
        "detail": detail,
    });
    let mut r = (code, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/scim+json"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_helper_treats_empty_and_star_as_any() {
        let f = fault("", "*", 2, FaultAction::Unauthorized);
        assert_eq!((f.method, f.path_contains, f.times), (None, None, 2));
        let f = fault("post", "/Users", 1, FaultAction::Status(500));
        assert!(f.matches("POST", "/scim/v2/target/Users"));
        assert!(!f.matches("GET", "/scim/v2/target/Users"));
        assert!(!f.matches("POST", "/scim/v2/target/Groups"));
        assert!(fault("GET", "filter=", 1, FaultAction::Unauthorized).matches("GET", "/x/Users?filter=a"));
    }

    #[test]
    fn rules_apply_in_order_and_expire() {
        let s = Shared::default();
        lock(&s.faults).push(fault("GET", "", 1, FaultAction::Status(500)));
        lock(&s.faults).push(fault("", "", 2, FaultAction::Status(503)));
        assert_eq!(s.take_fault("POST", "/a"), Some(FaultAction::Status(503)));
        assert_eq!(s.take_fault("GET", "/a"), Some(FaultAction::Status(500)));
        assert_eq!(s.take_fault("GET", "/a"), Some(FaultAction::Status(503)));
        assert_eq!(s.take_fault("GET", "/a"), None);
        assert!(lock(&s.faults).is_empty());
    }

    #[test]
    fn writes_exclude_reads_and_search() {
        let r = |m: &str, p: &str| Recorded {
            method: m.into(),
            path_and_query: p.into(),
            status: 200,
            body: None,
            faulted: false,
        };
        assert!(r("POST", "/t/Users").is_write());
        assert!(r("DELETE", "/t/Users/1").is_write());
        assert!(!r("POST", "/t/Users/.search").is_write());
        assert!(!r("GET", "/t/Users").is_write());
        assert!(r("PATCH", "/t/Users/1?x=/.search").is_write(), "only the path counts");
    }
}
