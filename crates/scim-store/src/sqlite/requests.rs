//! `RequestLogStore` on SQLite: one writer job per batch of entries.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use scim_core::ports::{LoggedRequest, RequestEntry, RequestLogStore, RequestQuery, TenantId};
use scim_core::{CoreError, Timestamp};

use super::span::{self, Keyed};
use super::{SqliteStore, get_ts, ts};
use crate::error::Result;

/// Rows per multi-row INSERT (11 parameters each, under SQLite's limit).
const CHUNK: usize = 80;

fn text(s: &Option<String>) -> SqlValue {
    s.clone().map_or(SqlValue::Null, SqlValue::Text)
}

/// Numbers the batch's entries from each tenant's `request_seq` row (one read and one write
/// per tenant and batch) and returns each entry's row id.
fn number(conn: &Connection, entries: &[RequestEntry]) -> Result<Vec<i64>> {
    let mut next: HashMap<TenantId, i64> = HashMap::new();
    let mut keys = Vec::with_capacity(entries.len());
    for e in entries {
        let seq = match next.entry(e.tenant) {
            Entry::Occupied(last) => last.into_mut(),
            Entry::Vacant(slot) => slot.insert(
                conn.prepare_cached("SELECT coalesce((SELECT last FROM request_seq WHERE tenant_id = ?1), 0)")?
                    .query_row([e.tenant], |r| r.get(0))?,
            ),
        };
        *seq += 1;
        keys.push(span::key(e.tenant, *seq));
    }
    for (tenant, last) in next {
        conn.prepare_cached(
            "INSERT INTO request_seq (tenant_id, last) VALUES (?1, ?2) \
             ON CONFLICT (tenant_id) DO UPDATE SET last = excluded.last",
        )?
        .execute(params![tenant, last])?;
    }
    Ok(keys)
}

fn insert(conn: &Connection, entries: &[RequestEntry], keys: &[i64]) -> Result<()> {
    for (chunk, keys) in entries.chunks(CHUNK).zip(keys.chunks(CHUNK)) {
        let mut sql = String::from(
            "INSERT INTO request_log (n, at, method, path, status, latency_us, scim_type, \
             detail, resource_id, credential, body) VALUES ",
        );
        let mut p: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 11);
        for (i, (e, key)) in chunk.iter().zip(keys).enumerate() {
            sql.push_str(if i == 0 {
                "(?,?,?,?,?,?,?,?,?,?,?)"
            } else {
                ",(?,?,?,?,?,?,?,?,?,?,?)"
            });
            p.extend([
                SqlValue::Integer(*key),
                SqlValue::Text(ts(e.at)),
                SqlValue::Text(e.method.clone()),
                SqlValue::Text(e.path.clone()),
                SqlValue::Integer(i64::from(e.status)),
                SqlValue::Integer(e.latency_us),
                text(&e.scim_type),
                text(&e.detail),
                text(&e.resource_id),
                text(&e.credential),
                text(&e.body),
            ]);
        }
        conn.prepare_cached(&sql)?.execute(params_from_iter(p))?;
    }
    Ok(())
}

fn read(conn: &Connection, tenant: TenantId, q: &RequestQuery) -> Result<Vec<LoggedRequest>> {
    let (lo, hi) = q.status.range();
    let since = q.since.map(ts).unwrap_or_default();
    let first = span::bounds(tenant).0;
    let last = span::key(tenant, q.before.map_or(i64::MAX, |b| b - 1));
    let mut stmt = conn.prepare_cached(
        "SELECT n, at, method, path, status, latency_us, scim_type, detail, resource_id, credential, body \
         FROM request_log WHERE n > ?1 AND n <= ?2 AND status >= ?3 AND status < ?4 AND at >= ?5 \
         ORDER BY n DESC LIMIT ?6",
    )?;
    let rows = stmt.query_map(params![first, last, lo, hi, since, q.limit as i64], |r| {
        Ok(LoggedRequest {
            seq: span::seq(r.get(0)?),
            entry: RequestEntry {
                tenant,
                at: get_ts(r, 1)?,
                method: r.get(2)?,
                path: r.get(3)?,
                status: r.get(4)?,
                latency_us: r.get(5)?,
                scim_type: r.get(6)?,
                detail: r.get(7)?,
                resource_id: r.get(8)?,
                credential: r.get(9)?,
                body: r.get(10)?,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Removes the tenant's entries beyond the newest `keep`, then the oldest ones up to the
/// first that is not older than `before` (entries are appended in time order).
fn prune(conn: &Connection, tenant: TenantId, keep: usize, before: &str) -> Result<u64> {
    let newest = span::newest(conn, Keyed::RequestLog, tenant)?;
    let over = span::delete(conn, Keyed::RequestLog, tenant, 0, newest - keep as i64)?;
    let (lo, hi) = span::bounds(tenant);
    let stays: Option<i64> = conn
        .prepare_cached("SELECT n FROM request_log WHERE n > ?1 AND n <= ?2 AND at >= ?3 ORDER BY n LIMIT 1")?
        .query_row(params![lo, hi, before], |r| r.get(0))
        .optional()?;
    let upto = stays.map_or(newest, |n| span::seq(n) - 1);
    let old = span::delete(conn, Keyed::RequestLog, tenant, 0, upto)?;
    Ok(over + old)
}

#[async_trait]
impl RequestLogStore for SqliteStore {
    async fn append_requests(&self, entries: Vec<RequestEntry>) -> std::result::Result<(), CoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.writer
            .write(move |conn| {
                let keys = number(conn, &entries)?;
                insert(conn, &entries, &keys)?;
                Ok(())
            })
            .await
    }

    async fn requests(&self, tenant: TenantId, q: &RequestQuery) -> std::result::Result<Vec<LoggedRequest>, CoreError> {
        self.readers.read(|conn| read(conn, tenant, q))
    }

    async fn prune_requests(
        &self,
        tenant: TenantId,
        keep: usize,
        before: Timestamp,
    ) -> std::result::Result<u64, CoreError> {
        let before = ts(before);
        self.writer.write(move |conn| prune(conn, tenant, keep, &before)).await
    }
}
