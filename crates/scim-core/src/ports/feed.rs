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

impl Event {
    /// The event as the feed and webhooks send it: `{"seq","id","type","tenant","at",
    /// "resource":{"type","id","version"},"data"}`. `data` is spliced in as stored, unparsed.
    pub fn to_json(&self, tenant: &str) -> String {
        let head = serde_json::json!({
            "seq": self.seq,
            "id": self.id,
            "type": self.event.as_str(),
            "tenant": tenant,
            "at": self.at,
            "resource": {"type": self.kind.name(), "id": self.resource_id, "version": self.version},
        })
        .to_string();
        let mut out = String::with_capacity(head.len() + self.data.len() + 9);
        out.push_str(&head[..head.len() - 1]);
        out.push_str(",\"data\":");
        out.push_str(&self.data);
        out.push('}');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_renders_with_its_data_spliced_in() {
        let e = Event {
            seq: 7,
            id: "e1".into(),
            event: EventType::UserDeactivated,
            kind: ResourceKind::User,
            resource_id: "u1".into(),
            version: 3,
            at: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
            data: r#"{"userName":"a","active":false}"#.into(),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_json("acme")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"seq": 7, "id": "e1", "type": "user.deactivated", "tenant": "acme",
                "at": "2026-01-01T00:00:00.000000Z", "resource": {"type": "User", "id": "u1", "version": 3},
                "data": {"userName": "a", "active": false}})
        );
    }
}
