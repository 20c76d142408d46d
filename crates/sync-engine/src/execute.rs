//! The effectful step: applies a plan's actions to a SCIM target with bounded concurrency.
//!
//! - `429` waits for `Retry-After` (or a back-off) and tries again; it is never counted as a
//!   failure unless throttling outlasts `max_throttle_wait`.
//! - Transient errors (5xx, timeouts, connection errors) are retried with exponential
//!   back-off; what still fails is escrowed for later cycles.
//! - A create matches before it posts, and matches again before every retry, so a POST
//!   whose response was lost never makes a duplicate.
//! - References (manager, group members) run in a second pass, after every object exists.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scim_client::{ClientError, Endpoint, ScimClient};
use scim_proto::PatchOperation;
use serde_json::{Map, Value as Json, json};
use tokio::sync::Semaphore;

use crate::error::EngineError;
use crate::mapping::{self, Modified};
use crate::model::ObjectKind;
use crate::plan::{Action, Key, Op};

pub const ENTERPRISE_MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

/// Fewest creates of one kind for which the executor reads the target once up front
/// instead of looking each object up.
pub const SNAPSHOT_MIN_CREATES: usize = 200;

/// What the target holds, read once before many creates: matching values → target id.
struct Snapshot {
    by: HashMap<(String, String), String>,
}

/// Per-run state shared by the actions of one run.
struct RunCtx {
    links: Mutex<HashMap<Key, String>>,
    /// Users whose manager was set in their create request.
    managers_set: Mutex<HashMap<Key, String>>,
    users: Option<Snapshot>,
    groups: Option<Snapshot>,
}

impl RunCtx {
    fn snapshot(&self, ep: Endpoint) -> Option<&Snapshot> {
        match ep {
            Endpoint::Users => self.users.as_ref(),
            Endpoint::Groups => self.groups.as_ref(),
        }
    }
}

/// The string values at a SCIM path in a resource (`userName`, `name.givenName`,
/// `emails[type eq "work"].value`, `urn:…:User:employeeNumber`), lower-cased.
pub fn path_values(doc: &Json, path: &str) -> Vec<String> {
    let Ok(pp) = scim_proto::parse_patch_path(path) else {
        return Vec::new();
    };
    let get = |v: &Json, k: &str| -> Option<Json> { scim_core::eval::get_ci(v, k).cloned() };
    let top = match &pp.attr.urn {
        Some(urn)
            if !urn.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:2.0:User")
                && !urn.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:2.0:Group") =>
        {
            get(doc, urn).and_then(|ext| get(&ext, &pp.attr.name))
        }
        _ => get(doc, &pp.attr.name),
    };
    let Some(top) = top else { return Vec::new() };
    let elements: Vec<Json> = match top {
        Json::Array(items) => items,
        other => vec![other],
    };
    let sub = pp.sub.as_deref().or(pp.attr.sub.as_deref());
    let mut out = Vec::new();
    for el in elements {
        if let Some(f) = &pp.filter
            && !scim_core::eval::element_matches(None, f, &el).unwrap_or(false)
        {
            continue;
        }
        let v = match sub {
            Some(s) => get(&el, s),
            None => Some(el),
        };
        match v {
            Some(Json::String(s)) => out.push(s.to_lowercase()),
            Some(Json::Number(n)) => out.push(n.to_string()),
            Some(Json::Bool(b)) => out.push(b.to_string()),
            _ => {}
        }
    }
    out
}

#[derive(Debug, Clone)]
pub struct ExecConfig {
    pub concurrency: usize,
    /// Tries for a transient failure (5xx, timeout) before escrow.
    pub max_attempts: u32,
    /// First back-off; doubles per attempt.
    pub backoff: Duration,
    /// Longest total wait on 429s for one action before it is escrowed.
    pub max_throttle_wait: Duration,
    /// Wait on a 429 without `Retry-After`.
    pub default_retry_after: Duration,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            concurrency: 8,
            max_attempts: 4,
            backoff: Duration::from_millis(250),
            max_throttle_wait: Duration::from_secs(600),
            default_retry_after: Duration::from_secs(1),
        }
    }
}

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
}

