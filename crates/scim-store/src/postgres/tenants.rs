//! `TenantStore` on PostgreSQL: tenants and their hashed bearer tokens, keyed by tenant.

use async_trait::async_trait;
use scim_core::ports::{Authenticated, IssuedToken, Secret, Tenant, TenantId, TenantRate, TenantStore, TokenInfo};
use scim_core::{CoreError, Timestamp};
use tokio_postgres::Row;

use super::{PgStore, is_unique_violation, pg_text};
use crate::error::StoreError;
use crate::rules::{TENANT_TABLES, check_tenant_name, revocation_prefix, tenant_exists};
use crate::token;

type R<T> = Result<T, CoreError>;

fn tenant_row(r: &Row) -> Tenant {
    Tenant {
        id: r.get(0),
        name: r.get(1),
        created: Timestamp::new(r.get(2)),
        secret: Secret(r.get(3)),
        rate: match (r.get::<_, Option<i32>>(4), r.get::<_, Option<i32>>(5)) {
            (Some(per_second), Some(burst)) => Some(TenantRate {
                per_second: per_second.max(1) as u32,
                burst: burst.max(1) as u32,
            }),
            _ => None,
        },
    }
}

/// The columns [`tenant_row`] reads.
const TENANT_COLUMNS: &str = "id, name, created, secret, rate_per_second, rate_burst";

fn ts(r: &Row, i: usize) -> Option<Timestamp> {
    r.get::<_, Option<time::OffsetDateTime>>(i).map(Timestamp::new)
}

/// A row of `prefix, created, expires, revoked`.
pub(super) fn token_info(r: &Row) -> TokenInfo {
    TokenInfo {
        prefix: r.get(0),
        created: Timestamp::new(r.get(1)),
        expires: ts(r, 2),
        revoked: ts(r, 3),
        last_used: None,
    }
}

#[async_trait]
impl TenantStore for PgStore {
    async fn authenticate(&self, tenant: &str, tok: &str, now: Timestamp) -> R<Option<Authenticated>> {
        let hash = token::hash(tok).to_vec();
        let run = async {
            let c = self.conn().await?;
            let stmt = c
                .prepare_cached(
                    "SELECT t.id, t.name, t.created, t.secret, t.rate_per_second, t.rate_burst, k.client_id FROM tenants t JOIN tokens k ON k.tenant_id = t.id \
                     WHERE t.name = $1 AND k.hash = $2 AND k.revoked IS NULL AND (k.expires IS NULL OR k.expires > $3)",
                )
                .await?;
            let row = c
                .query_opt(&stmt, &[&pg_text(tenant).as_ref(), &hash, &now.datetime()])
                .await?;
            Ok::<_, StoreError>(row.as_ref().map(|r| Authenticated {
                tenant: tenant_row(r),
                client_id: r.get(6),
            }))
        };
        Ok(run.await?)
    }

    async fn create_tenant(&self, name: &str, now: Timestamp) -> R<Tenant> {
        check_tenant_name(name)?;
        let c = self.conn().await?;
        let res = c
            .query_one(
                "INSERT INTO tenants (name, created, secret) VALUES ($1, $2, $3) RETURNING id, name, created, secret, rate_per_second, rate_burst",
                &[&name, &now.datetime(), &token::tenant_secret().0],
            )
            .await;
        match res {
            Ok(row) => Ok(tenant_row(&row)),
            Err(e) if is_unique_violation(&e) => Err(tenant_exists(name).into()),
            Err(e) => Err(StoreError::from(e).into()),
        }
    }

    async fn tenant(&self, name: &str) -> R<Option<Tenant>> {
        let run = async {
            let c = self.conn().await?;
            let row = c
                .query_opt(
                    &format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE name = $1"),
                    &[&pg_text(name).as_ref()],
                )
                .await?;
            Ok::<_, StoreError>(row.as_ref().map(tenant_row))
        };
        Ok(run.await?)
    }

