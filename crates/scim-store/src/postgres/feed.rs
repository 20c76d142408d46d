//! The change feed on PostgreSQL. Events are numbered at commit from the tenant's
//! `feed_seq` row (see `deferred::write_journal`); here they are read and pruned.

use async_trait::async_trait;
use scim_core::events::EventType;
use scim_core::ports::{Event, FeedPosition, FeedStore, FeedWatch, TenantId};
use scim_core::{CoreError, ResourceKind, Timestamp};
use tokio_postgres::Row;

use super::PgStore;
use crate::error::Result;

/// Events removed per tenant and transaction, so retention never holds locks for long.
const PRUNE_CHUNK: i64 = 5000;

fn event(r: &Row) -> Event {
    let kind = ResourceKind::from_code(r.get(3)).unwrap_or(ResourceKind::User);
    Event {
        seq: r.get(0),
        id: r.get(1),
        event: EventType::parse(r.get(2)).unwrap_or(EventType::created(kind)),
        kind,
        resource_id: r.get(4),
        version: r.get(5),
        at: Timestamp::new(r.get(6)),
        data: r.get(7),
    }
}

/// Deletes up to [`PRUNE_CHUNK`] of the tenant's oldest events before `before` (a prefix of
/// its sequence) and moves its `pruned` mark; returns how many went.
const PRUNE: &str = "WITH cut AS (
    SELECT max(seq) AS upto FROM (
        SELECT seq, at FROM journal WHERE tenant_id = $1 ORDER BY seq LIMIT $3) first
    WHERE at < $2),
  d AS (DELETE FROM journal WHERE tenant_id = $1 AND seq <= (SELECT upto FROM cut) RETURNING 1),
  m AS (UPDATE feed_seq SET pruned = greatest(pruned, (SELECT upto FROM cut))
    WHERE tenant_id = $1 AND (SELECT upto FROM cut) IS NOT NULL)
SELECT count(*) FROM d";

impl PgStore {
    async fn read_events(&self, tenant: TenantId, after: i64, limit: usize) -> Result<Vec<Event>> {
        let c = self.conn().await?;
        let stmt = c
            .prepare_cached(
                "SELECT seq, eid, event, rtype, res_id, version, at, data FROM journal \
                 WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .await?;
        let rows = c.query(&stmt, &[&tenant, &after, &(limit as i64)]).await?;
        Ok(rows.iter().map(event).collect())
    }

    async fn position(&self, tenant: TenantId) -> Result<FeedPosition> {
        let c = self.conn().await?;
        let row = c
            .query_opt("SELECT last, pruned FROM feed_seq WHERE tenant_id = $1", &[&tenant])
            .await?;
        Ok(row
            .map(|r| FeedPosition {
                last: r.get(0),
                pruned: r.get(1),
            })
            .unwrap_or_default())
    }

    async fn prune(&self, before: Timestamp) -> Result<u64> {
        let c = self.conn().await?;
        let tenants: Vec<TenantId> = c
            .query("SELECT tenant_id FROM feed_seq", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let before = before.datetime();
        let mut total = 0;
        for t in tenants {
            loop {
                let n: i64 = c.query_one(PRUNE, &[&t, &before, &PRUNE_CHUNK]).await?.get(0);
                total += n as u64;
                if n < PRUNE_CHUNK {
                    break;
                }
            }
        }
        Ok(total)
    }
}

#[async_trait]
impl FeedStore for PgStore {
    async fn events(&self, tenant: TenantId, after: i64, limit: usize) -> std::result::Result<Vec<Event>, CoreError> {
        Ok(self.read_events(tenant, after, limit).await?)
    }

    async fn feed_position(&self, tenant: TenantId) -> std::result::Result<FeedPosition, CoreError> {
        Ok(self.position(tenant).await?)
    }

    async fn prune_events(&self, before: Timestamp) -> std::result::Result<u64, CoreError> {
        Ok(self.prune(before).await?)
    }

    fn watch_feed(&self) -> Box<dyn FeedWatch> {
        self.feed.watch()
    }
}