impl Outcome {
    fn new(action: &Action) -> Outcome {
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
            reference: false,
            throttled: 0,
            requests: 0,
        }
    }

    pub fn action_is_reference(&self) -> bool {
        self.reference
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
                    let wait = e.retry_after().unwrap_or(self.cfg.default_retry_after);
                    throttled += 1;
                    waited += wait;
                    if waited > self.cfg.max_throttle_wait {
                        return Call {
                            result: Err(e),
                            throttled,
                            requests,
                        };
                    }
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

    /// Runs the first pass, then the references, with at most `concurrency` requests in
    /// flight. `links` maps source keys to target ids and is updated as objects are created.
    pub async fn run(
        self: &Arc<Self>,
        actions: Vec<Action>,
        links: HashMap<Key, String>,
        progress: &dyn Progress,
    ) -> Vec<Outcome> {
        let (second, first): (Vec<Action>, Vec<Action>) = actions.into_iter().partition(Action::is_second_pass);
        let users = self.snapshot_for(&first, ObjectKind::User).await;
        let groups = self.snapshot_for(&first, ObjectKind::Group).await;
        let ctx = Arc::new(RunCtx {
            links: Mutex::new(links),
            managers_set: Mutex::new(HashMap::new()),
            users,
            groups,
        });
        let mut out = self.run_pass("objects", first, ctx.clone(), progress).await;
        out.extend(self.run_pass("references", second, ctx, progress).await);
        out
    }

    /// Before many creates, reads every target object of the kind once, so creates need no
    /// lookup each. `None` when there are few creates or the read fails (then each create
    /// looks itself up as usual).
    async fn snapshot_for(&self, actions: &[Action], kind: ObjectKind) -> Option<Snapshot> {
        let creates: Vec<&Vec<(String, String)>> = actions
            .iter()
            .filter(|a| a.kind == kind)
            .filter_map(|a| match &a.op {
                Op::Create { matchers, .. } => Some(matchers),
                _ => None,
            })
            .collect();
        if creates.len() < SNAPSHOT_MIN_CREATES {
            return None;
        }
        let mut paths: Vec<&str> = creates.iter().flat_map(|m| m.iter().map(|(p, _)| p.as_str())).collect();
        paths.sort_unstable();
        paths.dedup();
        let ep = endpoint(kind);
        let mut by = HashMap::new();
        let mut start = 1u64;
        loop {
            let call = self.retry(|| self.client.search(ep, None, None, start, 1000)).await;
            let page = call.result.ok()?;
            let n = page.resources.len() as u64;
            for r in &page.resources {
                let Some(id) = r.get("id").and_then(Json::as_str) else {
                    continue;
                };
                for p in &paths {
                    for v in path_values(r, p) {
                        by.insert((p.to_string(), v), id.to_string());
                    }
                }
            }
            if n == 0 || start + n > page.total_results {
                return Some(Snapshot { by });
            }
            start += n;
        }
    }

    async fn run_pass(
        self: &Arc<Self>,
        name: &str,
        actions: Vec<Action>,
        ctx: Arc<RunCtx>,
        progress: &dyn Progress,
    ) -> Vec<Outcome> {
        progress.started(name, actions.len());
        let sem = Arc::new(Semaphore::new(self.cfg.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        let total = actions.len();
        let mut results: Vec<Option<Outcome>> = (0..total).map(|_| None).collect();
        for (i, action) in actions.into_iter().enumerate() {
            let permit = sem.clone().acquire_owned().await.expect("semaphore open");
            let me = self.clone();
            let ctx = ctx.clone();
            set.spawn(async move {
                let out = me.apply(action, &ctx).await;
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

    async fn apply(&self, action: Action, ctx: &RunCtx) -> Outcome {
        let links = &ctx.links;
        let mut out = Outcome::new(&action);
        let ep = endpoint(action.kind);
        match &action.op {
            Op::Skip { reason } => {
                out.status = Status::Skipped;
                out.steps.push(step("Provision", Status::Skipped, reason.clone()));
            }
            Op::Create {
                body,
                mapped,
                matchers,
                create_allowed,
                update_allowed,
            } => {
                self.create(
                    &mut out,
                    ep,
                    body,
                    mapped,
                    matchers,
                    *create_allowed,
                    *update_allowed,
                    ctx,
                )
                .await;
                if let Some(id) = &out.target_id
                    && out.status == Status::Success
                {
                    links
                        .lock()
                        .expect("links lock")
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
                    Err(e) if e.status() == Some(404) => {
                        out.unlink = true;
                        out.status = Status::Warning;
                        out.steps
                            .push(step("Provision", Status::Warning, "already gone from the target"));
                    }
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
                    Err(e) if e.status() == Some(404) => {
                        out.unlink = true;
                        out.status = Status::Warning;
                        out.steps
                            .push(step("Provision", Status::Warning, "already gone from the target"));
                    }
                    Err(e) => out.fail(target_error(e)),
                }
            }
            Op::Manager { manager } => {
                let key = (action.kind, action.source_id.clone());
                let preset = ctx.managers_set.lock().expect("lock").get(&key).cloned();
                if preset.is_some() && preset.as_deref() == manager.as_deref() {
                    out.reference = true;
                    out.target_id = links.lock().expect("links lock").get(&key).cloned();
                    out.manager = Some(preset);
                    out.steps
                        .push(step("Provision", Status::Success, "manager set in the create request"));
                } else {
                    self.manager(&mut out, manager.as_deref(), links).await
                }
            }
            Op::Members { add, remove } => self.members(&mut out, add, remove, links).await,
        }
        out
    }

    /// Finds an existing target object by the matching attributes, in precedence order.
    async fn find(
        &self,
        out: &mut Outcome,
        ep: Endpoint,
        matchers: &[(String, String)],
        snapshot: Option<&Snapshot>,
    ) -> Result<Option<String>, EngineError> {
        if let Some(snap) = snapshot {
            for (path, value) in matchers {
                if let Some(id) = snap.by.get(&(path.clone(), value.to_lowercase())) {
                    out.steps.push(step(
                        "Match",
                        Status::Success,
                        format!("matched target {id} on {path} = {value:?} (target snapshot)"),
                    ));
                    return Ok(Some(id.clone()));
                }
            }
            out.steps.push(step(
                "Match",
                Status::Success,
                "no matching target object (target snapshot read at the start of the cycle)",
            ));
            return Ok(None);
        }
        for (path, value) in matchers {
            let filter = format!("{path} eq {}", Json::String(value.clone()));
            let call = self
                .retry(|| self.client.search(ep, Some(&filter), Some("id"), 1, 2))
                .await;
            out.throttled += call.throttled;
            out.requests += call.requests;
            let list = call.result.map_err(target_error)?;
            match list.resources.len() {
                0 => out.steps.push(step(
                    "Match",
                    Status::Success,
                    format!("no target object with {path} = {value:?}"),
                )),
                1 => {
                    let id = list.resources[0]
                        .get("id")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string();
                    out.steps.push(step(
                        "Match",
                        Status::Success,
                        format!("matched target {id} on {path} = {value:?}"),
                    ));
                    return Ok(Some(id));
                }
                n => {
                    return Err(EngineError::Target {
                        status: 409,
                        scim_type: Some("uniqueness".into()),
                        detail: format!("{n} target objects match {path} = {value:?}; cannot choose one"),
                    });
                }
            }
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        out: &mut Outcome,
        ep: Endpoint,
        body: &Json,
        mapped: &mapping::Mapped,
        matchers: &[(String, String)],
        create_allowed: bool,
        update_allowed: bool,
        ctx: &RunCtx,
    ) {
        let mut attempts = 0u32;
        let mut first = true;
        loop {
            // The snapshot answers only the first try; a retry always looks live, so a POST
            // whose response was lost is found instead of repeated.
            let snapshot = if first { ctx.snapshot(ep) } else { None };
            first = false;
            let found = match self.find(out, ep, matchers, snapshot).await {
                Ok(f) => f,
                Err(e) => return out.fail(e),
            };
            if let Some(id) = found {
                out.logged_action = "Update".into();
                out.target_id = Some(id.clone());
                out.values = Some(mapped.values.clone());
                out.disabled = Some(false);
                if update_allowed {
                    self.align_existing(out, ep, &id, mapped).await;
                }
                return;
            }
            if !create_allowed {
                out.status = Status::Skipped;
                out.steps.push(step(
                    "Provision",
                    Status::Skipped,
                    "no matching target object and the create action is off",
                ));
                return;
            }
            // The manager's target id is often known already: send it with the create and save
            // the reference pass a PATCH.
            let manager = mapped.manager.as_ref().and_then(|m| {
                let l = ctx.links.lock().expect("links lock");
                l.get(&(ObjectKind::User, m.clone())).map(|t| (m.clone(), t.clone()))
            });
            let with_manager;
            let body = match &manager {
                Some((_, tid)) => {
                    with_manager = with_manager_ref(body, tid);
                    &with_manager
                }
                None => body,
            };
            out.requests += 1;
            match self.client.create(ep, body).await {
                Ok(created) => {
                    let id = created.get("id").and_then(Json::as_str).unwrap_or_default().to_string();
                    if let Some((m, _)) = &manager {
                        ctx.managers_set
                            .lock()
                            .expect("lock")
                            .insert((out.kind, out.source_id.clone()), m.clone());
                    }
                    out.target_id = Some(id.clone());
                    out.values = Some(mapped.values.clone());
                    out.disabled = Some(false);
                    out.modified = mapped
                        .values
                        .iter()
                        .map(|(k, v)| Modified {
                            name: k.clone(),
                            old: None,
                            new: Some(if mapped.redacted.contains(k) {
                                "[Redact]".into()
                            } else {
                                v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
                            }),
                        })
                        .collect();
                    out.steps
                        .push(step("Provision", Status::Success, format!("created target {id}")));
                    return;
                }
                Err(e) if e.status() == Some(429) => {
                    out.throttled += 1;
                    tokio::time::sleep(e.retry_after().unwrap_or(self.cfg.default_retry_after)).await;
                }
                // Someone created it meanwhile (or a case variant exists): match again.
                Err(e) if e.status() == Some(409) && attempts == 0 => attempts += 1,
                Err(e) if e.is_transient() && attempts + 1 < self.cfg.max_attempts => {
                    attempts += 1;
                    tokio::time::sleep(self.cfg.backoff * 2u32.pow(attempts - 1)).await;
                }
                Err(e) => return out.fail(target_error(e)),
            }
        }
    }

    /// After a brown-field match: read the target and PATCH only what differs.
    async fn align_existing(&self, out: &mut Outcome, ep: Endpoint, id: &str, mapped: &mapping::Mapped) {
        let call = self.retry(|| self.client.get(ep, id, None)).await;
        out.throttled += call.throttled;
        out.requests += call.requests;
        let current = match call.result {
            Ok(Some(doc)) => doc,
            Ok(None) => {
                return out.fail(EngineError::Target {
                    status: 404,
                    scim_type: None,
                    detail: format!("matched target {id} disappeared"),
                });
            }
            Err(e) => return out.fail(target_error(e)),
        };
        let ops = differing_ops(ep, &current, &mapped.values);
        if ops.is_empty() {
            out.steps
                .push(step("Provision", Status::Success, "linked; target already up to date"));
            return;
        }
        let call = self.retry(|| self.client.patch(ep, id, &ops)).await;
        out.throttled += call.throttled;
        out.requests += call.requests;
        match call.result {
            Ok(_) => out.steps.push(step(
                "Provision",
                Status::Success,
                format!("linked and updated {} attribute(s)", ops.len()),
            )),
            Err(e) => out.fail(target_error(e)),
        }
    }

    async fn manager(&self, out: &mut Outcome, manager: Option<&str>, links: &Mutex<HashMap<Key, String>>) {
        out.reference = true;
        let Some(id) = self.resolve_self(out, links) else {
            return;
        };
        let ops = match manager {
            Some(m) => {
                let target = links
                    .lock()
                    .expect("links lock")
                    .get(&(ObjectKind::User, m.to_string()))
                    .cloned();
                let Some(mid) = target else {
                    out.status = Status::Skipped;
                    out.steps.push(step(
                        "Provision",
                        Status::Skipped,
                        format!("manager {m} is not provisioned (out of scope or failed); retried next cycle"),
                    ));
                    return;
                };
                vec![PatchOperation {
                    op: "replace".into(),
                    path: Some(ENTERPRISE_MANAGER.into()),
                    value: Some(json!({"value": mid})),
                }]
            }
            None => vec![PatchOperation {
                op: "remove".into(),
                path: Some(ENTERPRISE_MANAGER.into()),
                value: None,
            }],
        };
        let call = self.retry(|| self.client.patch(Endpoint::Users, &id, &ops)).await;
        out.throttled += call.throttled;
        out.requests += call.requests;
        match call.result {
            Ok(_) => {
                out.manager = Some(manager.map(str::to_string));
                out.modified.push(Modified {
                    name: "manager".into(),
                    old: None,
                    new: manager.map(str::to_string),
                });
                out.steps
                    .push(step("Provision", Status::Success, "manager reference set"));
            }
            Err(e) => out.fail(target_error(e)),
        }
    }

    fn resolve_self(&self, out: &mut Outcome, links: &Mutex<HashMap<Key, String>>) -> Option<String> {
        let id = out.target_id.clone().or_else(|| {
            links
                .lock()
                .expect("links lock")
                .get(&(out.kind, out.source_id.clone()))
                .cloned()
        });
        if id.is_none() {
            out.status = Status::Skipped;
            out.steps.push(step(
                "Provision",
                Status::Skipped,
                "the object itself was not provisioned; retried next cycle",
            ));
        }
        out.target_id = id.clone();
        id
    }

    async fn members(&self, out: &mut Outcome, add: &[String], remove: &[String], links: &Mutex<HashMap<Key, String>>) {
        out.reference = true;
        let Some(gid) = self.resolve_self(out, links) else {
            return;
        };
        let (mut add_ids, mut remove_ids, mut missing) = (Vec::new(), Vec::new(), Vec::new());
        {
            let l = links.lock().expect("links lock");
            let lookup = |sid: &String| {
                l.get(&(ObjectKind::User, sid.clone()))
                    .or_else(|| l.get(&(ObjectKind::Group, sid.clone())))
                    .cloned()
            };
            for s in add {
                match lookup(s) {
                    Some(t) => add_ids.push((s.clone(), t)),
                    None => missing.push(s.clone()),
                }
            }
            for s in remove {
                if let Some(t) = lookup(s) {
                    remove_ids.push((s.clone(), t));
                }
            }
        }
        let mut ops: Vec<PatchOperation> = add_ids
            .chunks(100)
            .map(|c| PatchOperation {
                op: "add".into(),
                path: Some("members".into()),
                value: Some(Json::Array(c.iter().map(|(_, t)| json!({"value": t})).collect())),
            })
            .collect();
        ops.extend(remove_ids.iter().map(|(_, t)| PatchOperation {
            op: "remove".into(),
            path: Some(format!("members[value eq {}]", Json::String(t.clone()))),
            value: None,
        }));
        let removed: Vec<String> = remove.to_vec();
        if !ops.is_empty() {
            for chunk in ops.chunks(50) {
                let call = self.retry(|| self.client.patch(Endpoint::Groups, &gid, chunk)).await;
                out.throttled += call.throttled;
                out.requests += call.requests;
                if let Err(e) = call.result {
                    return out.fail(target_error(e));
                }
            }
        }
        out.modified.push(Modified {
            name: "members".into(),
            old: None,
            new: Some(format!("+{} -{}", add_ids.len(), remove_ids.len())),
        });
        // What is on the target now. Members not provisioned yet stay out of the
        // remembered set, so the next cycle adds them once they exist.
        out.members_added = add_ids.into_iter().map(|(s, _)| s).collect();
        out.members_removed = removed;
        if missing.is_empty() {
            out.steps.push(step("Provision", Status::Success, "membership updated"));
        } else {
            out.status = Status::Warning;
            out.steps.push(step(
                "Provision",
                Status::Warning,
                format!(
                    "{} member(s) not provisioned yet: {}",
                    missing.len(),
                    missing.join(", ")
                ),
            ));
        }
    }
}

/// The create body with the enterprise manager reference set.
fn with_manager_ref(body: &Json, manager_target_id: &str) -> Json {
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let mut b = body.clone();
    if let Some(obj) = b.as_object_mut() {
        let ext = obj.entry(EXT).or_insert_with(|| json!({}));
        if let Some(e) = ext.as_object_mut() {
            e.insert("manager".into(), json!({"value": manager_target_id}));
        }
        if let Some(Json::Array(schemas)) = obj.get_mut("schemas")
            && !schemas.iter().any(|s| s == EXT)
        {
            schemas.push(Json::String(EXT.into()));
        }
    }
    b
}

/// The `replace` operations whose values differ from the target document.
fn differing_ops(ep: Endpoint, current: &Json, values: &mapping::Values) -> Vec<PatchOperation> {
    let kind = match ep {
        Endpoint::Users => scim_core::ResourceKind::User,
        Endpoint::Groups => scim_core::ResourceKind::Group,
    };
    let base: Map<String, Json> = match scim_core::normalize::normalize(kind, current) {
        Ok(n) => n.attrs,
        Err(_) => return values.iter().map(|(p, v)| replace(p, v)).collect(),
    };
    values
        .iter()
        .filter(|(path, v)| {
            let op = replace(path, v);
            match scim_core::patch::apply_patch(kind, base.clone(), std::slice::from_ref(&op)) {
                Ok(after) => after.resource.attrs != base,
                Err(_) => true,
            }
        })
        .map(|(p, v)| replace(p, v))
        .collect()
}

fn replace(path: &str, v: &Json) -> PatchOperation {
    PatchOperation {
        op: "replace".into(),
        path: Some(path.to_string()),
        value: Some(v.clone()),
    }
}
