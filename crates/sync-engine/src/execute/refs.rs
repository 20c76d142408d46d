//! The reference pass: manager references and group memberships, resolved from source ids
//! to target ids once every object exists.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::StreamExt;
use scim_client::Endpoint;
use scim_proto::PatchOperation;
use serde_json::{Value as Json, json};

use super::matching::RunCtx;
use super::{ENTERPRISE_MANAGER, Executor, Outcome, Status, step, target_error};
use crate::error::EngineError;
use crate::mapping::Modified;
use crate::model::ObjectKind;
use crate::plan::Key;

/// Members per `add` operation, and operations per PATCH request: 1,000 members a request,
/// so the requests in flight hold a few megabytes however large the groups.
const MEMBERS_PER_OP: usize = 100;
const OPS_PER_REQUEST: usize = 10;
/// Membership changes of more members than this are windowed: their members' target ids
/// are looked up a request at a time (through the session's resolver), and the session does
/// not keep target ids for them.
pub const WINDOWED_MEMBERS: usize = 1_000;

pub fn windowed(a: &crate::plan::Action) -> bool {
    matches!(&a.op, crate::plan::Op::Members { add, remove } if add.len() + remove.len() > WINDOWED_MEMBERS)
}

/// Membership requests of one group in flight at once (and of all groups together at most
/// the job's concurrency).
const MEMBER_REQUESTS_IN_FLIGHT: usize = 8;

