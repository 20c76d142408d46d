//! The feed's retention: events older than the retention period are pruned, hourly.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use scim_core::Timestamp;
use scim_core::ports::FeedStore;

use crate::Clock;

/// How often retention runs.
pub const EVERY: Duration = Duration::from_secs(3600);

/// The instant before which events are removed.
pub fn cutoff(now: Timestamp, retention: Duration) -> Timestamp {
    Timestamp::new(now.datetime() - retention)
}

/// Prunes once at start and then every [`EVERY`] until `shutdown` resolves.
pub async fn run(store: Arc<dyn FeedStore>, retention: Duration, clock: Clock, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        match store.prune_events(cutoff(clock(), retention)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "change feed: removed events past retention"),
            Err(e) => tracing::warn!(error = %e, "change feed: retention failed; trying again later"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
