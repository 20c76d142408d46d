//! `WebhookStore` on PostgreSQL. Replicas claim tenants' leases with `FOR UPDATE SKIP
//! LOCKED`, so two replicas claiming at once never wait for each other or both win.

use async_trait::async_trait;
use scim_core::ports::{Delivery, NewWebhook, TenantId, Webhook, WebhookStore};
use scim_core::{CoreError, Timestamp};
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::PgStore;
use crate::error::{Result, StoreError};
use crate::rules::{events_text, parse_events};
use crate::token;

type R<T> = std::result::Result<T, CoreError>;

const COLUMNS: &str = "webhooks.tenant_id, id, url, events, secret, created, delivered, attempts, next_attempt, \
                       failing_since, last_error, last_success, failing, \
                       (SELECT name FROM tenants t WHERE t.id = webhooks.tenant_id)";

fn ts(r: &Row, i: usize) -> Option<Timestamp> {
    r.get::<_, Option<OffsetDateTime>>(i).map(Timestamp::new)
}

fn webhook(r: &Row) -> Webhook {
    Webhook {
        tenant: r.get(0),
        id: r.get(1),
        url: r.get(2),
        events: parse_events(r.get(3)),
        secret: r.get(4),
        created: Timestamp::new(r.get(5)),
        delivery: Delivery {
            delivered: r.get(6),
            attempts: u32::try_from(r.get::<_, i64>(7)).unwrap_or(u32::MAX),
            next_attempt: ts(r, 8),
            failing_since: ts(r, 9),
            last_error: r.get(10),
            last_success: ts(r, 11),
            failing: r.get(12),
        },
        tenant_name: r.get(13),
    }
}

const WRITE_DELIVERY: &str = "UPDATE webhooks SET delivered = $3, attempts = $4, next_attempt = $5, \
    failing_since = $6, last_error = $7, last_success = $8, failing = $9 WHERE tenant_id = $1 AND id = $2";

/// Only while `$10` holds the tenant's lease at `$11`.
const RECORD_DELIVERY: &str = "UPDATE webhooks SET delivered = $3, attempts = $4, next_attempt = $5, \
    failing_since = $6, last_error = $7, last_success = $8, failing = $9 WHERE tenant_id = $1 AND id = $2 \
    AND EXISTS (SELECT 1 FROM webhook_leases l WHERE l.tenant_id = $1 AND l.holder = $10 AND l.expires > $11)";

const ACQUIRE: &str = "WITH c AS (
    SELECT l.tenant_id FROM webhook_leases l
    WHERE (l.holder = $1 OR l.expires <= $2)
      AND EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = l.tenant_id)
    ORDER BY l.tenant_id LIMIT $4 FOR UPDATE SKIP LOCKED)
UPDATE webhook_leases l SET holder = $1, expires = $3 FROM c WHERE l.tenant_id = c.tenant_id
RETURNING l.tenant_id";

