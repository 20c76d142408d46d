//! The effectful step: applies a plan's actions to a SCIM target with bounded concurrency.
//!
//! - `429` waits for `Retry-After` (or a back-off) and tries again; it is never counted as a
//!   failure unless throttling outlasts `max_throttle_wait`.
//! - Transient errors (5xx, timeouts, connection errors) are retried with exponential
//!   back-off; what still fails is escrowed for later cycles.
//! - A create matches before it posts, and matches again before every retry, so a POST
//!   whose response was lost never makes a duplicate.
//! - References (manager, group members) run in a second pass, after every object exists.
//! - Many creates that the target snapshot shows need a POST go as SCIM Bulk requests when
//!   the target advertises Bulk (`bulk.rs`); what fails there takes the single path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scim_client::{ClientError, Endpoint, ScimClient};
use scim_proto::PatchOperation;
use serde_json::Value as Json;
use tokio::sync::Semaphore;

use crate::config::BulkMode;
use crate::error::EngineError;
use crate::mapping::{self, Modified};
use crate::model::ObjectKind;
use crate::plan::{Action, Key, Op};

mod bulk;
mod exec_config;
mod matching;
mod refs;
mod session;
mod unique;

pub use bulk::{BULK_MAX_OPERATIONS, BULK_MIN_CREATES};
use exec_config::permit;
pub use exec_config::{DEFAULT_CHUNK, ExecConfig};
use matching::{CreateReq, RunCtx};
pub use matching::{SNAPSHOT_MIN_CREATES, path_values};
pub use refs::{Resolve, WINDOWED_MEMBERS, windowed};
pub use session::Session;
pub use unique::eq_filter;

pub const ENTERPRISE_MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Success,
    Failure,
    Skipped,
    Warning,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "Success",
            Status::Failure => "Failure",
            Status::Skipped => "Skipped",
            Status::Warning => "Warning",
        }
    }
}

/// A step in an object's trace (Import → Scope → Match → Action).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub name: String,
    pub status: String,
    pub detail: String,
}

pub fn step(name: &str, status: Status, detail: impl Into<String>) -> Step {
    Step {
        name: name.to_string(),
        status: status.as_str().to_string(),
        detail: detail.into(),
    }
}

/// What happened to one action.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub kind: ObjectKind,
    pub source_id: String,
    pub display: String,
    /// The log's action name (a Create that matched becomes an Update).
    pub logged_action: String,
    pub status: Status,
    pub target_id: Option<String>,
    /// The attribute values now on the target, when the action pushed values.
    pub values: Option<mapping::Values>,
    /// The manager reference as now set (`Some(None)` = cleared), for manager actions.
    pub manager: Option<Option<String>>,
    /// Members (source ids) added and removed on the target.
    pub members_added: Vec<String>,
    pub members_removed: Vec<String>,
    /// Whether the engine now considers the target disabled.
    pub disabled: Option<bool>,
    /// The target object is gone (deleted): drop the link.
    pub unlink: bool,
    pub modified: Vec<Modified>,
    pub steps: Vec<Step>,
    pub error: Option<EngineError>,
    /// A failed manager/member reference (does not count toward the escrow proportion).
    pub reference: bool,
    pub throttled: u32,
    pub requests: u32,
    /// Time spent on the action (requests, retries, waits; a Bulk request's whole time).
    pub duration_ms: u64,
}

/// An action for the single-request path, with what an earlier Bulk attempt left.
struct Task {
    action: Action,
    carry: Option<Carry>,
}

/// What a create that failed in a Bulk request brings to its single retry: its steps so far,
/// the Bulk request's count and throttling (on one of its objects), and the time already
/// waited on 429s. A carried create is looked up live before anything else.
#[derive(Debug, Default)]
struct Carry {
    steps: Vec<Step>,
    requests: u32,
    throttled: u32,
    waited: Duration,
}

impl From<Action> for Task {
    fn from(action: Action) -> Task {
        Task { action, carry: None }
    }
}

impl Outcome {
    pub fn new(action: &Action) -> Outcome {
        Outcome {
            kind: action.kind,
            source_id: action.source_id.clone(),
            display: action.display.clone(),
            logged_action: action.name().to_string(),
            status: Status::Success,
            target_id: action.target_id.clone(),
            values: None,
            manager: None,
            members_added: Vec::new(),
            members_removed: Vec::new(),
            disabled: None,
            unlink: false,
            modified: Vec::new(),
            steps: Vec::new(),
            error: None,
            reference: action.is_second_pass(),
            throttled: 0,
            requests: 0,
            duration_ms: 0,
        }
    }

