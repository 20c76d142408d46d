//! The engine's job controls and cycle history on SQLite: the On/Off state, the lease that
//! lets one worker run a job at a time (claimed with one conditional UPSERT on the writer),
//! and one row per cycle.

use rusqlite::{OptionalExtension, params};
use scim_core::ports::sync::{CycleRecord, JobControl, Lease, LeaseClaim};
use scim_core::{CoreError, Timestamp};

use super::{SqliteStore, get_ts, get_ts_opt, ts};

type R<T> = Result<T, CoreError>;

impl SqliteStore {
    pub(super) async fn claim_lease_in(
        &self,
        job: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> R<LeaseClaim> {
        let (job, holder) = (job.to_string(), holder.to_string());
        self.writer
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "INSERT INTO sync_jobs (job, holder, lease_until) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until \
                         WHERE sync_jobs.holder IS NULL OR sync_jobs.holder = excluded.holder \
                            OR sync_jobs.lease_until <= ?4",
                    )?
                    .execute(params![job, holder, ts(until), ts(now)])?;
                if n == 1 {
                    return Ok(LeaseClaim::Acquired);
                }
                let lease = conn.query_row(
                    "SELECT holder, lease_until FROM sync_jobs WHERE job = ?1",
                    [&job],
                    |r| {
                        Ok(Lease {
                            holder: r.get(0)?,
                            until: get_ts(r, 1)?,
                        })
                    },
                )?;
                Ok(LeaseClaim::Held(lease))
            })
            .await
    }

    pub(super) async fn release_lease_in(&self, job: &str, holder: &str) -> R<()> {
        let (job, holder) = (job.to_string(), holder.to_string());
        self.writer
            .write(move |conn| {
                conn.execute(
                    "UPDATE sync_jobs SET holder = NULL, lease_until = NULL WHERE job = ?1 AND holder = ?2",
                    params![job, holder],
                )?;
                Ok(())
            })
            .await
    }

    pub(super) async fn set_stopped_in(&self, job: &str, stopped: bool) -> R<()> {
        let job = job.to_string();
        self.writer
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO sync_jobs (job, stopped) VALUES (?1, ?2) \
                     ON CONFLICT (job) DO UPDATE SET stopped = excluded.stopped",
                    params![job, stopped],
                )?;
                Ok(())
            })
            .await
    }

    pub(super) async fn control_in(&self, job: &str) -> R<JobControl> {
        self.readers.read(|conn| {
            let row = conn
                .query_row(
                    "SELECT stopped, holder, lease_until, progress FROM sync_jobs WHERE job = ?1",
                    [job],
                    |r| {
                        let holder: Option<String> = r.get(1)?;
                        let until = get_ts_opt(r, 2)?;
                        Ok(JobControl {
                            stopped: r.get(0)?,
                            lease: holder.zip(until).map(|(holder, until)| Lease { holder, until }),
                            progress: r.get(3)?,
                        })
                    },
                )
                .optional()?;
            Ok(row.unwrap_or_default())
        })
    }

    pub(super) async fn set_progress_in(&self, job: &str, progress: Option<String>) -> R<()> {
        let job = job.to_string();
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO sync_jobs (job, progress) VALUES (?1, ?2) \
                     ON CONFLICT (job) DO UPDATE SET progress = excluded.progress",
                )?
                .execute(params![job, progress])?;
                Ok(())
            })
            .await
    }

    pub(super) async fn append_cycle_in(&self, c: CycleRecord) -> R<()> {
        self.writer
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO sync_cycles (job, cycle_id, kind, started, finished, worker, result, counts) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    c.job,
                    c.cycle_id,
                    c.kind,
                    ts(c.started),
                    ts(c.finished),
                    c.worker,
                    c.result,
                    c.counts
                ])?;
                Ok(())
            })
            .await
    }

    pub(super) async fn cycles_in(&self, job: &str, limit: usize) -> R<Vec<CycleRecord>> {
        self.readers.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT job, cycle_id, kind, started, finished, worker, result, counts FROM sync_cycles \
                 WHERE job = ?1 ORDER BY started DESC, cycle_id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![job, limit.max(1) as i64], |r| {
                Ok(CycleRecord {
                    job: r.get(0)?,
                    cycle_id: r.get(1)?,
                    kind: r.get(2)?,
                    started: get_ts(r, 3)?,
                    finished: get_ts(r, 4)?,
                    worker: r.get(5)?,
                    result: r.get(6)?,
                    counts: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}
