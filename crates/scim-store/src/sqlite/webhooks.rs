//! `WebhookStore` on SQLite: endpoints with their delivery cursors, and per-tenant leases.

use async_trait::async_trait;
use rusqlite::{Connection, params};
use scim_core::ports::{Delivery, NewWebhook, TenantId, Webhook, WebhookStore};
use scim_core::{CoreError, Timestamp};

use super::{SqliteStore, get_ts, get_ts_opt, span, ts, ts_opt};
use crate::error::Result;
use crate::rules::{events_text, parse_events};
use crate::token;

const COLUMNS: &str = "webhooks.tenant_id, id, url, events, secret, created, delivered, attempts, next_attempt, \
                       failing_since, last_error, last_success, failing, \
                       (SELECT name FROM tenants t WHERE t.id = webhooks.tenant_id)";

fn webhook(r: &rusqlite::Row<'_>) -> rusqlite::Result<Webhook> {
    Ok(Webhook {
        tenant: r.get(0)?,
        id: r.get(1)?,
        url: r.get(2)?,
        events: parse_events(&r.get::<_, String>(3)?),
        secret: r.get(4)?,
        created: get_ts(r, 5)?,
        delivery: Delivery {
            delivered: r.get(6)?,
            attempts: r.get(7)?,
            next_attempt: get_ts_opt(r, 8)?,
            failing_since: get_ts_opt(r, 9)?,
            last_error: r.get(10)?,
            last_success: get_ts_opt(r, 11)?,
            failing: r.get(12)?,
        },
        tenant_name: r.get(13)?,
    })
}

fn read_hooks(conn: &Connection, tenant: TenantId) -> Result<Vec<Webhook>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM webhooks WHERE tenant_id = ?1 ORDER BY created, id"
    ))?;
    let rows = stmt.query_map([tenant], webhook)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn write_delivery(conn: &Connection, tenant: TenantId, id: &str, d: &Delivery) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE webhooks SET delivered = ?3, attempts = ?4, next_attempt = ?5, failing_since = ?6, \
             last_error = ?7, last_success = ?8, failing = ?9 WHERE tenant_id = ?1 AND id = ?2",
        )?
        .execute(params![
            tenant,
            id,
            d.delivered,
            d.attempts,
            ts_opt(d.next_attempt),
            ts_opt(d.failing_since),
            d.last_error,
            ts_opt(d.last_success),
            d.failing
        ])?;
    Ok(n == 1)
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(
        &self,
        tenant: TenantId,
        hook: NewWebhook,
        now: Timestamp,
    ) -> std::result::Result<Webhook, CoreError> {
        let (id, secret) = (token::webhook_id(), token::webhook_secret());
        self.writer
            .write(move |conn| {
                let last = super::feed::position(conn, tenant)?.last;
                let tenant_name: String = conn
                    .prepare_cached("SELECT name FROM tenants WHERE id = ?1")?
                    .query_row([tenant], |r| r.get(0))?;
                conn.prepare_cached(
                    "INSERT INTO webhooks (tenant_id, id, url, events, secret, created, delivered) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    tenant,
                    id,
                    hook.url,
                    events_text(&hook.events),
                    secret,
                    ts(now),
                    last
                ])?;
                conn.prepare_cached(
                    "INSERT INTO webhook_leases (tenant_id, holder, expires) VALUES (?1, '', ?2) \
                     ON CONFLICT (tenant_id) DO NOTHING",
                )?
                .execute(params![tenant, ts(now)])?;
                Ok(hook.created(id, tenant, tenant_name, secret, now, last))
            })
            .await
    }

    async fn webhooks(&self, tenant: TenantId) -> std::result::Result<Vec<Webhook>, CoreError> {
        self.readers.read(|conn| read_hooks(conn, tenant))
    }

    async fn delete_webhook(&self, tenant: TenantId, id: &str) -> std::result::Result<bool, CoreError> {
        let id = id.to_string();
        self.writer
            .write(move |conn| {
                let n = conn
                    .prepare_cached("DELETE FROM webhooks WHERE tenant_id = ?1 AND id = ?2")?
                    .execute(params![tenant, id])?;
                Ok(n == 1)
            })
            .await
    }

    async fn record_delivery(
        &self,
        tenant: TenantId,
        id: &str,
        delivery: &Delivery,
        holder: &str,
        now: Timestamp,
    ) -> std::result::Result<bool, CoreError> {
        let (id, d, holder) = (id.to_string(), delivery.clone(), holder.to_string());
        self.writer
            .write(move |conn| {
                let held = conn
                    .prepare_cached(
                        "SELECT 1 FROM webhook_leases WHERE tenant_id = ?1 AND holder = ?2 AND expires > ?3",
                    )?
                    .exists(params![tenant, holder, ts(now)])?;
                if !held {
                    return Ok(false);
                }
                write_delivery(conn, tenant, &id, &d)
            })
            .await
    }

    async fn reset_delivery(
        &self,
        tenant: TenantId,
        id: &str,
        delivery: &Delivery,
    ) -> std::result::Result<bool, CoreError> {
        let (id, d) = (id.to_string(), delivery.clone());
        self.writer
            .write(move |conn| write_delivery(conn, tenant, &id, &d))
            .await
    }

    async fn acquire_leases(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
        max: usize,
    ) -> std::result::Result<Vec<TenantId>, CoreError> {
        let holder = holder.to_string();
        self.writer
            .write(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "UPDATE webhook_leases SET holder = ?1, expires = ?3 WHERE tenant_id IN (
                        SELECT l.tenant_id FROM webhook_leases l
                        WHERE (l.holder = ?1 OR l.expires <= ?2)
                          AND EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = l.tenant_id)
                        ORDER BY l.tenant_id LIMIT ?4)
                     RETURNING tenant_id",
                )?;
                let rows = stmt.query_map(params![holder, ts(now), ts(until), max as i64], |r| r.get(0))?;
                let mut held: Vec<TenantId> = rows.collect::<rusqlite::Result<_>>()?;
                held.sort_unstable();
                Ok(held)
            })
            .await
    }

    async fn due_webhooks(&self, holder: &str, now: Timestamp) -> std::result::Result<Vec<Webhook>, CoreError> {
        self.readers.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM webhooks
                 JOIN webhook_leases l ON l.tenant_id = webhooks.tenant_id
                 WHERE l.holder = ?1 AND l.expires > ?2 AND NOT webhooks.failing
                   AND (webhooks.next_attempt IS NULL OR webhooks.next_attempt <= ?2)
                   AND EXISTS (SELECT 1 FROM journal j WHERE j.n > (webhooks.tenant_id << {bits}) + webhooks.delivered
                     AND j.n <= (webhooks.tenant_id << {bits}) + {mask})
                 ORDER BY webhooks.tenant_id, webhooks.created, webhooks.id",
                bits = span::SEQ_BITS,
                mask = span::SEQ_MASK
            ))?;
            let rows = stmt.query_map(params![holder, ts(now)], webhook)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    async fn release_leases(&self, holder: &str, tenants: &[TenantId]) -> std::result::Result<(), CoreError> {
        let (holder, tenants) = (holder.to_string(), tenants.to_vec());
        self.writer
            .write(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "UPDATE webhook_leases SET holder = '', expires = '0000' WHERE tenant_id = ?1 AND holder = ?2",
                )?;
                for t in tenants {
                    stmt.execute(params![t, holder])?;
                }
                Ok(())
            })
            .await
    }
}
