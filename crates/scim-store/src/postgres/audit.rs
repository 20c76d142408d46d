//! `AuditStore` on PostgreSQL.

use async_trait::async_trait;
use scim_core::ports::{AuditEntry, AuditQuery, AuditRecord, AuditStore};
use scim_core::{CoreError, Timestamp};

use super::{PgStore, pg_text};
use crate::error::StoreError;

type R<T> = Result<T, CoreError>;

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, e: AuditEntry) -> R<i64> {
        let run = async {
            let c = self.conn().await?;
            let text = |s: &Option<String>| s.as_deref().map(|s| pg_text(s).into_owned());
            let row = c
                .query_one(
                    "INSERT INTO audit_log (at, actor, action, tenant, target, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
                    &[
                        &e.at.datetime(),
                        &pg_text(&e.actor).as_ref(),
                        &pg_text(&e.action).as_ref(),
                        &text(&e.tenant),
                        &text(&e.target),
                        &text(&e.detail),
                    ],
                )
                .await?;
            Ok::<_, StoreError>(row.get(0))
        };
        Ok(run.await?)
    }

    async fn audit(&self, q: &AuditQuery) -> R<Vec<AuditRecord>> {
        let run = async {
            let c = self.conn().await?;
            let rows = c
                .query(
                    "SELECT seq, at, actor, action, tenant, target, detail FROM audit_log \
                     WHERE seq < $1 AND ($2::text IS NULL OR tenant = $2) ORDER BY seq DESC LIMIT $3",
                    &[&q.before.unwrap_or(i64::MAX), &q.tenant, &(q.limit as i64)],
                )
                .await?;
            Ok::<_, StoreError>(
                rows.iter()
                    .map(|r| AuditRecord {
                        seq: r.get(0),
                        entry: AuditEntry {
                            at: Timestamp::new(r.get(1)),
                            actor: r.get(2),
                            action: r.get(3),
                            tenant: r.get(4),
                            target: r.get(5),
                            detail: r.get(6),
                        },
                    })
                    .collect(),
            )
        };
        Ok(run.await?)
    }
}
