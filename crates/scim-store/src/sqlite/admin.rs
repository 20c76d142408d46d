//! `AdminStore` on SQLite: the operators' hashed admin tokens.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use scim_core::ports::{AdminStore, IssuedToken, TokenInfo};
use scim_core::{CoreError, Timestamp};

use super::{SqliteStore, get_ts, get_ts_opt, ts, ts_opt};
use crate::rules::revocation_prefix;
use crate::token;

#[async_trait]
impl AdminStore for SqliteStore {
    async fn issue_admin_token(&self, expires: Option<Timestamp>, now: Timestamp) -> Result<IssuedToken, CoreError> {
        let new = token::NewSecret::from(token::generate_admin());
        let (prefix, hash) = (new.prefix.clone(), new.hash);
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO admin_tokens (prefix, hash, created, expires) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![prefix, &hash[..], ts(now), ts_opt(expires)])?;
                Ok(())
            })
            .await?;
        Ok(new.issued(expires))
    }

    async fn admin_tokens(&self) -> Result<Vec<TokenInfo>, CoreError> {
        self.readers.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT prefix, created, expires, revoked FROM admin_tokens ORDER BY id")?;
            let rows = stmt.query_map([], |r| {
                Ok(TokenInfo {
                    prefix: r.get(0)?,
                    created: get_ts(r, 1)?,
                    expires: get_ts_opt(r, 2)?,
                    revoked: get_ts_opt(r, 3)?,
                    last_used: None,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    async fn revoke_admin_tokens(&self, prefix: &str, now: Timestamp) -> Result<u64, CoreError> {
        let given = revocation_prefix(prefix)?;
        self.writer
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "UPDATE admin_tokens SET revoked = ?1 WHERE revoked IS NULL AND substr(prefix, 1, length(?2)) = ?2",
                    )?
                    .execute(params![ts(now), given])?;
                Ok(n as u64)
            })
            .await
    }

    async fn authenticate_admin(&self, tok: &str, now: Timestamp) -> Result<bool, CoreError> {
        let hash = token::hash(tok);
        self.readers.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT 1 FROM admin_tokens WHERE hash = ?1 AND revoked IS NULL AND (expires IS NULL OR expires > ?2)",
                )?
                .query_row(params![&hash[..], ts(now)], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }
}
