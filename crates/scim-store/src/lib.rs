//! Storage adapters for the `scim-core` ports. SQLite is the embedded default; the
//! database URL picks the backend.

mod error;
pub mod sqlite;
pub mod token;

use std::sync::Arc;

pub use error::StoreError;
use scim_core::ports::Store;

/// Durability of a commit (SQLite `synchronous`). `Full` survives power loss; `Normal`
/// survives a process kill (WAL) but may lose the last commits on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    #[default]
    Full,
    Normal,
}

#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    pub durability: Durability,
}

/// Opens the store a URL names: `sqlite://PATH` (relative), `sqlite:///ABS/PATH`, `sqlite:PATH`.
pub fn open(url: &str, opts: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = sqlite_path(url) {
        return Ok(Arc::new(sqlite::SqliteStore::open(&path, opts)?));
    }
    Err(StoreError::BadUrl(url.to_string()))
}

/// Opens the engine's state store (the same backends and schema as the server's store).
pub fn open_state(
    url: &str,
    opts: &StoreOptions,
) -> Result<Arc<dyn scim_core::ports::sync::SyncStateStore>, StoreError> {
    if let Some(path) = sqlite_path(url) {
        return Ok(Arc::new(sqlite::SqliteStore::open(&path, opts)?));
    }
    Err(StoreError::BadUrl(url.to_string()))
}

/// Opens a SQLite store directly (for tests and tools that need the concrete type).
pub fn open_sqlite(url: &str, opts: &StoreOptions) -> Result<sqlite::SqliteStore, StoreError> {
    let path = sqlite_path(url).ok_or_else(|| StoreError::BadUrl(url.to_string()))?;
    sqlite::SqliteStore::open(&path, opts)
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() { None } else { Some(path.to_string()) }
}

#[cfg(test)]
mod tests {
    use super::sqlite_path;

    #[test]
    fn sqlite_urls() {
        assert_eq!(sqlite_path("sqlite://scimd.db").as_deref(), Some("scimd.db"));
        assert_eq!(sqlite_path("sqlite:///var/lib/x.db").as_deref(), Some("/var/lib/x.db"));
        assert_eq!(sqlite_path("sqlite:x.db?mode=rwc").as_deref(), Some("x.db"));
        assert_eq!(sqlite_path("postgres://localhost/x"), None);
        assert_eq!(sqlite_path("sqlite://"), None);
    }
}
