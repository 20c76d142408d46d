//! How the executor runs: its concurrency, retry and chunk settings, and the permits that
//! bound requests in flight.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Actions per committed chunk unless the job says otherwise (`job.chunk_size`).
pub const DEFAULT_CHUNK: usize = 2_000;

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
    /// Bulk requests in flight; `None`: half of `concurrency` (see [`Self::bulk_concurrency`]).
    pub bulk_concurrency: Option<usize>,
    /// Actions per committed chunk.
    pub chunk: usize,
}

impl ExecConfig {
    /// Bulk requests in flight: fewer than single requests, as each carries many writes, but
    /// not so few that a target which runs a request's operations one after another (scimd
    /// does) has little to do at once.
    pub fn bulk_concurrency(&self) -> usize {
        self.bulk_concurrency.unwrap_or(self.concurrency / 2).max(1)
    }
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            concurrency: 8,
            max_attempts: 4,
            backoff: Duration::from_millis(250),
            max_throttle_wait: Duration::from_secs(600),
            default_retry_after: Duration::from_secs(1),
            bulk_concurrency: None,
            chunk: DEFAULT_CHUNK,
        }
    }
}

/// A permit of a semaphore the executor made for one pass and never closes, so acquiring
/// cannot fail.
pub(super) async fn permit(sem: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    #[allow(clippy::expect_used)]
    sem.clone()
        .acquire_owned()
        .await
        .expect("the pass's semaphore is never closed")
}
