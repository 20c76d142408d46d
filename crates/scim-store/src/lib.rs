//! Storage adapters for the `scim-core` ports. SQLite is the embedded default and
//! PostgreSQL the scale-out backend; the database URL picks one, and [`open`] returns one
//! handle that implements every port ([`Backend`]).

pub mod conformance;
mod error;
mod feed_signal;
mod filter_sql;
pub mod postgres;
mod rules;
pub mod sqlite;
pub mod testing;
pub mod token;

use std::sync::Arc;

pub use error::StoreError;
pub use scim_core::ports::Backend;

/// Durability of a commit. SQLite: `synchronous` FULL or NORMAL. `Full` survives power
/// loss; `Normal` survives a process kill (WAL) but may lose the last commits on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Full,
    Normal,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub durability: Durability,
    /// Bring the schema up to date on open (`serve --no-migrate` turns it off; the schema
    /// must then already be current).
    pub migrate: bool,
    /// SQLite: small page caches and no memory-mapped reads. For the engine's state
    /// database, where the process's memory counts more than read latency (the server keeps
    /// 64 MiB of cache per reader and maps up to 1 GiB).
    pub lean: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Full,
            migrate: true,
            lean: false,
        }
    }
}

/// Which backend a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(String),
    Postgres(String),
}

impl DbUrl {
    /// `sqlite://PATH` (relative), `sqlite:///ABS/PATH`, `sqlite:PATH`; `postgres://…` and
    /// `postgresql://…` in libpq's URL form.
    pub fn parse(url: &str) -> Result<DbUrl, StoreError> {
        if let Some(path) = sqlite_path(url) {
            return Ok(DbUrl::Sqlite(path));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        Err(StoreError::BadUrl(url.to_string()))
    }
}

/// Opens the database a URL names, migrating it first unless `opts.migrate` is off. The
/// handle serves the server (`Arc<dyn Store>`) and the engine (`Arc<dyn SyncStateStore>`);
/// dropping the last clone stops its background threads.
pub async fn open(url: &str, opts: &StoreOptions) -> Result<Arc<dyn Backend>, StoreError> {
    match DbUrl::parse(url)? {
        DbUrl::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(&path, opts)?)),
        DbUrl::Postgres(url) => Ok(Arc::new(postgres::PgStore::open(&url, opts).await?)),
    }
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub from: i64,
    pub to: i64,
}

/// Brings a database's schema up to date; safe to run while servers use it.
pub async fn migrate(url: &str) -> Result<Migrated, StoreError> {
    match DbUrl::parse(url)? {
        DbUrl::Sqlite(path) => sqlite::migrate_file(&path),
        DbUrl::Postgres(url) => postgres::migrate_url(&url).await,
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() { None } else { Some(path.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::{DbUrl, sqlite_path};

    #[test]
    fn database_urls() {
        assert_eq!(sqlite_path("sqlite://scimd.db").as_deref(), Some("scimd.db"));
        assert_eq!(sqlite_path("sqlite:///var/lib/x.db").as_deref(), Some("/var/lib/x.db"));
        assert_eq!(sqlite_path("sqlite:x.db?mode=rwc").as_deref(), Some("x.db"));
        assert_eq!(sqlite_path("postgres://localhost/x"), None);
        assert_eq!(sqlite_path("sqlite://"), None);
        assert!(matches!(DbUrl::parse("postgresql://u@h/d"), Ok(DbUrl::Postgres(_))));
        assert!(DbUrl::parse("mysql://h/d").is_err());
        assert!(DbUrl::parse("scimd.db").is_err());
    }
}