    async fn tenants(&self) -> R<Vec<Tenant>> {
        let run = async {
            let c = self.conn().await?;
            let rows = c
                .query(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name"), &[])
                .await?;
            Ok::<_, StoreError>(rows.iter().map(tenant_row).collect())
        };
        Ok(run.await?)
    }

    async fn set_tenant_rate(&self, tenant: TenantId, rate: Option<TenantRate>) -> R<bool> {
        let run = async {
            let c = self.conn().await?;
            let column = |f: fn(&TenantRate) -> u32| rate.as_ref().map(|r| f(r).min(i32::MAX as u32) as i32);
            let n = c
                .execute(
                    "UPDATE tenants SET rate_per_second = $1, rate_burst = $2 WHERE id = $3",
                    &[&column(|r| r.per_second), &column(|r| r.burst), &tenant],
                )
                .await?;
            Ok::<_, StoreError>(n > 0)
        };
        Ok(run.await?)
    }

    async fn issue_token(&self, tenant: TenantId, expires: Option<Timestamp>, now: Timestamp) -> R<IssuedToken> {
        let new = token::NewSecret::from(token::generate());
        let run = async {
            let c = self.conn().await?;
            c.execute(
                "INSERT INTO tokens (tenant_id, hash, prefix, created, expires) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &tenant,
                    &new.hash.to_vec(),
                    &new.prefix,
                    &now.datetime(),
                    &expires.map(|t| t.datetime()),
                ],
            )
            .await?;
            Ok::<_, StoreError>(())
        };
        run.await?;
        Ok(new.issued(expires))
    }

    async fn tokens(&self, tenant: TenantId) -> R<Vec<TokenInfo>> {
        let run = async {
            let c = self.conn().await?;
            let rows = c
                .query(
                    "SELECT prefix, created, expires, revoked, last_used FROM tokens WHERE tenant_id = $1 ORDER BY seq",
                    &[&tenant],
                )
                .await?;
            Ok::<_, StoreError>(
                rows.iter()
                    .map(|r| TokenInfo {
                        last_used: ts(r, 4),
                        ..token_info(r)
                    })
                    .collect(),
            )
        };
        Ok(run.await?)
    }

    async fn revoke_tokens(&self, tenant: TenantId, prefix: &str, now: Timestamp) -> R<u64> {
        let given = revocation_prefix(prefix)?;
        let run = async {
            let c = self.conn().await?;
            let n = c
                .execute(
                    "UPDATE tokens SET revoked = $1 WHERE tenant_id = $2 AND revoked IS NULL \
                     AND left(prefix, length($3)) = $3",
                    &[&now.datetime(), &tenant, &given],
                )
                .await?;
            Ok::<_, StoreError>(n)
        };
        Ok(run.await?)
    }

    async fn delete_tenant(&self, tenant: TenantId) -> R<bool> {
        let run = async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            // Lock the tenant first, so a concurrent delete waits instead of racing.
            let found = tx
                .query_opt("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", &[&tenant])
                .await?
                .is_some();
            if !found {
                return Ok::<_, StoreError>(false);
            }
            for table in TENANT_TABLES {
                // Table names come from the fixed list above.
                tx.execute(&format!("DELETE FROM {table} WHERE tenant_id = $1"), &[&tenant])
                    .await?;
            }
            tx.execute("DELETE FROM tenants WHERE id = $1", &[&tenant]).await?;
            tx.commit().await?;
            Ok(true)
        };
        Ok(run.await?)
    }

    async fn touch_token(&self, tenant: TenantId, tok: &str, now: Timestamp) -> R<()> {
        let hash = token::hash(tok).to_vec();
        let run = async {
            let c = self.conn().await?;
            c.execute(
                "UPDATE tokens SET last_used = $1 WHERE tenant_id = $2 AND hash = $3 \
                 AND (last_used IS NULL OR last_used < $4)",
                &[
                    &now.datetime(),
                    &tenant,
                    &hash,
                    &(now.datetime() - time::Duration::MINUTE),
                ],
            )
            .await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }
}
