//! Rate limits and load shedding: a token bucket per tenant, a cap on requests in flight,
//! and a limit on failed authentication per client address and tenant (identity providers
//! such as Entra send many customers' requests from shared addresses, so one customer's
//! wrong token must not lock the others out; the token endpoint and the admin API count
//! as one "tenant" each). Every one is held per process, so with several replicas behind a
//! load balancer each replica enforces its own share (see docs/operations.md for sizing). What a refusal looks like on the wire is each API's own
//! error type's business ([`Refusal`] converts into all three).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use scim_core::ports::{Tenant, TenantId, TenantRate};
use tokio::sync::Semaphore;

use crate::AppState;

/// Why a request was turned away before it was handled, and when to come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The tenant spent its token bucket (429).
    TenantRate { retry_after: u64, rate: TenantRate },
    /// Too many failed authentications from this address (429).
    AuthFailures { retry_after: u64 },
    /// The server has `max_in_flight` requests in hand already (503).
    Overloaded { retry_after: u64, max_in_flight: usize },
    /// The body did not arrive within `body_timeout` (408, connection closed).
    SlowBody { timeout_ms: u128 },
    /// The body is larger than `max_body_bytes` (413).
    LargeBody { limit: usize },
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::SlowBody { .. } => StatusCode::REQUEST_TIMEOUT,
            Refusal::LargeBody { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// Seconds for `Retry-After` (at least 1), where waiting helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Refusal::TenantRate { retry_after, .. }
            | Refusal::AuthFailures { retry_after }
            | Refusal::Overloaded { retry_after, .. } => Some((*retry_after).max(1)),
            Refusal::SlowBody { .. } | Refusal::LargeBody { .. } => None,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let after = self.retry_after().unwrap_or(1);
        match self {
            Refusal::SlowBody { timeout_ms } => write!(
                f,
                "the request body did not arrive within {timeout_ms} ms; send it whole, promptly"
            ),
            Refusal::LargeBody { limit } => write!(f, "the request body is larger than the limit of {limit} bytes"),
            Refusal::TenantRate { rate, .. } => write!(
                f,
                "this tenant sent more than {} requests per second (burst {}); retry after {after} s",
                rate.per_second, rate.burst
            ),
            Refusal::AuthFailures { .. } => write!(
                f,
                "too many failed authentications from this address; retry after {after} s with valid credentials"
            ),
            Refusal::Overloaded { max_in_flight, .. } => write!(
                f,
                "the server is handling {max_in_flight} requests already; retry after {after} s"
            ),
        }
    }
}

/// The limits' state, shared by every request of this process.
pub struct Guards {
    default_rate: TenantRate,
    tenants: RwLock<HashMap<TenantId, (TenantRate, Arc<DefaultDirectRateLimiter>)>>,
    failures: DefaultKeyedRateLimiter<Caller>,
    blocked: Mutex<HashMap<Caller, Instant>>,
    /// How many callers `blocked` holds, so the common case (none) takes no lock.
    blocked_count: AtomicUsize,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    client_ip_header: Option<String>,
}

/// Who failed to authenticate: the client's address, and the tenant (or API) it tried.
type Caller = (IpAddr, String);

/// Addresses kept before the failure limiter forgets the quiet ones.
const MAX_TRACKED_ADDRESSES: usize = 100_000;

impl Guards {
    pub fn new(limits: &crate::Limits) -> Guards {
        let per_minute = NonZeroU32::new(limits.auth_failures_per_minute).unwrap_or(NonZeroU32::MIN);
        Guards {
            default_rate: limits.tenant_rate,
            tenants: RwLock::default(),
            failures: RateLimiter::keyed(Quota::per_minute(per_minute)),
            blocked: Mutex::default(),
            blocked_count: AtomicUsize::new(0),
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight)),
            max_in_flight: limits.max_in_flight,
            client_ip_header: limits.client_ip_header.as_ref().map(|h| h.to_ascii_lowercase()),
        }
    }

    /// Takes one request from the tenant's bucket (its own rate, else the server's default).
    pub fn tenant(&self, tenant: &Tenant) -> Result<(), Refusal> {
        let rate = tenant.rate.unwrap_or(self.default_rate);
        let known = {
            let all = self.tenants.read().unwrap_or_else(PoisonError::into_inner);
            all.get(&tenant.id).filter(|(r, _)| *r == rate).map(|(_, l)| l.clone())
        };
        let limiter = match known {
            Some(l) => l,
            None => {
                let mut all = self.tenants.write().unwrap_or_else(PoisonError::into_inner);
                let entry = all.entry(tenant.id).or_insert_with(|| (rate, Arc::new(bucket(rate))));
                if entry.0 != rate {
                    *entry = (rate, Arc::new(bucket(rate)));
                }
                entry.1.clone()
            }
        };
        limiter.check().map_err(|not_until| Refusal::TenantRate {
            retry_after: ceil_secs(not_until.wait_time_from(DefaultClock::default().now())),
            rate,
        })
    }

    /// The address a request came from: the configured proxy header's last entry (what
    /// the nearest proxy saw), else the TCP peer.
    fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        if let Some(name) = &self.client_ip_header
            && let Some(ip) = headers
                .get_all(name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .next_back()
        {
            return Some(ip);
        }
        peer.map(|p| p.ip())
    }

    fn blocked(&self, caller: &Caller, now: Instant) -> Option<Refusal> {
        let mut blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
        let refusal = match blocked.get(caller) {
            Some(until) if *until > now => Some(Refusal::AuthFailures {
                retry_after: ceil_secs(*until - now),
            }),
            Some(_) => {
                blocked.remove(caller);
                None
            }
            None => None,
        };
        self.blocked_count.store(blocked.len(), Ordering::Relaxed);
        refusal
    }

    /// Counts a failed authentication; past the limit the address is refused until its
    /// bucket has room again.
    fn failed(&self, caller: Caller, now: Instant) {
        if self.failures.len() > MAX_TRACKED_ADDRESSES {
            self.failures.retain_recent();
        }
        if let Err(not_until) = self.failures.check_key(&caller) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut blocked = self.blocked.lock().unwrap_or_else(PoisonError::into_inner);
            if blocked.len() > MAX_TRACKED_ADDRESSES {
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(caller, now + wait);
            self.blocked_count.store(blocked.len(), Ordering::Relaxed);
        }
    }
}