    pub fn action_is_reference(&self) -> bool {
        self.reference
    }

    /// A disable or delete found nothing to act on: the object is gone, so is the link.
    fn already_gone(&mut self) {
        self.unlink = true;
        self.status = Status::Warning;
        self.steps
            .push(step("Provision", Status::Warning, "already gone from the target"));
    }

    fn fail(&mut self, e: EngineError) {
        self.status = Status::Failure;
        self.steps.push(step("Provision", Status::Failure, e.to_string()));
        self.error = Some(e);
    }
}

fn endpoint(kind: ObjectKind) -> Endpoint {
    match kind {
        ObjectKind::User => Endpoint::Users,
        ObjectKind::Group => Endpoint::Groups,
    }
}

pub fn target_error(e: ClientError) -> EngineError {
    match e {
        ClientError::Status {
            status,
            scim_type,
            detail,
            ..
        } => EngineError::Target {
            status,
            scim_type,
            detail,
        },
        ClientError::Timeout => EngineError::Transport("the request timed out".into()),
        ClientError::Transport(m) => EngineError::Transport(m),
        ClientError::Decode(m) => EngineError::Target {
            status: 200,
            scim_type: None,
            detail: format!("unreadable response: {m}"),
        },
        ClientError::Config(m) => EngineError::Config(m),
    }
}

/// Where [`Executor::run_in_chunks`] hands each chunk's outcomes.
#[async_trait::async_trait]
pub trait ChunkSink: Send {
    async fn chunk(&mut self, outcomes: Vec<Outcome>) -> Result<(), EngineError>;

    /// Checked after each chunk: true ends the run there.
    fn stop_requested(&self) -> bool {
        false
    }
}

/// A sink that keeps every outcome.
struct Collect(Vec<Outcome>);

#[async_trait::async_trait]
impl ChunkSink for Collect {
    async fn chunk(&mut self, outcomes: Vec<Outcome>) -> Result<(), EngineError> {
        self.0.extend(outcomes);
        Ok(())
    }
}

/// Progress callbacks for terminals and logs.
pub trait Progress: Send + Sync {
    fn started(&self, _pass: &str, _total: usize) {}
    fn advanced(&self, _done: usize) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

pub struct Executor {
    pub client: ScimClient,
    pub cfg: ExecConfig,
}

/// Outcome of one HTTP call made through the retry policy.
struct Call<T> {
    result: Result<T, ClientError>,
    throttled: u32,
    requests: u32,
}

impl Executor {
    /// Runs `f` until it succeeds, fails permanently, or runs out of tries. 429s wait.
    /// How long to wait after a 429 (its `Retry-After`, or the default), adding it to
    /// `waited`; `None` once the action's throttle budget is spent.
    pub(super) fn throttle_wait(&self, e: &ClientError, waited: &mut Duration) -> Option<Duration> {
        let wait = e.retry_after().unwrap_or(self.cfg.default_retry_after);
        *waited += wait;
        (*waited <= self.cfg.max_throttle_wait).then_some(wait)
    }

    async fn retry<T, F, Fut>(&self, mut f: F) -> Call<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let mut attempts = 0u32;
        let mut throttled = 0u32;
        let mut waited = Duration::ZERO;
        let mut requests = 0u32;
        loop {
            requests += 1;
            match f().await {
                Ok(v) => {
                    return Call {
                        result: Ok(v),
                        throttled,
                        requests,
                    };
                }
                Err(e) if e.status() == Some(429) => {
                    throttled += 1;
                    let Some(wait) = self.throttle_wait(&e, &mut waited) else {
                        return Call {
                            result: Err(e),
                            throttled,
                            requests,
                        };
                    };
                    tokio::time::sleep(wait).await;
                }
                Err(e) if e.is_transient() && attempts + 1 < self.cfg.max_attempts => {
                    attempts += 1;
                    tokio::time::sleep(self.cfg.backoff * 2u32.pow(attempts - 1)).await;
                }
                Err(e) => {
                    return Call {
                        result: Err(e),
                        throttled,
                        requests,
                    };
                }
            }
        }
    }

