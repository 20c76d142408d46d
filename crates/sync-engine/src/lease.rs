//! One worker at a time per job: a lease in the state database, taken before a cycle,
//! renewed in the background every third of its period, and given up at the end. A worker
//! that dies stops renewing, and another takes the job over once the lease has run out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use scim_core::Timestamp;
use scim_core::ports::sync::{Lease, LeaseClaim, SyncStateStore};
use time::OffsetDateTime;

use crate::error::EngineError;

/// How long a lease holds without renewal: the longest a dead worker's job waits.
pub const LEASE_TTL: time::Duration = time::Duration::seconds(60);

/// The clock leases are measured by (an input, as everywhere in the engine).
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// This process as a lease holder and in the cycle history: `host:pid`.
pub fn worker_id() -> String {
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown-host".into());
    format!("{host}:{}", std::process::id())
}

/// A held lease; renewed until [`LeaseGuard::release`] (or drop, which only stops renewing).
pub struct LeaseGuard {
    state: Arc<dyn SyncStateStore>,
    job: String,
    holder: String,
    clock: Clock,
    ttl: time::Duration,
    lost: Arc<AtomicBool>,
    renew: tokio::task::JoinHandle<()>,
}

/// Takes the job's lease for `holder`, or says who has it.
pub async fn acquire(
    state: Arc<dyn SyncStateStore>,
    job: &str,
    holder: &str,
    clock: Clock,
    ttl: time::Duration,
) -> Result<Result<LeaseGuard, Lease>, EngineError> {
    let now = clock();
    let claim = state
        .claim_lease(job, holder, Timestamp::new(now), Timestamp::new(now + ttl))
        .await
        .map_err(|e| EngineError::State(e.to_string()))?;
    if let LeaseClaim::Held(lease) = claim {
        return Ok(Err(lease));
    }
    let lost = Arc::new(AtomicBool::new(false));
    let renew = tokio::spawn(renew_loop(
        state.clone(),
        job.to_string(),
        holder.to_string(),
        clock.clone(),
        ttl,
        lost.clone(),
    ));
    Ok(Ok(LeaseGuard {
        state,
        job: job.to_string(),
        holder: holder.to_string(),
        clock,
        ttl,
        lost,
        renew,
    }))
}

async fn renew_loop(
    state: Arc<dyn SyncStateStore>,
    job: String,
    holder: String,
    clock: Clock,
    ttl: time::Duration,
    lost: Arc<AtomicBool>,
) {
    let every = std::time::Duration::try_from(ttl / 3).unwrap_or(std::time::Duration::from_secs(20));
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        renew(state.as_ref(), &job, &holder, clock(), ttl, &lost).await;
    }
}

/// Extends the lease to `now + ttl`; marks it lost when another worker has it.
async fn renew(
    state: &dyn SyncStateStore,
    job: &str,
    holder: &str,
    now: OffsetDateTime,
    ttl: time::Duration,
    lost: &AtomicBool,
) -> bool {
    match state
        .claim_lease(job, holder, Timestamp::new(now), Timestamp::new(now + ttl))
        .await
    {
        Ok(LeaseClaim::Acquired) => true,
        Ok(LeaseClaim::Held(other)) => {
            lost.store(true, Ordering::Relaxed);
            tracing::error!(job, holder = other.holder, "the job's lease was taken over");
            false
        }
        Err(e) => {
            tracing::warn!(job, error = %e, "could not renew the job's lease");
            false
        }
    }
}

impl LeaseGuard {
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether another worker took the lease over (this one failed to renew in time).
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Renews now (the background task does this every third of the period); false when
    /// the lease is lost or the store failed.
    pub async fn renew_now(&self) -> bool {
        renew(
            self.state.as_ref(),
            &self.job,
            &self.holder,
            (self.clock)(),
            self.ttl,
            &self.lost,
        )
        .await
    }

    /// Stops renewing and gives the lease up.
    pub async fn release(self) {
        self.renew.abort();
        if let Err(e) = self.state.release_lease(&self.job, &self.holder).await {
            tracing::warn!(job = self.job, error = %e, "could not release the job's lease");
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renew.abort();
    }
}
