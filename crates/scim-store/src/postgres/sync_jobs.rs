//! The engine's job controls and cycle history on PostgreSQL: the On/Off state, the lease
//! that lets one worker of many run a job at a time (one conditional UPSERT, so two
//! processes racing for a job never both get it), and one row per cycle.

use scim_core::ports::sync::{CycleRecord, JobControl, Lease, LeaseClaim};
use scim_core::{CoreError, Timestamp};
use time::OffsetDateTime;

use super::{PgStore, pg_text};
use crate::error::StoreError;

type R<T> = Result<T, CoreError>;

impl PgStore {
    pub(super) async fn claim_lease_in(
        &self,
        job: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> R<LeaseClaim> {
        let (job, holder) = (pg_text(job).into_owned(), pg_text(holder).into_owned());
        let (now, until) = (now.datetime(), until.datetime());
        let c = self.conn().await?;
        let run = async {
            let n = c
                .execute(
                    "INSERT INTO sync_jobs (job, holder, lease_until) VALUES ($1, $2, $3) \
                     ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until \
                     WHERE sync_jobs.holder IS NULL OR sync_jobs.holder = excluded.holder \
                        OR sync_jobs.lease_until <= $4",
                    &[&job, &holder, &until, &now],
                )
                .await?;
            if n == 1 {
                return Ok::<_, StoreError>(LeaseClaim::Acquired);
            }
            let r = c
                .query_one("SELECT holder, lease_until FROM sync_jobs WHERE job = $1", &[&job])
                .await?;
            Ok(LeaseClaim::Held(Lease {
                holder: r.get(0),
                until: Timestamp::new(r.get(1)),
            }))
        };
        Ok(run.await?)
    }

    pub(super) async fn release_lease_in(&self, job: &str, holder: &str) -> R<()> {
        let c = self.conn().await?;
        c.execute(
            "UPDATE sync_jobs SET holder = NULL, lease_until = NULL WHERE job = $1 AND holder = $2",
            &[&pg_text(job).as_ref(), &pg_text(holder).as_ref()],
        )
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    pub(super) async fn set_stopped_in(&self, job: &str, stopped: bool) -> R<()> {
        let c = self.conn().await?;
        c.execute(
            "INSERT INTO sync_jobs (job, stopped) VALUES ($1, $2) ON CONFLICT (job) DO UPDATE SET stopped = excluded.stopped",
            &[&pg_text(job).as_ref(), &stopped],
        )
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    pub(super) async fn control_in(&self, job: &str) -> R<JobControl> {
        let c = self.conn().await?;
        let row = c
            .query_opt(
                "SELECT stopped, holder, lease_until, progress FROM sync_jobs WHERE job = $1",
                &[&pg_text(job).as_ref()],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(row.map_or_else(JobControl::default, |r| {
            let holder: Option<String> = r.get(1);
            let until: Option<OffsetDateTime> = r.get(2);
            JobControl {
                stopped: r.get(0),
                lease: holder.zip(until).map(|(holder, until)| Lease {
                    holder,
                    until: Timestamp::new(until),
                }),
                progress: r.get(3),
            }
        }))
    }

    pub(super) async fn set_progress_in(&self, job: &str, progress: Option<String>) -> R<()> {
        let c = self.conn().await?;
        c.execute(
            "INSERT INTO sync_jobs (job, progress) VALUES ($1, $2) ON CONFLICT (job) DO UPDATE SET progress = excluded.progress",
            &[&pg_text(job).as_ref(), &progress.as_deref().map(pg_text).as_deref()],
        )
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    pub(super) async fn append_cycle_in(&self, x: CycleRecord) -> R<()> {
        let c = self.conn().await?;
        c.execute(
            "INSERT INTO sync_cycles (job, cycle_id, kind, started, finished, worker, result, counts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (job, cycle_id) DO UPDATE SET kind = excluded.kind, started = excluded.started, \
             finished = excluded.finished, worker = excluded.worker, result = excluded.result, counts = excluded.counts",
            &[
                &pg_text(&x.job).as_ref(),
                &pg_text(&x.cycle_id).as_ref(),
                &pg_text(&x.kind).as_ref(),
                &x.started.datetime(),
                &x.finished.datetime(),
                &pg_text(&x.worker).as_ref(),
                &pg_text(&x.result).as_ref(),
                &pg_text(&x.counts).as_ref(),
            ],
        )
        .await
        .map_err(StoreError::from)?;
        Ok(())
    }

    pub(super) async fn cycles_in(&self, job: &str, limit: usize) -> R<Vec<CycleRecord>> {
        let c = self.conn().await?;
        let rows = c
            .query(
                "SELECT job, cycle_id, kind, started, finished, worker, result, counts FROM sync_cycles \
                 WHERE job = $1 ORDER BY started DESC, cycle_id DESC LIMIT $2",
                &[&pg_text(job).as_ref(), &(limit.max(1) as i64)],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .map(|r| CycleRecord {
                job: r.get(0),
                cycle_id: r.get(1),
                kind: r.get(2),
                started: Timestamp::new(r.get(3)),
                finished: Timestamp::new(r.get(4)),
                worker: r.get(5),
                result: r.get(6),
                counts: r.get(7),
            })
            .collect())
    }
}
