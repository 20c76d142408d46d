//! `TenantStore` on SQLite: tenants and their hashed bearer tokens.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use scim_core::ports::{Authenticated, IssuedToken, Secret, Tenant, TenantId, TenantRate, TenantStore, TokenInfo};
use scim_core::{CoreError, Timestamp};

use super::{SqliteStore, get_ts, get_ts_opt, is_unique_violation, span, ts, ts_opt};
use crate::error::StoreError;
use crate::rules::{TENANT_TABLES, check_tenant_name, revocation_prefix, tenant_exists};
use crate::token;

fn tenant_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        name: r.get(1)?,
        created: get_ts(r, 2)?,
        secret: Secret(r.get::<_, Option<Vec<u8>>>(3)?.unwrap_or_default()),
        rate: match (r.get::<_, Option<u32>>(4)?, r.get::<_, Option<u32>>(5)?) {
            (Some(per_second), Some(burst)) => Some(TenantRate { per_second, burst }),
            _ => None,
        },
    })
}

/// The columns [`tenant_row`] reads.
const TENANT_COLUMNS: &str = "id, name, created, secret, rate_per_second, rate_burst";

/// The token lookup of every SCIM request.
pub(super) const AUTHENTICATE: &str = "SELECT t.id, t.name, t.created, t.secret, t.rate_per_second, t.rate_burst, k.client_id \
     FROM tokens k JOIN tenants t ON t.id = k.tenant_id \
     WHERE k.hash = ?1 AND t.name = ?3 AND k.revoked IS NULL AND (k.expires IS NULL OR k.expires > ?2)";

#[async_trait]
impl TenantStore for SqliteStore {
    async fn authenticate(&self, tenant: &str, tok: &str, now: Timestamp) -> Result<Option<Authenticated>, CoreError> {
        let hash = token::hash(tok);
        self.readers.read(|conn| {
            Ok(conn
                .prepare_cached(AUTHENTICATE)?
                .query_row(params![&hash[..], ts(now), tenant], |r| {
                    Ok(Authenticated {
                        tenant: tenant_row(r)?,
                        client_id: r.get(6)?,
                    })
                })
                .optional()?)
        })
    }

    async fn create_tenant(&self, name: &str, now: Timestamp) -> Result<Tenant, CoreError> {
        check_tenant_name(name)?;
        let name = name.to_string();
        let secret = token::tenant_secret();
        self.writer
            .write(move |conn| {
                let top: TenantId = conn
                    .prepare_cached("SELECT coalesce(max(id), 0) FROM tenants")?
                    .query_row([], |r| r.get(0))?;
                if top >= span::MAX_TENANT {
                    return Err(StoreError::Core(CoreError::TooMany(format!(
                        "a SQLite store holds tenant ids up to {}; use PostgreSQL for more tenants",
                        span::MAX_TENANT
                    ))));
                }
                let res = conn
                    .prepare_cached("INSERT INTO tenants (name, created, secret) VALUES (?1, ?2, ?3)")?
                    .execute(params![name, ts(now), secret.0]);
                match res {
                    Err(e) if is_unique_violation(&e) => {
                        return Err(tenant_exists(&name));
                    }
                    other => other?,
                };
                Ok(Tenant {
                    id: conn.last_insert_rowid(),
                    name,
                    created: now,
                    secret,
                    rate: None,
                })
            })
            .await
    }

    async fn tenant(&self, name: &str) -> Result<Option<Tenant>, CoreError> {
        self.readers.read(|conn| {
            Ok(conn
                .prepare_cached(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE name = ?1"))?
                .query_row([name], tenant_row)
                .optional()?)
        })
    }

    async fn tenants(&self) -> Result<Vec<Tenant>, CoreError> {
        self.readers.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name"))?;
            let rows = stmt.query_map([], tenant_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    async fn set_tenant_rate(&self, tenant: TenantId, rate: Option<TenantRate>) -> Result<bool, CoreError> {
        self.writer
            .write(move |conn| {
                let n = conn
                    .prepare_cached("UPDATE tenants SET rate_per_second = ?1, rate_burst = ?2 WHERE id = ?3")?
                    .execute(params![rate.map(|r| r.per_second), rate.map(|r| r.burst), tenant])?;
                Ok(n > 0)
            })
            .await
    }

    async fn issue_token(
        &self,
        tenant: TenantId,
        expires: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<IssuedToken, CoreError> {
        let new = token::NewSecret::from(token::generate());
        let (prefix, hash) = (new.prefix.clone(), new.hash);
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO tokens (tenant_id, prefix, hash, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![tenant, prefix, &hash[..], ts(now), ts_opt(expires)])?;
                Ok(())
            })
            .await?;
        Ok(new.issued(expires))
    }

    async fn tokens(&self, tenant: TenantId) -> Result<Vec<TokenInfo>, CoreError> {
        self.readers.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT prefix, created, expires, revoked, last_used FROM tokens WHERE tenant_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([tenant], |r| {
                Ok(TokenInfo {
                    prefix: r.get(0)?,
                    created: get_ts(r, 1)?,
                    expires: get_ts_opt(r, 2)?,
                    revoked: get_ts_opt(r, 3)?,
                    last_used: get_ts_opt(r, 4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    async fn revoke_tokens(&self, tenant: TenantId, prefix: &str, now: Timestamp) -> Result<u64, CoreError> {
        let given = revocation_prefix(prefix)?;
        self.writer
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE tokens SET revoked = ?1 WHERE tenant_id = ?2 AND revoked IS NULL \
                         AND substr(prefix, 1, length(?3)) = ?3",
                    )?
                    .execute(params![ts(now), tenant, given])?;
                Ok(n as u64)
            })
            .await
    }

    async fn delete_tenant(&self, tenant: TenantId) -> Result<bool, CoreError> {
        self.writer
            .write(move |conn| {
                // Children first; the table names are fixed. The keyed tables hold the
                // tenant in their row ids, not in a column.
                span::delete_tenant(conn, tenant)?;
                conn.prepare_cached("DELETE FROM request_seq WHERE tenant_id = ?1")?
                    .execute([tenant])?;
                for table in TENANT_TABLES
                    .iter()
                    .filter(|t| !span::Keyed::ALL.iter().any(|k| k.table() == **t))
                {
                    conn.prepare_cached(&format!("DELETE FROM {table} WHERE tenant_id = ?1"))?
                        .execute([tenant])?;
                }
                let n = conn
                    .prepare_cached("DELETE FROM tenants WHERE id = ?1")?
                    .execute([tenant])?;
                Ok(n > 0)
            })
            .await
    }

    async fn touch_token(&self, tenant: TenantId, tok: &str, now: Timestamp) -> Result<(), CoreError> {
        let hash = token::hash(tok);
        let stale = Timestamp::new(now.datetime() - time::Duration::MINUTE);
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE tokens SET last_used = ?1 WHERE tenant_id = ?2 AND hash = ?3 \
                     AND (last_used IS NULL OR last_used < ?4)",
                )?
                .execute(params![ts(now), tenant, &hash[..], ts(stale)])?;
                Ok(())
            })
            .await
    }
}
