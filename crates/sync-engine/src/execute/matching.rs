//! Matching and creating: the target snapshot read before large initial cycles, the live
//! lookups, create-or-match with retries, and aligning a brown-field match.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use scim_client::Endpoint;
use scim_proto::PatchOperation;
use serde_json::{Map, Value as Json, json};

use super::unique::without_unique;
use super::{Executor, Outcome, Status, Step, endpoint, step, target_error};
use crate::error::EngineError;
use crate::mapping::{self, Modified};
use crate::model::ObjectKind;
use crate::plan::{Action, Key, Op};

/// Fewest creates of one kind for which the executor reads the target once up front
/// instead of looking each object up.
pub const SNAPSHOT_MIN_CREATES: usize = 200;

/// What the target holds, read once before many creates: matching values → target id.
pub(super) struct Snapshot {
    pub(super) by: HashMap<(String, String), String>,
    /// The paths read (matching and `SelectUniqueValue` targets).
    pub(super) paths: HashSet<String>,
}

impl Snapshot {
    /// The first matcher (in precedence order) that names a target object, and its id.
    pub(super) fn lookup<'m>(&self, matchers: &'m [(String, String)]) -> Option<(&'m (String, String), &String)> {
        matchers
            .iter()
            .find_map(|m| self.by.get(&(m.0.clone(), m.1.to_lowercase())).map(|id| (m, id)))
    }
}

/// The Match step of a create the snapshot found nothing for.
pub(super) fn snapshot_miss() -> Step {
    step(
        "Match",
        Status::Success,
        "no matching target object (target snapshot read at the start of the cycle)",
    )
}

/// A create as the executor runs it.
pub(super) struct CreateReq<'a> {
    pub(super) ep: Endpoint,
    pub(super) body: &'a Json,
    pub(super) mapped: &'a mapping::Mapped,
    pub(super) matchers: &'a [(String, String)],
    pub(super) create_allowed: bool,
    pub(super) update_allowed: bool,
    /// Look the object up live from the first try, not in the snapshot (a create that
    /// already went out in a Bulk request that failed).
    pub(super) live: bool,
    /// Time already spent waiting on 429s for this object (in a Bulk request).
    pub(super) waited: Duration,
}

/// Per-run state shared by the actions of one run.
pub(super) struct RunCtx {
    pub(super) links: Mutex<HashMap<Key, String>>,
    /// Users whose manager was set in their create request.
    pub(super) managers_set: Mutex<HashMap<Key, String>>,
    /// Read once per cycle, at the first chunk with many creates of the kind.
    pub(super) users: std::sync::OnceLock<Snapshot>,
    pub(super) groups: std::sync::OnceLock<Snapshot>,
    /// The target's Bulk limits, read once per cycle.
    pub(super) budget: tokio::sync::OnceCell<Option<super::bulk::Budget>>,
    /// Bulk requests that failed as a whole in this run (not counting throttling).
    pub(super) bulk_failures: AtomicUsize,
    /// `SelectUniqueValue` values (path, lower-cased value) handed out or found taken in
    /// this run, so two creates running at once never pick the same one.
    pub(super) reserved: Mutex<HashSet<(String, String)>>,
    /// Where members the session does not know are looked up.
    pub(super) resolver: std::sync::OnceLock<std::sync::Arc<dyn super::refs::Resolve>>,
    /// Membership requests in flight across all groups (the job's concurrency): several
    /// large groups running together hold only this many requests' member lists.
    pub(super) member_requests: tokio::sync::Semaphore,
}