fn bucket(rate: TenantRate) -> DefaultDirectRateLimiter {
    let per_second = NonZeroU32::new(rate.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst))
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Around every API route: sheds load beyond `max_in_flight`, refuses addresses that failed
/// authentication too often, and counts each 401 against its address.
pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let guards = &state.guards;
    let api = Api::of(req.uri().path());
    let Ok(_permit) = guards.in_flight.clone().try_acquire_owned() else {
        let refusal = Refusal::Overloaded {
            retry_after: 1,
            max_in_flight: guards.max_in_flight,
        };
        return refuse(api, refusal);
    };
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = guards.client(req.headers(), peer);
    let now = Instant::now();
    // The caller's key is built only when some caller is blocked, or after a 401.
    let caller = |req_path: &str| ip.map(|ip| (ip, api.realm(req_path)));
    if guards.blocked_count.load(Ordering::Relaxed) > 0
        && let Some(refusal) = caller(req.uri().path()).and_then(|c| guards.blocked(&c, now))
    {
        return refuse(api, refusal);
    }
    let uri = req.uri().clone(); // shares the request's bytes: no copy
    let resp = next.run(req).await;
    if resp.status() == StatusCode::UNAUTHORIZED
        && let Some(c) = caller(uri.path())
    {
        guards.failed(c, now);
    }
    resp
}

/// Which API a path belongs to: each answers a refusal in its own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Scim,
    Admin,
    OAuth,
}

impl Api {
    fn of(path: &str) -> Api {
        if path.starts_with("/admin/") {
            Api::Admin
        } else if path.starts_with("/oauth/") {
            Api::OAuth
        } else {
            Api::Scim
        }
    }

    /// What a request authenticates against: a SCIM path's tenant, else the API itself.
    fn realm(self, path: &str) -> String {
        match self {
            Api::Scim => {
                let rest = path.strip_prefix("/scim/v2/").unwrap_or(path);
                format!("scim:{}", rest.split('/').next().unwrap_or_default())
            }
            Api::Admin => "admin".into(),
            Api::OAuth => "oauth".into(),
        }
    }
}

/// Around the admin API and the token endpoint: reads the body within `body_timeout` and
/// `max_body_bytes` (the SCIM routes do the same in `request.rs`, with Bulk's own limit), so
/// a slow or huge body holds nothing for long.
pub(crate) async fn bounded_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limits = &state.config.limits;
    let api = Api::of(req.uri().path());
    let (parts, body) = req.into_parts();
    match read_body(body, limits.max_body_bytes, limits.body_timeout).await {
        Ok(bytes) => next.run(Request::from_parts(parts, bytes.into())).await,
        Err(refusal) => {
            let slow = matches!(refusal, Refusal::SlowBody { .. });
            let mut resp = refuse(api, refusal);
            if slow {
                resp.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    axum::http::HeaderValue::from_static("close"),
                );
            }
            resp
        }
    }
}

/// A whole request body of at most `limit` bytes, arrived within `wait`: every API reads its
/// bodies through this.
pub(crate) async fn read_body(body: axum::body::Body, limit: usize, wait: Duration) -> Result<bytes::Bytes, Refusal> {
    match tokio::time::timeout(wait, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(Refusal::LargeBody { limit }),
        Err(_) => Err(Refusal::SlowBody {
            timeout_ms: wait.as_millis(),
        }),
    }
}

/// The refusal in the shape of the API it concerns.
fn refuse(api: Api, refusal: Refusal) -> Response {
    match api {
        Api::Admin => crate::admin::AdminError::from(refusal).into_response(),
        Api::OAuth => crate::oauth::OAuthError::from(refusal).into_response(),
        Api::Scim => crate::ApiError::from(refusal).into_response(),
    }
}
