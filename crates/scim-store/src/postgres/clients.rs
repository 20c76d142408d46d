//! `ClientStore` on PostgreSQL: OAuth clients, their hashed secrets, and access tokens (rows
//! of `tokens` that carry the client's id).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use scim_core::ports::{ClientInfo, ClientStore, IssuedClient, IssuedToken, TenantId};
use scim_core::{CoreError, Timestamp};

use super::tenants::token_info;
use super::{PgStore, pg_text};
use crate::error::StoreError;
use crate::rules::revocation_prefix;
use crate::token;

type R<T> = Result<T, CoreError>;

async fn add_secret(
    c: &impl GenericClient,
    tenant: TenantId,
    client_id: &str,
    expires: Option<Timestamp>,
    now: Timestamp,
) -> Result<IssuedClient, StoreError> {
    let secret = token::generate_client_secret();
    let prefix = token::display_prefix(&secret);
    c.execute(
        "INSERT INTO client_secrets (tenant_id, client_id, hash, prefix, created, expires) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &tenant,
            &client_id,
            &token::hash(&secret).to_vec(),
            &prefix,
            &now.datetime(),
            &expires.map(|t| t.datetime()),
        ],
    )
    .await?;
    Ok(IssuedClient {
        client_id: client_id.to_string(),
        client_secret: secret,
        secret_prefix: prefix,
        expires,
    })
}

#[async_trait]
impl ClientStore for PgStore {
    async fn create_client(
        &self,
        tenant: TenantId,
        secret_expires: Option<Timestamp>,
        now: Timestamp,
    ) -> R<IssuedClient> {
        let run = async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            let name: String = tx
                .query_opt("SELECT name FROM tenants WHERE id = $1", &[&tenant])
                .await?
                .ok_or_else(|| StoreError::Core(CoreError::NotFound("no such tenant".into())))?
                .get(0);
            let client_id = token::generate_client_id(&name);
            tx.execute(
                "INSERT INTO clients (tenant_id, client_id, created) VALUES ($1, $2, $3)",
                &[&tenant, &client_id, &now.datetime()],
            )
            .await?;
            let out = add_secret(&tx, tenant, &client_id, secret_expires, now).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(out)
        };
        Ok(run.await?)
    }

    async fn add_client_secret(
        &self,
        tenant: TenantId,
        client_id: &str,
        expires: Option<Timestamp>,
        now: Timestamp,
    ) -> R<Option<IssuedClient>> {
        let run = async {
            let c = self.conn().await?;
            let exists = c
                .query_opt(
                    "SELECT 1 FROM clients WHERE tenant_id = $1 AND client_id = $2",
                    &[&tenant, &pg_text(client_id).as_ref()],
                )
                .await?
                .is_some();
            if !exists {
                return Ok::<_, StoreError>(None);
            }
            Ok(Some(add_secret(&c, tenant, client_id, expires, now).await?))
        };
        Ok(run.await?)
    }

    async fn revoke_client_secret(&self, tenant: TenantId, client_id: &str, prefix: &str, now: Timestamp) -> R<u64> {
        let given = revocation_prefix(prefix)?;
        let run = async {
            let c = self.conn().await?;
            Ok::<_, StoreError>(
                c.execute(
                    "UPDATE client_secrets SET revoked = $1 WHERE tenant_id = $2 AND client_id = $3 \
                     AND revoked IS NULL AND left(prefix, length($4)) = $4",
                    &[&now.datetime(), &tenant, &pg_text(client_id).as_ref(), &given],
                )
                .await?,
            )
        };
        Ok(run.await?)
    }

    async fn clients(&self, tenant: TenantId) -> R<Vec<ClientInfo>> {
        let run = async {
            let c = self.conn().await?;
            let clients = c
                .query(
                    "SELECT client_id, created FROM clients WHERE tenant_id = $1 ORDER BY created, client_id",
                    &[&tenant],
                )
                .await?;
            let secrets = c
                .query(
                    "SELECT prefix, created, expires, revoked, client_id FROM client_secrets WHERE tenant_id = $1 ORDER BY seq",
                    &[&tenant],
                )
                .await?;
            Ok::<_, StoreError>(
                clients
                    .iter()
                    .map(|r| {
                        let client_id: String = r.get(0);
                        ClientInfo {
                            secrets: secrets
                                .iter()
                                .filter(|s| s.get::<_, &str>(4) == client_id)
                                .map(token_info)
                                .collect(),
                            client_id,
                            created: Timestamp::new(r.get(1)),
                        }
                    })
                    .collect(),
            )
        };
        Ok(run.await?)
    }

    async fn delete_client(&self, tenant: TenantId, client_id: &str, now: Timestamp) -> R<bool> {
        let run = async {
            let mut c = self.conn().await?;
            let tx = c.transaction().await?;
            let id = pg_text(client_id);
            tx.execute(
                "UPDATE tokens SET revoked = $1 WHERE tenant_id = $2 AND client_id = $3 AND revoked IS NULL",
                &[&now.datetime(), &tenant, &id.as_ref()],
            )
            .await?;
            tx.execute(
                "DELETE FROM client_secrets WHERE tenant_id = $1 AND client_id = $2",
                &[&tenant, &id.as_ref()],
            )
            .await?;
            let n = tx
                .execute(
                    "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2",
                    &[&tenant, &id.as_ref()],
                )
                .await?;
            tx.commit().await?;
            Ok::<_, StoreError>(n > 0)
        };
        Ok(run.await?)
    }

    async fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> R<Option<IssuedToken>> {
        let Some(tenant) = token::client_tenant(client_id) else {
            return Ok(None);
        };
        let run = async {
            let c = self.conn().await?;
            let access = token::generate();
            let prefix = token::display_prefix(&access);
            // The check and the insert in one statement: no token for a secret revoked meanwhile.
            let n = c
                .execute(
                    "INSERT INTO tokens (tenant_id, hash, prefix, created, expires, client_id) \
                     SELECT t.id, $4, $5, $6, $7, s.client_id FROM tenants t JOIN client_secrets s ON s.tenant_id = t.id \
                     WHERE t.name = $1 AND s.client_id = $2 AND s.hash = $3 AND s.revoked IS NULL \
                     AND (s.expires IS NULL OR s.expires > $6)",
                    &[
                        &pg_text(tenant).as_ref(),
                        &pg_text(client_id).as_ref(),
                        &token::hash(secret).to_vec(),
                        &token::hash(&access).to_vec(),
                        &prefix,
                        &now.datetime(),
                        &expires.datetime(),
                    ],
                )
                .await?;
            Ok::<_, StoreError>((n > 0).then_some(IssuedToken {
                token: access,
                prefix,
                expires: Some(expires),
            }))
        };
        Ok(run.await?)
    }
}
