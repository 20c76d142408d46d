//! `ClientStore` on SQLite: OAuth clients, their hashed secrets, and access tokens (rows of
//! `tokens` that carry the client's id).

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use scim_core::ports::{ClientInfo, ClientStore, IssuedClient, IssuedToken, TenantId, TokenInfo};
use scim_core::{CoreError, Timestamp};

use super::{SqliteStore, get_ts, get_ts_opt, ts, ts_opt};
use crate::error::StoreError;
use crate::rules::revocation_prefix;
use crate::token;

fn tenant_name(conn: &Connection, tenant: TenantId) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT name FROM tenants WHERE id = ?1")?
        .query_row([tenant], |r| r.get(0))
        .optional()?)
}

fn client_exists(conn: &Connection, tenant: TenantId, client_id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM clients WHERE tenant_id = ?1 AND client_id = ?2")?
        .query_row(params![tenant, client_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Inserts a new secret for the client; returns it.
fn add_secret(
    conn: &Connection,
    tenant: TenantId,
    client_id: &str,
    expires: Option<Timestamp>,
    now: Timestamp,
) -> Result<IssuedClient, StoreError> {
    let secret = token::generate_client_secret();
    let prefix = token::display_prefix(&secret);
    conn.prepare_cached(
        "INSERT INTO client_secrets (tenant_id, client_id, prefix, hash, created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![tenant, client_id, prefix, &token::hash(&secret)[..], ts(now), ts_opt(expires)])?;
    Ok(IssuedClient {
        client_id: client_id.to_string(),
        client_secret: secret,
        secret_prefix: prefix,
        expires,
    })
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(
        &self,
        tenant: TenantId,
        secret_expires: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<IssuedClient, CoreError> {
        self.writer
            .write(move |conn| {
                let name = tenant_name(conn, tenant)?
                    .ok_or_else(|| StoreError::Core(CoreError::NotFound("no such tenant".into())))?;
                let client_id = token::generate_client_id(&name);
                conn.prepare_cached("INSERT INTO clients (tenant_id, client_id, created) VALUES (?1, ?2, ?3)")?
                    .execute(params![tenant, client_id, ts(now)])?;
                add_secret(conn, tenant, &client_id, secret_expires, now)
            })
            .await
    }

    async fn add_client_secret(
        &self,
        tenant: TenantId,
        client_id: &str,
        expires: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Option<IssuedClient>, CoreError> {
        let client_id = client_id.to_string();
        self.writer
            .write(move |conn| {
                if !client_exists(conn, tenant, &client_id)? {
                    return Ok(None);
                }
                add_secret(conn, tenant, &client_id, expires, now).map(Some)
            })
            .await
    }

    async fn revoke_client_secret(
        &self,
        tenant: TenantId,
        client_id: &str,
        prefix: &str,
        now: Timestamp,
    ) -> Result<u64, CoreError> {
        let given = revocation_prefix(prefix)?;
        let client_id = client_id.to_string();
        self.writer
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE client_secrets SET revoked = ?1 WHERE tenant_id = ?2 AND client_id = ?3 \
                         AND revoked IS NULL AND substr(prefix, 1, length(?4)) = ?4",
                    )?
                    .execute(params![ts(now), tenant, client_id, given])?;
                Ok(n as u64)
            })
            .await
    }

    async fn clients(&self, tenant: TenantId) -> Result<Vec<ClientInfo>, CoreError> {
        self.readers.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT client_id, created FROM clients WHERE tenant_id = ?1 ORDER BY created, client_id",
            )?;
            let clients = stmt
                .query_map([tenant], |r| Ok((r.get::<_, String>(0)?, get_ts(r, 1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut secrets = conn.prepare_cached(
                "SELECT prefix, created, expires, revoked FROM client_secrets WHERE tenant_id = ?1 AND client_id = ?2 ORDER BY id",
            )?;
            let mut out = Vec::new();
            for (client_id, created) in clients {
                let list = secrets
                    .query_map(params![tenant, client_id], |r| {
                        Ok(TokenInfo {
                            prefix: r.get(0)?,
                            created: get_ts(r, 1)?,
                            expires: get_ts_opt(r, 2)?,
                            revoked: get_ts_opt(r, 3)?,
                            last_used: None,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                out.push(ClientInfo {
                    client_id,
                    created,
                    secrets: list,
                });
            }
            Ok(out)
        })
    }

    async fn delete_client(&self, tenant: TenantId, client_id: &str, now: Timestamp) -> Result<bool, CoreError> {
        let client_id = client_id.to_string();
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "UPDATE tokens SET revoked = ?1 WHERE tenant_id = ?2 AND client_id = ?3 AND revoked IS NULL",
                )?
                .execute(params![ts(now), tenant, client_id])?;
                conn.prepare_cached("DELETE FROM client_secrets WHERE tenant_id = ?1 AND client_id = ?2")?
                    .execute(params![tenant, client_id])?;
                let n = conn
                    .prepare_cached("DELETE FROM clients WHERE tenant_id = ?1 AND client_id = ?2")?
                    .execute(params![tenant, client_id])?;
                Ok(n > 0)
            })
            .await
    }

    async fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<Option<IssuedToken>, CoreError> {
        let Some(tenant) = token::client_tenant(client_id).map(str::to_string) else {
            return Ok(None);
        };
        let (client_id, hash) = (client_id.to_string(), token::hash(secret));
        self.writer
            .write(move |conn| {
                let found: Option<TenantId> = conn
                    .prepare_cached(
                        "SELECT t.id FROM tenants t JOIN client_secrets s ON s.tenant_id = t.id \
                         WHERE t.name = ?1 AND s.client_id = ?2 AND s.hash = ?3 AND s.revoked IS NULL \
                         AND (s.expires IS NULL OR s.expires > ?4)",
                    )?
                    .query_row(params![tenant, client_id, &hash[..], ts(now)], |r| r.get(0))
                    .optional()?;
                let Some(tenant_id) = found else { return Ok(None) };
                let access = token::generate();
                let prefix = token::display_prefix(&access);
                conn.prepare_cached(
                    "INSERT INTO tokens (tenant_id, prefix, hash, created, expires, client_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![tenant_id, prefix, &token::hash(&access)[..], ts(now), ts(expires), client_id])?;
                Ok(Some(IssuedToken {
                    token: access,
                    prefix,
                    expires: Some(expires),
                }))
            })
            .await
    }
}
