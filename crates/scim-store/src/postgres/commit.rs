//! Group commit for resource writes. A durable PostgreSQL commit costs a WAL flush, and on
//! this kind of machine that flush costs more CPU than the write itself (0.3 of 0.53 ms per
//! delete, measured with pgbench). So, as the SQLite adapter's writer thread does, the
//! writes that arrive together share one transaction: one executor task takes what is
//! queued (up to [`MAX_BATCH`]), runs each write in its own savepoint (one failing write
//! rolls back only itself), and hands the transaction to a commit task while it starts on
//! the next batch. Callers get their answers only after the commit.
//!
//! One executor per handle means a replica's writes never wait for each other's row locks
//! while holding their own, so they cannot deadlock among themselves; a batch that is
//! committing holds its locks until the flush, so a write to the same row in the next batch
//! waits for that commit, as it would for any other transaction.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use deadpool_postgres::{ClientWrapper, Object, Pool};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::deferred::{Deferred, Journal, write_journal};
use crate::error::{Result, StoreError};
use crate::feed_signal::FeedSignal;

/// Writes per transaction. Each writing savepoint takes a subtransaction id, and PostgreSQL
/// caches 64 per backend before every snapshot gets slower; 32 stays well inside.
pub const MAX_BATCH: usize = 32;
/// Transactions committing at once (each holds a pooled connection until its flush).
const COMMITTING: usize = 4;
/// Writes waiting for the executor before callers wait to queue.
const QUEUE: usize = 1024;

/// One write: runs inside the batch's transaction, then learns whether the batch committed.
trait Job: Send {
    fn run<'a>(self: Box<Self>, c: &'a ClientWrapper, deferred: &'a Deferred) -> BoxFuture<'a, Ran>;
    /// Answers the caller without running (no connection, or the transaction broke).
    fn refuse(self: Box<Self>, e: StoreError);
}

/// A write that has run: whether it succeeded, and how to answer its caller with the fate
/// of its transaction (or of its savepoint).
struct Ran {
    ok: bool,
    answer: Box<dyn FnOnce(Result<()>) + Send>,
}

struct Typed<T, F> {
    f: F,
    tx: oneshot::Sender<Result<T>>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: for<'a> FnOnce(&'a ClientWrapper, &'a Deferred) -> BoxFuture<'a, Result<T>> + Send + 'static,
{
    fn run<'a>(self: Box<Self>, c: &'a ClientWrapper, deferred: &'a Deferred) -> BoxFuture<'a, Ran> {
        let Typed { f, tx } = *self;
        Box::pin(async move {
            let out = f(c, deferred).await;
            Ran {
                ok: out.is_ok(),
                answer: Box::new(move |committed| {
                    // A failed write was rolled back to its savepoint: its own error is the
                    // answer whatever became of the batch. A write that succeeded is answered
                    // with the commit's error, or the error that undid its savepoint.
                    let answer = match (out, committed) {
                        (Ok(v), Ok(())) => Ok(v),
                        (Ok(_), Err(e)) | (Err(e), _) => Err(e),
                    };
                    let _ = tx.send(answer);
                }),
            }
        })
    }

    fn refuse(self: Box<Self>, e: StoreError) {
        let _ = self.tx.send(Err(e));
    }
}

/// The handle's queue of writes. Dropping it stops the executor once the queue is empty.
pub struct Committer {
    tx: mpsc::Sender<Box<dyn Job>>,
}

impl Committer {
    /// `feed` is told after each commit that wrote events.
    pub fn spawn(pool: Pool, spread: u64, feed: FeedSignal) -> Committer {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(execute(pool, rx, spread, feed));
        Committer { tx }
    }

