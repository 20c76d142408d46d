//! `RequestLogStore` on PostgreSQL: a batch is one `unnest` INSERT, outside the resource
//! writes' group commit.

use async_trait::async_trait;
use scim_core::ports::{LoggedRequest, RequestEntry, RequestLogStore, RequestQuery, TenantId};
use scim_core::{CoreError, Timestamp};
use time::OffsetDateTime;

use super::{PgStore, pg_text};
use crate::error::StoreError;

type R<T> = Result<T, CoreError>;

const APPEND: &str = "INSERT INTO request_log (tenant_id, at, method, path, status, latency_us, scim_type, \
    detail, resource_id, credential, body)
SELECT * FROM unnest($1::int8[], $2::timestamptz[], $3::text[], $4::text[], $5::int4[], $6::int8[], $7::text[],
    $8::text[], $9::text[], $10::text[], $11::text[])";

const READ: &str = "SELECT seq, tenant_id, at, method, path, status, latency_us, scim_type, detail, resource_id, \
    credential, body FROM request_log WHERE tenant_id = $1 AND seq < $2 AND status >= $3 AND status < $4 \
    AND at >= $5 ORDER BY seq DESC LIMIT $6";

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(|s| pg_text(s).into_owned())
}

#[async_trait]
impl RequestLogStore for PgStore {
    async fn append_requests(&self, entries: Vec<RequestEntry>) -> R<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let run = async {
            let c = self.conn().await?;
            let col = |f: &dyn Fn(&RequestEntry) -> Option<String>| entries.iter().map(f).collect::<Vec<_>>();
            let tenants: Vec<i64> = entries.iter().map(|e| e.tenant).collect();
            let ats: Vec<OffsetDateTime> = entries.iter().map(|e| e.at.datetime()).collect();
            let methods: Vec<String> = entries.iter().map(|e| e.method.clone()).collect();
            let paths: Vec<String> = entries.iter().map(|e| pg_text(&e.path).into_owned()).collect();
            let statuses: Vec<i32> = entries.iter().map(|e| i32::from(e.status)).collect();
            let latencies: Vec<i64> = entries.iter().map(|e| e.latency_us).collect();
            let (types, details) = (col(&|e| opt(&e.scim_type)), col(&|e| opt(&e.detail)));
            let (ids, creds, bodies) = (
                col(&|e| opt(&e.resource_id)),
                col(&|e| opt(&e.credential)),
                col(&|e| opt(&e.body)),
            );
            let stmt = c.prepare_cached(APPEND).await?;
            c.execute(
                &stmt,
                &[
                    &tenants, &ats, &methods, &paths, &statuses, &latencies, &types, &details, &ids, &creds, &bodies,
                ],
            )
            .await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }

    async fn requests(&self, tenant: TenantId, q: &RequestQuery) -> R<Vec<LoggedRequest>> {
        let (lo, hi) = q.status.range();
        let (lo, hi) = (i32::from(lo), i32::from(hi));
        let since = q.since.map_or(OffsetDateTime::UNIX_EPOCH, |t| t.datetime());
        let before = q.before.unwrap_or(i64::MAX);
        let run = async {
            let c = self.conn().await?;
            let stmt = c.prepare_cached(READ).await?;
            let rows = c
                .query(&stmt, &[&tenant, &before, &lo, &hi, &since, &(q.limit as i64)])
                .await?;
            Ok::<_, StoreError>(
                rows.iter()
                    .map(|r| LoggedRequest {
                        seq: r.get(0),
                        entry: RequestEntry {
                            tenant: r.get(1),
                            at: Timestamp::new(r.get(2)),
                            method: r.get(3),
                            path: r.get(4),
                            status: u16::try_from(r.get::<_, i32>(5)).unwrap_or(0),
                            latency_us: r.get(6),
                            scim_type: r.get(7),
                            detail: r.get(8),
                            resource_id: r.get(9),
                            credential: r.get(10),
                            body: r.get(11),
                        },
                    })
                    .collect(),
            )
        };
        Ok(run.await?)
    }

    async fn prune_requests(&self, tenant: TenantId, keep: usize, before: Timestamp) -> R<u64> {
        let run = async {
            let c = self.conn().await?;
            let over = c
                .execute(
                    "DELETE FROM request_log WHERE tenant_id = $1 AND seq <= (SELECT seq FROM request_log \
                     WHERE tenant_id = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)",
                    &[&tenant, &(keep as i64)],
                )
                .await?;
            let old = c
                .execute(
                    "DELETE FROM request_log WHERE tenant_id = $1 AND at < $2",
                    &[&tenant, &before.datetime()],
                )
                .await?;
            Ok::<_, StoreError>(over + old)
        };
        Ok(run.await?)
    }
}
