//! The change feed on SQLite: events numbered after the tenant's newest journal row inside
//! the writer's transaction. There is one writer, so numbers are handed out in commit order.

use async_trait::async_trait;
use rusqlite::{Connection, params};
use scim_core::events::{EventType, MemberDelta};
use scim_core::ports::{Event, FeedPosition, FeedStore, FeedWatch, TenantId};
use scim_core::{CoreError, ResourceKind, Timestamp};

use super::span::{self, Keyed};
use super::{SqliteStore, get_ts, ts};
use crate::error::Result;

/// Events removed per prune transaction, so retention never holds the writer for long.
const PRUNE_CHUNK: i64 = 5000;

/// What an event is about: the resource, its version after the change, the time.
pub(super) struct About<'a> {
    pub tenant: TenantId,
    pub kind: ResourceKind,
    pub id: &'a str,
    pub version: i64,
    pub at: &'a str,
}

/// The tenant's `feed_seq` row, which keeps the last number only across pruning (when the
/// journal may be empty) and how far the feed was pruned.
pub(super) const POSITION: &str = "SELECT coalesce(f.last, 0), coalesce(f.pruned, 0) \
     FROM (SELECT 1) LEFT JOIN feed_seq f ON f.tenant_id = ?1";

/// The tenant's newest and pruned seq. The newest is the journal's last number, one probe at
/// the end of the tenant's key range, so an append costs no second row write.
pub(super) fn position(conn: &Connection, tenant: TenantId) -> Result<FeedPosition> {
    let (kept, pruned) = conn
        .prepare_cached(POSITION)?
        .query_row([tenant], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    let last = span::newest(conn, Keyed::Journal, tenant)?.max(kept);
    Ok(FeedPosition { last, pruned })
}

/// Appends one event with the tenant's next sequence number (the writer thread is the only
/// writer, so reading the last number and writing the next cannot race).
pub(super) fn append(conn: &Connection, a: &About<'_>, event: EventType, data: &str) -> Result<()> {
    let seq = position(conn, a.tenant)?.last + 1;
    conn.prepare_cached(
        "INSERT INTO journal (n, eid, event, rtype, res_id, version, at, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        span::key(a.tenant, seq),
        uuid::Uuid::now_v7().to_string(),
        event.as_str(),
        a.kind.code(),
        a.id,
        a.version,
        a.at,
        data
    ])?;
    Ok(())
}

/// The members events of one group change.
pub(super) fn append_members(conn: &Connection, a: &About<'_>, delta: &MemberDelta) -> Result<()> {
    for (event, data) in delta.events() {
        append(conn, a, event, &data)?;
    }
    Ok(())
}

fn read_events(conn: &Connection, tenant: TenantId, after: i64, limit: usize) -> Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT n, eid, event, rtype, res_id, version, at, data FROM journal \
         WHERE n > ?1 AND n <= ?2 ORDER BY n LIMIT ?3",
    )?;
    let from = span::key(tenant, after.max(0));
    let rows = stmt.query_map(params![from, span::bounds(tenant).1, limit as i64], |r| {
        let kind = ResourceKind::from_code(r.get(3)?).unwrap_or(ResourceKind::User);
        let name: String = r.get(2)?;
        Ok(Event {
            seq: span::seq(r.get(0)?),
            id: r.get(1)?,
            event: EventType::parse(&name).unwrap_or(EventType::created(kind)),
            kind,
            resource_id: r.get(4)?,
            version: r.get(5)?,
            at: get_ts(r, 6)?,
            data: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Removes up to [`PRUNE_CHUNK`] of the tenant's events before `before`, from the start of
/// its sequence, and records how far its feed was pruned. The scan stops at the first event
/// that stays, so a journal with nothing to prune costs one short read on the writer.
fn prune_chunk(conn: &Connection, tenant: TenantId, before: &str) -> Result<u64> {
    let pos = position(conn, tenant)?;
    let (_, hi) = span::bounds(tenant);
    let upto: Option<i64> = conn
        .prepare_cached(
            "SELECT max(n) FROM (SELECT n, at FROM journal WHERE n > ?1 AND n <= ?2 ORDER BY n LIMIT ?3) \
             WHERE at < ?4",
        )?
        .query_row(params![span::key(tenant, pos.pruned), hi, PRUNE_CHUNK, before], |r| {
            r.get(0)
        })?;
    let Some(upto) = upto.map(span::seq) else {
        return Ok(0);
    };
    let removed = span::delete(conn, Keyed::Journal, tenant, pos.pruned, upto)?;
    conn.prepare_cached(
        "INSERT INTO feed_seq (tenant_id, last, pruned) VALUES (?1, ?2, ?3) ON CONFLICT (tenant_id) \
         DO UPDATE SET last = max(last, excluded.last), pruned = max(pruned, excluded.pruned)",
    )?
    .execute(params![tenant, pos.last, upto])?;
    Ok(removed)
}

fn tenant_ids(conn: &Connection) -> Result<Vec<TenantId>> {
    Ok(conn
        .prepare_cached("SELECT id FROM tenants ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

#[async_trait]
impl FeedStore for SqliteStore {
    async fn events(&self, tenant: TenantId, after: i64, limit: usize) -> std::result::Result<Vec<Event>, CoreError> {
        self.readers.read(|conn| read_events(conn, tenant, after, limit))
    }

    async fn feed_position(&self, tenant: TenantId) -> std::result::Result<FeedPosition, CoreError> {
        self.readers.read(|conn| position(conn, tenant))
    }

    async fn prune_events(&self, before: Timestamp) -> std::result::Result<u64, CoreError> {
        let before = ts(before);
        let tenants = self.readers.read(tenant_ids)?;
        let mut total = 0;
        for tenant in tenants {
            loop {
                let b = before.clone();
                let n = self.writer.write(move |conn| prune_chunk(conn, tenant, &b)).await?;
                total += n;
                if n == 0 {
                    break;
                }
            }
        }
        Ok(total)
    }

    fn watch_feed(&self) -> Box<dyn FeedWatch> {
        self.feed.watch()
    }
}
