//! The change feed port: a tenant's events in one gap-safe sequence, written by the
//! resource writes in their own transactions and read here.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use super::TenantId;
use crate::error::Result;
use crate::events::EventType;
use crate::schema::ResourceKind;
use crate::time_fmt::Timestamp;

/// One committed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The tenant's sequence: 1, 2, 3, … without gaps; read in `seq` order, events are in
    /// commit order, and once a reader has seen `seq` n no event below n can still commit.
    pub seq: i64,
    /// Unique across tenants (a receiver's idempotency key).
    pub id: String,
    pub event: EventType,
    pub kind: ResourceKind,
    pub resource_id: String,
    /// The resource's version after the change (`*.deleted`: one past the last).
    pub version: i64,
    pub at: Timestamp,
    /// JSON text: the resource after the change without `meta` and `members` (the last state
    /// for `*.deleted`), or `{"members":[ids]}` for the members events.
    pub data: String,
}

/// Where a tenant's feed stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedPosition {
    /// The newest event's `seq` (0 when there has been none).
    pub last: i64,
    /// Events up to this `seq` were removed by retention (0 when none were).
    pub pruned: i64,
}

/// Wakes a waiting reader when events may have committed.
pub trait FeedWatch: Send {
    /// Resolves once events of any tenant committed after the watch was made or after the
    /// previous call resolved; it may resolve spuriously. Take the watch before reading, so
    /// that no commit between the read and the wait is missed.
    fn changed(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

#[async_trait]
pub trait FeedStore: Send + Sync + 'static {
    /// The tenant's events with `seq > after`, oldest first, at most `limit`.
    async fn events(&self, tenant: TenantId, after: i64, limit: usize) -> Result<Vec<Event>>;
    async fn feed_position(&self, tenant: TenantId) -> Result<FeedPosition>;
    /// Removes every tenant's events older than `before`, oldest first (a prefix of each
    /// tenant's sequence), and returns how many.
    async fn prune_events(&self, before: Timestamp) -> Result<u64>;
    fn watch_feed(&self) -> Box<dyn FeedWatch>;
}
