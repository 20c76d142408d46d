//! A fake Microsoft Graph tenant over real HTTP, for the Graph source's tests and benchmark.
//!
//! It speaks the documented shapes: the v2.0 token endpoint (client credentials, `scope`
//! `https://graph.microsoft.com/.default`, Basic or form client authentication), delta
//! rounds on `/users/delta` and `/groups/delta` (`$select`, `$expand=members`, `Prefer:
//! odata.maxpagesize`, `@odata.nextLink` with a `$skiptoken`, a final `@odata.deltaLink`
//! with a `$deltatoken`, `@removed` with `changed` or `deleted`, `members@delta`, a large
//! group split over several entries), `/groups/{id}/members`, `/users/{id}`,
//! `/servicePrincipals/{id}` with `appRoles`, `/servicePrincipals/{id}/appRoleAssignedTo`
//! and `/directory/deletedItems/microsoft.graph.user`, each paged with `$top`.
//!
//! It checks what a real tenant would refuse: a missing, unknown or expired bearer token
//! (401), query parameters added to a `nextLink` or `deltaLink` (400), an unknown path
//! (404). Every request is recorded; [`FakeGraph::throttle`] answers 429 or 503 with
//! `Retry-After` to the next matching requests.

mod directory;
mod serve;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

pub use directory::{Assignment, DEFAULT_ACCESS_ID, Directory, Removed, Role};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: String,
    pub path: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    pub prefer: Option<String>,
    pub status: u16,
}

impl GraphRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Answers `status` with `Retry-After: retry_after` to the next `times` requests whose path
/// contains `path_contains`.
#[derive(Debug, Clone)]
struct Throttle {
    path_contains: String,
    times: usize,
    status: u16,
    retry_after: u64,
}

/// A delta round in progress (or, once finished, the state its delta token stands for).
#[derive(Debug, Clone)]
struct Session {
    kind: &'static str,
    select: Vec<String>,
    expand_members: bool,
    at: u64,
    /// `(id, chunk)`: a group with many members is sent as several entries.
    entries: Vec<(String, usize)>,
    /// Each group's `members@delta` for this round, worked out once when it starts.
    members: std::collections::HashMap<String, Vec<serde_json::Value>>,
}

struct Shared {
    dir: Mutex<Directory>,
    sessions: Mutex<Vec<Arc<Session>>>,
    tokens: Mutex<HashMap<String, Instant>>,
    token_lifetime: AtomicU64,
    issued: AtomicU64,
    /// Members per `members@delta` entry before a group is split over another entry.
    member_chunk: AtomicUsize,
    requests: Mutex<Vec<GraphRequest>>,
    throttles: Mutex<Vec<Throttle>>,
    /// Delta tokens answer 410 Gone (`resyncRequired`), as after Graph's token lifetime.
    tokens_gone: std::sync::atomic::AtomicBool,
    tenant_id: String,
    client_id: String,
    client_secret: String,
    sp_id: String,
    graph_url: String,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fake tenant. Dropping it stops the server.
pub struct FakeGraph {
    /// `login_url`: the token endpoint is `{login_url}/{tenant_id}/oauth2/v2.0/token`.
    pub login_url: String,
    /// `graph_url`: `{login_url}/v1.0`.
    pub graph_url: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// The enterprise application's object id.
    pub service_principal_id: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeGraph {
    /// Starts an empty tenant whose application has the roles `roles` (`(value, name)`).
    pub async fn start(roles: &[(&str, &str)]) -> FakeGraph {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let login_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let graph_url = format!("{login_url}/v1.0");
        let dir = Directory {
            roles: roles
                .iter()
                .enumerate()
                .map(|(i, (value, name))| Role {
                    id: format!("{:08x}-0000-4000-8000-{:012x}", i + 1, i + 1),
                    value: value.to_string(),
                    display_name: name.to_string(),
                })
                .collect(),
            ..Directory::default()
        };
        let shared = Arc::new(Shared {
            dir: Mutex::new(dir),
            sessions: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            token_lifetime: AtomicU64::new(3600),
            issued: AtomicU64::new(0),
            member_chunk: AtomicUsize::new(20),
            requests: Mutex::new(Vec::new()),
            throttles: Mutex::new(Vec::new()),
            tokens_gone: Default::default(),
            tenant_id: "8f0a1c2e-tenant".into(),
            client_id: "scimd-sync-client".into(),
            client_secret: "s3cret~value".into(),
            sp_id: "sp-hoxhunt".into(),
            graph_url: graph_url.clone(),
        });
        let app = axum::Router::new().fallback(serve::handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        FakeGraph {
            login_url,
            graph_url,
            tenant_id: shared.tenant_id.clone(),
            client_id: shared.client_id.clone(),
            client_secret: shared.client_secret.clone(),
            service_principal_id: shared.sp_id.clone(),
            shared,
            server,
        }
    }

    /// Changes the directory.
    pub fn edit<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        f(&mut lock(&self.shared.dir))
    }

    /// Tokens issued from now on live this long (`expires_in`).
    pub fn set_token_lifetime(&self, secs: u64) {
        self.shared
            .token_lifetime
            .store(secs, std::sync::atomic::Ordering::SeqCst);
    }

    /// Members per `members@delta` entry (a larger group is split over several entries).
    pub fn set_member_chunk(&self, n: usize) {
        self.shared
            .member_chunk
            .store(n.max(1), std::sync::atomic::Ordering::SeqCst);
    }

    /// Access tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.shared.issued.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn throttle(&self, path_contains: &str, times: usize, status: u16, retry_after: u64) {
        lock(&self.shared.throttles).push(Throttle {
            path_contains: path_contains.to_string(),
            times,
            status,
            retry_after,
        });
    }

    /// Every delta token issued so far is expired from now on (410 Gone).
    pub fn expire_delta_tokens(&self) {
        self.shared.tokens_gone.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<GraphRequest> {
        lock(&self.shared.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        self.server.abort();
    }
}