impl RunCtx {
    pub(super) fn snapshot(&self, ep: Endpoint) -> Option<&Snapshot> {
        match ep {
            Endpoint::Users => self.users.get(),
            Endpoint::Groups => self.groups.get(),
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

/// The `attributes` a snapshot asks for: the top-level attributes of the matching (and
/// SelectUniqueValue) paths, so the target sends `id` and those only, not whole documents.
fn snapshot_attributes(paths: &[&str]) -> String {
    let mut attrs: Vec<String> = paths
        .iter()
        .map(|p| scim_proto::parse_patch_path(p).map_or_else(|_| p.to_string(), |pp| pp.attr.to_string()))
        .collect();
    attrs.sort();
    attrs.dedup();
    attrs.join(",")
}

impl Executor {
    /// Before many creates, reads every target object of the kind once, so creates need no
    /// lookup each. `None` when there are few creates or the read fails (then each create
    /// looks itself up as usual).
    pub(super) async fn snapshot_for(&self, actions: &[Action], kind: ObjectKind) -> Option<Snapshot> {
        let creates: Vec<(&Vec<(String, String)>, &mapping::Mapped)> = actions
            .iter()
            .filter(|a| a.kind == kind)
            .filter_map(|a| match &a.op {
                Op::Create { matchers, mapped, .. } => Some((matchers, mapped)),
                _ => None,
            })
            .collect();
        if creates.len() < SNAPSHOT_MIN_CREATES {
            return None;
        }
        let mut paths: Vec<&str> = creates
            .iter()
            .flat_map(|(m, mapped)| {
                m.iter()
                    .map(|(p, _)| p.as_str())
                    .chain(mapped.unique.keys().map(String::as_str))
            })
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let ep = endpoint(kind);
        let attributes = snapshot_attributes(&paths);
        let mut by = HashMap::new();
        let mut start = 1u64;
        loop {
            let call = self
                .retry(|| self.client.search(ep, None, Some(&attributes), start, 1000))
                .await;
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
                let paths = paths.iter().map(|p| p.to_string()).collect();
                return Some(Snapshot { by, paths });
            }
            start += n;
        }
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
            if let Some(((path, value), id)) = snap.lookup(matchers) {
                out.steps.push(step(
                    "Match",
                    Status::Success,
                    format!("matched target {id} on {path} = {value:?} (target snapshot)"),
                ));
                return Ok(Some(id.clone()));
            }
            out.steps.push(snapshot_miss());
            return Ok(None);
        }
        for (path, value) in matchers {
            let filter = super::unique::eq_filter(path, value);
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

    /// Create-or-match: finds the object (the snapshot answers only a first try), links and
    /// aligns a match, else POSTs; a retry after a lost or refused POST always looks live.
    pub(super) async fn create(&self, out: &mut Outcome, req: &CreateReq<'_>, ctx: &RunCtx) {
        let ep = req.ep;
        let mut attempts = 0u32;
        let mut waited = req.waited;
        let mut first = !req.live;
        // SelectUniqueValue's picks, made once before the first POST: (values, body).
        let mut chosen: Option<(mapping::Mapped, Json)> = None;
        loop {
            // The snapshot answers only the first try; a retry always looks live, so a POST
            // whose response was lost is found instead of repeated.
            let snapshot = if first { ctx.snapshot(ep) } else { None };
            first = false;
            let found = match self.find(out, ep, req.matchers, snapshot).await {
                Ok(f) => f,
                Err(e) => return out.fail(e),
            };
            if let Some(id) = found {
                // A match keeps its own values for SelectUniqueValue targets.
                let mapped = without_unique(req.mapped);
                out.logged_action = "Update".into();
                out.target_id = Some(id.clone());
                out.values = Some(mapped.values.clone());
                out.disabled = Some(false);
                if req.update_allowed {
                    self.align_existing(out, ep, &id, &mapped).await;
                }
                return;
            }
            if !req.create_allowed {
                out.status = Status::Skipped;
                out.steps.push(step(
                    "Provision",
                    Status::Skipped,
                    "no matching target object and the create action is off",
                ));
                return;
            }
            if chosen.is_none() && !req.mapped.unique.is_empty() {
                match self.choose_unique(out, ep, req.mapped, ctx).await {
                    Ok(c) => chosen = Some(c),
                    Err(e) => return out.fail(e),
                }
            }
            let (mapped, base) = match &chosen {
                Some((m, b)) => (m, b),
                None => (req.mapped, req.body),
            };
            // The manager's target id is often known already: send it with the create and save
            // the reference pass a PATCH.
            let manager = mapped.manager.as_ref().and_then(|m| {
                let l = ctx.links.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                l.get(&(ObjectKind::User, m.clone())).map(|t| (m.clone(), t.clone()))
            });
            let with_manager;
            let body = match &manager {
                Some((_, tid)) => {
                    with_manager = with_manager_ref(base, tid);
                    &with_manager
                }
                None => base,
            };
            out.requests += 1;
            match self.client.create(ep, body).await {
                Ok(created) => {
                    let id = created.get("id").and_then(Json::as_str).unwrap_or_default().to_string();
                    if let Some((m, _)) = &manager {
                        ctx.manager_sent(out, m);
                    }
                    return record_created(out, id, mapped, "");
                }
                Err(e) if e.status() == Some(429) => {
                    out.throttled += 1;
                    match self.throttle_wait(&e, &mut waited) {
                        Some(wait) => tokio::time::sleep(wait).await,
                        None => return out.fail(target_error(e)),
                    }
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
}

impl RunCtx {
    /// Remembers that `out`'s create carried its manager, so the reference pass skips it.
    pub(super) fn manager_sent(&self, out: &Outcome, manager: &str) {
        self.managers_set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((out.kind, out.source_id.clone()), manager.to_string());
    }
}

/// A successful create: the target id, the values now there, the log's modified properties.
/// `how` ends the step's detail (e.g. how the create was sent).
pub(super) fn record_created(out: &mut Outcome, id: String, mapped: &mapping::Mapped, how: &str) {
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
        .push(step("Provision", Status::Success, format!("created target {id}{how}")));
    out.target_id = Some(id);
}

/// The create body with the enterprise manager reference set (a target id, or
/// `bulkId:…` for a manager created earlier in the same Bulk request).
pub(super) fn with_manager_ref(body: &Json, manager_target_id: &str) -> Json {
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
