//! `POST /Bulk` (RFC 7644 §3.7): many writes in one request.
//!
//! Each operation runs through the same [`Writes`] as the single-resource handlers, so the
//! same validation and Entra/Okta tolerances apply, and a failed operation is reported with
//! the same error body (`error::error_body`). Operations are independent: one that fails
//! does not undo or stop the others, unless `failOnErrors` says so.
//!
//! `"bulkId:x"` anywhere in an operation's `path` or `data` (as a whole string value) stands
//! for the id created by the POST operation whose `bulkId` is `x`. Operations run in request
//! order, except that an operation waits until the operations it refers to have run (a
//! reference may point forward, RFC 7644 §3.7.1). A reference that names no operation,
//! names a failed one, or takes part in a cycle fails its operation with 409 `invalidValue`.
//!
//! Ready operations run in waves (`wave.rs`): a run of the same method on different
//! resources of one type starts together, in request order, so that 1,000 creates share
//! the store's group commits instead of waiting for 1,000 commits in turn.
//!
//! The response lists the operations that were performed, in request order. A successful
//! operation carries `location`, `version` and `status` but no `response` body (the RFC lets
//! the server omit it); a failed one carries the error body as `response`.
//!
//! Limits: the whole body is held to `Limits::max_bulk_payload` (`maxPayloadSize`) instead of
//! `max_body_bytes`, so what /ServiceProviderConfig advertises is exactly what is enforced;
//! each operation's `data` is still held to `max_body_bytes` (413 for that operation) and to
//! `max_json_depth`, like a single request's body. More than `max_bulk_operations`
//! operations, or a body over `maxPayloadSize`, is a 413 for the whole request, with nothing
//! performed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use axum::http::StatusCode;
use futures_util::future::join_all;
use scim_core::CoreError;
use scim_core::discovery::BulkLimits;
use scim_core::resource::{StoredResource, location};
use scim_proto::{BULK_RESPONSE, BulkOperationResult, BulkResponse};
use serde_json::Value;

use crate::ApiError;
use crate::Limits;
use crate::error::error_body;
use crate::handlers::{Writes, scim_json};
use crate::request::ScimRequest;

mod parse;
mod wave;

use parse::{Method, Op, Planned, envelope, parse_op};

type HResult = Result<axum::response::Response, crate::ApiError>;

/// What a `bulkId` reference looks like in `path` and `data`.
const REF_PREFIX: &str = "bulkId:";

/// Nesting the Bulk envelope adds above an operation's `data`: the body, `Operations`, the
/// operation. The depth limit is raised by this much so that it applies to each `data`.
const ENVELOPE_DEPTH: usize = 3;

/// The Bulk entry of `/ServiceProviderConfig`: the limits this server enforces.
pub(crate) fn advertised(limits: &Limits) -> BulkLimits {
    BulkLimits {
        max_operations: limits.max_bulk_operations,
        max_payload_size: limits.max_bulk_payload,
    }
}

enum Outcome {
    /// Not run yet.
    Pending,
    /// Succeeded; for a POST, the id it created.
    Done(String),
    /// Failed with this HTTP status.
    Failed(u16),
}

