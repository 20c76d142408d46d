//! `StoreError`, and its one conversion into the protocol's `CoreError`.

use scim_core::CoreError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("unsupported database URL {0:?}; use sqlite://PATH (postgres:// is not built yet)")]
    BadUrl(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("{0}")]
    Core(#[from] CoreError),
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Core(c) => c,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                CoreError::Unavailable("the database is busy; retry shortly".into())
            }
            other => CoreError::Internal(other.to_string()),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
