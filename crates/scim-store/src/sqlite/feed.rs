//! The change feed on SQLite: events numbered from the tenant's `feed_seq` row inside the
//! writer's transaction. There is one writer, so numbers are handed out in commit order.

use async_trait::async_trait;
use rusqlite::{Connection, params};
use scim_core::events::{EventType, MemberDelta};
use scim_core::ports::{Event, FeedPosition, FeedStore, FeedWatch, TenantId};
use scim_core::{CoreError, ResourceKind, Timestamp};

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

pub(super) const POSITION: &str = "SELECT max(coalesce((SELECT max(seq) FROM journal WHERE tenant_id = ?1), 0), coalesce(f.last, 0)), \
            coalesce(f.pruned, 0) \
     FROM (SELECT 1) LEFT JOIN feed_seq f ON f.tenant_id = ?1";

/// The tenant's newest and pruned seq. The newest is the journal's last number; `feed_seq`
/// keeps it only across pruning (when the journal may be empty), so an append costs one
/// index probe instead of a second row write.
pub(super) fn position(conn: &Connection, tenant: TenantId) -> Result<FeedPosition> {
    Ok(conn.prepare_cached(POSITION)?.query_row([tenant], |r| {
        Ok(FeedPosition {
            last: r.get(0)?,
            pruned: r.get(1)?,
        })
    })?)
}

/// Appends one event with the tenant's next sequence number (the writer thread is the only
/// writer, so reading the last number and writing the next cannot race).
pub(super) fn append(conn: &Connection, a: &About<'_>, event: EventType, data: &str) -> Result<()> {
    let seq = position(conn, a.tenant)?.last + 1;
    conn.prepare_cached(
        "INSERT INTO journal (tenant_id, seq, eid, event, rtype, res_id, version, at, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        a.tenant,
        seq,
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
        "SELECT seq, eid, event, rtype, res_id, version, at, data FROM journal \
         WHERE tenant_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![tenant, after, limit as i64], |r| {
        let kind = ResourceKind::from_code(r.get(3)?).unwrap_or(ResourceKind::User);
        let name: String = r.get(2)?;
        Ok(Event {
            seq: r.get(0)?,
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

/// Looks at the [`PRUNE_CHUNK`] oldest events and removes those before `before`, each
/// tenant's from the start of its sequence, recording how far each feed was pruned. The
/// scan is bounded, so a journal with nothing to prune costs one short read on the writer,
/// not a full scan.
fn prune_chunk(conn: &Connection, before: &str) -> Result<u64> {
    let cut: Vec<(TenantId, i64)> = conn
        .prepare_cached(
            "SELECT tenant_id, max(seq) FROM (SELECT tenant_id, seq, at FROM journal ORDER BY n LIMIT ?2) \
             WHERE at < ?1 GROUP BY tenant_id",
        )?
        .query_map(params![before, PRUNE_CHUNK], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut removed = 0;
    for (tenant, upto) in cut {
        let last = position(conn, tenant)?.last;
        removed += conn
            .prepare_cached("DELETE FROM journal WHERE tenant_id = ?1 AND seq <= ?2")?
            .execute(params![tenant, upto])? as u64;
        conn.prepare_cached(
            "INSERT INTO feed_seq (tenant_id, last, pruned) VALUES (?1, ?2, ?3) ON CONFLICT (tenant_id) \
             DO UPDATE SET last = max(last, excluded.last), pruned = max(pruned, excluded.pruned)",
        )?
        .execute(params![tenant, last, upto])?;
    }
    Ok(removed)
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
        let mut total = 0;
        loop {
            let b = before.clone();
            let n = self.writer.write(move |conn| prune_chunk(conn, &b)).await?;
            total += n;
            if n == 0 {
                return Ok(total);
            }
        }
    }

    fn watch_feed(&self) -> Box<dyn FeedWatch> {
        self.feed.watch()
    }
}
