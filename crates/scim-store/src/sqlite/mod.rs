//! The SQLite adapter: WAL mode, one writer thread with group commit, and a small pool of
//! read connections that WAL lets run beside the writer.

mod migrate;
mod resources;
mod sql;
mod sync_state;
mod tenants;
mod writer;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use scim_core::CoreError;

use crate::error::{Result, StoreError};
use crate::{Durability, StoreOptions};
use writer::Writer;

/// Most idle read connections kept open.
const READ_POOL: usize = 8;

pub struct SqliteStore {
    writer: Writer,
    readers: Arc<Readers>,
}

/// The pool of read connections.
pub(crate) struct Readers {
    path: String,
    idle: Mutex<Vec<Connection>>,
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
        migrate::migrate(&conn)?;
        spawn_checkpointer(path)?;
        let writer = Writer::spawn(conn).map_err(|e| StoreError::Core(CoreError::Internal(e.to_string())))?;
        Ok(SqliteStore {
            writer,
            readers: Arc::new(Readers {
                path: path.to_string(),
                idle: Mutex::new(Vec::new()),
            }),
        })
    }
}

impl Readers {
    /// Runs `f` on a read connection. Point reads are short, so they run on the calling
    /// thread; callers with long scans wrap this in `spawn_blocking`.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> std::result::Result<T, CoreError> {
        let conn = self.idle.lock().map_err(|_| poisoned())?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open_reader(&self.path).map_err(CoreError::from)?,
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

fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    tune(conn)?;
    // Checkpoints run on their own thread (see `spawn_checkpointer`), so a commit never waits
    // for one; this automatic one is only the safety net should that thread stop.
    conn.pragma_update(None, "wal_autocheckpoint", 100_000)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Page cache and memory-mapped reads: fewer read syscalls per statement.
fn tune(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

/// Copies committed WAL frames back into the database file every 250 ms with a PASSIVE
/// checkpoint, which never blocks the writer or readers. Latency spikes from checkpoints thus
/// stay off the write path.
fn spawn_checkpointer(path: &str) -> Result<()> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_millis(100))?;
    std::thread::Builder::new()
        .name("scimd-sqlite-checkpoint".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(|e| StoreError::Core(CoreError::Internal(e.to_string())))?;
    Ok(())
}

fn open_reader(path: &str) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", "ON")?;
    tune(&conn)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}
