//! `RequestLogStore` on SQLite: one writer job per batch of entries.

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter};
use scim_core::ports::{LoggedRequest, RequestEntry, RequestLogStore, RequestQuery, TenantId};
use scim_core::{CoreError, Timestamp};

use super::{SqliteStore, get_ts, ts};

/// Rows per multi-row INSERT (11 parameters each, under SQLite's limit).
const CHUNK: usize = 80;

fn text(s: &Option<String>) -> SqlValue {
    s.clone().map_or(SqlValue::Null, SqlValue::Text)
}

#[async_trait]
impl RequestLogStore for SqliteStore {
    async fn append_requests(&self, entries: Vec<RequestEntry>) -> Result<(), CoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.writer
            .write(move |conn| {
                for chunk in entries.chunks(CHUNK) {
                    let mut sql = String::from(
                        "INSERT INTO request_log (tenant_id, at, method, path, status, latency_us, scim_type, \
                         detail, resource_id, credential, body) VALUES ",
                    );
                    let mut p: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 11);
                    for (i, e) in chunk.iter().enumerate() {
                        sql.push_str(if i == 0 {
                            "(?,?,?,?,?,?,?,?,?,?,?)"
                        } else {
                            ",(?,?,?,?,?,?,?,?,?,?,?)"
                        });
                        p.extend([
                            SqlValue::Integer(e.tenant),
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
            })
            .await
    }

    async fn requests(&self, tenant: TenantId, q: &RequestQuery) -> Result<Vec<LoggedRequest>, CoreError> {
        let (lo, hi) = q.status.range();
        let since = q.since.map(ts).unwrap_or_default();
        let before = q.before.unwrap_or(i64::MAX);
        self.readers.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT n, tenant_id, at, method, path, status, latency_us, scim_type, detail, resource_id, credential, body \
                 FROM request_log WHERE tenant_id = ?1 AND n < ?2 AND status >= ?3 AND status < ?4 AND at >= ?5 \
                 ORDER BY n DESC LIMIT ?6",
            )?;
            let rows = stmt.query_map(params![tenant, before, lo, hi, since, q.limit as i64], |r| {
                Ok(LoggedRequest {
                    seq: r.get(0)?,
                    entry: RequestEntry {
                        tenant: r.get(1)?,
                        at: get_ts(r, 2)?,
                        method: r.get(3)?,
                        path: r.get(4)?,
                        status: r.get(5)?,
                        latency_us: r.get(6)?,
                        scim_type: r.get(7)?,
                        detail: r.get(8)?,
                        resource_id: r.get(9)?,
                        credential: r.get(10)?,
                        body: r.get(11)?,
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    async fn prune_requests(&self, tenant: TenantId, keep: usize, before: Timestamp) -> Result<u64, CoreError> {
        self.writer
            .write(move |conn| {
                let over = conn
                    .prepare_cached(
                        "DELETE FROM request_log WHERE tenant_id = ?1 AND n <= (SELECT n FROM request_log \
                         WHERE tenant_id = ?1 ORDER BY n DESC LIMIT 1 OFFSET ?2)",
                    )?
                    .execute(params![tenant, keep as i64])?;
                let old = conn
                    .prepare_cached("DELETE FROM request_log WHERE tenant_id = ?1 AND at < ?2")?
                    .execute(params![tenant, ts(before)])?;
                Ok((over + old) as u64)
            })
            .await
    }
}
