//! The webhook worker. Every replica runs one; each tick it takes or renews the leases of
//! the tenants with endpoints (one holder per tenant), and runs one delivery task per due
//! endpoint of the tenants it holds. A task sends the endpoint's events in sequence order,
//! one at a time: event n+1 goes only after n got a 2xx. Every outcome is written to the
//! store before the next step, so a killed replica loses nothing; the next holder resumes
//! from the stored cursor (the event in flight may then arrive twice: at least once).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use scim_core::ports::{Delivery, Store, TenantId, Webhook};
use scim_core::{CoreError, Timestamp};
use tokio::task::JoinHandle;

use crate::retry::Schedule;
use crate::{Clock, deliver, plus};

/// Events read per store round trip.
const PAGE: usize = 100;
/// Tenants one replica leases at most.
const MAX_TENANTS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// This replica's name in the leases; unique per process.
    pub holder: String,
    /// How long a lease lasts unless renewed: a dead replica's tenants move on after this.
    pub lease: Duration,
    /// How often the worker renews leases and looks for due endpoints without being woken.
    pub tick: Duration,
    pub timeout: Duration,
    pub schedule: Schedule,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            holder: format!("replica-{}", uuid::Uuid::new_v4()),
            lease: Duration::from_secs(30),
            tick: Duration::from_secs(1),
            timeout: deliver::TIMEOUT,
            schedule: Schedule::default(),
        }
    }
}

/// A delivery task, aborted when dropped: the worker's tasks end with it.
struct Running(JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Ctx {
    store: Arc<dyn Store>,
    cfg: WorkerConfig,
    clock: Clock,
}

/// Runs until `shutdown` resolves, then stops its deliveries and gives up its leases.
pub async fn run(store: Arc<dyn Store>, cfg: WorkerConfig, clock: Clock, shutdown: impl Future<Output = ()>) {
    let ctx = Arc::new(Ctx { store, cfg, clock });
    let mut running: HashMap<(TenantId, String), Running> = HashMap::new();
    let mut held: Vec<TenantId> = Vec::new();
    let mut watch = ctx.store.watch_feed();
    let mut ticks = tokio::time::interval(ctx.cfg.tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        // Leases are renewed on the timer only; a commit wakes the worker to look for due
        // endpoints (a read), and only when this replica holds a tenant with endpoints, so
        // a busy server without webhooks pays nothing per commit.
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticks.tick() => match renew(&ctx).await {
                Ok(now_held) => held = now_held,
                Err(e) => tracing::warn!(error = %e, "webhook worker: could not renew its leases; trying again"),
            },
            _ = watch.changed() => {}
        }
        running.retain(|_, task| !task.0.is_finished());
        if held.is_empty() {
            continue;
        }
        if let Err(e) = start_due(&ctx, &mut running).await {
            tracing::warn!(error = %e, "webhook worker: could not look for work; trying again");
        }
    }
    drop(running);
    if let Err(e) = ctx.store.release_leases(&ctx.cfg.holder, &held).await {
        tracing::warn!(error = %e, "webhook worker: could not release its leases; they expire on their own");
    }
}

/// Renews and takes leases; returns the tenants held.
async fn renew(ctx: &Ctx) -> Result<Vec<TenantId>, CoreError> {
    let now = (ctx.clock)();
    ctx.store
        .acquire_leases(&ctx.cfg.holder, now, plus(now, ctx.cfg.lease), MAX_TENANTS)
        .await
}

/// Starts a delivery task for each due endpoint that has none.
async fn start_due(ctx: &Arc<Ctx>, running: &mut HashMap<(TenantId, String), Running>) -> Result<(), CoreError> {
    let now = (ctx.clock)();
    for hook in ctx.store.due_webhooks(&ctx.cfg.holder, now).await? {
        let key = (hook.tenant, hook.id.clone());
        if running.contains_key(&key) {
            continue;
        }
        let ctx = ctx.clone();
        running.insert(key, Running(tokio::spawn(async move { deliver_all(&ctx, hook).await })));
    }
    Ok(())
}

/// Sends the endpoint's pending events in order until none are left, one fails, or the
/// lease is lost.
async fn deliver_all(ctx: &Ctx, hook: Webhook) {
    let mut d = hook.delivery.clone();
    loop {
        let events = match ctx.store.events(hook.tenant, d.delivered, PAGE).await {
            Ok(e) => e,
            Err(e) => return tracing::warn!(webhook = %hook.id, error = %e, "could not read the feed"),
        };
        if events.is_empty() {
            if d != hook.delivery {
                record(ctx, &hook, &d).await;
            }
            return;
        }
        for e in events {
            if !hook.wants(e.event) {
                d.delivered = e.seq;
                continue;
            }
            let now = (ctx.clock)();
            let body = e.to_json(&hook.tenant_name);
            let sent = deliver::send(&hook, &e.id, &body, now, ctx.cfg.timeout).await;
            let ok = sent.is_ok();
            match sent {
                Ok(_) => succeeded(&mut d, e.seq, now),
                Err(why) => failed(ctx, &mut d, why, now),
            }
            if !record(ctx, &hook, &d).await || !ok {
                return;
            }
        }
    }
}

fn succeeded(d: &mut Delivery, seq: i64, now: Timestamp) {
    *d = Delivery {
        delivered: seq,
        last_success: Some(now),
        ..Default::default()
    };
}

fn failed(ctx: &Ctx, d: &mut Delivery, why: String, now: Timestamp) {
    d.attempts = d.attempts.saturating_add(1);
    let since = *d.failing_since.get_or_insert(now);
    let failing_for = (now.datetime() - since.datetime()).try_into().unwrap_or(Duration::ZERO);
    d.last_error = Some(why);
    if ctx.cfg.schedule.gives_up(failing_for) {
        d.failing = true;
        d.next_attempt = None;
        tracing::warn!(
            attempts = d.attempts,
            "webhook endpoint marked failing after retrying for its limit"
        );
    } else {
        let jitter = rand::rng().random_range(-1.0..=1.0);
        d.next_attempt = Some(plus(now, ctx.cfg.schedule.delay(d.attempts, jitter)));
    }
}

/// Writes the state; false when this replica no longer holds the tenant (stop).
async fn record(ctx: &Ctx, hook: &Webhook, d: &Delivery) -> bool {
    let now = (ctx.clock)();
    match ctx
        .store
        .record_delivery(hook.tenant, &hook.id, d, &ctx.cfg.holder, now)
        .await
    {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(webhook = %hook.id, error = %e, "could not record a delivery; it will be retried");
            false
        }
    }
}
