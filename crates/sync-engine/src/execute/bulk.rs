//! Large loads of creates as SCIM Bulk requests (RFC 7644 §3.7).
//!
//! When the target advertises Bulk and a pass has at least [`BULK_MIN_CREATES`] creates that
//! the target snapshot shows need a POST (no match, create allowed), those creates go as
//! `POST /Bulk` requests of up to min(`maxOperations`, [`BULK_MAX_OPERATIONS`]) operations,
//! each request's serialized size within `maxPayloadSize`, with fewer requests in flight
//! than single requests ([`super::ExecConfig::bulk_concurrency`]).
//!
//! - A 201 operation is a create exactly as a single POST's: target id, link, values,
//!   modified properties; its step says it went by Bulk.
//! - Any other operation, and every operation of a request that failed as a whole (429
//!   beyond the throttle budget, 5xx, 413, a transport error, an unreadable response), takes
//!   the single path, which looks the object up live first: a create that was applied behind
//!   a lost response is found and linked, never repeated.
//! - A 429 on the request waits for its `Retry-After` and sends it again. The wait is every
//!   operation's wait, so it counts against each one's throttle budget, and an object retried
//!   on its own brings what it already waited.
//! - The manager goes with the create when it is linked already (its target id) or created
//!   earlier in the same request (`bulkId:…`); otherwise the reference pass sets it.
//! - After [`BULK_GIVE_UP`] requests in a row failed as a whole, the run stops using Bulk.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use scim_client::{BulkLimits, BulkOperation, BulkRequest, BulkResponse, BulkResult, ClientError};
use serde_json::Value as Json;
use tokio::sync::Semaphore;
use tokio::task::JoinError;

use super::matching::{RunCtx, record_created, snapshot_miss, with_manager_ref};
use super::{Carry, Executor, Outcome, Progress, Status, Task, endpoint, step};
use crate::config::BulkMode;
use crate::mapping::Mapped;
use crate::model::ObjectKind;
use crate::plan::{Action, Op};

/// Fewest creates needing a POST for which a pass uses Bulk.
pub const BULK_MIN_CREATES: usize = 50;
/// Most operations in one Bulk request, whatever the target allows.
pub const BULK_MAX_OPERATIONS: usize = 200;
/// Whole-request failures in a row after which a run sends no more Bulk requests.
const BULK_GIVE_UP: usize = 3;
/// The payload limit assumed when the target advertises Bulk without `maxPayloadSize`.
const DEFAULT_MAX_PAYLOAD: usize = 1 << 20;

/// How large one request may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    max_operations: usize,
    max_payload: usize,
}

impl Budget {
    /// `None` when the target does not support Bulk or allows fewer than two operations.
    fn of(l: &BulkLimits) -> Option<Budget> {
        let ops = l
            .max_operations
            .map_or(0, |n| n.min(BULK_MAX_OPERATIONS as u64) as usize);
        let max_payload = l
            .max_payload_size
            .map_or(DEFAULT_MAX_PAYLOAD, |n| usize::try_from(n).unwrap_or(usize::MAX));
        (l.supported && ops >= 2).then_some(Budget {
            max_operations: ops,
            max_payload,
        })
    }
}

/// The create body and mapped values of a create action.
fn create_parts(a: &Action) -> Option<(&Json, &Mapped)> {
    match &a.op {
        Op::Create { body, mapped, .. } => Some((body, mapped)),
        _ => None,
    }
}

/// A create the snapshot shows needs a POST: nothing matched, and creating is allowed.
fn needs_post(a: &Action, ctx: &RunCtx) -> bool {
    let Op::Create {
        matchers,
        mapped,
        create_allowed: true,
        ..
    } = &a.op
    else {
        return false;
    };
    // SelectUniqueValue is checked against the target just before the create: single path.
    if !mapped.unique.is_empty() {
        return false;
    }
    ctx.snapshot(endpoint(a.kind))
        .is_some_and(|s| s.lookup(matchers).is_none())
}

/// One create in a request, and the manager (source id) its body carries.
struct Item {
    action: Action,
    manager: Option<String>,
}

/// One Bulk request, filled from the queue.
struct Chunk {
    items: Vec<Item>,
    request: BulkRequest,
    /// Actions too large for any request: they take the single path.
    too_big: Vec<Action>,
}

/// Takes creates from the front of `queue` into one request within `budget`. `linked` gives
/// a user's target id when it is linked already.
fn fill(queue: &mut VecDeque<Action>, budget: Budget, linked: impl Fn(&str) -> Option<String>) -> Chunk {
    let mut request = BulkRequest::default();
    let mut size = request.envelope_len();
    let (mut items, mut too_big) = (Vec::new(), Vec::new());
    // Users in this request: source id → bulkId.
    let mut ids: HashMap<String, String> = HashMap::new();
    while items.len() < budget.max_operations
        && let Some(action) = queue.pop_front()
    {
        let bulk_id = format!("b{}", items.len());
        let Some((op, manager)) = operation(&action, &bulk_id, &ids, &linked) else {
            too_big.push(action);
            continue;
        };
        let grown = size + op.encoded_len() + usize::from(!items.is_empty());
        if grown > budget.max_payload {
            if items.is_empty() {
                too_big.push(action);
                continue;
            }
            queue.push_front(action);
            break;
        }
        size = grown;
        if action.kind == ObjectKind::User {
            ids.insert(action.source_id.clone(), bulk_id);
        }
        request.operations.push(op);
        items.push(Item { action, manager });
    }
    Chunk {
        items,
        request,
        too_big,
    }
}

