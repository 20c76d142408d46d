//! The per-tenant request log, off the request path. A SCIM request leaves a note on a
//! bounded channel (a refcounted copy of its body, no parsing); a background task redacts
//! and batches the notes into the store, and keeps each tenant's log within its count and
//! age. When the channel is full, notes are dropped and counted: the log never slows
//! requests down.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::header;
use axum::response::Response;
use scim_core::Timestamp;
use scim_core::ports::{RequestEntry, Store, TenantId};
use tokio::sync::mpsc;

/// The request log's limits, explicit and configurable.
#[derive(Debug, Clone)]
pub struct RequestLogConfig {
    pub enabled: bool,
    /// Entries kept per tenant (the newest).
    pub keep: usize,
    /// Entries older than this are removed.
    pub max_age: Duration,
    /// Attributes whose values are masked (lower-case names; `password` always is).
    pub mask: Vec<String>,
    /// Bytes of each body kept.
    pub excerpt_bytes: usize,
    /// Which requests keep an excerpt of their body.
    pub bodies: Bodies,
}

/// Which requests the log keeps a body excerpt of. The default is the failed ones: the body
/// of a failed request exists nowhere else, while the result of every successful write is
/// in the change feed, so keeping those bodies too doubles what is stored for each write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bodies {
    /// Every request's.
    All,
    /// Those answered with a status of 400 or more.
    #[default]
    Failed,
    /// None.
    Off,
}

impl Bodies {
    pub fn parse(s: &str) -> Option<Bodies> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Some(Bodies::All),
            "failed" => Some(Bodies::Failed),
            "off" | "none" => Some(Bodies::Off),
            _ => None,
        }
    }

    fn keeps(self, status: u16) -> bool {
        match self {
            Bodies::All => true,
            Bodies::Failed => status >= 400,
            Bodies::Off => false,
        }
    }
}

impl Default for RequestLogConfig {
    fn default() -> Self {
        RequestLogConfig {
            enabled: true,
            keep: 10_000,
            max_age: Duration::from_secs(7 * 86_400),
            mask: scim_core::redact::ALWAYS_MASKED.iter().map(|s| s.to_string()).collect(),
            excerpt_bytes: 4096,
            bodies: Bodies::default(),
        }
    }
}

/// Notes waiting for the writer before new ones are dropped.
const QUEUE: usize = 20_000;
/// Entries per store write, and how long the writer waits to fill a batch.
const BATCH: usize = 500;
const BATCH_WAIT: Duration = Duration::from_millis(200);
/// How often tenants that were written to are pruned, and how often every tenant is.
const PRUNE_WRITTEN: Duration = Duration::from_secs(60);
const PRUNE_ALL: Duration = Duration::from_secs(3600);

/// What the request path knows once it has authenticated a request.
pub struct Seen {
    pub tenant: TenantId,
    pub credential: String,
    pub body: Bytes,
}