pub(crate) async fn bulk(state: &crate::AppState, r: &ScimRequest, base: &str) -> HResult {
    let limits = &state.config.limits;
    let body = r.json(limits.max_json_depth + ENVELOPE_DEPTH)?;
    let (fail_on_errors, items) = envelope(&body, limits)?;

    let mut defs: HashMap<String, usize> = HashMap::new();
    let ops: Vec<Op> = items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_op(i, v, &mut defs, limits.max_body_bytes))
        .collect();

    // The dependency graph: operation j must run before i when i refers to j's bulkId.
    let n = ops.len();
    let mut waiting = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, op) in ops.iter().enumerate() {
        let Ok(plan) = &op.plan else { continue };
        let mut before: Vec<usize> = plan.refs.iter().filter_map(|b| defs.get(b).copied()).collect();
        before.sort_unstable();
        before.dedup();
        waiting[i] = before.len();
        for j in before {
            dependents[j].push(i);
        }
    }

    let writes = Writes::of(state, r);
    let mut outcomes: Vec<Outcome> = (0..n).map(|_| Outcome::Pending).collect();
    let mut results: Vec<Option<BulkOperationResult>> = (0..n).map(|_| None).collect();
    let mut errors = 0usize;
    let stop = |errors: usize| fail_on_errors.is_some_and(|max| errors >= max);

    // The earliest operations whose references are all settled run next, a wave at a time.
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
    while !ready.is_empty() {
        let wave = wave::next(&mut ready, &ops, fail_on_errors.is_some());
        let done = join_all(wave.iter().map(|&i| run(&writes, &ops, &defs, &outcomes, i, base))).await;
        for (i, (outcome, result)) in wave.into_iter().zip(done) {
            errors += usize::from(matches!(outcome, Outcome::Failed(_)));
            outcomes[i] = outcome;
            results[i] = Some(result);
            if stop(errors) {
                return Ok(respond(results));
            }
            for &k in &dependents[i] {
                waiting[k] -= 1;
                if waiting[k] == 0 {
                    ready.push(Reverse(k));
                }
            }
        }
    }

    // What is left waits on a cycle of references.
    let stuck: Vec<(usize, String)> = (0..n)
        .filter(|&i| matches!(outcomes[i], Outcome::Pending))
        .map(|i| (i, cycle_detail(&ops, &defs, &outcomes, i)))
        .collect();
    for (i, detail) in stuck {
        results[i] = Some(failure(
            &ops[i],
            None,
            base,
            &CoreError::UnresolvedReference(detail).into(),
        ));
        errors += 1;
        if stop(errors) {
            break;
        }
    }
    Ok(respond(results))
}

fn respond(results: Vec<Option<BulkOperationResult>>) -> axum::response::Response {
    let body = BulkResponse {
        schemas: vec![BULK_RESPONSE.to_string()],
        operations: results.into_iter().flatten().collect(),
    };
    scim_json(StatusCode::OK, serde_json::to_string(&body).unwrap_or_default())
}

/// Replaces every `bulkId:x` string with the id `x` stands for.
fn substitute(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(REF_PREFIX).and_then(|b| ids.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| substitute(x, ids)),
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, ids)),
        _ => {}
    }
}

/// The ids a plan's references stand for, or why one cannot be resolved.
fn resolve(
    plan: &Planned,
    ops: &[Op],
    defs: &HashMap<String, usize>,
    outcomes: &[Outcome],
) -> Result<HashMap<String, String>, ApiError> {
    let mut ids = HashMap::new();
    for b in &plan.refs {
        let Some(&j) = defs.get(b) else {
            return Err(CoreError::UnresolvedReference(format!(
                "\"{REF_PREFIX}{b}\" refers to a bulkId that no operation in this request has"
            ))
            .into());
        };
        if let Ok(p) = &ops[j].plan
            && p.method != Method::Post
        {
            return Err(CoreError::UnresolvedReference(format!(
                "\"{REF_PREFIX}{b}\" refers to Operations[{j}], a {} operation; only a POST creates an id that a \
                 bulkId can stand for",
                p.method.as_str()
            ))
            .into());
        }
        match &outcomes[j] {
            Outcome::Done(id) => {
                ids.insert(b.clone(), id.clone());
            }
            Outcome::Failed(status) => {
                return Err(CoreError::UnresolvedReference(format!(
                    "\"{REF_PREFIX}{b}\" refers to Operations[{j}], which failed with status {status}; this \
                     operation was not performed"
                ))
                .into());
            }
            Outcome::Pending => {
                return Err(CoreError::Internal(format!("bulkId {b:?} used before it was settled")).into());
            }
        }
    }
    Ok(ids)
}