impl PgStore {
    async fn write_delivery(
        &self,
        key: (TenantId, &str),
        d: &Delivery,
        lease: Option<(&str, Timestamp)>,
    ) -> Result<bool> {
        let c = self.conn().await?;
        let at = |t: Option<Timestamp>| t.map(|t| t.datetime());
        let (next, since, success) = (at(d.next_attempt), at(d.failing_since), at(d.last_success));
        let attempts = i64::from(d.attempts);
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &key.0,
            &key.1,
            &d.delivered,
            &attempts,
            &next,
            &since,
            &d.last_error,
            &success,
            &d.failing,
        ];
        let holder_at = lease.map(|(h, now)| (h.to_string(), now.datetime()));
        let sql = match &holder_at {
            Some((h, now)) => {
                params.push(h);
                params.push(now);
                RECORD_DELIVERY
            }
            None => WRITE_DELIVERY,
        };
        let stmt = c.prepare_cached(sql).await?;
        Ok(c.execute(&stmt, &params).await? == 1)
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, tenant: TenantId, hook: NewWebhook, now: Timestamp) -> R<Webhook> {
        let (id, secret) = (token::webhook_id(), token::webhook_secret());
        let run = async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            let last: i64 = tx
                .query_one(
                    "SELECT coalesce(max(last), 0)::int8 FROM feed_seq WHERE tenant_id = $1",
                    &[&tenant],
                )
                .await?
                .get(0);
            let name: String = tx
                .query_one("SELECT name FROM tenants WHERE id = $1", &[&tenant])
                .await?
                .get(0);
            tx.execute(
                "INSERT INTO webhooks (tenant_id, id, url, events, secret, created, delivered) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &tenant,
                    &id,
                    &hook.url,
                    &events_text(&hook.events),
                    &secret,
                    &now.datetime(),
                    &last,
                ],
            )
            .await?;
            tx.execute(
                "INSERT INTO webhook_leases (tenant_id, holder, expires) VALUES ($1, '', '-infinity') \
                 ON CONFLICT (tenant_id) DO NOTHING",
                &[&tenant],
            )
            .await?;
            tx.commit().await?;
            Ok::<_, StoreError>((last, name))
        };
        let (last, tenant_name) = run.await?;
        Ok(hook.created(id, tenant, tenant_name, secret, now, last))
    }

    async fn webhooks(&self, tenant: TenantId) -> R<Vec<Webhook>> {
        let run = async {
            let c = self.conn().await?;
            let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE tenant_id = $1 ORDER BY created, id");
            let rows = c.query(&sql, &[&tenant]).await?;
            Ok::<_, StoreError>(rows.iter().map(webhook).collect())
        };
        Ok(run.await?)
    }

    async fn delete_webhook(&self, tenant: TenantId, id: &str) -> R<bool> {
        let run = async {
            let c = self.conn().await?;
            let n = c
                .execute("DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2", &[&tenant, &id])
                .await?;
            Ok::<_, StoreError>(n == 1)
        };
        Ok(run.await?)
    }

    async fn record_delivery(&self, tenant: TenantId, id: &str, d: &Delivery, holder: &str, now: Timestamp) -> R<bool> {
        Ok(self.write_delivery((tenant, id), d, Some((holder, now))).await?)
    }

    async fn reset_delivery(&self, tenant: TenantId, id: &str, d: &Delivery) -> R<bool> {
        Ok(self.write_delivery((tenant, id), d, None).await?)
    }

    async fn acquire_leases(&self, holder: &str, now: Timestamp, until: Timestamp, max: usize) -> R<Vec<TenantId>> {
        let run = async {
            let c = self.conn().await?;
            let rows = c
                .query(ACQUIRE, &[&holder, &now.datetime(), &until.datetime(), &(max as i64)])
                .await?;
            let mut held: Vec<TenantId> = rows.iter().map(|r| r.get(0)).collect();
            held.sort_unstable();
            Ok::<_, StoreError>(held)
        };
        Ok(run.await?)
    }

    async fn due_webhooks(&self, holder: &str, now: Timestamp) -> R<Vec<Webhook>> {
        let run = async {
            let c = self.conn().await?;
            let sql = format!(
                "SELECT {COLUMNS} FROM webhooks
                 JOIN webhook_leases l ON l.tenant_id = webhooks.tenant_id
                 JOIN feed_seq f ON f.tenant_id = webhooks.tenant_id
                 WHERE l.holder = $1 AND l.expires > $2 AND NOT webhooks.failing
                   AND (webhooks.next_attempt IS NULL OR webhooks.next_attempt <= $2)
                   AND webhooks.delivered < f.last
                 ORDER BY webhooks.tenant_id, webhooks.created, webhooks.id"
            );
            let stmt = c.prepare_cached(&sql).await?;
            let rows = c.query(&stmt, &[&holder, &now.datetime()]).await?;
            Ok::<_, StoreError>(rows.iter().map(webhook).collect())
        };
        Ok(run.await?)
    }

    async fn release_leases(&self, holder: &str, tenants: &[TenantId]) -> R<()> {
        let run = async {
            let c = self.conn().await?;
            c.execute(
                "UPDATE webhook_leases SET holder = '', expires = '-infinity' WHERE tenant_id = ANY($2) AND holder = $1",
                &[&holder, &tenants],
            )
            .await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }
}