impl Executor {
    pub(super) async fn manager(&self, out: &mut Outcome, manager: Option<&str>, links: &Mutex<HashMap<Key, String>>) {
        out.reference = true;
        let Some(id) = self.resolve_self(out, links) else {
            return;
        };
        let ops = match manager {
            Some(m) => {
                let target = links
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
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
                .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    /// Takes the member lists by value: the outcome keeps them as the rows to write, so a
    /// large group's members are never copied.
    pub(super) async fn members(&self, out: &mut Outcome, mut add: Vec<String>, remove: Vec<String>, ctx: &RunCtx) {
        out.reference = true;
        let Some(gid) = self.resolve_self(out, &ctx.links) else {
            return;
        };
        // One request at a time is built: its members' target ids are looked up (in the
        // session, else through the resolver) just before it goes, so a group of a million
        // members holds only the requests in flight. Member changes commute, so a few run
        // at once (the target commits them together).
        let (add_requests, remove_requests) = (
            add.len().div_ceil(MEMBERS_PER_OP * OPS_PER_REQUEST),
            remove.len().div_ceil(OPS_PER_REQUEST),
        );
        let (gid, add_list, remove_list) = (&gid, &add, &remove);
        let requests = (0..add_requests + remove_requests).map(|r| async move {
            let Ok(_permit) = ctx.member_requests.acquire().await else {
                return (Err(EngineError::State("the session ended".into())), 0, 0);
            };
            let (ids, adding) = if r < add_requests {
                let per = MEMBERS_PER_OP * OPS_PER_REQUEST;
                (&add_list[r * per..((r + 1) * per).min(add_list.len())], true)
            } else {
                let r = r - add_requests;
                (
                    &remove_list[r * OPS_PER_REQUEST..((r + 1) * OPS_PER_REQUEST).min(remove_list.len())],
                    false,
                )
            };
            let found = match targets_of(ctx, ids).await {
                Ok(f) => f,
                Err(e) => return (Err(e), 0, 0),
            };
            let ops = member_ops(&found, adding);
            if ops.is_empty() {
                return (Ok(Part { found, adding }), 0, 0);
            }
            let call = self.retry(|| self.client.patch(Endpoint::Groups, gid, &ops)).await;
            let part = call.result.map(|_| Part { found, adding }).map_err(target_error);
            (part, call.requests, call.throttled)
        });
        let mut calls = futures_util::stream::iter(requests).buffer_unordered(MEMBER_REQUESTS_IN_FLIGHT);
        let (mut added, mut removed, mut missing) = (0usize, 0usize, Vec::new());
        while let Some((sent, requests, throttled)) = calls.next().await {
            out.requests += requests;
            out.throttled += throttled;
            let part = match sent {
                Ok(part) => part,
                Err(e) => return out.fail(e),
            };
            for (s, t) in part.found {
                match (part.adding, t.is_some()) {
                    (true, true) => added += 1,
                    (true, false) => missing.push(s),
                    (false, found) => removed += usize::from(found),
                }
            }
        }
        drop(calls);
        out.modified.push(Modified {
            name: "members".into(),
            old: None,
            new: Some(format!("+{added} -{removed}")),
        });
        // What is on the target now. Members not provisioned yet stay out of the
        // remembered set, so the next cycle adds them once they exist; removed ones (found
        // or long gone) are forgotten.
        if !missing.is_empty() {
            let left_out: std::collections::HashSet<&String> = missing.iter().collect();
            add.retain(|m| !left_out.contains(m));
        }
        out.members_added = add;
        out.members_removed = remove;
        if missing.is_empty() {
            out.steps.push(step("Provision", Status::Success, "membership updated"));
        } else {
            out.status = Status::Warning;
            let shown: Vec<&str> = missing.iter().take(MISSING_SHOWN).map(String::as_str).collect();
            out.steps.push(step(
                "Provision",
                Status::Warning,
                format!(
                    "{} member(s) not provisioned yet: {}{}",
                    missing.len(),
                    shown.join(", "),
                    if missing.len() > MISSING_SHOWN { ", …" } else { "" }
                ),
            ));
        }
    }
}

/// Members named in a warning, at most.
const MISSING_SHOWN: usize = 20;

/// One membership request's members: each source id with its target id (`None`: not
/// provisioned).
struct Part {
    found: Vec<(String, Option<String>)>,
    adding: bool,
}

/// The target ids of members (users, else groups), from the session or the resolver.
async fn targets_of(ctx: &RunCtx, ids: &[String]) -> Result<Vec<(String, Option<String>)>, EngineError> {
    let lookup = |l: &HashMap<Key, String>, sid: &String| {
        l.get(&(ObjectKind::User, sid.clone()))
            .or_else(|| l.get(&(ObjectKind::Group, sid.clone())))
            .cloned()
    };
    let mut found: Vec<(String, Option<String>)> = {
        let l = ctx.links.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ids.iter().map(|s| (s.clone(), lookup(&l, s))).collect()
    };
    let unknown: Vec<String> = found
        .iter()
        .filter(|(_, t)| t.is_none())
        .map(|(s, _)| s.clone())
        .collect();
    if let (false, Some(resolver)) = (unknown.is_empty(), ctx.resolver.get()) {
        let more = resolver.targets(&unknown).await?;
        for (s, t) in found.iter_mut().filter(|(_, t)| t.is_none()) {
            *t = lookup(&more, s);
        }
    }
    Ok(found)
}

/// A request's operations: one `add` of the found members, or one `remove` each.
fn member_ops(found: &[(String, Option<String>)], adding: bool) -> Vec<PatchOperation> {
    let targets = found.iter().filter_map(|(_, t)| t.as_ref());
    if adding {
        let values: Vec<Json> = targets.map(|t| json!({"value": t})).collect();
        values
            .chunks(MEMBERS_PER_OP)
            .map(|c| PatchOperation {
                op: "add".into(),
                path: Some("members".into()),
                value: Some(Json::Array(c.to_vec())),
            })
            .collect()
    } else {
        targets
            .map(|t| PatchOperation {
                op: "remove".into(),
                path: Some(format!("members[value eq {}]", Json::String(t.clone()))),
                value: None,
            })
            .collect()
    }
}

/// Looks up target ids the session does not know: the state store, read a request's
/// members at a time.
#[async_trait::async_trait]
pub trait Resolve: Send + Sync {
    /// Target ids of these source ids, as users and as groups (either may be missing).
    async fn targets(&self, ids: &[String]) -> Result<HashMap<Key, String>, EngineError>;
}