/// The POST operation of a create, with its manager when one can be referred to.
fn operation(
    action: &Action,
    bulk_id: &str,
    ids: &HashMap<String, String>,
    linked: &impl Fn(&str) -> Option<String>,
) -> Option<(BulkOperation, Option<String>)> {
    let (body, mapped) = create_parts(action)?;
    let reference = mapped.manager.as_ref().and_then(|m| {
        let value = linked(m).or_else(|| ids.get(m).map(|b| format!("bulkId:{b}")))?;
        Some((m.clone(), value))
    });
    let data = match &reference {
        Some((_, value)) => with_manager_ref(body, value),
        None => body.clone(),
    };
    let op = BulkOperation::create(endpoint(action.kind), bulk_id, data);
    Some((op, reference.map(|(m, _)| m)))
}

/// The response's results lined up with the request's operations (by bulkId, else by
/// position when the server named none); `None` where the response says nothing.
fn line_up(resp: BulkResponse, n: usize) -> Vec<Option<BulkResult>> {
    let mut out: Vec<Option<BulkResult>> = (0..n).map(|_| None).collect();
    let positional = resp.operations.len() == n;
    for (pos, r) in resp.operations.into_iter().enumerate() {
        let i = match r.bulk_id.as_deref() {
            Some(b) => b.strip_prefix('b').and_then(|x| x.parse::<usize>().ok()),
            None => positional.then_some(pos),
        };
        if let Some(i) = i.filter(|&i| i < n)
            && out[i].is_none()
        {
            out[i] = Some(r);
        }
    }
    out
}

/// One Bulk request as sent, 429s included.
struct Sent {
    result: Result<BulkResponse, ClientError>,
    operations: usize,
    requests: u32,
    throttled: u32,
    waited: Duration,
    /// The Bulk request's time, throttling included.
    elapsed: Duration,
}

impl Sent {
    /// The request's count and 429s, which go with its first operation only (so a cycle's
    /// totals count HTTP requests).
    fn counts(&self, first: bool) -> (u32, u32) {
        if first { (self.requests, self.throttled) } else { (0, 0) }
    }

    /// What an operation of this request brings to the single path: its steps, the counts,
    /// and the time it waited on 429s.
    fn carry(&self, first: bool, why: String) -> Carry {
        let (requests, throttled) = self.counts(first);
        Carry {
            steps: vec![
                snapshot_miss(),
                step("Provision", Status::Warning, format!("{why}; trying again on its own")),
            ],
            requests,
            throttled,
            waited: self.waited,
        }
    }
}

type Settled = (Vec<Outcome>, Vec<Task>);

impl Executor {
    /// Sends the pass's creates that need a POST by Bulk when `mode` allows, they are many,
    /// and the target advertises Bulk. Returns their outcomes and what is left for the single
    /// path: the other actions, and the creates to try again on their own.
    pub(super) async fn bulk_pass(
        self: &Arc<Self>,
        first: Vec<Action>,
        ctx: &Arc<RunCtx>,
        mode: BulkMode,
        progress: &dyn Progress,
    ) -> Settled {
        let wanted = mode == BulkMode::Auto && first.iter().filter(|a| needs_post(a, ctx)).count() >= BULK_MIN_CREATES;
        let budget = if wanted {
            *ctx.budget.get_or_init(|| self.bulk_budget()).await
        } else {
            None
        };
        let Some(budget) = budget else {
            return (Vec::new(), first.into_iter().map(Task::from).collect());
        };
        let (bulk, rest): (Vec<Action>, Vec<Action>) = first.into_iter().partition(|a| needs_post(a, ctx));
        let (done, retry) = self.send_all(bulk.into(), budget, ctx, progress).await;
        let mut single: Vec<Task> = rest.into_iter().map(Task::from).collect();
        single.extend(retry);
        (done, single)
    }

