//! The SQLite adapter: WAL mode, one writer thread with group commit, and a small pool of
//! read connections that WAL lets run beside the writer.

mod admin;
mod audit;
mod clients;
mod dialect;
mod feed;
mod migrate;
mod requests;
mod resources;
mod span;
mod sync_jobs;
mod sync_state;
mod tenants;
mod webhooks;
mod writer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use scim_core::{CoreError, Timestamp};

use crate::error::{Result, StoreError};
use crate::feed_signal::FeedSignal;
use crate::{Durability, StoreOptions};
use writer::Writer;

/// Most idle read connections kept open.
const READ_POOL: usize = 8;

/// The SQLite handle. Dropping it stops its writer and checkpoint threads (the writer
/// finishes the jobs already queued first).
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
    feed: FeedSignal,
    _checkpointer: Checkpointer,
}

/// The pool of read connections.
pub(crate) struct Readers {
    path: String,
    idle: Mutex<Vec<Connection>>,
    /// See [`StoreOptions::lean`].
    lean: bool,
}

impl SqliteStore {
    pub fn open(path: &str, opts: &StoreOptions) -> Result<SqliteStore> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        configure(&conn, opts.durability)?;
        if opts.lean {
            tune_lean(&conn, LEAN_WRITER_CACHE_KIB)?;
        }
        if opts.migrate {
            migrate::migrate(&conn)?;
        } else {
            migrate::check(&conn)?;
        }
        let checkpointer = Checkpointer::spawn(path)?;
        let writer = Writer::spawn(conn).map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(SqliteStore {
            _checkpointer: checkpointer,
            writer,
            feed: FeedSignal::default(),
            readers: Arc::new(Readers {
                path: path.to_string(),
                idle: Mutex::new(Vec::new()),
                lean: opts.lean,
            }),
        })
    }
}

impl SqliteStore {
    /// A write that may append events: watchers of the feed are woken after it commits.
    async fn write_events<T, F>(&self, f: F) -> std::result::Result<T, CoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let out = self.writer.write(f).await;
        if out.is_ok() {
            self.feed.committed();
        }
        out
    }
}

/// `scimd migrate` on a SQLite file.
pub fn migrate_file(path: &str) -> Result<crate::Migrated> {
    let conn = Connection::open(path)?;
    configure(&conn, Durability::Full)?;
    let (from, to) = migrate::migrate(&conn)?;
    Ok(crate::Migrated { from, to })
}

impl Readers {
    /// Runs `f` on a read connection. Point reads are short, so they run on the calling
    /// thread; callers with long scans wrap this in `spawn_blocking`.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> std::result::Result<T, CoreError> {
        let conn = self.idle.lock().map_err(|_| poisoned())?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open_reader(&self.path, self.lean).map_err(CoreError::from)?,
        };
        let out = f(&conn).map_err(CoreError::from);
        let mut pool = self.idle.lock().map_err(|_| poisoned())?;
        if pool.len() < READ_POOL {
            pool.push(conn);
        }
        out
    }
}

fn poisoned() -> CoreError {
    CoreError::Internal("read pool lock poisoned".into())
}

/// Page cache per connection. The writer's stays small: every COMMIT walks the cache's hash
/// table to drop pages past the end of the file, so a large cache costs each commit more
/// than it saves. Readers keep a large one beside the memory map.
const WRITER_CACHE_KIB: i64 = 8 * 1024;
const READER_CACHE_KIB: i64 = 64 * 1024;

fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    tune(conn, WRITER_CACHE_KIB)?;
    // Checkpoints run on their own thread (see `spawn_checkpointer`), so a commit never waits
    // for one; this automatic one is only the safety net should that thread stop.
    conn.pragma_update(None, "wal_autocheckpoint", 100_000)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Page cache and memory-mapped reads: fewer read syscalls per statement.
///
/// The query planner stability guarantee (QPSG) keeps every cached statement's plan fixed.
/// Without it SQLite marks a statement to be compiled again whenever a bound value that the
/// planner looked at changes, and it looks at `col = ?` to see whether the value is 0 or 1:
/// every statement keyed by tenant 1 (the first tenant) was re-parsed and re-planned on
/// every use, and so was the token lookup. None of our plans depend on bound values (no
/// `LIKE`, no `STAT4` statistics), so nothing is lost.
fn tune(conn: &Connection, cache_kib: i64) -> Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// [`StoreOptions::lean`]: the writer's page cache holds a chunk's pages (so its writes are
/// not spilled to the WAL before the commit); each reader's is small.
const LEAN_WRITER_CACHE_KIB: i64 = 8192;
const LEAN_READER_CACHE_KIB: i64 = 2048;