/// The error a response carries, for the log (set where errors become responses).
#[derive(Clone)]
pub struct ErrorNote {
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

enum Who {
    Tenant(TenantId),
    /// Not authenticated: logged only if the tenant in the URL exists.
    Named(String),
}

struct Note {
    who: Who,
    entry: RequestEntry,
    body: Bytes,
}

#[derive(Default)]
pub struct RequestLog {
    tx: Option<mpsc::Sender<Note>>,
    dropped: AtomicU64,
    bodies: Bodies,
}

impl RequestLog {
    /// Starts the writer (inside a Tokio runtime; without one, or when disabled, nothing is
    /// logged).
    pub fn start(store: Arc<dyn Store>, cfg: RequestLogConfig) -> RequestLog {
        if !cfg.enabled || tokio::runtime::Handle::try_current().is_err() {
            return RequestLog::default();
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let bodies = cfg.bodies;
        tokio::spawn(writer(store, cfg, rx));
        RequestLog {
            tx: Some(tx),
            dropped: AtomicU64::new(0),
            bodies,
        }
    }

    fn note(&self, n: Note) {
        let Some(tx) = &self.tx else { return };
        if tx.try_send(n).is_err() {
            let d = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if d.is_power_of_two() {
                tracing::warn!(dropped = d, "request log: the writer is behind; entries dropped");
            }
        }
    }
}

/// The request as the log keeps it. Called once per SCIM request, after its response.
pub fn record(log: &RequestLog, seen: Option<Seen>, method: &str, path: String, resp: &Response, started: Instant) {
    if log.tx.is_none() {
        return;
    }
    let status = resp.status().as_u16();
    let note = resp.extensions().get::<ErrorNote>();
    let (who, credential, body) = match seen {
        Some(s) => (Who::Tenant(s.tenant), Some(s.credential), s.body),
        None => (Who::Named(tenant_in(&path).to_string()), None, Bytes::new()),
    };
    // A copy, so the connection's read buffer is not held while the note waits.
    let body = if log.bodies.keeps(status) {
        Bytes::copy_from_slice(&body)
    } else {
        Bytes::new()
    };
    let entry = RequestEntry {
        tenant: 0,
        at: crate::now(),
        method: method.to_string(),
        resource_id: resource_id(&path, resp),
        path,
        status,
        latency_us: started.elapsed().as_micros() as i64,
        scim_type: note.and_then(|n| n.scim_type).map(str::to_string),
        detail: note.map(|n| n.detail.clone()),
        credential,
        body: None,
    };
    log.note(Note { who, entry, body });
}

fn tenant_in(path: &str) -> &str {
    path.strip_prefix("/scim/v2/")
        .and_then(|p| p.split(['/', '?']).next())
        .unwrap_or_default()
}

/// `/Users/{id}` or `/Groups/{id}` in the path, or the `Location` of a created resource.
fn resource_id(path: &str, resp: &Response) -> Option<String> {
    let bare = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = bare.split('/').filter(|s| !s.is_empty()).collect();
    if let [_, _, _, kind, id] = segs.as_slice()
        && (kind.eq_ignore_ascii_case("users") || kind.eq_ignore_ascii_case("groups"))
    {
        return Some(crate::request::form_decode(id));
    }
    let location = resp.headers().get(header::LOCATION)?.to_str().ok()?;
    location.rsplit('/').next().map(str::to_string)
}

/// Resolves tenant names of unauthenticated requests, remembering the answers.
#[derive(Default)]
struct Names(HashMap<String, Option<TenantId>>);

impl Names {
    async fn resolve(&mut self, store: &Arc<dyn Store>, name: &str) -> Option<TenantId> {
        if let Some(known) = self.0.get(name) {
            return *known;
        }
        if self.0.len() >= 10_000 {
            self.0.clear();
        }
        let id = store.tenant(name).await.ok().flatten().map(|t| t.id);
        self.0.insert(name.to_string(), id);
        id
    }
}

async fn writer(store: Arc<dyn Store>, cfg: RequestLogConfig, mut rx: mpsc::Receiver<Note>) {
    let mut names = Names::default();
    let mut written: HashSet<TenantId> = HashSet::new();
    // The first ticks come one period after start: start-up does no pruning work.
    let start = tokio::time::Instant::now();
    let mut prune_written = tokio::time::interval_at(start + PRUNE_WRITTEN, PRUNE_WRITTEN);
    let mut prune_all = tokio::time::interval_at(start + PRUNE_ALL, PRUNE_ALL);
    loop {
        tokio::select! {
            first = rx.recv() => {
                let Some(first) = first else { return };
                let batch = fill(&mut rx, first).await;
                let entries = prepare(&store, &cfg, &mut names, batch).await;
                written.extend(entries.iter().map(|e| e.tenant));
                append(&store, entries).await;
            }
            _ = prune_written.tick() => {
                let tenants: Vec<TenantId> = written.drain().collect();
                prune(&store, &cfg, tenants).await;
            }
            _ = prune_all.tick() => {
                let tenants = store.tenants().await.map(|all| all.iter().map(|t| t.id).collect()).unwrap_or_default();
                prune(&store, &cfg, tenants).await;
            }
        }
    }
}

/// Waits out the batch window once, then takes whatever has arrived. The writer thus wakes
/// once per batch, not once per request (a wake-up per note cost more than writing it).
async fn fill(rx: &mut mpsc::Receiver<Note>, first: Note) -> Vec<Note> {
    let mut batch = vec![first];
    tokio::time::sleep(BATCH_WAIT).await;
    while batch.len() < QUEUE {
        match rx.try_recv() {
            Ok(n) => batch.push(n),
            Err(_) => break,
        }
    }
    batch
}

/// Writes the entries [`BATCH`] at a time, so one store job never holds the writer long.
async fn append(store: &Arc<dyn Store>, mut entries: Vec<RequestEntry>) {
    while !entries.is_empty() {
        let rest = entries.split_off(entries.len().min(BATCH));
        if let Err(e) = store.append_requests(entries).await {
            tracing::warn!(error = %e, "request log: a batch could not be written");
        }
        entries = rest;
    }
}

async fn prepare(
    store: &Arc<dyn Store>,
    cfg: &RequestLogConfig,
    names: &mut Names,
    batch: Vec<Note>,
) -> Vec<RequestEntry> {
    let mut out = Vec::with_capacity(batch.len());
    for Note { who, mut entry, body } in batch {
        entry.tenant = match who {
            Who::Tenant(t) => t,
            Who::Named(name) => match names.resolve(store, &name).await {
                Some(t) => t,
                None => continue,
            },
        };
        entry.body = scim_core::redact::excerpt(&body, &cfg.mask, cfg.excerpt_bytes);
        out.push(entry);
    }
    out
}

async fn prune(store: &Arc<dyn Store>, cfg: &RequestLogConfig, tenants: Vec<TenantId>) {
    let before = Timestamp::new(crate::now().datetime() - cfg.max_age);
    for t in tenants {
        if let Err(e) = store.prune_requests(t, cfg.keep, before).await {
            tracing::warn!(tenant = t, error = %e, "request log: pruning failed; trying again later");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Bodies;

    #[test]
    fn body_policies_parse_and_decide_by_status() {
        assert_eq!(Bodies::parse("Failed"), Some(Bodies::Failed));
        assert_eq!(Bodies::parse(" all "), Some(Bodies::All));
        assert_eq!(Bodies::parse("none"), Some(Bodies::Off));
        assert_eq!(Bodies::parse("some"), None);
        assert!(!Bodies::Failed.keeps(201) && Bodies::Failed.keeps(400) && Bodies::Failed.keeps(503));
        assert!(Bodies::All.keeps(200) && !Bodies::Off.keeps(500));
    }
}