    /// The target's Bulk limits, as far as this engine uses them.
    async fn bulk_budget(&self) -> Option<Budget> {
        match self.retry(|| self.client.bulk_limits()).await.result {
            Ok(limits) => Budget::of(&limits),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the target's Bulk limits; creating one request per object");
                None
            }
        }
    }

    /// Sends the queue as Bulk requests, a few in flight; fills each request only when it
    /// goes, so managers created by earlier requests are linked by then.
    async fn send_all(
        self: &Arc<Self>,
        mut queue: VecDeque<Action>,
        budget: Budget,
        ctx: &Arc<RunCtx>,
        progress: &dyn Progress,
    ) -> Settled {
        let sem = Arc::new(Semaphore::new(self.cfg.bulk_concurrency()));
        let mut set = tokio::task::JoinSet::new();
        let mut settled: Settled = (Vec::new(), Vec::new());
        while !queue.is_empty() {
            let permit = super::exec_config::permit(&sem).await;
            if ctx.bulk_failures.load(Ordering::Relaxed) >= BULK_GIVE_UP {
                break;
            }
            let chunk = {
                let links = ctx.links.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                fill(&mut queue, budget, |m| {
                    links.get(&(ObjectKind::User, m.to_string())).cloned()
                })
            };
            settled.1.extend(chunk.too_big.into_iter().map(Task::from));
            if chunk.items.is_empty() {
                continue;
            }
            let (me, ctx) = (self.clone(), ctx.clone());
            set.spawn(async move {
                let r = me.send_chunk(chunk.items, chunk.request, &ctx).await;
                drop(permit);
                r
            });
            while let Some(joined) = set.try_join_next() {
                gather(joined, &mut settled, progress);
            }
        }
        while let Some(joined) = set.join_next().await {
            gather(joined, &mut settled, progress);
        }
        // Left when the run stopped using Bulk: nothing of them was sent.
        settled.1.extend(queue.into_iter().map(Task::from));
        settled
    }

    async fn send_chunk(&self, items: Vec<Item>, request: BulkRequest, ctx: &RunCtx) -> Settled {
        let mut sent = self.bulk_call(&request).await;
        let n = items.len();
        let results = match std::mem::replace(&mut sent.result, Ok(BulkResponse::default())) {
            Ok(resp) => {
                ctx.bulk_failures.store(0, Ordering::Relaxed);
                line_up(resp, n)
            }
            Err(e) => {
                if e.status() != Some(429) {
                    ctx.bulk_failures.fetch_add(1, Ordering::Relaxed);
                }
                let why = format!("the Bulk request failed ({e})");
                let retry = items.into_iter().enumerate().map(|(i, item)| Task {
                    action: item.action,
                    carry: Some(sent.carry(i == 0, why.clone())),
                });
                return (Vec::new(), retry.collect());
            }
        };
        let mut settled: Settled = (Vec::new(), Vec::new());
        for (i, (item, result)) in items.into_iter().zip(results).enumerate() {
            settle(item, result, ctx, &sent, i == 0, &mut settled);
        }
        settled
    }

    /// Sends one Bulk request, waiting out 429s within the throttle budget.
    async fn bulk_call(&self, request: &BulkRequest) -> Sent {
        let mut sent = Sent {
            result: Ok(BulkResponse::default()),
            operations: request.operations.len(),
            requests: 0,
            throttled: 0,
            waited: Duration::ZERO,
            elapsed: Duration::ZERO,
        };
        let started = std::time::Instant::now();
        loop {
            sent.elapsed = started.elapsed();
            sent.requests += 1;
            match self.client.bulk(request).await {
                Err(e) if e.status() == Some(429) => {
                    sent.throttled += 1;
                    let Some(wait) = self.throttle_wait(&e, &mut sent.waited) else {
                        sent.result = Err(e);
                        return sent;
                    };
                    tokio::time::sleep(wait).await;
                }
                result => {
                    sent.result = result;
                    sent.elapsed = started.elapsed();
                    return sent;
                }
            }
        }
    }
}

/// One operation's result: a created object's outcome, or the create to try on its own.
fn settle(item: Item, result: Option<BulkResult>, ctx: &RunCtx, sent: &Sent, first: bool, settled: &mut Settled) {
    let created = result
        .as_ref()
        .filter(|r| matches!(r.status, 200 | 201))
        .and_then(|r| r.id.clone());
    let (Some(id), Some((_, mapped))) = (created, create_parts(&item.action)) else {
        let why = match &result {
            None => "the Bulk response did not report this create".to_string(),
            Some(r) => match r.error() {
                Some(e) => format!("the Bulk operation failed ({e})"),
                None => format!("the Bulk operation answered {} without the new object's id", r.status),
            },
        };
        return settled.1.push(Task {
            carry: Some(sent.carry(first, why)),
            action: item.action,
        });
    };
    let mut out = Outcome::new(&item.action);
    (out.requests, out.throttled) = sent.counts(first);
    out.duration_ms = sent.elapsed.as_millis() as u64;
    out.steps.push(snapshot_miss());
    record_created(
        &mut out,
        id.clone(),
        mapped,
        &format!(" (by a Bulk request of {} operations)", sent.operations),
    );
    if let Some(m) = &item.manager {
        ctx.manager_sent(&out, m);
    }
    ctx.links
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert((item.action.kind, item.action.source_id.clone()), id);
    settled.0.push(out);
}

fn gather(joined: Result<Settled, JoinError>, settled: &mut Settled, progress: &dyn Progress) {
    if let Ok((done, retry)) = joined {
        progress.advanced(done.len());
        settled.0.extend(done);
        settled.1.extend(retry);
    }
}

#[cfg(test)]
mod tests;
