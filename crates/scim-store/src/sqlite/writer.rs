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
#[cfg(test)]
use std::sync::Arc;
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

/// The writer thread's handle. Dropping it closes the queue; the thread commits what is
/// queued, closes the connection and is joined.
pub struct Writer {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Writer {
    pub fn spawn(conn: Connection) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("scimd-sqlite-writer".into())
            .spawn(move || run(conn, rx))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
        })
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
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| CoreError::from(StoreError::WriterGone))?;
        tx.send(job).map_err(|_| CoreError::from(StoreError::WriterGone))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (Writer, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t (v INTEGER UNIQUE);")
            .unwrap();
        (Writer::spawn(conn).unwrap(), dir)
    }

    fn count(dir: &tempfile::TempDir) -> i64 {
        let c = Connection::open(dir.path().join("w.db")).unwrap();
        c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[tokio::test]
    async fn a_clean_failure_leaves_the_rest_of_the_batch_committed() {
        let (w, dir) = writer();
        let w = Arc::new(w);
        let mut tasks = Vec::new();
        for v in [1, 2, 2, 3] {
            let w = w.clone();
            // The second 2 violates the unique index on its first (only) write: a clean failure.
            tasks.push(tokio::spawn(async move {
                w.write(move |c| Ok(c.execute("INSERT INTO t (v) VALUES (?1)", [v])?))
                    .await
            }));
        }
        let results: Vec<_> = futures_join(tasks).await;
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
        assert_eq!(count(&dir), 3);
    }

    #[tokio::test]
    async fn a_failure_after_writing_rolls_back_its_whole_batch_and_acknowledges_nothing() {
        let (w, dir) = writer();
        // Hold the writer busy so the next jobs land in one batch.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let w = Arc::new(w);
        let blocker = {
            let w = w.clone();
            tokio::spawn(async move {
                w.write(move |_| {
                    let _ = rx.recv();
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let ok_job = {
            let w = w.clone();
            tokio::spawn(async move { w.write(|c| Ok(c.execute("INSERT INTO t (v) VALUES (10)", [])?)).await })
        };
        let bad_job = {
            let w = w.clone();
            tokio::spawn(async move {
                w.write(|c| -> Result<(), StoreError> {
                    c.execute("INSERT INTO t (v) VALUES (11)", [])?;
                    Err(StoreError::Core(CoreError::Internal("failed after writing".into())))
                })
                .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        tx.send(()).unwrap();
        blocker.await.unwrap().unwrap();
        let (ok, bad) = (ok_job.await.unwrap(), bad_job.await.unwrap());
        assert!(bad.is_err());
        // Whether the good job shared the poisoned batch or not, what it was told holds.
        let committed = count(&dir);
        match ok {
            Ok(_) => assert_eq!(committed, 1, "acknowledged, so committed"),
            Err(_) => assert_eq!(committed, 0, "not acknowledged, so not committed"),
        }
        let c = Connection::open(dir.path().join("w.db")).unwrap();
        let v11: i64 = c
            .query_row("SELECT count(*) FROM t WHERE v = 11", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v11, 0, "the half-written job left nothing behind");
    }

    async fn futures_join<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }
}
