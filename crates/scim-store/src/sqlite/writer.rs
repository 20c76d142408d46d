//! The single writer thread. It owns the read-write connection, drains its queue into one
//! transaction (group commit), runs each job inside a savepoint, and acknowledges every job
//! only after COMMIT returned: nothing is acknowledged that is not durable.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::Connection;
use scim_core::CoreError;

use crate::error::StoreError;

type Reply = Box<dyn FnOnce(Result<(), CoreError>) + Send>;
/// A job gets the connection inside the open transaction, or the reason there is none.
type Job = Box<dyn FnOnce(Result<&Connection, CoreError>) -> Reply + Send>;

/// Most jobs in one transaction.
const MAX_BATCH: usize = 256;

pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    pub fn spawn(conn: Connection) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("scimd-sqlite-writer".into())
            .spawn(move || run(conn, rx))?;
        Ok(Writer { tx })
    }

    /// Runs `f` in the write transaction and returns its result once committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T, CoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (otx, orx) = tokio::sync::oneshot::channel::<Result<T, CoreError>>();
        let job: Job = Box::new(move |conn: Result<&Connection, CoreError>| {
            let res = conn.and_then(|conn| in_savepoint(conn, f));
            Box::new(move |commit: Result<(), CoreError>| {
                let _ = otx.send(commit.and(res));
            })
        });
        self.tx.send(job).map_err(|_| CoreError::from(StoreError::WriterGone))?;
        orx.await.map_err(|_| CoreError::from(StoreError::WriterGone))?
    }
}

fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, CoreError> {
    let exec = |sql: &str| -> Result<(), CoreError> {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(|e| CoreError::from(StoreError::from(e)))
    };
    exec("SAVEPOINT job")?;
    let res = match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(r) => r.map_err(CoreError::from),
        Err(_) => Err(CoreError::Internal(
            "a storage job panicked; the change was rolled back".into(),
        )),
    };
    if res.is_err() {
        exec("ROLLBACK TO job")?;
    }
    exec("RELEASE job")?;
    res
}

fn run(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let err = CoreError::from(StoreError::from(e));
            for job in batch {
                job(Err(err.clone()))(Ok(()));
            }
            continue;
        }
        let replies: Vec<Reply> = batch.into_iter().map(|job| job(Ok(&conn))).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            CoreError::from(StoreError::from(e))
        });
        for reply in replies {
            reply(commit.clone());
        }
    }
}