    /// Runs the first pass (large loads of creates by Bulk when `bulk` allows and the target
    /// advertises it, the rest one request each), then the references, with at most
    /// `concurrency` requests in flight, and returns every outcome. `links` maps source keys
    /// to target ids and is updated as objects are created.
    pub async fn run(
        self: &Arc<Self>,
        actions: Vec<Action>,
        links: HashMap<Key, String>,
        progress: &dyn Progress,
        bulk: BulkMode,
    ) -> Vec<Outcome> {
        let mut all = Collect(Vec::new());
        let n = actions.len().max(1);
        // Collecting cannot fail.
        let _ = self.run_in_chunks(actions, links, progress, bulk, n, &mut all).await;
        all.0
    }

    /// [`Self::run`] in chunks of `chunk` actions: each chunk's outcomes go to `sink` (which
    /// commits them) before the next chunk starts, so a crash loses at most the chunk in
    /// flight. Stops at the first error of the sink; returns false when it stopped early
    /// because the sink asked to.
    pub async fn run_in_chunks(
        self: &Arc<Self>,
        actions: Vec<Action>,
        links: HashMap<Key, String>,
        progress: &dyn Progress,
        bulk: BulkMode,
        chunk: usize,
        sink: &mut dyn ChunkSink,
    ) -> Result<bool, EngineError> {
        let (second, first): (Vec<Action>, Vec<Action>) = actions.into_iter().partition(Action::is_second_pass);
        let session = self.session(bulk);
        session.know(links);
        session.prepare(&first).await;
        let chunk = chunk.max(1);
        progress.started("objects", first.len());
        if !session.objects_in_chunks(first, chunk, progress, sink).await? {
            return Ok(false);
        }
        progress.started("references", second.len());
        let mut second = second.into_iter().peekable();
        while second.peek().is_some() {
            let part: Vec<Action> = second.by_ref().take(chunk).collect();
            sink.chunk(session.references(part, progress).await).await?;
            if sink.stop_requested() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A cycle's executor state across chunks: the target snapshot and Bulk limits (read
    /// once), the target ids known so far, the values SelectUniqueValue handed out.
    pub fn session(self: &Arc<Self>, bulk: BulkMode) -> Session {
        Session {
            exec: self.clone(),
            bulk,
            ctx: Arc::new(RunCtx {
                links: Mutex::new(HashMap::new()),
                managers_set: Mutex::new(HashMap::new()),
                users: Default::default(),
                groups: Default::default(),
                budget: Default::default(),
                bulk_failures: Default::default(),
                reserved: Default::default(),
                resolver: Default::default(),
                member_requests: Semaphore::new(self.cfg.concurrency.max(1)),
            }),
        }
    }

    async fn run_pass(self: &Arc<Self>, actions: Vec<Task>, ctx: Arc<RunCtx>, progress: &dyn Progress) -> Vec<Outcome> {
        let sem = Arc::new(Semaphore::new(self.cfg.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        let total = actions.len();
        let mut results: Vec<Option<Outcome>> = (0..total).map(|_| None).collect();
        for (i, task) in actions.into_iter().enumerate() {
            let permit = permit(&sem).await;
            let me = self.clone();
            let ctx = ctx.clone();
            set.spawn(async move {
                let out = me.apply(task, &ctx).await;
                drop(permit);
                (i, out)
            });
            // Reap finished tasks as we go, so a large plan holds only what is in flight.
            while let Some(joined) = set.try_join_next() {
                if let Ok((i, out)) = joined {
                    progress.advanced(1);
                    results[i] = Some(out);
                }
            }
        }
        while let Some(joined) = set.join_next().await {
            if let Ok((i, out)) = joined {
                progress.advanced(1);
                results[i] = Some(out);
            }
        }
        results.into_iter().flatten().collect()
    }

    async fn apply(&self, task: Task, ctx: &RunCtx) -> Outcome {
        let started = std::time::Instant::now();
        let mut out = self.apply_op(task, ctx).await;
        out.duration_ms += started.elapsed().as_millis() as u64;
        out
    }

    async fn apply_op(&self, task: Task, ctx: &RunCtx) -> Outcome {
        let Task { action, carry } = task;
        let links = &ctx.links;
        let mut out = Outcome::new(&action);
        let live = carry.is_some();
        let carry = carry.unwrap_or_default();
        out.steps = carry.steps;
        out.requests = carry.requests;
        out.throttled = carry.throttled;
        let ep = endpoint(action.kind);
        let action = match action.op {
            Op::Members { add, remove } => {
                self.members(&mut out, add, remove, ctx).await;
                return out;
            }
            _ => action,
        };
        match &action.op {
            Op::Skip { reason } => {
                out.status = Status::Skipped;
                out.steps.push(step("Provision", Status::Skipped, reason.clone()));
            }
            Op::Fail { error, .. } => {
                out.status = Status::Failure;
                out.steps
                    .push(step("Evaluate before sync", Status::Failure, error.to_string()));
                out.error = Some(error.clone());
            }
            Op::Create {
                body,
                mapped,
                matchers,
                create_allowed,
                update_allowed,
            } => {
                let req = CreateReq {
                    ep,
                    body,
                    mapped,
                    matchers,
                    create_allowed: *create_allowed,
                    update_allowed: *update_allowed,
                    live,
                    waited: carry.waited,
                };
                self.create(&mut out, &req, ctx).await;
                if let Some(id) = &out.target_id
                    && out.status == Status::Success
                {
                    links
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert((action.kind, action.source_id.clone()), id.clone());
                }
            }
            Op::Update { ops, modified, pushed } => {
                let id = action.target_id.clone().unwrap_or_default();
                let call = self.retry(|| self.client.patch(ep, &id, ops)).await;
                out.throttled += call.throttled;
                out.requests += call.requests;
                match call.result {
                    Ok(_) => {
                        out.modified = modified.clone();
                        out.values = Some(pushed.values.clone());
                        out.disabled = Some(false);
                        out.steps.push(step(
                            "Provision",
                            Status::Success,
                            format!("updated {} attribute(s)", ops.len()),
                        ));
                    }
                    Err(e) if e.status() == Some(404) => {
                        // Deleted on the target behind our back: forget the link so the
                        // next cycle re-matches or re-creates it.
                        out.unlink = true;
                        out.fail(target_error(e));
                    }
                    Err(e) => out.fail(target_error(e)),
                }
            }
            Op::Disable { reason } => {
                let id = action.target_id.clone().unwrap_or_default();
                let ops = [PatchOperation {
                    op: "replace".into(),
                    path: Some("active".into()),
                    value: Some(Json::Bool(false)),
                }];
                let call = self.retry(|| self.client.patch(ep, &id, &ops)).await;
                out.throttled += call.throttled;
                out.requests += call.requests;
                match call.result {
                    Ok(_) => {
                        out.disabled = Some(true);
                        out.modified.push(Modified {
                            name: "active".into(),
                            old: Some("true".into()),
                            new: Some("false".into()),
                        });
                        out.steps
                            .push(step("Provision", Status::Success, format!("disabled: {reason}")));
                    }
                    Err(e) if e.status() == Some(404) => out.already_gone(),
                    Err(e) => out.fail(target_error(e)),
                }
            }
            Op::Delete { reason } => {
                let id = action.target_id.clone().unwrap_or_default();
                let call = self.retry(|| self.client.delete(ep, &id)).await;
                out.throttled += call.throttled;
                out.requests += call.requests;
                match call.result {
                    Ok(()) => {
                        out.unlink = true;
                        out.steps
                            .push(step("Provision", Status::Success, format!("deleted: {reason}")));
                    }
                    Err(e) if e.status() == Some(404) => out.already_gone(),
                    Err(e) => out.fail(target_error(e)),
                }
            }
            Op::Manager { manager } => {
                let key = (action.kind, action.source_id.clone());
                let preset = ctx
                    .managers_set
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .get(&key)
                    .cloned();
                if preset.is_some() && preset.as_deref() == manager.as_deref() {
                    out.reference = true;
                    out.target_id = links
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .get(&key)
                        .cloned();
                    out.manager = Some(preset);
                    out.steps
                        .push(step("Provision", Status::Success, "manager set in the create request"));
                } else {
                    self.manager(&mut out, manager.as_deref(), links).await
                }
            }
            // Taken by value above.
            Op::Members { .. } => {}
        }
        out
    }
}