/// Runs `Operations[i]` (whose references are all settled) through the shared writes.
async fn run(
    writes: &Writes<'_>,
    ops: &[Op],
    defs: &HashMap<String, usize>,
    outcomes: &[Outcome],
    i: usize,
    base: &str,
) -> (Outcome, BulkOperationResult) {
    let op = &ops[i];
    let plan = match &op.plan {
        Ok(p) => p,
        Err(e) => return (Outcome::Failed(e.status()), failure(op, None, base, e)),
    };
    let ids = match resolve(plan, ops, defs, outcomes) {
        Ok(ids) => ids,
        Err(e) => return (Outcome::Failed(e.status()), failure(op, None, base, &e)),
    };
    let id = plan
        .id
        .as_ref()
        .map(|id| match id.strip_prefix(REF_PREFIX).and_then(|b| ids.get(b)) {
            Some(created) => created.clone(),
            None => id.clone(),
        });
    let mut data = plan.data.clone().unwrap_or(Value::Null);
    substitute(&mut data, &ids);
    let target = id.as_deref().unwrap_or_default();
    let (kind, if_match) = (plan.kind, plan.if_match);
    let written = |res: &StoredResource, status: u16| (res.id.clone(), Some(res.etag()), status);
    let done = match plan.method {
        Method::Post => writes.create(kind, &data).await.map(|(res, _)| written(&res, 201)),
        Method::Put => writes
            .replace(kind, target, if_match, data)
            .await
            .map(|res| written(&res, 200)),
        Method::Patch => writes
            .patch(kind, target, if_match, &data)
            .await
            .map(|res| written(&res, 200)),
        Method::Delete => writes
            .delete(kind, target, if_match)
            .await
            .map(|()| (target.to_string(), None, 204)),
    };
    match done {
        Ok((id, version, status)) => {
            let result = BulkOperationResult {
                method: op.method.clone(),
                bulk_id: op.bulk_id.clone(),
                version,
                location: Some(location(kind, base, &id)),
                status: status.to_string(),
                response: None,
            };
            (Outcome::Done(id), result)
        }
        Err(e) => {
            let e = ApiError::from(e);
            (Outcome::Failed(e.status()), failure(op, id.as_deref(), base, &e))
        }
    }
}

/// The entry of a failed operation: its status and the error body a single request gets.
fn failure(op: &Op, id: Option<&str>, base: &str, e: &ApiError) -> BulkOperationResult {
    let body = error_body(e);
    let location = match (&op.plan, id) {
        (Ok(p), Some(id)) => Some(location(p.kind, base, id)),
        _ => None,
    };
    BulkOperationResult {
        method: op.method.clone(),
        bulk_id: op.bulk_id.clone(),
        version: None,
        location,
        status: body.status.clone(),
        response: Some(body),
    }
}

/// Why `Operations[i]` never became ready: the cycle of bulkIds it waits on.
fn cycle_detail(ops: &[Op], defs: &HashMap<String, usize>, outcomes: &[Outcome], i: usize) -> String {
    let mut chain: Vec<usize> = vec![i];
    let mut cur = i;
    loop {
        // A stuck operation waits on at least one pending one.
        let next = ops[cur].plan.as_ref().ok().and_then(|p| {
            p.refs
                .iter()
                .filter_map(|b| defs.get(b).copied())
                .find(|&j| matches!(outcomes[j], Outcome::Pending))
        });
        let Some(j) = next else {
            return "its bulkId references cannot be resolved".into();
        };
        if let Some(pos) = chain.iter().position(|&x| x == j) {
            let mut names: Vec<&str> = chain[pos..]
                .iter()
                .map(|&x| ops[x].bulk_id.as_deref().unwrap_or_default())
                .collect();
            names.push(names[0]);
            let cycle = names.join(" → ");
            return if pos == 0 {
                format!("the bulkId references form a cycle ({cycle}); none of these operations can run first")
            } else {
                format!(
                    "refers to bulkId {:?}, which waits on a cycle of bulkId references ({cycle})",
                    ops[chain[1]].bulk_id.as_deref().unwrap_or_default()
                )
            };
        }
        chain.push(j);
        cur = j;
    }
}
