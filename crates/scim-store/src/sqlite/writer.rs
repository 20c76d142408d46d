//! The single writer thread. It owns the read-write connection, drains its queue into one
//! transaction (group commit), and acknowledges every job only after COMMIT returned:
//! nothing is acknowledged that is not durable.
//!
//! Jobs run without per-job savepoints (a savepoint copies every page it touches into a
//! statement journal, which cost more than the job's own SQL). That is safe because every
//! job validates before its first write and its first write is the only one that can fail
//! on a constraint; a job that fails without having changed a row leaves the transaction
//! clean. A job that fails *after* writing (I/O error, disk full, a panic) poisons the
//! batch: the transaction is rolled back and every job in it is answered with an error, so
//! no caller is told "done" for a write that is not there.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::Connection;
use scim_core::CoreError;

use crate::error::StoreError;

type Reply = Box<dyn FnOnce(Result<(), CoreError>) + Send>;
/// A job gets the connection inside the open transaction, or the reason there is none. It
/// returns its reply (sent after COMMIT) and whether it succeeded.
type Job = Box<dyn FnOnce(Result<&Connection, CoreError>) -> (Reply, bool) + Send>;

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
            let res = conn.and_then(|conn| match catch_unwind(AssertUnwindSafe(|| f(conn))) {
                Ok(r) => r.map_err(CoreError::from),
                Err(_) => Err(CoreError::Internal(
                    "a storage job panicked; its batch was rolled back".into(),
                )),
            });
            let ok = res.is_ok();
            let reply: Reply = Box::new(move |commit: Result<(), CoreError>| {
                let _ = otx.send(commit.and(res));
            });
            (reply, ok)
        });
        self.tx.send(job).map_err(|_| CoreError::from(StoreError::WriterGone))?;
        orx.await.map_err(|_| CoreError::from(StoreError::WriterGone))?
    }
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
                job(Err(err.clone())).0(Ok(()));
            }
            continue;
        }
        let mut replies: Vec<Reply> = Vec::with_capacity(batch.len());
        let mut jobs = batch.into_iter();
        let mut poisoned = None;
        for job in jobs.by_ref() {
            let before = conn.total_changes();
            let (reply, ok) = job(Ok(&conn));
            replies.push(reply);
            if !ok && conn.total_changes() != before {
                poisoned = Some(CoreError::Unavailable(
                    "a storage error interrupted a write; nothing in its batch was applied, retry".into(),
                ));
                break;
            }
        }
        let outcome = match poisoned {
            Some(err) => {
                let _ = conn.execute_batch("ROLLBACK");
                for job in jobs {
                    replies.push(job(Err(err.clone())).0);
                }
                Err(err)
            }
            None => conn.execute_batch("COMMIT").map_err(|e| {
                let _ = conn.execute_batch("ROLLBACK");
                CoreError::from(StoreError::from(e))
            }),
        };
        for reply in replies {
            reply(outcome.clone());
        }
    }
}
