//! The reference pass: manager references and group memberships, resolved from source ids
//! to target ids once every object exists.

use std::collections::HashMap;
use std::sync::Mutex;

use futures_util::StreamExt;
use scim_client::Endpoint;
use scim_proto::PatchOperation;
use serde_json::{Value as Json, json};

use super::{ENTERPRISE_MANAGER, Executor, Outcome, Status, step, target_error};
use crate::mapping::Modified;
use crate::model::ObjectKind;
use crate::plan::Key;

/// Members per `add` operation, and operations per PATCH request: 1,000 members a request,
/// so 16 requests in flight hold a few megabytes however large the groups.
const MEMBERS_PER_OP: usize = 100;
const OPS_PER_REQUEST: usize = 10;
/// Membership requests of one group in flight at once.
const MEMBER_REQUESTS_IN_FLIGHT: usize = 4;

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

    pub(super) async fn members(
        &self,
        out: &mut Outcome,
        add: &[String],
        remove: &[String],
        links: &Mutex<HashMap<Key, String>>,
    ) {
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
        // Requests are built one at a time: a group of 100,000 members would otherwise hold
        // every operation's JSON at once.
        let removed: Vec<String> = remove.to_vec();
        let add_ops = add_ids.len().div_ceil(MEMBERS_PER_OP);
        let total = add_ops + remove_ids.len();
        let (adds, removes, gid) = (&add_ids, &remove_ids, &gid);
        let requests = (0..total).step_by(OPS_PER_REQUEST).map(|at| async move {
            let request: Vec<PatchOperation> = (at..total.min(at + OPS_PER_REQUEST))
                .map(|i| member_op(adds, removes, add_ops, i))
                .collect();
            self.retry(|| self.client.patch(Endpoint::Groups, gid, &request)).await
        });
        // Member changes commute, so a large group's requests run a few at a time (the
        // target commits them together) instead of one round trip after another.
        let mut calls = futures_util::stream::iter(requests).buffer_unordered(MEMBER_REQUESTS_IN_FLIGHT);
        while let Some(call) = calls.next().await {
            out.throttled += call.throttled;
            out.requests += call.requests;
            if let Err(e) = call.result {
                return out.fail(target_error(e));
            }
        }
        drop(calls);
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

/// The `i`-th membership operation of a change: the adds (in batches), then the removes.
fn member_op(adds: &[(String, String)], removes: &[(String, String)], add_ops: usize, i: usize) -> PatchOperation {
    if i < add_ops {
        let c = &adds[i * MEMBERS_PER_OP..((i + 1) * MEMBERS_PER_OP).min(adds.len())];
        PatchOperation {
            op: "add".into(),
            path: Some("members".into()),
            value: Some(Json::Array(c.iter().map(|(_, t)| json!({"value": t})).collect())),
        }
    } else {
        let t = &removes[i - add_ops].1;
        PatchOperation {
            op: "remove".into(),
            path: Some(format!("members[value eq {}]", Json::String(t.clone()))),
            value: None,
        }
    }
}
