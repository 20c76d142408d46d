//! `StoreError`, and its one conversion into the protocol's `CoreError`. Each dialect turns
//! its driver's errors into these variants (`sqlite::errors`, `postgres::errors`), so nothing
//! above the adapters sees a driver type.

use scim_core::CoreError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}; use sqlite://PATH or postgres://USER@HOST[:PORT]/DATABASE")]
    BadUrl(String),
    /// The database cannot be reached, or refused the connection.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// Lock contention or a serialization conflict: retrying is expected to succeed.
    #[error("the database is busy: {0}")]
    Busy(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("schema migration failed: {0}")]
    Migration(String),
    /// The schema is older than this build and `--no-migrate` was given.
    #[error("the database schema is at version {found}, this build needs {wanted}; run `scimd migrate`")]
    SchemaBehind { found: i64, wanted: i64 },
    #[error("database error: {0}")]
    Database(String),
    #[error("{0}")]
    Core(#[from] CoreError),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Core(c) => c,
            StoreError::Busy(_) => CoreError::Unavailable("the database is busy; retry shortly".into()),
            StoreError::Connect(m) => CoreError::Unavailable(format!("the database is unavailable: {m}")),
            other => CoreError::Internal(other.to_string()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
