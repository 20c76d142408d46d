//! `AuditStore` on SQLite.

use async_trait::async_trait;
use rusqlite::params;
use scim_core::CoreError;
use scim_core::ports::{AuditEntry, AuditQuery, AuditRecord, AuditStore};

use super::{SqliteStore, get_ts, ts};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, e: AuditEntry) -> Result<i64, CoreError> {
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO audit_log (at, actor, action, tenant, target, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![ts(e.at), e.actor, e.action, e.tenant, e.target, e.detail])?;
                Ok(conn.last_insert_rowid())
            })
            .await
    }

    async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>, CoreError> {
        let q = q.clone();
        self.readers.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, at, actor, action, tenant, target, detail FROM audit_log \
                 WHERE seq < ?1 AND (?2 IS NULL OR tenant = ?2) ORDER BY seq DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![q.before.unwrap_or(i64::MAX), q.tenant, q.limit as i64], |r| {
                Ok(AuditRecord {
                    seq: r.get(0)?,
                    entry: AuditEntry {
                        at: get_ts(r, 1)?,
                        actor: r.get(2)?,
                        action: r.get(3)?,
                        tenant: r.get(4)?,
                        target: r.get(5)?,
                        detail: r.get(6)?,
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
