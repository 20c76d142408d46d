//! The PostgreSQL adapter: tokio-postgres over a deadpool connection pool. Nothing is cached
//! in the process (uniqueness, versions, tokens and the journal live in the database), so any
//! number of `scimd serve` replicas can share one database.
//!
//! Every table's key and every index starts with the tenant (the engine's tables: with the
//! job), and every statement filters by it, so the schema can be distributed by tenant
//! (Citus) unchanged. Single-resource writes are one statement where the change allows
//! (create, delete: data-modifying CTEs, one round trip); read-modify-write updates lock the
//! row (`SELECT … FOR UPDATE`) inside a transaction.

mod admin;
mod audit;
mod clients;
mod commit;
mod deferred;
mod dialect;
mod feed;
pub mod maintenance;
mod migrate;
mod requests;
mod resources;
mod sync_jobs;
mod sync_state;
mod sync_writes;
mod tenants;
mod webhooks;

use std::borrow::Cow;
use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;

use crate::error::{Result, StoreError};
use crate::feed_signal::FeedSignal;
use crate::{Durability, StoreOptions};

/// Connections per handle unless the URL says `pool_size=N`.
const DEFAULT_POOL: usize = 16;

pub struct PgStore {
    pool: Pool,
    committer: commit::Committer,
    feed: FeedSignal,
    maintenance: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(t) = self.maintenance.take() {
            t.abort();
        }
    }
}

/// The URL without scimd's own parameters, and those parameters.
fn split_url(url: &str) -> Result<(String, usize)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), DEFAULT_POOL));
    };
    let mut pool = DEFAULT_POOL;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("pool_size", n)) => {
                pool = n
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| StoreError::BadUrl(format!("pool_size={n}: use a number from 1 to 1000")))?;
            }
            _ => kept.push(pair),
        }
    }
    let base = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((base, pool))
}

fn config(url: &str, durability: Durability) -> Result<(tokio_postgres::Config, usize)> {
    let (url, pool) = split_url(url)?;
    let mut cfg = tokio_postgres::Config::from_str(&url).map_err(|e| StoreError::BadUrl(format!("{url}: {e}")))?;
    cfg.application_name("scimd");
    if durability == Durability::Normal {
        // A killed scimd loses nothing either way (the commit is in PostgreSQL); `off`
        // may lose the last commits if PostgreSQL itself crashes.
        let opts = cfg.get_options().map(|o| format!("{o} ")).unwrap_or_default();
        cfg.options(format!("{opts}-c synchronous_commit=off"));
    }
    Ok((cfg, pool))
}

/// Differs between processes and between handles of one process (see `commit::execute`).
fn spread() -> u64 {
    static HANDLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = HANDLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    u64::from(std::process::id()).wrapping_mul(7).wrapping_add(n)
}

fn pool(url: &str, durability: Durability) -> Result<Pool> {
    let (cfg, size) = config(url, durability)?;
    let mgr = Manager::from_config(
        cfg,
        tokio_postgres::NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(size)
        .build()
        .map_err(|e| StoreError::Connect(e.to_string()))
}

impl PgStore {
    pub async fn open(url: &str, opts: &StoreOptions) -> Result<PgStore> {
        let pool = pool(url, opts.durability)?;
        let feed = FeedSignal::default();
        let mut store = PgStore {
            committer: commit::Committer::spawn(pool.clone(), spread(), feed.clone()),
            feed,
            pool,
            maintenance: None,
        };
        let mut conn = store.conn().await?;
        if opts.migrate {
            migrate::migrate(&mut conn).await?;
        } else {
            migrate::check(&conn).await?;
        }
        drop(conn);
        store.maintenance = Some(maintenance::spawn(store.pool.clone()));
        Ok(store)
    }

    /// Analyzes the tables that changed a lot since their last analyze (see `maintenance`).
    pub async fn analyze_changed(&self) -> Result<Vec<String>> {
        maintenance::analyze_changed(&self.pool).await
    }

    async fn conn(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => connect_error(e),
            other => StoreError::Connect(other.to_string()),
        })
    }
}

/// `scimd migrate` on PostgreSQL.
pub async fn migrate_url(url: &str) -> Result<crate::Migrated> {
    let (cfg, _) = config(url, Durability::Full)?;
    let (mut client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(connect_error)?;
    let task = tokio::spawn(conn);
    let out = migrate::migrate(&mut client).await;
    drop(client);
    let _ = task.await;
    let (from, to) = out?;
    Ok(crate::Migrated { from, to })
}

fn connect_error(e: tokio_postgres::Error) -> StoreError {
    StoreError::Connect(describe(&e))
}

/// The server's message where there is one (the driver's `Display` says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{}: {d}", db.message()),
            None => db.message().to_string(),
        },
        // "error connecting to server" says little; the cause (refused, timed out, …) is below.
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::LOCK_NOT_AVAILABLE
                    || *c == SqlState::TOO_MANY_CONNECTIONS =>
            {
                StoreError::Busy(describe(&e))
            }
            _ if e.is_closed() => StoreError::Connect(describe(&e)),
            _ => StoreError::Database(describe(&e)),
        }
    }
}

fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// PostgreSQL text cannot hold U+0000, which JSON strings may carry. Indexed and key text is
/// stored with it replaced by U+FFFD (documents keep it, escaped, as JSON does).
pub(crate) fn pg_text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scimd_parameters_are_taken_out_of_the_url() {
        assert_eq!(
            split_url("postgres://h/d").unwrap(),
            ("postgres://h/d".into(), DEFAULT_POOL)
        );
        assert_eq!(
            split_url("postgres://h/d?pool_size=4&sslmode=disable").unwrap(),
            ("postgres://h/d?sslmode=disable".into(), 4)
        );
        assert!(split_url("postgres://h/d?pool_size=0").is_err());
        assert_eq!(pg_text("a\0b"), "a\u{FFFD}b");
    }
}