/// [`StoreOptions::lean`]: a small page cache, no memory map.
fn tune_lean(conn: &Connection, cache_kib: i64) -> Result<()> {
    conn.pragma_update(None, "cache_size", -cache_kib)?;
    conn.pragma_update(None, "mmap_size", 0)?;
    Ok(())
}

/// Copies committed WAL frames back into the database file every 250 ms with a PASSIVE
/// checkpoint, which never blocks the writer or readers. Latency spikes from checkpoints thus
/// stay off the write path. Stops (and is joined) when dropped.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn spawn(path: &str) -> Result<Checkpointer> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_millis(100))?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("scimd-sqlite-ckpt".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Duration::from_millis(250))
                {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            })
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn open_reader(path: &str, lean: bool) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", "ON")?;
    tune(&conn, READER_CACHE_KIB)?;
    if lean {
        tune_lean(&conn, LEAN_READER_CACHE_KIB)?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) =>
            {
                StoreError::Busy(e.to_string())
            }
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::CannotOpen => {
                StoreError::Connect(e.to_string())
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

/// SQLite keeps timestamps as fixed-width UTC text (`2026-01-01T00:00:00.000000Z`), whose
/// text order is time order; these convert at the boundary.
pub(crate) fn ts(t: Timestamp) -> String {
    t.to_string()
}

pub(crate) fn ts_opt(t: Option<Timestamp>) -> Option<String> {
    t.map(ts)
}

/// Reads a timestamp column.
pub(crate) fn get_ts(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Timestamp> {
    let s: String = r.get(i)?;
    parse_ts(i, &s)
}

pub(crate) fn get_ts_opt(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Timestamp>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| parse_ts(i, &s)).transpose()
}

fn parse_ts(i: usize, s: &str) -> rusqlite::Result<Timestamp> {
    Timestamp::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("{s:?} is not a timestamp").into(),
        )
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;
    use scim_core::ResourceKind;
    use scim_core::ports::TenantStore;

    use super::feed::{self, About};
    use super::*;
    use crate::conformance::at;

    /// The walk over a job's links seeks to each page's start in an index and reads the
    /// index alone (the disabled links: their own partial index).
    #[test]
    fn a_link_key_page_is_a_range_on_an_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(path.to_str().unwrap(), &StoreOptions::default()).unwrap();
        let plan = |sql: &'static str| -> Vec<String> {
            store
                .readers
                .read(|c| {
                    let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let rows = stmt.query_map(rusqlite::params!["j", "user", "u1", 10], |r| r.get::<_, String>(3))?;
                    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
                })
                .unwrap()
        };
        let all = plan(sync_state::LINK_KEY_PAGE);
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            all[0].contains("COVERING INDEX sync_links_key (job=? AND (kind,source_id)>(?,?))"),
            "{all:?}"
        );
        let disabled = plan(sync_state::DISABLED_KEY_PAGE);
        assert!(
            disabled[0].contains("sync_links_disabled (job=? AND (kind,source_id)>(?,?))"),
            "{disabled:?}"
        );
    }

    /// SQLite compiles a cached statement again when a bound value its planner looked at
    /// changes; it looks at `col = ?` for 0 and 1, so tenant 1 paid a parse and a plan on
    /// every request. The hot statements must be compiled once.
    #[tokio::test]
    async fn hot_statements_are_compiled_once_for_the_first_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(path.to_str().unwrap(), &StoreOptions::default()).unwrap();
        let now = at("2026-01-01T00:00:00Z");
        let tenant = store.create_tenant("first", now).await.unwrap();
        assert_eq!(tenant.id, 1, "the case in question is the first tenant");
        let token = store.issue_token(tenant.id, None, now).await.unwrap();
        for second in 1..=3 {
            let now = at(&format!("2026-01-01T00:00:0{second}Z"));
            let found = store.authenticate("first", &token.token, now).await.unwrap();
            assert!(found.is_some());
            store
                .writer
                .write(move |c| {
                    let about = About {
                        tenant: 1,
                        kind: ResourceKind::User,
                        id: "u",
                        version: second,
                        at: "x",
                    };
                    feed::append(
                        c,
                        &about,
                        scim_core::events::EventType::created(ResourceKind::User),
                        "{}",
                    )
                })
                .await
                .unwrap();
        }
        let reader = store
            .readers
            .read(|c| {
                Ok(c.prepare_cached(tenants::AUTHENTICATE)?
                    .get_status(StatementStatus::RePrepare))
            })
            .unwrap();
        let writer = store
            .writer
            .write(|c| Ok(c.prepare_cached(feed::POSITION)?.get_status(StatementStatus::RePrepare)))
            .await
            .unwrap();
        assert_eq!(
            (reader, writer),
            (0, 0),
            "times the token lookup and the feed position were compiled again"
        );
    }
}
