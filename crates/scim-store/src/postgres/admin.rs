//! `AdminStore` on PostgreSQL: the operators' hashed admin tokens.

use async_trait::async_trait;
use scim_core::ports::{AdminStore, IssuedToken, TokenInfo};
use scim_core::{CoreError, Timestamp};

use super::PgStore;
use crate::error::StoreError;
use crate::rules::revocation_prefix;
use crate::token;

type R<T> = Result<T, CoreError>;

#[async_trait]
impl AdminStore for PgStore {
    async fn issue_admin_token(&self, expires: Option<Timestamp>, now: Timestamp) -> R<IssuedToken> {
        let new = token::NewSecret::from(token::generate_admin());
        let run = async {
            let c = self.conn().await?;
            c.execute(
                "INSERT INTO admin_tokens (hash, prefix, created, expires) VALUES ($1, $2, $3, $4)",
                &[
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

    async fn admin_tokens(&self) -> R<Vec<TokenInfo>> {
        let run = async {
            let c = self.conn().await?;
            let rows = c
                .query(
                    "SELECT prefix, created, expires, revoked FROM admin_tokens ORDER BY seq",
                    &[],
                )
                .await?;
            Ok::<_, StoreError>(rows.iter().map(super::tenants::token_info).collect())
        };
        Ok(run.await?)
    }

    async fn revoke_admin_tokens(&self, prefix: &str, now: Timestamp) -> R<u64> {
        let given = revocation_prefix(prefix)?;
        let run = async {
            let c = self.conn().await?;
            let n = c
                .execute(
                    "UPDATE admin_tokens SET revoked = $1 WHERE revoked IS NULL AND left(prefix, length($2)) = $2",
                    &[&now.datetime(), &given],
                )
                .await?;
            Ok::<_, StoreError>(n)
        };
        Ok(run.await?)
    }

    async fn authenticate_admin(&self, tok: &str, now: Timestamp) -> R<bool> {
        let hash = token::hash(tok).to_vec();
        let run = async {
            let c = self.conn().await?;
            let stmt = c
                .prepare_cached(
                    "SELECT 1 FROM admin_tokens WHERE hash = $1 AND revoked IS NULL AND (expires IS NULL OR expires > $2)",
                )
                .await?;
            Ok::<_, StoreError>(c.query_opt(&stmt, &[&hash, &now.datetime()]).await?.is_some())
        };
        Ok(run.await?)
    }
}