    /// Runs `f` inside a shared transaction and returns its result once that commits.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a ClientWrapper, &'a Deferred) -> BoxFuture<'a, Result<T>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Box::new(Typed { f, tx }))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }
}

/// `spread` picks where this handle's batches start among the count slots, so that replicas
/// (which start their batch numbers together) add to different rows.
async fn execute(pool: Pool, mut rx: mpsc::Receiver<Box<dyn Job>>, spread: u64, feed: FeedSignal) {
    let committing = Arc::new(Semaphore::new(COMMITTING));
    let mut batch_no = spread;
    while let Some(first) = rx.recv().await {
        batch_no = batch_no.wrapping_add(1);
        let slot = (batch_no % super::resources::COUNT_SLOTS) as i64;
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let Ok(permit) = committing.clone().acquire_owned().await else {
            return;
        };
        let conn = match pool.get().await {
            Ok(c) => c,
            Err(e) => {
                let e = StoreError::Connect(e.to_string());
                for j in jobs {
                    j.refuse(e.clone());
                }
                continue;
            }
        };
        let ran = run_batch(&conn, jobs, slot).await;
        let feed = feed.clone();
        tokio::spawn(async move {
            if commit(conn, ran).await {
                feed.committed();
            }
            drop(permit);
        });
    }
}

/// BEGIN, then each job in its own savepoint (a lone job needs none). Settling a savepoint
/// (release, or roll back to it) rides in front of the next job's statements, and the last
/// one in front of COMMIT, so a job costs no round trip of its own. If a savepoint cannot be
/// set or settled the transaction is unusable: the jobs after it are refused with the
/// error, and the batch is rolled back.
async fn run_batch(c: &Object, jobs: Vec<Box<dyn Job>>, slot: i64) -> Batch {
    let single = jobs.len() == 1;
    let mut ran = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let mut broken = None;
    let deferred = Deferred::new(slot);
    let mut prelude = if single { "BEGIN" } else { "BEGIN; SAVEPOINT w" };
    for job in jobs.by_ref() {
        let mark = deferred.mark();
        // The prelude goes out first and the job's statements behind it, in one round trip.
        let (begun, r) = tokio::join!(
            c.batch_execute(prelude),
            AssertUnwindSafe(job.run(c, &deferred)).catch_unwind()
        );
        // A panicking write lost its answer (its caller hears that the writer stopped); what
        // it left in the transaction is unknown, so the batch is abandoned.
        let Ok(r) = r else {
            broken = Some(StoreError::Database("a write in the same transaction panicked".into()));
            break;
        };
        if let Err(e) = begun {
            let e = StoreError::from(e);
            (r.answer)(Err(e.clone()));
            broken = Some(e);
            break;
        }
        if !r.ok {
            deferred.undo_to(mark);
        }
        prelude = if r.ok {
            "RELEASE SAVEPOINT w; SAVEPOINT w"
        } else {
            "ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w; SAVEPOINT w"
        };
        ran.push(r);
    }
    if let Some(e) = &broken {
        for j in jobs {
            j.refuse(e.clone());
        }
    }
    let mut batch = Batch {
        ran,
        broken: broken.is_some(),
        journal: Vec::new(),
    };
    if !batch.broken && batch.ran.iter().any(|r| r.ok) {
        // Still on the executor: the deferred locks are taken before the next batch starts,
        // so that batch can wait for this one's commit but never the other way round.
        let undo_last = !single && batch.ran.last().is_some_and(|r| !r.ok);
        match finish(c, undo_last, &deferred).await {
            Ok(journal) => batch.journal = journal,
            Err(e) => {
                tracing::warn!(error = %e, "a write batch could not be finished; its writes are refused");
                batch.broken = true;
            }
        }
    }
    batch
}

/// Undoes a failed last job's savepoint (COMMIT in a failed transaction would quietly roll
/// everything back) and runs the deferred writes.
async fn finish(c: &Object, undo_last: bool, deferred: &Deferred) -> Result<Journal> {
    if undo_last {
        c.batch_execute("ROLLBACK TO SAVEPOINT w").await?;
    }
    deferred.apply(c).await
}

struct Batch {
    ran: Vec<Ran>,
    broken: bool,
    journal: Journal,
}

/// COMMIT (ROLLBACK when nothing succeeded or the transaction broke), then every answer.
/// True when events were committed.
async fn commit(c: Object, batch: Batch) -> bool {
    let Batch { ran, broken, journal } = batch;
    let committed = if broken || !ran.iter().any(|r| r.ok) {
        let ended = c.batch_execute("ROLLBACK").await.map_err(StoreError::from);
        if broken {
            Err(StoreError::Busy("the write's transaction failed; retry".into()))
        } else {
            ended
        }
    } else {
        // `SELECT 1` fails in an aborted transaction, where COMMIT would quietly roll back.
        let ended = async {
            write_journal(&c, &journal).await?;
            c.batch_execute("SELECT 1; COMMIT").await.map_err(StoreError::from)
        };
        match ended.await {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = c.batch_execute("ROLLBACK").await;
                Err(e)
            }
        }
    };
    let events = committed.is_ok() && !journal.is_empty();
    for r in ran {
        (r.answer)(committed.clone());
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::PgScratch;

    /// Queues `n` inserts of 1..=n into `t`, except that `bad` fails with an SQL error and
    /// `panics` panics; all are queued before the executor runs (a current-thread runtime),
    /// so they share one batch.
    async fn batch(c: &Committer, n: i32, bad: &[i32], panics: &[i32]) -> Vec<Result<i32>> {
        let writes = (1..=n).map(|i| {
            let (bad, panics) = (bad.contains(&i), panics.contains(&i));
            c.write(move |c, _| {
                Box::pin(async move {
                    assert!(!panics, "job {i} panics");
                    let sql = if bad {
                        "INSERT INTO t VALUES (1 / 0)"
                    } else {
                        "INSERT INTO t VALUES ($1)"
                    };
                    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = if bad { vec![] } else { vec![&i] };
                    c.execute(sql, &params).await?;
                    Ok(i)
                })
            })
        });
        futures_util::future::join_all(writes).await
    }

    async fn rows(pool: &Pool) -> Vec<i32> {
        let c = pool.get().await.unwrap();
        let rows = c.query("SELECT v FROM t ORDER BY v", &[]).await.unwrap();
        rows.iter().map(|r| r.get(0)).collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failing_or_panicking_write_undoes_only_itself() {
        let Some(scratch) = PgScratch::new().await else {
            eprintln!("SCIMD_TEST_PG_URL is not set; not run");
            return;
        };
        let pool = super::super::pool(&scratch.url, crate::Durability::Full).unwrap();
        pool.get()
            .await
            .unwrap()
            .batch_execute("CREATE TABLE t (v int)")
            .await
            .unwrap();
        let c = Committer::spawn(pool.clone(), 0, FeedSignal::default());

        // Failures in the middle and at the end (whose savepoint must be undone before COMMIT,
        // which would otherwise roll back everything without an error).
        let out = batch(&c, 6, &[2, 6], &[]).await;
        assert!(out[1].is_err() && out[5].is_err(), "{out:?}");
        assert_eq!(
            out.iter().filter_map(|r| r.as_ref().ok()).copied().collect::<Vec<_>>(),
            [1, 3, 4, 5]
        );
        assert_eq!(rows(&pool).await, [1, 3, 4, 5]);

        // A lone failing write.
        let out = batch(&c, 1, &[1], &[]).await;
        assert!(out[0].is_err());
        assert_eq!(rows(&pool).await, [1, 3, 4, 5]);

        // A panic abandons its batch, with answers for everyone, and the writer goes on.
        let out = batch(&c, 3, &[], &[2]).await;
        assert!(out.iter().all(|r| r.is_err()), "{out:?}");
        assert_eq!(rows(&pool).await, [1, 3, 4, 5]);
        let out = batch(&c, 2, &[], &[]).await;
        assert_eq!(out.into_iter().map(|r| r.unwrap()).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(rows(&pool).await, [1, 1, 2, 3, 4, 5]);
    }
}
